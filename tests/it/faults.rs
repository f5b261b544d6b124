//! Faults of the two peers: the Runtime API failing or answering oddly, and
//! the app refusing, resetting, hanging or talking garbage. Every invocation
//! still gets exactly one response or error, and the next one is served.

use serde_json::json;

use crate::support::*;

#[test]
fn next_failures_are_retried() {
    let s = setup(&[]);
    // The adapter is parked in `next` already: faults apply from its next call on.
    s.rt.invoke(Event::json("first", &get_event("/a")))
        .expect_response();
    s.rt.fault("next", Fault::Status(500));
    s.rt.fault("next", Fault::Status(429));
    s.rt.fault("next", Fault::Drop);
    s.rt.fault("next", Fault::Status(502));
    s.rt.invoke(Event::json("second", &get_event("/b")))
        .expect_response();
    // One `next` per invocation, four failed ones, and the one parked now.
    s.rt.wait_for_calls("GET /2018-06-01/runtime/invocation/next", 2 + 4 + 1);
    assert!(s.adapter.wait_for_log("runtime API next").contains("WARN"));
}

#[test]
fn a_truncated_event_gets_an_error_for_its_id() {
    let s = setup(&[]);
    // Set while the adapter is parked in its first `next`, so that it applies
    // to the second one; after an invocation, the adapter may or may not have
    // called `next` again yet.
    s.rt.fault("next", Fault::Truncate);
    s.rt.invoke(Event::json("first", &get_event("/a")))
        .expect_response();
    let v =
        s.rt.invoke(Event::json("cut", &get_event("/cut")))
            .expect_error("Adapter.InvalidEvent");
    assert!(
        v["errorMessage"]
            .as_str()
            .unwrap()
            .contains("could not read the event"),
        "{v}"
    );
    still_serves(&s, "after");
}

#[test]
fn response_posts_are_retried_and_413_becomes_an_error() {
    let s = setup(&[]);
    s.rt.fault("response", Fault::Status(500));
    s.rt.invoke(Event::json("retried", &get_event("/a")))
        .expect_response();
    s.rt.fault("response", Fault::Status(413));
    s.rt.invoke(Event::json("too-big", &get_event("/b")))
        .expect_error("Adapter.ResponseTooLarge");
    s.rt.fault("response", Fault::Status(410));
    s.rt.push(Event::json("gone", &get_event("/c")));
    still_serves(&s, "after");
    s.rt.fault("error", Fault::Drop);
    s.rt.invoke(Event::new("error-retried", "not json"))
        .expect_error("Adapter.InvalidEvent");
    still_serves(&s, "after2");
}

#[test]
fn an_app_that_went_away_gives_app_unreachable() {
    let app = EchoApp::start();
    let rt = MockRuntime::start();
    let port = app.port;
    // The app is ready; then the adapter is pointed at a port nothing serves by
    // making readiness succeed on one port and requests go to another.
    let dead = free_port();
    let _adapter = spawn_adapter(
        &rt,
        dead,
        &[("AWS_LWA_READINESS_CHECK_PORT", &port.to_string())],
    );
    rt.wait_for_call("GET /2018-06-01/runtime/invocation/next");
    let v = rt
        .invoke(Event::json("down", &get_event("/x")))
        .expect_error("Adapter.AppUnreachable");
    assert!(
        v["errorMessage"].as_str().unwrap().contains("AWS_LWA_PORT"),
        "{v}"
    );
    let v = rt
        .invoke(Event::json("down2", &get_event("/x")))
        .expect_error("Adapter.AppUnreachable");
    assert!(v["errorMessage"].is_string());
}

#[test]
fn an_app_that_resets_or_talks_garbage_gives_an_error() {
    let app = EchoApp::with(|r| match r.path() {
        "/garbage" => (b"this is not http\r\n\r\n".to_vec(), true),
        "/reset" => (Vec::new(), true),
        "/partial" => (
            b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly this".to_vec(),
            true,
        ),
        _ => (echo(r), false),
    });
    let s = setup_with(app, &[]);
    for path in ["/garbage", "/reset", "/partial"] {
        let v =
            s.rt.invoke(Event::json(&path[1..], &get_event(path)))
                .expect_error("Adapter.AppResponseInvalid");
        assert!(
            v["errorMessage"]
                .as_str()
                .unwrap()
                .contains("could not be read"),
            "{v}"
        );
        still_serves(&s, &format!("after-{}", &path[1..]));
    }
}

#[test]
fn a_hung_app_times_out_before_the_deadline() {
    // decisions.md #11
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let rx = std::sync::Mutex::new(rx);
    let app = EchoApp::with(move |r| {
        if r.path() == "/hang" {
            let _ = rx.lock().unwrap().recv(); // until the test ends
        }
        (echo(r), false)
    });
    let s = setup_with(app, &[]);
    let started = std::time::Instant::now();
    let v =
        s.rt.invoke(Event::json("hang", &get_event("/hang")).deadline_in(600))
            .expect_error("Adapter.AppTimeout");
    assert!(
        started.elapsed() < std::time::Duration::from_millis(600),
        "{:?}",
        started.elapsed()
    );
    assert!(
        v["errorMessage"].as_str().unwrap().contains("deadline"),
        "{v}"
    );
    // A deadline in the past (local emulators) means no deadline.
    let out = s.rt.invoke(
        Event::json("past", &get_event("/ok")).header("lambda-runtime-deadline-ms", "600000"),
    );
    out.expect_response();
    still_serves(&s, "after");
    drop(tx);
}

#[test]
fn an_app_closing_connections_after_each_response_is_fine() {
    let app = EchoApp::with(|r| {
        let mut out = echo(r);
        let head_end = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        out.splice(head_end..head_end, b"\r\nconnection: close".iter().copied());
        (out, true)
    });
    let s = setup_with(app, &[]);
    for i in 0..20 {
        s.rt.invoke(Event::json(&format!("c{i}"), &get_event("/c")))
            .expect_response();
    }
}

#[test]
fn a_stale_pooled_connection_is_retried_once() {
    // decisions.md #12: the app closes a kept-alive connection just as the
    // next request arrives on it (its idle timer fired), without answering.
    // That request never reached the app's code: it is retried on a new connection.
    let app = EchoApp::with(|r| {
        if r.nth_on_connection > 0 {
            (Vec::new(), true)
        } else {
            (echo(r), false)
        }
    });
    let s = setup_with(app, &[]);
    for i in 0..5 {
        s.rt.invoke(Event::json(&format!("s{i}"), &get_event("/stale")))
            .expect_response();
    }
    // Each invocation: one closed attempt, one answered retry.
    let seen: Vec<usize> = s
        .app
        .drain()
        .iter()
        .filter(|r| r.path() == "/stale")
        .map(|r| r.nth_on_connection)
        .collect();
    assert_eq!(seen, [1, 0, 1, 0, 1, 0, 1, 0, 1, 0]);
}

#[test]
fn a_fresh_connection_that_fails_is_not_retried() {
    // The request may have been processed: sending it again could do it twice.
    let app = EchoApp::with(|r| match r.path() {
        "/then-close" => (http_response(200, &[("connection", "close")], b"bye"), true),
        "/crash" => (Vec::new(), true),
        _ => (echo(r), false),
    });
    let s = setup_with(app, &[]);
    s.rt.invoke(Event::json("close", &get_event("/then-close")))
        .expect_response();
    let post = json!({"version": "2.0", "rawPath": "/crash", "body": "pay once",
        "requestContext": {"http": {"method": "POST", "path": "/crash"}}});
    s.rt.invoke(Event::json("crash", &post))
        .expect_error("Adapter.AppResponseInvalid");
    let crashes = s
        .app
        .drain()
        .iter()
        .filter(|r| r.path() == "/crash")
        .count();
    assert_eq!(crashes, 1);
    still_serves(&s, "after");
}

#[test]
fn keep_alive_connections_are_reused() {
    let s = setup(&[]);
    for i in 0..20 {
        s.rt.invoke(Event::json(&format!("k{i}"), &get_event("/k")))
            .expect_response();
    }
    // One connection for the readiness probe and every invocation.
    assert_eq!(s.app.connections(), 1);
    // Runtime API: registration + parked extension `next`, and one for the loop.
    assert!(s.rt.connections() <= 3, "{}", s.rt.connections());
}

#[test]
fn a_short_deadline_does_not_cut_a_later_longer_one() {
    // The kept app connection's read timeout, set for an invocation with
    // little time left, must not fire before a later invocation's own
    // (longer) deadline.
    let app = EchoApp::with(|r| {
        if r.path() == "/slow" {
            std::thread::sleep(std::time::Duration::from_millis(600)); // a slow app
        }
        (echo(r), false)
    });
    let s = setup_with(app, &[]);
    s.rt.invoke(Event::json("quick", &get_event("/quick")).deadline_in(400))
        .expect_response();
    let out =
        s.rt.invoke(Event::json("slow", &get_event("/slow")).deadline_in(10_000))
            .expect_response();
    assert_eq!(out["statusCode"], 200, "{out}");
    let slow = s.app.request_to("/slow");
    assert!(slow.nth_on_connection > 0, "not on the kept connection");
}
