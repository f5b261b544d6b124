//! `AWS_LWA_ENABLE_COMPRESSION`: gzip with the `compression` feature, a
//! warning without it.

use serde_json::{Value, json};

use crate::support::*;

fn v2(path: &str, accept: &str) -> Value {
    json!({"version": "2.0", "rawPath": path, "rawQueryString": "", "headers": {"accept-encoding": accept},
        "requestContext": {"http": {"method": "GET", "path": path}}, "isBase64Encoded": false})
}

#[cfg(feature = "compression")]
#[test]
fn buffered_answers_are_gzipped_when_the_client_accepts_it() {
    use std::io::Read;

    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;

    let s = setup(&[("AWS_LWA_ENABLE_COMPRESSION", "true")]);
    let out =
        s.rt.invoke(Event::json("gz", &v2("/gz", "gzip, deflate")))
            .expect_response();
    assert_eq!(out["headers"]["content-encoding"], "gzip");
    assert_eq!(out["headers"]["vary"], "accept-encoding");
    assert_eq!(out["isBase64Encoded"], true);
    let gz = STANDARD.decode(out["body"].as_str().unwrap()).unwrap();
    let mut plain = String::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_string(&mut plain)
        .unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&plain).unwrap()["target"],
        "/gz"
    );

    let out =
        s.rt.invoke(Event::json("plain", &v2("/plain", "identity")))
            .expect_response();
    assert!(out["headers"].get("content-encoding").is_none());
    assert_eq!(out["headers"]["vary"], "accept-encoding");
    assert_eq!(out["isBase64Encoded"], false);
}

#[cfg(feature = "brotli")]
#[test]
fn buffered_answers_are_brotli_when_the_client_prefers_it() {
    use std::io::Read;

    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;

    let s = setup(&[("AWS_LWA_ENABLE_COMPRESSION", "true")]);
    let out =
        s.rt.invoke(Event::json("br", &v2("/br", "gzip;q=0.8, br")))
            .expect_response();
    assert_eq!(out["headers"]["content-encoding"], "br", "{out}");
    assert_eq!(out["isBase64Encoded"], true);
    let br = STANDARD.decode(out["body"].as_str().unwrap()).unwrap();
    let mut plain = String::new();
    brotli::Decompressor::new(&br[..], 4096)
        .read_to_string(&mut plain)
        .unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&plain).unwrap()["target"],
        "/br"
    );
    // A higher q for gzip wins.
    let out =
        s.rt.invoke(Event::json("gz", &v2("/gz", "br;q=0.5, gzip")))
            .expect_response();
    assert_eq!(out["headers"]["content-encoding"], "gzip", "{out}");
}

#[cfg(feature = "compression")]
#[test]
fn streamed_answers_are_not_compressed() {
    let s = setup(&[
        ("AWS_LWA_ENABLE_COMPRESSION", "true"),
        ("AWS_LWA_INVOKE_MODE", "response_stream"),
    ]);
    s.adapter.wait_for_log("not applied to streamed responses");
    let out = s.rt.invoke(Event::json("st", &v2("/st", "gzip")));
    let body = String::from_utf8_lossy(&out.request.body).into_owned();
    assert!(body.contains("\"target\":\"/st\""), "{body}");
}

#[cfg(not(feature = "compression"))]
#[test]
fn without_the_feature_the_setting_is_a_warning() {
    let s = setup(&[("AWS_LWA_ENABLE_COMPRESSION", "true")]);
    let line = s.adapter.wait_for_log("AWS_LWA_ENABLE_COMPRESSION");
    assert!(
        line.starts_with("[WARN ") && line.contains("feature `compression`"),
        "{line}"
    );
    let out =
        s.rt.invoke(Event::json("gz", &v2("/gz", "gzip")))
            .expect_response();
    assert!(out["headers"].get("content-encoding").is_none());
}
