//! Request targets for the app: the event's raw path and query, with only the
//! bytes that cannot appear in an HTTP/1.1 request line percent-encoded.
//!
//! The sets follow the WHATWG URL standard's path and special-query sets,
//! which is what upstream's `url` crate applies: `/a b` becomes `/a%20b`,
//! `/é` becomes `/%C3%A9`, and an existing `%` is kept even when invalid.
//! Unlike upstream, `?` and `#` in a path and `#` in a query are encoded
//! rather than taken for a query or a fragment (no data is cut off).
//!
//! Dot segments are resolved by `resolve_dots` (decisions.md #19), as the
//! `url` crate does for upstream: `.` and `..`, also written `%2e` in any
//! case, as the WHATWG URL standard counts them.

use std::borrow::Cow;

use percent_encoding::{AsciiSet, CONTROLS, NON_ALPHANUMERIC, percent_decode, percent_encode};
use ureq::http::Uri;

use crate::error::Error;

/// WHATWG path percent-encode set (plus non-ASCII, always encoded).
const PATH: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// WHATWG special-query percent-encode set, plus `#`.
const QUERY: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'\'');

/// `application/x-www-form-urlencoded`: only `A-Za-z0-9*-._` stay as they are.
const FORM: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'*')
    .remove(b'-')
    .remove(b'.')
    .remove(b'_');

/// The `http` crate's limit for a path and query.
const MAX_TARGET: usize = u16::MAX as usize - 1;

/// `path` with its `.` and `..` segments resolved (RFC 3986 §5.2.4): `/a/./b`
/// and `/a/x/../b` are `/a/b`, `/a/..` is `/`, `/a/b/..` is `/a/`. Empty
/// segments (`//`) are kept, `%2F` is no boundary, and `..` never climbs above
/// the root. A path without a leading `/` is read as if it had one. The
/// result is borrowed when there was nothing to resolve.
pub fn resolve_dots(path: &str) -> Cow<'_, str> {
    let rel = path.strip_prefix('/').unwrap_or(path);
    if !rel.split('/').any(|seg| dots(seg).is_some()) {
        return Cow::Borrowed(path);
    }
    let segments: Vec<&str> = rel.split('/').collect();
    let mut out: Vec<&str> = Vec::with_capacity(segments.len());
    let last = segments.len() - 1;
    for (i, seg) in segments.into_iter().enumerate() {
        match dots(seg) {
            None => out.push(seg),
            Some(n) => {
                if n == 2 {
                    out.pop();
                }
                if i == last {
                    out.push(""); // `/a/b/..` is the directory `/a/`
                }
            }
        }
    }
    let mut resolved = String::with_capacity(path.len() + 1);
    for seg in out {
        resolved.push('/');
        resolved.push_str(seg);
    }
    if resolved.is_empty() {
        resolved.push('/');
    }
    Cow::Owned(resolved)
}

/// 1 for a `.` segment, 2 for `..`, with `%2e` (any case) for a dot.
fn dots(seg: &str) -> Option<u8> {
    let b = seg.as_bytes();
    let is_dot = |s: &[u8]| s == b"." || s.eq_ignore_ascii_case(b"%2e");
    match b.len() {
        1 | 3 if is_dot(b) => Some(1),
        2 | 4 | 6 => (1..b.len())
            .filter(|&i| is_dot(&b[..i]))
            .any(|i| is_dot(&b[i..]))
            .then_some(2),
        _ => None,
    }
}

/// `{base}{path}?{query}` as a URI; `query` must already be encoded.
pub fn target(base: &str, path: &str, query: &str) -> Result<Uri, Error> {
    let mut out = String::with_capacity(base.len() + path.len() + query.len() + 2);
    out.push_str(base);
    if !path.starts_with('/') {
        out.push('/');
    }
    out.extend(percent_encode(path.as_bytes(), PATH));
    if !query.is_empty() {
        out.push('?');
        out.push_str(query);
    }
    if out.len() - base.len() > MAX_TARGET {
        return Err(Error::event(
            "path",
            format!("path and query are longer than {MAX_TARGET} bytes"),
        ));
    }
    Uri::try_from(out)
        .map_err(|e| Error::event("path", format!("cannot form a request target: {e}")))
}

/// A raw query string as sent by the client, made safe for a request line.
pub fn encode_query(raw: &str) -> String {
    percent_encode(raw.as_bytes(), QUERY).collect()
}

/// Appends `name=value` form-encoded, with `&` before all but the first pair.
pub fn push_form_pair(out: &mut String, name: &[u8], value: &[u8]) {
    if !out.is_empty() {
        out.push('&');
    }
    push_form(out, name);
    out.push('=');
    push_form(out, value);
}

/// Form encoding: a space is `+`, every other byte outside `FORM` is `%XX`.
fn push_form(out: &mut String, s: &[u8]) {
    for (i, part) in s.split(|&b| b == b' ').enumerate() {
        if i > 0 {
            out.push('+');
        }
        out.extend(percent_encode(part, FORM));
    }
}

/// Form decoding: `+` is a space, `%XX` a byte; invalid escapes stay literal.
pub fn form_decode(s: &str) -> Vec<u8> {
    let plus_as_space = s.replace('+', " ");
    percent_decode(plus_as_space.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check_path(path: &str, expected: &str) {
        let uri = target("http://127.0.0.1:8080", path, "").unwrap();
        assert_eq!(uri.path(), expected);
    }

    #[test]
    fn paths_keep_what_a_request_line_allows() {
        check_path("/a b", "/a%20b");
        check_path("/é", "/%C3%A9");
        check_path("/Año_1234", "/A%C3%B1o_1234");
        check_path("/a%2Fb", "/a%2Fb");
        check_path("/a%zz", "/a%zz");
        check_path("/a/../b", "/a/../b");
        check_path("//a//b", "//a//b");
        check_path("/a#b", "/a%23b");
        check_path("/a?b", "/a%3Fb");
        check_path("/a+b;c=d:e~f", "/a+b;c=d:e~f");
        check_path("/\"<>`{}", "/%22%3C%3E%60%7B%7D");
        check_path("/a\x7fb\x01", "/a%7Fb%01");
        check_path("", "/");
        check_path("abc", "/abc");
    }

    #[track_caller]
    fn check_dots(path: &str, expected: &str) {
        assert_eq!(resolve_dots(path), expected, "{path:?}");
    }

    #[test]
    fn dot_segments_are_resolved() {
        check_dots("/a/x/../b", "/a/b");
        check_dots("/a/./b", "/a/b");
        check_dots("/a/..", "/");
        check_dots("/a/b/..", "/a/");
        check_dots("/a/.", "/a/");
        check_dots("/.", "/");
        check_dots("/..", "/");
        check_dots("/../../x", "/x");
        check_dots("/a/../../../b/", "/b/");
        check_dots("/a/%2e%2E/b", "/b");
        check_dots("/a/.%2e/b", "/b");
        check_dots("/a/%2E./b/%2e", "/b/");
        check_dots("../a", "/a");
        check_dots(".", "/");
        // `//` kept: an empty segment is a segment, and `..` removes it.
        check_dots("//a//b/./c", "//a//b/c");
        check_dots("/a//../b", "/a/b");
        // `%2F` is no boundary: `x%2F..` is one segment, not a dot segment.
        check_dots("/a/x%2F../b", "/a/x%2F../b");
        check_dots("/a/x%2F..%2F../b/..", "/a/x%2F..%2F../");
    }

    #[test]
    fn paths_without_dot_segments_are_borrowed() {
        for path in [
            "/",
            "",
            "/a/b",
            "//a//b",
            "/a.b/..c/...",
            "/.a/b.",
            "/%2e%2e%2e",
            "abc",
        ] {
            assert!(
                matches!(resolve_dots(path), Cow::Borrowed(p) if p == path),
                "{path:?}"
            );
        }
    }

    #[test]
    fn raw_queries_are_kept_except_unsafe_bytes() {
        assert_eq!(
            encode_query("a=1&b=%zz&c=100%&d=|{}[]^`+"),
            "a=1&b=%zz&c=100%&d=|{}[]^`+"
        );
        assert_eq!(encode_query("q=a b\"<>'#é"), "q=a%20b%22%3C%3E%27%23%C3%A9");
        let uri = target("http://h:1", "/", &encode_query("x=a b&y=<z>")).unwrap();
        assert_eq!(uri.query(), Some("x=a%20b&y=%3Cz%3E"));
    }

    #[test]
    fn form_pairs_encode_like_browsers() {
        let mut q = String::new();
        push_form_pair(&mut q, b"a b", b"x/y~z&=");
        push_form_pair(&mut q, b"k", b"");
        push_form_pair(&mut q, "é".as_bytes(), b"*-._");
        assert_eq!(q, "a+b=x%2Fy%7Ez%26%3D&k=&%C3%A9=*-._");
    }

    #[test]
    fn form_decoding_keeps_invalid_escapes() {
        assert_eq!(form_decode("hello%20world+x%2B%zz%"), b"hello world x+%zz%");
        assert_eq!(form_decode("%FF"), [0xff]);
    }

    #[test]
    fn overlong_targets_are_an_error_not_a_panic() {
        let long = "/".to_owned() + &"a".repeat(70_000);
        let e = target("http://h:1", &long, "").unwrap_err();
        assert_eq!(e.error_type(), "Adapter.InvalidEvent");
    }
}
