//! `AWS_LAMBDA_MAX_CONCURRENCY` (Lambda Managed Instances): N workers, each
//! with its own `next` loop and connections.

use std::collections::HashSet;
use std::sync::{Arc, Barrier};

use serde_json::Value;

use crate::support::*;

#[test]
fn n_workers_serve_n_invocations_at_once_without_mixing_them() {
    // Each /slow request waits until four are in the app at the same time:
    // a sequential adapter would never finish the first one.
    let barrier = Arc::new(Barrier::new(4));
    let b = barrier.clone();
    let app = EchoApp::with(move |r| {
        if r.path().starts_with("/slow") {
            b.wait();
        }
        (echo(r), false)
    });
    let s = setup_with(app, &[("AWS_LAMBDA_MAX_CONCURRENCY", "4")]);
    s.rt.wait_for_calls("GET /2018-06-01/runtime/invocation/next", 4);
    for round in 0..3 {
        for i in 0..4 {
            s.rt.push(Event::json(
                &format!("r{round}-{i}"),
                &get_event(&format!("/slow/r{round}-{i}")),
            ));
        }
        let mut ids = HashSet::new();
        for _ in 0..4 {
            let out = s.rt.outcome();
            let result = out.expect_response();
            let echoed: Value = serde_json::from_str(result["body"].as_str().unwrap()).unwrap();
            // The answer posted for an id is the answer to that id's request.
            assert_eq!(echoed["target"], format!("/slow/{}", out.id));
            let context = echoed["headers"]
                .as_array()
                .unwrap()
                .iter()
                .find(|h| h[0] == "x-amzn-lambda-context")
                .unwrap();
            let context: Value = serde_json::from_str(context[1].as_str().unwrap()).unwrap();
            assert_eq!(context["request_id"], out.id);
            ids.insert(out.id);
        }
        assert_eq!(ids.len(), 4);
    }
}

#[test]
fn a_failing_invocation_does_not_stop_the_other_workers() {
    let s = setup(&[("AWS_LAMBDA_MAX_CONCURRENCY", "3")]);
    s.rt.wait_for_calls("GET /2018-06-01/runtime/invocation/next", 3);
    s.rt.push(Event::new("bad", "not json"));
    s.rt.push(Event::json("good1", &get_event("/a")));
    s.rt.push(Event::json("good2", &get_event("/b")));
    let mut outcomes: Vec<(String, String)> = (0..3)
        .map(|_| s.rt.outcome())
        .map(|o| (o.id, o.kind))
        .collect();
    outcomes.sort();
    assert_eq!(
        outcomes,
        [
            ("bad".into(), "error".into()),
            ("good1".into(), "response".into()),
            ("good2".into(), "response".into())
        ]
    );
    for i in 0..6 {
        s.rt.invoke(Event::json(&format!("more{i}"), &get_event("/more")))
            .expect_response();
    }
}

#[test]
fn workers_stream_at_once_too() {
    // Three streamed answers that each wait for the other two inside the app.
    let barrier = Arc::new(Barrier::new(3));
    let b = barrier.clone();
    let app = EchoApp::with(move |r| {
        if r.path().starts_with("/slow") {
            b.wait();
        }
        (echo(r), false)
    });
    let s = setup_with(
        app,
        &[
            ("AWS_LAMBDA_MAX_CONCURRENCY", "3"),
            ("AWS_LWA_INVOKE_MODE", "response_stream"),
        ],
    );
    s.rt.wait_for_calls("GET /2018-06-01/runtime/invocation/next", 3);
    for i in 0..3 {
        s.rt.push(Event::json(
            &format!("s{i}"),
            &get_event(&format!("/slow/s{i}")),
        ));
    }
    for _ in 0..3 {
        let out = s.rt.outcome();
        assert_eq!(
            out.request.header("lambda-runtime-function-response-mode"),
            Some("streaming")
        );
        let body = &out.request.body;
        let at = body.windows(8).position(|w| w == [0; 8]).unwrap();
        let echoed: Value = serde_json::from_slice(&body[at + 8..]).unwrap();
        assert_eq!(echoed["target"], format!("/slow/{}", out.id));
    }
}
