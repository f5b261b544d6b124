//! The Lambda Runtime API: fetch the next invocation, post its response or
//! its error, stream a response, report an init error, and SnapStart's
//! restore calls.
//!
//! `next` never gives up: a Runtime API that answers 5xx or drops the
//! connection is retried with back-off. Posts are retried a few times on
//! transport errors and 5xx, since an invocation must get its answer, and
//! every post is bounded in time. One kept connection per worker.

use std::thread;
use std::time::{Duration, Instant};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_encode};
use ureq::http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, Uri, header};

use crate::error::{Error, RuntimeFault};
use crate::invocation::Invocation;
use crate::stream::Stream;
use crate::transport::{Conn, Fault, authority, host_port};

/// Lambda's invocation payload limit is 6 MB; leave room for emulators.
const MAX_EVENT: usize = 32 * 1024 * 1024;

/// The answer heads of the Runtime API are small.
const MAX_HEAD: usize = 16 * 1024;

/// Back-off bounds for a Runtime API that fails.
const FIRST_BACKOFF: Duration = Duration::from_millis(5);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// Request ids are UUIDs; anything else is escaped into one path segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Attempts for a response or error post.
const POST_ATTEMPTS: u32 = 3;

/// All attempts of an invocation's response or error post together.
const POST_TIME: Duration = Duration::from_secs(10);

/// All attempts of an init or restore error post together: an init error
/// must end the process soon, whether or not Lambda takes the report
/// (decisions.md #17).
pub const INIT_ERROR_TIME: Duration = Duration::from_secs(2);

const USER_AGENT: HeaderValue =
    HeaderValue::from_static(concat!("lambda-adapter/", env!("CARGO_PKG_VERSION")));
const JSON: HeaderValue = HeaderValue::from_static("application/json");
const ERROR_JSON: HeaderValue = HeaderValue::from_static("application/vnd.aws.lambda.error+json");
const ERROR_TYPE: HeaderName = HeaderName::from_static("lambda-runtime-function-error-type");
const REQUEST_ID: HeaderName = HeaderName::from_static("lambda-runtime-aws-request-id");
const DEADLINE_MS: HeaderName = HeaderName::from_static("lambda-runtime-deadline-ms");
const FUNCTION_ARN: HeaderName = HeaderName::from_static("lambda-runtime-invoked-function-arn");
const TRACE_ID: HeaderName = HeaderName::from_static("lambda-runtime-trace-id");
const CLIENT_CONTEXT: HeaderName = HeaderName::from_static("lambda-runtime-client-context");
const COGNITO_IDENTITY: HeaderName = HeaderName::from_static("lambda-runtime-cognito-identity");
const TENANT_ID: HeaderName = HeaderName::from_static("lambda-runtime-aws-tenant-id");

/// A client of one Runtime (or Extensions) API: its address and one
/// kept connection.
pub struct Api {
    conn: Conn,
    /// The base path of `http://host:port[/base]` (usually empty).
    base: String,
    /// `host:port`, made once (ureq-proto would format it for every request).
    host: HeaderValue,
}

impl Api {
    /// `base` is `http://host:port[/base]`, as config checked it.
    pub fn new(base: &str) -> Api {
        let authority = authority(base);
        let (host, port) = host_port(authority);
        Api {
            conn: Conn::new(host, port, MAX_HEAD, None),
            base: base["http://".len() + authority.len()..].to_owned(),
            host: HeaderValue::from_str(authority).expect("BUG: config checked the authority"),
        }
    }

    /// `{base}{path}` as a URI in origin form (the host goes in `Host`):
    /// without a base path, a static one is used as it is.
    pub fn uri(&self, path: &'static str) -> Result<Uri, Fault> {
        if self.base.is_empty() {
            Ok(Uri::from_static(path))
        } else {
            self.uri_of(path.to_owned())
        }
    }

    /// `{base}{path}` as a URI in origin form.
    pub fn uri_of(&self, mut path: String) -> Result<Uri, Fault> {
        if !self.base.is_empty() {
            path.insert_str(0, &self.base);
        }
        Uri::try_from(path)
            .map_err(|e| Fault::Protocol(ureq_proto::Error::BadHeader(e.to_string())))
    }

    /// Sends one request with a small answer; returns its status and
    /// headers, the body read into `body` (at most `limit` bytes).
    pub fn call(
        &mut self,
        req: Request<()>,
        data: &[u8],
        body: &mut Vec<u8>,
        limit: usize,
        deadline: Option<Instant>,
    ) -> Result<(StatusCode, HeaderMap), Fault> {
        let (resp, reader) = self.conn.send(req, data, deadline)?;
        reader.read_to_end(body, limit)?;
        let (parts, ()) = resp.into_parts();
        Ok((parts.status, parts.headers))
    }

    /// A request to `uri` (with a `Host`; nothing else).
    pub fn request(&self, method: Method, uri: Uri) -> Request<()> {
        let mut req = Request::new(());
        *req.method_mut() = method;
        *req.uri_mut() = uri;
        req.headers_mut().insert(header::HOST, self.host.clone());
        req
    }
}

pub struct Runtime {
    api: Api,
    /// `.../invocation/next`, made once.
    next: Uri,
    /// Small answers' bodies, reused.
    scratch: Vec<u8>,
    /// The last invocation's head, dropped when the next one comes (see
    /// `Worker::headers`).
    last_head: HeaderMap,
}

impl Runtime {
    /// `api` is the Runtime API's base URL, `http://host:port[/base]`.
    pub fn new(api: &str) -> Runtime {
        let api = Api::new(api);
        let next = api
            .uri("/2018-06-01/runtime/invocation/next")
            .expect("BUG: config checked the base URL");
        Runtime {
            api,
            next,
            scratch: Vec::new(),
            last_head: HeaderMap::new(),
        }
    }

    /// Starts a streamed response for `id` (see `stream`), on a connection of its own.
    pub fn stream(&self, id: &str) -> Result<Stream, Error> {
        let fault = |e| Error::Runtime {
            call: "response (streaming)",
            source: RuntimeFault::Transport(e),
        };
        let uri = self.invocation_uri(id, "response").map_err(fault)?;
        let req = self.request(Method::POST, uri);
        let conn = self.api.conn.fresh();
        Stream::open(conn, req).map_err(fault)
    }

    /// Waits for the next invocation, however long the Runtime API takes.
    /// `payload` is the buffer the event is read into (its capacity reused).
    pub fn next(&mut self, mut payload: Vec<u8>) -> Invocation {
        let mut backoff = FIRST_BACKOFF;
        loop {
            match self.try_next(&mut payload) {
                Ok(Some(inv)) => return inv,
                Ok(None) => {}
                Err(e) => {
                    log::warn!("{e}; retrying in {} ms", backoff.as_millis());
                    thread::sleep(backoff);
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    /// `Ok(None)`: an invocation that was answered here already (unreadable).
    fn try_next(&mut self, payload: &mut Vec<u8>) -> Result<Option<Invocation>, Error> {
        let fault = |source| Error::Runtime {
            call: "next",
            source,
        };
        let req = self.request(Method::GET, self.next.clone());
        let (resp, body) = self
            .api
            .conn
            .send(req, &[], None)
            .map_err(|e| fault(RuntimeFault::Transport(e)))?;
        if resp.status() != StatusCode::OK {
            body.drain(MAX_HEAD);
            return Err(fault(RuntimeFault::Status(resp.status().as_u16())));
        }
        let h = resp.headers();
        let Some(id) = text(h, REQUEST_ID) else {
            return Err(fault(RuntimeFault::Missing(
                "Lambda-Runtime-Aws-Request-Id",
            )));
        };
        if let Err(e) = body.read_to_end(payload, MAX_EVENT) {
            let e = Error::event(
                "(payload)",
                format!("could not read the event from the Runtime API: {e}"),
            );
            self.fail(&id, &e);
            return Ok(None);
        }
        Ok(Some(Invocation {
            deadline_ms: h
                .get(DEADLINE_MS)
                .and_then(|d| d.to_str().ok()?.trim().parse().ok()),
            function_arn: text(h, FUNCTION_ARN).unwrap_or_default(),
            trace_id: text(h, TRACE_ID),
            client_context: text(h, CLIENT_CONTEXT),
            identity: text(h, COGNITO_IDENTITY),
            tenant_id: text(h, TENANT_ID),
            payload: std::mem::take(payload),
            id,
        }))
        .inspect(|_| self.last_head = resp.into_parts().0.headers)
    }

    /// Posts the result. `Err` when Lambda did not take it (refused as too
    /// large, or still failing after the retries): the caller reports it
    /// through `fail`, so that the invocation gets an answer rather than
    /// waiting for its timeout.
    pub fn respond(&mut self, id: &str, body: &[u8]) -> Result<(), Error> {
        let uri = self.invocation_uri(id, "response");
        match self.post("response", uri, None, body, POST_TIME) {
            Err(Error::Runtime {
                source: RuntimeFault::Status(413),
                ..
            }) => Err(Error::TooLarge {
                limit: crate::event::MAX_RESPONSE,
            }),
            other => other,
        }
    }

    /// Posts an invocation error; failures are logged.
    pub fn fail(&mut self, id: &str, e: &Error) {
        log::error!("invocation {id}: {}: {e}", e.error_type());
        let uri = self.invocation_uri(id, "error");
        if let Err(post) = self.post("error", uri, Some(e), &e.json(), POST_TIME) {
            log::error!("invocation {id}: could not report the error: {post}");
        }
    }

    /// Reports a failure before the first invocation, within `INIT_ERROR_TIME`.
    pub fn init_error(&mut self, e: &Error) -> Result<(), Error> {
        let uri = self.api.uri("/2018-06-01/runtime/init/error");
        self.post("init/error", uri, Some(e), &e.json(), INIT_ERROR_TIME)
    }

    /// SnapStart: tells Lambda the runtime is ready for the snapshot, and
    /// returns once the sandbox is restored from it (or Lambda answers
    /// otherwise, which is an error).
    pub fn restore_next(&mut self) -> Result<(), Error> {
        let fault = |source| Error::Runtime {
            call: "restore/next",
            source,
        };
        let uri = self
            .api
            .uri("/2018-06-01/runtime/restore/next")
            .map_err(|e| fault(RuntimeFault::Transport(e)))?;
        let req = self.request(Method::GET, uri);
        let (status, _) = self
            .api
            .call(req, &[], &mut self.scratch, MAX_HEAD, None)
            .map_err(|e| fault(RuntimeFault::Transport(e)))?;
        if !status.is_success() {
            return Err(fault(RuntimeFault::Status(status.as_u16())));
        }
        Ok(())
    }

    /// SnapStart: reports a failure of the after-restore phase, within `INIT_ERROR_TIME`.
    pub fn restore_error(&mut self, e: &Error) -> Result<(), Error> {
        let uri = self.api.uri("/2018-06-01/runtime/restore/error");
        self.post("restore/error", uri, Some(e), &e.json(), INIT_ERROR_TIME)
    }

    /// A Runtime API request, with our User-Agent (as upstream's runtime
    /// client; its Extensions API calls send none).
    fn request(&self, method: Method, uri: Uri) -> Request<()> {
        let mut req = self.api.request(method, uri);
        req.headers_mut().insert(header::USER_AGENT, USER_AGENT);
        req
    }

    fn invocation_uri(&self, id: &str, what: &str) -> Result<Uri, Fault> {
        let mut path = String::with_capacity(64 + id.len());
        path.push_str("/2018-06-01/runtime/invocation/");
        path.extend(percent_encode(id.as_bytes(), SEGMENT));
        path.push('/');
        path.push_str(what);
        self.api.uri_of(path)
    }

    /// POSTs `body`, an error report when `error` is given, retrying
    /// transport errors and 5xx until `budget` is spent.
    fn post(
        &mut self,
        call: &'static str,
        uri: Result<Uri, Fault>,
        error: Option<&Error>,
        body: &[u8],
        budget: Duration,
    ) -> Result<(), Error> {
        let fault = |source| Error::Runtime { call, source };
        let uri = uri.map_err(|e| fault(RuntimeFault::Transport(e)))?;
        let deadline = Instant::now() + budget;
        let mut attempt = 1;
        loop {
            let mut req = self.request(Method::POST, uri.clone());
            let headers = req.headers_mut();
            match error {
                Some(e) => {
                    headers.insert(header::CONTENT_TYPE, ERROR_JSON);
                    headers.insert(ERROR_TYPE, HeaderValue::from_static(e.error_type()));
                }
                None => {
                    headers.insert(header::CONTENT_TYPE, JSON);
                }
            }
            headers.insert(header::CONTENT_LENGTH, body.len().into());
            let result = self
                .api
                .call(req, body, &mut self.scratch, MAX_HEAD, Some(deadline));
            let source = match result {
                Ok((status, _)) if status.is_success() => return Ok(()),
                Ok((StatusCode::GONE, _)) => {
                    // Lambda's answer when the invocation already timed out.
                    log::warn!(
                        "runtime API {call}: the invocation is gone (it timed out or was answered)"
                    );
                    return Ok(());
                }
                Ok((status, _)) if status.is_server_error() => {
                    RuntimeFault::Status(status.as_u16())
                }
                Ok((status, _)) => return Err(fault(RuntimeFault::Status(status.as_u16()))),
                Err(e) => RuntimeFault::Transport(e),
            };
            let pause = FIRST_BACKOFF * 4u32.pow(attempt);
            if attempt == POST_ATTEMPTS || Instant::now() + pause >= deadline {
                return Err(fault(source));
            }
            log::warn!("{}; retrying", fault(source));
            thread::sleep(pause);
            attempt += 1;
        }
    }
}

fn text(h: &HeaderMap, name: HeaderName) -> Option<String> {
    h.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}
