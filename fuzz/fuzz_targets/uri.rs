//! Query and path encoding (`event::uri`, `event::remove_base_path`).
//!
//! Input: up to four NUL-separated strings (invalid UTF-8 replaced, since
//! event strings are JSON strings): a path, a raw query, a form name and a
//! form value. Seeds: `scripts/fuzz.sh` takes paths and queries from the
//! fixtures.
//!
//! Properties: a request target is visible ASCII, parses back to itself,
//! and percent-decodes to the event's path and query when those had no `%`
//! of their own; targets are refused only past the `http` crate's length
//! limit; form encoding round-trips through form decoding byte for byte and
//! never lets `&`, `=`, `#` or a space through; ALB values (decoded, then
//! re-encoded) keep their decoded bytes; the base path is removed by whole
//! segments, once.

#![no_main]

use lambda_adapter::event::{remove_base_path, uri};
use lambda_adapter_fuzz::{check_target, fields};
use libfuzzer_sys::fuzz_target;
use percent_encoding::percent_decode_str;

const BASE: &str = "http://127.0.0.1:8080";

fuzz_target!(|data: &[u8]| {
    let mut parts = fields(data, 0).map(String::from_utf8_lossy);
    let path = parts.next().unwrap_or_default();
    let query = parts.next().unwrap_or_default();
    let name = parts.next().unwrap_or_default();
    let value = parts.next().unwrap_or_default();

    check_path_and_query(&path, &query);
    check_form(name.as_bytes(), value.as_bytes());
    check_form(path.as_bytes(), query.as_bytes());
    check_alb_value(&name);
    check_alb_value(&query);
    check_base_path(&path, &name);
});

fn check_path_and_query(path: &str, raw_query: &str) {
    let query = uri::encode_query(raw_query);
    let target = match uri::target(BASE, path, &query) {
        Ok(t) => t,
        Err(e) => {
            // Only the `http` crate's limit (u16::MAX - 1) may refuse a target.
            let longest = 3 * (path.len() + 1) + query.len();
            assert!(
                longest > usize::from(u16::MAX) - 1,
                "{e}: {path:?} {query:?}"
            );
            return;
        }
    };
    assert_eq!(target.authority().unwrap().as_str(), "127.0.0.1:8080");
    let pq = target.path_and_query().expect("a path").as_str();
    check_target(pq);
    let whole: ureq::http::Uri = target.to_string().parse().expect("reparses");
    assert_eq!(whole, target);
    if !path.contains('%') {
        let want = if path.starts_with('/') {
            path.to_owned()
        } else {
            format!("/{path}")
        };
        let got: Vec<u8> = percent_decode_str(target.path()).collect();
        assert_eq!(got, want.as_bytes(), "path {path:?} -> {pq:?}");
    }
    if !raw_query.contains('%') {
        let got: Vec<u8> = percent_decode_str(target.query().unwrap_or("")).collect();
        assert_eq!(got, raw_query.as_bytes(), "query {raw_query:?} -> {pq:?}");
    }
}

/// `name=value` form-encoded, twice: splits into exactly those two pairs,
/// each of which decodes back to the bytes.
fn check_form(name: &[u8], value: &[u8]) {
    let mut q = String::new();
    uri::push_form_pair(&mut q, name, value);
    uri::push_form_pair(&mut q, value, name);
    assert!(
        q.bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'#' | b'?')),
        "{q:?}"
    );
    let pairs: Vec<&str> = q.split('&').collect();
    assert_eq!(pairs.len(), 2, "{q:?}");
    for (pair, (n, v)) in pairs.iter().zip([(name, value), (value, name)]) {
        let (en, ev) = pair.split_once('=').expect("one = per pair");
        assert!(!ev.contains('='), "{pair:?}");
        assert_eq!(uri::form_decode(en), n);
        assert_eq!(uri::form_decode(ev), v);
    }
    check_target(&format!("/?{q}"));
}

/// ALB sends query values still encoded: decoded, re-encoded, they decode the same.
fn check_alb_value(raw: &str) {
    let decoded = uri::form_decode(raw);
    let mut q = String::new();
    uri::push_form_pair(&mut q, b"k", &decoded);
    let (_, encoded) = q.split_once('=').unwrap();
    assert_eq!(uri::form_decode(encoded), decoded);
}

/// decisions.md #8, with the base path as `config.rs` normalises it.
fn check_base_path(path: &str, base: &str) {
    let base = base.trim().trim_matches('/');
    if base.is_empty() {
        return;
    }
    let base = format!("/{base}");
    let out = remove_base_path(path, Some(&base));
    if path == base {
        assert_eq!(out, "/");
    } else if path.starts_with(&format!("{base}/")) {
        assert_eq!(out, &path[base.len()..]);
        // Once: what is left is not stripped again.
    } else {
        assert_eq!(out, path);
    }
}
