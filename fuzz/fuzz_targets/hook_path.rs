//! SnapStart hook-path canonicalisation (`config::canonical_path`,
//! `config::hook_path`, decisions.md #20).
//!
//! Input: a path (invalid UTF-8 replaced).
//!
//! Properties: the canonical form starts with `/`, has no `.`, `..` or
//! empty segment, no `;`, no trailing `/` (but for `/` itself), and is ASCII lower
//! case; canonicalising twice changes nothing. A hook path that is accepted
//! is its own canonical form's match, is not `/`, and the request for it, as
//! the adapter writes it into a request target, is recognised as the hook:
//! so is the same request with its ASCII letters in upper case, with `//` and
//! with a dot segment.

#![no_main]

use lambda_adapter::config::{canonical_path, hook_path};
use lambda_adapter::event::uri;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = String::from_utf8_lossy(data);
    let c = canonical_path(&path);
    assert!(c.starts_with('/'), "{path:?} -> {c:?}");
    if c != "/" {
        for seg in c[1..].split('/') {
            assert!(!matches!(seg, "" | "." | ".."), "{path:?} -> {c:?}");
        }
    }
    assert!(!c.contains(';'), "{path:?} -> {c:?}");
    assert_eq!(c.to_ascii_lowercase(), c, "lower case: {path:?}");
    assert_eq!(canonical_path(&c), c, "idempotent: {path:?}");

    let Ok(hook) = hook_path(&path) else { return };
    assert_eq!(hook, c);
    assert_ne!(hook, "/");
    let Ok(target) = uri::target("http://h:1", &path, "") else {
        return;
    };
    let sent = target.path();
    assert_eq!(canonical_path(sent), hook, "as sent: {sent:?}");
    let variant = format!(
        "/x/..//{}/",
        sent.trim_start_matches('/').to_ascii_uppercase()
    );
    assert_eq!(canonical_path(&variant), hook, "variant: {variant:?}");
});
