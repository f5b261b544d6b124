//! The two peers every adapter runs between: a mock Lambda Runtime and
//! Extensions API, and a mock web app. Both answer from memory with
//! responses rendered in advance, from threads started before the adapter.

use std::collections::HashMap;
use std::io;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::http::{self, Conn, Handler, Request, Server, Then};

/// Threads per mock server: more than the connections an adapter opens.
const THREADS: usize = 8;

/// What the mock Runtime API saw, in order.
pub enum Note {
    Registered,
    /// The extension's `event/next` arrived (and is parked for good).
    ExtensionParked,
    /// A runtime `invocation/next` arrived.
    Next(Instant),
    Posted(Posted),
}

/// A `/response` or `/error` post.
pub struct Posted {
    pub id: String,
    pub error: bool,
    /// From writing the `next` answer to having read the whole post.
    pub latency: Duration,
    pub body: Vec<u8>,
}

/// One invocation to hand out on `next`.
pub struct Job {
    pub id: String,
    pub payload: Arc<Vec<u8>>,
}

struct Shared {
    jobs: Mutex<Receiver<Job>>,
    notes: Sender<Note>,
    sent: Mutex<HashMap<String, Instant>>,
}

/// The Runtime and Extensions APIs. `next` blocks until a job is pushed;
/// dropping the `MockRuntime` ends every parked `next`.
pub struct MockRuntime {
    jobs: Option<Sender<Job>>,
    pub notes: Receiver<Note>,
    server: Option<Server>,
}

impl MockRuntime {
    pub fn start() -> io::Result<MockRuntime> {
        let (jobs_tx, jobs_rx) = mpsc::channel();
        let (notes_tx, notes) = mpsc::channel();
        let shared = Arc::new(Shared {
            jobs: Mutex::new(jobs_rx),
            notes: notes_tx,
            sent: Mutex::new(HashMap::new()),
        });
        let handler: Handler = Arc::new(move |req, conn| runtime(&shared, req, conn));
        Ok(MockRuntime {
            jobs: Some(jobs_tx),
            notes,
            server: Some(Server::start(THREADS, handler)?),
        })
    }

    pub fn api(&self) -> String {
        format!(
            "127.0.0.1:{}",
            self.server.as_ref().expect("running").port()
        )
    }

    pub fn push(&self, job: Job) {
        let _ = self.jobs.as_ref().expect("running").send(job);
    }

    /// Waits for the first note that `want` accepts.
    pub fn wait<T>(&self, timeout: Duration, mut want: impl FnMut(Note) -> Option<T>) -> Option<T> {
        let until = Instant::now() + timeout;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            match self.notes.recv_timeout(left) {
                Ok(note) => {
                    if let Some(t) = want(note) {
                        return Some(t);
                    }
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return None,
            }
        }
    }
}

impl Drop for MockRuntime {
    fn drop(&mut self) {
        self.jobs.take(); // parked `next` handlers see the channel close
        self.server.take();
    }
}

fn runtime(s: &Shared, req: Request, conn: &mut Conn) -> io::Result<Then> {
    let path = req.target.as_str();
    match (req.method.as_str(), path) {
        ("POST", "/2020-01-01/extension/register") => {
            let _ = s.notes.send(Note::Registered);
            let body = br#"{"functionName":"bench","functionVersion":"$LATEST","handler":"bench"}"#;
            http::write(
                conn,
                &http::response(
                    "200 OK",
                    &[
                        ("content-type", "application/json"),
                        ("lambda-extension-identifier", "bench-extension-id"),
                    ],
                    body,
                ),
            )?;
            Ok(Then::KeepAlive)
        }
        ("GET", "/2020-01-01/extension/event/next") => {
            let _ = s.notes.send(Note::ExtensionParked);
            http::park(conn);
            Ok(Then::Close)
        }
        ("GET", "/2018-06-01/runtime/invocation/next") => {
            let _ = s.notes.send(Note::Next(req.read_at));
            let job = s.jobs.lock().expect("jobs lock").recv();
            let Ok(job) = job else {
                return Ok(Then::Close); // the run is over
            };
            let deadline = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .expect("a clock after 1970")
                .as_millis()
                + 600_000;
            let deadline = deadline.to_string();
            let out = http::response(
                "200 OK",
                &[
                    ("content-type", "application/json"),
                    ("lambda-runtime-aws-request-id", &job.id),
                    ("lambda-runtime-deadline-ms", &deadline),
                    (
                        "lambda-runtime-invoked-function-arn",
                        "arn:aws:lambda:us-east-1:123456789012:function:bench",
                    ),
                    (
                        "lambda-runtime-trace-id",
                        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
                    ),
                ],
                &job.payload,
            );
            s.sent
                .lock()
                .expect("sent lock")
                .insert(job.id, Instant::now());
            http::write(conn, &out)?;
            Ok(Then::KeepAlive)
        }
        ("POST", _) if path.starts_with("/2018-06-01/runtime/invocation/") => {
            let rest = &path["/2018-06-01/runtime/invocation/".len()..];
            let (id, what) = rest.rsplit_once('/').unwrap_or((rest, ""));
            let sent = s.sent.lock().expect("sent lock").remove(id);
            let latency = sent.map_or(Duration::ZERO, |t| req.read_at.duration_since(t));
            http::write(
                conn,
                &http::response(
                    "202 Accepted",
                    &[("content-type", "application/json")],
                    br#"{"status":"OK"}"#,
                ),
            )?;
            let _ = s.notes.send(Note::Posted(Posted {
                id: id.to_owned(),
                error: what != "response",
                latency,
                body: req.body,
            }));
            Ok(Then::KeepAlive)
        }
        _ => {
            let body = format!("mock runtime: no route for {} {path}", req.method);
            http::write(conn, &http::response("404 Not Found", &[], body.as_bytes()))?;
            Ok(Then::KeepAlive)
        }
    }
}

/// The app's routes, the same for every adapter and for direct requests.
pub const SMALL_BODY: &[u8] = b"hello from the mock app";
pub const BIG_LEN: usize = 100 * 1024;
pub const POST_LEN: usize = 1024;

/// The mock web app: `GET /` (readiness), `GET /x` (small), `POST /echo`
/// (JSON in, small JSON out), `GET /big` (100 KiB of text).
pub struct MockApp {
    pub server: Server,
}

impl MockApp {
    /// Binds a port; it listens once `listen_at` is called.
    pub fn bind() -> io::Result<MockApp> {
        let root = http::response("200 OK", &[("content-type", "text/plain")], b"ok");
        let small = http::response("200 OK", &[("content-type", "text/plain")], SMALL_BODY);
        let big_body: Vec<u8> = (0..BIG_LEN).map(|i| b'a' + (i % 26) as u8).collect();
        let big = http::response("200 OK", &[("content-type", "text/plain")], &big_body);
        let not_found = http::response("404 Not Found", &[], b"");
        let handler: Handler = Arc::new(move |req: Request, conn: &mut Conn| {
            let out = match (req.method.as_str(), req.target.as_str()) {
                ("GET", "/") => &root,
                ("GET", "/x") => &small,
                ("GET", "/big") => &big,
                ("POST", "/echo") => {
                    let body = format!("{{\"received\":{}}}", req.body.len());
                    let out = http::response(
                        "200 OK",
                        &[("content-type", "application/json")],
                        body.as_bytes(),
                    );
                    http::write(conn, &out)?;
                    return Ok(keep_alive(&req));
                }
                _ => &not_found,
            };
            http::write(conn, out)?;
            Ok(keep_alive(&req))
        });
        Ok(MockApp {
            server: Server::bind(THREADS, handler)?,
        })
    }

    pub fn start() -> io::Result<MockApp> {
        let mut app = MockApp::bind()?;
        app.server.listen_at(Instant::now());
        app.server.listened();
        Ok(app)
    }
}

fn keep_alive(req: &Request) -> Then {
    match req.header("connection") {
        Some(v) if v.eq_ignore_ascii_case("close") => Then::Close,
        _ => Then::KeepAlive,
    }
}
