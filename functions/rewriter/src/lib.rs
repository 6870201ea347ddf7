//! `rewriter`: serves `GET /movies/.../*.m3u8` with every URI of the playlist
//! signed for CloudFront.
//!
//! In order, per request:
//! 1. the path (`pathParameters.proxy`, else `rawPath`) is validated: a key
//!    under `MEDIA_PREFIX` ending in `.m3u8`, made of `A-Z a-z 0-9 - _ . /`,
//!    with no empty, `.` or `..` segment and at most 1,024 bytes (else 400);
//! 2. the `KEY_PREFIX` copy of the viewer's credential is verified against
//!    `CF_URL` + path with the signing core (key id, signature, window, IP,
//!    resource) BEFORE anything is read (else 403 with the failed check);
//!    a credential whose signature already verified under the same key
//!    generation skips only the signature check ([verification
//!    memo](answer_cache), `VERIFY_MEMO_BYTES`);
//! 3. the object is read from S3 (bounded by `MAX_PLAYLIST_BYTES`), or
//!    served from the warm process's [raw cache](raw_cache) (a VOD or
//!    multivariant playlist for `RAW_CACHE_SECONDS`, then revalidated with a
//!    conditional GET; a live one at most half its target duration); a
//!    blocking reload (`_HLS_msn`, `_HLS_part` on a playlist with
//!    `CAN-BLOCK-RELOAD=YES`, [`playlist_rewrite::delivery`]) reads it again
//!    every `BLOCKING_RELOAD_POLL_MS` with a conditional GET until the
//!    segment or part is there (503 after three target durations or near the
//!    invocation's deadline, 400 when asked too far ahead); an object caught
//!    mid-write (empty, cut off) is answered 503 `playlist_incomplete`, to be
//!    retried, never rewritten in part;
//! 4. the playlist core rewrites it with the configured strategy, never
//!    granting more than the incoming credential; or, for a repeat of the
//!    same verified credential, object (as the raw cache serves it), key
//!    generation and encoding, the finished body comes from the
//!    [answer cache](answer_cache) (`ANSWER_CACHE_BYTES`);
//! 5. the answer is `application/vnd.apple.mpegurl`, `Cache-Control:
//!    max-age` the credential's remaining validity for a playlist that does
//!    not change, at most half the target duration (half the part target)
//!    for a live one ([`PlaylistInfo::max_age`](playlist_rewrite::PlaylistInfo::max_age):
//!    the same for the browser and for CloudFront, whose cache key holds the
//!    credential), gzip-compressed when
//!    the client accepts it and the body is over [`GZIP_MIN_BYTES`], and
//!    always within Lambda's 6 MB response limit (else 502, never truncated).
//!
//! The viewer's address is read from `CloudFront-Viewer-Address` when
//! present, else from the event's source IP. The header is trusted: IP
//! binding is as strong as the origin's isolation (Origin Access Control).
//!
//! The preflight, the method gate, CORS, the error answer and the log line
//! are the shared shell's ([`signed_hls_aws::shell`]); the line carries the
//! time of each stage (`verify_ms`, `read_ms`, `rewrite_ms`, `encode_ms`),
//! where the body came from (`body_source`), the S3 requests made, and
//! whether the answer cache and the verification memo answered
//! (`answer_cache`, `verify_memo`: `hit`, `miss` or `off`).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod answer_cache;
pub mod raw_cache;

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use cloudfront_sign::{Denied, Verifier};
use http::{HeaderName, HeaderValue, header};
use lambda_runtime::LambdaEvent;
use playlist_rewrite::{BlockingReload, DirectiveError, Incoming, Incomplete, Readiness, SignatureCache};
use signed_hls_aws::config::{MediaPrefix, has_bad_segment, is_key_text};
use signed_hls_aws::http::{accepts_gzip, viewer_ip};
use signed_hls_aws::shell::{self, Answer, CommonError, Endpoint, ErrorAnswer, RequestLog, Started};
use signed_hls_aws::{ConfigError, KeyCache, LoadedKey, ObjectStore, RewriterConfig, SignError, StoreError};
use thiserror::Error;

pub use answer_cache::{AnswerCache, CachedAnswer, CachedBody, VerifyMemo};
pub use raw_cache::{RawCache, RawObject, Source};

/// Lambda's limit for a synchronous response payload (the whole JSON).
pub const LAMBDA_RESPONSE_LIMIT: usize = 6 * 1024 * 1024;
/// Room kept for the status, headers and JSON framing of the response.
pub const RESPONSE_OVERHEAD: usize = 16 * 1024;
/// Bodies at least this large go out gzip-compressed when the client accepts it.
pub const GZIP_MIN_BYTES: usize = 4096;
/// The longest path accepted.
pub const MAX_PATH_BYTES: usize = 1024;

/// Browsers send no custom request header to the rewriter.
const ENDPOINT: Endpoint = Endpoint { allow_headers: "" };

/// Validates a request path and returns the S3 key (no leading `/`).
pub fn object_key<'a>(path: &'a str, media_prefix: &MediaPrefix) -> Result<&'a str, RewriterError> {
    let key = path.strip_prefix('/').unwrap_or(path);
    if key.is_empty()
        || path.len() > MAX_PATH_BYTES
        || key.starts_with('/')
        || !is_key_text(key)
        || has_bad_segment(key)
    {
        return Err(RewriterError::InvalidPath);
    }
    if !key.starts_with(media_prefix.as_str()) || !key.ends_with(".m3u8") || key.ends_with("/.m3u8") || key == ".m3u8" {
        return Err(RewriterError::NotServed);
    }
    Ok(key)
}

/// Per-key state: the verifier and the signature cache, rebuilt on rotation.
struct PerKey {
    generation: u64,
    verifier: Verifier,
    cache: SignatureCache,
}

/// What the handler needs, built once per cold start.
pub struct Deps {
    /// The settings.
    pub config: RewriterConfig,
    /// The playlist core's configuration (hosts, suffix, limit, strategy).
    pub playlist: playlist_rewrite::Config,
    /// The public base URL (from `CF_URL` or the secret's `cf_url`).
    pub base_url: signed_hls_aws::BaseUrl,
    /// The signing key.
    pub key: KeyCache,
    /// Where playlists are read.
    pub store: Arc<dyn ObjectStore>,
    /// Seconds since the epoch (a parameter so tests can fix it).
    pub clock: Box<dyn Fn() -> u64 + Send + Sync>,
    /// Time since the cold start, never going back: the raw cache's
    /// freshness (a parameter so tests can move it).
    pub monotonic: Box<dyn Fn() -> Duration + Send + Sync>,
    /// Raw playlist objects kept between warm requests.
    pub raw: RawCache,
    /// Finished answers kept between warm requests ([`answer_cache`]).
    pub answers: AnswerCache,
    /// Credentials whose signature verified ([`answer_cache`]).
    pub memo: VerifyMemo,
    per_key: Mutex<Option<Arc<PerKey>>>,
}

impl Deps {
    /// Assembles the handler's dependencies from the cold start's results.
    pub fn new(
        config: RewriterConfig,
        started: Started,
        clock: Box<dyn Fn() -> u64 + Send + Sync>,
    ) -> Result<Self, ConfigError> {
        let store = started
            .store
            .ok_or_else(|| ConfigError::new(&signed_hls_aws::config::S3_BUCKET, "is required but not set"))?;
        let started_at = Instant::now();
        Ok(Deps {
            playlist: config.playlist_config(&started.base_url)?,
            raw: RawCache::new(
                config.raw_cache_ttl,
                usize::try_from(config.raw_cache_bytes).unwrap_or(usize::MAX),
            ),
            answers: AnswerCache::new(usize::try_from(config.answer_cache_bytes).unwrap_or(usize::MAX)),
            memo: VerifyMemo::new(usize::try_from(config.verify_memo_bytes).unwrap_or(usize::MAX)),
            config,
            base_url: started.base_url,
            key: started.key,
            store,
            clock,
            monotonic: Box::new(move || started_at.elapsed()),
            per_key: Mutex::new(None),
        })
    }

    /// Replaces the monotonic clock (tests move it instead of sleeping).
    pub fn with_monotonic_clock(mut self, clock: Box<dyn Fn() -> Duration + Send + Sync>) -> Self {
        self.monotonic = clock;
        self
    }

    /// (hits, misses) of the current key's signature cache, if built yet.
    pub fn signature_cache_stats(&self) -> Option<(u64, u64)> {
        let slot = self.per_key.lock().unwrap_or_else(|e| e.into_inner());
        slot.as_ref().map(|pk| (pk.cache.hits(), pk.cache.misses()))
    }

    /// The verifier and signature cache of the current key generation.
    ///
    /// The verifier trusts exactly the current signing key, the secret's
    /// `public_keys` and `TRUSTED_PUBLIC_KEYS`: nothing is kept from an earlier
    /// generation, so a key the secret drops (an emergency rotation) stops
    /// verifying at the next refresh, within `KEY_REFRESH_SECONDS`. Viewers
    /// mid-session keep playing through a planned rotation because the secret
    /// still lists the previous key among its `public_keys` (Terraform keeps
    /// every key of the key group there).
    fn per_key(&self, key: &LoadedKey) -> Arc<PerKey> {
        let mut slot = self.per_key.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(pk) = slot.as_ref()
            && pk.generation == key.generation
        {
            return pk.clone();
        }
        let mut verifier = Verifier::new();
        for (id, vk) in self.config.trusted_public_keys.iter().chain(&key.public_keys) {
            verifier.trust(id.as_str(), vk.clone());
        }
        let signatory = key.signer.signatory();
        verifier.trust(signatory.key_pair_id().as_str(), signatory.verifying_key().clone());
        let pk = Arc::new(PerKey {
            generation: key.generation,
            verifier,
            cache: SignatureCache::default(),
        });
        *slot = Some(pk.clone());
        pk
    }
}

/// Why a request fails; each maps to a status and a stable `error_type`.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum RewriterError {
    /// What both functions share (405, 404, 503).
    #[error(transparent)]
    Common(#[from] CommonError),
    /// The path has characters or segments outside the documented set.
    #[error("invalid path: expected A-Z a-z 0-9 - _ . / with no empty, '.' or '..' segment")]
    InvalidPath,
    /// A valid path that is not a playlist under the media prefix.
    #[error("invalid path: only .m3u8 playlists under the media prefix are served")]
    NotServed,
    /// The credential was refused by the named check.
    #[error("credential refused: {0}")]
    Denied(Denied),
    /// The object is larger than `MAX_PLAYLIST_BYTES` (refused unread).
    #[error("playlist is larger than {0} bytes")]
    TooLarge(u64),
    /// The playlist core refused the object or could not sign.
    #[error(transparent)]
    Rewrite(playlist_rewrite::Error),
    /// The rewritten playlist does not fit Lambda's response limit.
    #[error(
        "response too large: the rewritten playlist is {bytes} bytes ({sent} as sent), over Lambda's 6 MB limit{}",
        if *gzip_offered { "" } else { "; send Accept-Encoding: gzip to receive it compressed" }
    )]
    ResponseTooLarge {
        /// The rewritten playlist's size.
        bytes: usize,
        /// What the payload would carry (JSON-escaped text, or gzip in base64).
        sent: usize,
        /// Whether the client accepted gzip.
        gzip_offered: bool,
    },
    /// Compressing the answer failed.
    #[error("cannot compress the answer: {0}")]
    Gzip(#[source] std::io::Error),
    /// The object looks caught mid-write (empty, or cut off): nothing is
    /// rewritten; the viewer tries again (`Retry-After: 1`).
    #[error("playlist incomplete: {0} (an upload in progress?); try again")]
    Incomplete(Incomplete),
    /// `_HLS_msn` / `_HLS_part` outside the specification's grammar.
    #[error("invalid delivery directive: {0}")]
    Directive(DirectiveError),
    /// A blocking reload asked for more than two segments (or the Advance
    /// Part Limit of parts) past the playlist's last.
    #[error("blocking reload asks for media sequence {msn}, too far past the playlist's next, {next}")]
    TooFarAhead {
        /// `_HLS_msn`.
        msn: u64,
        /// The media sequence number of the segment being written.
        next: u64,
    },
    /// The segment or part a blocking reload asked for did not appear in time.
    #[error("blocking reload: media sequence {msn} did not appear within {waited_ms} ms")]
    NotYetAvailable {
        /// `_HLS_msn`.
        msn: u64,
        /// How long the request waited.
        waited_ms: u128,
    },
}

impl ErrorAnswer for RewriterError {
    fn status(&self) -> u16 {
        match self {
            RewriterError::Common(e) => e.status(),
            RewriterError::InvalidPath | RewriterError::NotServed => 400,
            RewriterError::Denied(_) => 403,
            RewriterError::TooLarge(_) | RewriterError::ResponseTooLarge { .. } => 502,
            RewriterError::Rewrite(e) => rewrite_error_kind(e).0,
            RewriterError::Gzip(_) => 500,
            RewriterError::Directive(_) | RewriterError::TooFarAhead { .. } => 400,
            RewriterError::NotYetAvailable { .. } | RewriterError::Incomplete(_) => 503,
        }
    }

    fn error_type(&self) -> &'static str {
        match self {
            RewriterError::Common(e) => e.error_type(),
            RewriterError::InvalidPath => "invalid_path",
            RewriterError::NotServed => "not_a_playlist_path",
            RewriterError::Denied(d) => d.code(),
            RewriterError::TooLarge(_) => "playlist_too_large",
            RewriterError::Rewrite(e) => rewrite_error_kind(e).1,
            RewriterError::ResponseTooLarge { .. } => "response_too_large",
            RewriterError::Gzip(_) => "encode_failed",
            RewriterError::Directive(_) => "invalid_delivery_directive",
            RewriterError::TooFarAhead { .. } => "delivery_directive_too_far_ahead",
            RewriterError::NotYetAvailable { .. } => "blocking_reload_timeout",
            RewriterError::Incomplete(_) => "playlist_incomplete",
        }
    }

    fn headers(&self) -> Vec<(HeaderName, HeaderValue)> {
        match self {
            RewriterError::Common(e) => e.headers(),
            // The signatures made so far are cached: the retry goes on from
            // them. An object caught mid-write is whole a moment later.
            RewriterError::Rewrite(playlist_rewrite::Error::SigningBudget { .. }) | RewriterError::Incomplete(_) => {
                vec![(header::RETRY_AFTER, HeaderValue::from_static("1"))]
            }
            _ => Vec::new(),
        }
    }
}

/// The status and `error_type` of a playlist-core error.
fn rewrite_error_kind(e: &playlist_rewrite::Error) -> (u16, &'static str) {
    use playlist_rewrite::Error;
    match e {
        Error::TooLarge { .. } => (502, "playlist_too_large"),
        Error::Binary { .. } | Error::NotUtf8 { .. } | Error::NoHeader { .. } => (502, "not_a_playlist"),
        Error::ReuseNotCovering { .. } => (502, "reuse_not_covering"),
        Error::OutputTooLarge { .. } => (502, "response_too_large"),
        Error::SigningBudget { .. } => (503, "signing_in_progress"),
        _ => (500, "signing_failed"),
    }
}

/// The Lambda handler: never fails, every outcome is an HTTP response.
pub async fn handler(
    event: LambdaEvent<ApiGatewayV2httpRequest>,
    deps: &Deps,
) -> Result<ApiGatewayV2httpResponse, lambda_runtime::Error> {
    let request = &event.payload;
    let deadline = invocation_deadline(event.context.deadline);
    Ok(shell::serve(&event, ENDPOINT, &deps.config.common.cors, async |log| {
        respond(request, deps, deadline, log).await
    })
    .await)
}

/// How long before the invocation's deadline a blocking reload gives up,
/// so that its 503 still reaches the viewer.
const DEADLINE_MARGIN: Duration = Duration::from_millis(500);

/// The instant a blocking reload must have answered by: the runtime's
/// deadline (milliseconds since the epoch) less [`DEADLINE_MARGIN`]; `None`
/// when the runtime gave none (0, as in an event built by a test).
fn invocation_deadline(deadline_ms: u64) -> Option<Instant> {
    if deadline_ms == 0 {
        return None;
    }
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let left = Duration::from_millis(u64::try_from(u128::from(deadline_ms).saturating_sub(now_ms)).unwrap_or(0));
    Some(Instant::now() + left.saturating_sub(DEADLINE_MARGIN))
}

async fn respond(
    request: &ApiGatewayV2httpRequest,
    deps: &Deps,
    deadline: Option<Instant>,
    log: &mut RequestLog,
) -> Result<Answer, RewriterError> {
    log.strategy = deps.config.strategy.as_str();
    let path = shell::request_path(request);
    let key = object_key(&path, &deps.config.media_prefix)?;
    let playlist_url = format!("{}/{key}", deps.base_url.url);
    let now = (deps.clock)();
    let stage = Instant::now();
    let loaded = deps.key.current().await.map_err(|e| {
        tracing::warn!(error = %e, "signing key unavailable");
        CommonError::KeyUnavailable
    })?;
    let per_key = deps.per_key(&loaded);
    // Invariant 2: the credential is checked before anything is read.
    let incoming = verify_viewer(
        request,
        &playlist_url,
        &per_key.verifier,
        loaded.generation,
        deps,
        now,
        log,
    );
    log.verify = stage.elapsed();
    let incoming = incoming?.with_expiry_granularity(deps.config.common.expiry_granularity, now);
    let asked = BlockingReload::from_query(request.raw_query_string.as_deref().unwrap_or(""))
        .map_err(RewriterError::Directive)?;
    log.hls_msn = asked.map(|a| a.msn);
    log.hls_part = asked.and_then(|a| a.part);

    let stage = Instant::now();
    let read = match read_playlist(deps, key, log, false).await {
        Ok(object) => match asked {
            Some(asked) => wait_for(asked, object, deps, key, deadline, log).await,
            None => Ok(object),
        },
        Err(e) => Err(e),
    };
    log.read = stage.elapsed();
    let object = read?;
    log.bytes_in = object.bytes.len();
    // Never a partial rewrite of an object caught mid-write.
    if let Some(incomplete) = object.incomplete {
        return Err(RewriterError::Incomplete(incomplete));
    }
    // A blocking reload may have waited: the answer's age counts from now.
    let now = if asked.is_some() { (deps.clock)() } else { now };

    let gzip_ok = request
        .headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(accepts_gzip);
    // Only now, the credential verified and the object the raw cache serves
    // in hand: the answer made for exactly these.
    let answers = &deps.answers;
    if let Some(hit) = answers.get(key, &object, loaded.generation, gzip_ok, &incoming) {
        log.answer_cache = answer_cache::HIT;
        log.uris_signed = hit.uris_signed;
        log.uris_untouched = hit.uris_untouched;
        log.signatures_reused = hit.signatures;
        return Ok(ok_answer(
            hit.body.to_body(),
            hit.body.is_gzip(),
            &incoming,
            &object,
            now,
            log,
        ));
    }
    log.answer_cache = if answers.is_on() {
        answer_cache::MISS
    } else {
        answer_cache::OFF
    };

    // Plan (nothing signed yet), have the missing policies signed by the
    // local key or KMS, then emit; all of it counts as the rewrite stage.
    let stage = Instant::now();
    let out = rewrite(&object.bytes, &playlist_url, &incoming, deps, &loaded, &per_key.cache).await;
    log.rewrite = stage.elapsed();
    let out = out?;
    let summary = &out.summary;
    log.uris_signed = summary.uris_signed;
    log.uris_untouched = summary.untouched.len();
    log.signatures_computed = summary.signatures_computed;
    log.signatures_reused = summary.signatures_reused;

    let stage = Instant::now();
    let encoded = encode_body(out.body, gzip_ok, object.json_extra);
    log.encode = stage.elapsed();
    let (body, gzip) = encoded?;
    if answers.fits(shell::body_len(&body))
        && let Some(kept) = CachedBody::of(&body)
    {
        let cached = CachedAnswer {
            body: kept,
            uris_signed: log.uris_signed,
            uris_untouched: log.uris_untouched,
            signatures: log.signatures_computed + log.signatures_reused,
        };
        answers.put(key, &object, loaded.generation, gzip_ok, &incoming, cached);
    }
    Ok(ok_answer(body, gzip, &incoming, &object, now, log))
}

/// The 200 answer with `body`, made from `object`; its `Cache-Control` from
/// the credential's remaining validity at `now` and what the playlist is
/// (per request, never cached): see [`PlaylistInfo::max_age`](playlist_rewrite::PlaylistInfo::max_age).
fn ok_answer(
    body: Body,
    gzip: bool,
    incoming: &Incoming,
    object: &RawObject,
    now: u64,
    log: &mut RequestLog,
) -> Answer {
    log.gzip = gzip;
    let credential_left = incoming.policy.date_less_than.saturating_sub(now).saturating_sub(1);
    // A rewritten body is a playlist: `info` is there (0, not cached, otherwise).
    let max_age = object.info.as_ref().map_or(0, |info| info.max_age(credential_left));
    let mut answer = Answer::new(200, "application/vnd.apple.mpegurl", body);
    if let Ok(v) = HeaderValue::from_str(&format!("max-age={max_age}")) {
        answer = answer.header(header::CACHE_CONTROL, v);
    }
    if gzip {
        answer = answer.header(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        answer.response.is_base64_encoded = true;
    }
    answer.varies_by_encoding = true;
    answer
}

/// The two-step rewrite: plan with the signer's public side, sign what the
/// cache lacks through the signing seam, finish.
async fn rewrite(
    body: &[u8],
    playlist_url: &str,
    incoming: &Incoming,
    deps: &Deps,
    loaded: &LoadedKey,
    cache: &SignatureCache,
) -> Result<playlist_rewrite::Rewritten, RewriterError> {
    let signer = &loaded.signer;
    let pending =
        playlist_rewrite::plan_rewrite(body, playlist_url, incoming, &deps.playlist, signer.signatory(), cache)
            .map_err(RewriterError::Rewrite)?;
    let policies: Vec<&[u8]> = pending.to_sign().collect();
    let signed = match policies.is_empty() {
        true => Vec::new(),
        false => signer.sign_each(&policies).await,
    };
    drop(policies);
    if signed.iter().any(Result::is_err) {
        // Keep what was made (KMS calls are billed and rate-limited): the
        // viewer's retry asks only for the rest.
        let mut made = Vec::with_capacity(signed.len());
        let mut first_error = None;
        for result in signed {
            match result {
                Ok(signature) => made.push(Some(signature)),
                Err(e) => {
                    first_error.get_or_insert(e);
                    made.push(None);
                }
            }
        }
        pending.keep_signed(&made, cache);
        return Err(sign_error(
            first_error.unwrap_or_else(|| SignError::Failed("no signature".into())),
        ));
    }
    let signatures = signed.into_iter().flatten().collect();
    pending.finish(signatures, cache).map_err(RewriterError::Rewrite)
}

/// A signer's failure: KMS throttled or unreachable is the key being unavailable (503).
fn sign_error(e: SignError) -> RewriterError {
    match e {
        SignError::Unavailable(_) => {
            tracing::warn!(error = %e, "signing key unavailable");
            CommonError::KeyUnavailable.into()
        }
        other => RewriterError::Rewrite(playlist_rewrite::Error::Sign(cloudfront_sign::Error::Sign(
            other.to_string(),
        ))),
    }
}

/// Verifies the viewer's prefixed credential for `playlist_url` with the
/// verifier of key `generation` (through the [verification memo](answer_cache)).
fn verify_viewer(
    request: &ApiGatewayV2httpRequest,
    playlist_url: &str,
    verifier: &Verifier,
    generation: u64,
    deps: &Deps,
    now: u64,
    log: &mut RequestLog,
) -> Result<Incoming, RewriterError> {
    let query = request.raw_query_string.as_deref().unwrap_or("");
    let url = if query.is_empty() {
        playlist_url.to_owned()
    } else {
        format!("{playlist_url}?{query}")
    };
    let suffix = deps.config.common.key_suffix.as_str();
    let (incoming, memo) = deps
        .memo
        .verify(verifier, generation, &url, suffix, now, client_ip(request));
    log.verify_memo = memo;
    incoming.map_err(RewriterError::Denied)
}

/// The object `key`, from the raw cache or the store (`again`: a
/// conditional read even when the copy in memory is fresh); the log line
/// learns where it came from and how many store requests it took.
async fn read_playlist(
    deps: &Deps,
    key: &str,
    log: &mut RequestLog,
    again: bool,
) -> Result<Arc<RawObject>, RewriterError> {
    let (store, limit, now) = (deps.store.as_ref(), deps.config.max_playlist_bytes, (deps.monotonic)());
    let read = match again {
        false => deps.raw.read(store, key, limit, now).await,
        true => deps.raw.reread(store, key, limit, now).await,
    };
    match read {
        Ok(read) => {
            log.body_source = read.source.as_str();
            log.s3_requests += read.store_requests;
            Ok(read.object)
        }
        Err(e) => {
            // Every error is the store's answer to one request.
            log.s3_requests += 1;
            Err(store_error(e))
        }
    }
}

/// A blocking reload: `object` until it holds what was `asked` (or has
/// ended, or offers no blocking), reading it again every
/// `BLOCKING_RELOAD_POLL_MS`; an error when asked too far ahead, or when
/// three target durations (or the invocation's deadline) pass first.
async fn wait_for(
    asked: BlockingReload,
    mut object: Arc<RawObject>,
    deps: &Deps,
    key: &str,
    deadline: Option<Instant>,
    log: &mut RequestLog,
) -> Result<Arc<RawObject>, RewriterError> {
    let started = Instant::now();
    loop {
        // Not a playlist: the rewrite refuses it. Caught mid-write: look again.
        let Some(info) = object.info.as_ref() else {
            return Ok(object);
        };
        let readiness = match object.incomplete {
            None => info.readiness(asked),
            Some(_) if info.can_block_reload => Readiness::Wait,
            Some(_) => Readiness::Ready,
        };
        match readiness {
            Readiness::Ready => break,
            Readiness::TooFarAhead => {
                return Err(RewriterError::TooFarAhead {
                    msn: asked.msn,
                    next: info.next_msn(),
                });
            }
            Readiness::Wait => {}
        }
        // Without a target duration there is no bound to wait within.
        let Some(limit) = info.blocking_limit() else { break };
        let give_up = deadline.map_or(started + limit, |d| d.min(started + limit));
        let poll = deps.config.blocking_reload_poll;
        if Instant::now() + poll > give_up {
            return Err(RewriterError::NotYetAvailable {
                msn: asked.msn,
                waited_ms: started.elapsed().as_millis(),
            });
        }
        tokio::time::sleep(poll).await;
        object = read_playlist(deps, key, log, true).await?;
    }
    log.blocked = started.elapsed();
    Ok(object)
}

fn store_error(e: StoreError) -> RewriterError {
    match e {
        StoreError::NotFound(_) => CommonError::NotFound.into(),
        StoreError::TooLarge { limit, .. } => RewriterError::TooLarge(limit),
        other => {
            tracing::warn!(error = %other, "reading the playlist failed");
            CommonError::StorageUnavailable.into()
        }
    }
}

fn client_ip(request: &ApiGatewayV2httpRequest) -> Option<IpAddr> {
    match request
        .headers
        .get("cloudfront-viewer-address")
        .and_then(|v| v.to_str().ok())
    {
        Some(value) => viewer_ip(value),
        None => request
            .request_context
            .http
            .source_ip
            .as_deref()
            .and_then(|ip| ip.parse().ok()),
    }
}

/// The number of bytes `text` takes as a JSON string's content, as
/// serde_json writes it (`"` and `\\` escaped, `\b \f \n \r \t`, other
/// control characters as `\u00XX`).
pub fn json_escaped_len(text: &[u8]) -> usize {
    text.len() + json_escape_extra(text)
}

/// What escaping adds to `text` as a JSON string's content: one byte per
/// `"`, `\\` and short escape, five per other control character. One pass
/// that the compiler vectorises (no branch per byte).
pub fn json_escape_extra(text: &[u8]) -> usize {
    let mut extra = 0usize;
    for chunk in text.chunks(4096) {
        // Per chunk in a narrow counter, so that the loop vectorises.
        let mut n = 0u32;
        for &b in chunk {
            let control = b < 0x20;
            let short = matches!(b, 0x08 | b'\t' | b'\n' | 0x0c | b'\r');
            let quoted = b == b'"' || b == b'\\';
            n += u32::from(control | quoted) + 4 * u32::from(control & !short);
        }
        extra += n as usize;
    }
    extra
}

/// The gzip compressor (deflate level 1: the fastest, and ample for a signed
/// playlist whose credentials repeat; levels 2 to 9 take 5 to 8 times
/// longer for a 2.3 times smaller answer that fits either way), kept between
/// requests: miniz allocates and zeroes ~300 KB of tables per compressor.
static COMPRESSOR: Mutex<Option<flate2::Compress>> = Mutex::new(None);

/// `data` as one gzip member (RFC 1952: no name, no time, OS unknown).
pub fn gzip(data: &[u8]) -> std::io::Result<Vec<u8>> {
    use flate2::{Compress, Compression, FlushCompress, Status};
    const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let pooled = COMPRESSOR.lock().unwrap_or_else(|e| e.into_inner()).take();
    let mut compress = match pooled {
        Some(mut c) => {
            c.reset();
            c
        }
        None => Compress::new(Compression::fast(), false),
    };
    let mut out = Vec::with_capacity(data.len() / 16 + 64);
    out.extend_from_slice(&HEADER);
    loop {
        let consumed = usize::try_from(compress.total_in()).unwrap_or(usize::MAX);
        let input = data.get(consumed..).unwrap_or_default();
        if out.capacity() - out.len() < 64 {
            out.reserve(out.len().max(input.len() / 16) + 64);
        }
        match compress
            .compress_vec(input, &mut out, FlushCompress::Finish)
            .map_err(std::io::Error::other)?
        {
            Status::StreamEnd => break,
            Status::Ok | Status::BufError => {}
        }
    }
    let mut crc = flate2::Crc::new();
    crc.update(data);
    out.extend_from_slice(&crc.sum().to_le_bytes());
    // ISIZE: the length modulo 2^32.
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    *COMPRESSOR.lock().unwrap_or_else(|e| e.into_inner()) = Some(compress);
    Ok(out)
}

/// The body as sent: gzip (base64 in the payload) when accepted and large,
/// else text; an error when it cannot fit Lambda's limit either way.
///
/// `input_escape_extra` is [`json_escape_extra`] of the playlist the text was
/// rewritten from: the rewrite only inserts ASCII that JSON leaves as it is
/// (and may drop stale credential parameters), so the text's escaped size is
/// at most `text.len() + input_escape_extra` and the text is not read again
/// to measure it. Only an answer that this bound puts over the limit is
/// measured exactly.
pub fn encode_body(text: String, gzip_ok: bool, input_escape_extra: usize) -> Result<(Body, bool), RewriterError> {
    let budget = LAMBDA_RESPONSE_LIMIT - RESPONSE_OVERHEAD;
    let too_large = |sent| RewriterError::ResponseTooLarge {
        bytes: text.len(),
        sent,
        gzip_offered: gzip_ok,
    };
    if gzip_ok && text.len() >= GZIP_MIN_BYTES {
        let compressed = gzip(text.as_bytes()).map_err(RewriterError::Gzip)?;
        let encoded_len = compressed.len().div_ceil(3) * 4;
        if encoded_len > budget {
            return Err(too_large(encoded_len));
        }
        return Ok((Body::Binary(compressed), true));
    }
    let mut escaped = text.len() + input_escape_extra;
    if escaped > budget {
        escaped = json_escaped_len(text.as_bytes());
    }
    if escaped > budget {
        return Err(too_large(escaped));
    }
    Ok((Body::Text(text), false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        let movies = MediaPrefix::parse("movies/").unwrap();
        assert_eq!(
            object_key("/movies/movie_1/index.m3u8", &movies).unwrap(),
            "movies/movie_1/index.m3u8"
        );
        assert_eq!(object_key("movies/a.m3u8", &movies).unwrap(), "movies/a.m3u8");
        for bad in [
            "/movies/../secret.m3u8",
            "/movies//a.m3u8",
            "//movies/a.m3u8",
            "/movies/./a.m3u8",
            "/movies/%2e%2e/a.m3u8",
            "/movies/a b.m3u8",
            "/movies/a\\b.m3u8",
            "",
            "/",
        ] {
            assert!(
                matches!(object_key(bad, &movies), Err(RewriterError::InvalidPath)),
                "{bad}"
            );
        }
        for other in ["/other/a.m3u8", "/movies/a.ts", "/movies/.m3u8", "/movies"] {
            assert!(object_key(other, &movies).is_err(), "{other}");
        }
        assert!(matches!(
            object_key(&format!("/movies/{}.m3u8", "a".repeat(1100)), &movies),
            Err(RewriterError::InvalidPath)
        ));
    }

    #[test]
    fn response_limit() {
        let small = "#EXTM3U\n".to_owned();
        assert!(matches!(encode_body(small, true, 1), Ok((Body::Text(_), false))));
        let big = "#EXTINF:4,\nseg.ts\n".repeat(200_000);
        let extra = json_escape_extra(big.as_bytes());
        assert!(matches!(
            encode_body(big.clone(), true, extra),
            Ok((Body::Binary(_), true))
        ));
        assert!(matches!(encode_body(big, false, extra), Ok((Body::Text(_), false))));
        let huge = "#EXTINF:4,\nseg.ts\n".repeat(400_000);
        let extra = json_escape_extra(huge.as_bytes());
        let e = encode_body(huge, false, extra).unwrap_err();
        assert_eq!((e.status(), e.error_type()), (502, "response_too_large"));
        assert!(e.to_string().contains("gzip"));
        assert_eq!(json_escaped_len(b"a\"b\n\x01"), 1 + 2 + 1 + 2 + 6);
    }

    /// The escaped size is serde_json's, byte for byte, for every character class.
    #[test]
    fn escaped_size_is_serde_jsons() {
        let every_byte: String = (0u8..0x80).map(char::from).collect();
        for text in [
            "",
            "#EXTM3U\n",
            "a\"b\\c\r\n\t\u{8}\u{c}\u{1}\u{1f}\u{7f}",
            "caf\u{e9} \u{1f3ac} \u{feff}#EXTM3U\r\n",
            every_byte.as_str(),
        ] {
            let serde = serde_json::to_string(text).unwrap().len() - 2;
            assert_eq!(json_escaped_len(text.as_bytes()), serde, "{text:?}");
            assert_eq!(json_escape_extra(text.as_bytes()), serde - text.len(), "{text:?}");
        }
        let long = every_byte.repeat(200);
        assert_eq!(
            json_escaped_len(long.as_bytes()),
            serde_json::to_string(&long).unwrap().len() - 2
        );
    }

    /// At the limit: an answer whose escaped size is exactly the budget goes
    /// out, and the whole response then fits Lambda's 6 MB as serde_json
    /// writes it; one byte more is refused with the size serde_json would write.
    #[test]
    fn the_limit_is_exact_as_serde_json_writes_it() {
        let budget = LAMBDA_RESPONSE_LIMIT - RESPONSE_OVERHEAD;
        let unit = "#EXTINF:4,\t\"x\"\nseg.ts\n";
        let unit_escaped = serde_json::to_string(unit).unwrap().len() - 2;
        let mut text = unit.repeat(budget / unit_escaped);
        let escaped = |t: &str| serde_json::to_string(t).unwrap().len() - 2;
        text.push_str(&"a".repeat(budget - escaped(&text)));
        assert_eq!(escaped(&text), budget);
        let extra = json_escape_extra(text.as_bytes());
        let (body, gzip) = encode_body(text.clone(), false, extra).unwrap();
        assert!(!gzip);
        let mut response = ApiGatewayV2httpResponse::default();
        response.status_code = 200;
        response.body = Some(body);
        let payload = serde_json::to_vec(&response).unwrap();
        assert!(payload.len() <= LAMBDA_RESPONSE_LIMIT, "{}", payload.len());
        // An over-estimated bound (stale parameters dropped) is measured exactly.
        assert!(encode_body(text.clone(), false, extra + 100).is_ok());
        text.push('\n');
        let extra = json_escape_extra(text.as_bytes());
        match encode_body(text.clone(), false, extra) {
            Err(RewriterError::ResponseTooLarge { sent, bytes, .. }) => {
                assert_eq!((sent, bytes), (escaped(&text), text.len()));
                assert_eq!(sent, budget + 2);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn gzip_is_one_valid_member_with_a_pooled_compressor() {
        use std::io::Read as _;
        let big = "#EXTINF:4,\nseg.ts?Policy=abc&Signature=def\n".repeat(50_000);
        for data in ["", "#EXTM3U\n", big.as_str(), big.as_str(), "#EXTM3U\n"] {
            let compressed = gzip(data.as_bytes()).unwrap();
            let mut decoder = flate2::read::GzDecoder::new(&compressed[..]);
            let mut back = String::new();
            decoder.read_to_string(&mut back).unwrap();
            assert_eq!(back, data);
            let mut rest = Vec::new();
            decoder.into_inner().read_to_end(&mut rest).unwrap();
            assert!(rest.is_empty(), "one member, nothing after it");
        }
    }

    #[test]
    fn core_errors_keep_their_type() {
        let e = RewriterError::Rewrite(playlist_rewrite::Error::NoHeader {
            first_line: "<html>".into(),
        });
        assert_eq!((e.status(), e.error_type()), (502, "not_a_playlist"));
        assert!(e.to_string().contains("<html>"));
        let e = RewriterError::from(CommonError::MethodNotAllowed);
        assert_eq!((e.status(), e.error_type()), (405, "method_not_allowed"));
        assert_eq!(e.headers()[0].0, header::ALLOW);
    }
}
