//! Wrapper mode: `lambda-adapter CMD ARGS...`. Inside Lambda the app keeps
//! the PID the adapter was started with and a helper process serves
//! invocations; outside Lambda the adapter simply becomes the app.

use serde_json::Value;

use crate::support::*;

/// A small real HTTP app: answers with its PID, shuts down cleanly on SIGTERM.
const APP: &str = r#"
import http.server, json, os, signal, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        body = json.dumps({"pid": os.getpid(), "path": self.path}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
def stop(signum, frame):
    print("app: graceful shutdown on signal", signum, flush=True)
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)
print("app: listening", flush=True)
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
"#;

fn env(rt: Option<&MockRuntime>, port: u16) -> Vec<(String, String)> {
    let mut vars = vec![("PORT".to_owned(), port.to_string())];
    if let Some(rt) = rt {
        vars.push(("AWS_LAMBDA_RUNTIME_API".into(), rt.api()));
    }
    vars
}

fn signal(pid: u32, sig: &str) {
    let status = std::process::Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn serves_invocations_with_the_app_keeping_the_pid() {
    let rt = MockRuntime::start();
    let port = free_port();
    let mut adapter = spawn_with(&["python3", "-c", APP], &env(Some(&rt), port));
    let out = rt
        .invoke(Event::json("w1", &get_event("/hello")))
        .expect_response();
    let body: Value = serde_json::from_str(out["body"].as_str().unwrap()).unwrap();
    // The process Lambda started is now the app: its signals reach the app directly.
    assert_eq!(body["pid"], adapter.pid());
    assert_eq!(body["path"], "/hello");
    assert!(rt.called("POST /2020-01-01/extension/register"));

    // SIGTERM (Lambda's shutdown signal) reaches the app, which stops cleanly...
    signal(adapter.pid(), "TERM");
    assert_eq!(adapter.wait_exit(), Some(0));
    adapter.wait_for_log("app: graceful shutdown on signal 15");
    // ...and the helper, which shares its output, notices and leaves too.
    adapter.wait_for_log("the app exited");
    adapter.wait_output_closed();
}

#[test]
fn sigint_also_reaches_the_app() {
    let rt = MockRuntime::start();
    let mut adapter = spawn_with(&["--", "python3", "-c", APP], &env(Some(&rt), free_port()));
    rt.invoke(Event::json("w1", &get_event("/x")))
        .expect_response();
    signal(adapter.pid(), "INT");
    assert_eq!(adapter.wait_exit(), Some(0));
    adapter.wait_for_log("graceful shutdown on signal 2");
    adapter.wait_output_closed();
}

#[test]
fn an_app_that_exits_before_it_is_ready_is_an_init_error() {
    let rt = MockRuntime::start();
    let mut adapter = spawn_with(
        &["sh", "-c", "echo starting; exit 3"],
        &env(Some(&rt), free_port()),
    );
    assert_eq!(adapter.wait_exit(), Some(3));
    let v = rt
        .outcome()
        .expect_error_kind("init/error", "Adapter.AppExited");
    assert!(
        v["errorMessage"].as_str().unwrap().contains("exited"),
        "{v}"
    );
    adapter.wait_output_closed();
}

#[test]
fn a_command_that_cannot_start_is_an_init_error() {
    let rt = MockRuntime::start();
    let mut adapter = spawn_with(
        &["/nonexistent/app", "--flag"],
        &env(Some(&rt), free_port()),
    );
    assert_eq!(adapter.wait_exit(), Some(127));
    let v = rt
        .outcome()
        .expect_error_kind("init/error", "Adapter.AppExited");
    assert!(
        v["errorMessage"]
            .as_str()
            .unwrap()
            .contains("/nonexistent/app"),
        "{v}"
    );
    adapter.wait_output_closed();
}

#[test]
fn a_command_that_cannot_start_exits_even_if_the_init_error_post_hangs() {
    // decisions.md #17: a wrapper-mode container whose CMD does not exist.
    for fault in [Fault::Hang, Fault::Status(503)] {
        let rt = MockRuntime::start();
        rt.fault_always("init/error", fault.clone());
        let mut adapter = spawn_with(&["/nonexistent/app"], &env(Some(&rt), free_port()));
        assert_eq!(
            adapter.wait_exit_within(crate::startup::INIT_ERROR_EXIT),
            Some(127),
            "{fault:?}"
        );
        rt.wait_for_call("POST /2018-06-01/runtime/init/error");
        let line = adapter.wait_for_log("/nonexistent/app");
        assert!(line.starts_with("[ERROR lambda_adapter]"), "{line}");
        adapter.wait_for_log("could not report the init error");
    }
}

#[test]
fn an_app_that_dies_between_invocations_ends_the_helper() {
    let rt = MockRuntime::start();
    let adapter = spawn_with(&["python3", "-c", APP], &env(Some(&rt), free_port()));
    rt.invoke(Event::json("w1", &get_event("/x")))
        .expect_response();
    signal(adapter.pid(), "KILL");
    adapter.wait_for_log("the app exited");
    adapter.wait_output_closed();
    // Not an init error: an invocation was served already.
    rt.no_outcome_within(std::time::Duration::from_millis(200));
}

#[test]
fn outside_lambda_the_adapter_becomes_the_app() {
    let mut adapter = spawn_with(
        &["sh", "-c", "echo pid=$$ args=$0; exit 7", "arg0"],
        &env(None, free_port()),
    );
    assert_eq!(adapter.wait_exit(), Some(7));
    let line = adapter.wait_for_log("pid=");
    assert_eq!(line, format!("pid={} args=arg0", adapter.pid()));
    let mut missing = spawn_with(&["/nonexistent/app"], &[]);
    assert_eq!(missing.wait_exit(), Some(127));
    missing.wait_for_log("could not start the app \"/nonexistent/app\"");
}

#[test]
fn help_and_version() {
    let mut help = spawn_with(&["--help"], &[]);
    assert_eq!(help.wait_exit(), Some(0));
    help.wait_output_closed();
    let text = help.log_text();
    for needle in ["CMD ARGS", "8080", "empty"] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
    // Every variable config.rs reads is listed.
    let config = include_str!("../../src/config.rs");
    // (The function's identity, for x-amzn-lambda-context, is not configuration.)
    let identity = [
        "AWS_LAMBDA_FUNCTION_",
        "AWS_LAMBDA_LOG_STREAM",
        "AWS_LAMBDA_LOG_GROUP",
    ];
    let names: Vec<&str> = config
        .split('"')
        .filter(|w| w.starts_with("AWS_L") && w.len() > "AWS_LWA_".len())
        .filter(|w| w.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'))
        .filter(|w| !identity.iter().any(|p| w.starts_with(p)))
        .collect();
    for name in &names {
        assert!(text.contains(name), "--help does not list {name}: {text}");
    }
    let checked = names.len();
    assert!(checked >= 18, "{checked}");
    let mut version = spawn_with(&["--version"], &[]);
    assert_eq!(version.wait_exit(), Some(0));
    assert_eq!(
        version.wait_for_log("lambda-adapter"),
        format!("lambda-adapter {}", env!("CARGO_PKG_VERSION"))
    );
}
