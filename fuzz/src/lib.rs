//! Properties the fuzz targets assert, written independently of the code
//! under test where that is possible: what a request the app can receive
//! looks like on the wire, and what Lambda can read back.
//!
//! `wire()` serialises a request with ureq-proto, the HTTP/1.1 writer the
//! adapter's client uses, without any I/O; `check_wire()` parses those bytes
//! again with httparse, as an app server would.

use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lambda_adapter::app::{AppRequest, AppResponse};
use lambda_adapter::config::Config;
use serde_json::Value;
use serde_json::value::RawValue;
use ureq::http::{HeaderMap, HeaderValue, Method, header};
use ureq_proto::client::Call;

/// A configuration from `NAME=value` pairs, on top of the Runtime API address.
pub fn config(vars: &[(&str, &str)]) -> Config {
    let lookup = |k: &str| {
        vars.iter()
            .chain(&[("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001")])
            .find(|(n, _)| *n == k)
            .map(|(_, v)| *v)
    };
    Config::from_lookup(lookup).expect("BUG: the fuzz configurations are valid")
}

/// The default configuration, and one with every request-shaping option set.
pub fn configs() -> &'static [Config; 2] {
    static CONFIGS: OnceLock<[Config; 2]> = OnceLock::new();
    CONFIGS.get_or_init(|| {
        [
            config(&[("AWS_LAMBDA_FUNCTION_NAME", "fn")]),
            config(&[
                ("AWS_LWA_HOST", "[::1]"),
                ("AWS_LWA_PORT", "3000"),
                ("AWS_LWA_REMOVE_BASE_PATH", "/api"),
                ("AWS_LWA_PASS_THROUGH_PATH", "/in/events"),
                ("AWS_LWA_AUTHORIZATION_SOURCE", "x-token"),
                ("AWS_LAMBDA_FUNCTION_NAME", "fn-2"),
                ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512"),
            ]),
        ]
    })
}

/// The request head exactly as the adapter's HTTP client writes it.
///
/// Panics when ureq-proto refuses the request: the app would never get it,
/// and the invocation would fail although its event was accepted.
pub fn wire(req: &AppRequest<'_>) -> Vec<u8> {
    let r = lambda_adapter::app::request(
        req.method.clone(),
        req.uri.clone(),
        req.headers.clone(),
        req.body.len(),
    );
    let mut call = Call::new(r).expect("ureq-proto refuses the request");
    // As `transport::Conn::send` prepares it.
    call.allow_non_standard_methods(true);
    if !req.body.is_empty() {
        call.force_send_body();
    }
    let mut call = call.proceed();
    let head_size: usize = req
        .headers
        .iter()
        .map(|(n, v)| n.as_str().len() + v.len() + 4)
        .sum::<usize>()
        + req.method.as_str().len()
        + req.uri.to_string().len()
        + 256;
    let mut out = vec![0; head_size];
    let n = call
        .write(&mut out)
        .unwrap_or_else(|e| panic!("ureq-proto cannot write the request: {e}; {req:?}"));
    assert!(
        call.can_proceed(),
        "the head did not fit in {head_size} bytes: {:?}",
        String::from_utf8_lossy(&out[..n])
    );
    out.truncate(n);
    out
}

/// Checks that `head` is one valid HTTP/1.1 request head carrying `req`.
pub fn check_wire(head: &[u8], req: &AppRequest<'_>) {
    // Every line ends in CRLF; no other CR, LF or NUL anywhere.
    assert!(head.ends_with(b"\r\n\r\n"), "{head:?}");
    for (i, &b) in head.iter().enumerate() {
        match b {
            b'\r' => assert_eq!(head.get(i + 1), Some(&b'\n'), "bare CR at {i}"),
            b'\n' => assert_eq!(head[i - 1], b'\r', "bare LF at {i}"),
            0 => panic!("NUL at {i}: {:?}", String::from_utf8_lossy(head)),
            _ => {}
        }
    }
    let lines = head.windows(2).filter(|w| w == b"\r\n").count();
    let mut parsed = vec![httparse::EMPTY_HEADER; lines];
    let mut p = httparse::Request::new(&mut parsed);
    let status = p
        .parse(head)
        .unwrap_or_else(|e| panic!("{e}: {:?}", String::from_utf8_lossy(head)));
    assert_eq!(status, httparse::Status::Complete(head.len()));
    assert_eq!(p.version, Some(1));
    assert_eq!(p.method, Some(req.method.as_str()));
    let target = req.uri.path_and_query().expect("a path").as_str();
    assert_eq!(p.path, Some(target));
    check_target(target);
    // The headers the app sees: the request's, in order, then what ureq-proto adds.
    let got: Vec<(&str, &[u8])> = p.headers.iter().map(|h| (h.name, h.value)).collect();
    let mut want: Vec<(&str, &[u8])> = req
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_bytes()))
        .collect();
    // ureq-proto's Host from the URI: the port only when it is not 80.
    let authority = req.uri.authority().expect("an authority");
    let host = match authority.port_u16() {
        Some(80) | None => authority.host().to_owned(),
        Some(port) => format!("{}:{port}", authority.host()),
    };
    if !req.headers.contains_key(header::HOST) {
        want.insert(0, ("host", host.as_bytes()));
    }
    // The body's length, when the adapter sends one (`app::request`).
    let length = req.body.len().to_string();
    let sends_length =
        !req.body.is_empty() || matches!(req.method.as_str(), "POST" | "PUT" | "PATCH");
    let with_length = match sends_length {
        true => [want.clone(), vec![("content-length", length.as_bytes())]].concat(),
        false => want.clone(),
    };
    let trimmed = |v: &[(&str, &[u8])]| -> Vec<(String, Vec<u8>)> {
        v.iter()
            .map(|(n, v)| (n.to_ascii_lowercase(), v.trim_ascii().to_vec()))
            .collect()
    };
    let got = trimmed(&got);
    let mut got_sorted = got.clone();
    got_sorted.sort();
    let mut want_sorted = trimmed(&with_length);
    want_sorted.sort();
    assert_eq!(
        got_sorted,
        want_sorted,
        "head: {:?}",
        String::from_utf8_lossy(head)
    );
    assert_eq!(
        got.iter().filter(|(n, _)| n == "host").count(),
        1,
        "exactly one Host"
    );
    assert_eq!(
        got.iter().filter(|(n, _)| n == "content-length").count(),
        usize::from(sends_length),
        "one Content-Length, the real one, when the request carries a body"
    );
    assert!(!got.iter().any(|(n, _)| n == "transfer-encoding"));
}

/// A request target: origin form, visible ASCII only, and it parses back to itself.
pub fn check_target(target: &str) {
    assert!(target.starts_with('/'), "{target:?}");
    assert!(
        target.bytes().all(|b| b.is_ascii_graphic()),
        "a byte a request line cannot carry: {target:?}"
    );
    assert!(!target.contains('#'), "{target:?}");
    let back: ureq::http::uri::PathAndQuery = target.parse().expect("the target parses");
    assert_eq!(back.as_str(), target);
}

/// Header names and values that HTTP/1.1 can carry; the injected headers hold JSON.
pub fn check_headers(headers: &HeaderMap) {
    for (name, value) in headers {
        assert!(
            name.as_str()
                .bytes()
                .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b)),
            "{name:?}"
        );
        assert!(
            value
                .as_bytes()
                .iter()
                .all(|&b| b == b'\t' || (b' '..=b'~').contains(&b) || b >= 0x80),
            "{name}: {value:?}"
        );
    }
    for name in ["x-amzn-request-context", "x-amzn-lambda-context"] {
        let all: Vec<&HeaderValue> = headers.get_all(name).iter().collect();
        assert_eq!(all.len(), 1, "{name}");
        // RawValue checks the grammar only: JSON allows numbers like 1e400.
        serde_json::from_slice::<&RawValue>(all[0].as_bytes())
            .unwrap_or_else(|e| panic!("{name} is not JSON ({e}): {:?}", all[0]));
    }
    assert!(!headers.contains_key(header::CONTENT_LENGTH));
    assert!(!headers.contains_key(header::TRANSFER_ENCODING));
}

/// Everything about a request that does not depend on the event's shape.
pub fn check_request(req: &AppRequest<'_>) {
    assert!(
        req.method
            .as_str()
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)),
        "{:?}",
        req.method
    );
    check_headers(&req.headers);
    assert_ne!(
        req.method,
        Method::CONNECT,
        "decode refuses CONNECT: it has no path to forward"
    );
    check_wire(&wire(req), req);
}

/// A header value as the response shapes must carry it: UTF-8, else ISO-8859-1.
pub fn header_text(v: &HeaderValue) -> String {
    match std::str::from_utf8(v.as_bytes()) {
        Ok(s) => s.to_owned(),
        Err(_) => v.as_bytes().iter().map(|&b| char::from(b)).collect(),
    }
}

/// Checks `"body"` and `"isBase64Encoded"` of a Lambda result against the app's bytes.
pub fn check_body(out: &Value, resp: &AppResponse) {
    let body = out["body"].as_str().expect("body is a string");
    match out["isBase64Encoded"].as_bool().expect("isBase64Encoded") {
        true => {
            let decoded = STANDARD.decode(body).expect("canonical base64");
            assert_eq!(
                decoded, resp.body,
                "base64 body differs from the app's bytes"
            );
        }
        false => assert_eq!(body.as_bytes(), &resp.body[..], "text body differs"),
    }
    assert_eq!(
        out["isBase64Encoded"] == false,
        is_text(resp),
        "text-or-base64 rule: {:?}",
        resp.headers
    );
}

/// decisions.md "text or base64", restated: no `Content-Encoding`, a textual
/// or absent type or the app's `x-lambda-http-content-encoding: text`, and
/// valid UTF-8.
pub fn is_text(resp: &AppResponse) -> bool {
    let h = &resp.headers;
    if h.contains_key(header::CONTENT_ENCODING) {
        return false;
    }
    let textual = match h.get(header::CONTENT_TYPE) {
        None => true,
        Some(ct) => ct.to_str().is_ok_and(|ct| {
            let media = ct.split(';').next().unwrap().trim().to_ascii_lowercase();
            media.starts_with("text/")
                || [
                    "application/json",
                    "application/javascript",
                    "application/xml",
                    "application/yaml",
                ]
                .contains(&media.as_str())
                || ["+json", "+xml", "+yaml"]
                    .iter()
                    .any(|s| media.ends_with(s))
        }),
    };
    let marked = h
        .get("x-lambda-http-content-encoding")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"text"));
    (textual || marked) && std::str::from_utf8(&resp.body).is_ok()
}

/// Splits `data` at every `sep`.
pub fn fields(data: &[u8], sep: u8) -> impl Iterator<Item = &[u8]> {
    data.split(move |&b| b == sep)
}
