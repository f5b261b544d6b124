//! Event bytes -> the app's request (`event::decode`).
//!
//! Input: the invocation payload, optionally followed by 0xFF (never in
//! UTF-8, so never in a valid payload) and the Runtime API header values
//! `id 0xFF trace-id 0xFF client-context 0xFF identity 0xFF tenant-id`,
//! each kept only when it is visible ASCII, as `runtime.rs` reads them.
//! The fixtures in `tests/fixtures/` are the seeds.
//!
//! Properties, under two configurations: an error is `Adapter.InvalidEvent`;
//! a request is valid HTTP/1.1 once written by the adapter's client (see
//! `lambda_adapter_fuzz::check_request`); the source is the one the
//! contract's detection rule names (decisions.md #2); pass-through bodies are
//! the payload byte for byte; HTTP bodies are the event's text or its base64
//! decoded; method, path, query, headers and request context are the event's.

#![no_main]

use std::collections::HashSet;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lambda_adapter::config::Config;
use lambda_adapter::event::{self, Source};
use lambda_adapter::invocation::Invocation;
use lambda_adapter_fuzz::{check_request, configs, fields};
use libfuzzer_sys::fuzz_target;
use percent_encoding::percent_decode_str;
use serde_json::Value;
use ureq::http::{HeaderValue, Method, header};

fuzz_target!(|data: &[u8]| {
    let (payload, tail) = match data.iter().position(|&b| b == 0xff) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let mut tail = fields(tail, 0xff).map(|f| {
        HeaderValue::from_bytes(f)
            .ok()
            .and_then(|v| v.to_str().ok().map(str::to_owned))
    });
    let mut next = || tail.next().flatten();
    let inv = Invocation {
        id: next().unwrap_or_else(|| "8476a536-e9f4-11e8-9739-2dfe598c3fcd".into()),
        deadline_ms: Some(1_700_000_000_000),
        function_arn: "arn:aws:lambda:us-east-1:123456789012:function:fn".into(),
        trace_id: next(),
        client_context: next(),
        identity: next(),
        tenant_id: next(),
        payload: payload.to_vec(),
    };
    for cfg in configs() {
        check(&inv, cfg);
    }
});

fn check(inv: &Invocation, cfg: &Config) {
    let (source, req) = match event::decode(inv, cfg) {
        Ok(ok) => ok,
        Err(e) => {
            assert_eq!(e.error_type(), "Adapter.InvalidEvent", "{e}");
            return;
        }
    };
    check_request(&req);
    let h = &req.headers;
    if source == Source::PassThrough {
        assert_eq!(
            &*req.body,
            &inv.payload[..],
            "pass-through body is not the payload"
        );
    }
    let v: Value = match serde_json::from_slice(&inv.payload) {
        Ok(v) => v,
        // JSON allows 1e400; serde_json's Value does not (the adapter keeps
        // such numbers as they are), so the oracle below cannot run.
        Err(e) if e.to_string().starts_with("number out of range") => return,
        Err(e) => panic!("an accepted payload is not JSON: {e}"),
    };
    assert_eq!(source, expected_source(&v), "{v}");
    if let Ok(lambda) = serde_json::from_slice::<Value>(h["x-amzn-lambda-context"].as_bytes()) {
        assert_eq!(lambda["request_id"], inv.id.as_str());
    }
    // The Runtime API's values replace the event's own copies.
    for (name, value) in [
        ("x-amzn-trace-id", &inv.trace_id),
        ("x-amz-tenant-id", &inv.tenant_id),
    ] {
        if let Some(value) = value {
            let all: Vec<_> = h.get_all(name).iter().map(|v| v.as_bytes()).collect();
            assert_eq!(all, [value.as_bytes()], "{name}");
        }
    }
    if source == Source::PassThrough {
        assert_eq!(
            &*req.body,
            &inv.payload[..],
            "pass-through body is not the payload"
        );
        assert_eq!(req.method, Method::POST);
        assert_eq!(req.uri.path(), cfg.pass_through_path);
        assert_eq!(req.uri.query(), None);
        assert_eq!(h["content-type"], "application/json");
        assert_eq!(h["x-amzn-request-context"], "null");
        return;
    }
    // HTTP events.
    let context: Value = serde_json::from_slice(h["x-amzn-request-context"].as_bytes()).unwrap();
    assert_eq!(context, v["requestContext"], "request context changed");
    let method = match source {
        Source::ApiGwV2 => &v["requestContext"]["http"]["method"],
        _ => &v["httpMethod"],
    };
    assert_eq!(Some(req.method.as_str()), method.as_str());
    match v["body"].as_str() {
        None => assert!(req.body.is_empty()),
        Some(text) if v["isBase64Encoded"] == true => {
            if let Ok(bytes) = STANDARD.decode(text) {
                assert_eq!(&*req.body, &bytes[..], "base64 body");
            }
        }
        Some(text) => assert_eq!(&*req.body, text.as_bytes(), "text body"),
    }
    let path_field = if source == Source::ApiGwV2 {
        "rawPath"
    } else {
        "path"
    };
    let path = v[path_field]
        .as_str()
        .filter(|p| !p.is_empty())
        .unwrap_or("/");
    let path = event::remove_base_path(path, cfg.remove_base_path.as_deref());
    if !path.contains('%') {
        let sent = percent_decode_str(req.uri.path()).collect::<Vec<u8>>();
        let want = if path.starts_with('/') {
            path.to_owned()
        } else {
            format!("/{path}")
        };
        assert_eq!(sent, want.as_bytes(), "path");
    }
    if source == Source::ApiGwV2 {
        let raw = v["rawQueryString"].as_str().unwrap_or("");
        if !raw.contains('%') {
            let sent = percent_decode_str(req.uri.query().unwrap_or("")).collect::<Vec<u8>>();
            assert_eq!(sent, raw.as_bytes(), "query");
        }
        check_v2_headers(&v, &req.headers, cfg);
    }
}

/// decisions.md #2, restated on the parsed JSON.
/// A key is present when its value is not `null`.
fn expected_source(v: &Value) -> Source {
    let has = |v: &Value, key| !v.get(key).unwrap_or(&Value::Null).is_null();
    let authorizer = matches!(v["type"].as_str(), Some("REQUEST" | "TOKEN"))
        && (has(v, "methodArn") || has(v, "routeArn"));
    if authorizer || !has(v, "requestContext") {
        return Source::PassThrough;
    }
    let context = &v["requestContext"];
    if has(context, "connectionId") {
        Source::PassThrough
    } else if has(context, "http") {
        Source::ApiGwV2
    } else if has(context, "elb") {
        Source::Alb
    } else if has(v, "httpMethod") {
        Source::ApiGwV1
    } else {
        Source::PassThrough
    }
}

/// Every header of a 2.0 event reaches the app, except the ones the adapter
/// owns (framing, injected context) or moves (authorization source).
fn check_v2_headers(v: &Value, sent: &ureq::http::HeaderMap, cfg: &Config) {
    let mut owned: HashSet<&str> = [
        "content-length",
        "transfer-encoding",
        "x-amzn-request-context",
        "x-amzn-lambda-context",
        "x-amzn-trace-id",
        "x-amz-tenant-id",
        "host",
        "authorization",
    ]
    .into();
    if let Some(source) = &cfg.authorization_source {
        owned.insert(source.as_str());
    }
    if v["cookies"].as_array().is_some_and(|c| !c.is_empty()) {
        owned.insert("cookie");
    }
    let Some(headers) = v["headers"].as_object() else {
        return;
    };
    for (name, value) in headers {
        let lower = name.to_ascii_lowercase();
        let Some(value) = value.as_str() else {
            continue;
        };
        if owned.contains(lower.as_str()) {
            continue;
        }
        assert!(
            sent.get_all(&lower)
                .iter()
                .any(|s| s.as_bytes() == value.as_bytes()),
            "header {name}: {value:?} missing from {sent:?}"
        );
    }
    if let Some(cookies) = v["cookies"].as_array().filter(|c| !c.is_empty()) {
        let joined: Vec<&str> = cookies.iter().filter_map(Value::as_str).collect();
        assert_eq!(
            sent[header::COOKIE].as_bytes(),
            joined.join("; ").as_bytes()
        );
    }
}
