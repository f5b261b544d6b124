//! lambda-adapter runs an unmodified web app on AWS Lambda: it fetches each
//! invocation from the Runtime API, turns it into a plain HTTP request to the
//! app, and turns the app's answer into what Lambda expects.
//!
//! This file is the lifecycle only: arguments, logging, configuration, the
//! extension thread, readiness, then the workers. The invocation loop lives
//! in `worker`, conversions in `event`, the HTTP peers in `runtime` and
//! `app` over `transport`, wrapper mode's process handling in `wrapper`.

#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::io::Write;
use std::process::exit;
use std::sync::atomic::Ordering;
use std::thread;
use std::time::{Duration, Instant};

use lambda_adapter::app::App;
use lambda_adapter::config::{self, Config, Env, InitType, InvokeMode, Logging};
use lambda_adapter::error::Error;
use lambda_adapter::json::push_str;
use lambda_adapter::runtime::Runtime;
use lambda_adapter::worker::{IN_FLIGHT, SERVED, Worker};
use lambda_adapter::{extension, readiness, wrapper};

/// Lambda's Init phase is limited to 10 s; async init stops waiting just before (upstream #53).
const ASYNC_INIT_LIMIT: Duration = Duration::from_millis(9_800);

/// How long a SnapStart hook may take to answer.
const HOOK_TIME: Duration = Duration::from_secs(30);

/// How long start-up waits for the extension registration before serving anyway.
const REGISTRATION_WAIT: Duration = Duration::from_secs(2);

/// Wrapper mode: how often the helper checks that the app is still running.
const APP_WATCH_EVERY: Duration = Duration::from_millis(100);

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
  AWS_LWA_READINESS_CHECK_MIN_UNHEALTHY_STATUS (500)  deprecated: healthy is 100 up to it
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
  AWS_LAMBDA_INITIALIZATION_TYPE (set by Lambda)  snap-start: the hooks above; provisioned-concurrency
                                         and snap-start: no async init
  AWS_LAMBDA_RUNTIME_API (set by Lambda) host:port, or http://host:port/base
  AWS_LAMBDA_LOG_LEVEL, then RUST_LOG (info)  the adapter's level; RUST_LOG=crate=level for others
  AWS_LAMBDA_LOG_FORMAT (text)           text, or JSON
  Legacy names HOST, READINESS_CHECK_PORT/PATH/PROTOCOL, ASYNC_INIT, REMOVE_BASE_PATH still work.
  An empty variable is the same as an unset one.
"#
);

#[cfg_attr(lambda_adapter_dist, optimize(size))]
fn main() {
    let started = Instant::now();
    let mut args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let mut app_pid = None;
    match args.first().and_then(|a| a.to_str()) {
        Some("--help" | "-h") => return print!("{USAGE}"),
        Some("--version" | "-V") => {
            return println!("lambda-adapter {}", env!("CARGO_PKG_VERSION"));
        }
        Some("--") => drop(args.remove(0)),
        // Wrapper mode's helper, started by `wrapper::exec` with the app's PID.
        Some(wrapper::HELPER_FLAG) => {
            app_pid = args.get(1).and_then(|p| p.to_str()?.parse().ok());
            args.clear();
        }
        _ => {}
    }
    let env = Env::read();
    let get = |name: &str| env.get(name);
    init_logging(Logging::from_lookup(get));
    if !args.is_empty() {
        let e = wrapper::exec(&args, env.in_lambda());
        log::error!("{e}");
        report_init_error(&get, &e);
        exit(match e {
            Error::AppStart {
                not_found: true, ..
            } => 127,
            _ => 126,
        });
    }
    if let Some(w) = env.warning() {
        log::warn!("{w}");
    }
    if let Err(e) = try_main(&get, started, app_pid) {
        log::error!("{e}");
        report_init_error(&get, &e);
        exit(1);
    }
}

#[cfg_attr(lambda_adapter_dist, optimize(size))]
fn try_main<'e>(
    get: &impl Fn(&str) -> Option<&'e str>,
    started: Instant,
    app_pid: Option<u32>,
) -> Result<(), Error> {
    let cfg = Config::from_lookup(get)?;
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
    if let Some(pid) = app_pid {
        watch_app(pid, &cfg.runtime_api);
    }
    let registration = extension::start(&cfg.extension_api, |reason| {
        log::info!("shutdown ({reason})");
        exit(0);
    });
    let mut app = App::new(&cfg.app, cfg.pool_idle_timeout);
    let ready_by = cfg.readiness_timeout.map(|t| started + t);
    let async_cut = cfg.async_init.then(|| started + ASYNC_INIT_LIMIT);
    let until = readiness::earliest(async_cut, ready_by);
    let ready = readiness::wait(&mut app, &cfg.readiness, started, until);
    if !ready {
        if async_cut.is_none() || ready_by.is_some_and(|by| Instant::now() >= by) {
            return Err(Error::NotReady {
                waited_ms: started.elapsed().as_millis(),
            });
        }
        log::info!("async init: serving invocations, the first one finishes waiting for the app");
    }
    registration.wait(REGISTRATION_WAIT);
    let mut runtime = Runtime::new(&cfg.runtime_api);
    if cfg.init_type == InitType::SnapStart {
        snapshot(&cfg, &mut app, &mut runtime)?;
    }
    // Lambda Managed Instances: one worker per concurrent invocation, each
    // with its own connections; nothing is shared on the hot path.
    if cfg.concurrency == 1 {
        Worker::new(&cfg, runtime, app, ready, started).serve();
    }
    thread::scope(|scope| {
        for i in 1..cfg.concurrency {
            let cfg = &cfg;
            let spawned = thread::Builder::new()
                .name(format!("worker-{i}"))
                .spawn_scoped(scope, move || {
                    Worker::new(
                        cfg,
                        Runtime::new(&cfg.runtime_api),
                        App::new(&cfg.app, cfg.pool_idle_timeout),
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
        Worker::new(&cfg, runtime, app, ready, started).serve()
    })
}

/// SnapStart (`AWS_LAMBDA_INITIALIZATION_TYPE=snap-start`, where async init
/// is off, so the app is ready): the before-checkpoint hook, then Lambda
/// takes the snapshot; `restore/next` returns in the restored sandbox, where
/// connections made before it are dead. There the after-restore hook and a
/// new readiness check must pass before the first invocation; a failure
/// there goes to `restore/error` and ends the process.
#[cfg_attr(lambda_adapter_dist, optimize(size))]
fn snapshot(cfg: &Config, app: &mut App, runtime: &mut Runtime) -> Result<(), Error> {
    let before = (
        "AWS_LWA_SNAPSTART_BEFORE_CHECKPOINT_PATH",
        &cfg.before_checkpoint,
    );
    hook(cfg, app, before)?;
    log::info!("ready for the snapshot: waiting for restore/next");
    runtime.restore_next()?;
    let restored = Instant::now();
    log::info!("restored from the snapshot");
    app.reset();
    let after = ("AWS_LWA_SNAPSTART_AFTER_RESTORE_PATH", &cfg.after_restore);
    let ready_by = cfg.readiness_timeout.map(|t| restored + t);
    let result = hook(cfg, app, after).and_then(|()| {
        match readiness::wait(app, &cfg.readiness, restored, ready_by) {
            true => Ok(()),
            false => Err(Error::NotReady {
                waited_ms: restored.elapsed().as_millis(),
            }),
        }
    });
    if let Err(e) = result {
        log::error!("after the restore: {e}");
        if let Err(post) = runtime.restore_error(&e) {
            log::error!("could not report the restore error: {post}");
        }
        exit(1);
    }
    Ok(())
}

/// POSTs to a SnapStart hook path, when it is set; non-2xx is a failure.
#[cfg_attr(lambda_adapter_dist, optimize(size))]
fn hook(
    cfg: &Config,
    app: &mut App,
    (var, path): (&'static str, &Option<String>),
) -> Result<(), Error> {
    let Some(path) = path else { return Ok(()) };
    let failed = |problem: String| Error::Hook {
        var,
        problem: format!("POST {path} {problem}"),
    };
    let uri = format!("{}{path}", cfg.app)
        .parse()
        .map_err(|e| failed(format!("is not a URL path: {e}")))?;
    match app.hook(uri, Instant::now() + HOOK_TIME) {
        Ok(status) if (200..300).contains(&status) => {
            log::info!("SnapStart hook {var}: POST {path} answered {status}");
            Ok(())
        }
        Ok(status) => Err(failed(format!("answered {status}"))),
        Err(e) => Err(failed(format!("failed: {e}"))),
    }
}

/// Wrapper mode's helper: the app is our parent; when it is gone, so are we.
/// An invocation in flight is answered first (with the app's failure).
#[cfg_attr(lambda_adapter_dist, optimize(size))]
fn watch_app(pid: u32, runtime_api: &str) {
    let mut runtime = Runtime::new(runtime_api);
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
            log::error!("{e}");
            if !SERVED.load(Ordering::SeqCst)
                && let Err(post) = runtime.init_error(&e)
            {
                log::error!("could not report the init error: {post}");
            }
            exit(1);
        })
        .expect("BUG: cannot spawn the app watch thread");
}

/// Posts a start-up error to `/runtime/init/error` when the Runtime API is
/// known. Called after the error is logged: the post may fail or time out
/// (decisions.md #17).
#[cfg_attr(lambda_adapter_dist, optimize(size))]
fn report_init_error<'e>(get: &impl Fn(&str) -> Option<&'e str>, e: &Error) {
    if let Ok(api) = config::runtime_api(get)
        && let Err(post) = Runtime::new(&api).init_error(e)
    {
        log::error!("could not report the init error: {post}");
    }
}

/// `[LEVEL target] message`, or one JSON object per line; no timestamps
/// (CloudWatch adds them).
#[cfg_attr(lambda_adapter_dist, optimize(size))]
fn init_logging(cfg: Logging) {
    let mut builder = env_logger::Builder::new();
    // Levels set directly: parsing the filter text costs 3k instructions.
    builder
        .filter_level(cfg.others)
        .filter_module("lambda_adapter", cfg.level);
    if !cfg.named.is_empty() {
        builder.parse_filters(&cfg.named);
    }
    if cfg.json {
        builder.format(|f, r| {
            let mut line = Vec::with_capacity(128);
            line.extend_from_slice(b"{\"level\":");
            push_str(&mut line, r.level().as_str());
            line.extend_from_slice(b",\"target\":");
            push_str(&mut line, crate_of(r.target()));
            line.extend_from_slice(b",\"message\":");
            push_str(&mut line, &r.args().to_string());
            line.extend_from_slice(b"}\n");
            f.write_all(&line)
        });
    } else {
        builder.format(|f, r| {
            // Built in one buffer, on the stack when it fits, and written
            // once: `fmt` pads and grows the formatter's buffer in steps.
            let mut line = [0u8; 256];
            let mut rest = &mut line[..];
            if text_line(&mut rest, r).is_ok() {
                let len = 256 - rest.len();
                return f.write_all(&line[..len]);
            }
            let mut long = Vec::with_capacity(512);
            text_line(&mut long, r)?;
            f.write_all(&long)
        });
    }
    builder.init();
    for w in cfg.warnings {
        log::warn!("{w}");
    }
}

/// `[LEVEL crate] message` and a newline.
fn text_line(w: &mut impl Write, r: &log::Record<'_>) -> std::io::Result<()> {
    w.write_all(b"[")?;
    w.write_all(match r.level() {
        log::Level::Error => b"ERROR",
        log::Level::Warn => b"WARN ",
        log::Level::Info => b"INFO ",
        log::Level::Debug => b"DEBUG",
        log::Level::Trace => b"TRACE",
    })?;
    w.write_all(b" ")?;
    w.write_all(crate_of(r.target()).as_bytes())?;
    w.write_all(b"] ")?;
    match r.args().as_str() {
        Some(text) => w.write_all(text.as_bytes())?,
        None => write!(w, "{}", r.args())?,
    }
    w.write_all(b"\n")
}

fn crate_of(target: &str) -> &str {
    &target[..target
        .bytes()
        .position(|b| b == b':')
        .unwrap_or(target.len())]
}
