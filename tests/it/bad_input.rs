//! Bad input never stops the adapter (decisions.md #1-#3, #7): each case
//! gets exactly one response or one error with a documented type, and the
//! next invocation is served normally.

use serde_json::{Value, json};

use crate::support::*;

#[test]
fn malformed_http_events_get_an_error_naming_the_field() {
    let s = setup(&[]);
    for (name, field) in [
        ("malformed-v2-no-method.json", "requestContext.http.method"),
        ("malformed-v1-bad-method.json", "httpMethod"),
        ("malformed-v1-context-not-object.json", "requestContext"),
        ("malformed-header-crlf.json", "headers."),
        ("malformed-bad-base64.json", "body"),
        ("malformed-alb-no-method.json", "httpMethod"),
        ("malformed-headers-not-object.json", "headers"),
    ] {
        let v =
            s.rt.invoke(Event::new(name, fixture(name)))
                .expect_error("Adapter.InvalidEvent");
        let message = v["errorMessage"].as_str().unwrap();
        assert!(message.contains(&format!("`{field}")), "{name}: {message}");
        still_serves(&s, &format!("after-{name}"));
    }
    // None of them reached the app.
    assert!(s.app.drain().iter().all(|r| r.path() == "/after"));
}

#[test]
fn invalid_json_gets_an_error() {
    let s = setup(&[]);
    for (i, payload) in [
        &b"{\"truncated\":"[..],
        b"",
        b"plain text",
        b"\xef\xbb\xbf{}",
        b"{\"a\":\"\xff\"}",
    ]
    .iter()
    .enumerate()
    {
        let v =
            s.rt.invoke(Event::new(&format!("bad{i}"), *payload))
                .expect_error("Adapter.InvalidEvent");
        assert!(
            v["errorMessage"]
                .as_str()
                .unwrap()
                .contains("not valid JSON"),
            "{v}"
        );
        still_serves(&s, &format!("ok{i}"));
    }
}

#[test]
fn json_of_no_known_shape_passes_through() {
    let s = setup(&[]);
    let v =
        s.rt.invoke(Event::new("odd", r#"{"something":["else"]}"#))
            .expect_response();
    assert_eq!(v["target"], "/events");
    still_serves(&s, "after");
}

#[test]
fn odd_but_servable_events_are_served() {
    let s = setup(&[]);
    // decisions.md #1: upstream panics on each of these.
    let (out, seen) = (
        s.rt.invoke(Event::new("q", fixture("odd-v2-raw-query.json"))),
        s.app.request(),
    );
    out.expect_response();
    assert!(
        !seen.target.contains(' ') && !seen.target.contains('"') && !seen.target.contains('<'),
        "{}",
        seen.target
    );
    assert!(
        seen.target.contains("%20") && seen.target.contains("%3C"),
        "{}",
        seen.target
    );
    let (out, seen) = (
        s.rt.invoke(Event::new("host", fixture("odd-host.json"))),
        s.app.request(),
    );
    out.expect_response();
    assert_eq!(seen.header("host"), Some("bad host{}.example.com"));
    let (out, seen) = (
        s.rt.invoke(Event::new("del", fixture("odd-context-del.json"))),
        s.app.request(),
    );
    out.expect_response();
    let context: Value =
        serde_json::from_str(seen.header("x-amzn-request-context").unwrap()).unwrap();
    assert_eq!(context["http"]["path"], "/scan\u{7f}");
    let (out, seen) = (
        s.rt.invoke(Event::new("b64", fixture("odd-unpadded-base64.json"))),
        s.app.request(),
    );
    out.expect_response();
    assert_eq!(seen.body, b"hello");
    // decisions.md #7: the event's content-length is not trusted.
    let (out, seen) = (
        s.rt.invoke(Event::new("len", fixture("odd-wrong-content-length.json"))),
        s.app.request(),
    );
    out.expect_response();
    assert_eq!(seen.body, b"hi");
    assert_eq!(seen.all("content-length"), ["2"]);
    still_serves(&s, "after");
}

#[test]
fn big_headers_many_headers_and_big_bodies() {
    let s = setup(&[]);
    let big = "v".repeat(128 * 1024);
    let mut e = get_event("/big");
    e["headers"]["x-big"] = big.clone().into();
    let out = s.rt.invoke(Event::json("big-header", &e));
    out.expect_response();
    assert_eq!(
        s.app.request().header("x-big").map(str::len),
        Some(big.len())
    );

    let mut e = get_event("/many");
    for i in 0..1000 {
        e["headers"][format!("x-h{i}")] = i.to_string().into();
    }
    s.rt.invoke(Event::json("many", &e)).expect_response();
    let seen = s.app.request();
    assert_eq!(
        seen.headers
            .iter()
            .filter(|(n, _)| n.starts_with("x-h"))
            .count(),
        1000
    );

    let body = "b".repeat(6 * 1024 * 1024);
    let mut e = get_event("/body");
    e["body"] = body.clone().into();
    e["requestContext"]["http"]["method"] = "POST".into();
    let out = s.rt.invoke(Event::json("big-body", &e)).expect_response();
    assert_eq!(out["statusCode"], 200);
    let seen = s.app.request();
    assert_eq!(seen.body.len(), body.len());
    assert_eq!(
        seen.header("content-length"),
        Some(body.len().to_string().as_str())
    );
    still_serves(&s, "after");
}

#[test]
fn a_non_utf8_response_header_is_kept() {
    // decisions.md #1: upstream exits on this, losing the invocation.
    let app = EchoApp::with(|r| {
        if r.path() == "/latin1" {
            let mut raw = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-disposition: attachment; filename=\"caf".to_vec();
            raw.extend_from_slice(b"\xe9.txt\"\r\ncontent-length: 2\r\n\r\nok");
            (raw, false)
        } else {
            (echo(r), false)
        }
    });
    let s = setup_with(app, &[]);
    let out =
        s.rt.invoke(Event::json("latin1", &get_event("/latin1")))
            .expect_response();
    assert_eq!(
        out["headers"]["content-disposition"],
        "attachment; filename=\"café.txt\""
    );
    assert_eq!(out["body"], "ok");
    still_serves(&s, "after");
}

#[test]
fn a_response_over_the_buffered_limit_is_a_clear_error() {
    let app = EchoApp::with(|r| {
        if r.path() == "/huge" {
            (
                http_response(
                    200,
                    &[("content-type", "application/octet-stream")],
                    &vec![7u8; 7 * 1024 * 1024],
                ),
                false,
            )
        } else {
            (echo(r), false)
        }
    });
    let s = setup_with(app, &[]);
    let v =
        s.rt.invoke(Event::json("huge", &get_event("/huge")))
            .expect_error("Adapter.ResponseTooLarge");
    assert!(
        v["errorMessage"]
            .as_str()
            .unwrap()
            .contains("response_stream"),
        "{v}"
    );
    still_serves(&s, "after");
}

#[test]
fn error_status_codes_fail_the_invocation_with_the_body() {
    let app = EchoApp::with(|r| match r.path() {
        "/boom" => (
            http_response(
                503,
                &[("content-type", "text/plain")],
                b"down for \"maintenance\"",
            ),
            false,
        ),
        "/missing" => (http_response(404, &[], b"nope"), false),
        _ => (echo(r), false),
    });
    let s = setup_with(app, &[("AWS_LWA_ERROR_STATUS_CODES", "500-599")]);
    let v =
        s.rt.invoke(Event::json("boom", &get_event("/boom")))
            .expect_error("Adapter.ErrorStatus");
    let message: Value = serde_json::from_str(v["errorMessage"].as_str().unwrap()).unwrap();
    assert_eq!(
        message,
        json!({"statusCode": 503, "body": "down for \"maintenance\""})
    );
    // Not in the list: a normal response.
    let out =
        s.rt.invoke(Event::json("missing", &get_event("/missing")))
            .expect_response();
    assert_eq!(out["statusCode"], 404);
    // Pass-through events too (SQS batches are retried this way).
    s.rt.invoke(Event::new("sqs", fixture("sqs.json")))
        .expect_response();
    still_serves(&s, "after");
}
