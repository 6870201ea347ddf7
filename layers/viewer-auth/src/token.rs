//! Where a viewer's token may travel, and how it is found in a request.
//!
//! In order of precedence: `Authorization: Bearer <token>` (API Gateway,
//! the local stack), the `X-Viewer-Token` header (behind CloudFront with
//! Origin Access Control, which overwrites `Authorization` with its SigV4
//! signature), then the configured cookie, then the configured query
//! parameter. An `Authorization` header with another scheme (such as that
//! SigV4 signature) is ignored, not refused.

use crate::AuthError;

/// The header that carries the token where `Authorization` cannot.
pub const VIEWER_TOKEN_HEADER: &str = "x-viewer-token";

/// The optional places a token may come from besides the two headers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenLocations {
    /// A cookie name (`AUTH_TOKEN_COOKIE`), if tokens may come in a cookie.
    pub cookie: Option<String>,
    /// A query parameter (`AUTH_TOKEN_QUERY_PARAM`), for players that cannot
    /// set headers. Query strings end up in access logs: prefer the others.
    pub query_param: Option<String>,
}

/// The parts of a request that may carry a token.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestParts<'a> {
    /// The `Authorization` header.
    pub authorization: Option<&'a str>,
    /// The `X-Viewer-Token` header.
    pub viewer_token: Option<&'a str>,
    /// Every `Cookie` header (or the event's `cookies` entries), raw.
    pub cookies: &'a [&'a str],
    /// The value of the configured query parameter, already decoded.
    pub query: Option<&'a str>,
}

impl TokenLocations {
    /// The token in `parts`, or [`AuthError::Missing`]. A place that is
    /// present but empty (`Bearer ` with nothing after) is malformed.
    pub fn find<'a>(&self, parts: &RequestParts<'a>) -> Result<&'a str, AuthError> {
        if let Some(value) = parts.authorization
            && let Some((scheme, rest)) = value.trim_start().split_once(' ')
            && scheme.eq_ignore_ascii_case("bearer")
        {
            return non_empty(rest.trim());
        }
        if let Some(value) = parts.viewer_token {
            return non_empty(strip_bearer(value.trim()));
        }
        if let Some(name) = &self.cookie {
            for header in parts.cookies {
                for pair in header.split(';') {
                    if let Some((k, v)) = pair.split_once('=')
                        && k.trim() == name
                    {
                        return non_empty(v.trim().trim_matches('"'));
                    }
                }
            }
        }
        if self.query_param.is_some()
            && let Some(value) = parts.query
        {
            return non_empty(value.trim());
        }
        Err(AuthError::Missing)
    }
}

fn strip_bearer(value: &str) -> &str {
    match value.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        _ => value,
    }
}

fn non_empty(token: &str) -> Result<&str, AuthError> {
    if token.is_empty() {
        Err(AuthError::Malformed("empty token"))
    } else {
        Ok(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_and_shapes() {
        let all = TokenLocations {
            cookie: Some("vt".into()),
            query_param: Some("token".into()),
        };
        let cookies = ["a=b; vt=from-cookie"];
        let parts = RequestParts {
            authorization: Some("Bearer from-auth"),
            viewer_token: Some("from-header"),
            cookies: &cookies,
            query: Some("from-query"),
        };
        assert_eq!(all.find(&parts), Ok("from-auth"));
        let parts = RequestParts {
            authorization: Some("AWS4-HMAC-SHA256 Credential=x, Signature=y"),
            ..parts
        };
        assert_eq!(all.find(&parts), Ok("from-header"), "SigV4 is not a bearer token");
        let parts = RequestParts {
            viewer_token: None,
            ..parts
        };
        assert_eq!(all.find(&parts), Ok("from-cookie"));
        let parts = RequestParts { cookies: &[], ..parts };
        assert_eq!(all.find(&parts), Ok("from-query"));
        assert_eq!(
            TokenLocations::default().find(&parts),
            Err(AuthError::Missing),
            "query not enabled"
        );
        let parts = RequestParts {
            cookies: &cookies,
            ..parts
        };
        assert_eq!(
            TokenLocations::default().find(&parts),
            Err(AuthError::Missing),
            "cookie not enabled"
        );
        let parts = RequestParts {
            authorization: Some("bearer   "),
            ..RequestParts::default()
        };
        assert_eq!(all.find(&parts), Err(AuthError::Malformed("empty token")));
        let parts = RequestParts {
            viewer_token: Some("Bearer abc"),
            ..RequestParts::default()
        };
        assert_eq!(all.find(&parts), Ok("abc"));
    }
}
