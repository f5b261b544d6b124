//! lambda-adapter runs an unmodified web app on AWS Lambda: it fetches each
//! invocation from the Runtime API, turns it into a plain HTTP request to the
//! app, and turns the app's answer into what Lambda expects.
//!
//! This file is the lifecycle only: arguments, logging, configuration, the
//! extension thread, readiness, then the invocation loop. Conversions live in
//! `event`, the two HTTP peers in `runtime` and `app`, wrapper mode's process
//! handling in `wrapper`.

#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::io::{Read, Write};
use std::process::exit;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use lambda_adapter::app::{self, App};
use lambda_adapter::config::{self, Config, Env, InvokeMode, Logging};
use lambda_adapter::error::Error;
use lambda_adapter::event::Source;
use lambda_adapter::runtime::{self, Invocation, Runtime};
use lambda_adapter::{event, extension, readiness, wrapper};
use ureq::Body;
use ureq::http::{HeaderValue, Response, header};

/// Lambda's Init phase is limited to 10 s; async init stops waiting just before (upstream #53).
const ASYNC_INIT_LIMIT: Duration = Duration::from_millis(9_800);

/// How long start-up waits for the extension registration before serving anyway.
const REGISTRATION_WAIT: Duration = Duration::from_secs(2);

/// The part of an error-status body quoted in the error message.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// Wrapper mode: how often the helper checks that the app is still running.
const APP_WATCH_EVERY: Duration = Duration::from_millis(100);

/// Invocations between `next` and their answer (wrapper mode's watchdog waits for them).
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
/// Whether an invocation was served: after that, an app exit is no init error.
static SERVED: AtomicBool = AtomicBool::new(false);

const USAGE: &str = concat!(
    "lambda-adapter ",
    env!("CARGO_PKG_VERSION"),
    r#": run an unmodified web app on AWS Lambda

Usage:
  lambda-adapter                 sidecar: as /opt/extensions/lambda-adapter, beside the app
  lambda-adapter [--] CMD ARGS   wrapper: as ENTRYPOINT, with the app as CMD; outside Lambda
                                 (no AWS_LAMBDA_RUNTIME_API) it just runs CMD
  lambda-adapter --help | --version

Environment (default):
  AWS_LWA_PORT, then PORT (8080)         the app's port
  AWS_LWA_HOST (127.0.0.1)               the app's host
  AWS_LWA_READINESS_CHECK_PORT (the app port)
  AWS_LWA_READINESS_CHECK_PATH (/)
  AWS_LWA_READINESS_CHECK_PROTOCOL (http)          http or tcp
  AWS_LWA_READINESS_CHECK_HEALTHY_STATUS (100-499) codes and ranges
  AWS_LWA_ASYNC_INIT (false)             stop waiting for readiness at 9.8 s
  AWS_LWA_REMOVE_BASE_PATH (none)        path prefix removed from requests
  AWS_LWA_PASS_THROUGH_PATH (/events)    where non-HTTP events are POSTed
  AWS_LWA_PASS_THROUGH_ROUTES (none)     a path per event source: aws:sqs=/sqs,aws:sns=/sns
  AWS_LWA_SNAPSTART_BEFORE_CHECKPOINT_PATH, AWS_LWA_SNAPSTART_AFTER_RESTORE_PATH (none)
                                         SnapStart hooks POSTed to; invocations of them get 403
  AWS_LWA_READINESS_CHECK_TIMEOUT_SECONDS (unbounded)  limit of a readiness wait, e.g. 0.5
  AWS_LWA_POOL_IDLE_TIMEOUT_SECONDS (4)  idle app connections kept; 0: one per request
  AWS_LWA_INVOKE_MODE (buffered)         buffered or response_stream
  AWS_LWA_ENABLE_COMPRESSION (false)     gzip responses (cargo feature `compression`; br: `brotli`)
  AWS_LWA_AUTHORIZATION_SOURCE (none)    header moved to authorization
  AWS_LWA_ERROR_STATUS_CODES (none)      app statuses that fail the invocation
  AWS_LWA_LAMBDA_RUNTIME_API_PROXY (none)  proxy for Runtime API calls
  AWS_LAMBDA_MAX_CONCURRENCY (1)         invocations served at once
  AWS_LAMBDA_LOG_LEVEL, then RUST_LOG (info); AWS_LAMBDA_LOG_FORMAT (text, or JSON)
  Legacy names HOST, READINESS_CHECK_PORT/PATH/PROTOCOL, ASYNC_INIT, REMOVE_BASE_PATH still work.
"#
);

fn main() {
    let started = Instant::now();
    let mut args: Vec<OsString> = std::env::args_os().skip(1).collect();
    match args.first().and_then(|a| a.to_str()) {
        Some("--help" | "-h") => return print!("{USAGE}"),
        Some("--version" | "-V") => {
            return println!("lambda-adapter {}", env!("CARGO_PKG_VERSION"));
        }
        Some("--") => drop(args.remove(0)),
        _ => {}
    }
    let env = Env::read();
    let get = |name: &str| env.get(name);
    init_logging(Logging::from_lookup(get));
    if !args.is_empty() {
        let e = wrapper::exec(&args, env.in_lambda());
        report_init_error(&get, &e);
        log::error!("{e}");
        exit(match e {
            Error::AppStart {
                not_found: true, ..
            } => 127,
            _ => 126,
        });
    }
    if let Err(e) = try_main(&get, started) {
        log::error!("{e}");
        exit(1);
    }
}

fn try_main(get: &impl Fn(&str) -> Option<String>, started: Instant) -> Result<(), Error> {
    let cfg = Config::from_lookup(get).inspect_err(|e| report_init_error(get, e))?;
    for warning in &cfg.warnings {
        log::warn!("{warning}");
    }
    if cfg.compression && !cfg!(feature = "compression") {
        log::warn!(
            "AWS_LWA_ENABLE_COMPRESSION: this build has no compression (cargo feature `compression`); responses are sent as the app wrote them"
        );
    }
    if cfg.compression && cfg.invoke_mode == InvokeMode::ResponseStream {
        log::warn!("AWS_LWA_ENABLE_COMPRESSION: compression is not applied to streamed responses");
    }
    if let Some(pid) = cfg.app_pid {
        watch_app(pid, &cfg.runtime_api);
    }
    let agent = runtime::agent();
    let registration = extension::start(&cfg.extension_api, agent.clone(), |reason| {
        log::info!("shutdown ({reason})");
        exit(0);
    });
    let app = App::new();
    let until = cfg.async_init.then(|| started + ASYNC_INIT_LIMIT);
    let ready = readiness::wait(&app, &cfg.readiness, started, until);
    if !ready {
        log::info!("async init: serving invocations, the first one finishes waiting for the app");
    }
    registration.wait(REGISTRATION_WAIT);
    // Lambda Managed Instances: one worker per concurrent invocation, each
    // with its own connections; nothing is shared on the hot path.
    thread::scope(|scope| {
        for i in 1..cfg.concurrency {
            let cfg = &cfg;
            let spawned = thread::Builder::new()
                .name(format!("worker-{i}"))
                .spawn_scoped(scope, move || {
                    Worker::new(
                        cfg,
                        Runtime::new(&cfg.runtime_api),
                        App::new(),
                        ready,
                        started,
                    )
                    .serve()
                });
            if let Err(e) = spawned {
                log::error!(
                    "could not start worker {}: {e}; serving with {i} workers",
                    i + 1
                );
                break;
            }
        }
        Worker::new(
            &cfg,
            Runtime::with_agent(&cfg.runtime_api, agent),
            app,
            ready,
            started,
        )
        .serve()
    })
}

/// One invocation loop with its own connections and buffers: nothing is
/// shared between workers on the invocation path.
struct Worker<'c> {
    cfg: &'c Config,
    runtime: Runtime,
    app: App,
    /// False until the app answered a readiness probe (async init).
    ready: bool,
    started: Instant,
    /// The app's body and the Lambda result, reused from one invocation to
    /// the next so that their memory is not mapped afresh each time.
    body: Vec<u8>,
    out: Vec<u8>,
}

/// Buffers that grew beyond this are given back after the invocation.
const KEEP_BUFFER: usize = 1024 * 1024;

impl<'c> Worker<'c> {
    fn new(
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
            body: Vec::new(),
            out: Vec::new(),
        }
    }

    /// The invocation loop: one event at a time, each answered exactly once.
    fn serve(mut self) -> ! {
        loop {
            let inv = self.runtime.next();
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
            for buf in [&mut self.body, &mut self.out] {
                if buf.capacity() > KEEP_BUFFER {
                    *buf = Vec::new();
                }
            }
            SERVED.store(true, Ordering::SeqCst);
            IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Everything up to the app's response head: finishing an async init's
    /// readiness wait, decoding the event, sending the request.
    fn request(&mut self, inv: &Invocation) -> Result<(Source, Accept, Response<Body>), Error> {
        let deadline = inv.deadline();
        if !self.ready {
            self.ready = readiness::wait(&self.app, &self.cfg.readiness, self.started, deadline);
            if !self.ready {
                return Err(Error::NotReady {
                    waited_ms: self.started.elapsed().as_millis(),
                });
            }
        }
        let (source, req) = event::decode(inv, self.cfg)?;
        if self.cfg.is_hook_path(req.uri.path()) {
            log::warn!(
                "invoke {}: {} is a SnapStart hook path: answered 403, not sent to the app",
                inv.id,
                req.uri.path()
            );
            return Ok((source, None, event::forbidden()));
        }
        let accept = self
            .cfg
            .compression
            .then(|| req.headers.get(header::ACCEPT_ENCODING).cloned());
        Ok((source, accept, self.app.send(req, deadline)?))
    }

    /// Buffered mode: the whole answer, as the source's Lambda JSON, in `self.out`.
    fn buffered(&mut self, inv: &Invocation) -> Result<(), Error> {
        let begun = Instant::now();
        let (source, accept, resp) = self.request(inv)?;
        if self.cfg.error_status.contains(resp.status().as_u16()) {
            return Err(status_error(resp));
        }
        let mut resp = self
            .app
            .read(resp, event::MAX_RESPONSE, std::mem::take(&mut self.body))?;
        #[cfg(feature = "compression")]
        if let Some(accept) = &accept {
            lambda_adapter::compress::apply(accept.as_ref(), &mut resp);
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
        encoded
    }

    /// Streaming mode: the prelude, then the app's body forwarded as it
    /// arrives. `Err` only before the stream started; a failure after that is
    /// reported in the stream's trailers.
    fn streamed(&mut self, inv: &Invocation) -> Result<(), Error> {
        let (_, _, resp) = self.request(inv)?;
        let status = resp.status().as_u16();
        if self.cfg.error_status.contains(status) {
            return Err(status_error(resp));
        }
        let (parts, body) = resp.into_parts();
        let mut stream = self.runtime.stream(&inv.id)?;
        let head = stream
            .send(&event::prelude(status, &parts.headers))
            .and_then(|()| stream.send(&[0; 8]));
        if let Err(e) = head {
            log::error!(
                "invocation {}: runtime API response (streaming): {e}",
                inv.id
            );
            return Ok(());
        }
        let failure = match stream.copy(&mut body.into_reader()) {
            Ok(_) => {
                self.app.kept(&parts);
                None
            }
            Err(Ok(read)) => Some(app::read_error(read)),
            Err(Err(write)) => {
                log::error!(
                    "invocation {}: runtime API response (streaming): {write}",
                    inv.id
                );
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
            Ok(status) => {
                log::error!(
                    "invocation {}: runtime API response (streaming): answered HTTP {status}",
                    inv.id
                )
            }
            Err(e) => log::error!(
                "invocation {}: runtime API response (streaming): {e}",
                inv.id
            ),
        }
        Ok(())
    }
}

/// Wrapper mode's helper: the app is our parent; when it is gone, so are we.
/// An invocation in flight is answered first (with the app's failure).
fn watch_app(pid: u32, runtime_api: &str) {
    let runtime = Runtime::new(runtime_api);
    thread::Builder::new()
        .name("app-watch".into())
        .spawn(move || {
            loop {
                thread::sleep(APP_WATCH_EVERY);
                if std::os::unix::process::parent_id() != pid
                    && IN_FLIGHT.load(Ordering::SeqCst) == 0
                {
                    break;
                }
            }
            let e = Error::AppExited;
            if !SERVED.load(Ordering::SeqCst)
                && let Err(post) = runtime.init_error(&e)
            {
                log::error!("could not report the init error: {post}");
            }
            log::error!("{e}");
            exit(1);
        })
        .expect("BUG: cannot spawn the app watch thread");
}

/// The request's `Accept-Encoding` when compression is on (`Some(None)`: on, but not sent).
type Accept = Option<Option<HeaderValue>>;

/// The error for a status listed in `AWS_LWA_ERROR_STATUS_CODES`, quoting the
/// start of the body.
fn status_error(resp: Response<Body>) -> Error {
    let status = resp.status().as_u16();
    let mut quoted = Vec::new();
    let _ = resp
        .into_body()
        .into_reader()
        .take(MAX_ERROR_BODY as u64)
        .read_to_end(&mut quoted);
    Error::Status {
        status,
        body: String::from_utf8_lossy(&quoted).into_owned(),
    }
}

/// Posts a configuration error to `/runtime/init/error` when the Runtime API is known.
fn report_init_error(get: &impl Fn(&str) -> Option<String>, e: &Error) {
    if let Ok(api) = config::runtime_api(get)
        && let Err(post) = Runtime::new(&api).init_error(e)
    {
        log::error!("could not report the init error: {post}");
    }
}

/// `[LEVEL target] message`, or one JSON object per line; no timestamps
/// (CloudWatch adds them).
fn init_logging(cfg: Logging) {
    let mut builder = env_logger::Builder::new();
    builder.parse_filters(&cfg.filter);
    if cfg.json {
        builder.format(|f, r| {
            let mut line = Vec::with_capacity(128);
            line.extend_from_slice(b"{\"level\":");
            event::push_str(&mut line, r.level().as_str());
            line.extend_from_slice(b",\"target\":");
            event::push_str(&mut line, crate_of(r.target()));
            line.extend_from_slice(b",\"message\":");
            event::push_str(&mut line, &r.args().to_string());
            line.extend_from_slice(b"}\n");
            f.write_all(&line)
        });
    } else {
        builder.format(|f, r| {
            writeln!(
                f,
                "[{:<5} {}] {}",
                r.level(),
                crate_of(r.target()),
                r.args()
            )
        });
    }
    builder.init();
    if let Some(w) = cfg.warning {
        log::warn!("{w}");
    }
}

fn crate_of(target: &str) -> &str {
    target.split("::").next().unwrap_or(target)
}
