//! The invocation loop: one worker fetches an invocation, turns it into a
//! request for the app, and answers it, exactly once, then the next.
//!
//! A worker owns its two connections (Runtime API and app) and its buffers,
//! so nothing is shared between workers on the invocation path. Conversions
//! live in `event`, the bytes on the wire in `transport`.

use std::io::Read;
use std::mem;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use ureq::http::{HeaderMap, HeaderValue, header};

use crate::app::{App, AppResponse};
use crate::config::{Config, InvokeMode};
use crate::error::Error;
use crate::event;
use crate::invocation::Invocation;
use crate::readiness;
use crate::runtime::Runtime;
use crate::transport::{Fault, Reader};

/// The part of an error-status body quoted in the error message.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// Buffers that grew beyond this are given back after the invocation.
const KEEP_BUFFER: usize = 1024 * 1024;

/// Invocations between `next` and their answer (wrapper mode's watchdog waits for them).
pub static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
/// Whether an invocation was served: after that, an app exit is no init error.
pub static SERVED: AtomicBool = AtomicBool::new(false);

pub struct Worker<'c> {
    cfg: &'c Config,
    runtime: Runtime,
    app: App,
    /// False until the app answered a readiness probe (async init).
    ready: bool,
    started: Instant,
    /// The event, the app's body and the Lambda result, reused from one
    /// invocation to the next so that their memory is not mapped afresh.
    payload: Vec<u8>,
    body: Vec<u8>,
    out: Vec<u8>,
    /// The last answer's header map, dropped only when the next replaces it:
    /// freed at the end of each invocation, its page was unmapped and mapped
    /// again by musl's allocator every time (a syscall pair and a page fault
    /// per invocation, measured with strace).
    headers: HeaderMap,
}

/// The request's `Accept-Encoding` when compression is on (`Some(None)`: on, but not sent).
type Accept = Option<Option<HeaderValue>>;

impl<'c> Worker<'c> {
    pub fn new(
        cfg: &'c Config,
        runtime: Runtime,
        app: App,
        ready: bool,
        started: Instant,
    ) -> Worker<'c> {
        Worker {
            cfg,
            runtime,
            app,
            ready,
            started,
            payload: Vec::new(),
            body: Vec::new(),
            out: Vec::new(),
            headers: HeaderMap::new(),
        }
    }

    /// The invocation loop: one event at a time, each answered exactly once.
    pub fn serve(mut self) -> ! {
        loop {
            let inv = self.runtime.next(mem::take(&mut self.payload));
            IN_FLIGHT.fetch_add(1, Ordering::SeqCst);
            let result = match self.cfg.invoke_mode {
                InvokeMode::Buffered => self
                    .buffered(&inv)
                    .and_then(|()| self.runtime.respond(&inv.id, &self.out)),
                InvokeMode::ResponseStream => self.streamed(&inv),
            };
            if let Err(e) = result {
                self.runtime.fail(&inv.id, &e);
            }
            self.payload = inv.payload;
            for buf in [&mut self.payload, &mut self.body, &mut self.out] {
                if buf.capacity() > KEEP_BUFFER {
                    *buf = Vec::new();
                }
            }
            SERVED.store(true, Ordering::SeqCst);
            IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Finishes an async init's readiness wait, if it is still open, by the
    /// invocation's deadline or `AWS_LWA_READINESS_CHECK_TIMEOUT_SECONDS`.
    fn ensure_ready(&mut self, deadline: Option<Instant>) -> Result<(), Error> {
        if !self.ready {
            let ready_by = self.cfg.readiness_timeout.map(|t| self.started + t);
            let until = readiness::earliest(deadline, ready_by);
            self.ready = readiness::wait(&mut self.app, &self.cfg.readiness, self.started, until);
            if !self.ready {
                return Err(Error::NotReady {
                    waited_ms: self.started.elapsed().as_millis(),
                });
            }
        }
        Ok(())
    }

    /// Buffered mode: the whole answer, as the source's Lambda JSON, in `self.out`.
    fn buffered(&mut self, inv: &Invocation) -> Result<(), Error> {
        let begun = Instant::now();
        let deadline = inv.deadline();
        self.ensure_ready(deadline)?;
        let (source, req) = event::decode(inv, self.cfg)?;
        if self.cfg.is_hook_path(req.uri.path()) {
            refuse_hook(inv, req.uri.path());
            let mut resp = event::forbidden(mem::take(&mut self.body));
            let encoded = event::encode(source, &mut resp, &mut self.out);
            self.body = resp.body;
            return encoded;
        }
        let accept: Accept = self
            .cfg
            .compression
            .then(|| req.headers.get(header::ACCEPT_ENCODING).cloned());
        let (resp, body) = self.app.send(req, deadline)?;
        let status = resp.status().as_u16();
        if self.cfg.error_status.contains(status) {
            return Err(status_error(status, body));
        }
        let mut buf = mem::take(&mut self.body);
        let read = body.read_to_end(&mut buf, event::MAX_RESPONSE);
        let mut resp = AppResponse {
            status,
            headers: resp.into_parts().0.headers,
            body: buf,
        };
        if let Err(e) = read {
            self.body = resp.body;
            return Err(Error::App(e));
        }
        #[cfg(feature = "compression")]
        if let Some(accept) = &accept {
            crate::compress::apply(accept.as_ref(), &mut resp);
        }
        #[cfg(not(feature = "compression"))]
        let _ = accept;
        log::debug!(
            "invoke {}: {source:?} -> {} ({} bytes, {} ms)",
            inv.id,
            resp.status,
            resp.body.len(),
            begun.elapsed().as_millis() as u64
        );
        let encoded = event::encode(source, &mut resp, &mut self.out);
        self.body = resp.body;
        self.headers = resp.headers;
        encoded
    }

    /// Streaming mode: the app's answer forwarded as it arrives (`stream`).
    fn streamed(&mut self, inv: &Invocation) -> Result<(), Error> {
        let deadline = inv.deadline();
        self.ensure_ready(deadline)?;
        let (_, req) = event::decode(inv, self.cfg)?;
        if self.cfg.is_hook_path(req.uri.path()) {
            refuse_hook(inv, req.uri.path());
            let resp = event::forbidden(Vec::new());
            let body = &mut &resp.body[..];
            return stream(&self.runtime, inv, resp.status, &resp.headers, body);
        }
        let (resp, mut body) = self.app.send(req, deadline)?;
        let status = resp.status().as_u16();
        if self.cfg.error_status.contains(status) {
            return Err(status_error(status, body));
        }
        stream(&self.runtime, inv, status, resp.headers(), &mut body)
    }
}

/// Streams an answer: the prelude, then `body` as it arrives. `Err` only
/// before the stream started; a failure after that is reported in the
/// stream's trailers.
fn stream(
    runtime: &Runtime,
    inv: &Invocation,
    status: u16,
    headers: &HeaderMap,
    body: &mut impl Read,
) -> Result<(), Error> {
    let mut stream = runtime.stream(&inv.id)?;
    let head = stream
        .send(&event::prelude(status, headers))
        .and_then(|()| stream.send(&[0; 8]));
    let lost = |e: &dyn std::fmt::Display| {
        log::error!(
            "invocation {}: runtime API response (streaming): {e}",
            inv.id
        )
    };
    if let Err(e) = head {
        lost(&e);
        return Ok(());
    }
    let failure = match stream.copy(body) {
        Ok(_) => None,
        Err(Ok(read)) => Some(read_error(read)),
        Err(Err(write)) => {
            lost(&write);
            return Ok(());
        }
    };
    if let Some(e) = &failure {
        log::error!(
            "invocation {}: {}: {e} (after the stream started: sent as trailers)",
            inv.id,
            e.error_type()
        );
    }
    match stream.finish(failure.as_ref()) {
        Ok(status) if (200..300).contains(&status) => {}
        Ok(status) => lost(&format_args!("answered HTTP {status}")),
        Err(e) => lost(&e),
    }
    Ok(())
}

/// Logs an invocation refused because its path is a SnapStart hook path.
fn refuse_hook(inv: &Invocation, path: &str) {
    log::warn!(
        "invoke {}: {path} is a SnapStart hook path: answered 403, not sent to the app",
        inv.id
    );
}

/// The error for a status listed in `AWS_LWA_ERROR_STATUS_CODES`, quoting the
/// start of the body.
fn status_error(status: u16, body: Reader<'_>) -> Error {
    let mut quoted = Vec::new();
    let _ = body.take(MAX_ERROR_BODY as u64).read_to_end(&mut quoted);
    Error::Status {
        status,
        body: String::from_utf8_lossy(&quoted).into_owned(),
    }
}

/// The error for a failure reading the app's body through `io::Read`, which
/// wraps the transport's `Fault` in an `io::Error`.
fn read_error(e: std::io::Error) -> Error {
    match e.downcast::<Fault>() {
        Ok(fault) => Error::App(fault),
        Err(e) => Error::App(Fault::Io(e)),
    }
}
