//! Bodies in both directions: the event's `body` (text or base64) to bytes,
//! and the app's bytes to a JSON `body` that is text when that is lossless,
//! base64 otherwise. Bytes are never transcoded (decisions.md #6).

use std::borrow::Cow;

use base64::Engine;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::{DecodePaddingMode, general_purpose};
use serde_json::value::RawValue;
use ureq::http::{HeaderMap, HeaderName, header};

use super::{Str, parse_field, push_str};
use crate::error::Error;

/// Accepts padded and unpadded input (decisions.md #1: upstream panics on unpadded).
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// The same for the URL-safe alphabet, which some clients use.
const LENIENT_URL_SAFE: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Decodes base64 with or without padding, in either alphabet, ignoring line breaks.
pub fn decode_base64(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    let text: Cow<str> = if text.bytes().any(|b| b.is_ascii_whitespace()) {
        Cow::Owned(text.split_ascii_whitespace().collect())
    } else {
        Cow::Borrowed(text)
    };
    LENIENT
        .decode(text.as_bytes())
        .or_else(|e| LENIENT_URL_SAFE.decode(text.as_bytes()).map_err(|_| e))
}

/// The event's body as bytes: borrowed from the payload when it can be.
pub fn decode_request<'a>(
    body: Option<&'a RawValue>,
    is_base64: Option<&RawValue>,
) -> Result<Cow<'a, [u8]>, Error> {
    let text: Option<Str> = parse_field("body", body)?;
    let is_base64: Option<bool> = parse_field("isBase64Encoded", is_base64)?;
    let Some(Str(text)) = text else {
        return Ok(Cow::Borrowed(&[]));
    };
    if is_base64 == Some(true) {
        return decode_base64(&text).map(Cow::Owned).map_err(|e| {
            Error::event(
                "body",
                format!("isBase64Encoded is true but the body is not base64: {e}"),
            )
        });
    }
    Ok(match text {
        Cow::Borrowed(s) => Cow::Borrowed(s.as_bytes()),
        Cow::Owned(s) => Cow::Owned(s.into_bytes()),
    })
}

/// The body as text when it may be sent as text, `None` when it must be base64.
///
/// Upstream's rule (lambda_http): anything with a `Content-Encoding` is
/// binary; textual content types, no content type, and bodies the app marked
/// with `x-lambda-http-content-encoding: text` are text. Here text must also
/// be valid UTF-8, so no byte is ever replaced.
pub fn as_text<'b>(headers: &HeaderMap, body: &'b [u8]) -> Option<&'b str> {
    if headers.contains_key(header::CONTENT_ENCODING) {
        return None;
    }
    let textual = match headers.get(header::CONTENT_TYPE) {
        None => true,
        Some(ct) => ct.to_str().is_ok_and(is_textual),
    };
    let marked = headers
        .get(HeaderName::from_static("x-lambda-http-content-encoding"))
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"text"));
    if !(textual || marked) {
        return None;
    }
    std::str::from_utf8(body).ok()
}

/// `text/*`, JSON, JavaScript, XML, YAML, and the `+json`/`+xml`/`+yaml` suffixes.
pub fn is_textual(content_type: &str) -> bool {
    let media = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    media.starts_with("text/")
        || matches!(
            media.as_str(),
            "application/json" | "application/javascript" | "application/xml" | "application/yaml"
        )
        || [b"+json".as_slice(), b"+xml", b"+yaml"]
            .iter()
            .any(|s| media.as_bytes().ends_with(s))
}

/// Writes `"body":...,"isBase64Encoded":...`.
pub fn push_body(out: &mut Vec<u8>, headers: &HeaderMap, body: &[u8]) {
    out.extend_from_slice(b"\"body\":");
    match as_text(headers, body) {
        Some(text) => {
            push_str(out, text);
            out.extend_from_slice(b",\"isBase64Encoded\":false");
        }
        None => {
            out.push(b'"');
            let start = out.len();
            out.resize(
                start + base64::encoded_len(body.len(), true).unwrap_or(0),
                0,
            );
            let written = STANDARD
                .encode_slice(body, &mut out[start..])
                .expect("BUG: buffer sized by encoded_len");
            out.truncate(start + written);
            out.extend_from_slice(b"\",\"isBase64Encoded\":true");
        }
    }
}

/// Standard base64 with padding, for small values.
pub fn encode_base64(bytes: &[u8]) -> String {
    general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ureq::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (n, v) in pairs {
            h.append(*n, HeaderValue::from_static(v));
        }
        h
    }

    #[track_caller]
    fn check(pairs: &[(&'static str, &'static str)], body: &[u8], text: bool) {
        assert_eq!(
            as_text(&headers(pairs), body).is_some(),
            text,
            "{pairs:?} {body:?}"
        );
    }

    #[test]
    fn text_or_base64() {
        check(
            &[("content-type", "text/html; charset=utf-8")],
            b"<p>hi</p>",
            true,
        );
        check(&[("content-type", "Text/HTML")], b"hi", true);
        check(&[("content-type", "application/json")], b"{}", true);
        check(&[("content-type", "application/problem+json")], b"{}", true);
        check(&[("content-type", "image/svg+xml")], b"<svg/>", true);
        check(&[("content-type", "application/yaml")], b"a: 1", true);
        check(&[("content-type", "image/png")], b"PNG", false);
        check(
            &[("content-type", "application/octet-stream")],
            b"abc",
            false,
        );
        check(
            &[("content-type", "text/plain"), ("content-encoding", "gzip")],
            b"abc",
            false,
        );
        check(
            &[
                ("content-type", "image/png"),
                ("x-lambda-http-content-encoding", "text"),
            ],
            b"abc",
            true,
        );
        check(&[], b"plain", true);
    }

    #[test]
    fn invalid_utf8_is_never_sent_as_text() {
        // decisions.md #6: upstream decodes these lossily, or as UTF-16 after FF FE.
        check(&[("content-type", "text/plain")], b"caf\xe9", false);
        check(&[], b"\xff\xfeh\0i\0", false);
    }

    #[test]
    fn base64_bodies_decode_back_to_the_same_bytes() {
        let body: Vec<u8> = (0..=255).collect();
        let mut out = Vec::new();
        push_body(&mut out, &headers(&[("content-type", "image/png")]), &body);
        let v: serde_json::Value =
            serde_json::from_slice(&[b"{", &out[..], b"}"].concat()).unwrap();
        assert_eq!(v["isBase64Encoded"], true);
        assert_eq!(decode_base64(v["body"].as_str().unwrap()).unwrap(), body);
    }

    #[test]
    fn request_bodies_accept_padded_unpadded_and_wrapped_base64() {
        for text in ["aGVsbG8=", "aGVsbG8", "aGVs\nbG8=", "aGVsbG8_"] {
            let raw = serde_json::to_string(text).unwrap();
            let raw = RawValue::from_string(raw).unwrap();
            let t = RawValue::from_string("true".into()).unwrap();
            let body = decode_request(Some(&raw), Some(&t)).unwrap();
            assert!(body.starts_with(b"hello"), "{text}: {body:?}");
        }
        let raw = RawValue::from_string("\"not base64!\"".into()).unwrap();
        let t = RawValue::from_string("true".into()).unwrap();
        let e = decode_request(Some(&raw), Some(&t)).unwrap_err();
        assert!(e.to_string().contains("`body`"), "{e}");
    }
}
