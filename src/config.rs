//! Every environment variable the adapter reads, parsed once at start.
//!
//! `from_env()` is the only place that touches the process environment;
//! everything else goes through `from_lookup()`, a pure function of a lookup
//! closure, so tests never set variables. Unusable values are an
//! `Error::Config` naming the variable; values upstream silently ignores are
//! accepted with a warning naming the value used (`Config::warnings`).

use std::borrow::Cow;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::ops::{Range, RangeInclusive};
use std::time::Duration;

use log::LevelFilter;
use ureq::http::HeaderName;
use ureq::http::uri::{Authority, PathAndQuery};

use crate::error::Error;
use crate::json::{push_decimal, push_str};

/// The default app port, as upstream.
const DEFAULT_PORT: u16 = 8080;

/// Upstream's idle time for pooled app connections (`AWS_LWA_POOL_IDLE_TIMEOUT_SECONDS`).
const DEFAULT_POOL_IDLE: Duration = Duration::from_secs(4);

/// More worker threads than this cannot be meant: a thread each, 64 KiB of
/// buffers each when busy.
const MAX_CONCURRENCY: usize = 1024;

/// What the adapter was told to do.
#[derive(Debug)]
pub struct Config {
    /// Base URL of the Runtime API, `http://host:port[/base]`, proxy applied.
    pub runtime_api: String,
    /// Base URL of the Extensions API (never proxied).
    pub extension_api: String,
    /// `http://host:port` of the app.
    pub app: String,
    pub readiness: Readiness,
    /// Cut the readiness wait at 9.8 s and finish it on the first invocation.
    pub async_init: bool,
    /// Prefix removed from request paths, without a trailing `/`.
    pub remove_base_path: Option<String>,
    /// Path of the POST that carries non-HTTP events (default `/events`).
    pub pass_through_path: String,
    /// `AWS_LWA_PASS_THROUGH_ROUTES`: event source (`aws:sqs`) to path, in
    /// the order given; a source not listed goes to `pass_through_path`.
    pub pass_through_routes: Vec<(String, String)>,
    pub compression: bool,
    pub invoke_mode: InvokeMode,
    /// A request header moved to `authorization`.
    pub authorization_source: Option<HeaderName>,
    /// App statuses that turn an invocation into an error.
    pub error_status: StatusSet,
    /// How Lambda initialises this sandbox (`AWS_LAMBDA_INITIALIZATION_TYPE`).
    pub init_type: InitType,
    /// `AWS_LWA_SNAPSTART_BEFORE_CHECKPOINT_PATH`: POSTed before the snapshot.
    pub before_checkpoint: Option<String>,
    /// `AWS_LWA_SNAPSTART_AFTER_RESTORE_PATH`: POSTed after a restore.
    pub after_restore: Option<String>,
    /// The hook paths' canonical forms (`canonical_path`), never served to
    /// an invocation (decisions.md #20).
    hook_paths: Vec<String>,
    /// `AWS_LWA_READINESS_CHECK_TIMEOUT_SECONDS`: bound on each readiness
    /// wait (cold start, before the snapshot, after a restore); `None`: unbounded.
    pub readiness_timeout: Option<Duration>,
    /// `AWS_LWA_POOL_IDLE_TIMEOUT_SECONDS` (default 4 s): how long an idle app
    /// connection is kept; zero means a new connection for every request.
    pub pool_idle_timeout: Duration,
    /// Worker threads, each with its own `next` loop (`AWS_LAMBDA_MAX_CONCURRENCY`).
    pub concurrency: usize,
    /// The `env_config` object of `x-amzn-lambda-context`, as JSON text.
    pub env_config: String,
    /// Problems that did not stop the start, for `main` to log once.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Readiness {
    pub protocol: Protocol,
    /// `http://host:port/path`, the HTTP probe's target.
    pub url: String,
    /// Host and port of the TCP probe.
    pub host: String,
    pub port: u16,
    pub healthy: StatusSet,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Protocol {
    Http,
    Tcp,
}

/// `AWS_LAMBDA_INITIALIZATION_TYPE`, which Lambda sets for every runtime.
#[derive(Debug, Clone, PartialEq)]
pub enum InitType {
    /// `on-demand`, and when unset (local emulators).
    OnDemand,
    /// `provisioned-concurrency`: init has no 10 s limit and runs ahead of traffic.
    ProvisionedConcurrency,
    /// `snap-start`: init ends in a snapshot, restored for later cold starts.
    SnapStart,
    /// Any other value (`lambda-managed-instances`...), kept for the logs.
    Other(String),
}

impl InitType {
    fn parse(value: &str) -> InitType {
        match value.trim() {
            "" | "on-demand" => InitType::OnDemand,
            "provisioned-concurrency" => InitType::ProvisionedConcurrency,
            "snap-start" => InitType::SnapStart,
            other => InitType::Other(other.to_owned()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum InvokeMode {
    Buffered,
    ResponseStream,
}

/// A set of HTTP status codes, as in `500,502-504`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatusSet(Vec<RangeInclusive<u16>>);

impl StatusSet {
    pub fn contains(&self, status: u16) -> bool {
        self.0.iter().any(|r| r.contains(&status))
    }

    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|r| r.is_empty())
    }

    /// Parses upstream's syntax: items split on `,` and trimmed, each a code
    /// or an inclusive range `a-b`. Invalid items are skipped with a warning,
    /// as upstream does; an empty item is skipped silently.
    pub fn parse(var: &str, value: &str, warnings: &mut Vec<String>) -> StatusSet {
        let mut set = Vec::new();
        for item in value.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let parsed = match item.split_once('-') {
                Some((a, b)) => a.parse().ok().zip(b.parse().ok()).map(|(a, b)| a..=b),
                None => item.parse().ok().map(|c| c..=c),
            };
            match parsed {
                Some(range) => set.push(range),
                None => warnings.push(format!(
                    "{var}: ignoring {item:?}, not a status code or a range like 500-599"
                )),
            }
        }
        StatusSet(set)
    }
}

/// Logging settings, read before anything else so later warnings are seen.
#[derive(Debug, PartialEq)]
pub struct Logging {
    /// The adapter's level.
    pub level: LevelFilter,
    /// Every other crate's level.
    pub others: LevelFilter,
    /// `RUST_LOG` directives that name a crate (`ureq_proto=debug`), as
    /// written, comma-separated (env_logger's syntax).
    pub named: String,
    /// One JSON object per line (`AWS_LAMBDA_LOG_FORMAT=JSON`).
    pub json: bool,
    /// Problems with the two variables, for `main` to log once logging is on.
    pub warnings: Vec<String>,
}

impl Logging {
    /// The adapter's level from `AWS_LAMBDA_LOG_LEVEL`, else a bare level in
    /// `RUST_LOG`, else info. Other crates log at warn (decisions.md #21: at
    /// debug, ureq would add several lines per request) unless a `RUST_LOG`
    /// directive names them (`ureq_proto=debug`), which is kept as written.
    #[cfg_attr(lambda_adapter_dist, optimize(size))]
    pub fn from_lookup<'e>(get: impl Fn(&str) -> Option<&'e str>) -> Logging {
        let json =
            get("AWS_LAMBDA_LOG_FORMAT").is_some_and(|v| v.trim().eq_ignore_ascii_case("json"));
        let rust_log = get("RUST_LOG").unwrap_or_default();
        let (bare, named): (Vec<&str>, Vec<&str>) = rust_log
            .split(',')
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .partition(|d| LEVELS.iter().any(|l| d.eq_ignore_ascii_case(l)));
        // Levels parse in any case.
        let mut level = bare
            .last()
            .and_then(|l| l.parse().ok())
            .unwrap_or(LevelFilter::Info);
        let mut warnings = Vec::new();
        if let Some(v) = get("AWS_LAMBDA_LOG_LEVEL").map(str::trim) {
            match v.parse() {
                Ok(LevelFilter::Off) | Err(_) if !v.eq_ignore_ascii_case("fatal") => {
                    warnings.push(format!(
                        "AWS_LAMBDA_LOG_LEVEL: unknown level {:?}, using {}",
                        v.to_ascii_lowercase(),
                        lower(level)
                    ))
                }
                Ok(l) => level = l,
                Err(_) => level = LevelFilter::Error,
            }
        }
        let others = match level {
            LevelFilter::Error | LevelFilter::Off => level,
            _ => LevelFilter::Warn,
        };
        let mut kept = String::new();
        for directive in named {
            // env_logger prints its own complaint about an invalid directive,
            // which would be the one line that is not JSON: check them here.
            let valid = match directive.split_once('=') {
                _ if directive.contains('/') => false,
                Some((_, level)) => {
                    let level = level.trim();
                    level.is_empty() || LEVELS.iter().any(|l| level.eq_ignore_ascii_case(l))
                }
                None => true,
            };
            if valid && directive.matches('=').count() < 2 {
                if !kept.is_empty() {
                    kept.push(',');
                }
                kept.push_str(directive);
            } else {
                warnings.push(format!(
                    "RUST_LOG: ignoring {directive:?}, not a level, a crate or crate=level"
                ));
            }
        }
        Logging {
            level,
            others,
            named: kept,
            json,
            warnings,
        }
    }

    /// The whole filter in env_logger's syntax (`warn,lambda_adapter=info`).
    pub fn filter(&self) -> String {
        let mut filter = format!(
            "{},lambda_adapter={}",
            lower(self.others),
            lower(self.level)
        );
        if !self.named.is_empty() {
            filter.push(',');
            filter.push_str(&self.named);
        }
        filter
    }
}

/// A level as `RUST_LOG` writes it (`warn`).
fn lower(level: LevelFilter) -> String {
    level.as_str().to_ascii_lowercase()
}

/// `RUST_LOG` directives that name no crate.
const LEVELS: &[&str] = &["off", "error", "warn", "info", "debug", "trace"];

impl Config {
    #[cfg_attr(lambda_adapter_dist, optimize(size))]
    pub fn from_lookup<'e>(get: impl Fn(&str) -> Option<&'e str>) -> Result<Config, Error> {
        let mut warnings = Vec::new();

        let extension_api = runtime_api(&get)?;
        let runtime_api =
            match get("AWS_LWA_LAMBDA_RUNTIME_API_PROXY").filter(|v| !v.trim().is_empty()) {
                Some(proxy) => api_base("AWS_LWA_LAMBDA_RUNTIME_API_PROXY", proxy)?,
                None => extension_api.clone(),
            };

        let (port_var, port) = match get("AWS_LWA_PORT") {
            Some(v) => ("AWS_LWA_PORT", Some(v)),
            None => ("PORT", get("PORT")),
        };
        let port = match port {
            Some(v) => parse_port(port_var, v)?,
            None => DEFAULT_PORT,
        };
        let (host_var, host) = legacy(&get, "AWS_LWA_HOST", "HOST", &mut warnings)
            .map_or(("AWS_LWA_HOST", "127.0.0.1".to_owned()), |(var, v)| {
                (var, v.trim().to_owned())
            });
        let app = base_url(host_var, &host, port, "")?;

        let readiness_port = match legacy(
            &get,
            "AWS_LWA_READINESS_CHECK_PORT",
            "READINESS_CHECK_PORT",
            &mut warnings,
        ) {
            Some((var, v)) => parse_port(var, v)?,
            None => port,
        };
        let path = match legacy(
            &get,
            "AWS_LWA_READINESS_CHECK_PATH",
            "READINESS_CHECK_PATH",
            &mut warnings,
        ) {
            Some((var, v)) => parse_path(var, v)?,
            None => "/".to_owned(),
        };
        let protocol = match legacy(
            &get,
            "AWS_LWA_READINESS_CHECK_PROTOCOL",
            "READINESS_CHECK_PROTOCOL",
            &mut warnings,
        ) {
            Some((var, v)) => match v.trim().to_ascii_lowercase().as_str() {
                "http" => Protocol::Http,
                "tcp" => Protocol::Tcp,
                _ => {
                    warnings.push(format!("{var}: unknown protocol {v:?}, using http"));
                    Protocol::Http
                }
            },
            None => Protocol::Http,
        };
        let healthy = healthy_status(&get, &mut warnings)?;
        let readiness = Readiness {
            protocol,
            url: base_url(host_var, &host, readiness_port, &path)?,
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
            port: readiness_port,
            healthy,
        };

        let init_type =
            get("AWS_LAMBDA_INITIALIZATION_TYPE").map_or(InitType::OnDemand, InitType::parse);
        let mut async_init = match legacy(&get, "AWS_LWA_ASYNC_INIT", "ASYNC_INIT", &mut warnings) {
            Some((var, v)) => parse_bool(var, v)?,
            None => false,
        };
        if async_init
            && matches!(
                init_type,
                InitType::SnapStart | InitType::ProvisionedConcurrency
            )
        {
            // A snapshot or a pre-warmed sandbox of a half-started app would
            // serve it; neither init has the 10 s limit async init works around.
            warnings.push(format!(
                "AWS_LWA_ASYNC_INIT: ignored under AWS_LAMBDA_INITIALIZATION_TYPE={}: waiting for the app to be ready",
                if init_type == InitType::SnapStart { "snap-start" } else { "provisioned-concurrency" }
            ));
            async_init = false;
        }
        let remove_base_path = legacy(
            &get,
            "AWS_LWA_REMOVE_BASE_PATH",
            "REMOVE_BASE_PATH",
            &mut warnings,
        )
        .and_then(|(_, v)| base_path(v));
        let pass_through_path = match get("AWS_LWA_PASS_THROUGH_PATH") {
            Some(v) => parse_path("AWS_LWA_PASS_THROUGH_PATH", v)?,
            None => "/events".to_owned(),
        };
        let pass_through_routes = match get("AWS_LWA_PASS_THROUGH_ROUTES") {
            Some(v) => parse_routes(v)
                .map_err(|reason| Error::config("AWS_LWA_PASS_THROUGH_ROUTES", v, reason))?,
            None => Vec::new(),
        };
        let mut hook_paths = Vec::new();
        let mut hook = |var: &'static str| -> Result<Option<String>, Error> {
            let Some(v) = get(var).filter(|v| !v.trim().is_empty()) else {
                return Ok(None);
            };
            let path = parse_path(var, v)?;
            let canonical = hook_path(&path).map_err(|reason| Error::config(var, v, reason))?;
            let mut passed = std::iter::once(&pass_through_path)
                .chain(pass_through_routes.iter().map(|(_, p)| p));
            if let Some(p) = passed.find(|p| canonical_path(p) == canonical) {
                return Err(Error::config(
                    var,
                    v,
                    format!("it is the pass-through path {p}: events could not be posted to it"),
                ));
            }
            hook_paths.push(canonical);
            Ok(Some(path))
        };
        let before_checkpoint = hook("AWS_LWA_SNAPSTART_BEFORE_CHECKPOINT_PATH")?;
        let after_restore = hook("AWS_LWA_SNAPSTART_AFTER_RESTORE_PATH")?;
        let readiness_timeout = get("AWS_LWA_READINESS_CHECK_TIMEOUT_SECONDS").and_then(|v| {
            match seconds(v) {
                Some(d) if !d.is_zero() => Some(d),
                _ => {
                    warnings.push(format!("AWS_LWA_READINESS_CHECK_TIMEOUT_SECONDS: {v:?} is not a number of seconds above 0, waiting for readiness without a limit"));
                    None
                }
            }
        });
        let pool_idle_timeout = match get("AWS_LWA_POOL_IDLE_TIMEOUT_SECONDS") {
            Some(v) => seconds(v).unwrap_or_else(|| {
                warnings.push(format!(
                    "AWS_LWA_POOL_IDLE_TIMEOUT_SECONDS: {v:?} is not a number of seconds, using 4"
                ));
                DEFAULT_POOL_IDLE
            }),
            None => DEFAULT_POOL_IDLE,
        };
        let compression = match get("AWS_LWA_ENABLE_COMPRESSION") {
            Some(v) => parse_bool("AWS_LWA_ENABLE_COMPRESSION", v)?,
            None => false,
        };
        let invoke_mode = match get("AWS_LWA_INVOKE_MODE") {
            Some(v) => match v.trim().to_ascii_lowercase().as_str() {
                "buffered" => InvokeMode::Buffered,
                "response_stream" => InvokeMode::ResponseStream,
                _ => {
                    warnings.push(format!(
                        "AWS_LWA_INVOKE_MODE: unknown mode {v:?}, using buffered"
                    ));
                    InvokeMode::Buffered
                }
            },
            None => InvokeMode::Buffered,
        };
        let authorization_source =
            match get("AWS_LWA_AUTHORIZATION_SOURCE").filter(|v| !v.trim().is_empty()) {
                Some(v) => Some(HeaderName::from_bytes(v.trim().as_bytes()).map_err(|_| {
                    Error::config("AWS_LWA_AUTHORIZATION_SOURCE", v, "not a valid header name")
                })?),
                None => None,
            };
        let error_status = match get("AWS_LWA_ERROR_STATUS_CODES") {
            Some(v) => status_set("AWS_LWA_ERROR_STATUS_CODES", v, &mut warnings)?,
            None => StatusSet::default(),
        };
        let concurrency = match get("AWS_LAMBDA_MAX_CONCURRENCY") {
            Some(v) => match v.trim().parse::<u32>() {
                Ok(n) if n as usize > MAX_CONCURRENCY => {
                    warnings.push(format!("AWS_LAMBDA_MAX_CONCURRENCY: {n} workers is more than {MAX_CONCURRENCY}, using {MAX_CONCURRENCY}"));
                    MAX_CONCURRENCY
                }
                Ok(n) => n.max(1) as usize,
                Err(_) => {
                    warnings.push(format!(
                        "AWS_LAMBDA_MAX_CONCURRENCY: {v:?} is not a number, using 1"
                    ));
                    1
                }
            },
            None => 1,
        };

        Ok(Config {
            runtime_api,
            extension_api,
            app,
            readiness,
            async_init,
            remove_base_path,
            pass_through_path,
            pass_through_routes,
            compression,
            invoke_mode,
            authorization_source,
            error_status,
            init_type,
            before_checkpoint,
            after_restore,
            hook_paths,
            readiness_timeout,
            pool_idle_timeout,
            concurrency,
            env_config: env_config(&get),
            warnings,
        })
    }
}

impl Config {
    /// Whether a request path (as sent to the app: dot segments resolved,
    /// base path removed) is a SnapStart hook path after canonicalisation,
    /// so that the invocation must be refused (decisions.md #20).
    pub fn is_hook_path(&self, path: &str) -> bool {
        !self.hook_paths.is_empty() && self.hook_paths.contains(&canonical_path(path))
    }

    /// The pass-through path for an event source (`aws:sqs`): its route in
    /// `AWS_LWA_PASS_THROUGH_ROUTES`, else `AWS_LWA_PASS_THROUGH_PATH`.
    pub fn pass_through_path_for(&self, source: &str) -> &str {
        self.pass_through_routes
            .iter()
            .find(|(s, _)| s.eq_ignore_ascii_case(source))
            .map_or(&self.pass_through_path, |(_, p)| p)
    }
}

/// A path as the most lenient app would route it, for comparing request
/// paths with hook paths: percent-escapes decoded until none is left
/// (`%2573` is `s`), `;` parameters cut from each segment (Tomcat and Spring
/// ignore them), empty segments and a trailing `/` dropped (`//a/` is `/a`),
/// `.` and `..` resolved, and ASCII lower case (routers compare ASCII case;
/// Unicode case tables would cost 17 KB). Idempotent; the result starts with
/// `/` and has no `.`, `..` or empty segment.
#[cfg_attr(lambda_adapter_dist, optimize(size))]
pub fn canonical_path(path: &str) -> String {
    let mut bytes = path.as_bytes().to_vec();
    loop {
        let decoded: Vec<u8> = percent_encoding::percent_decode(&bytes).collect();
        if decoded == bytes {
            break;
        }
        bytes = decoded;
    }
    let text = String::from_utf8_lossy(&bytes).to_ascii_lowercase();
    let mut out: Vec<&str> = Vec::new();
    for seg in text.split('/') {
        match seg.split(';').next().unwrap_or("") {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            seg => out.push(seg),
        }
    }
    if out.is_empty() {
        return "/".to_owned();
    }
    let mut canonical = String::with_capacity(text.len());
    for seg in out {
        canonical.push('/');
        canonical.push_str(seg);
    }
    canonical
}

/// A hook path's canonical form, or why it cannot be guarded: one that
/// collapses to `/` would refuse every request, and one with a `%` left
/// after decoding (a malformed or double escape) could be reached in a form
/// the guard and the app decode differently.
pub fn hook_path(path: &str) -> Result<String, String> {
    let bytes = path.as_bytes();
    let malformed = bytes.iter().enumerate().any(|(i, &b)| {
        b == b'%'
            && !(bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    });
    if malformed {
        return Err("a % that does not start an escape like %2F cannot be guarded".into());
    }
    let once: Cow<[u8]> = percent_encoding::percent_decode(bytes).into();
    if once.contains(&b'%') {
        return Err("its decoded form still contains a %, so it cannot be guarded".into());
    }
    let canonical = canonical_path(path);
    if canonical == "/" {
        return Err(
            "it comes down to / after canonicalisation: every request would be refused".into(),
        );
    }
    Ok(canonical)
}

/// `AWS_LWA_PASS_THROUGH_ROUTES`: `source=/path` items split on `,` and
/// trimmed, as in `aws:sqs=/sqs,aws:sns=/sns`; an empty item is skipped.
/// The error names the first item that is not usable.
#[cfg_attr(lambda_adapter_dist, optimize(size))]
pub fn parse_routes(value: &str) -> Result<Vec<(String, String)>, String> {
    let mut routes: Vec<(String, String)> = Vec::new();
    for item in value.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let Some((source, path)) = item.split_once('=') else {
            return Err(format!(
                "item {item:?} is not source=/path (example: aws:sqs=/sqs)"
            ));
        };
        let (source, path) = (source.trim(), path.trim());
        if source.is_empty() || source.bytes().any(|b| !b.is_ascii_graphic()) {
            return Err(format!(
                "item {item:?}: the source must be a name like aws:sqs"
            ));
        }
        if let Err(Error::Config { reason, .. }) = parse_path("", path) {
            return Err(format!("item {item:?}: {reason}"));
        }
        if routes.iter().any(|(s, _)| s.eq_ignore_ascii_case(source)) {
            return Err(format!("item {item:?}: {source} is routed twice"));
        }
        routes.push((source.to_owned(), path.to_owned()));
    }
    Ok(routes)
}

/// Seconds as a decimal number (`4`, `0.5`), not negative.
/// A plain decimal number of seconds, `2` or `0.5` (down to nanoseconds).
/// Parsed by hand: `f64`'s parser would add 15 KB to the binary for two
/// variables.
fn seconds(value: &str) -> Option<Duration> {
    let (whole, fraction) = value.trim().split_once('.').unwrap_or((value.trim(), ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.len() + fraction.len() == 0 || !digits(whole) || !digits(fraction) {
        return None;
    }
    let secs = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let nanos = fraction
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(9)
        .fold(0, |n, b| n * 10 + u32::from(b - b'0'));
    Some(Duration::new(secs, nanos))
}

/// The Runtime API base URL, without the proxy: where `/runtime/init/error`
/// goes when the rest of the configuration is unusable.
pub fn runtime_api<'e>(get: &impl Fn(&str) -> Option<&'e str>) -> Result<String, Error> {
    match get("AWS_LAMBDA_RUNTIME_API") {
        Some(v) => api_base("AWS_LAMBDA_RUNTIME_API", v),
        None => Err(Error::Config {
            var: "AWS_LAMBDA_RUNTIME_API",
            value: None,
            reason: "the adapter serves Lambda invocations, inside AWS Lambda or a local emulator that sets it".into(),
        }),
    }
}

/// The process environment, read once (a `getenv` per variable costs more
/// than one pass over Lambda's few dozen variables). The only reader of the
/// environment; nothing writes it.
pub struct Env {
    /// The adapter's variables that are set and not blank, as
    /// `NAME=value\0` entries: one string for all of them.
    text: String,
    /// Where each entry's name ends (its `=`) and its value ends, in `text`.
    vars: Vec<(usize, usize)>,
    /// Bit `n % 64` is set when a name of `n` bytes is in `vars`: most
    /// lookups are of variables that are not set, and end here.
    lengths: u64,
    /// The adapter's variables that were set but empty, sorted.
    empty: Vec<String>,
}

/// Variables the adapter reads besides every `AWS_LWA_*` one: an empty value
/// of these means unset.
const NAMES: &[&str] = &[
    "PORT",
    "HOST",
    "READINESS_CHECK_PORT",
    "READINESS_CHECK_PATH",
    "READINESS_CHECK_PROTOCOL",
    "ASYNC_INIT",
    "REMOVE_BASE_PATH",
    "AWS_LAMBDA_RUNTIME_API",
    "AWS_LAMBDA_MAX_CONCURRENCY",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_LEVEL",
    "AWS_LAMBDA_LOG_FORMAT",
];

fn length_bit(name: &str) -> u64 {
    1 << (name.len() % 64)
}

/// Where the names and values of the adapter's variables are in an
/// environment block (`NAME=value\0...`).
fn ours_in(block: &[u8]) -> impl Iterator<Item = (Range<usize>, Range<usize>)> + '_ {
    let mut start = 0;
    std::iter::from_fn(move || {
        while start < block.len() {
            let rest = &block[start..];
            let end = nul(rest).unwrap_or(rest.len());
            let entry = &rest[..end];
            let at = start;
            start += end + 1;
            // Most of Lambda's variables are not the adapter's: the first
            // byte rules them out before any search for `=`.
            if !matches!(entry.first(), Some(b'A' | b'R' | b'P' | b'H')) {
                continue;
            }
            if let Some(eq) = entry.iter().position(|&b| b == b'=')
                && ours(&entry[..eq])
            {
                return Some((at..at + eq, at + eq + 1..at + end));
            }
        }
        None
    })
}

/// Where the first NUL byte of `b` is: eight bytes at a time (a byte at a
/// time, the environment block is most of the work before the first `next`).
fn nul(b: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    let mut at = 0;
    for word in b.chunks_exact(8) {
        let w = u64::from_ne_bytes(word.try_into().expect("BUG: chunks of 8"));
        // Non-zero exactly when a byte of `w` is zero.
        if w.wrapping_sub(ONES) & !w & HIGHS != 0 {
            break;
        }
        at += 8;
    }
    b[at..].iter().position(|&c| c == 0).map(|i| at + i)
}

/// Whether the adapter reads a variable of this name: every `AWS_LWA_*` and
/// `AWS_LAMBDA_*` one, the legacy and `PORT`/`HOST` names, and `RUST_LOG`.
fn ours(name: &[u8]) -> bool {
    match name.strip_prefix(b"AWS_") {
        // Every other `AWS_` name (keys, region...) is not.
        Some(rest) => rest.starts_with(b"LWA_") || rest.starts_with(b"LAMBDA_"),
        None => name == b"RUST_LOG" || NAMES.iter().any(|n| n.as_bytes() == name),
    }
}

impl Env {
    #[cfg_attr(lambda_adapter_dist, optimize(size))]
    pub fn read() -> Env {
        // The block the kernel passed at exec (nothing in the adapter changes
        // its own environment): one read, and one string for the variables
        // the adapter reads, where `std::env::vars_os` makes two for each
        // variable (measured: 33k of the instructions before the first `next`).
        let mut block = Vec::with_capacity(8 * 1024);
        let read = std::fs::File::open("/proc/self/environ")
            .and_then(|mut f| std::io::Read::read_to_end(&mut f, &mut block));
        if read.is_err() {
            // No /proc (an unusual container): one variable at a time.
            let vars: Vec<(String, String)> = std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .filter(|(k, _)| ours(k.as_bytes()))
                .collect();
            return Env::from_vars(vars.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        }
        let str = std::str::from_utf8;
        match str(&block) {
            // Cut at ASCII bytes, the pieces of valid text are valid text.
            Ok(text) => Env::from_vars(ours_in(&block).map(|(k, v)| (&text[k], &text[v]))),
            Err(_) => Env::from_vars(
                ours_in(&block)
                    .filter_map(|(k, v)| Some((str(&block[k]).ok()?, str(&block[v]).ok()?))),
            ),
        }
    }

    /// `vars` (the adapter's, as `read` passes them); those whose value is
    /// empty or blank are dropped: CloudFormation, SAM and Terraform templates write
    /// `""` for optional values, which must behave as unset (decisions.md #18).
    pub fn from_vars<'v>(vars: impl IntoIterator<Item = (&'v str, &'v str)>) -> Env {
        let mut env = Env {
            text: String::with_capacity(512),
            vars: Vec::with_capacity(16),
            lengths: 0,
            empty: Vec::new(),
        };
        for (k, v) in vars {
            if v.trim().is_empty() && (k.starts_with("AWS_LWA_") || NAMES.contains(&k)) {
                env.empty.push(k.to_owned());
                continue;
            }
            env.lengths |= length_bit(k);
            env.text.push_str(k);
            let eq = env.text.len();
            env.text.push('=');
            env.text.push_str(v);
            env.vars.push((eq, env.text.len()));
            env.text.push('\0');
        }
        env.empty.sort();
        env
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        if self.lengths & length_bit(name) == 0 {
            return None;
        }
        let mut start = 0;
        for &(eq, end) in &self.vars {
            if eq - start == name.len() && self.text.as_bytes()[start..eq] == *name.as_bytes() {
                return Some(&self.text[eq + 1..end]);
            }
            start = end + 1;
        }
        None
    }

    /// Whether this process runs inside Lambda (or an emulator): the Runtime API is known.
    pub fn in_lambda(&self) -> bool {
        self.get("AWS_LAMBDA_RUNTIME_API").is_some()
    }

    /// One line naming the variables that were empty, for `main` to log.
    pub fn warning(&self) -> Option<String> {
        (!self.empty.is_empty()).then(|| {
            format!(
                "empty variables are treated as unset: {}",
                self.empty.join(", ")
            )
        })
    }
}

/// Looks up a variable under its `AWS_LWA_` name, then under its legacy name
/// (with a deprecation warning, as upstream 1.x). Returns the name found.
fn legacy<'e>(
    get: &impl Fn(&str) -> Option<&'e str>,
    name: &'static str,
    old: &'static str,
    warnings: &mut Vec<String>,
) -> Option<(&'static str, &'e str)> {
    if let Some(v) = get(name) {
        return Some((name, v));
    }
    let v = get(old)?;
    warnings.push(format!("environment variable {old} is deprecated and will be removed in version 2.0: use {name} instead"));
    Some((old, v))
}

/// `host:port`, `http://host:port` or `http://host:port/base` (decisions.md #15).
#[cfg_attr(lambda_adapter_dist, optimize(size))]
fn api_base(var: &'static str, value: &str) -> Result<String, Error> {
    let v = value.trim().trim_end_matches('/');
    let rest = match v.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => rest,
        Some(_) => {
            return Err(Error::config(
                var,
                value,
                "only http:// is supported (no TLS: the API is on loopback)",
            ));
        }
        None => v,
    };
    let (authority, base) = rest.find('/').map_or((rest, ""), |i| rest.split_at(i));
    // An IP address and port (as Lambda sets it) is valid as it is.
    let valid = authority.parse::<SocketAddr>().is_ok() || authority.parse::<Authority>().is_ok();
    if authority.is_empty() || !valid {
        return Err(Error::config(
            var,
            value,
            "expected host:port, optionally with http:// and a base path",
        ));
    }
    if !base.is_empty()
        && base
            .parse::<PathAndQuery>()
            .map_or(true, |p| p.query().is_some())
    {
        return Err(Error::config(
            var,
            value,
            "the base path is not a valid URL path",
        ));
    }
    Ok(["http://", authority, base].concat())
}

/// `http://host:port{path}`, checked to be a URL whose host is exactly `host`.
#[cfg_attr(lambda_adapter_dist, optimize(size))]
fn base_url(var: &'static str, host: &str, port: u16, path: &str) -> Result<String, Error> {
    let mut url = Vec::with_capacity(host.len() + path.len() + 13);
    url.extend_from_slice(b"http://");
    url.extend_from_slice(host.as_bytes());
    url.push(b':');
    push_decimal(&mut url, port.into());
    let authority = url.len();
    url.extend_from_slice(path.as_bytes());
    let url = String::from_utf8(url).expect("BUG: strs and ASCII are UTF-8");
    // An IP address (the default, and the usual value) is a valid host as it is.
    let ip = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(v6) => v6.parse::<Ipv6Addr>().is_ok(),
        None => host.parse::<Ipv4Addr>().is_ok(),
    };
    if ip {
        return Ok(url);
    }
    match url["http://".len()..authority].parse::<Authority>() {
        Ok(a) if a.host() == host && a.port_u16() == Some(port) => Ok(url),
        _ => Err(Error::config(
            var,
            host,
            "not a valid host name or IP address (write IPv6 as [::1])",
        )),
    }
}

fn parse_port(var: &'static str, value: &str) -> Result<u16, Error> {
    match value.trim().parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(Error::config(
            var,
            value,
            "expected a port number between 1 and 65535",
        )),
    }
}

/// A URL path: must start with `/` and hold only URL characters.
fn parse_path(var: &'static str, value: &str) -> Result<String, Error> {
    let v = value.trim();
    if !v.starts_with('/') {
        return Err(Error::config(var, value, "a path must start with /"));
    }
    match v.parse::<PathAndQuery>() {
        Ok(p) if p.as_str() == v => Ok(v.to_owned()),
        _ => Err(Error::config(
            var,
            value,
            "not a valid URL path (percent-encode spaces and other special characters)",
        )),
    }
}

/// `true/false/1/0/yes/no` in any case (decisions.md #9); empty is false.
fn parse_bool(var: &'static str, value: &str) -> Result<bool, Error> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" | "" => Ok(false),
        _ => Err(Error::config(var, value, "expected true or false")),
    }
}

/// `/api/` and `api` both mean `/api`; empty or `/` means nothing to remove.
fn base_path(value: &str) -> Option<String> {
    let v = value.trim().trim_matches('/');
    (!v.is_empty()).then(|| format!("/{v}"))
}

#[cfg_attr(lambda_adapter_dist, optimize(size))]
fn status_set(
    var: &'static str,
    value: &str,
    warnings: &mut Vec<String>,
) -> Result<StatusSet, Error> {
    let set = StatusSet::parse(var, value, warnings);
    if set.is_empty() && !value.trim().is_empty() {
        return Err(Error::config(
            var,
            value,
            "no valid status code or range (example: 500,502-504)",
        ));
    }
    Ok(set)
}

/// `AWS_LWA_READINESS_CHECK_HEALTHY_STATUS` (default 100-499), or the
/// deprecated `AWS_LWA_READINESS_CHECK_MIN_UNHEALTHY_STATUS` as `100..N`.
fn healthy_status<'e>(
    get: &impl Fn(&str) -> Option<&'e str>,
    warnings: &mut Vec<String>,
) -> Result<StatusSet, Error> {
    if let Some(v) = get("AWS_LWA_READINESS_CHECK_HEALTHY_STATUS") {
        return status_set("AWS_LWA_READINESS_CHECK_HEALTHY_STATUS", v, warnings);
    }
    let mut max = 499;
    if let Some(v) = get("AWS_LWA_READINESS_CHECK_MIN_UNHEALTHY_STATUS") {
        warnings.push(
            "environment variable AWS_LWA_READINESS_CHECK_MIN_UNHEALTHY_STATUS is deprecated: use AWS_LWA_READINESS_CHECK_HEALTHY_STATUS instead (e.g. 100-499)".into(),
        );
        match v.trim().parse::<u16>() {
            Ok(n) if n > 100 => max = n - 1,
            _ => warnings.push(format!("AWS_LWA_READINESS_CHECK_MIN_UNHEALTHY_STATUS: {v:?} is not a status above 100, using 500")),
        }
    }
    Ok(StatusSet(vec![100..=max]))
}

/// The function's identity for `x-amzn-lambda-context`, built once.
#[cfg_attr(lambda_adapter_dist, optimize(size))]
fn env_config<'e>(get: &impl Fn(&str) -> Option<&'e str>) -> String {
    let text = |name| get(name).unwrap_or_default();
    let memory = get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE").and_then(|m| m.trim().parse::<i64>().ok());
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"{\"function_name\":");
    push_str(&mut out, text("AWS_LAMBDA_FUNCTION_NAME"));
    out.extend_from_slice(b",\"memory\":");
    match memory {
        Some(m) => {
            if m < 0 {
                out.push(b'-');
            }
            push_decimal(&mut out, m.unsigned_abs());
        }
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"version\":");
    push_str(&mut out, text("AWS_LAMBDA_FUNCTION_VERSION"));
    out.extend_from_slice(b",\"log_stream\":");
    push_str(&mut out, text("AWS_LAMBDA_LOG_STREAM_NAME"));
    out.extend_from_slice(b",\"log_group\":");
    push_str(&mut out, text("AWS_LAMBDA_LOG_GROUP_NAME"));
    out.push(b'}');
    let out = String::from_utf8(out).expect("BUG: JSON written by serde_json is UTF-8");
    // It goes into a header value, where DEL cannot be: escape it, as
    // `event::compact_json` does for the request context (upstream #732).
    if out.contains('\u{7f}') {
        return out.replace('\u{7f}', "\\u007f");
    }
    out
}

#[cfg(test)]
mod tests;
