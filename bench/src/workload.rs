//! The three warm workloads: each an API Gateway HTTP API (payload 2.0)
//! event for the adapter, the same request sent directly to the app, and the
//! body the app answers with.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::mock::{BIG_LEN, POST_LEN, SMALL_BODY};

pub struct Workload {
    /// Key in results.json.
    pub key: &'static str,
    /// Label in the table.
    pub label: &'static str,
    pub event: Arc<Vec<u8>>,
    /// The equivalent raw HTTP/1.1 request to the app.
    pub direct: Vec<u8>,
    /// The body the Lambda response must carry.
    pub expect: Vec<u8>,
}

pub fn all() -> Vec<Workload> {
    vec![small_get(), json_post(), big_get()]
}

pub fn small_get() -> Workload {
    Workload {
        key: "small_get",
        label: "small GET",
        event: event("GET", "/x", json!({"host": "h"}), None),
        direct: b"GET /x HTTP/1.1\r\nhost: h\r\n\r\n".to_vec(),
        expect: SMALL_BODY.to_vec(),
    }
}

fn json_post() -> Workload {
    let body = json_body(POST_LEN);
    let mut direct = format!(
        "POST /echo HTTP/1.1\r\nhost: h\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    direct.extend_from_slice(body.as_bytes());
    Workload {
        key: "json_post_1k",
        label: "1 KiB JSON POST",
        event: event(
            "POST",
            "/echo",
            json!({"host": "h", "content-type": "application/json"}),
            Some(&body),
        ),
        direct,
        expect: format!("{{\"received\":{POST_LEN}}}").into_bytes(),
    }
}

fn big_get() -> Workload {
    Workload {
        key: "get_100k",
        label: "100 KiB response",
        event: event("GET", "/big", json!({"host": "h"}), None),
        direct: b"GET /big HTTP/1.1\r\nhost: h\r\n\r\n".to_vec(),
        expect: (0..BIG_LEN).map(|i| b'a' + (i % 26) as u8).collect(),
    }
}

fn event(method: &str, path: &str, headers: Value, body: Option<&str>) -> Arc<Vec<u8>> {
    let mut e = json!({
        "version": "2.0",
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {"http": {"method": method, "path": path}},
        "isBase64Encoded": false,
    });
    if let Some(b) = body {
        e["body"] = Value::from(b);
    }
    Arc::new(serde_json::to_vec(&e).expect("serialise an event"))
}

/// A JSON document of exactly `len` bytes.
fn json_body(len: usize) -> String {
    let mut items = Vec::new();
    let mut doc = String::new();
    for i in 0.. {
        items.push(json!({"id": i, "name": format!("item {i}"), "tags": ["a", "b"], "ok": true}));
        let next = serde_json::to_string(&json!({"items": items, "pad": ""})).expect("json");
        if next.len() > len {
            break;
        }
        doc = next;
    }
    items.pop();
    let pad = "x".repeat(len - doc.len());
    let doc = serde_json::to_string(&json!({"items": items, "pad": pad})).expect("json");
    assert_eq!(doc.len(), len);
    doc
}

/// Whether a Lambda response (HTTP API shape) carries status 200 and `expect`.
pub fn check(posted: &[u8], expect: &[u8]) -> Result<(), String> {
    let v: Value = serde_json::from_slice(posted).map_err(|e| format!("not JSON: {e}"))?;
    if v["statusCode"] != 200 {
        return Err(format!("statusCode {}", v["statusCode"]));
    }
    if v["isBase64Encoded"] == true {
        return Err("base64 body".into());
    }
    let body = v["body"].as_str().unwrap_or("").as_bytes();
    if body != expect {
        return Err(format!(
            "body of {} bytes, expected {} bytes",
            body.len(),
            expect.len()
        ));
    }
    Ok(())
}
