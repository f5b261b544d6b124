//! gzip for buffered responses (`AWS_LWA_ENABLE_COMPRESSION=true`, cargo
//! feature `compression`), with upstream's rules (tower-http's compression
//! layer): the client's `Accept-Encoding` with q-values decides; bodies under
//! 32 bytes, images other than SVG, `text/event-stream`, gRPC, and answers
//! already encoded or partial are left alone; an eligible answer gets
//! `vary: accept-encoding` whether or not it is compressed. Not applied in
//! streaming mode. Pure: no I/O.

use std::io::Write;

use flate2::Compression;
use flate2::write::GzEncoder;
use ureq::http::header::{self, HeaderValue};

use crate::app::AppResponse;

/// Smaller bodies are not worth it (tower-http's default).
const MIN_SIZE: usize = 32;

/// Compresses `resp` in place when the rules allow it.
pub fn apply(accept_encoding: Option<&HeaderValue>, resp: &mut AppResponse) {
    if !eligible(resp) {
        return;
    }
    resp.headers
        .append(header::VARY, HeaderValue::from_static("accept-encoding"));
    if !accepts_gzip(accept_encoding) {
        return;
    }
    let mut encoder = GzEncoder::new(Vec::with_capacity(resp.body.len() / 2), Compression::new(6));
    let gzipped = encoder
        .write_all(&resp.body)
        .and_then(|()| encoder.finish());
    let Ok(gzipped) = gzipped else { return }; // writing to a Vec: cannot fail
    resp.body = gzipped;
    resp.headers.remove(header::CONTENT_LENGTH);
    resp.headers.remove(header::ACCEPT_RANGES);
    resp.headers
        .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
}

fn eligible(resp: &AppResponse) -> bool {
    let h = &resp.headers;
    if h.contains_key(header::CONTENT_ENCODING)
        || h.contains_key(header::CONTENT_RANGE)
        || resp.body.len() < MIN_SIZE
    {
        return false;
    }
    let media = h
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media = media
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let image = media.starts_with("image/") && media != "image/svg+xml";
    let grpc = media.starts_with("application/grpc") && !media.starts_with("application/grpc-web");
    !(image || grpc || media == "text/event-stream")
}

/// Whether `gzip` (or `x-gzip`, or `*`) is acceptable: listed with a q-value
/// above 0, and not ranked below `identity`.
fn accepts_gzip(accept: Option<&HeaderValue>) -> bool {
    let Some(accept) = accept.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let (mut gzip, mut star, mut identity) = (None, None, None);
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .or_else(|| p.trim().strip_prefix("Q="))
            })
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        match coding.as_str() {
            "gzip" | "x-gzip" => gzip = Some(q),
            "*" => star = Some(q),
            "identity" => identity = Some(q),
            _ => {}
        }
    }
    let q = gzip.or(star).unwrap_or(0.0);
    q > 0.0 && q >= identity.unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use flate2::read::GzDecoder;
    use ureq::http::HeaderMap;

    use super::*;

    fn resp(headers: &[(&'static str, &'static str)], body: &[u8]) -> AppResponse {
        let mut h = HeaderMap::new();
        for (n, v) in headers {
            h.append(*n, HeaderValue::from_static(v));
        }
        AppResponse {
            status: 200,
            headers: h,
            body: body.to_vec(),
        }
    }

    #[track_caller]
    fn check(
        accept: Option<&'static str>,
        headers: &[(&'static str, &'static str)],
        body: &[u8],
        gzipped: bool,
        vary: bool,
    ) {
        let mut r = resp(headers, body);
        apply(accept.map(HeaderValue::from_static).as_ref(), &mut r);
        assert_eq!(
            r.headers
                .get("content-encoding")
                .is_some_and(|v| v == "gzip"),
            gzipped,
            "{accept:?} {headers:?}"
        );
        assert_eq!(
            r.headers
                .get_all("vary")
                .iter()
                .any(|v| v == "accept-encoding"),
            vary,
            "{accept:?} {headers:?}"
        );
        if gzipped {
            let mut plain = Vec::new();
            GzDecoder::new(&r.body[..]).read_to_end(&mut plain).unwrap();
            assert_eq!(plain, body);
            assert!(
                r.headers.get("content-length").is_none()
                    && r.headers.get("accept-ranges").is_none()
            );
        } else {
            assert_eq!(r.body, body);
        }
    }

    const JSON: &[u8] = br#"{"message":"hello, hello, hello, hello, hello"}"#;

    #[test]
    fn follows_the_clients_accept_encoding() {
        let json = [
            ("content-type", "application/json"),
            ("content-length", "47"),
            ("accept-ranges", "bytes"),
        ];
        check(Some("gzip"), &json, JSON, true, true);
        check(
            Some("br;q=1.0, gzip;q=0.8, *;q=0.1"),
            &json,
            JSON,
            true,
            true,
        );
        check(Some("x-gzip"), &json, JSON, true, true);
        check(Some("*"), &json, JSON, true, true);
        check(Some("gzip;q=0"), &json, JSON, false, true);
        check(Some("br"), &json, JSON, false, true);
        check(Some("identity;q=1, gzip;q=0.5"), &json, JSON, false, true);
        check(None, &json, JSON, false, true);
    }

    #[test]
    fn leaves_some_answers_alone() {
        check(
            Some("gzip"),
            &[("content-type", "text/plain")],
            b"28 bytes of text, not more.",
            false,
            false,
        );
        check(
            Some("gzip"),
            &[("content-type", "image/png")],
            JSON,
            false,
            false,
        );
        check(
            Some("gzip"),
            &[("content-type", "image/svg+xml")],
            JSON,
            true,
            true,
        );
        check(
            Some("gzip"),
            &[("content-type", "text/event-stream")],
            JSON,
            false,
            false,
        );
        check(
            Some("gzip"),
            &[("content-type", "application/grpc")],
            JSON,
            false,
            false,
        );
        check(
            Some("gzip"),
            &[("content-type", "application/grpc-web+proto")],
            JSON,
            true,
            true,
        );
        check(
            Some("gzip"),
            &[("content-encoding", "br")],
            JSON,
            false,
            false,
        );
        check(
            Some("gzip"),
            &[("content-range", "bytes 0-46/100")],
            JSON,
            false,
            false,
        );
    }
}
