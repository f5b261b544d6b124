//! The Lambda Runtime API: fetch the next invocation, post its response or
//! its error, report an init error.
//!
//! `next` never gives up: a Runtime API that answers 5xx or drops the
//! connection is retried with back-off. Posts are retried a few times on
//! transport errors and 5xx, since an invocation must get its answer.

use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_encode};
use ureq::config::AutoHeaderValue;
use ureq::http::{
    self, HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode, Uri,
};
use ureq::unversioned::transport::DefaultConnector;
use ureq::{Agent, AsSendBody, Body};

use crate::app::LiteralResolver;
use crate::error::{Error, RuntimeFault};
use crate::event::push_str;

/// Lambda's invocation payload limit is 6 MB; leave room for emulators.
const MAX_EVENT: u64 = 32 * 1024 * 1024;

/// Back-off bounds for a Runtime API that fails.
const FIRST_BACKOFF: Duration = Duration::from_millis(5);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// Request ids are UUIDs; anything else is escaped into one path segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The longest an init error report may take, retries included (decisions.md #17).
pub const INIT_ERROR_LIMIT: Duration = Duration::from_secs(2);

/// Attempts for a response or error post.
const POST_ATTEMPTS: u32 = 3;

/// Time kept back from Lambda's deadline to post an error before Lambda
/// stops the invocation (decisions.md #11).
const DEADLINE_MARGIN: Duration = Duration::from_millis(100);

/// One invocation, as `next` delivered it.
#[derive(Debug, Default, Clone)]
pub struct Invocation {
    pub id: String,
    /// `Lambda-Runtime-Deadline-Ms`, Unix epoch milliseconds.
    pub deadline_ms: Option<u64>,
    pub function_arn: String,
    pub trace_id: Option<String>,
    /// `Lambda-Runtime-Client-Context`, as sent.
    pub client_context: Option<String>,
    /// `Lambda-Runtime-Cognito-Identity`, as sent.
    pub identity: Option<String>,
    pub tenant_id: Option<String>,
    pub payload: Vec<u8>,
}

impl Invocation {
    /// When the app request must be done by: Lambda's deadline less a margin;
    /// none when the deadline is absent or already past (local emulators).
    pub fn deadline(&self) -> Option<Instant> {
        let deadline = UNIX_EPOCH + Duration::from_millis(self.deadline_ms?);
        let left = deadline.duration_since(SystemTime::now()).ok()?;
        let left = if left > DEADLINE_MARGIN * 2 {
            left - DEADLINE_MARGIN
        } else {
            left / 2
        };
        Some(Instant::now() + left)
    }
}

pub struct Runtime {
    agent: Agent,
    /// `http://host:port[/base]/2018-06-01/runtime`
    base: String,
}

impl Runtime {
    pub fn new(api: &str) -> Runtime {
        Runtime::with_agent(api, agent())
    }

    /// A client that shares `agent` (made by `agent()`) and its connections.
    pub fn with_agent(api: &str, agent: Agent) -> Runtime {
        Runtime {
            agent,
            base: format!("{api}/2018-06-01/runtime"),
        }
    }

    /// Starts a streamed response for `id` (see `stream`).
    pub fn stream(&self, id: &str) -> Result<crate::stream::Stream, Error> {
        // `base` is `http://authority/path`, as config built it.
        let rest = self
            .base
            .strip_prefix("http://")
            .expect("BUG: config builds http:// URLs");
        let (authority, _) = rest.split_once('/').expect("BUG: the base has a path");
        let url = self.url(id, "response");
        let path = &url["http://".len() + authority.len()..];
        crate::stream::Stream::open(authority, path).map_err(|e| Error::Runtime {
            call: "response (streaming)",
            source: RuntimeFault::Transport(e.into()),
        })
    }

    /// Waits for the next invocation, however long the Runtime API takes.
    pub fn next(&self) -> Invocation {
        let url = format!("{}/invocation/next", self.base);
        let mut backoff = FIRST_BACKOFF;
        loop {
            match self.try_next(&url) {
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
    fn try_next(&self, url: &str) -> Result<Option<Invocation>, Error> {
        let fault = |source| Error::Runtime {
            call: "next",
            source,
        };
        let resp = send(&self.agent, Method::GET, url, &[], ())
            .map_err(|e| fault(RuntimeFault::Transport(e)))?;
        if resp.status() != StatusCode::OK {
            return Err(fault(RuntimeFault::Status(resp.status().as_u16())));
        }
        let (parts, mut body) = resp.into_parts();
        let h = &parts.headers;
        let Some(id) = text(h, "lambda-runtime-aws-request-id") else {
            return Err(fault(RuntimeFault::Missing(
                "Lambda-Runtime-Aws-Request-Id",
            )));
        };
        let payload = match body.with_config().limit(MAX_EVENT).read_to_vec() {
            Ok(p) => p,
            Err(e) => {
                let e = Error::event(
                    "(payload)",
                    format!("could not read the event from the Runtime API: {e}"),
                );
                self.fail(&id, &e);
                return Ok(None);
            }
        };
        Ok(Some(Invocation {
            deadline_ms: text(h, "lambda-runtime-deadline-ms").and_then(|d| d.trim().parse().ok()),
            function_arn: text(h, "lambda-runtime-invoked-function-arn").unwrap_or_default(),
            trace_id: text(h, "lambda-runtime-trace-id"),
            client_context: text(h, "lambda-runtime-client-context"),
            identity: text(h, "lambda-runtime-cognito-identity"),
            tenant_id: text(h, "lambda-runtime-aws-tenant-id"),
            payload,
            id,
        }))
    }

    /// Posts the result. `Err` when Lambda did not take it (refused as too
    /// large, or still failing after the retries): the caller reports it
    /// through `fail`, so that the invocation gets an answer rather than
    /// waiting for its timeout.
    pub fn respond(&self, id: &str, body: &[u8]) -> Result<(), Error> {
        match self.post("response", &self.url(id, "response"), None, body) {
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
    pub fn fail(&self, id: &str, e: &Error) {
        log::error!("invocation {id}: {}: {e}", e.error_type());
        if let Err(post) = self.post(
            "error",
            &self.url(id, "error"),
            Some(e.error_type()),
            &error_body(e),
        ) {
            log::error!("invocation {id}: could not report the error: {post}");
        }
    }

    /// Reports a failure before the first invocation, retrying transport
    /// errors and 5xx until `INIT_ERROR_LIMIT` has passed in all: the adapter
    /// exits next, and a Runtime API that never answers (cargo-lambda 1.9.2)
    /// must not keep it alive (decisions.md #17).
    pub fn init_error(&self, e: &Error) -> Result<(), Error> {
        let until = Instant::now() + INIT_ERROR_LIMIT;
        let url = format!("{}/init/error", self.base);
        let headers = [
            ("content-type", "application/vnd.aws.lambda.error+json"),
            ("lambda-runtime-function-error-type", e.error_type()),
        ];
        let body = error_body(e);
        let mut backoff = FIRST_BACKOFF * 4;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            let req = request(Method::POST, &url, &headers, &body[..]).map(|req| {
                self.agent
                    .configure_request(req)
                    .timeout_global(Some(left))
                    .build()
            });
            let (source, retry) = match req.and_then(|req| self.agent.run(req)).map(drain) {
                Ok(resp) if resp.status().is_success() => return Ok(()),
                Ok(resp) => (
                    RuntimeFault::Status(resp.status().as_u16()),
                    resp.status().is_server_error(),
                ),
                Err(e) => (RuntimeFault::Transport(e), true),
            };
            let e = Error::Runtime {
                call: "init/error",
                source,
            };
            if !retry || Instant::now() + backoff >= until {
                return Err(e);
            }
            log::warn!("{e}; retrying");
            thread::sleep(backoff);
            backoff *= 4;
        }
    }

    fn url(&self, id: &str, what: &str) -> String {
        format!(
            "{}/invocation/{}/{what}",
            self.base,
            percent_encode(id.as_bytes(), SEGMENT)
        )
    }

    /// POSTs `body`; an error post when `error_type` is given.
    fn post(
        &self,
        call: &'static str,
        url: &str,
        error_type: Option<&str>,
        body: &[u8],
    ) -> Result<(), Error> {
        let headers: &[(&str, &str)] = match error_type {
            Some(t) => &[
                ("content-type", "application/vnd.aws.lambda.error+json"),
                ("lambda-runtime-function-error-type", t),
            ],
            None => &[("content-type", "application/json")],
        };
        let mut attempt = 1;
        loop {
            let result = send(&self.agent, Method::POST, url, headers, body);
            let source = match result.map(drain) {
                Ok(resp) if resp.status().is_success() => return Ok(()),
                Ok(resp) if resp.status() == StatusCode::GONE => {
                    // Lambda's answer when the invocation already timed out.
                    log::warn!(
                        "runtime API {call}: the invocation is gone (it timed out or was answered)"
                    );
                    return Ok(());
                }
                Ok(resp) if resp.status().is_server_error() => {
                    RuntimeFault::Status(resp.status().as_u16())
                }
                Ok(resp) => {
                    return Err(Error::Runtime {
                        call,
                        source: RuntimeFault::Status(resp.status().as_u16()),
                    });
                }
                Err(e) => RuntimeFault::Transport(e),
            };
            let e = Error::Runtime { call, source };
            if attempt == POST_ATTEMPTS {
                return Err(e);
            }
            log::warn!("{e}; retrying");
            thread::sleep(FIRST_BACKOFF * 4u32.pow(attempt));
            attempt += 1;
        }
    }
}

/// `{"errorType":"Adapter.X","errorMessage":"..."}`
pub fn error_body(e: &Error) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    out.extend_from_slice(b"{\"errorType\":");
    push_str(&mut out, e.error_type());
    out.extend_from_slice(b",\"errorMessage\":");
    push_str(&mut out, &e.to_string());
    out.push(b'}');
    out
}

/// The Runtime API's own client: no User-Agent games, small buffers (its
/// heads are small), no proxy from the environment, IP addresses taken as
/// they are (see `LiteralResolver`).
pub fn agent() -> Agent {
    let config = Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .user_agent(AutoHeaderValue::Provided(std::sync::Arc::new(
            concat!("lambda-adapter/", env!("CARGO_PKG_VERSION")).into(),
        )))
        .accept(AutoHeaderValue::None)
        .accept_encoding(AutoHeaderValue::None)
        .proxy(None)
        .input_buffer_size(16 * 1024)
        .output_buffer_size(16 * 1024)
        .build();
    Agent::with_parts(config, DefaultConnector::default(), LiteralResolver)
}

/// Sends `method url` with `headers` and `body`. Every Runtime and Extensions
/// API call goes through here and `Agent::run`, as the app's do: ureq's
/// request builder would put a second copy of the call path in the binary.
pub fn send(
    agent: &Agent,
    method: Method,
    url: &str,
    headers: &[(&'static str, &str)],
    body: impl AsSendBody,
) -> Result<Response<Body>, ureq::Error> {
    agent.run(request(method, url, headers, body)?)
}

/// The request `send` sends, for a caller that configures it first.
fn request<B>(
    method: Method,
    url: &str,
    headers: &[(&'static str, &str)],
    body: B,
) -> Result<Request<B>, ureq::Error> {
    let mut req = Request::new(body);
    *req.method_mut() = method;
    *req.uri_mut() = Uri::try_from(url).map_err(http::Error::from)?;
    for &(name, value) in headers {
        let value = HeaderValue::from_str(value).map_err(http::Error::from)?;
        req.headers_mut()
            .insert(HeaderName::from_static(name), value);
    }
    Ok(req)
}

/// Reads a small answer's body to its end, so that the connection is reused.
pub fn drain(mut resp: Response<Body>) -> Response<Body> {
    let _ = resp.body_mut().with_config().limit(64 * 1024).read_to_vec();
    resp
}

fn text(h: &HeaderMap, name: &'static str) -> Option<String> {
    h.get(HeaderName::from_static(name))
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}
