//! Test peers for the adapter binary: a mock Lambda Runtime + Extensions
//! API, an echo app, and a way to run the adapter between them.
//!
//! Everything here talks real HTTP/1.1 over loopback sockets. Tests wait on
//! channels fed by these peers (an event happened), never on sleeps; every
//! wait has a generous timeout so that a broken adapter fails a test instead
//! of hanging it.

#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The longest any single wait in a test may take before it fails.
pub const WAIT: Duration = Duration::from_secs(15);

/// An HTTP request as a peer received it.
#[derive(Clone, Default)]
pub struct Received {
    pub method: String,
    pub target: String,
    /// In order, names as sent, values as raw bytes.
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
    /// Whether the body came chunked.
    pub chunked: bool,
    /// Trailer fields of a chunked body.
    pub trailers: Vec<(String, Vec<u8>)>,
    /// How many requests came on the same connection before this one.
    pub nth_on_connection: usize,
    /// The body's length and FNV-1a hash, also when it was too big to keep.
    pub body_len: usize,
    pub body_hash: u64,
}

/// Bodies above this size are counted and hashed, not kept.
const BODY_CAP: usize = 64 * 1024 * 1024;

/// FNV-1a, to compare big bodies without keeping them.
pub fn fnv1a(hash: u64, bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(hash, |h, &b| (h ^ b as u64).wrapping_mul(0x100000001b3))
}
pub const FNV_START: u64 = 0xcbf29ce484222325;

impl Received {
    fn take_body_bytes(&mut self, bytes: &[u8]) {
        self.body_len += bytes.len();
        self.body_hash = fnv1a(self.body_hash, bytes);
        if self.body.len() + bytes.len() <= BODY_CAP {
            self.body.extend_from_slice(bytes);
        }
    }
}

impl std::fmt::Debug for Received {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = |b: &[u8]| {
            let t = String::from_utf8_lossy(b);
            if t.len() > 2000 {
                format!(
                    "{}... ({} bytes)",
                    &t[..t.floor_char_boundary(2000)],
                    b.len()
                )
            } else {
                t.into_owned()
            }
        };
        let headers: Vec<String> = self
            .headers
            .iter()
            .map(|(n, v)| format!("{n}: {}", text(v)))
            .collect();
        f.debug_struct("Received")
            .field("method", &self.method)
            .field("target", &self.target)
            .field("headers", &headers)
            .field("body", &text(&self.body))
            .finish()
    }
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| std::str::from_utf8(v).unwrap())
    }
    pub fn all(&self, name: &str) -> Vec<String> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
            .collect()
    }
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap()
    }
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }
}

/// Reads one request (or response, when `is_response`); `None` at a clean end of stream.
pub fn read_message(r: &mut impl BufRead, is_response: bool) -> Option<Received> {
    read_message_with(r, is_response, &mut |_, _| {})
}

/// The same, calling `on_chunk` with each chunk of a chunked body as it arrives.
pub fn read_message_with(
    r: &mut impl BufRead,
    is_response: bool,
    on_chunk: &mut dyn FnMut(&Received, &[u8]),
) -> Option<Received> {
    let mut line = String::new();
    if r.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.trim_end().splitn(3, ' ');
    let (method, target) = (parts.next()?.to_owned(), parts.next()?.to_owned());
    let headers = read_headers(r)?;
    let mut msg = Received {
        method,
        target,
        headers,
        body_hash: FNV_START,
        ..Received::default()
    };
    let te = msg.header("transfer-encoding").map(str::to_ascii_lowercase);
    if te.as_deref() == Some("chunked") {
        msg.chunked = true;
        let mut chunk = Vec::new();
        loop {
            let mut size = String::new();
            r.read_line(&mut size).ok()?;
            let size = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
            if size == 0 {
                msg.trailers = read_headers(r)?;
                break;
            }
            chunk.resize(size + 2, 0);
            r.read_exact(&mut chunk).ok()?;
            on_chunk(&msg, &chunk[..size]);
            msg.take_body_bytes(&chunk[..size]);
        }
    } else if let Some(len) = msg.header("content-length") {
        let mut body = vec![0; len.trim().parse().ok()?];
        r.read_exact(&mut body).ok()?;
        msg.take_body_bytes(&body);
    } else if is_response {
        let mut body = Vec::new();
        r.read_to_end(&mut body).ok()?;
        msg.take_body_bytes(&body);
    }
    Some(msg)
}

fn read_headers(r: &mut impl BufRead) -> Option<Vec<(String, Vec<u8>)>> {
    let mut headers = Vec::new();
    loop {
        let mut line = Vec::new();
        if r.read_until(b'\n', &mut line).ok()? == 0 {
            return None;
        }
        if line == b"\r\n" || line == b"\n" {
            return Some(headers);
        }
        let line = line.strip_suffix(b"\r\n").unwrap_or(&line);
        let colon = line.iter().position(|&b| b == b':')?;
        let name = String::from_utf8_lossy(&line[..colon]).into_owned();
        let value = line[colon + 1..].trim_ascii().to_vec();
        headers.push((name, value));
    }
}

/// A raw HTTP response.
pub fn http_response(status: u16, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status} X\r\n").into_bytes();
    for (n, v) in headers {
        out.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
    }
    if !headers.iter().any(|(n, _)| {
        n.eq_ignore_ascii_case("content-length") || n.eq_ignore_ascii_case("transfer-encoding")
    }) {
        out.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

// The mock Lambda Runtime and Extensions API.

/// One invocation to hand out on `next`.
#[derive(Debug, Clone)]
pub struct Event {
    pub id: String,
    pub payload: Vec<u8>,
    /// Extra headers on the `next` answer (deadline, trace id...).
    pub headers: Vec<(String, String)>,
}

impl Event {
    pub fn new(id: &str, payload: impl Into<Vec<u8>>) -> Event {
        Event {
            id: id.into(),
            payload: payload.into(),
            headers: vec![
                (
                    "lambda-runtime-invoked-function-arn".into(),
                    "arn:aws:lambda:us-east-1:123456789012:function:fn".into(),
                ),
                (
                    "lambda-runtime-trace-id".into(),
                    "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1".into(),
                ),
            ],
        }
    }
    pub fn json(id: &str, payload: &Value) -> Event {
        Event::new(id, serde_json::to_vec(payload).unwrap())
    }
    pub fn header(mut self, name: &str, value: &str) -> Event {
        self.headers.push((name.into(), value.into()));
        self
    }
    /// A deadline `ms` from now.
    pub fn deadline_in(self, ms: u64) -> Event {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        self.header("lambda-runtime-deadline-ms", &(now + ms).to_string())
    }
}

/// What the adapter posted for an invocation.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// "response", "error", "init/error" or "restore/error".
    pub kind: String,
    pub id: String,
    pub request: Received,
}

impl Outcome {
    pub fn json(&self) -> Value {
        self.request.json()
    }
    #[track_caller]
    pub fn expect_response(&self) -> Value {
        assert_eq!(
            self.kind,
            "response",
            "expected a response, got {self:?}: {}",
            String::from_utf8_lossy(&self.request.body)
        );
        self.json()
    }
    /// The error JSON, after checking its type and the error-type header.
    #[track_caller]
    pub fn expect_error(&self, error_type: &str) -> Value {
        self.expect_error_kind("error", error_type)
    }

    #[track_caller]
    pub fn expect_error_kind(&self, kind: &str, error_type: &str) -> Value {
        assert_eq!(
            self.kind,
            kind,
            "expected an error, got {self:?}: {}",
            String::from_utf8_lossy(&self.request.body)
        );
        let v = self.json();
        assert_eq!(v["errorType"], error_type, "{v}");
        assert_eq!(
            self.request.header("lambda-runtime-function-error-type"),
            Some(error_type)
        );
        assert!(
            v["errorMessage"].as_str().is_some_and(|m| !m.is_empty()),
            "{v}"
        );
        v
    }
}

/// A fault the mock Runtime API injects on one call.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Answer with this status and an empty body.
    Status(u16),
    /// Close the connection without answering.
    Drop,
    /// Send the headers of a `next` answer, half the body, then close.
    Truncate,
    /// Wait this long, then answer normally: a slow Runtime API.
    Delay(Duration),
    /// Answer normally, but in (up to) 16 pieces with this pause before each one.
    Trickle(Duration),
    /// Take the request and never answer (until the adapter closes the connection).
    Hang,
}

#[derive(Default)]
struct RuntimeState {
    events: VecDeque<Event>,
    /// Faults by route: "next", "response", "error", "init/error", "register".
    faults: HashMap<&'static str, VecDeque<Fault>>,
    /// Faults applied to every call of a route, after the queued ones.
    always: HashMap<&'static str, Fault>,
    shutdown: bool,
    /// Whether `restore/next` may answer: the snapshot was "restored".
    restored: bool,
    /// Where chunks of streamed responses go, once a test asked for them.
    chunks: Option<Sender<(String, Vec<u8>)>>,
}

pub struct MockRuntime {
    pub addr: String,
    base: String,
    state: Arc<(Mutex<RuntimeState>, std::sync::Condvar)>,
    outcomes: Receiver<Outcome>,
    calls: Arc<Calls>,
    connections: Arc<AtomicUsize>,
}

/// Every call the mock Runtime API received, in order (`"GET /path"`, base
/// path removed), and each call's head (without its body).
#[derive(Default)]
struct Calls(Mutex<Vec<String>>, std::sync::Condvar, Mutex<Vec<Received>>);

impl MockRuntime {
    pub fn start() -> MockRuntime {
        MockRuntime::with_base("")
    }

    /// Serves the APIs under a base path, as local emulators do (`/.rt/fn`).
    pub fn with_base(base: &str) -> MockRuntime {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let state = Arc::new((
            Mutex::new(RuntimeState::default()),
            std::sync::Condvar::new(),
        ));
        let (out_tx, outcomes) = mpsc::channel();
        let calls = Arc::new(Calls::default());
        let connections = Arc::new(AtomicUsize::new(0));
        let (st, base_owned, conns, log) = (
            state.clone(),
            base.to_owned(),
            connections.clone(),
            calls.clone(),
        );
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                conns.fetch_add(1, Ordering::SeqCst);
                let (st, out_tx, log, base) =
                    (st.clone(), out_tx.clone(), log.clone(), base_owned.clone());
                thread::spawn(move || serve_runtime(stream, &st, &out_tx, &log, &base));
            }
        });
        MockRuntime {
            addr,
            base: base.into(),
            state,
            outcomes,
            calls,
            connections,
        }
    }

    /// The value for `AWS_LAMBDA_RUNTIME_API`.
    pub fn api(&self) -> String {
        if self.base.is_empty() {
            self.addr.clone()
        } else {
            format!("http://{}{}", self.addr, self.base)
        }
    }

    pub fn push(&self, event: Event) {
        let (lock, cv) = &*self.state;
        lock.lock().unwrap().events.push_back(event);
        cv.notify_all();
    }

    pub fn fault(&self, route: &'static str, fault: Fault) {
        self.state
            .0
            .lock()
            .unwrap()
            .faults
            .entry(route)
            .or_default()
            .push_back(fault);
    }

    /// Injects `fault` on every call of `route` (once the queued faults are used).
    pub fn fault_always(&self, route: &'static str, fault: Fault) {
        self.state.0.lock().unwrap().always.insert(route, fault);
    }

    /// From now on, each chunk of a streamed response is delivered as it
    /// arrives: `(invocation id, bytes)`.
    pub fn watch_chunks(&self) -> Receiver<(String, Vec<u8>)> {
        let (tx, rx) = mpsc::channel();
        self.state.0.lock().unwrap().chunks = Some(tx);
        rx
    }

    /// Makes the parked extension `event/next` answer SHUTDOWN.
    /// Lets `restore/next` answer, as Lambda does in a restored sandbox.
    pub fn restore(&self) {
        let (lock, cv) = &*self.state;
        lock.lock().unwrap().restored = true;
        cv.notify_all();
    }

    pub fn shutdown(&self) {
        let (lock, cv) = &*self.state;
        lock.lock().unwrap().shutdown = true;
        cv.notify_all();
    }

    /// The next `/response`, `/error` or `/init/error` the adapter posted.
    #[track_caller]
    pub fn outcome(&self) -> Outcome {
        self.outcomes
            .recv_timeout(WAIT)
            .expect("no response or error from the adapter in time")
    }

    /// Pushes an event and returns what the adapter posted for it.
    #[track_caller]
    pub fn invoke(&self, event: Event) -> Outcome {
        let id = event.id.clone();
        self.push(event);
        let outcome = self.outcome();
        assert_eq!(outcome.id, id, "answer for another invocation: {outcome:?}");
        outcome
    }

    /// Waits until `call` (`"GET /2018-06-01/runtime/invocation/next"`) has
    /// been received, now or earlier; returns every call so far.
    #[track_caller]
    pub fn wait_for_call(&self, call: &str) -> Vec<String> {
        self.wait_for_calls(call, 1)
    }

    /// Waits until `call` has been received `n` times.
    #[track_caller]
    pub fn wait_for_calls(&self, call: &str, n: usize) -> Vec<String> {
        let (lock, cv) = (&self.calls.0, &self.calls.1);
        let (calls, timeout) = cv
            .wait_timeout_while(lock.lock().unwrap(), WAIT, |c| {
                c.iter().filter(|c| *c == call).count() < n
            })
            .unwrap();
        assert!(
            !timeout.timed_out(),
            "no {call} ({n}x) in time; saw {:?}",
            *calls
        );
        calls.clone()
    }

    /// Every call so far.
    pub fn calls(&self) -> Vec<String> {
        self.calls.0.lock().unwrap().clone()
    }

    /// The head of every call so far (bodies left out).
    pub fn heads(&self) -> Vec<Received> {
        self.calls.2.lock().unwrap().clone()
    }

    /// Whether any call so far contains `text`.
    pub fn called(&self, text: &str) -> bool {
        self.calls().iter().any(|c| c.contains(text))
    }

    /// The next outcome, if one comes within `d`.
    pub fn outcome_within(&self, d: Duration) -> Option<Outcome> {
        self.outcomes.recv_timeout(d).ok()
    }

    /// Asserts that nothing is posted within `d` (for "must not answer" cases).
    pub fn no_outcome_within(&self, d: Duration) {
        match self.outcomes.recv_timeout(d) {
            Err(RecvTimeoutError::Timeout) => {}
            other => panic!("unexpected outcome: {other:?}"),
        }
    }

    /// TCP connections the adapter opened so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

fn serve_runtime(
    stream: TcpStream,
    state: &(Mutex<RuntimeState>, std::sync::Condvar),
    outcomes: &Sender<Outcome>,
    calls: &Calls,
    base: &str,
) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut w = stream;
    let chunks = state.0.lock().unwrap().chunks.clone();
    let mut on_chunk = |head: &Received, chunk: &[u8]| {
        if let Some(tx) = &chunks {
            let id = head.target.rsplit('/').nth(1).unwrap_or("").to_owned();
            let _ = tx.send((id, chunk.to_vec()));
        }
    };
    while let Some(req) = read_message_with(&mut reader, false, &mut on_chunk) {
        let Some(path) = req.target.strip_prefix(base) else {
            let _ = w.write_all(&http_response(404, &[], b"wrong base path"));
            continue;
        };
        let path = path.to_owned();
        let route: &'static str = match (req.method.as_str(), path.as_str()) {
            ("POST", "/2020-01-01/extension/register") => "register",
            ("GET", "/2020-01-01/extension/event/next") => "extension-next",
            ("GET", "/2018-06-01/runtime/invocation/next") => "next",
            ("POST", "/2018-06-01/runtime/init/error") => "init/error",
            ("GET", "/2018-06-01/runtime/restore/next") => "restore/next",
            ("POST", "/2018-06-01/runtime/restore/error") => "restore/error",
            ("POST", p) if p.ends_with("/response") => "response",
            ("POST", p) if p.ends_with("/error") => "error",
            _ => "unknown",
        };
        let fault = {
            let mut s = state.0.lock().unwrap();
            let queued = s.faults.get_mut(route).and_then(VecDeque::pop_front);
            queued.or_else(|| s.always.get(route).cloned())
        };
        // Recorded once its fault is taken: a fault set after `wait_for_call`
        // saw this call applies to the next one.
        calls.2.lock().unwrap().push(Received {
            body: Vec::new(),
            ..req.clone()
        });
        calls
            .0
            .lock()
            .unwrap()
            .push(format!("{} {path}", req.method));
        calls.1.notify_all();
        match fault {
            Some(Fault::Status(s)) => {
                let _ = w.write_all(&http_response(s, &[], b""));
                continue;
            }
            Some(Fault::Drop) => {
                let _ = w.shutdown(Shutdown::Both);
                return;
            }
            Some(Fault::Delay(d)) => thread::sleep(d),
            Some(Fault::Hang) => {
                // Returns when the adapter closes the connection (or exits).
                let _ = reader.read_to_end(&mut Vec::new());
                return;
            }
            _ => {}
        }
        let answer = match route {
            "register" => http_response(
                200,
                &[("lambda-extension-identifier", "ext-1")],
                br#"{"functionName":"fn"}"#,
            ),
            "extension-next" => {
                let (lock, cv) = state;
                let mut s = lock.lock().unwrap();
                while !s.shutdown {
                    s = cv.wait(s).unwrap();
                }
                http_response(
                    200,
                    &[("content-type", "application/json")],
                    br#"{"eventType":"SHUTDOWN","shutdownReason":"spindown","deadlineMs":0}"#,
                )
            }
            "next" => {
                let (lock, cv) = state;
                let mut s = lock.lock().unwrap();
                let event = loop {
                    match s.events.pop_front() {
                        Some(e) => break e,
                        None => s = cv.wait(s).unwrap(),
                    }
                };
                drop(s);
                let mut headers: Vec<(&str, &str)> =
                    vec![("lambda-runtime-aws-request-id", &event.id)];
                headers.extend(event.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())));
                if fault == Some(Fault::Truncate) {
                    let mut head = http_response(200, &headers, &event.payload);
                    head.truncate(head.len() - event.payload.len() / 2);
                    let _ = w.write_all(&head);
                    let _ = w.shutdown(Shutdown::Both);
                    return;
                }
                http_response(200, &headers, &event.payload)
            }
            "restore/next" => {
                let (lock, cv) = state;
                let mut s = lock.lock().unwrap();
                while !s.restored {
                    s = cv.wait(s).unwrap();
                }
                http_response(200, &[], b"")
            }
            "response" | "error" | "init/error" | "restore/error" => {
                let id = path.split('/').nth(4).unwrap_or("").to_owned();
                let id = if route.contains('/') {
                    String::new()
                } else {
                    id
                };
                let _ = outcomes.send(Outcome {
                    kind: route.into(),
                    id,
                    request: req,
                });
                http_response(202, &[], br#"{"status":"OK"}"#)
            }
            _ => http_response(404, &[], b"not found"),
        };
        let written =
            match fault {
                Some(Fault::Trickle(pause)) => answer
                    .chunks(answer.len().div_ceil(16))
                    .try_for_each(|piece| {
                        thread::sleep(pause);
                        w.write_all(piece)
                    }),
                _ => w.write_all(&answer),
            };
        if written.is_err() {
            return;
        }
    }
}

// The app.

/// How the app answers one request: raw bytes to write, and whether to close after.
pub type Handler = dyn Fn(&Received) -> (Vec<u8>, bool) + Send + Sync;

/// How the app answers one request when it writes the answer itself (to
/// stream it); returns whether to close the connection after.
pub type Writer = dyn Fn(&Received, &mut TcpStream) -> bool + Send + Sync;

pub struct EchoApp {
    pub port: u16,
    requests: Receiver<Received>,
    connections: Arc<AtomicUsize>,
}

impl EchoApp {
    /// Answers every request with a JSON echo of it.
    pub fn start() -> EchoApp {
        EchoApp::with(|req| (echo(req), false))
    }

    pub fn with(handler: impl Fn(&Received) -> (Vec<u8>, bool) + Send + Sync + 'static) -> EchoApp {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        EchoApp::on(listener, Arc::new(handler))
    }

    /// Serves on an existing listener (to start an app on a port chosen earlier).
    pub fn on(listener: TcpListener, handler: Arc<Handler>) -> EchoApp {
        EchoApp::writing(listener, move |req, w| {
            let (answer, close) = handler(req);
            w.write_all(&answer).is_err() || close
        })
    }

    /// An app that writes each answer itself, for instance piece by piece.
    pub fn writing(
        listener: TcpListener,
        writer: impl Fn(&Received, &mut TcpStream) -> bool + Send + Sync + 'static,
    ) -> EchoApp {
        let writer: Arc<Writer> = Arc::new(writer);
        let port = listener.local_addr().unwrap().port();
        let (tx, requests) = mpsc::channel();
        let connections = Arc::new(AtomicUsize::new(0));
        let conns = connections.clone();
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                conns.fetch_add(1, Ordering::SeqCst);
                let (tx, writer) = (tx.clone(), writer.clone());
                thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut w = stream;
                    let mut nth = 0;
                    while let Some(mut req) = read_message(&mut reader, false) {
                        req.nth_on_connection = nth;
                        nth += 1;
                        let _ = tx.send(req.clone());
                        if writer(&req, &mut w) {
                            let _ = w.shutdown(Shutdown::Both);
                            return;
                        }
                    }
                });
            }
        });
        EchoApp {
            port,
            requests,
            connections,
        }
    }

    /// The next request the app received.
    #[track_caller]
    pub fn request(&self) -> Received {
        self.requests
            .recv_timeout(WAIT)
            .expect("the app received no request in time")
    }

    /// The next request that is not a readiness probe to `/`.
    #[track_caller]
    pub fn request_to(&self, path: &str) -> Received {
        loop {
            let r = self.request();
            if r.path() == path {
                return r;
            }
        }
    }

    pub fn drain(&self) -> Vec<Received> {
        self.requests.try_iter().collect()
    }

    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

/// `{"method","target","headers":[[name,value]...],"body":...}` as the app saw the request.
pub fn echo(req: &Received) -> Vec<u8> {
    let headers: Vec<Value> = req
        .headers
        .iter()
        .map(|(n, v)| json!([n.to_ascii_lowercase(), String::from_utf8_lossy(v)]))
        .collect();
    // Big bodies are only counted, so that the answer stays small.
    let text = if req.body.len() <= 64 * 1024 {
        String::from_utf8_lossy(&req.body)
    } else {
        "".into()
    };
    let body = json!({
        "method": req.method,
        "target": req.target,
        "headers": headers,
        "body": text,
        "body_len": req.body.len(),
    });
    http_response(
        200,
        &[("content-type", "application/json")],
        body.to_string().as_bytes(),
    )
}

/// A port on which nothing listens (yet).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

// The adapter.

pub struct Adapter {
    child: Child,
    lines: Receiver<String>,
    pub log: Arc<Mutex<Vec<String>>>,
    /// Ends when every process holding the output pipes has exited.
    closed: Receiver<()>,
}

/// Runs the built adapter against `rt` with the app on `port`, plus `env`.
pub fn spawn_adapter(rt: &MockRuntime, port: u16, env: &[(&str, &str)]) -> Adapter {
    let mut vars = vec![
        ("AWS_LAMBDA_RUNTIME_API".to_owned(), rt.api()),
        ("AWS_LWA_PORT".to_owned(), port.to_string()),
        ("AWS_LAMBDA_FUNCTION_NAME".to_owned(), "fn".to_owned()),
        (
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE".to_owned(),
            "1024".to_owned(),
        ),
        (
            "AWS_LAMBDA_FUNCTION_VERSION".to_owned(),
            "$LATEST".to_owned(),
        ),
    ];
    vars.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    spawn_with(&[], &vars)
}

/// The adapter binary under test: this build's, or `LAMBDA_ADAPTER_BIN`
/// (to run the tests against a release build, as the soak does).
pub fn adapter_bin() -> String {
    std::env::var("LAMBDA_ADAPTER_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_lambda-adapter").to_owned())
}

/// Runs the adapter binary with exactly these arguments and environment.
pub fn spawn_with(args: &[&str], vars: &[(String, String)]) -> Adapter {
    let mut cmd = Command::new(adapter_bin());
    cmd.args(args)
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Ok(path) = std::env::var("PATH") {
        cmd.env("PATH", path);
    }
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("cannot run the adapter binary");
    let (tx, lines) = mpsc::channel();
    let (closed_tx, closed) = mpsc::channel::<()>();
    let log = Arc::new(Mutex::new(Vec::new()));
    for pipe in [
        Box::new(child.stderr.take().unwrap()) as Box<dyn Read + Send>,
        Box::new(child.stdout.take().unwrap()),
    ] {
        let (tx, log, closed_tx) = (tx.clone(), log.clone(), closed_tx.clone());
        thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                if std::env::var_os("ADAPTER_LOG").is_some() {
                    eprintln!("adapter: {line}");
                }
                log.lock().unwrap().push(line.clone());
                let _ = tx.send(line);
            }
            drop(closed_tx);
        });
    }
    Adapter {
        child,
        lines,
        log,
        closed,
    }
}

impl Adapter {
    /// Waits for a log line containing `text`; returns it.
    #[track_caller]
    pub fn wait_for_log(&self, text: &str) -> String {
        let until = Instant::now() + WAIT;
        loop {
            match self
                .lines
                .recv_timeout(until.saturating_duration_since(Instant::now()))
            {
                Ok(line) if line.contains(text) => return line,
                Ok(_) => {}
                Err(_) => panic!(
                    "no log line with {text:?}; log: {:#?}",
                    self.log.lock().unwrap()
                ),
            }
        }
    }

    /// Waits for the process to exit, and for its last log lines to be
    /// read (for a while: a child of its own may hold the pipes); its status code.
    #[track_caller]
    pub fn wait_exit(&mut self) -> Option<i32> {
        self.wait_exit_within(WAIT)
    }

    /// `wait_exit`, failing unless the process exits within `limit`.
    #[track_caller]
    pub fn wait_exit_within(&mut self, limit: Duration) -> Option<i32> {
        let until = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Its last log lines: the readers reach the end of the pipes
                // soon after (a wrapper-mode helper may hold them longer).
                let _ = self.closed.recv_timeout(Duration::from_secs(2));
                return status.code();
            }
            assert!(
                Instant::now() < until,
                "the adapter did not exit within {limit:?}; log: {:#?}",
                self.log.lock().unwrap()
            );
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// Waits until no process writes to the adapter's output any more (in
    /// wrapper mode, the helper process shares it).
    #[track_caller]
    pub fn wait_output_closed(&self) {
        match self.closed.recv_timeout(WAIT) {
            Err(RecvTimeoutError::Disconnected) => {}
            _ => panic!(
                "the output is still open; log: {:#?}",
                self.log.lock().unwrap()
            ),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for Adapter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An adapter serving an echo app, ready for invocations.
pub struct Setup {
    pub rt: MockRuntime,
    pub app: EchoApp,
    pub adapter: Adapter,
}

pub fn setup(env: &[(&str, &str)]) -> Setup {
    setup_with(EchoApp::start(), env)
}

pub fn setup_with(app: EchoApp, env: &[(&str, &str)]) -> Setup {
    let rt = MockRuntime::start();
    let adapter = spawn_adapter(&rt, app.port, env);
    rt.wait_for_call("GET /2018-06-01/runtime/invocation/next");
    app.drain();
    Setup { rt, app, adapter }
}

/// An HTTP API (payload 2.0) `GET path` event, the plainest HTTP event.
pub fn get_event(path: &str) -> Value {
    json!({"version": "2.0", "rawPath": path, "rawQueryString": "", "headers": {"host": "h.example"},
        "requestContext": {"http": {"method": "GET", "path": path}}, "isBase64Encoded": false})
}

/// After a bad case, a good invocation is still served, and reaches the app.
#[track_caller]
pub fn still_serves(s: &Setup, id: &str) {
    let out =
        s.rt.invoke(Event::json(id, &get_event("/after")))
            .expect_response();
    assert_eq!(out["statusCode"], 200, "{out}");
    assert_eq!(s.app.request_to("/after").target, "/after");
}

/// A fixture from `tests/fixtures/`.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}
