//! Fault injection beyond `faults.rs` and `bad_input.rs`: slow and failing
//! Runtime API answers, apps that die and come back, reset, babble, stall
//! mid-body, drop idle connections, send 100 MB, or are frozen with SIGSTOP;
//! and SIGTERM to the adapter.
//!
//! Every case checks that each invocation gets exactly one `/response` or
//! `/error`, and that the next one is served: `MockRuntime::invoke` asserts
//! that the next outcome is for the invocation just pushed, so a second
//! outcome for an earlier one fails the following `invoke`, and every test
//! ends with one.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::*;

#[track_caller]
fn served(rt: &MockRuntime, id: &str) -> Value {
    let out = rt
        .invoke(Event::json(id, &get_event(&format!("/{id}"))))
        .expect_response();
    assert_eq!(out["statusCode"], 200, "{out}");
    out
}

// The Runtime API.

const NEXT: &str = "GET /2018-06-01/runtime/invocation/next";

/// Invokes `id` and checks that it took at least `at_least`.
#[track_caller]
fn served_slowly(rt: &MockRuntime, id: &str, at_least: Duration) {
    let started = Instant::now();
    served(rt, id);
    assert!(
        started.elapsed() >= at_least,
        "{id}: {:?}",
        started.elapsed()
    );
}

#[test]
fn slow_runtime_api_answers_are_waited_for() {
    let s = setup(&[]);
    served(&s.rt, "first");
    // A `next` fault applies to the call after the one the adapter is parked
    // in: wait until it is parked, so that the fault lands on a known call.
    s.rt.wait_for_calls(NEXT, 2);
    // `next` takes a second to answer, then dribbles its answer in 16 pieces.
    s.rt.fault("next", Fault::Delay(Duration::from_secs(1)));
    served(&s.rt, "parked");
    served_slowly(&s.rt, "slow-next", Duration::from_secs(1));
    s.rt.wait_for_calls(NEXT, 4);
    s.rt.fault("next", Fault::Trickle(Duration::from_millis(40)));
    served(&s.rt, "parked-again");
    served_slowly(&s.rt, "trickled-next", Duration::from_millis(10 * 40));
    // The posts' answers are as slow.
    s.rt.fault("response", Fault::Delay(Duration::from_secs(1)));
    served_slowly(&s.rt, "slow-response", Duration::from_secs(1));
    // The mock takes the post before it answers: the slow answer delays the
    // adapter's next invocation instead.
    s.rt.fault("response", Fault::Trickle(Duration::from_millis(40)));
    served(&s.rt, "trickled-response");
    served_slowly(&s.rt, "after-trickle", Duration::from_millis(10 * 40));
    s.rt.fault("error", Fault::Trickle(Duration::from_millis(40)));
    s.rt.invoke(Event::new("trickled-error", "not json"))
        .expect_error("Adapter.InvalidEvent");
    served(&s.rt, "after");
    assert!(
        !s.adapter.log_text().contains("WARN"),
        "{}",
        s.adapter.log_text()
    );
}

#[test]
fn a_response_the_runtime_api_keeps_refusing_is_reported_as_an_error() {
    // Three 5xx answers (every attempt): the result never got to Lambda, so
    // the invocation is failed through /error rather than left to time out.
    let s = setup(&[]);
    for _ in 0..3 {
        s.rt.fault("response", Fault::Status(503));
    }
    let v =
        s.rt.invoke(Event::json("refused", &get_event("/refused")))
            .expect_error("Adapter.RuntimeApi");
    assert!(v["errorMessage"].as_str().unwrap().contains("503"), "{v}");
    // The same for a connection dropped every time.
    for _ in 0..3 {
        s.rt.fault("response", Fault::Drop);
    }
    s.rt.invoke(Event::json("dropped", &get_event("/dropped")))
        .expect_error("Adapter.RuntimeApi");
    served(&s.rt, "after");
}

#[test]
fn an_error_post_that_keeps_failing_does_not_stop_the_loop() {
    let s = setup(&[]);
    for fault in [Fault::Status(500), Fault::Drop, Fault::Status(502)] {
        s.rt.fault("error", fault);
    }
    // Nothing reaches the mock for this one: its three /error posts all fail.
    s.rt.push(Event::new("lost", "not json"));
    served(&s.rt, "after");
    s.rt.wait_for_calls("POST /2018-06-01/runtime/invocation/lost/error", 3);
    assert!(
        s.adapter
            .wait_for_log("could not report the error")
            .contains("lost")
    );
}

// The app.

/// Runs `serve` on each connection accepted on `listener`, one thread each.
fn raw_app(listener: TcpListener, serve: impl Fn(TcpStream) + Send + Sync + 'static) -> u16 {
    let port = listener.local_addr().unwrap().port();
    let serve = Arc::new(serve);
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let serve = serve.clone();
            thread::spawn(move || serve(stream));
        }
    });
    port
}

/// Reads a request head, up to and including the blank line.
fn read_head(r: &mut impl BufRead) -> Option<String> {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        head.push_str(&line);
        if line == "\r\n" {
            return Some(head);
        }
    }
}

fn target_of(head: &str) -> &str {
    head.split(' ').nth(1).unwrap_or("")
}

#[test]
fn an_app_that_dies_gets_app_unreachable_and_is_served_again_once_back() {
    let app = AppProcess::start(0);
    let port = app.port;
    let rt = MockRuntime::start();
    let _adapter = spawn_adapter(&rt, port, &[]);
    rt.wait_for_call("GET /2018-06-01/runtime/invocation/next");
    served(&rt, "before");
    drop(app); // SIGKILL: its pooled connection dies with it.
    rt.invoke(Event::json("down", &get_event("/down")))
        .expect_error("Adapter.AppUnreachable");
    rt.invoke(Event::json("still-down", &get_event("/down")))
        .expect_error("Adapter.AppUnreachable");
    let _app = AppProcess::start(port);
    served(&rt, "back");
    served(&rt, "again");
}

#[test]
fn an_app_that_resets_mid_response_gives_an_error() {
    // The app writes half an answer and closes with the request body still
    // unread, so the kernel resets the connection (RST, not FIN).
    let port = raw_app(TcpListener::bind("127.0.0.1:0").unwrap(), |stream| {
        let mut r = BufReader::new(stream.try_clone().unwrap());
        let mut w = stream;
        while let Some(head) = read_head(&mut r) {
            if target_of(&head) == "/rst" {
                let _ = w.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\npartial");
                thread::sleep(Duration::from_millis(1)); // let the bytes leave first
                return; // drops both halves with the body unread: RST
            }
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .map_or(0, |l| l.trim().parse().unwrap());
            let mut body = vec![0; len];
            r.read_exact(&mut body).unwrap();
            let _ = w.write_all(&http_response(200, &[], b"ok"));
        }
    });
    let s = setup_with_port(port);
    served(&s.rt, "before");
    let mut e = get_event("/rst");
    e["body"] = "x".repeat(64 * 1024).into();
    e["requestContext"]["http"]["method"] = "POST".into();
    s.rt.invoke(Event::json("rst", &e))
        .expect_error("Adapter.AppResponseInvalid");
    served(&s.rt, "after");
}

#[test]
fn an_app_answering_garbage_of_every_kind_gets_one_error_each() {
    let huge_header = format!(
        "HTTP/1.1 200 OK\r\nx-big: {}\r\ncontent-length: 0\r\n\r\n",
        "h".repeat(100 * 1024)
    );
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "status-word",
            b"HTTP/1.1 OK 200\r\ncontent-length: 0\r\n\r\n".to_vec(),
        ),
        (
            "version",
            b"HTTP/9.9 200 OK\r\ncontent-length: 0\r\n\r\n".to_vec(),
        ),
        (
            "negative-length",
            b"HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n".to_vec(),
        ),
        (
            "two-lengths",
            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\nabc".to_vec(),
        ),
        (
            "bad-chunk",
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n".to_vec(),
        ),
        (
            "nul-in-header",
            b"HTTP/1.1 200 OK\r\nx-a: a\0b\r\ncontent-length: 0\r\n\r\n".to_vec(),
        ),
        (
            "http2-preface",
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x12\x04\x00\x00\x00\x00\x00".to_vec(),
        ),
        ("binary-noise", (0..=255u8).cycle().take(4096).collect()),
        ("huge-head", huge_header.into_bytes()),
    ];
    let answers: Arc<Vec<(String, Vec<u8>)>> = Arc::new(
        cases
            .iter()
            .map(|(p, a)| (format!("/{p}"), a.clone()))
            .collect(),
    );
    let app = EchoApp::with(move |r| match answers.iter().find(|(p, _)| p == r.path()) {
        Some((_, answer)) => (answer.clone(), true),
        None => (echo(r), false),
    });
    let s = setup_with(app, &[]);
    for (path, _) in &cases {
        let out =
            s.rt.invoke(Event::json(path, &get_event(&format!("/{path}"))));
        let v = out.expect_error("Adapter.AppResponseInvalid");
        assert!(v["errorMessage"].is_string(), "{path}: {v}");
        served(&s.rt, &format!("after-{path}"));
    }
}

/// An interim answer before the real one.
const CONTINUE: &[u8] =
    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
/// HTTP/1.0, the body delimited by closing the connection.
const CLOSE_DELIMITED: &[u8] = b"HTTP/1.0 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil the end";
/// Chunks with an extension, and a trailer.
const CHUNKED: &[u8] = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nx-t: 1\r\n\r\n";

#[test]
fn unusual_but_valid_app_answers_are_served() {
    let app = EchoApp::with(|r| match r.path() {
        "/continue" => (CONTINUE.to_vec(), false),
        "/close-delimited" => (CLOSE_DELIMITED.to_vec(), true),
        "/chunked" => (CHUNKED.to_vec(), false),
        _ => (echo(r), false),
    });
    let s = setup_with(app, &[]);
    for (path, body) in [
        ("continue", "ok"),
        ("close-delimited", "until the end"),
        ("chunked", "abcde"),
    ] {
        let out =
            s.rt.invoke(Event::json(path, &get_event(&format!("/{path}"))))
                .expect_response();
        assert_eq!(out["body"], body, "{path}: {out}");
        served(&s.rt, &format!("after-{path}"));
    }
}

#[test]
fn an_app_stalling_mid_body_times_out_before_the_deadline() {
    // decisions.md #11 covers the whole answer, not just its head: here the
    // head and part of the body come at once, then a byte every 50 ms.
    let (stop_tx, stop) = mpsc::channel::<()>();
    let stop = Mutex::new(stop);
    let port = raw_app(TcpListener::bind("127.0.0.1:0").unwrap(), move |stream| {
        let mut r = BufReader::new(stream.try_clone().unwrap());
        let mut w = stream;
        while let Some(head) = read_head(&mut r) {
            match target_of(&head) {
                "/stall" => {
                    let _ =
                        w.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nten bytes.");
                    let _ = stop.lock().unwrap().recv();
                    return;
                }
                "/trickle" => {
                    let _ = w.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n");
                    for _ in 0..1000 {
                        if w.write_all(b"x").is_err() {
                            return;
                        }
                        thread::sleep(Duration::from_millis(50));
                    }
                }
                _ => {
                    let _ = w.write_all(&http_response(200, &[], b"ok"));
                }
            }
        }
    });
    let s = setup_with_port(port);
    for path in ["stall", "trickle"] {
        let started = Instant::now();
        let v =
            s.rt.invoke(Event::json(path, &get_event(&format!("/{path}"))).deadline_in(800))
                .expect_error("Adapter.AppTimeout");
        assert!(
            started.elapsed() < Duration::from_millis(800),
            "{path}: {:?}",
            started.elapsed()
        );
        assert!(v["errorMessage"].as_str().unwrap().contains("deadline"));
        served(&s.rt, &format!("after-{path}"));
    }
    drop(stop_tx);
}

#[test]
fn an_app_closing_every_connection_silently_is_served_on_a_new_one() {
    // Unlike faults.rs's case, no `connection: close`: the adapter learns it
    // only when it reuses the connection.
    let app = EchoApp::with(|r| (echo(r), true));
    let s = setup_with(app, &[]);
    for i in 0..20 {
        served(&s.rt, &format!("c{i}"));
    }
    // Every request, each try included, came first on its connection.
    assert!(s.app.drain().iter().all(|r| r.nth_on_connection == 0));
}

#[test]
fn an_app_dropping_idle_connections_between_invocations_is_served() {
    // The app closes a connection idle for 50 ms (Node's keepAliveTimeout is
    // 5 s, below the adapter's 3 s pool age only in misconfigured apps);
    // each invocation comes after the app closed the previous connection.
    let (closed_tx, closed) = mpsc::channel::<()>();
    let closed_tx = Mutex::new(closed_tx);
    let port = raw_app(TcpListener::bind("127.0.0.1:0").unwrap(), move |stream| {
        stream
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let mut r = BufReader::new(stream.try_clone().unwrap());
        let mut w = stream;
        loop {
            match r.fill_buf() {
                Ok([]) => return,
                Ok(_) => {}
                Err(_) => {
                    // Idle too long: close, and say so.
                    let _ = w.shutdown(Shutdown::Both);
                    let _ = closed_tx.lock().unwrap().send(());
                    return;
                }
            }
            let Some(req) = read_message(&mut r, false) else {
                return;
            };
            let _ = w.write_all(&echo(&req));
        }
    });
    let s = setup_with_port(port);
    for i in 0..10 {
        closed
            .recv_timeout(WAIT)
            .expect("the app closes idle connections");
        served(&s.rt, &format!("idle{i}"));
    }
}

/// The Runtime API and the adapter, for an app of the test's own.
struct Peers {
    rt: MockRuntime,
    adapter: Adapter,
}

/// An adapter ready for invocations, for an app already listening on `port`.
fn setup_with_port(port: u16) -> Peers {
    let rt = MockRuntime::start();
    let adapter = spawn_adapter(&rt, port, &[]);
    rt.wait_for_call("GET /2018-06-01/runtime/invocation/next");
    Peers { rt, adapter }
}

/// The adapter's peak resident memory (VmHWM), in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn a_100_mb_answer_is_refused_with_bounded_memory() {
    let sent = Arc::new(Mutex::new(Vec::new()));
    let sent_by_app = sent.clone();
    let port = raw_app(TcpListener::bind("127.0.0.1:0").unwrap(), move |stream| {
        let mut r = BufReader::new(stream.try_clone().unwrap());
        let mut w = stream;
        while let Some(head) = read_head(&mut r) {
            let chunked = match target_of(&head) {
                "/huge-length" => false,
                "/huge-chunked" => true,
                _ => {
                    let _ = w.write_all(&http_response(200, &[], b"ok"));
                    continue;
                }
            };
            let framing = if chunked {
                "transfer-encoding: chunked"
            } else {
                "content-length: 104857600"
            };
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\n{framing}\r\n\r\n"
            );
            let _ = w.write_all(head.as_bytes());
            let block = vec![b'x'; 64 * 1024];
            let mut written = 0;
            for _ in 0..1600 {
                let ok = if chunked {
                    w.write_all(b"10000\r\n")
                        .and_then(|_| w.write_all(&block))
                        .and_then(|_| w.write_all(b"\r\n"))
                } else {
                    w.write_all(&block)
                };
                if ok.is_err() {
                    break;
                }
                written += block.len();
            }
            sent_by_app.lock().unwrap().push(written);
            return;
        }
    });
    let s = setup_with_port(port);
    for path in ["huge-length", "huge-chunked"] {
        let v =
            s.rt.invoke(Event::json(path, &get_event(&format!("/{path}"))))
                .expect_error("Adapter.ResponseTooLarge");
        assert!(v["errorMessage"].as_str().unwrap().contains("6 MB"), "{v}");
        served(&s.rt, &format!("after-{path}"));
    }
    let peak = peak_rss_kib(s.adapter.pid());
    eprintln!(
        "adapter peak RSS after two 100 MB answers: {peak} KiB; app wrote {:?} bytes",
        sent.lock().unwrap()
    );
    assert!(peak < 30 * 1024, "peak RSS {peak} KiB");
    // The adapter stopped reading at the limit: the app could not send it all.
    assert!(sent.lock().unwrap().iter().all(|&n| n < 100 << 20));
}

// The process.

/// The echo app in a process of its own, for signals: this test binary run
/// again with only `app_process_main`.
struct AppProcess {
    child: Child,
    port: u16,
}

impl AppProcess {
    /// Starts the app on `port` (0: any free port) and waits until it listens.
    fn start(port: u16) -> AppProcess {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "reliability::app_process_main",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("RELIABILITY_APP_PORT", port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                // After libtest's "test reliability::app_process_main ... ".
                if let Some((_, port)) = line.split_once("app listening on ") {
                    let _ = tx.send(port.trim().parse::<u16>().unwrap());
                }
            }
        });
        let port = rx.recv_timeout(WAIT).expect("the app process started");
        AppProcess { child, port }
    }

    fn signal(&self, signal: &str) {
        signal_pid(self.child.id(), signal);
    }
}

impl Drop for AppProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends `signal` with the `kill` command. Signals are delivered
/// asynchronously: after STOP, waits until every thread is stopped (a thread
/// woken by a request could otherwise still answer it), after CONT until none is.
fn signal_pid(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -{signal} {pid}");
    let want_stopped = match signal {
        "STOP" => true,
        "CONT" => false,
        _ => return,
    };
    let until = Instant::now() + WAIT;
    while thread_states(pid)
        .iter()
        .any(|&s| (s == 'T') != want_stopped)
    {
        assert!(
            Instant::now() < until,
            "{pid} after {signal}: {:?}",
            thread_states(pid)
        );
        thread::sleep(Duration::from_millis(1));
    }
}

/// The state letter of every thread of `pid` (`T`: stopped), from /proc.
fn thread_states(pid: u32) -> Vec<char> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("stat")).ok())
        // `tid (comm) S ...`: the state follows the last `)`.
        .filter_map(|stat| stat.rsplit_once(')')?.1.trim_start().chars().next())
        .collect()
}

/// Not a test: the app process of `AppProcess`; returns at once unless
/// `RELIABILITY_APP_PORT` is set.
#[test]
fn app_process_main() {
    let Ok(port) = std::env::var("RELIABILITY_APP_PORT") else {
        return;
    };
    let listener = TcpListener::bind(("127.0.0.1", port.parse().unwrap())).unwrap();
    let app = EchoApp::on(listener, Arc::new(|r| (echo(r), false)));
    println!("app listening on {}", app.port);
    loop {
        app.drain();
        thread::park();
    }
}

#[test]
fn an_app_frozen_and_thawed_between_invocations_is_served() {
    // Lambda freezes the sandbox between invocations: SIGSTOP, then SIGCONT.
    let app = AppProcess::start(0);
    let rt = MockRuntime::start();
    let adapter = spawn_adapter(&rt, app.port, &[]);
    rt.wait_for_call("GET /2018-06-01/runtime/invocation/next");
    served(&rt, "before");
    app.signal("STOP");
    app.signal("CONT");
    served(&rt, "thawed");
    // Both frozen, as Lambda does it, with the adapter parked in `next`.
    app.signal("STOP");
    signal_pid(adapter.pid(), "STOP");
    rt.push(Event::json("while-frozen", &get_event("/while-frozen")));
    signal_pid(adapter.pid(), "CONT");
    app.signal("CONT");
    let out = rt.outcome();
    assert_eq!(out.id, "while-frozen");
    out.expect_response();
    // Frozen through a whole invocation: the deadline passes, the request
    // sits unread in the app's socket; thawed, the app answers a connection
    // the adapter gave up on, and the next invocation takes a new one.
    app.signal("STOP");
    rt.invoke(Event::json("frozen", &get_event("/frozen")).deadline_in(500))
        .expect_error("Adapter.AppTimeout");
    app.signal("CONT");
    served(&rt, "after");
    served(&rt, "again");
}

#[test]
fn sigterm_during_an_invocation_ends_the_adapter_cleanly() {
    // The adapter has no SIGTERM handler: as an extension it gets SHUTDOWN
    // through the Extensions API, and in wrapper mode the app holds the PID
    // Lambda signals (src/wrapper.rs). Sent anyway, SIGTERM's default action
    // ends the process at once. The invocation in flight gets no answer from
    // it (Lambda reports it as a timeout or a runtime exit); nothing else is
    // posted, nothing panics, and the app is left alone.
    let (release_tx, release) = mpsc::channel::<()>();
    let (arrived_tx, arrived) = mpsc::channel::<()>();
    let (release, arrived_tx) = (Mutex::new(release), Mutex::new(arrived_tx));
    let app = EchoApp::with(move |r| {
        if r.path() == "/slow" {
            let _ = arrived_tx.lock().unwrap().send(());
            let _ = release.lock().unwrap().recv();
        }
        (echo(r), false)
    });
    let mut s = setup_with(app, &[]);
    served(&s.rt, "before");
    s.rt.push(Event::json("in-flight", &get_event("/slow")));
    arrived
        .recv_timeout(WAIT)
        .expect("the request reached the app");
    signal_pid(s.adapter.pid(), "TERM");
    let code = s.adapter.wait_exit();
    s.adapter.wait_output_closed();
    drop(release_tx);
    assert_eq!(code, None, "ended by the signal");
    let log = s.adapter.log_text();
    assert!(!log.contains("panicked"), "{log}");
    // At most one outcome, for the invocation in flight: the process is gone,
    // so anything it posted is already in the mock's hands.
    if let Some(out) = s.rt.outcome_within(Duration::from_millis(200)) {
        assert_eq!(out.id, "in-flight", "{out:?}");
    }
    assert!(s.rt.outcome_within(Duration::from_millis(50)).is_none());
}

#[test]
fn a_request_line_longer_than_the_output_buffer_is_sent() {
    // Each line of the head must fit ureq's output buffer (16 KiB unless a
    // request needs more); the request line's size must count the method.
    let s = setup(&[]);
    let method = "X".repeat(20_000);
    let e = json!({"httpMethod": method, "path": "/m", "headers": {},
        "requestContext": {"resourcePath": "/m"}});
    let out =
        s.rt.invoke(Event::json("long-method", &e))
            .expect_response();
    assert_eq!(out["statusCode"], 200);
    assert_eq!(s.app.request_to("/m").method, method);
    served(&s.rt, "after");
}
