//! The app's side: one HTTP/1.1 client to `AWS_LWA_HOST:AWS_LWA_PORT`.
//!
//! The adapter is invisible to the app: no User-Agent, Accept or
//! Accept-Encoding of its own, no redirects followed, 4xx and 5xx returned as
//! answers, nothing decompressed, no proxy. The connection is kept for less
//! than common app keep-alive timeouts, and a request that fails on a kept
//! connection before any answer is sent again on a new one (decisions.md #12,
//! in `transport`). Each worker owns its `App`, so nothing here is shared.

use std::borrow::Cow;
use std::time::{Duration, Instant};

use ureq::http::{HeaderMap, HeaderValue, Method, Request, Response, Uri, header};

use crate::error::Error;
use crate::transport::{Conn, Fault, Reader, authority, host_port};

/// The response head must fit in this buffer.
const MAX_HEAD: usize = 64 * 1024;

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

/// The connection to the app, owned by one worker.
pub struct App {
    conn: Conn,
    /// `host:port`, the probes' and hooks' `Host` (made once: ureq-proto
    /// would format it for each).
    host: HeaderValue,
}

impl App {
    /// A client for the app at `url` (`http://host:port`); an idle
    /// connection is closed after `max_idle` (zero: a new connection for
    /// every request).
    pub fn new(url: &str, max_idle: Duration) -> App {
        let authority = authority(url);
        let (host, port) = host_port(authority);
        App {
            conn: Conn::new(host, port, MAX_HEAD, Some(max_idle)),
            host: HeaderValue::from_str(authority).expect("BUG: config checked the authority"),
        }
    }

    /// Sends a request; the answer's body is left to read.
    pub fn send(
        &mut self,
        req: AppRequest<'_>,
        deadline: Option<Instant>,
    ) -> Result<(Response<()>, Reader<'_>), Error> {
        let head = request(req.method, req.uri, req.headers, req.body.len());
        self.conn
            .send(head, &req.body, deadline)
            .map_err(Error::App)
    }

    /// One readiness probe: `GET uri`, its status; the body is read so that
    /// the connection can serve the first invocation.
    pub fn probe(&mut self, uri: &Uri, timeout: Duration) -> Result<u16, Fault> {
        self.status(Method::GET, uri.clone(), Instant::now() + timeout)
    }

    /// A SnapStart hook: `POST uri` with an empty body; its status.
    pub fn hook(&mut self, uri: Uri, deadline: Instant) -> Result<u16, Fault> {
        self.status(Method::POST, uri, deadline)
    }

    /// An empty request whose answer only counts by its status (the body is
    /// read and dropped, so that the connection stays usable).
    fn status(&mut self, method: Method, uri: Uri, deadline: Instant) -> Result<u16, Fault> {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, self.host.clone());
        let req = request(method, uri, headers, 0);
        let (resp, body) = self.conn.send(req, &[], Some(deadline))?;
        body.drain(MAX_HEAD);
        Ok(resp.status().as_u16())
    }

    /// Whether `url` (`http://host:port/...`) is this app's address.
    pub fn serves(&self, url: &str) -> bool {
        self.conn.is_for(host_port(authority(url)))
    }

    /// Drops the connection (after a snapshot restore, it is dead).
    pub fn reset(&mut self) {
        self.conn.close();
    }
}

/// The request's head as it goes to the app: its own headers, and the
/// body's real length (decisions.md #7) when there is a body or the method
/// carries one.
pub fn request(method: Method, uri: Uri, headers: HeaderMap, body_len: usize) -> Request<()> {
    let mut r = Request::new(());
    *r.method_mut() = method;
    *r.uri_mut() = uri;
    *r.headers_mut() = headers;
    if body_len > 0 || needs_length(r.method()) {
        r.headers_mut()
            .insert(ureq::http::header::CONTENT_LENGTH, body_len.into());
    }
    r
}

/// Methods whose requests carry a body: they get `content-length: 0` when
/// it is empty, as HTTP clients send it (RFC 9110 §8.6).
fn needs_length(method: &Method) -> bool {
    matches!(*method, Method::POST | Method::PUT | Method::PATCH)
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
            let mut app = App::new(&format!("http://{host}:{port}"), Duration::ZERO);
            assert_eq!(app.probe(&url, timeout).unwrap(), 204, "{host}");
        }
    }
}
