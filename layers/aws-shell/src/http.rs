//! Small HTTP helpers shared by the functions: the viewer's address and
//! content negotiation. Plain strings in, plain values out.

use std::net::IpAddr;

/// The viewer's IP from CloudFront's `CloudFront-Viewer-Address` header.
///
/// CloudFront writes `IP:port`, IPv6 without brackets
/// (`2001:db8::1:46532`); `[IPv6]:port` and a bare address without a port
/// are accepted too. `None` when the value is not one of those.
pub fn viewer_ip(header: &str) -> Option<IpAddr> {
    let h = header.trim();
    if let Some(rest) = h.strip_prefix('[') {
        let (ip, after) = rest.split_once(']')?;
        let port_ok = after.is_empty() || after.strip_prefix(':').is_some_and(is_port);
        return if port_ok { ip.parse().ok() } else { None };
    }
    if let Some((ip, port)) = h.rsplit_once(':')
        && is_port(port)
        && let Ok(ip) = ip.parse::<IpAddr>()
    {
        return Some(ip);
    }
    h.parse().ok()
}

fn is_port(s: &str) -> bool {
    !s.is_empty() && s.len() <= 5 && s.bytes().all(|b| b.is_ascii_digit()) && s.parse::<u16>().is_ok()
}

/// Whether an `Accept-Encoding` value accepts gzip (`gzip` or `*` with a
/// non-zero quality, and gzip not refused explicitly).
pub fn accepts_gzip(accept_encoding: &str) -> bool {
    let mut star = false;
    for item in accept_encoding.split(',') {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q=").or_else(|| p.trim().strip_prefix("Q=")))
            .find_map(|v| v.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        match coding.as_str() {
            "gzip" | "x-gzip" => return q > 0.0,
            "*" => star = q > 0.0,
            _ => {}
        }
    }
    star
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viewer_addresses() {
        let ip = |s: &str| viewer_ip(s).map(|i| i.to_string());
        assert_eq!(ip("198.51.100.10:46532").as_deref(), Some("198.51.100.10"));
        assert_eq!(ip("198.51.100.10").as_deref(), Some("198.51.100.10"));
        assert_eq!(ip("2001:db8::1:46532").as_deref(), Some("2001:db8::1"));
        assert_eq!(ip("[2001:db8::1]:46532").as_deref(), Some("2001:db8::1"));
        assert_eq!(ip("[2001:db8::1]").as_deref(), Some("2001:db8::1"));
        assert_eq!(ip("::1").as_deref(), Some("::1"));
        assert_eq!(
            ip("2001:0db8:85a3:0000:0000:8a2e:0370:7334:46532").as_deref(),
            Some("2001:db8:85a3::8a2e:370:7334")
        );
        for bad in [
            "",
            "x",
            "1.2.3.4:port",
            "[::1",
            "[::1]x",
            "1.2.3.4:99999",
            "300.1.1.1:1",
        ] {
            assert_eq!(ip(bad), None, "{bad}");
        }
    }

    #[test]
    fn gzip_negotiation() {
        assert!(accepts_gzip("gzip, deflate, br"));
        assert!(accepts_gzip("br;q=1.0, gzip;q=0.8"));
        assert!(accepts_gzip("*"));
        assert!(!accepts_gzip("gzip;q=0"));
        assert!(!accepts_gzip("gzip;q=0, *"));
        assert!(!accepts_gzip("identity"));
        assert!(!accepts_gzip(""));
    }
}
