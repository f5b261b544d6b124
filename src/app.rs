//! The app's side: one HTTP/1.1 client to `AWS_LWA_HOST:AWS_LWA_PORT`.
//!
//! The adapter is invisible to the app: no User-Agent, Accept or
//! Accept-Encoding of its own, no redirects followed, 4xx and 5xx returned as
//! answers, nothing decompressed, no proxy. Idle connections are kept for
//! less than common app keep-alive timeouts, and a request that fails on a
//! reused connection before any answer is retried once on a fresh one
//! (decisions.md #12). Each worker owns its `App`, so nothing here is shared.

use std::borrow::Cow;
use std::cell::Cell;
use std::io::{self, Read};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use ureq::config::{AutoHeaderValue, Config};
use ureq::http::{self, HeaderMap, Method, Request, Response, Uri, header};
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};
use ureq::{Agent, Body};

use crate::error::Error;

/// Idle pooled connections are dropped after this, below Node's and
/// uvicorn's 5 s keep-alive (upstream #40 chose 4 s for the same reason).
const MAX_IDLE: Duration = Duration::from_secs(3);

/// Buffer for the request head; requests with a longer header line get a
/// larger one for that request alone, so the common case stays small.
const OUTPUT_BUFFER: usize = 16 * 1024;

/// Buffer for the response head, which must fit in it.
const INPUT_BUFFER: usize = 64 * 1024;

/// A request for the app, built by `event::decode`.
#[derive(Debug, Clone)]
pub struct AppRequest<'a> {
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    pub body: Cow<'a, [u8]>,
}

/// The app's answer with its whole body.
#[derive(Debug, Clone, Default)]
pub struct AppResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

pub struct App {
    agent: Agent,
    /// Until when a pooled connection may be handed out, when one was left.
    pooled_until: Cell<Option<Instant>>,
}

impl Default for App {
    fn default() -> App {
        App::new()
    }
}

impl App {
    pub fn new() -> App {
        let config = Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent(AutoHeaderValue::None)
            .accept(AutoHeaderValue::None)
            .accept_encoding(AutoHeaderValue::None)
            .allow_non_standard_methods(true)
            .proxy(None)
            .max_idle_age(MAX_IDLE)
            .max_idle_connections(2)
            .max_idle_connections_per_host(2)
            .input_buffer_size(INPUT_BUFFER)
            .max_response_header_size(INPUT_BUFFER)
            .output_buffer_size(OUTPUT_BUFFER)
            .build();
        let agent = Agent::with_parts(config, DefaultConnector::default(), LiteralResolver);
        App {
            agent,
            pooled_until: Cell::new(None),
        }
    }

    /// Sends a request; the answer's body is left to read.
    pub fn send(
        &self,
        req: AppRequest<'_>,
        deadline: Option<Instant>,
    ) -> Result<Response<Body>, Error> {
        let reused = self
            .pooled_until
            .take()
            .is_some_and(|until| Instant::now() < until);
        if reused {
            match self.run(req.clone(), deadline) {
                Err(ureq::Error::Io(e)) if is_stale(&e) => {
                    log::debug!(
                        "pooled app connection failed before answering ({e}), retrying on a new one"
                    );
                }
                other => return other.map_err(Error::App),
            }
        }
        self.run(req, deadline).map_err(Error::App)
    }

    /// Reads a whole body of at most `limit` bytes into `buf`, whose
    /// capacity is reused (it is cleared first).
    pub fn read(
        &self,
        resp: Response<Body>,
        limit: usize,
        mut buf: Vec<u8>,
    ) -> Result<AppResponse, Error> {
        let (parts, body) = resp.into_parts();
        buf.clear();
        if let Some(len) = body.content_length() {
            buf.reserve(len.min(limit as u64 + 1) as usize);
        }
        let mut reader = body.into_with_config().limit(limit as u64).reader();
        reader.read_to_end(&mut buf).map_err(read_error)?;
        self.kept(&parts);
        Ok(AppResponse {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body: buf,
        })
    }

    /// One readiness probe: `GET url`, its status, the body drained so the
    /// connection can serve the first invocation.
    pub fn probe(&self, url: &Uri, timeout: Duration) -> Result<u16, ureq::Error> {
        let mut req = Request::new(());
        *req.uri_mut() = url.clone();
        let req = self
            .agent
            .configure_request(req)
            .timeout_global(Some(timeout))
            .build();
        let (parts, mut body) = self.agent.run(req)?.into_parts();
        if body
            .with_config()
            .limit(INPUT_BUFFER as u64)
            .read_to_vec()
            .is_ok()
        {
            self.kept(&parts);
        }
        Ok(parts.status.as_u16())
    }

    /// Notes that ureq kept the connection of a fully read answer.
    pub fn kept(&self, parts: &http::response::Parts) {
        let closes = parts
            .headers
            .get_all(header::CONNECTION)
            .iter()
            .any(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
        if parts.version == http::Version::HTTP_11 && !closes {
            self.pooled_until.set(Some(Instant::now() + MAX_IDLE));
        }
    }

    fn run(
        &self,
        req: AppRequest<'_>,
        deadline: Option<Instant>,
    ) -> Result<Response<Body>, ureq::Error> {
        let longest_line = req
            .headers
            .iter()
            .map(|(n, v)| n.as_str().len() + v.len() + 4)
            .max()
            .unwrap_or(0);
        // The request line: method, target, version.
        let request_line = req.method.as_str().len()
            + req.uri.path_and_query().map_or(0, |p| p.as_str().len())
            + 32;
        let longest_line = longest_line.max(request_line);
        let mut r = Request::new(&*req.body);
        *r.method_mut() = req.method;
        *r.uri_mut() = req.uri;
        *r.headers_mut() = req.headers;
        let timeout = match deadline {
            Some(d) => match d.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => Some(left),
                _ => return Err(ureq::Error::Timeout(ureq::Timeout::Global)),
            },
            None => None,
        };
        if timeout.is_none() && longest_line < OUTPUT_BUFFER {
            return self.agent.run(r);
        }
        let mut config = self.agent.configure_request(r).timeout_global(timeout);
        if longest_line >= OUTPUT_BUFFER {
            config = config.output_buffer_size(longest_line.next_power_of_two());
        }
        self.agent.run(config.build())
    }
}

/// The error for a failure reading a body through `Body::into_reader`,
/// which wraps ureq's errors in `io::Error`.
pub fn read_error(e: io::Error) -> Error {
    if e.get_ref().is_some_and(|inner| inner.is::<ureq::Error>()) {
        let inner = e
            .into_inner()
            .expect("BUG: checked above")
            .downcast::<ureq::Error>();
        return Error::App(*inner.expect("BUG: checked above"));
    }
    Error::App(ureq::Error::Io(e))
}

/// Takes an IP address in the URL as it is. ureq's default resolver starts
/// a thread for every request that has a timeout, and every app request has
/// one (the invocation's deadline): a thread per invocation for `127.0.0.1`.
/// Host names still go to the default resolver.
#[derive(Debug)]
pub struct LiteralResolver;

impl Resolver for LiteralResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let host = uri.host().unwrap_or_default();
        let ip = host.trim_start_matches('[').trim_end_matches(']');
        match (ip.parse::<IpAddr>(), uri.port_u16()) {
            (Ok(ip), Some(port)) => {
                let mut addrs = self.empty();
                addrs.push(SocketAddr::new(ip, port));
                Ok(addrs)
            }
            _ => DefaultResolver::default().resolve(uri, config, timeout),
        }
    }
}

/// A failure that a connection closed by the app while idle produces.
fn is_stale(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionAborted
    )
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;
    use std::thread;

    use super::*;

    /// Answers `n` probes with 204 on a loopback port.
    fn app(n: usize) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        thread::spawn(move || {
            for stream in listener.incoming().take(n) {
                let mut stream = stream.unwrap();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                while reader.read_line(&mut line).unwrap() > 2 {
                    line.clear();
                }
                stream
                    .write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n")
                    .unwrap();
            }
        });
        port
    }

    #[test]
    fn ip_literals_and_host_names_both_resolve_with_a_timeout() {
        let port = app(2);
        let timeout = Duration::from_secs(5);
        for host in ["127.0.0.1", "localhost"] {
            let url: Uri = format!("http://{host}:{port}/").parse().unwrap();
            assert_eq!(App::new().probe(&url, timeout).unwrap(), 204, "{host}");
        }
    }
}
