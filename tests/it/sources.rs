//! Every event source end to end: the fixture goes in through the Runtime
//! API, the echo app records what it received, and the Lambda result comes
//! back in the source's shape.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::support::*;

/// Invokes with a fixture; returns what the app received and the result.
fn run(s: &Setup, name: &str) -> (Received, Value) {
    let out = s.rt.invoke(Event::new(name, fixture(name)));
    let seen = s.app.request();
    (seen, out.expect_response())
}

/// The echo app's JSON as the Lambda result carried it.
fn echoed(result: &Value) -> Value {
    let body = result["body"].as_str().unwrap();
    assert_eq!(result["isBase64Encoded"], false);
    serde_json::from_str(body).unwrap()
}

#[track_caller]
fn assert_injected(seen: &Received, id: &str) {
    let ctx: Value = serde_json::from_str(seen.header("x-amzn-lambda-context").unwrap()).unwrap();
    assert_eq!(ctx["request_id"], id);
    assert_eq!(ctx["env_config"]["function_name"], "fn");
    assert_eq!(ctx["env_config"]["memory"], 1024);
    assert_eq!(
        seen.all("x-amzn-trace-id"),
        ["Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"]
    );
    // The client adds nothing of its own.
    assert_eq!(seen.all("x-amzn-request-context").len(), 1);
    assert_eq!(seen.all("x-amzn-lambda-context").len(), 1);
}

#[test]
fn rest_api() {
    let s = setup(&[]);
    let (seen, result) = run(&s, "apigw-v1-get.json");
    assert_eq!(seen.method, "GET");
    assert_eq!(seen.target, "/pets/dog?breed=labrador&tag=a&tag=b");
    assert_eq!(
        seen.header("host"),
        Some("k2n8q4v7xa.execute-api.us-east-1.amazonaws.com")
    );
    assert_injected(&seen, "apigw-v1-get.json");
    let context: Value =
        serde_json::from_str(seen.header("x-amzn-request-context").unwrap()).unwrap();
    let fixture: Value = serde_json::from_slice(&fixture("apigw-v1-get.json")).unwrap();
    assert_eq!(
        context, fixture["requestContext"],
        "decisions.md #13: verbatim"
    );
    assert!(
        seen.header("user-agent")
            .is_some_and(|ua| !ua.contains("ureq"))
    );
    assert_eq!(result["headers"], json!({}));
    assert_eq!(
        result["multiValueHeaders"]["content-type"],
        json!(["application/json"])
    );
    assert_eq!(result["statusCode"], 200);
    assert_eq!(
        echoed(&result)["target"],
        "/pets/dog?breed=labrador&tag=a&tag=b"
    );
}

#[test]
fn rest_api_keeps_repeated_headers_and_reencodes_queries() {
    let s = setup(&[]);
    let (seen, _) = run(&s, "apigw-v1-repeated-header.json");
    assert_eq!(seen.all("x-repeat"), ["r1", "r2"]);
    assert_eq!(seen.target, "/?q=a+b%2Fc%7E%26%3D");
    let (seen, _) = run(&s, "apigw-v1-http-api-payload-v1.json");
    assert_eq!(seen.method, "GET");
    let (seen, _) = run(&s, "apigw-v1-custom-method.json");
    assert_eq!(seen.method, "PURGE");
}

#[test]
fn rest_api_binary_upload() {
    let s = setup(&[]);
    let (seen, _) = run(&s, "apigw-v1-post-base64.json");
    assert_eq!(seen.method, "POST");
    assert_eq!(&seen.body[..4], b"\x89PNG");
    assert_eq!(
        seen.header("content-length"),
        Some(seen.body.len().to_string().as_str())
    );
}

#[test]
fn http_api() {
    let s = setup(&[]);
    let (seen, result) = run(&s, "apigw-v2-get.json");
    assert_eq!(seen.target, "/items/42?a=1&a=2&name=J%C3%BCrgen&empty=");
    assert_eq!(seen.all("cookie"), ["session=abc; theme=dark"]);
    assert_eq!(seen.header("x-request-tag"), Some("alpha,beta"));
    assert_injected(&seen, "apigw-v2-get.json");
    assert_eq!(result["statusCode"], 200);
    assert_eq!(result["cookies"], json!([]));
    assert_eq!(result["headers"]["content-type"], "application/json");
    let (seen, _) = run(&s, "apigw-v2-post-json.json");
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.json()["customerId"], "c-1029");
    let (seen, _) = run(&s, "apigw-v2-minimal.json");
    assert_eq!(seen.target, "/");
}

#[test]
fn http_api_binary_body_and_named_stage() {
    let s = setup(&[("AWS_LWA_REMOVE_BASE_PATH", "/dev")]);
    let (seen, _) = run(&s, "apigw-v2-base64.json");
    assert_eq!(seen.body, [0xff, 0xfe, 0x00, 0x01, 0x80, 0xc0]);
    let (seen, _) = run(&s, "apigw-v2-stage-path.json");
    assert_eq!(seen.path(), "/items/7");
}

#[test]
fn function_url() {
    let s = setup(&[]);
    let (seen, result) = run(&s, "function-url-get.json");
    assert_eq!(seen.path(), "/hello");
    assert!(
        seen.header("host")
            .unwrap()
            .ends_with(".lambda-url.us-east-1.on.aws")
    );
    assert!(result.get("cookies").is_some());
    let (seen, _) = run(&s, "function-url-post-base64.json");
    assert_eq!(seen.method, "POST");
    assert!(!seen.body.is_empty());
}

#[test]
fn alb_single_and_multi_value() {
    let s = setup(&[]);
    let (seen, result) = run(&s, "alb-single.json");
    assert_eq!(seen.target, "/lambda?query=hello+world&plus=a+b");
    assert_eq!(result["statusDescription"], "200 OK");
    assert_eq!(result["headers"]["content-type"], "application/json");
    assert_eq!(
        result["multiValueHeaders"]["content-type"],
        json!(["application/json"])
    );
    let context: Value =
        serde_json::from_str(seen.header("x-amzn-request-context").unwrap()).unwrap();
    assert!(
        context["elb"]["targetGroupArn"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:elasticloadbalancing")
    );
    let (seen, result) = run(&s, "alb-multi.json");
    assert!(seen.target.contains("tag=x&tag=y"), "{}", seen.target);
    assert_eq!(
        result["multiValueHeaders"]["content-type"],
        json!(["application/json"])
    );
    assert_eq!(result["headers"]["content-type"], "application/json");
    let (seen, _) = run(&s, "alb-post-base64.json");
    assert_eq!(seen.method, "POST");
}

#[test]
fn other_events_pass_through() {
    let s = setup(&[("AWS_LWA_PASS_THROUGH_PATH", "/events")]);
    for name in [
        "sqs.json",
        "sns.json",
        "s3-put.json",
        "eventbridge.json",
        "dynamodb-stream.json",
        "websocket-connect.json",
        "websocket-message.json",
        "authorizer-request-v1.json",
        "authorizer-request-v2.json",
        "authorizer-token.json",
        "bedrock-agent.json",
    ] {
        let (seen, result) = run(&s, name);
        assert_eq!(
            (seen.method.as_str(), seen.target.as_str()),
            ("POST", "/events"),
            "{name}"
        );
        assert_eq!(seen.body, fixture(name), "{name}: byte for byte");
        assert_eq!(seen.header("content-type"), Some("application/json"));
        assert_eq!(seen.header("x-amzn-request-context"), Some("null"));
        assert_injected(&seen, name);
        // The app's JSON body is the result, as is.
        assert_eq!(result["method"], "POST", "{name}");
    }
}

#[test]
fn pass_through_results_are_json_or_null_and_the_status_is_ignored() {
    let app = EchoApp::with(|r| match r.body.as_slice() {
        _ if r.method == "GET" => (echo(r), false),
        b"\"policy\"" => (
            http_response(
                200,
                &[("content-type", "application/json")],
                br#"{"principalId":"u","policyDocument":{}}"#,
            ),
            false,
        ),
        b"\"text\"" => (
            http_response(200, &[("content-type", "text/plain")], b"ok"),
            false,
        ),
        _ => (
            http_response(
                500,
                &[("content-type", "application/json")],
                br#"{"failed":true}"#,
            ),
            false,
        ),
    });
    let s = setup_with(app, &[]);
    let v = s.rt.invoke(Event::new("p", "\"policy\"")).expect_response();
    assert_eq!(v["principalId"], "u");
    assert_eq!(
        s.rt.invoke(Event::new("t", "\"text\"")).expect_response(),
        Value::Null
    );
    assert_eq!(
        s.rt.invoke(Event::new("f", "{}")).expect_response()["failed"],
        true
    );
}

#[test]
fn response_shapes_per_source() {
    let app = EchoApp::with(|r| {
        if r.path() == "/" {
            return (echo(r), false);
        }
        let headers = [
            ("content-type", "text/html"),
            ("set-cookie", "a=1; Path=/"),
            ("set-cookie", "b=2"),
            ("x-multi", "one"),
            ("x-multi", "two"),
        ];
        (http_response(201, &headers, b"<p>made</p>"), false)
    });
    let s = setup_with(app, &[]);
    let v1 = |id: &str| json!({"httpMethod": "POST", "path": "/make", "requestContext": {"stage": "prod", "requestId": id}, "headers": {}});
    let r = s.rt.invoke(Event::json("v1", &v1("v1"))).expect_response();
    assert_eq!(
        r,
        json!({"statusCode": 201, "headers": {}, "multiValueHeaders": {"content-type": ["text/html"],
            "set-cookie": ["a=1; Path=/", "b=2"], "x-multi": ["one", "two"], "content-length": ["11"]},
            "body": "<p>made</p>", "isBase64Encoded": false})
    );
    let v2 = json!({"version": "2.0", "rawPath": "/make", "requestContext": {"http": {"method": "POST"}}});
    let r = s.rt.invoke(Event::json("v2", &v2)).expect_response();
    assert_eq!(
        r,
        json!({"statusCode": 201, "headers": {"content-type": "text/html", "x-multi": "one, two", "content-length": "11"},
            "multiValueHeaders": {}, "body": "<p>made</p>", "isBase64Encoded": false, "cookies": ["a=1; Path=/", "b=2"]})
    );
}

#[test]
fn binary_responses_are_base64_and_text_is_never_transcoded() {
    let png: Vec<u8> = vec![0x89, b'P', b'N', b'G', 0, 0xff, 0xfe, 1];
    let png2 = png.clone();
    let app = EchoApp::with(move |r| match r.path() {
        "/png" => (
            http_response(200, &[("content-type", "image/png")], &png2),
            false,
        ),
        "/latin1" => (
            http_response(
                200,
                &[("content-type", "text/plain; charset=iso-8859-1")],
                b"caf\xe9",
            ),
            false,
        ),
        "/bom" => (http_response(200, &[], b"\xff\xfeh\0i\0"), false),
        "/gzip" => (
            http_response(
                200,
                &[("content-type", "text/plain"), ("content-encoding", "gzip")],
                b"\x1f\x8b",
            ),
            false,
        ),
        _ => (echo(r), false),
    });
    let s = setup_with(app, &[]);
    for (path, bytes) in [
        ("/png", &png[..]),
        ("/latin1", b"caf\xe9"),
        ("/bom", b"\xff\xfeh\0i\0"),
        ("/gzip", b"\x1f\x8b"),
    ] {
        let e = json!({"version": "2.0", "rawPath": path, "requestContext": {"http": {"method": "GET"}}});
        let r = s.rt.invoke(Event::json(&path[1..], &e)).expect_response();
        assert_eq!(r["isBase64Encoded"], true, "{path}");
        assert_eq!(
            STANDARD.decode(r["body"].as_str().unwrap()).unwrap(),
            bytes,
            "{path}"
        );
    }
}

#[test]
fn redirects_and_error_statuses_go_back_as_they_are() {
    // The adapter is not a browser: a 302 is the app's answer for the client.
    let app = EchoApp::with(|r| match r.path() {
        "/old" => (http_response(302, &[("location", "/new")], b""), false),
        "/teapot" => (
            http_response(418, &[("content-type", "text/plain")], b"short and stout"),
            false,
        ),
        _ => (echo(r), false),
    });
    let s = setup_with(app, &[]);
    let out =
        s.rt.invoke(Event::json("old", &get_event("/old")))
            .expect_response();
    assert_eq!(out["statusCode"], 302);
    assert_eq!(out["headers"]["location"], "/new");
    let out =
        s.rt.invoke(Event::json("teapot", &get_event("/teapot")))
            .expect_response();
    assert_eq!(
        (out["statusCode"].as_u64(), out["body"].as_str()),
        (Some(418), Some("short and stout"))
    );
    let paths: Vec<String> = s.app.drain().iter().map(|r| r.path().to_owned()).collect();
    assert_eq!(paths, ["/old", "/teapot"], "the redirect was followed");
}

#[test]
fn dot_segments_are_resolved_for_every_http_source() {
    // decisions.md #19: the app sees the resolved path, after base-path removal.
    let s = setup(&[("AWS_LWA_REMOVE_BASE_PATH", "/api")]);
    let path = "/api/v1/../v2/./items//%2F../x";
    let mut rest: Value = serde_json::from_slice(&fixture("apigw-v1-get.json")).unwrap();
    rest["path"] = json!(path);
    rest["multiValueQueryStringParameters"] = Value::Null;
    rest["queryStringParameters"] = Value::Null;
    let mut v2: Value = serde_json::from_slice(&fixture("apigw-v2-minimal.json")).unwrap();
    v2["rawPath"] = json!(path);
    let mut url: Value = serde_json::from_slice(&fixture("function-url-get.json")).unwrap();
    url["rawPath"] = json!(path);
    url["rawQueryString"] = json!("");
    let mut alb: Value = serde_json::from_slice(&fixture("alb-single.json")).unwrap();
    alb["path"] = json!(path);
    alb["queryStringParameters"] = json!({});
    for (name, event) in [("rest", rest), ("v2", v2), ("url", url), ("alb", alb)] {
        s.rt.invoke(Event::json(name, &event)).expect_response();
        let seen = s.app.request();
        assert_eq!(seen.target, "/v2/items//%2F../x", "{name}");
    }
    // Above the root stays at the root.
    s.rt.invoke(Event::json("root", &get_event("/../../etc/passwd")))
        .expect_response();
    assert_eq!(s.app.request().target, "/etc/passwd");
}

#[test]
fn pass_through_events_are_routed_by_source() {
    let s = setup(&[("AWS_LWA_PASS_THROUGH_ROUTES", "aws:sqs=/sqs,aws:sns=/sns")]);
    for (name, source, path) in [
        ("sqs.json", "aws:sqs", "/sqs"),
        ("sns.json", "aws:sns", "/sns"),
        ("s3-put.json", "aws:s3", "/events"),
        ("dynamodb-stream.json", "aws:dynamodb", "/events"),
        ("kinesis.json", "aws:kinesis", "/events"),
        ("eventbridge.json", "aws.events", "/events"),
        ("websocket-message.json", "unknown", "/events"),
        ("authorizer-token.json", "unknown", "/events"),
    ] {
        let (seen, _) = run(&s, name);
        assert_eq!(
            (seen.method.as_str(), seen.target.as_str()),
            ("POST", path),
            "{name}"
        );
        assert_eq!(seen.all("x-amzn-event-source"), [source], "{name}");
        assert_eq!(seen.body, fixture(name), "{name}: byte for byte");
    }
}

#[test]
fn sqs_partial_batch_responses_reach_lambda_intact() {
    // The app reports the second message as failed; Lambda retries only it.
    let failures =
        br#"{"batchItemFailures":[{"itemIdentifier":"12f12f8e-1fe8-4134-aa85-d4a9a582f124"}]}"#;
    let app = EchoApp::with(move |r| {
        if r.path() == "/sqs" {
            (
                http_response(200, &[("content-type", "application/json")], failures),
                false,
            )
        } else {
            (echo(r), false)
        }
    });
    let s = setup_with(app, &[("AWS_LWA_PASS_THROUGH_ROUTES", "aws:sqs=/sqs")]);
    let out = s.rt.invoke(Event::new("batch", fixture("sqs.json")));
    assert_eq!(out.request.body, failures, "byte for byte");
    assert_eq!(
        out.expect_response(),
        json!({"batchItemFailures": [{"itemIdentifier": "12f12f8e-1fe8-4134-aa85-d4a9a582f124"}]})
    );
    assert_eq!(
        s.app.request().header("x-amzn-event-source"),
        Some("aws:sqs")
    );
}

#[test]
fn snapstart_hook_paths_are_answered_403_in_the_sources_shape() {
    // decisions.md #20: never forwarded, whatever the spelling.
    let s = setup(&[
        (
            "AWS_LWA_SNAPSTART_BEFORE_CHECKPOINT_PATH",
            "/snapstart/before",
        ),
        ("AWS_LWA_SNAPSTART_AFTER_RESTORE_PATH", "/snapstart/after"),
        ("AWS_LWA_REMOVE_BASE_PATH", "/api"),
    ]);
    let mut rest: Value = serde_json::from_slice(&fixture("apigw-v1-get.json")).unwrap();
    rest["path"] = json!("/SnapStart/After/");
    let mut alb: Value = serde_json::from_slice(&fixture("alb-single.json")).unwrap();
    alb["path"] = json!("/snapstart/x/../before;v=1");
    let v2 = get_event("/api//snapstart/%2562efore");
    let out = s.rt.invoke(Event::json("rest", &rest)).expect_response();
    assert_eq!(out["statusCode"], 403, "{out}");
    assert_eq!(out["body"], "Forbidden");
    assert_eq!(
        out["multiValueHeaders"]["content-type"],
        json!(["text/plain"])
    );
    let out = s.rt.invoke(Event::json("alb", &alb)).expect_response();
    assert_eq!(out["statusDescription"], "403 Forbidden", "{out}");
    let out = s.rt.invoke(Event::json("v2", &v2)).expect_response();
    assert_eq!(out["statusCode"], 403, "{out}");
    assert_eq!(out["headers"]["content-type"], "text/plain");
    // None of them reached the app: the next request it sees is this one.
    s.rt.invoke(Event::json("next", &get_event("/snapstart/beforex")))
        .expect_response();
    assert_eq!(s.app.request().target, "/snapstart/beforex");
}

#[test]
fn sqs_example_reports_partial_batch_failures() {
    // examples/sqs/app.py under the adapter (wrapper mode): the second
    // message of the fixture has a body that is not a job.
    let rt = MockRuntime::start();
    let port = free_port();
    let app = format!("{}/examples/sqs/app.py", env!("CARGO_MANIFEST_DIR"));
    let vars = [
        ("AWS_LAMBDA_RUNTIME_API", rt.api()),
        ("PORT", port.to_string()),
        ("AWS_LWA_PASS_THROUGH_ROUTES", "aws:sqs=/sqs".to_owned()),
    ]
    .map(|(k, v)| (k.to_owned(), v));
    let _adapter = spawn_with(&["python3", &app], &vars);
    let out = rt.invoke(Event::new("batch", fixture("sqs.json")));
    assert_eq!(
        out.expect_response(),
        json!({"batchItemFailures": [{"itemIdentifier": "12f12f8e-1fe8-4134-aa85-d4a9a582f124"}]})
    );
    // An SNS event is not routed to /sqs: the example answers 404, the result is its (non-JSON) body.
    let out = rt.invoke(Event::new("sns", fixture("sns.json")));
    assert_eq!(out.expect_response(), Value::Null);
}
