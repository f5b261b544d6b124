//! Configuration values (`Config::from_lookup`, `Logging::from_lookup`).
//!
//! Input: `NAME=value` lines, as `env` prints them; values are any UTF-8
//! (the process environment gives the adapter nothing else), names anything.
//! `fuzz/seeds/config/` holds the seeds.
//!
//! Properties: an error is `Adapter.InvalidConfig` and names a variable the
//! input set; an accepted configuration serves: the app, readiness and
//! Runtime API URLs parse, the pass-through and HTTP requests an event
//! turns into are valid HTTP/1.1 (`lambda_adapter_fuzz::check_request`),
//! the lambda context is JSON, and the log filter is accepted.

#![no_main]

use lambda_adapter::config::{Config, Logging};
use lambda_adapter::event;
use lambda_adapter::invocation::Invocation;
use lambda_adapter_fuzz::check_request;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use ureq::http::Uri;

/// An HTTP event whose requests every configuration must be able to send.
const V2: &[u8] = include_bytes!("../../tests/fixtures/apigw-v2-get.json");
const REST: &[u8] = include_bytes!("../../tests/fixtures/apigw-v1-get.json");
const SQS: &[u8] = include_bytes!("../../tests/fixtures/sqs.json");

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let vars: Vec<(&str, &str)> = text.lines().filter_map(|l| l.split_once('=')).collect();
    let get = |name: &str| {
        vars.iter()
            .rev() // the last assignment wins, as in a shell
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
    };
    let logging = Logging::from_lookup(get);
    env_logger::Builder::new().parse_filters(&logging.filter());
    let cfg = match Config::from_lookup(get) {
        Ok(cfg) => cfg,
        Err(e) => {
            assert_eq!(e.error_type(), "Adapter.InvalidConfig");
            let message = e.to_string();
            assert!(
                vars.iter().any(|(n, _)| message.contains(&format!("{n}=")))
                    || message.contains("AWS_LAMBDA_RUNTIME_API"),
                "the error names no variable that was set: {message}"
            );
            return;
        }
    };
    check(&cfg);
});

fn check(cfg: &Config) {
    let app: Uri = cfg.app.parse().expect("app URL");
    assert_eq!(app.scheme_str(), Some("http"));
    assert!(app.port_u16().is_some());
    let readiness: Uri = cfg.readiness.url.parse().expect("readiness URL");
    assert_eq!(
        readiness.authority().unwrap().host(),
        app.authority().unwrap().host()
    );
    for api in [&cfg.runtime_api, &cfg.extension_api] {
        for path in [
            "/2018-06-01/runtime/invocation/next",
            "/2020-01-01/extension/register",
        ] {
            let url = format!("{api}{path}");
            let uri: Uri = url.parse().unwrap_or_else(|e| panic!("{url}: {e}"));
            assert_eq!(uri.scheme_str(), Some("http"), "{url}");
        }
    }
    assert!(cfg.concurrency >= 1);
    if let Some(base) = &cfg.remove_base_path {
        assert!(base.starts_with('/') && !base.ends_with('/'), "{base:?}");
    }
    let env: Value = serde_json::from_str(&cfg.env_config).expect("env_config is JSON");
    for key in [
        "function_name",
        "memory",
        "version",
        "log_stream",
        "log_group",
    ] {
        assert!(env.get(key).is_some(), "{key}");
    }
    for payload in [V2, REST, SQS] {
        let inv = Invocation {
            id: "id".into(),
            payload: payload.to_vec(),
            ..Invocation::default()
        };
        let (_, req) = event::decode(&inv, cfg).unwrap_or_else(|e| {
            panic!("a valid event cannot be served under this configuration: {e}; {cfg:?}")
        });
        assert_eq!(req.uri.authority(), app.authority());
        check_request(&req);
    }
}
