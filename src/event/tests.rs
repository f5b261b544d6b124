use serde_json::{Value, json};
use ureq::http::HeaderValue;

use super::*;

fn config(vars: &[(&str, &str)]) -> Config {
    let mut all = vars.to_vec();
    all.push(("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"));
    all.push(("AWS_LAMBDA_FUNCTION_NAME", "fn"));
    Config::from_lookup(|k| all.iter().find(|(n, _)| *n == k).map(|(_, v)| *v)).unwrap()
}

fn invocation(payload: impl Into<Vec<u8>>) -> Invocation {
    Invocation {
        id: "req-1".into(),
        deadline_ms: Some(1_700_000_000_000),
        function_arn: "arn:aws:lambda:us-east-1:123456789012:function:fn".into(),
        trace_id: Some("Root=1-abc;Parent=def;Sampled=1".into()),
        payload: payload.into(),
        ..Invocation::default()
    }
}

/// What the app would receive, flattened for comparison.
#[derive(Debug, PartialEq)]
struct Seen {
    source: Source,
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn decode_with(payload: &Value, vars: &[(&str, &str)]) -> Result<Seen, Error> {
    let inv = invocation(serde_json::to_vec(payload).unwrap());
    decode_inv(&inv, vars)
}

fn decode_inv(inv: &Invocation, vars: &[(&str, &str)]) -> Result<Seen, Error> {
    let cfg = config(vars);
    let (source, req) = decode(inv, &cfg)?;
    assert_eq!(req.uri.authority().unwrap().as_str(), "127.0.0.1:8080");
    Ok(Seen {
        source,
        method: req.method.to_string(),
        target: req.uri.path_and_query().unwrap().to_string(),
        headers: req
            .headers
            .iter()
            .map(|(n, v)| (n.to_string(), String::from_utf8_lossy(v.as_bytes()).into()))
            .collect(),
        body: req.body.into_owned(),
    })
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
    fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

#[track_caller]
fn check(payload: Value, source: Source, method: &str, target: &str) -> Seen {
    let seen = decode_with(&payload, &[]).unwrap();
    assert_eq!(
        (seen.source, seen.method.as_str(), seen.target.as_str()),
        (source, method, target)
    );
    seen
}

#[track_caller]
fn check_invalid(payload: Value, field: &str) {
    match decode_with(&payload, &[]) {
        Err(Error::Event { field: f, reason }) => assert_eq!(f, field, "{reason}"),
        Err(e) => panic!("expected an event error naming {field}, got {e}"),
        Ok(seen) => panic!("expected an event error naming {field}, got {seen:?}"),
    }
}

fn rest(extra: Value) -> Value {
    let mut v = json!({
        "resource": "/{proxy+}",
        "path": "/pets/dog",
        "httpMethod": "GET",
        "headers": {"Host": "abc.execute-api.us-east-1.amazonaws.com", "Accept": "*/*"},
        "multiValueHeaders": {"Host": ["abc.execute-api.us-east-1.amazonaws.com"], "Accept": ["*/*"]},
        "queryStringParameters": null,
        "multiValueQueryStringParameters": null,
        "requestContext": {"stage": "prod", "requestId": "r-1", "httpMethod": "GET", "extendedRequestId": "e-1"},
        "body": null,
        "isBase64Encoded": false
    });
    merge(&mut v, extra);
    v
}

fn v2(extra: Value) -> Value {
    let mut v = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/items/42",
        "rawQueryString": "",
        "headers": {"host": "abc.execute-api.us-east-1.amazonaws.com"},
        "requestContext": {"http": {"method": "GET", "path": "/items/42"}, "stage": "$default"},
        "isBase64Encoded": false
    });
    merge(&mut v, extra);
    v
}

fn alb(extra: Value) -> Value {
    let mut v = json!({
        "httpMethod": "GET",
        "path": "/lambda",
        "headers": {"host": "alb.example.com"},
        "requestContext": {"elb": {"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/t/1"}},
        "isBase64Encoded": false,
        "body": ""
    });
    merge(&mut v, extra);
    v
}

fn merge(v: &mut Value, extra: Value) {
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
}

#[test]
fn rest_requests() {
    let seen = check(rest(json!({})), Source::ApiGwV1, "GET", "/pets/dog");
    assert_eq!(
        seen.header("host"),
        Some("abc.execute-api.us-east-1.amazonaws.com")
    );
    assert_eq!(seen.header("accept"), Some("*/*"));
    assert_eq!(seen.body, b"");
    // HTTP API payload 1.0 is the same shape.
    check(
        rest(json!({"version": "1.0", "httpMethod": "POST"})),
        Source::ApiGwV1,
        "POST",
        "/pets/dog",
    );
    check(rest(json!({"path": null})), Source::ApiGwV1, "GET", "/");
    check(rest(json!({"path": ""})), Source::ApiGwV1, "GET", "/");
    check(
        rest(json!({"httpMethod": "PURGE"})),
        Source::ApiGwV1,
        "PURGE",
        "/pets/dog",
    );
    check(
        rest(json!({"httpMethod": "get"})),
        Source::ApiGwV1,
        "get",
        "/pets/dog",
    );
}

#[test]
fn rest_queries_are_form_encoded_in_event_order() {
    // decisions.md #4: event order, not hash order (raw text: json! would sort the keys).
    let payload = r#"{"httpMethod":"GET","path":"/pets/dog","requestContext":{},
        "queryStringParameters":{"z":"last","breed":"lab","tag":"b"},
        "multiValueQueryStringParameters":{"z":["last"],"breed":["lab"],"tag":["a","b"]}}"#;
    assert_eq!(
        decode_inv(&invocation(payload), &[]).unwrap().target,
        "/pets/dog?z=last&breed=lab&tag=a&tag=b"
    );
    let q = json!({"queryStringParameters": {"q": "a b/c~&=é"}});
    check(
        rest(q),
        Source::ApiGwV1,
        "GET",
        "/pets/dog?q=a+b%2Fc%7E%26%3D%C3%A9",
    );
    let q = json!({"queryStringParameters": {"empty": ""}, "multiValueQueryStringParameters": {}});
    check(rest(q), Source::ApiGwV1, "GET", "/pets/dog?empty=");
}

#[test]
fn rest_repeated_headers_keep_every_value() {
    // decisions.md #16: upstream keeps only "r2".
    let h = json!({
        "headers": {"X-Repeat": "r2", "X-Only-Single": "s"},
        "multiValueHeaders": {"X-Repeat": ["r1", "r2"]}
    });
    let seen = check(rest(h), Source::ApiGwV1, "GET", "/pets/dog");
    assert_eq!(seen.all("x-repeat"), ["r1", "r2"]);
    assert_eq!(seen.all("x-only-single"), ["s"]);
}

#[test]
fn http_api_v2_requests() {
    let e = v2(json!({
        "rawPath": "/items/a%2Fb c",
        "rawQueryString": "a=1&a=2&name=J%C3%BCrgen&empty=&x=|{}[]^`+",
        "cookies": ["session=abc", "theme=dark"],
        "headers": {"host": "h.example", "cookie": "stale=1", "x-multi": "a,b"}
    }));
    let seen = check(
        e,
        Source::ApiGwV2,
        "GET",
        "/items/a%2Fb%20c?a=1&a=2&name=J%C3%BCrgen&empty=&x=|{}[]^`+",
    );
    // decisions.md #14: joined with "; ", replacing the event's own cookie header.
    assert_eq!(seen.all("cookie"), ["session=abc; theme=dark"]);
    assert_eq!(seen.header("x-multi"), Some("a,b"));
    check(v2(json!({"rawPath": null})), Source::ApiGwV2, "GET", "/");
}

#[test]
fn function_url_events_are_v2_even_with_a_top_level_http_method() {
    // cargo-lambda's Function URL front end adds "httpMethod": "GET" and nulls.
    let e = v2(
        json!({"httpMethod": "GET", "type": null, "methodArn": null, "requestContext": {
        "http": {"method": "POST", "path": "/"}, "domainName": "x.lambda-url.us-east-1.on.aws"}}),
    );
    check(e, Source::ApiGwV2, "POST", "/items/42");
}

#[test]
fn raw_spaces_quotes_and_brackets_in_queries_are_served() {
    // decisions.md #1: upstream panics building the request.
    let seen = check(
        v2(json!({"rawQueryString": "q=a b&x=\"<y>\"&c='1'#f"})),
        Source::ApiGwV2,
        "GET",
        "/items/42?q=a%20b&x=%22%3Cy%3E%22&c=%271%27%23f",
    );
    assert_eq!(seen.body, b"");
}

#[test]
fn alb_requests_reencode_queries_and_keep_header_mode() {
    let payload = r#"{"httpMethod":"GET","path":"/lambda","requestContext":{"elb":{}},
        "queryStringParameters":{"query":"hello%20world","plus":"a+b","enc":"%2B","k%20ey":"v","bad":"%zz%FF"}}"#;
    let seen = decode_inv(&invocation(payload), &[]).unwrap();
    assert_eq!(seen.source, Source::Alb);
    assert_eq!(
        seen.target,
        "/lambda?query=hello+world&plus=a+b&enc=%2B&k+ey=v&bad=%25zz%FF"
    );
    let e = alb(json!({
        "headers": null,
        "multiValueHeaders": {"host": ["alb.example.com"], "x-r": ["1", "2"]},
        "multiValueQueryStringParameters": {"tag": ["x", "y%21"]}
    }));
    let seen = check(e, Source::Alb, "GET", "/lambda?tag=x&tag=y%21");
    assert_eq!(seen.all("x-r"), ["1", "2"]);
}

#[test]
fn bodies_text_and_base64() {
    let seen = check(
        v2(json!({"body": "{\"a\":\"é\\n\"}"})),
        Source::ApiGwV2,
        "GET",
        "/items/42",
    );
    assert_eq!(seen.body, "{\"a\":\"é\\n\"}".as_bytes());
    let seen = check(
        v2(json!({"body": "//4AAQ==", "isBase64Encoded": true})),
        Source::ApiGwV2,
        "GET",
        "/items/42",
    );
    assert_eq!(seen.body, [0xff, 0xfe, 0x00, 0x01]);
    // decisions.md #1: unpadded base64 is accepted.
    let seen = check(
        v2(json!({"body": "aGVsbG8", "isBase64Encoded": true})),
        Source::ApiGwV2,
        "GET",
        "/items/42",
    );
    assert_eq!(seen.body, b"hello");
    check_invalid(
        v2(json!({"body": "not*base64!", "isBase64Encoded": true})),
        "body",
    );
    check_invalid(v2(json!({"body": 5})), "body");
    check_invalid(
        v2(json!({"body": "x", "isBase64Encoded": "true"})),
        "isBase64Encoded",
    );
}

#[test]
fn the_events_length_and_framing_headers_are_not_trusted() {
    // decisions.md #7: the length sent is the body's; ureq sets it from the body.
    let e = rest(
        json!({"headers": {"Content-Length": "999", "Transfer-Encoding": "chunked", "Connection": "close"}, "body": "hi"}),
    );
    let seen = check(e, Source::ApiGwV1, "GET", "/pets/dog");
    assert_eq!(seen.header("content-length"), None);
    assert_eq!(seen.header("transfer-encoding"), None);
    assert_eq!(seen.body, b"hi");
}

#[test]
fn injected_headers_replace_the_events_copies() {
    let e = v2(json!({"headers": {
        "x-amzn-request-context": "spoofed", "x-amzn-lambda-context": "spoofed", "x-amzn-trace-id": "old"}}));
    let seen = check(e, Source::ApiGwV2, "GET", "/items/42");
    assert_eq!(
        seen.all("x-amzn-request-context"),
        [r#"{"http":{"method":"GET","path":"/items/42"},"stage":"$default"}"#]
    );
    assert_eq!(
        seen.all("x-amzn-trace-id"),
        ["Root=1-abc;Parent=def;Sampled=1"]
    );
    let ctx: Value = serde_json::from_str(seen.all("x-amzn-lambda-context")[0]).unwrap();
    assert_eq!(ctx["request_id"], "req-1");
    assert_eq!(ctx["deadline"], 1_700_000_000_000u64);
    assert_eq!(
        ctx["invoked_function_arn"],
        "arn:aws:lambda:us-east-1:123456789012:function:fn"
    );
    assert_eq!(ctx["xray_trace_id"], "Root=1-abc;Parent=def;Sampled=1");
    assert_eq!(ctx["client_context"], Value::Null);
    assert_eq!(ctx["identity"], Value::Null);
    assert_eq!(ctx["tenant_id"], Value::Null);
    assert_eq!(ctx["env_config"]["function_name"], "fn");
    // Key order as upstream.
    let keys: Vec<&str> = [
        "request_id",
        "deadline",
        "invoked_function_arn",
        "xray_trace_id",
        "client_context",
        "identity",
        "tenant_id",
        "env_config",
    ]
    .to_vec();
    let text = seen.all("x-amzn-lambda-context")[0];
    let positions: Vec<usize> = keys
        .iter()
        .map(|k| text.find(&format!("\"{k}\"")).unwrap())
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");
}

#[test]
fn lambda_context_carries_client_context_identity_and_tenant() {
    let mut inv = invocation(serde_json::to_vec(&v2(json!({}))).unwrap());
    inv.client_context =
        Some(r#"{"client":{"installationId":"i"},"custom":{"k":"v"},"environment":{}}"#.into());
    inv.identity = Some(r#"{"cognitoIdentityId":"id","cognitoIdentityPoolId":"pool"}"#.into());
    inv.tenant_id = Some("tenant-a".into());
    inv.trace_id = None;
    let seen = decode_inv(&inv, &[]).unwrap();
    let ctx: Value = serde_json::from_str(seen.header("x-amzn-lambda-context").unwrap()).unwrap();
    assert_eq!(ctx["client_context"]["custom"]["k"], "v");
    assert_eq!(ctx["identity"]["cognitoIdentityPoolId"], "pool");
    assert_eq!(ctx["tenant_id"], "tenant-a");
    assert_eq!(ctx["xray_trace_id"], Value::Null);
    assert_eq!(seen.header("x-amz-tenant-id"), Some("tenant-a"));
    assert_eq!(seen.header("x-amzn-trace-id"), None);
    // Local emulators send the client context base64-encoded.
    inv.client_context = Some(base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        br#"{"custom":{"k":"b64"}}"#,
    ));
    let seen = decode_inv(&inv, &[]).unwrap();
    let ctx: Value = serde_json::from_str(seen.header("x-amzn-lambda-context").unwrap()).unwrap();
    assert_eq!(ctx["client_context"]["custom"]["k"], "b64");
    inv.client_context = Some("neither json nor base64".into());
    let seen = decode_inv(&inv, &[]).unwrap();
    let ctx: Value = serde_json::from_str(seen.header("x-amzn-lambda-context").unwrap()).unwrap();
    assert_eq!(ctx["client_context"], Value::Null);
}

#[test]
fn request_context_is_verbatim_compact_json() {
    // decisions.md #13: every field kept, in event order; whitespace dropped.
    let payload = br#"{"httpMethod":"GET","path":"/","requestContext": {
        "zeta": 1, "alpha": {"clientCert": {"pem": "a b\n"}}, "identity": {"principalOrgId": null}
    }}"#;
    let seen = decode_inv(&invocation(&payload[..]), &[]).unwrap();
    assert_eq!(
        seen.header("x-amzn-request-context"),
        Some(
            r#"{"zeta":1,"alpha":{"clientCert":{"pem":"a b\n"}},"identity":{"principalOrgId":null}}"#
        )
    );
}

#[test]
fn control_bytes_in_the_request_context_are_escaped() {
    // upstream #732: a DEL from a scanner's path failed the invocation.
    let payload = "{\"version\":\"2.0\",\"rawPath\":\"/scan\",\"requestContext\":{\"http\":{\"method\":\"GET\",\"path\":\"/scan\u{7f}\"}}}";
    let seen = decode_inv(&invocation(payload), &[]).unwrap();
    let ctx = seen.header("x-amzn-request-context").unwrap();
    assert!(ctx.contains(r"/scan\u007f"), "{ctx}");
    let v: Value = serde_json::from_str(ctx).unwrap();
    assert_eq!(v["http"]["path"], "/scan\u{7f}");
}

#[test]
fn hosts_that_are_not_uris_are_forwarded() {
    // decisions.md #1: upstream panics parsing this Host.
    let seen = check(
        v2(json!({"headers": {"host": "bad host{}.example.com"}})),
        Source::ApiGwV2,
        "GET",
        "/items/42",
    );
    assert_eq!(seen.all("host"), ["bad host{}.example.com"]);
    // Two Host values are one too many for HTTP/1.1: the first is kept.
    let e =
        rest(json!({"multiValueHeaders": {"Host": ["a.example", "b.example"]}, "headers": null}));
    assert_eq!(
        check(e, Source::ApiGwV1, "GET", "/pets/dog").all("host"),
        ["a.example"]
    );
}

#[test]
fn headers_that_cannot_be_sent_are_errors_naming_them() {
    check_invalid(
        v2(json!({"headers": {"x-evil": "a\r\nX-Injected: 1"}})),
        "headers.x-evil",
    );
    check_invalid(
        v2(json!({"headers": {"bad name": "v"}})),
        "headers.bad name",
    );
    check_invalid(v2(json!({"headers": {"x": 5}})), "headers");
    check_invalid(rest(json!({"headers": ["a", "b"]})), "headers");
    check_invalid(
        rest(json!({"multiValueHeaders": {"x": "not a list"}})),
        "multiValueHeaders",
    );
    check_invalid(
        v2(json!({"headers": {"host": "é.example"}})),
        "headers.host",
    );
}

#[test]
fn malformed_http_events_are_errors_not_pass_through() {
    // decisions.md #2
    check_invalid(
        v2(json!({"requestContext": {"http": {"path": "/"}}})),
        "requestContext.http.method",
    );
    check_invalid(rest(json!({"httpMethod": "GE T"})), "httpMethod");
    check_invalid(rest(json!({"httpMethod": "CONNECT"})), "httpMethod");
    check_invalid(rest(json!({"requestContext": "oops"})), "requestContext");
    check_invalid(rest(json!({"httpMethod": 5})), "httpMethod");
    let mut no_method = alb(json!({}));
    no_method.as_object_mut().unwrap().remove("httpMethod");
    check_invalid(no_method, "httpMethod");
    check_invalid(
        v2(json!({"requestContext": {"http": "GET"}})),
        "requestContext.http",
    );
    check_invalid(v2(json!({"rawQueryString": 1})), "rawQueryString");
    check_invalid(v2(json!({"cookies": "a=1"})), "cookies");
}

#[test]
fn invalid_json_is_an_error() {
    for payload in [
        &b"{\"a\":"[..],
        b"",
        b"hello",
        b"\xef\xbb\xbf{}",
        b"{\"a\":\"\xff\"}",
        b"{} {}",
    ] {
        match decode_inv(&invocation(payload), &[]) {
            Err(Error::Event { field, .. }) => assert_eq!(field, "(payload)"),
            other => panic!("{payload:?}: {other:?}"),
        }
    }
}

#[test]
fn an_authorizer_type_with_json_escapes_is_still_an_authorizer() {
    // The source oracle of fuzz/fuzz_targets/decode.rs flags it: "REQ\u0055EST"
    // is "REQUEST", but was read as a borrowed &str, which fails on escapes,
    // and the event went to the app as a REST request.
    let payload = br#"{"type":"REQ\u0055EST","methodArn":"arn:x","httpMethod":"GET","requestContext":{},"path":"/"}"#;
    let seen = decode_inv(&invocation(&payload[..]), &[]).unwrap();
    assert_eq!(seen.source, Source::PassThrough);
}

#[test]
fn everything_else_passes_through_byte_for_byte() {
    let cases: &[&[u8]] = &[
        br#"{"Records":[{"eventSource":"aws:sqs","body":"hi"}]}"#,
        br#" [1, 2] "#,
        b"\"text\"",
        b"42",
        b"null",
        // WebSocket: requestContext.connectionId.
        br#"{"requestContext":{"connectionId":"c1","eventType":"MESSAGE","routeKey":"$default"},"body":"x","httpMethod":"POST"}"#,
        // Authorizers answer with a policy, not a proxy response.
        br#"{"type":"REQUEST","methodArn":"arn:x","httpMethod":"GET","requestContext":{"httpMethod":"GET"},"path":"/"}"#,
        br#"{"type":"TOKEN","authorizationToken":"t","methodArn":"arn:x"}"#,
        br#"{"version":"2.0","type":"REQUEST","routeArn":"arn:x","requestContext":{"http":{"method":"GET"}}}"#,
        // Bedrock agents: httpMethod without requestContext.
        br#"{"messageVersion":"1.0","httpMethod":"GET","apiPath":"/x"}"#,
    ];
    for payload in cases {
        let seen = decode_inv(
            &invocation(*payload),
            &[("AWS_LWA_REMOVE_BASE_PATH", "/events")],
        )
        .unwrap();
        let text = String::from_utf8_lossy(payload);
        assert_eq!(seen.source, Source::PassThrough, "{text}");
        assert_eq!(
            (seen.method.as_str(), seen.target.as_str()),
            ("POST", "/events"),
            "{text}"
        );
        assert_eq!(seen.body, *payload, "{text}");
        assert_eq!(seen.header("content-type"), Some("application/json"));
        assert_eq!(seen.header("x-amzn-request-context"), Some("null"));
        assert!(seen.header("x-amzn-lambda-context").is_some());
    }
    let seen = decode_inv(
        &invocation(&b"{}"[..]),
        &[("AWS_LWA_PASS_THROUGH_PATH", "/sqs")],
    )
    .unwrap();
    assert_eq!(seen.target, "/sqs");
}

#[test]
fn base_path_is_removed_once_and_by_segment() {
    // decisions.md #8
    for (path, expected) in [
        ("/api/x", "/x"),
        ("/api", "/"),
        ("/apiv2/x", "/apiv2/x"),
        ("/api/api/x", "/api/x"),
        ("/x/api", "/x/api"),
    ] {
        assert_eq!(remove_base_path(path, Some("/api")), expected, "{path}");
    }
    let seen = decode_with(
        &v2(json!({"rawPath": "/dev/items/7"})),
        &[("AWS_LWA_REMOVE_BASE_PATH", "/dev")],
    )
    .unwrap();
    assert_eq!(seen.target, "/items/7");
}

#[test]
fn dot_segments_are_resolved_for_every_source_before_the_base_path() {
    // decisions.md #19: REST, HTTP API 2.0 / Function URL, ALB.
    let cases = [
        rest(json!({"path": "/api/x/../y/./z"})),
        v2(json!({"rawPath": "/api/x/../y/./z"})),
        alb(json!({"path": "/api/x/../y/./z"})),
    ];
    for event in cases {
        let seen = decode_with(&event, &[]).unwrap();
        assert_eq!(seen.target.split('?').next(), Some("/api/y/z"), "{event}");
        let seen = decode_with(&event, &[("AWS_LWA_REMOVE_BASE_PATH", "/api")]).unwrap();
        assert_eq!(seen.target.split('?').next(), Some("/y/z"), "{event}");
    }
    // Resolved before the base path: `/api/../x` is not under `/api`.
    let seen = decode_with(
        &v2(json!({"rawPath": "/api/../x"})),
        &[("AWS_LWA_REMOVE_BASE_PATH", "/api")],
    )
    .unwrap();
    assert_eq!(seen.target, "/x");
    // Never above the root; `//` and `%2F` kept.
    let seen = decode_with(&v2(json!({"rawPath": "/../../etc//p%2F../q"})), &[]).unwrap();
    assert_eq!(seen.target, "/etc//p%2F../q");
}

#[track_caller]
fn check_source(payload: &str, source: &str, vars: &[(&str, &str)], path: &str) {
    let seen = decode_inv(&invocation(payload.as_bytes()), vars).unwrap();
    assert_eq!(seen.source, Source::PassThrough);
    assert_eq!(
        (seen.header(EVENT_SOURCE_HEADER), seen.target.as_str()),
        (Some(source), path),
        "{payload}"
    );
    assert_eq!(seen.body, payload.as_bytes(), "byte for byte");
}

#[test]
fn pass_through_events_name_their_source() {
    let none = &[];
    check_source(
        r#"{"Records":[{"eventSource":"aws:sqs"},{"eventSource":"aws:sqs"}]}"#,
        "aws:sqs",
        none,
        "/events",
    );
    check_source(
        r#"{"Records":[{"EventSource":"aws:sns","Sns":{}}]}"#,
        "aws:sns",
        none,
        "/events",
    );
    check_source(
        r#"{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3"}]}"#,
        "aws:s3",
        none,
        "/events",
    );
    check_source(
        r#"{"eventSource":"aws:kafka","records":{}}"#,
        "aws:kafka",
        none,
        "/events",
    );
    check_source(
        r#"{"source":"aws.events","detail-type":"Scheduled Event","detail":{}}"#,
        "aws.events",
        none,
        "/events",
    );
    check_source(
        r#"{"source":"com.example.orders","detail-type":"OrderPlaced","detail":{}}"#,
        "aws.events",
        none,
        "/events",
    );
    for odd in [
        "{}",
        "[]",
        "\"text\"",
        "null",
        r#"{"Records":[]}"#,
        r#"{"Records":"x"}"#,
        r#"{"Records":[1]}"#,
        r#"{"Records":[{"eventSource":5}]}"#,
        r#"{"Records":[{"eventSource":"a\nb"}]}"#,
        r#"{"Records":[{"eventSource":""}]}"#,
        r#"{"source":"aws.events"}"#,
        r#"{"Records":[{"eventSource":"aws:sqs"}],"Records":[]}"#,
        r#"{"eventSource":"aws:mq","eventSource":"aws:mq"}"#,
        r#"{"type":"TOKEN","methodArn":"arn","authorizationToken":"t"}"#,
    ] {
        check_source(odd, "unknown", none, "/events");
    }
}

#[test]
fn pass_through_routes_pick_the_path_by_source() {
    let routes = &[
        (
            "AWS_LWA_PASS_THROUGH_ROUTES",
            "aws:sqs=/sqs, aws.events=/cron",
        ),
        ("AWS_LWA_PASS_THROUGH_PATH", "/other"),
    ];
    check_source(
        r#"{"Records":[{"eventSource":"aws:sqs"}]}"#,
        "aws:sqs",
        routes,
        "/sqs",
    );
    check_source(
        r#"{"source":"aws.events","detail-type":"x"}"#,
        "aws.events",
        routes,
        "/cron",
    );
    check_source(
        r#"{"Records":[{"EventSource":"aws:sns"}]}"#,
        "aws:sns",
        routes,
        "/other",
    );
    check_source("{}", "unknown", routes, "/other");
}

#[test]
fn authorization_source_moves_a_header() {
    let e = v2(json!({"headers": {"x-api-token": "t1", "authorization": "old"}}));
    let seen = decode_with(&e, &[("AWS_LWA_AUTHORIZATION_SOURCE", "X-Api-Token")]).unwrap();
    assert_eq!(seen.all("authorization"), ["t1"]);
    assert_eq!(seen.header("x-api-token"), None);
    let seen = decode_with(
        &v2(json!({})),
        &[("AWS_LWA_AUTHORIZATION_SOURCE", "x-api-token")],
    )
    .unwrap();
    assert_eq!(seen.header("authorization"), None);
}

#[test]
fn big_events_are_served() {
    let big = "v".repeat(128 * 1024);
    let mut headers = serde_json::Map::new();
    headers.insert("x-big".into(), big.clone().into());
    for i in 0..1000 {
        headers.insert(format!("x-h{i}"), i.to_string().into());
    }
    let body = "b".repeat(6_000_000);
    let seen = check(
        v2(json!({"headers": headers, "body": body})),
        Source::ApiGwV2,
        "GET",
        "/items/42",
    );
    assert_eq!(seen.header("x-big").map(str::len), Some(big.len()));
    assert_eq!(seen.headers.len(), 1001 + 3);
    assert_eq!(seen.body.len(), 6_000_000);
}

// Responses.

/// `encode` into a fresh buffer.
fn encode(source: Source, mut resp: AppResponse) -> Result<Vec<u8>, Error> {
    let mut out = b"stale bytes".to_vec(); // cleared by encode
    super::encode(source, &mut resp, &mut out).map(|()| out)
}

fn response(status: u16, headers: &[(&str, &[u8])], body: &[u8]) -> AppResponse {
    let mut h = HeaderMap::new();
    for (n, v) in headers {
        h.append(
            HeaderName::from_bytes(n.as_bytes()).unwrap(),
            HeaderValue::from_bytes(v).unwrap(),
        );
    }
    AppResponse {
        status,
        headers: h,
        body: body.to_vec(),
    }
}

#[track_caller]
fn check_encode(source: Source, resp: AppResponse, expected: Value) {
    let out = encode(source, resp).unwrap();
    let text = String::from_utf8(out).unwrap();
    let got: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!(got, expected, "{text}");
}

fn typical() -> AppResponse {
    response(
        200,
        &[
            ("content-type", b"text/plain"),
            ("set-cookie", b"a=1; Path=/"),
            ("set-cookie", b"b=2"),
            ("x-multi", b"one"),
            ("x-multi", b"two"),
            ("transfer-encoding", b"chunked"),
        ],
        b"hi",
    )
}

#[test]
fn rest_responses_put_every_header_in_multi_value_headers() {
    check_encode(
        Source::ApiGwV1,
        typical(),
        json!({"statusCode": 200, "headers": {}, "multiValueHeaders": {
            "content-type": ["text/plain"], "set-cookie": ["a=1; Path=/", "b=2"], "x-multi": ["one", "two"]},
            "body": "hi", "isBase64Encoded": false}),
    );
}

#[test]
fn v2_responses_join_repeated_headers_and_list_cookies() {
    check_encode(
        Source::ApiGwV2,
        typical(),
        json!({"statusCode": 200, "headers": {"content-type": "text/plain", "x-multi": "one, two"},
            "multiValueHeaders": {}, "body": "hi", "isBase64Encoded": false, "cookies": ["a=1; Path=/", "b=2"]}),
    );
    check_encode(
        Source::ApiGwV2,
        response(204, &[], b""),
        json!({"statusCode": 204, "headers": {}, "multiValueHeaders": {}, "body": "", "isBase64Encoded": false, "cookies": []}),
    );
}

#[test]
fn alb_responses_carry_both_header_maps() {
    // As upstream: ALB reads the map of its target group's mode.
    check_encode(
        Source::Alb,
        typical(),
        json!({"statusCode": 200, "statusDescription": "200 OK",
            "headers": {"content-type": "text/plain", "set-cookie": "a=1; Path=/", "x-multi": "one, two"},
            "multiValueHeaders": {"content-type": ["text/plain"], "set-cookie": ["a=1; Path=/", "b=2"], "x-multi": ["one", "two"]},
            "body": "hi", "isBase64Encoded": false}),
    );
    let out = encode(Source::Alb, response(302, &[("location", b"/x")], b"")).unwrap();
    assert!(
        String::from_utf8(out)
            .unwrap()
            .contains(r#""statusDescription":"302 Found""#)
    );
    let out = encode(Source::Alb, response(599, &[], b"")).unwrap();
    assert!(
        String::from_utf8(out)
            .unwrap()
            .contains(r#""statusDescription":"599 ""#)
    );
}

#[test]
fn binary_and_non_utf8_bodies_are_base64() {
    let png = [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff];
    check_encode(
        Source::ApiGwV2,
        response(200, &[("content-type", b"image/png")], &png),
        json!({"statusCode": 200, "headers": {"content-type": "image/png"}, "multiValueHeaders": {},
            "body": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, png), "isBase64Encoded": true, "cookies": []}),
    );
    // decisions.md #6: no lossy decoding, no UTF-16 sniffing.
    for (ct, bytes) in [
        (&b"text/plain; charset=iso-8859-1"[..], &b"caf\xe9"[..]),
        (b"", b"\xff\xfeh\x00"),
    ] {
        let headers: Vec<(&str, &[u8])> = if ct.is_empty() {
            vec![]
        } else {
            vec![("content-type", ct)]
        };
        let out = encode(Source::ApiGwV1, response(200, &headers, bytes)).unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["isBase64Encoded"], true);
        assert_eq!(
            body::decode_base64(v["body"].as_str().unwrap()).unwrap(),
            bytes
        );
    }
}

#[test]
fn non_utf8_header_values_are_kept_as_latin1() {
    // decisions.md #1: upstream exits on this.
    let resp = response(
        200,
        &[(
            "content-disposition",
            b"attachment; filename=\"caf\xe9.txt\"",
        )],
        b"x",
    );
    let out = encode(Source::ApiGwV2, resp).unwrap();
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(
        v["headers"]["content-disposition"],
        "attachment; filename=\"café.txt\""
    );
}

#[test]
fn pass_through_results_are_the_json_body_or_null() {
    let ok = encode(
        Source::PassThrough,
        response(
            200,
            &[("content-type", b"application/json")],
            b" {\"batchItemFailures\":[]}\n",
        ),
    )
    .unwrap();
    assert_eq!(ok, b" {\"batchItemFailures\":[]}\n");
    // The status is ignored here (AWS_LWA_ERROR_STATUS_CODES is checked before).
    assert_eq!(
        encode(Source::PassThrough, response(500, &[], b"[1,2]")).unwrap(),
        b"[1,2]"
    );
    assert_eq!(
        encode(
            Source::PassThrough,
            response(200, &[("content-type", b"text/plain")], b"not json")
        )
        .unwrap(),
        b"null"
    );
    assert_eq!(
        encode(
            Source::PassThrough,
            response(200, &[("content-type", b"image/png")], b"{}")
        )
        .unwrap(),
        b"null"
    );
    assert_eq!(
        encode(Source::PassThrough, response(200, &[], b"")).unwrap(),
        b"null"
    );
}

#[test]
fn responses_over_lambdas_limit_are_an_error() {
    let big = vec![b'a'; MAX_RESPONSE];
    let e = encode(
        Source::ApiGwV2,
        response(200, &[("content-type", b"text/plain")], &big),
    )
    .unwrap_err();
    assert_eq!(e.error_type(), "Adapter.ResponseTooLarge");
    let fits = vec![b'a'; MAX_RESPONSE - 200];
    assert!(
        encode(
            Source::ApiGwV2,
            response(200, &[("content-type", b"text/plain")], &fits)
        )
        .is_ok()
    );
}

#[test]
fn compact_json_keeps_strings_intact() {
    assert_eq!(
        compact_json("{\n  \"a b\": \"x  y\\\" z\",\n  \"c\": [1, 2]\n}"),
        "{\"a b\":\"x  y\\\" z\",\"c\":[1,2]}"
    );
    assert!(matches!(compact_json(r#"{"a":1}"#), Cow::Borrowed(_)));
    assert_eq!(compact_json("\"\\\\\" "), "\"\\\\\"");
}

#[test]
fn strings_are_written_as_serde_json_writes_them() {
    let cases = [
        "",
        "plain text, 100% ASCII",
        "ünïcødé and emoji 🦀",
        "quote \" backslash \\ slash /",
        "controls \n\r\t\u{0}\u{1f} and DEL \u{7f}",
        "</script> <>&'",
    ];
    for s in cases {
        let mut out = b"[".to_vec();
        push_str(&mut out, s);
        assert_eq!(out[1..], serde_json::to_vec(s).unwrap()[..], "{s:?}");
    }
}

#[test]
fn stream_preludes_keep_every_value() {
    let got: Value = serde_json::from_slice(&prelude(201, &typical().headers)).unwrap();
    assert_eq!(
        got,
        json!({"statusCode": 201, "headers": {"content-type": "text/plain", "x-multi": ["one", "two"]},
            "cookies": ["a=1; Path=/", "b=2"]})
    );
    let latin1 = response(200, &[("x-name", b"caf\xe9")], b"");
    let got: Value = serde_json::from_slice(&prelude(200, &latin1.headers)).unwrap();
    assert_eq!(
        got,
        json!({"statusCode": 200, "headers": {"content-type": "application/octet-stream", "x-name": "café"}, "cookies": []})
    );
}

#[test]
fn entries_reuse_their_vectors_on_the_same_thread() {
    let first: Members = serde_json::from_str(r#"{"a":1,"b":"x"}"#).unwrap();
    let (at, room) = (first.0.as_ptr() as usize, first.0.capacity());
    assert!(room >= 16, "{room}");
    drop(first);
    let second: Members = serde_json::from_str(r#"{"c":3}"#).unwrap();
    assert_eq!(
        (second.0.as_ptr() as usize, second.0.capacity()),
        (at, room)
    );
    assert_eq!(second.get("c").unwrap().unwrap().get(), "3");
    assert!(second.get("a").unwrap().is_none());
    // Two at once: the second gets a vector of its own.
    let third: Entries<Option<Str>> = serde_json::from_str(r#"{"h":"v"}"#).unwrap();
    let fourth: Entries<Option<Str>> = serde_json::from_str(r#"{"k":null}"#).unwrap();
    assert_ne!(third.0.as_ptr(), fourth.0.as_ptr());
    assert_eq!(third.0.len() + fourth.0.len(), 2);
}
