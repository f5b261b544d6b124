//! The app's answer -> the Lambda result: buffered (`event::encode`) and
//! the streaming prelude (`event::prelude`).
//!
//! Input: byte 0 picks the source (REST, HTTP API, ALB single, ALB multi,
//! pass-through), bytes 1-2 the status (100 + big-endian u16 % 900), then
//! `name:value` header lines (any bytes, non-UTF-8 values included; lines
//! HTTP cannot carry are skipped, as the app's client never delivers them),
//! an empty line, and the body. Seeds: `scripts/fuzz.sh` wraps each fixture
//! as a JSON body.
//!
//! Properties: the result parses as JSON; the status and every header value
//! are there (repeated ones joined or listed as the shape says, `Set-Cookie`
//! in `cookies`, non-UTF-8 values read as ISO-8859-1); the body is the app's
//! exact bytes, as text or as base64 by the text-or-base64 rule; pass-through
//! results are the body when it is JSON text, else `null`. The prelude is
//! JSON without NUL bytes, with every header and cookie. Also: request
//! bodies in any base64 flavour Lambda or a client may send decode back
//! exactly (`event::body::decode_base64`).

#![no_main]

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use lambda_adapter::app::AppResponse;
use lambda_adapter::event::{self, Source, body};
use lambda_adapter_fuzz::{check_body, header_text, is_text};
use libfuzzer_sys::fuzz_target;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use ureq::http::{HeaderMap, HeaderName, HeaderValue, header};

const SOURCES: [Source; 4] = [
    Source::ApiGwV1,
    Source::ApiGwV2,
    Source::Alb,
    Source::PassThrough,
];

fuzz_target!(|data: &[u8]| {
    let [selector, hi, lo, rest @ ..] = data else {
        return;
    };
    let source = SOURCES[usize::from(*selector) % SOURCES.len()];
    let status = 100 + u16::from_be_bytes([*hi, *lo]) % 900;
    let (head, body) = match rest.windows(2).position(|w| w == b"\n\n") {
        Some(i) => (&rest[..i], &rest[i + 2..]),
        None => (rest, &[][..]),
    };
    let mut headers = HeaderMap::new();
    for line in head.split(|&b| b == b'\n') {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
        if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name), HeaderValue::from_bytes(value)) {
            headers.append(n, v);
        }
    }
    let resp = AppResponse {
        status,
        headers,
        body: body.to_vec(),
    };
    // A dirty output buffer, as a worker reuses one: encode must clear it.
    let mut out = b"left over from the previous invocation".to_vec();
    event::encode(source, &mut resp.clone(), &mut out).expect("a small answer always fits");
    // The grammar (RawValue): JSON allows numbers such as 1e400 that Value cannot hold.
    serde_json::from_slice::<&RawValue>(&out)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out)));
    check_shape(source, &out, &resp);
    check_prelude(&resp);
    check_base64_round_trips(body);
});

/// The streaming prelude: JSON with no NUL byte (8 NULs end it on the
/// wire), the status, a header with one value as a string and a repeated
/// one as an array, `Set-Cookie` in `cookies`, a default content type.
fn check_prelude(resp: &AppResponse) {
    let out = event::prelude(resp.status, &resp.headers);
    assert!(!out.contains(&0), "NUL in the prelude");
    let v: Value = serde_json::from_slice(&out)
        .unwrap_or_else(|e| panic!("prelude not JSON ({e}): {}", String::from_utf8_lossy(&out)));
    assert_eq!(v["statusCode"], resp.status);
    let h = &resp.headers;
    let mut want: serde_json::Map<String, Value> = h
        .keys()
        .filter(|n| *n != header::TRANSFER_ENCODING && *n != header::SET_COOKIE)
        .map(|n| {
            let values: Vec<String> = h.get_all(n).iter().map(header_text).collect();
            let value = match values.as_slice() {
                [one] => json!(one),
                _ => json!(values),
            };
            (n.as_str().to_owned(), value)
        })
        .collect();
    if !h.contains_key(header::CONTENT_TYPE) {
        want.insert("content-type".into(), json!("application/octet-stream"));
    }
    assert_eq!(v["headers"], Value::Object(want));
    let cookies: Vec<String> = h
        .get_all(header::SET_COOKIE)
        .iter()
        .map(header_text)
        .collect();
    assert_eq!(v["cookies"], json!(cookies));
}

fn check_shape(source: Source, out: &[u8], resp: &AppResponse) {
    if source == Source::PassThrough {
        let is_json = is_text(resp) && serde_json::from_slice::<&RawValue>(&resp.body).is_ok();
        let want: &[u8] = if is_json { &resp.body } else { b"null" };
        assert_eq!(out, want, "pass-through result");
        return;
    }
    // The HTTP shapes are the adapter's own JSON, with strings and a status only.
    let v: &Value = &serde_json::from_slice(out).expect("the HTTP shapes parse");
    assert_eq!(v["statusCode"], resp.status);
    check_body(v, resp);
    let h = &resp.headers;
    let names = || {
        h.keys()
            .filter(|n| *n != header::TRANSFER_ENCODING)
            .map(HeaderName::as_str)
    };
    let listed = |n: &str| -> Vec<String> { h.get_all(n).iter().map(header_text).collect() };
    let all_listed = || -> Value { names().map(|n| (n.to_owned(), json!(listed(n)))).collect() };
    let joined = |n: &str| listed(n).join(", ");
    match source {
        Source::ApiGwV1 => {
            assert_eq!(v["headers"], json!({}));
            assert_eq!(v["multiValueHeaders"], all_listed());
        }
        Source::ApiGwV2 => {
            let want: Value = names()
                .filter(|n| *n != "set-cookie")
                .map(|n| (n.to_owned(), json!(joined(n))))
                .collect();
            assert_eq!(v["headers"], want);
            assert_eq!(v["cookies"], json!(listed("set-cookie")));
        }
        Source::Alb => {
            // Both maps, as upstream: all values, and the single-value view.
            assert_eq!(v["multiValueHeaders"], all_listed());
            let want: Value = names()
                .map(|n| {
                    let value = match n {
                        "set-cookie" => listed(n).swap_remove(0),
                        _ => joined(n),
                    };
                    (n.to_owned(), json!(value))
                })
                .collect();
            assert_eq!(v["headers"], want);
        }
        Source::PassThrough => unreachable!(),
    }
    if source == Source::Alb {
        let description = v["statusDescription"].as_str().expect("statusDescription");
        assert!(
            description.starts_with(&format!("{} ", resp.status)),
            "{description}"
        );
    }
}

/// A request body in any base64 flavour comes back byte for byte.
fn check_base64_round_trips(bytes: &[u8]) {
    for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
        let text = engine.encode(bytes);
        assert_eq!(body::decode_base64(&text).as_deref(), Ok(bytes), "{text}");
        // MIME-style line breaks every 76 characters.
        let wrapped: Vec<&str> = text
            .as_bytes()
            .chunks(76)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        assert_eq!(
            body::decode_base64(&wrapped.join("\r\n")).as_deref(),
            Ok(bytes)
        );
    }
}
