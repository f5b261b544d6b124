//! SnapStart's hooks around the snapshot, and upstream 1.1's lifecycle
//! settings: the readiness timeout, the app connection's idle limit,
//! provisioned concurrency.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::support::*;

/// A process that fails its start-up must be gone within this.
const EXIT: Duration = Duration::from_secs(10);

const SNAP_START: &[(&str, &str)] = &[
    ("AWS_LAMBDA_INITIALIZATION_TYPE", "snap-start"),
    ("AWS_LWA_SNAPSTART_BEFORE_CHECKPOINT_PATH", "/hooks/before"),
    ("AWS_LWA_SNAPSTART_AFTER_RESTORE_PATH", "/hooks/after"),
];

/// An app that answers the hook paths with the given statuses, everything else with an echo.
fn app_with_hooks(before: u16, after: u16) -> EchoApp {
    EchoApp::with(move |r| match r.path() {
        "/hooks/before" => (http_response(before, &[], b""), false),
        "/hooks/after" => (http_response(after, &[], b""), false),
        _ => (echo(r), false),
    })
}

fn paths(requests: &[Received]) -> Vec<String> {
    requests
        .iter()
        .map(|r| format!("{} {}", r.method, r.path()))
        .collect()
}

#[test]
fn snap_start_runs_the_hooks_around_the_snapshot() {
    let app = app_with_hooks(204, 200);
    let rt = MockRuntime::start();
    let mut env = SNAP_START.to_vec();
    env.push(("AWS_LWA_ASYNC_INIT", "true"));
    let adapter = spawn_adapter(&rt, app.port, &env);

    // Before the snapshot: the app is ready, then the before hook, then restore/next.
    rt.wait_for_call("GET /2018-06-01/runtime/restore/next");
    let before = app.drain();
    assert_eq!(paths(&before), ["GET /", "POST /hooks/before"]);
    let hook = &before[1];
    assert_eq!(hook.header("content-length"), Some("0"));
    assert!(hook.body.is_empty());
    assert!(!rt.called("/hooks"), "{:?}", rt.calls());
    assert!(!rt.called("invocation/next"), "{:?}", rt.calls());
    adapter.wait_for_log("AWS_LWA_ASYNC_INIT");

    // After the restore: the after hook on a new connection, readiness again, then invocations.
    rt.restore();
    rt.wait_for_call("GET /2018-06-01/runtime/invocation/next");
    let after = app.drain();
    assert_eq!(paths(&after), ["POST /hooks/after", "GET /"]);
    assert_eq!(
        after[0].nth_on_connection, 0,
        "a connection from before the snapshot was reused"
    );
    let out = rt
        .invoke(Event::json("first", &get_event("/x")))
        .expect_response();
    assert_eq!(out["statusCode"], 200, "{out}");

    // The hook paths are not reachable from outside.
    for path in ["/hooks/after", "/Hooks//before/"] {
        let out = rt
            .invoke(Event::json("hook", &get_event(path)))
            .expect_response();
        assert_eq!(out["statusCode"], 403, "{path}: {out}");
    }
    assert!(app.drain().iter().all(|r| !r.path().starts_with("/hooks")));
}

#[test]
fn a_failing_before_checkpoint_hook_is_an_init_error() {
    let app = app_with_hooks(500, 200);
    let rt = MockRuntime::start();
    let mut adapter = spawn_adapter(&rt, app.port, SNAP_START);
    let v = rt
        .outcome()
        .expect_error_kind("init/error", "Adapter.HookFailed");
    let message = v["errorMessage"].as_str().unwrap();
    assert!(
        message.contains("AWS_LWA_SNAPSTART_BEFORE_CHECKPOINT_PATH"),
        "{v}"
    );
    assert!(message.contains("500"), "{v}");
    assert_eq!(adapter.wait_exit_within(EXIT), Some(1));
    assert!(!rt.called("restore/next"), "{:?}", rt.calls());
}

#[test]
fn a_failing_after_restore_hook_is_a_restore_error() {
    let app = app_with_hooks(204, 503);
    let rt = MockRuntime::start();
    let mut adapter = spawn_adapter(&rt, app.port, SNAP_START);
    rt.wait_for_call("GET /2018-06-01/runtime/restore/next");
    rt.restore();
    let v = rt
        .outcome()
        .expect_error_kind("restore/error", "Adapter.HookFailed");
    assert!(v["errorMessage"].as_str().unwrap().contains("503"), "{v}");
    assert_eq!(adapter.wait_exit_within(EXIT), Some(1));
    assert!(!rt.called("invocation/next"), "{:?}", rt.calls());
}

#[test]
fn an_app_not_ready_after_the_restore_is_a_restore_error() {
    // Healthy before the snapshot, unhealthy (503) after it.
    let restored = Arc::new(AtomicBool::new(false));
    let flag = restored.clone();
    let app = EchoApp::with(move |r| match (r.path(), flag.load(Ordering::SeqCst)) {
        ("/", true) => (http_response(503, &[], b"not yet"), false),
        _ => (echo(r), false),
    });
    let rt = MockRuntime::start();
    let mut adapter = spawn_adapter(
        &rt,
        app.port,
        &[
            ("AWS_LAMBDA_INITIALIZATION_TYPE", "snap-start"),
            ("AWS_LWA_READINESS_CHECK_TIMEOUT_SECONDS", "0.3"),
        ],
    );
    rt.wait_for_call("GET /2018-06-01/runtime/restore/next");
    restored.store(true, Ordering::SeqCst);
    rt.restore();
    rt.outcome()
        .expect_error_kind("restore/error", "Adapter.AppTimeout");
    assert_eq!(adapter.wait_exit_within(EXIT), Some(1));
}

#[test]
fn without_snap_start_no_hook_is_called() {
    let app = app_with_hooks(204, 204);
    let rt = MockRuntime::start();
    let _adapter = spawn_adapter(&rt, app.port, &SNAP_START[1..]);
    rt.invoke(Event::json("plain", &get_event("/x")))
        .expect_response();
    assert!(!rt.called("restore"), "{:?}", rt.calls());
    assert!(app.drain().iter().all(|r| !r.path().starts_with("/hooks")));
}

#[test]
fn a_readiness_timeout_ends_the_wait_with_an_init_error() {
    let rt = MockRuntime::start();
    let mut adapter = spawn_adapter(
        &rt,
        free_port(),
        &[("AWS_LWA_READINESS_CHECK_TIMEOUT_SECONDS", "0.3")],
    );
    let v = rt
        .outcome()
        .expect_error_kind("init/error", "Adapter.AppTimeout");
    assert!(
        v["errorMessage"].as_str().unwrap().contains("not ready"),
        "{v}"
    );
    assert_eq!(adapter.wait_exit_within(EXIT), Some(1));
    assert!(!rt.called("invocation/next"), "{:?}", rt.calls());
}

#[test]
fn a_pool_idle_timeout_of_zero_opens_a_connection_per_request() {
    for (idle, reused) in [(None, true), (Some("0"), false)] {
        let app = EchoApp::start();
        let rt = MockRuntime::start();
        let env: Vec<_> = idle
            .map(|v| ("AWS_LWA_POOL_IDLE_TIMEOUT_SECONDS", v))
            .into_iter()
            .collect();
        let _adapter = spawn_adapter(&rt, app.port, &env);
        for i in 0..3 {
            rt.invoke(Event::json(&format!("r{i}"), &get_event("/x")))
                .expect_response();
        }
        let requests: Vec<_> = app
            .drain()
            .into_iter()
            .filter(|r| r.path() == "/x")
            .collect();
        assert_eq!(requests.len(), 3);
        let later_reused = requests[1..].iter().all(|r| r.nth_on_connection > 0);
        let all_fresh = requests.iter().all(|r| r.nth_on_connection == 0);
        assert_eq!((later_reused, all_fresh), (reused, !reused), "{idle:?}");
    }
}

#[test]
fn provisioned_concurrency_ignores_async_init() {
    let app = EchoApp::start();
    let rt = MockRuntime::start();
    let adapter = spawn_adapter(
        &rt,
        app.port,
        &[
            ("AWS_LAMBDA_INITIALIZATION_TYPE", "provisioned-concurrency"),
            ("AWS_LWA_ASYNC_INIT", "true"),
        ],
    );
    let line = adapter.wait_for_log("AWS_LWA_ASYNC_INIT");
    assert!(line.starts_with("[WARN"), "{line}");
    assert!(line.contains("provisioned-concurrency"), "{line}");
    rt.invoke(Event::json("pc", &get_event("/x")))
        .expect_response();
}
