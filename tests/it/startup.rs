//! Start-up: order of the calls, readiness, configuration errors, logs.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use crate::support::*;

#[test]
fn registers_then_waits_for_readiness_then_polls() {
    let app = EchoApp::start();
    let rt = MockRuntime::start();
    let adapter = spawn_adapter(
        &rt,
        app.port,
        &[("AWS_LWA_READINESS_CHECK_PATH", "/healthz")],
    );
    let calls = rt.wait_for_call("GET /2018-06-01/runtime/invocation/next");
    let register = calls
        .iter()
        .position(|c| c == "POST /2020-01-01/extension/register");
    assert_eq!(register, Some(0), "{calls:?}");
    // The readiness probe reached the app before the first `next`.
    let probe = app.request();
    assert_eq!(
        (probe.method.as_str(), probe.target.as_str()),
        ("GET", "/healthz")
    );
    assert_eq!(probe.header("user-agent"), None);
    // The extension parks its own `next`.
    rt.wait_for_call("GET /2020-01-01/extension/event/next");
    adapter.wait_for_log("app ready after");
    // And the adapter serves.
    let out = rt
        .invoke(Event::json("r1", &get_event("/hello")))
        .expect_response();
    assert_eq!(out["statusCode"], 200);
}

#[test]
fn waits_for_an_app_that_starts_late() {
    // First a listener that accepts and hangs up: not ready. Once the adapter
    // has tried it three times, the real app takes over the same port.
    let first = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = first.local_addr().unwrap().port();
    let rt = MockRuntime::start();
    let _adapter = spawn_adapter(&rt, port, &[]);
    for _ in 0..3 {
        let (s, _) = first.accept().unwrap();
        drop(s);
    }
    assert!(
        !rt.called("invocation/next"),
        "polled before the app was ready"
    );
    drop(first);
    let app = EchoApp::on(
        TcpListener::bind(("127.0.0.1", port)).unwrap(),
        Arc::new(|r: &Received| (echo(r), false)),
    );
    rt.wait_for_call("GET /2018-06-01/runtime/invocation/next");
    assert_eq!(app.request().target, "/");
    let out = rt
        .invoke(Event::json("r1", &get_event("/late")))
        .expect_response();
    assert_eq!(out["statusCode"], 200);
}

#[test]
fn unhealthy_statuses_are_not_ready() {
    let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let c = count.clone();
    let app = EchoApp::with(move |r| {
        if r.path() == "/" && c.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < 3 {
            (http_response(503, &[], b"starting"), false)
        } else {
            (echo(r), false)
        }
    });
    let rt = MockRuntime::start();
    let _adapter = spawn_adapter(&rt, app.port, &[]);
    for _ in 0..3 {
        assert_eq!(app.request().target, "/");
        assert!(
            !rt.called("invocation/next"),
            "polled while the app answered 503"
        );
    }
    rt.wait_for_call("GET /2018-06-01/runtime/invocation/next");
    assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 4);
}

#[test]
fn the_healthy_status_set_is_configurable() {
    // 404 is healthy by default (100-499), but not with 200-299.
    let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let c = count.clone();
    let app = EchoApp::with(move |r| {
        if c.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < 2 {
            (http_response(404, &[], b""), false)
        } else {
            (echo(r), false)
        }
    });
    let rt = MockRuntime::start();
    let _adapter = spawn_adapter(
        &rt,
        app.port,
        &[("AWS_LWA_READINESS_CHECK_HEALTHY_STATUS", "200-299")],
    );
    rt.wait_for_call("GET /2018-06-01/runtime/invocation/next");
    assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 3);
}

#[test]
fn tcp_readiness_needs_only_a_listening_port() {
    // This app never answers HTTP; a TCP probe is satisfied by the connection.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let rt = MockRuntime::start();
    let _adapter = spawn_adapter(&rt, port, &[("AWS_LWA_READINESS_CHECK_PROTOCOL", "tcp")]);
    rt.wait_for_call("GET /2018-06-01/runtime/invocation/next");
    drop(listener);
}

#[test]
fn a_probe_that_hangs_is_abandoned_and_retried() {
    // The first connection is accepted and never answered; the second gets an answer.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let rt = MockRuntime::start();
    let _adapter = spawn_adapter(&rt, port, &[]);
    let (hung, _) = listener.accept().unwrap();
    let app = EchoApp::on(listener, Arc::new(|r: &Received| (echo(r), false)));
    rt.wait_for_call("GET /2018-06-01/runtime/invocation/next");
    assert_eq!(app.request().target, "/");
    drop(hung);
}

#[test]
fn configuration_errors_reach_init_error_and_exit_non_zero() {
    // decisions.md #9
    let app = EchoApp::start();
    for (var, value) in [
        ("AWS_LWA_PORT", "eighty"),
        ("AWS_LWA_READINESS_CHECK_PATH", "health"),
        ("AWS_LWA_ASYNC_INIT", "sometimes"),
        ("AWS_LWA_ERROR_STATUS_CODES", "none"),
        ("AWS_LWA_LAMBDA_RUNTIME_API_PROXY", "https://proxy:1"),
    ] {
        let rt = MockRuntime::start();
        let mut adapter = spawn_adapter(&rt, app.port, &[(var, value)]);
        let out = rt.outcome();
        assert_eq!(out.kind, "init/error", "{var}");
        let v = out.expect_error_kind("init/error", "Adapter.InvalidConfig");
        let message = v["errorMessage"].as_str().unwrap();
        assert!(
            message.contains(var) && message.contains(value),
            "{message}"
        );
        assert_eq!(adapter.wait_exit(), Some(1), "{var}");
        adapter.wait_for_log(var);
    }
}

/// How long an init error may hold the exit: the post's 2 s in all, plus
/// start-up and exit on a busy machine.
pub const INIT_ERROR_EXIT: Duration = Duration::from_secs(5);

#[test]
fn an_init_error_is_logged_first_and_its_post_is_bounded() {
    // decisions.md #17: cargo-lambda 1.9.2 accepts the post and never answers;
    // a Runtime API may also answer 5xx to every attempt.
    for fault in [Fault::Hang, Fault::Status(500)] {
        let rt = MockRuntime::start();
        rt.fault_always("init/error", fault.clone());
        let mut adapter = spawn_adapter(&rt, free_port(), &[("AWS_LWA_PORT", "abc")]);
        assert_eq!(
            adapter.wait_exit_within(INIT_ERROR_EXIT),
            Some(1),
            "{fault:?}"
        );
        rt.wait_for_call("POST /2018-06-01/runtime/init/error");
        let log = adapter.log_text();
        let first = log.lines().next().unwrap_or_default();
        assert!(
            first.starts_with("[ERROR lambda_adapter] configuration: AWS_LWA_PORT=\"abc\""),
            "{fault:?}: {log}"
        );
        adapter.wait_for_log("could not report the init error");
    }
}

#[test]
fn without_a_runtime_api_it_explains_and_exits() {
    let mut adapter = spawn_with(&[], &[]);
    assert_eq!(adapter.wait_exit(), Some(1));
    let line = adapter.wait_for_log("AWS_LAMBDA_RUNTIME_API");
    assert!(
        line.starts_with("[ERROR lambda_adapter] configuration: AWS_LAMBDA_RUNTIME_API is not set"),
        "{line}"
    );
}

#[test]
fn api_calls_carry_the_host_and_only_runtime_calls_a_user_agent() {
    let app = EchoApp::start();
    let rt = MockRuntime::with_base("/.rt/fn");
    let _adapter = spawn_adapter(&rt, app.port, &[]);
    rt.wait_for_call("GET /2018-06-01/runtime/invocation/next");
    rt.wait_for_call("GET /2020-01-01/extension/event/next");
    let probe = app.request();
    assert_eq!(
        probe.header("host"),
        Some(format!("127.0.0.1:{}", app.port).as_str())
    );
    let heads = rt.heads();
    assert_eq!(heads.len(), 3, "{heads:?}");
    for head in heads {
        // Origin form, under the base path; the address goes in `Host`.
        assert!(head.target.starts_with("/.rt/fn/20"), "{head:?}");
        assert_eq!(head.header("host"), Some(rt.addr.as_str()), "{head:?}");
        // As upstream: its runtime client names itself, its extension does not.
        let agent = head.header("user-agent");
        match head.target.contains("/runtime/") {
            true => assert!(agent.unwrap().starts_with("lambda-adapter/"), "{head:?}"),
            false => assert_eq!(agent, None, "{head:?}"),
        }
    }
}

#[test]
fn the_runtime_api_may_carry_a_scheme_and_a_base_path() {
    // decisions.md #15: local emulators print http://127.0.0.1:9000/.rt/fn.
    let app = EchoApp::start();
    let rt = MockRuntime::with_base("/.rt/fn");
    let _adapter = spawn_adapter(&rt, app.port, &[]);
    let calls = rt.wait_for_call("GET /2018-06-01/runtime/invocation/next");
    assert!(
        calls.contains(&"POST /2020-01-01/extension/register".to_owned()),
        "{calls:?}"
    );
    let out = rt
        .invoke(Event::json("r1", &get_event("/x")))
        .expect_response();
    assert_eq!(out["statusCode"], 200);
}

#[test]
fn the_runtime_api_proxy_applies_to_the_runtime_api_only() {
    let app = EchoApp::start();
    let real = MockRuntime::start();
    let proxy = MockRuntime::start();
    let _adapter = spawn_adapter(
        &real,
        app.port,
        &[(
            "AWS_LWA_LAMBDA_RUNTIME_API_PROXY",
            &format!("http://{}", proxy.addr),
        )],
    );
    proxy.wait_for_call("GET /2018-06-01/runtime/invocation/next");
    real.wait_for_call("POST /2020-01-01/extension/register");
    assert!(!proxy.called("extension"));
    let out = proxy
        .invoke(Event::json("r1", &get_event("/p")))
        .expect_response();
    assert_eq!(out["statusCode"], 200);
}

#[test]
fn long_log_lines_are_whole() {
    // A line longer than the formatter's stack buffer takes the other path.
    let mode = "m".repeat(600);
    let s = setup(&[("AWS_LWA_INVOKE_MODE", &mode)]);
    let line = s.adapter.wait_for_log("unknown mode");
    assert_eq!(
        line.trim_end(),
        format!(
            "[WARN  lambda_adapter] AWS_LWA_INVOKE_MODE: unknown mode {mode:?}, using buffered"
        )
    );
    s.adapter.wait_for_log("app ready after");
}

#[test]
fn logs_one_line_at_info_on_the_success_path() {
    let s = setup(&[]);
    for i in 0..3 {
        s.rt.invoke(Event::json(&format!("r{i}"), &get_event("/quiet")))
            .expect_response();
    }
    // The adapter's stderr is read by another thread: synchronise on a marker
    // invocation whose error is logged, then look at everything before it.
    let bad = s.rt.invoke(Event::new("marker", "not json"));
    bad.expect_error("Adapter.InvalidEvent");
    s.adapter.wait_for_log("marker");
    let log = s.adapter.log_text();
    let before: Vec<&str> = log.lines().take_while(|l| !l.contains("marker")).collect();
    assert_eq!(before.len(), 1, "{log}");
    assert!(
        before[0].starts_with("[INFO  lambda_adapter] app ready after "),
        "{log}"
    );
}

#[test]
fn json_log_format() {
    let s = setup(&[
        ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
        ("AWS_LWA_ASYNC_INIT", "yes"),
    ]);
    let line = s.adapter.wait_for_log("app ready after");
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["level"], "INFO");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .starts_with("app ready after")
    );
}

#[test]
fn every_variable_empty_at_once_is_every_default() {
    // decisions.md #18. PORT carries the app's port, so the empty AWS_LWA_PORT
    // must fall through to it; every other name is empty.
    let empty = [
        "AWS_LWA_PORT",
        "AWS_LWA_HOST",
        "HOST",
        "AWS_LWA_READINESS_CHECK_PORT",
        "READINESS_CHECK_PORT",
        "AWS_LWA_READINESS_CHECK_PATH",
        "READINESS_CHECK_PATH",
        "AWS_LWA_READINESS_CHECK_PROTOCOL",
        "READINESS_CHECK_PROTOCOL",
        "AWS_LWA_READINESS_CHECK_HEALTHY_STATUS",
        "AWS_LWA_READINESS_CHECK_MIN_UNHEALTHY_STATUS",
        "AWS_LWA_ASYNC_INIT",
        "ASYNC_INIT",
        "AWS_LWA_REMOVE_BASE_PATH",
        "REMOVE_BASE_PATH",
        "AWS_LWA_PASS_THROUGH_PATH",
        "AWS_LWA_PASS_THROUGH_ROUTES",
        "AWS_LWA_SNAPSTART_BEFORE_CHECKPOINT_PATH",
        "AWS_LWA_SNAPSTART_AFTER_RESTORE_PATH",
        "AWS_LWA_READINESS_CHECK_TIMEOUT_SECONDS",
        "AWS_LWA_POOL_IDLE_TIMEOUT_SECONDS",
        "AWS_LWA_ENABLE_COMPRESSION",
        "AWS_LWA_INVOKE_MODE",
        "AWS_LWA_AUTHORIZATION_SOURCE",
        "AWS_LWA_ERROR_STATUS_CODES",
        "AWS_LWA_LAMBDA_RUNTIME_API_PROXY",
        "AWS_LAMBDA_MAX_CONCURRENCY",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_LEVEL",
        "AWS_LAMBDA_LOG_FORMAT",
    ];
    let app = EchoApp::start();
    let port = app.port.to_string();
    let mut env: Vec<(&str, &str)> = empty.iter().map(|&k| (k, "")).collect();
    env.push(("PORT", &port));
    let s = setup_with(app, &env);
    assert_eq!(
        s.rt.invoke(Event::json("e1", &get_event("/api/x")))
            .expect_response()["statusCode"],
        200
    );
    assert_eq!(s.app.request_to("/api/x").method, "GET");
    let out =
        s.rt.invoke(Event::json("e2", &json!({"source": "aws.events"})));
    out.expect_response();
    assert_eq!(s.app.request_to("/events").method, "POST");

    let line = s.adapter.wait_for_log("empty variables");
    assert!(
        line.starts_with("[WARN  lambda_adapter] empty variables are treated as unset: "),
        "{line}"
    );
    for name in empty {
        assert!(line.split([' ', ',']).any(|w| w == name), "{name}: {line}");
    }
    let log = s.adapter.log_text();
    assert_eq!(log.matches("empty").count(), 1, "{log}");
    assert_eq!(
        log.lines().filter(|l| l.starts_with("[WARN")).count(),
        1,
        "{log}"
    );
}

/// Serves three invocations and a marker that fails (it is logged at error);
/// returns the log up to the marker's line.
fn log_of_three_invocations(env: &[(&str, &str)]) -> Vec<String> {
    let s = setup(env);
    for i in 0..3 {
        s.rt.invoke(Event::json(&format!("r{i}"), &get_event("/logged")))
            .expect_response();
    }
    s.rt.invoke(Event::new("marker", "not json"))
        .expect_error("Adapter.InvalidEvent");
    s.adapter.wait_for_log("marker");
    s.adapter.log_text().lines().map(str::to_owned).collect()
}

#[test]
fn debug_logs_are_the_adapters_own() {
    // decisions.md #21: at debug, ureq-proto would add several lines per request.
    let log = log_of_three_invocations(&[("AWS_LAMBDA_LOG_LEVEL", "debug")]);
    let ours = |l: &String| l.contains(" lambda_adapter] ");
    assert!(log.iter().all(ours), "{log:#?}");
    let invokes = log
        .iter()
        .filter(|l| l.starts_with("[DEBUG lambda_adapter] invoke r"));
    assert_eq!(invokes.count(), 3, "{log:#?}");

    // Other crates' lines when RUST_LOG names them.
    let log = log_of_three_invocations(&[
        ("AWS_LAMBDA_LOG_LEVEL", "debug"),
        ("RUST_LOG", "ureq_proto=debug"),
    ]);
    assert!(
        log.iter().any(|l| l.starts_with("[DEBUG ureq_proto] ")),
        "{log:#?}"
    );
}

#[test]
fn json_logs_are_json_on_every_line() {
    let log = log_of_three_invocations(&[
        ("AWS_LAMBDA_LOG_LEVEL", "debug"),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
        // An invalid directive: env_logger would print its own plain-text complaint.
        ("RUST_LOG", "ureq=loud"),
    ]);
    let lines: Vec<serde_json::Value> = log
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect();
    assert!(
        lines.iter().all(|v| v["target"] == "lambda_adapter"),
        "{log:#?}"
    );
    let debug = lines.iter().filter(|v| v["level"] == "DEBUG").count();
    assert!(debug >= 3, "{log:#?}");
    assert!(
        lines
            .iter()
            .any(|v| v["level"] == "WARN" && v["message"].as_str().unwrap().contains("RUST_LOG")),
        "{log:#?}"
    );
}

#[test]
fn deprecated_names_are_logged() {
    let app = EchoApp::start();
    let rt = MockRuntime::start();
    let adapter = spawn_adapter(&rt, app.port, &[("READINESS_CHECK_PATH", "/ready")]);
    let line = adapter.wait_for_log("deprecated");
    assert!(
        line.contains("READINESS_CHECK_PATH") && line.contains("AWS_LWA_READINESS_CHECK_PATH"),
        "{line}"
    );
    assert!(line.starts_with("[WARN "), "{line}");
    assert_eq!(app.request().target, "/ready");
}

#[test]
fn shutdown_event_stops_the_adapter() {
    let mut s = setup(&[]);
    s.rt.wait_for_call("GET /2020-01-01/extension/event/next");
    s.rt.shutdown();
    assert_eq!(s.adapter.wait_exit(), Some(0));
}

#[test]
fn a_slow_app_is_reported_every_two_seconds() {
    let port = free_port();
    let rt = MockRuntime::start();
    let adapter = spawn_adapter(&rt, port, &[("AWS_LWA_READINESS_CHECK_PATH", "/health")]);
    let line = adapter.wait_for_log("app is not ready after");
    assert!(
        line.starts_with("[INFO  lambda_adapter] app is not ready after 2"),
        "{line}"
    );
    assert!(
        line.ends_with(&format!("url=http://127.0.0.1:{port}/health")),
        "{line}"
    );
    assert!(!rt.called("invocation/next"));
}

/// Async init: Lambda's Init phase ends at 10 s, so the adapter stops
/// waiting at 9.8 s and the first invocation finishes the wait (slow: 10 s).
#[test]
fn async_init_serves_after_9_8_s_and_the_first_invocation_waits() {
    if std::env::var_os("RUN_SLOW_TESTS").is_none() {
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let rt = MockRuntime::start();
    let adapter = spawn_adapter(&rt, port, &[("AWS_LWA_ASYNC_INIT", "true")]);
    let started = std::time::Instant::now();
    rt.wait_for_call("GET /2018-06-01/runtime/invocation/next");
    let waited = started.elapsed();
    assert!(
        waited >= std::time::Duration::from_millis(9_700),
        "{waited:?}"
    );
    adapter.wait_for_log("async init");
    // The app is still not there: an invocation with a short deadline fails clearly...
    let v2 =
        json!({"version": "2.0", "rawPath": "/", "requestContext": {"http": {"method": "GET"}}});
    let v = rt
        .invoke(Event::json("early", &v2).deadline_in(400))
        .expect_error("Adapter.AppTimeout");
    assert!(
        v["errorMessage"].as_str().unwrap().contains("not ready"),
        "{v}"
    );
    // ...and once it listens, the next invocation waits for it and is served.
    rt.push(Event::json("late", &v2).deadline_in(10_000));
    let app = EchoApp::on(
        TcpListener::bind(("127.0.0.1", port)).unwrap(),
        Arc::new(|r: &Received| (echo(r), false)),
    );
    let out = rt.outcome();
    assert_eq!(out.id, "late");
    out.expect_response();
    assert_eq!(app.request().target, "/");
}

/// Async init with `AWS_LWA_READINESS_CHECK_TIMEOUT_SECONDS` past the 9.8 s
/// cut: the first invocation waits for the app until that limit, not until
/// its own deadline (slow: 11 s).
#[test]
fn async_init_waits_no_longer_than_the_readiness_timeout() {
    if std::env::var_os("RUN_SLOW_TESTS").is_none() {
        return;
    }
    let rt = MockRuntime::start();
    let _adapter = spawn_adapter(
        &rt,
        free_port(),
        &[
            ("AWS_LWA_ASYNC_INIT", "true"),
            ("AWS_LWA_READINESS_CHECK_TIMEOUT_SECONDS", "11"),
        ],
    );
    let started = std::time::Instant::now();
    rt.wait_for_call("GET /2018-06-01/runtime/invocation/next");
    let v2 =
        json!({"version": "2.0", "rawPath": "/", "requestContext": {"http": {"method": "GET"}}});
    let v = rt
        .invoke(Event::json("waits", &v2).deadline_in(20_000))
        .expect_error("Adapter.AppTimeout");
    assert!(
        v["errorMessage"].as_str().unwrap().contains("not ready"),
        "{v}"
    );
    let waited = started.elapsed();
    assert!(
        waited < std::time::Duration::from_millis(13_000),
        "the invocation waited {waited:?}, past the 11 s readiness timeout"
    );
}
