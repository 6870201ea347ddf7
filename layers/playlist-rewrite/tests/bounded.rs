//! Memory and work are bounded for any playlist up to the size limit
//! (issue 11, finding 4): the output is measured and refused before anything
//! is signed or allocated, and `EXT-X-DEFINE` values are not expanded past
//! the URL limit nor past the rewrite's expansion budget.
//!
//! Measured with a counting allocator (this test binary only; the crate
//! itself forbids unsafe code): the peak of live bytes and the total of
//! bytes allocated during one rewrite, not wall time.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use cloudfront_sign::{HashAlgorithm, MAX_URL_BYTES};
use common::*;
use playlist_rewrite::{Config, Error, Incoming, Reason, Rewritten, SignatureCache, rewrite};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static TOTAL: AtomicUsize = AtomicUsize::new(0);

fn grew(bytes: usize) {
    let live = LIVE.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(live, Ordering::Relaxed);
    TOTAL.fetch_add(bytes, Ordering::Relaxed);
}

// SAFETY: every call is passed on to the system allocator unchanged; the
// counters are atomics and never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        grew(new_size);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The tests of this binary run one at a time, so that the counters see one rewrite.
static SERIAL: Mutex<()> = Mutex::new(());

/// What one call allocated: the peak of live bytes above the start, and the total.
#[derive(Debug)]
struct Allocated {
    peak: usize,
    total: usize,
}

fn measured<T>(f: impl FnOnce() -> T) -> (T, Allocated) {
    let start = LIVE.load(Ordering::Relaxed);
    PEAK.store(start, Ordering::Relaxed);
    let total = TOTAL.load(Ordering::Relaxed);
    let result = f();
    let allocated = Allocated {
        peak: PEAK.load(Ordering::Relaxed) - start,
        total: TOTAL.load(Ordering::Relaxed) - total,
    };
    (result, allocated)
}

const MIB: usize = 1 << 20;

fn run(body: &str, config: &Config, cache: &SignatureCache) -> (Result<Rewritten, Error>, Allocated) {
    let signer = signer(RSA_PEM, HashAlgorithm::Sha1);
    let wide = Incoming::operator(&signer, &format!("https://{HOST}/*"), EXPIRES).unwrap();
    let url = playlist_url("index.m3u8");
    measured(|| rewrite(body.as_bytes(), &url, &wide, config, &signer, cache))
}

#[test]
fn short_lines_cannot_grow_the_output_past_the_budget() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // 200 KB that would become 58 MB: 100,000 URIs of one byte, each with a credential.
    let body = format!("#EXTM3U\n{}", "a\n".repeat(100_000));
    let limit = 4 * MIB;
    let config = Config::builder().max_output_bytes(limit).build().unwrap();
    let cache = SignatureCache::default();
    let (result, allocated) = run(&body, &config, &cache);
    match result {
        Err(Error::OutputTooLarge { size, limit: l }) => {
            assert_eq!(l, limit);
            assert!(size > limit && size < limit + 2 * MAX_URL_BYTES, "{size}");
        }
        other => panic!("{other:?}"),
    }
    // Refused before the sign phase (no cache lookup) and before the output was allocated.
    assert_eq!((cache.hits(), cache.misses(), cache.len()), (0, 0, 0));
    assert!(allocated.peak < limit / 2, "{allocated:?}");
    assert!(
        Error::OutputTooLarge { size: 5, limit: 4 }
            .to_string()
            .starts_with("output too large: ")
    );

    // The default budget, 128 MiB, with a playlist of the default input limit (4 MiB):
    // it would grow to 1.2 GB. Refused with a few MiB allocated, not gigabytes.
    let body = format!("#EXTM3U\n{}", "a\n".repeat((4 * MIB - 8) / 2));
    let (result, allocated) = run(&body, &Config::default(), &cache);
    assert!(matches!(result, Err(Error::OutputTooLarge { limit, .. }) if limit == 128 * MIB));
    assert!(allocated.peak < 64 * MIB, "{allocated:?}");

    // Under the budget, the output is built once, at its exact size.
    let body = format!("#EXTM3U\n{}", "a\n".repeat(1_000));
    let (result, allocated) = run(&body, &config, &cache);
    let out = result.unwrap();
    assert_eq!(out.summary.uris_signed, 1_000);
    assert_eq!(out.body.capacity(), out.body.len(), "allocated at the exact size");
    assert!(allocated.peak < 2 * out.body.len() + MIB, "{allocated:?}");
}

#[test]
fn a_variable_is_not_expanded_past_the_url_limit() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // 110 KB: a 100 KB value referenced 2,000 times (200 MB to expand, in 8 s, before).
    let body = format!(
        "#EXTM3U\n#EXT-X-DEFINE:NAME=\"v\",VALUE=\"{}\"\n{}",
        "x".repeat(100_000),
        "#EXTINF:4,\n{$v}\n".repeat(2_000)
    );
    assert!(body.len() < 140_000);
    let (result, allocated) = run(&body, &Config::default(), &SignatureCache::default());
    let out = result.unwrap();
    assert_eq!(out.summary.uris_signed, 0);
    assert_eq!(out.summary.untouched.len(), 2_000);
    assert!(out.summary.untouched.iter().all(|u| u.reason == Reason::TooLong));
    assert_eq!(out.body, body);
    // Nothing expanded: the input copied once for the answer, and the small change.
    assert!(allocated.total < 2 * body.len() + MIB, "{allocated:?}");
    assert!(allocated.peak < body.len() + MIB, "{allocated:?}");
}

#[test]
fn all_expansions_together_stay_within_the_input_limit() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // A 6,000-byte value (each expansion fits the URL limit) referenced by
    // 10,000 distinct URIs: 60 MB of expansions from 105 KB.
    let value = "x".repeat(6_000);
    let mut body = format!("#EXTM3U\n#EXT-X-DEFINE:NAME=\"v\",VALUE=\"{value}\"\n");
    for i in 0..10_000 {
        body.push_str(&format!("{{$v}}{i}\n"));
    }
    assert!(body.len() < 120_000);
    let max_bytes = 1 << 20;
    let config = Config::builder().max_bytes(max_bytes).build().unwrap();
    let (result, allocated) = run(&body, &config, &SignatureCache::default());
    let out = result.unwrap();
    // As many as the budget (max_bytes) allows are expanded and signed, the rest are left.
    let expanded = max_bytes / value.len();
    assert_eq!(out.summary.uris_signed, expanded);
    assert_eq!(out.summary.untouched.len(), 10_000 - expanded);
    assert!(out.summary.untouched.iter().all(|u| u.reason == Reason::ExpansionLimit));
    assert_eq!(Reason::ExpansionLimit.code(), "expansion_limit");
    // The work is that budget, a few times over (expanding, resolving), not 60 MB.
    assert!(allocated.total < 8 * max_bytes + 2 * out.body.len(), "{allocated:?}");
    assert!(allocated.peak < 2 * out.body.len() + MIB, "{allocated:?}");
}
