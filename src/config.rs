//! Every environment variable the adapter reads, parsed once at start.
//!
//! `from_env()` is the only place that touches the process environment;
//! everything else goes through `from_lookup()`, a pure function of a lookup
//! closure, so tests never set variables. Unusable values are an
//! `Error::Config` naming the variable; values upstream silently ignores are
//! accepted with a warning naming the value used (`Config::warnings`).

use std::ops::RangeInclusive;

use ureq::http::HeaderName;
use ureq::http::uri::{Authority, PathAndQuery};

use crate::error::Error;
use crate::json::push_str;

/// The default app port, as upstream.
const DEFAULT_PORT: u16 = 8080;

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
    pub compression: bool,
    pub invoke_mode: InvokeMode,
    /// A request header moved to `authorization`.
    pub authorization_source: Option<HeaderName>,
    /// App statuses that turn an invocation into an error.
    pub error_status: StatusSet,
    /// Worker threads, each with its own `next` loop (`AWS_LAMBDA_MAX_CONCURRENCY`).
    pub concurrency: usize,
    /// Wrapper mode: the app's PID, when this process is the helper serving for it.
    pub app_pid: Option<u32>,
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
    /// An env_logger filter (`info`, `lambda_adapter=debug`).
    pub filter: String,
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
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Logging {
        let json =
            get("AWS_LAMBDA_LOG_FORMAT").is_some_and(|v| v.trim().eq_ignore_ascii_case("json"));
        let rust_log = get("RUST_LOG").unwrap_or_default();
        let (bare, named): (Vec<&str>, Vec<&str>) = rust_log
            .split(',')
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .partition(|d| LEVELS.iter().any(|l| d.eq_ignore_ascii_case(l)));
        let mut level = bare
            .last()
            .map_or("info".into(), |l| l.to_ascii_lowercase());
        let mut warnings = Vec::new();
        if let Some(v) = get("AWS_LAMBDA_LOG_LEVEL") {
            match v.trim().to_ascii_lowercase().as_str() {
                l @ ("trace" | "debug" | "info" | "warn" | "error") => level = l.into(),
                "fatal" => level = "error".into(),
                l => warnings.push(format!(
                    "AWS_LAMBDA_LOG_LEVEL: unknown level {l:?}, using {level}"
                )),
            }
        }
        let others = if matches!(level.as_str(), "error" | "off") {
            &level
        } else {
            "warn"
        };
        let mut filter = format!("{others},lambda_adapter={level}");
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
                filter.push(',');
                filter.push_str(directive);
            } else {
                warnings.push(format!(
                    "RUST_LOG: ignoring {directive:?}, not a level, a crate or crate=level"
                ));
            }
        }
        Logging {
            filter,
            json,
            warnings,
        }
    }
}

/// `RUST_LOG` directives that name no crate.
const LEVELS: &[&str] = &["off", "error", "warn", "info", "debug", "trace"];

impl Config {
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, Error> {
        let mut warnings = Vec::new();

        let extension_api = runtime_api(&get)?;
        let runtime_api =
            match get("AWS_LWA_LAMBDA_RUNTIME_API_PROXY").filter(|v| !v.trim().is_empty()) {
                Some(proxy) => api_base("AWS_LWA_LAMBDA_RUNTIME_API_PROXY", &proxy)?,
                None => extension_api.clone(),
            };

        let (port_var, port) = match get("AWS_LWA_PORT") {
            Some(v) => ("AWS_LWA_PORT", Some(v)),
            None => ("PORT", get("PORT")),
        };
        let port = match port {
            Some(v) => parse_port(port_var, &v)?,
            None => DEFAULT_PORT,
        };
        let (host_var, host) = legacy(&get, "AWS_LWA_HOST", "HOST", &mut warnings)
            .map_or(("AWS_LWA_HOST", "127.0.0.1".to_owned()), |(var, v)| {
                (var, v.trim().to_owned())
            });
        let app = base_url(host_var, &host, port)?;

        let readiness_port = match legacy(
            &get,
            "AWS_LWA_READINESS_CHECK_PORT",
            "READINESS_CHECK_PORT",
            &mut warnings,
        ) {
            Some((var, v)) => parse_port(var, &v)?,
            None => port,
        };
        let path = match legacy(
            &get,
            "AWS_LWA_READINESS_CHECK_PATH",
            "READINESS_CHECK_PATH",
            &mut warnings,
        ) {
            Some((var, v)) => parse_path(var, &v)?,
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
            url: format!("{}{path}", base_url(host_var, &host, readiness_port)?),
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
            port: readiness_port,
            healthy,
        };

        let async_init = match legacy(&get, "AWS_LWA_ASYNC_INIT", "ASYNC_INIT", &mut warnings) {
            Some((var, v)) => parse_bool(var, &v)?,
            None => false,
        };
        let remove_base_path = legacy(
            &get,
            "AWS_LWA_REMOVE_BASE_PATH",
            "REMOVE_BASE_PATH",
            &mut warnings,
        )
        .and_then(|(_, v)| base_path(&v));
        let pass_through_path = match get("AWS_LWA_PASS_THROUGH_PATH") {
            Some(v) => parse_path("AWS_LWA_PASS_THROUGH_PATH", &v)?,
            None => "/events".to_owned(),
        };
        let compression = match get("AWS_LWA_ENABLE_COMPRESSION") {
            Some(v) => parse_bool("AWS_LWA_ENABLE_COMPRESSION", &v)?,
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
                    Error::config(
                        "AWS_LWA_AUTHORIZATION_SOURCE",
                        &v,
                        "not a valid header name",
                    )
                })?),
                None => None,
            };
        let error_status = match get("AWS_LWA_ERROR_STATUS_CODES") {
            Some(v) => status_set("AWS_LWA_ERROR_STATUS_CODES", &v, &mut warnings)?,
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
            compression,
            invoke_mode,
            authorization_source,
            error_status,
            concurrency,
            app_pid: get(crate::wrapper::APP_PID_VAR).and_then(|p| p.parse().ok()),
            env_config: env_config(&get),
            warnings,
        })
    }
}

/// The Runtime API base URL, without the proxy: where `/runtime/init/error`
/// goes when the rest of the configuration is unusable.
pub fn runtime_api(get: &impl Fn(&str) -> Option<String>) -> Result<String, Error> {
    match get("AWS_LAMBDA_RUNTIME_API") {
        Some(v) => api_base("AWS_LAMBDA_RUNTIME_API", &v),
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
    vars: Vec<(String, String)>,
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
    "AWS_LAMBDA_LOG_LEVEL",
    "AWS_LAMBDA_LOG_FORMAT",
];

impl Env {
    pub fn read() -> Env {
        Env::from_vars(
            std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
        )
    }

    /// Drops the adapter's variables whose value is empty or blank:
    /// CloudFormation, SAM and Terraform templates write `""` for optional
    /// values, which must behave as unset (decisions.md #18).
    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Env {
        let (mut kept, mut empty) = (Vec::new(), Vec::new());
        for (k, v) in vars {
            if v.trim().is_empty() && (k.starts_with("AWS_LWA_") || NAMES.contains(&k.as_str())) {
                empty.push(k);
            } else {
                kept.push((k, v));
            }
        }
        empty.sort();
        Env { vars: kept, empty }
    }

    pub fn get(&self, name: &str) -> Option<String> {
        self.vars
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }

    /// Whether this process runs inside Lambda (or an emulator): the Runtime API is known.
    pub fn in_lambda(&self) -> bool {
        self.vars.iter().any(|(k, _)| k == "AWS_LAMBDA_RUNTIME_API")
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
fn legacy(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    old: &'static str,
    warnings: &mut Vec<String>,
) -> Option<(&'static str, String)> {
    if let Some(v) = get(name) {
        return Some((name, v));
    }
    let v = get(old)?;
    warnings.push(format!("environment variable {old} is deprecated and will be removed in version 2.0: use {name} instead"));
    Some((old, v))
}

/// `host:port`, `http://host:port` or `http://host:port/base` (decisions.md #15).
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
    if authority.is_empty() || authority.parse::<Authority>().is_err() {
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
    Ok(format!("http://{authority}{base}"))
}

/// `http://host:port`, checked to be a URL whose host is exactly `host`.
fn base_url(var: &'static str, host: &str, port: u16) -> Result<String, Error> {
    let authority = format!("{host}:{port}");
    match authority.parse::<Authority>() {
        Ok(a) if a.host() == host && a.port_u16() == Some(port) => {
            Ok(format!("http://{authority}"))
        }
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
fn healthy_status(
    get: &impl Fn(&str) -> Option<String>,
    warnings: &mut Vec<String>,
) -> Result<StatusSet, Error> {
    if let Some(v) = get("AWS_LWA_READINESS_CHECK_HEALTHY_STATUS") {
        return status_set("AWS_LWA_READINESS_CHECK_HEALTHY_STATUS", &v, warnings);
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
fn env_config(get: &impl Fn(&str) -> Option<String>) -> String {
    let text = |name| get(name).unwrap_or_default();
    let memory = get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        .and_then(|m| m.trim().parse::<i64>().ok())
        .map_or_else(|| "null".to_owned(), |m| m.to_string());
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"{\"function_name\":");
    push_str(&mut out, &text("AWS_LAMBDA_FUNCTION_NAME"));
    out.extend_from_slice(b",\"memory\":");
    out.extend_from_slice(memory.as_bytes());
    out.extend_from_slice(b",\"version\":");
    push_str(&mut out, &text("AWS_LAMBDA_FUNCTION_VERSION"));
    out.extend_from_slice(b",\"log_stream\":");
    push_str(&mut out, &text("AWS_LAMBDA_LOG_STREAM_NAME"));
    out.extend_from_slice(b",\"log_group\":");
    push_str(&mut out, &text("AWS_LAMBDA_LOG_GROUP_NAME"));
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
