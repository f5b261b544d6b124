use super::*;

fn lookup<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<&'a str> + 'a {
    move |k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| *v)
}

#[track_caller]
fn check(vars: &[(&str, &str)]) -> Config {
    let mut all = vars.to_vec();
    all.push(("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"));
    Config::from_lookup(lookup(&all)).unwrap()
}

#[track_caller]
fn check_err(vars: &[(&str, &str)], var: &str) {
    let mut all = vars.to_vec();
    all.push(("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"));
    match Config::from_lookup(lookup(&all)) {
        Err(Error::Config { var: v, .. }) => assert_eq!(v, var),
        other => panic!("expected an error naming {var}, got {other:?}"),
    }
}

#[test]
fn defaults_match_upstream() {
    let c = check(&[]);
    assert_eq!(c.runtime_api, "http://127.0.0.1:9001");
    assert_eq!(c.extension_api, "http://127.0.0.1:9001");
    assert_eq!(c.app, "http://127.0.0.1:8080");
    assert_eq!(c.readiness.url, "http://127.0.0.1:8080/");
    assert_eq!(c.readiness.protocol, Protocol::Http);
    assert!(c.readiness.healthy.contains(100) && c.readiness.healthy.contains(499));
    assert!(!c.readiness.healthy.contains(500) && !c.readiness.healthy.contains(99));
    assert!(!c.async_init);
    assert_eq!(c.remove_base_path, None);
    assert_eq!(c.pass_through_path, "/events");
    assert!(!c.compression);
    assert_eq!(c.invoke_mode, InvokeMode::Buffered);
    assert_eq!(c.authorization_source, None);
    assert!(c.error_status.is_empty());
    assert_eq!(c.concurrency, 1);
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
}

#[test]
fn port_and_host_with_fallbacks() {
    assert_eq!(check(&[("PORT", "3000")]).app, "http://127.0.0.1:3000");
    assert!(
        check(&[("PORT", "3000")]).warnings.is_empty(),
        "PORT is not deprecated"
    );
    let c = check(&[
        ("AWS_LWA_PORT", "9000"),
        ("PORT", "3000"),
        ("AWS_LWA_HOST", "localhost"),
    ]);
    assert_eq!(c.app, "http://localhost:9000");
    assert_eq!(c.readiness.url, "http://localhost:9000/");
    assert_eq!(check(&[("AWS_LWA_HOST", "[::1]")]).app, "http://[::1]:8080");
    assert_eq!(check(&[("AWS_LWA_HOST", "[::1]")]).readiness.host, "::1");
    check_err(&[("AWS_LWA_PORT", "http")], "AWS_LWA_PORT");
    check_err(&[("PORT", "70000")], "PORT");
    check_err(&[("AWS_LWA_PORT", "0")], "AWS_LWA_PORT");
    check_err(&[("AWS_LWA_HOST", "::1")], "AWS_LWA_HOST");
    check_err(&[("AWS_LWA_HOST", "a/b")], "AWS_LWA_HOST");
}

#[test]
fn legacy_names_work_with_a_deprecation_warning() {
    let c = check(&[
        ("HOST", "localhost"),
        ("READINESS_CHECK_PORT", "9999"),
        ("READINESS_CHECK_PATH", "/health"),
        ("READINESS_CHECK_PROTOCOL", "TCP"),
        ("ASYNC_INIT", "true"),
        ("REMOVE_BASE_PATH", "/api"),
    ]);
    assert_eq!(c.app, "http://localhost:8080");
    assert_eq!(c.readiness.url, "http://localhost:9999/health");
    assert_eq!(c.readiness.protocol, Protocol::Tcp);
    assert!(c.async_init);
    assert_eq!(c.remove_base_path.as_deref(), Some("/api"));
    for old in [
        "HOST",
        "READINESS_CHECK_PORT",
        "READINESS_CHECK_PATH",
        "READINESS_CHECK_PROTOCOL",
        "ASYNC_INIT",
        "REMOVE_BASE_PATH",
    ] {
        let new = format!("AWS_LWA_{old}");
        assert!(
            c.warnings
                .iter()
                .any(|w| w.contains(&format!("variable {old} is deprecated")) && w.contains(&new)),
            "{old}: {:?}",
            c.warnings
        );
    }
    // The new name wins, silently.
    let c = check(&[("AWS_LWA_HOST", "127.0.0.2"), ("HOST", "localhost")]);
    assert_eq!(c.app, "http://127.0.0.2:8080");
    assert!(c.warnings.is_empty());
}

#[test]
fn readiness_settings() {
    let c = check(&[
        ("AWS_LWA_PORT", "3000"),
        ("AWS_LWA_READINESS_CHECK_PATH", "/healthz"),
    ]);
    assert_eq!(c.readiness.url, "http://127.0.0.1:3000/healthz");
    assert_eq!(c.readiness.port, 3000);
    let c = check(&[("AWS_LWA_READINESS_CHECK_PROTOCOL", "grpc")]);
    assert_eq!(c.readiness.protocol, Protocol::Http);
    assert!(
        c.warnings[0].contains("AWS_LWA_READINESS_CHECK_PROTOCOL")
            && c.warnings[0].contains("grpc")
    );
    check_err(
        &[("AWS_LWA_READINESS_CHECK_PATH", "health")],
        "AWS_LWA_READINESS_CHECK_PATH",
    );
    check_err(
        &[("AWS_LWA_READINESS_CHECK_PATH", "/a b")],
        "AWS_LWA_READINESS_CHECK_PATH",
    );
    check_err(
        &[("AWS_LWA_READINESS_CHECK_PORT", "x")],
        "AWS_LWA_READINESS_CHECK_PORT",
    );
}

#[test]
fn healthy_status_list_and_its_deprecated_predecessor() {
    let c = check(&[("AWS_LWA_READINESS_CHECK_HEALTHY_STATUS", "200-299, 418")]);
    assert!(c.readiness.healthy.contains(204) && c.readiness.healthy.contains(418));
    assert!(!c.readiness.healthy.contains(404));
    let c = check(&[("AWS_LWA_READINESS_CHECK_MIN_UNHEALTHY_STATUS", "400")]);
    assert!(c.readiness.healthy.contains(399) && !c.readiness.healthy.contains(400));
    assert!(c.warnings.iter().any(|w| w.contains("deprecated")));
    // The new variable wins over the deprecated one.
    let c = check(&[
        ("AWS_LWA_READINESS_CHECK_HEALTHY_STATUS", "200"),
        ("AWS_LWA_READINESS_CHECK_MIN_UNHEALTHY_STATUS", "400"),
    ]);
    assert!(!c.readiness.healthy.contains(399));
    // A list with nothing valid would never be ready: an error, not a hang.
    check_err(
        &[("AWS_LWA_READINESS_CHECK_HEALTHY_STATUS", "ok")],
        "AWS_LWA_READINESS_CHECK_HEALTHY_STATUS",
    );
}

#[test]
fn status_list_syntax() {
    let mut w = Vec::new();
    let s = StatusSet::parse("V", "500,502-504,422", &mut w);
    for code in [500, 502, 503, 504, 422] {
        assert!(s.contains(code), "{code}");
    }
    assert!(!s.contains(501) && w.is_empty());
    let s = StatusSet::parse("V", "500, 502-504 ,,", &mut w);
    assert!(s.contains(503) && w.is_empty());
    let s = StatusSet::parse("V", "500 - 504,200-300-400,500-invalid,x", &mut w);
    assert!(s.is_empty());
    assert_eq!(w.len(), 4, "{w:?}");
    assert!(StatusSet::parse("V", "504-500", &mut w).is_empty());
}

#[test]
fn error_status_codes() {
    let c = check(&[("AWS_LWA_ERROR_STATUS_CODES", "500-599,429")]);
    assert!(
        c.error_status.contains(503)
            && c.error_status.contains(429)
            && !c.error_status.contains(404)
    );
    let c = check(&[("AWS_LWA_ERROR_STATUS_CODES", "500,bad")]);
    assert!(c.error_status.contains(500));
    assert!(c.warnings[0].contains("AWS_LWA_ERROR_STATUS_CODES") && c.warnings[0].contains("bad"));
    check_err(
        &[("AWS_LWA_ERROR_STATUS_CODES", "five hundred")],
        "AWS_LWA_ERROR_STATUS_CODES",
    );
    assert!(
        check(&[("AWS_LWA_ERROR_STATUS_CODES", "")])
            .error_status
            .is_empty()
    );
}

#[test]
fn booleans_accept_common_spellings() {
    for (v, expected) in [
        ("true", true),
        ("TRUE", true),
        ("1", true),
        ("yes", true),
        ("Yes", true),
    ] {
        assert_eq!(
            check(&[("AWS_LWA_ASYNC_INIT", v)]).async_init,
            expected,
            "{v}"
        );
    }
    for v in ["false", "False", "0", "no", ""] {
        assert!(!check(&[("AWS_LWA_ASYNC_INIT", v)]).async_init, "{v}");
    }
    assert!(check(&[("AWS_LWA_ENABLE_COMPRESSION", "Yes")]).compression);
    check_err(&[("AWS_LWA_ASYNC_INIT", "maybe")], "AWS_LWA_ASYNC_INIT");
    check_err(
        &[("AWS_LWA_ENABLE_COMPRESSION", "on please")],
        "AWS_LWA_ENABLE_COMPRESSION",
    );
}

#[test]
fn base_and_pass_through_paths() {
    for (v, expected) in [
        ("/api", Some("/api")),
        ("/api/", Some("/api")),
        ("api", Some("/api")),
        ("/", None),
        ("", None),
    ] {
        assert_eq!(
            check(&[("AWS_LWA_REMOVE_BASE_PATH", v)])
                .remove_base_path
                .as_deref(),
            expected,
            "{v:?}"
        );
    }
    assert_eq!(
        check(&[("AWS_LWA_PASS_THROUGH_PATH", "/sqs")]).pass_through_path,
        "/sqs"
    );
    check_err(
        &[("AWS_LWA_PASS_THROUGH_PATH", "sqs")],
        "AWS_LWA_PASS_THROUGH_PATH",
    );
}

#[test]
fn invoke_mode_and_concurrency() {
    assert_eq!(
        check(&[("AWS_LWA_INVOKE_MODE", "RESPONSE_STREAM")]).invoke_mode,
        InvokeMode::ResponseStream
    );
    let c = check(&[("AWS_LWA_INVOKE_MODE", "streaming")]);
    assert_eq!(c.invoke_mode, InvokeMode::Buffered);
    assert!(c.warnings[0].contains("AWS_LWA_INVOKE_MODE") && c.warnings[0].contains("streaming"));
    assert_eq!(check(&[("AWS_LAMBDA_MAX_CONCURRENCY", "8")]).concurrency, 8);
    assert_eq!(check(&[("AWS_LAMBDA_MAX_CONCURRENCY", "0")]).concurrency, 1);
    let c = check(&[("AWS_LAMBDA_MAX_CONCURRENCY", "4000000000")]);
    assert_eq!(c.concurrency, 1024);
    assert!(c.warnings[0].contains("AWS_LAMBDA_MAX_CONCURRENCY"));
    let c = check(&[("AWS_LAMBDA_MAX_CONCURRENCY", "lots")]);
    assert_eq!(c.concurrency, 1);
    assert!(c.warnings[0].contains("AWS_LAMBDA_MAX_CONCURRENCY"));
}

#[test]
fn authorization_source() {
    let c = check(&[("AWS_LWA_AUTHORIZATION_SOURCE", "X-Api-Token")]);
    assert_eq!(c.authorization_source.unwrap().as_str(), "x-api-token");
    check_err(
        &[("AWS_LWA_AUTHORIZATION_SOURCE", "bad name")],
        "AWS_LWA_AUTHORIZATION_SOURCE",
    );
}

#[test]
fn runtime_api_forms() {
    // decisions.md #15: a scheme and a base path, as local emulators print it.
    let c = check(&[("AWS_LAMBDA_RUNTIME_API", "http://127.0.0.1:9000/.rt/fn/")]);
    assert_eq!(c.runtime_api, "http://127.0.0.1:9000/.rt/fn");
    assert_eq!(c.extension_api, "http://127.0.0.1:9000/.rt/fn");
    // The proxy applies to the Runtime API only.
    let c = check(&[("AWS_LWA_LAMBDA_RUNTIME_API_PROXY", "127.0.0.1:9009")]);
    assert_eq!(c.runtime_api, "http://127.0.0.1:9009");
    assert_eq!(c.extension_api, "http://127.0.0.1:9001");
    check_err(
        &[("AWS_LAMBDA_RUNTIME_API", "https://x:1")],
        "AWS_LAMBDA_RUNTIME_API",
    );
    check_err(&[("AWS_LAMBDA_RUNTIME_API", "")], "AWS_LAMBDA_RUNTIME_API");
    check_err(
        &[("AWS_LWA_LAMBDA_RUNTIME_API_PROXY", "ftp://x:1")],
        "AWS_LWA_LAMBDA_RUNTIME_API_PROXY",
    );
    match Config::from_lookup(lookup(&[])) {
        Err(Error::Config {
            var: "AWS_LAMBDA_RUNTIME_API",
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn env_config_is_json_with_upstream_keys() {
    let c = check(&[
        ("AWS_LAMBDA_FUNCTION_NAME", "fn \"q\""),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "stream"),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/fn"),
    ]);
    let v: serde_json::Value = serde_json::from_str(&c.env_config).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"function_name": "fn \"q\"", "memory": 1024, "version": "$LATEST",
            "log_stream": "stream", "log_group": "/aws/lambda/fn"})
    );
    let v: serde_json::Value = serde_json::from_str(&check(&[]).env_config).unwrap();
    assert_eq!(v["memory"], serde_json::Value::Null);
}

#[test]
fn env_config_is_a_valid_header_value_whatever_the_names() {
    // Found by fuzz/fuzz_targets/config.rs: a DEL in a name made every HTTP
    // invocation fail, as `x-amzn-lambda-context` could not be built.
    let c = check(&[("AWS_LAMBDA_FUNCTION_NAME", "f\u{7f}n\u{0}")]);
    assert!(ureq::http::HeaderValue::from_str(&c.env_config).is_ok());
    let v: serde_json::Value = serde_json::from_str(&c.env_config).unwrap();
    assert_eq!(v["function_name"], "f\u{7f}n\u{0}");
}

#[test]
fn logging_levels() {
    #[track_caller]
    fn check(vars: &[(&str, &str)], filter: &str) {
        assert_eq!(Logging::from_lookup(lookup(vars)).filter(), filter);
    }
    let l = Logging::from_lookup(lookup(&[]));
    assert_eq!(
        (l.filter().as_str(), l.json),
        ("warn,lambda_adapter=info", false)
    );
    // decisions.md #21: the level is the adapter's; other crates stay at warn...
    check(
        &[("AWS_LAMBDA_LOG_LEVEL", "DEBUG"), ("RUST_LOG", "trace")],
        "warn,lambda_adapter=debug",
    );
    check(&[("RUST_LOG", "debug")], "warn,lambda_adapter=debug");
    check(
        &[("AWS_LAMBDA_LOG_LEVEL", "FATAL")],
        "error,lambda_adapter=error",
    );
    check(
        &[("AWS_LAMBDA_LOG_LEVEL", "error")],
        "error,lambda_adapter=error",
    );
    // ...unless RUST_LOG names them; its directives come last, so they win.
    check(
        &[
            ("AWS_LAMBDA_LOG_LEVEL", "debug"),
            ("RUST_LOG", "ureq=debug, ureq_proto=trace"),
        ],
        "warn,lambda_adapter=debug,ureq=debug,ureq_proto=trace",
    );
    check(
        &[("RUST_LOG", "lambda_adapter=trace")],
        "warn,lambda_adapter=info,lambda_adapter=trace",
    );
    let l = Logging::from_lookup(lookup(&[
        ("AWS_LAMBDA_LOG_LEVEL", "loud"),
        ("AWS_LAMBDA_LOG_FORMAT", "json"),
    ]));
    assert_eq!(l.filter(), "warn,lambda_adapter=info");
    assert!(l.json);
    assert_eq!(
        l.warnings,
        ["AWS_LAMBDA_LOG_LEVEL: unknown level \"loud\", using info"]
    );
    // Lambda's levels have no `off`: a bare `off` is RUST_LOG's only.
    let l = Logging::from_lookup(lookup(&[
        ("AWS_LAMBDA_LOG_LEVEL", " OFF "),
        ("RUST_LOG", "debug"),
    ]));
    assert_eq!(l.filter(), "warn,lambda_adapter=debug");
    assert_eq!(
        l.warnings,
        ["AWS_LAMBDA_LOG_LEVEL: unknown level \"off\", using debug"]
    );
    // What env_logger would complain about on stderr, not as a log line.
    let l = Logging::from_lookup(lookup(&[(
        "RUST_LOG",
        "ureq=loud,a=b=c,x/y,ureq_proto=Debug,h=",
    )]));
    assert_eq!(l.filter(), "warn,lambda_adapter=info,ureq_proto=Debug,h=");
    assert_eq!(l.warnings.len(), 3, "{:?}", l.warnings);
    assert!(l.warnings[0].starts_with("RUST_LOG: ignoring \"ureq=loud\""));
}

/// Every variable the adapter reads as configuration, besides the Runtime API.
const ALL: &[&str] = &[
    "AWS_LWA_PORT",
    "PORT",
    "AWS_LWA_HOST",
    "HOST",
    "AWS_LWA_READINESS_CHECK_PORT",
    "READINESS_CHECK_PORT",
    "AWS_LWA_READINESS_CHECK_PATH",
    "READINESS_CHECK_PATH",
    "AWS_LWA_READINESS_CHECK_PROTOCOL",
    "READINESS_CHECK_PROTOCOL",
    "AWS_LWA_READINESS_CHECK_HEALTHY_STATUS",
    "AWS_LWA_READINESS_CHECK_MIN_UNHEALTHY_STATUS",
    "AWS_LWA_ASYNC_INIT",
    "ASYNC_INIT",
    "AWS_LWA_REMOVE_BASE_PATH",
    "REMOVE_BASE_PATH",
    "AWS_LWA_PASS_THROUGH_PATH",
    "AWS_LWA_PASS_THROUGH_ROUTES",
    "AWS_LWA_SNAPSTART_BEFORE_CHECKPOINT_PATH",
    "AWS_LWA_SNAPSTART_AFTER_RESTORE_PATH",
    "AWS_LWA_READINESS_CHECK_TIMEOUT_SECONDS",
    "AWS_LWA_POOL_IDLE_TIMEOUT_SECONDS",
    "AWS_LWA_ENABLE_COMPRESSION",
    "AWS_LWA_INVOKE_MODE",
    "AWS_LWA_AUTHORIZATION_SOURCE",
    "AWS_LWA_ERROR_STATUS_CODES",
    "AWS_LWA_LAMBDA_RUNTIME_API_PROXY",
    "AWS_LAMBDA_MAX_CONCURRENCY",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_LEVEL",
    "AWS_LAMBDA_LOG_FORMAT",
];

fn env(vars: &[(&str, &str)]) -> Env {
    Env::from_vars(vars.iter().copied())
}

#[test]
fn empty_variables_are_unset() {
    // decisions.md #18: templates write "" for optional values.
    for blank in ["", " ", "\t"] {
        let mut vars: Vec<(&str, &str)> = ALL.iter().map(|&k| (k, blank)).collect();
        vars.push(("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"));
        let e = env(&vars);
        for name in ALL {
            assert_eq!(e.get(name), None, "{name}");
        }
        let c = Config::from_lookup(|k| e.get(k)).unwrap();
        assert_eq!(c.app, "http://127.0.0.1:8080");
        assert_eq!(c.readiness, check(&[]).readiness);
        assert_eq!(c.runtime_api, "http://127.0.0.1:9001");
        assert!(!c.async_init && !c.compression);
        assert_eq!(c.invoke_mode, InvokeMode::Buffered);
        assert_eq!(c.pass_through_path, "/events");
        assert_eq!(c.concurrency, 1);
        assert!(c.authorization_source.is_none() && c.error_status.is_empty());
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        let l = Logging::from_lookup(|k| e.get(k));
        assert_eq!((l.warnings.len(), l.json), (0, false));

        let warning = e.warning().expect("a warning");
        assert!(warning.starts_with("empty variables are treated as unset: "));
        for name in ALL {
            assert!(
                warning.contains(&format!(" {name},")) || warning.ends_with(&format!(" {name}")),
                "{name}: {warning}"
            );
        }
    }
}

#[test]
fn an_empty_variable_falls_through_to_the_next_name() {
    let e = env(&[
        ("AWS_LWA_PORT", ""),
        ("PORT", "3000"),
        ("AWS_LWA_READINESS_CHECK_PATH", ""),
        ("READINESS_CHECK_PATH", "/health"),
        ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"),
    ]);
    let c = Config::from_lookup(|k| e.get(k)).unwrap();
    assert_eq!(c.app, "http://127.0.0.1:3000");
    assert_eq!(c.readiness.url, "http://127.0.0.1:3000/health");
    assert_eq!(
        e.warning().unwrap(),
        "empty variables are treated as unset: AWS_LWA_PORT, AWS_LWA_READINESS_CHECK_PATH"
    );
}

#[test]
fn only_the_adapters_empty_variables_are_dropped() {
    let e = env(&[
        ("AWS_LAMBDA_RUNTIME_API", ""),
        ("AWS_LWA_SOMETHING_NEW", ""),
        ("MY_APP_SETTING", ""),
        ("AWS_LWA_PORT", "3000"),
    ]);
    assert!(!e.in_lambda());
    assert_eq!(e.get("MY_APP_SETTING"), Some(""));
    assert_eq!(e.get("AWS_LWA_PORT"), Some("3000"));
    assert_eq!(
        e.warning().unwrap(),
        "empty variables are treated as unset: AWS_LAMBDA_RUNTIME_API, AWS_LWA_SOMETHING_NEW"
    );
    assert_eq!(env(&[("AWS_LWA_PORT", "3000")]).warning(), None);
}

#[test]
fn pass_through_routes_map_sources_to_paths() {
    let c = check(&[(
        "AWS_LWA_PASS_THROUGH_ROUTES",
        " aws:sqs=/sqs ,aws:sns = /sns,,aws.events=/cron/tick=1",
    )]);
    assert_eq!(
        c.pass_through_routes,
        [
            ("aws:sqs".to_owned(), "/sqs".to_owned()),
            ("aws:sns".to_owned(), "/sns".to_owned()),
            ("aws.events".to_owned(), "/cron/tick=1".to_owned()),
        ]
    );
    assert_eq!(c.pass_through_path_for("aws:sqs"), "/sqs");
    assert_eq!(c.pass_through_path_for("AWS:SNS"), "/sns");
    assert_eq!(c.pass_through_path_for("aws:s3"), "/events");
    assert!(check(&[]).pass_through_routes.is_empty());
    for bad in [
        "aws:sqs",
        "aws:sqs=sqs",
        "=/sqs",
        "aws sqs=/sqs",
        "aws:sqs=/a b",
        "aws:sqs=/a,aws:SQS=/b",
    ] {
        let mut all = vec![("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001")];
        all.push(("AWS_LWA_PASS_THROUGH_ROUTES", bad));
        match Config::from_lookup(lookup(&all)) {
            Err(
                e @ Error::Config {
                    var: "AWS_LWA_PASS_THROUGH_ROUTES",
                    ..
                },
            ) => {
                let item = bad.rsplit(',').next().unwrap();
                assert!(e.to_string().contains(&format!("item {item:?}")), "{e}");
            }
            other => panic!("{bad:?}: {other:?}"),
        }
    }
}

#[test]
fn initialization_type_and_async_init() {
    assert_eq!(check(&[]).init_type, InitType::OnDemand);
    for (v, t) in [
        ("on-demand", InitType::OnDemand),
        ("provisioned-concurrency", InitType::ProvisionedConcurrency),
        ("snap-start", InitType::SnapStart),
        (
            "lambda-managed-instances",
            InitType::Other("lambda-managed-instances".into()),
        ),
    ] {
        let c = check(&[
            ("AWS_LAMBDA_INITIALIZATION_TYPE", v),
            ("AWS_LWA_ASYNC_INIT", "true"),
        ]);
        assert_eq!(c.init_type, t);
        let ignored = matches!(t, InitType::SnapStart | InitType::ProvisionedConcurrency);
        assert_eq!(c.async_init, !ignored, "{v}");
        assert_eq!(
            c.warnings
                .iter()
                .any(|w| w.starts_with("AWS_LWA_ASYNC_INIT: ignored") && w.contains(v)),
            ignored,
            "{v}: {:?}",
            c.warnings
        );
    }
    let c = check(&[("AWS_LAMBDA_INITIALIZATION_TYPE", "snap-start")]);
    assert!(c.warnings.is_empty(), "no async init, no warning");
}

#[test]
fn readiness_and_pool_timeouts() {
    let c = check(&[]);
    assert_eq!(c.readiness_timeout, None);
    assert_eq!(c.pool_idle_timeout, Duration::from_secs(4));
    let c = check(&[
        ("AWS_LWA_READINESS_CHECK_TIMEOUT_SECONDS", " 0.5 "),
        ("AWS_LWA_POOL_IDLE_TIMEOUT_SECONDS", "0"),
    ]);
    assert_eq!(c.readiness_timeout, Some(Duration::from_millis(500)));
    assert_eq!(c.pool_idle_timeout, Duration::ZERO);
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    let c = check(&[("AWS_LWA_POOL_IDLE_TIMEOUT_SECONDS", "2.5")]);
    assert_eq!(c.pool_idle_timeout, Duration::from_millis(2500));
    for (value, expected) in [
        ("3", Duration::from_secs(3)),
        ("3.", Duration::from_secs(3)),
        (".25", Duration::from_millis(250)),
        ("0.0000000019", Duration::from_nanos(1)),
        ("10.000000001", Duration::new(10, 1)),
    ] {
        let c = check(&[("AWS_LWA_POOL_IDLE_TIMEOUT_SECONDS", value)]);
        assert_eq!(c.pool_idle_timeout, expected, "{value}");
    }
    // Upstream ignores unusable values with a warning: unbounded, and 4 s.
    for bad in [
        "0",
        "-1",
        "soon",
        "NaN",
        "inf",
        "1e30",
        ".",
        "1.2.3",
        "99999999999999999999",
    ] {
        let c = check(&[
            ("AWS_LWA_READINESS_CHECK_TIMEOUT_SECONDS", bad),
            (
                "AWS_LWA_POOL_IDLE_TIMEOUT_SECONDS",
                if bad == "0" { "x" } else { bad },
            ),
        ]);
        assert_eq!(c.readiness_timeout, None, "{bad}");
        assert_eq!(c.pool_idle_timeout, Duration::from_secs(4), "{bad}");
        assert_eq!(c.warnings.len(), 2, "{bad}: {:?}", c.warnings);
    }
}

#[test]
fn hook_paths_are_canonicalised() {
    for (path, canonical) in [
        ("/snapstart/before", "/snapstart/before"),
        ("/SnapStart/Before/", "/snapstart/before"),
        ("//snapstart///before//", "/snapstart/before"),
        ("/x/../snapstart/./before", "/snapstart/before"),
        ("/%73napstart/before", "/snapstart/before"),
        ("/%2573napstart%252Fbefore", "/snapstart/before"),
        ("/snapstart%2Fbefore", "/snapstart/before"),
        ("/snapstart/%2e%2E/snapstart/before", "/snapstart/before"),
        ("/snapstart/before;jsessionid=1", "/snapstart/before"),
        ("/../..", "/"),
        ("", "/"),
        ("/a%zz", "/a%zz"),
        // ASCII case only, as routers compare paths: non-ASCII letters stay.
        ("/%C3%A9T%C3%89", "/étÉ"),
    ] {
        assert_eq!(canonical_path(path), canonical, "{path:?}");
        assert_eq!(canonical_path(canonical), canonical, "idempotent: {path:?}");
    }
}

#[test]
fn hook_paths_guard_requests() {
    let c = check(&[
        (
            "AWS_LWA_SNAPSTART_BEFORE_CHECKPOINT_PATH",
            "/snapstart/before",
        ),
        ("AWS_LWA_SNAPSTART_AFTER_RESTORE_PATH", "/SnapStart/After"),
    ]);
    assert_eq!(c.before_checkpoint.as_deref(), Some("/snapstart/before"));
    assert_eq!(
        c.after_restore.as_deref(),
        Some("/SnapStart/After"),
        "POSTed as written"
    );
    for path in [
        "/snapstart/before",
        "/snapstart/after",
        "/SNAPSTART/BEFORE/",
        "//snapstart//after",
        "/snapstart/%61fter",
        "/snapstart%2fafter",
        "/snapstart/x/../before;a=b",
    ] {
        assert!(c.is_hook_path(path), "{path}");
    }
    for path in [
        "/",
        "/snapstart",
        "/snapstart/before/x",
        "/snapstart/beforex",
        "/other",
    ] {
        assert!(!c.is_hook_path(path), "{path}");
    }
    let none = check(&[]);
    assert!(!none.is_hook_path("/snapstart/before"));
    assert_eq!((none.before_checkpoint, none.after_restore), (None, None));
}

#[test]
fn unguardable_hook_paths_are_refused() {
    for var in [
        "AWS_LWA_SNAPSTART_BEFORE_CHECKPOINT_PATH",
        "AWS_LWA_SNAPSTART_AFTER_RESTORE_PATH",
    ] {
        for bad in [
            "/", "//", "/a/..", "/%2e", "/a%zz", "/a%", "/a%2525", "/a%25", "hook", "/a b",
        ] {
            check_err(&[(var, bad)], var);
        }
        check_err(&[(var, "/Events/")], var);
        check_err(
            &[(var, "/q"), ("AWS_LWA_PASS_THROUGH_ROUTES", "aws:sqs=/q")],
            var,
        );
        check_err(
            &[(var, "/in"), ("AWS_LWA_PASS_THROUGH_PATH", "/x/../in")],
            var,
        );
    }
    let e = Config::from_lookup(lookup(&[
        ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"),
        ("AWS_LWA_SNAPSTART_AFTER_RESTORE_PATH", "/x/.."),
    ]))
    .unwrap_err();
    assert!(
        e.to_string().contains("every request would be refused"),
        "{e}"
    );
}

#[test]
fn nul_finds_the_first_zero_byte_at_any_offset() {
    for len in 0..40 {
        let mut b = vec![b'x'; len];
        assert_eq!(nul(&b), None, "none in {len}");
        for at in 0..len {
            b[at] = 0;
            assert_eq!(nul(&b), Some(at), "at {at} of {len}");
            if at + 1 < len {
                b[at + 1] = 0;
                assert_eq!(nul(&b), Some(at), "the first of two, at {at} of {len}");
                b[at + 1] = b'x';
            }
            b[at] = b'x';
        }
    }
    // Bytes with the high bit set are not zero.
    assert_eq!(
        nul(&[0x80, 0xff, 0x81, 0x7f, 0x01, 0x80, 0x80, 0x80, 0x80, 0]),
        Some(9)
    );
}

#[test]
fn lookups_find_set_names_of_any_length_and_only_those() {
    let long = format!("AWS_LWA_{}", "X".repeat(70));
    let e = env(&[
        ("AWS_LWA_PORT", "3000"),
        (&long, "long"),
        ("AWS_LWA_HOST", "h"), // the same length as AWS_LWA_PORT
    ]);
    assert_eq!(e.get("AWS_LWA_PORT"), Some("3000"));
    assert_eq!(e.get("AWS_LWA_HOST"), Some("h"));
    assert_eq!(e.get(&long), Some("long"));
    // A name of a length that is set, and one whose length is 64 more.
    assert_eq!(e.get("AWS_LWA_POST"), None);
    assert_eq!(e.get(&format!("AWS_LWA_PORT{}", "Y".repeat(64))), None);
    assert_eq!(e.get("PORT"), None);
}

#[test]
fn only_the_adapters_variables_are_taken_from_the_block() {
    let block = b"AWS_REGION=us-east-1\0AWS_LWA_PORT=3000\0PATH=/bin\0HOME=/root\0\
        AWS_LAMBDA_RUNTIME_API=127.0.0.1:9001\0RUST_LOG=debug\0HOST=0.0.0.0\0NOEQUALS\0PORT=1\0";
    let found: Vec<(&[u8], &[u8])> = ours_in(block)
        .map(|(k, v)| (&block[k], &block[v]))
        .collect();
    let want: &[(&[u8], &[u8])] = &[
        (b"AWS_LWA_PORT", b"3000"),
        (b"AWS_LAMBDA_RUNTIME_API", b"127.0.0.1:9001"),
        (b"RUST_LOG", b"debug"),
        (b"HOST", b"0.0.0.0"),
        (b"PORT", b"1"),
    ];
    assert_eq!(found, want);
    // Every name the adapter reads is found (`ours_in` rules names out by
    // their first byte).
    for name in NAMES
        .iter()
        .chain(&["AWS_LWA_X", "AWS_LAMBDA_X", "RUST_LOG"])
    {
        let block = format!("PATH=/bin\0{name}=v\0");
        let found: Vec<_> = ours_in(block.as_bytes()).map(|(k, _)| &block[k]).collect();
        assert_eq!(found, [*name]);
    }
    // The block's last entry may lack its NUL.
    let found: Vec<_> = ours_in(b"PORT=8\0HOST=x").collect();
    assert_eq!(found, [(0..4, 5..6), (7..11, 12..13)]);
}
