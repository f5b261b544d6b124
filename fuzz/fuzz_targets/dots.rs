//! Dot-segment resolution (`event::uri::resolve_dots`, decisions.md #19).
//!
//! Input: a path (invalid UTF-8 replaced: event paths are JSON strings).
//!
//! Properties: the result starts with `/` and has no `.` or `..` segment
//! (`%2e` in any case counting as a dot, as the WHATWG URL standard does);
//! resolving twice changes nothing; a path with no dot segment is returned
//! as it is; the segments kept are the input's, in order (nothing is
//! decoded, `%2F` stays, empty segments survive unless a `..` took them),
//! apart from the one empty segment a trailing dot segment leaves.

#![no_main]

use std::borrow::Cow;

use lambda_adapter::event::uri::resolve_dots;
use libfuzzer_sys::fuzz_target;

/// A dot segment, restated from the WHATWG URL standard.
fn is_dots(seg: &str) -> bool {
    let s = seg.to_ascii_lowercase().replace("%2e", ".");
    s == "." || s == ".."
}

fuzz_target!(|data: &[u8]| {
    let path = String::from_utf8_lossy(data);
    let resolved = resolve_dots(&path);
    let segments: Vec<&str> = path.strip_prefix('/').unwrap_or(&path).split('/').collect();
    if !segments.iter().any(|s| is_dots(s)) {
        assert!(
            matches!(resolved, Cow::Borrowed(p) if p == path),
            "{path:?} -> {resolved:?}"
        );
        return;
    }
    assert!(resolved.starts_with('/'), "{path:?} -> {resolved:?}");
    let out: Vec<&str> = resolved[1..].split('/').collect();
    assert!(!out.iter().any(|s| is_dots(s)), "{path:?} -> {resolved:?}");
    assert_eq!(resolve_dots(&resolved), resolved, "idempotent: {path:?}");
    // Kept segments are a subsequence of the input's (plus a trailing "").
    let mut rest = segments.iter().filter(|s| !is_dots(s));
    let kept = match out.last() {
        Some(&"") if is_dots(segments[segments.len() - 1]) => &out[..out.len() - 1],
        _ => &out[..],
    };
    for seg in kept {
        assert!(
            rest.any(|s| s == seg),
            "{path:?} -> {resolved:?}: {seg:?} out of order"
        );
    }
});
