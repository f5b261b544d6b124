//! gzip (cargo feature `compression`) and Brotli (feature `brotli`) for
//! buffered responses (`AWS_LWA_ENABLE_COMPRESSION=true`), with upstream's
//! rules (tower-http's compression layer): the client's `Accept-Encoding`
//! with q-values decides, the highest q wins and a tie goes to br; bodies under
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

/// A content coding the adapter can apply.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Coding {
    Gzip,
    #[cfg(feature = "brotli")]
    Br,
}

/// Compresses `resp` in place when the rules allow it.
pub fn apply(accept_encoding: Option<&HeaderValue>, resp: &mut AppResponse) {
    if !eligible(resp) {
        return;
    }
    resp.headers
        .append(header::VARY, HeaderValue::from_static("accept-encoding"));
    let Some(coding) = choose(accept_encoding) else {
        return;
    };
    let (encoded, name) = match coding {
        Coding::Gzip => (gzip(&resp.body), "gzip"),
        #[cfg(feature = "brotli")]
        Coding::Br => (br(&resp.body), "br"),
    };
    let Ok(encoded) = encoded else { return }; // writing to a Vec: cannot fail
    resp.body = encoded;
    resp.headers.remove(header::CONTENT_LENGTH);
    resp.headers.remove(header::ACCEPT_RANGES);
    resp.headers
        .insert(header::CONTENT_ENCODING, HeaderValue::from_static(name));
}

/// gzip at the default level (6), as upstream.
fn gzip(body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(body.len() / 2), Compression::new(6));
    encoder.write_all(body)?;
    encoder.finish()
}

/// Brotli at quality 4 with a 4 MiB window (lgwin 22), as upstream's
/// tower-http: fast enough for a request path, better than gzip on text.
#[cfg(feature = "brotli")]
fn br(body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder =
        brotli::CompressorWriter::new(Vec::with_capacity(body.len() / 2), 4096, 4, 22);
    encoder.write_all(body)?;
    encoder.flush()?;
    Ok(encoder.into_inner())
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

/// The coding to apply, as tower-http chooses it: each coding we have
/// takes its own q-value, else that of `*`; it must be above 0 and not
/// ranked below `identity`; the highest q wins, and a tie goes to br.
/// `x-gzip` is gzip.
fn choose(accept: Option<&HeaderValue>) -> Option<Coding> {
    let accept = accept.and_then(|v| v.to_str().ok())?;
    let (mut gzip, mut br, mut star, mut identity) = (None, None, None, None);
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
            "br" => br = Some(q),
            "*" => star = Some(q),
            "identity" => identity = Some(q),
            _ => {}
        }
    }
    let floor = identity.unwrap_or(0.0);
    let usable = |q: Option<f32>| q.or(star).filter(|&q| q > 0.0 && q >= floor);
    let gzip = usable(gzip).map(|q| (q, Coding::Gzip));
    #[cfg(feature = "brotli")]
    if let Some(br) = usable(br)
        && gzip.is_none_or(|(q, _)| br >= q)
    {
        return Some(Coding::Br);
    }
    #[cfg(not(feature = "brotli"))]
    let _ = br;
    gzip.map(|(_, c)| c)
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
        coding: Option<&str>,
        vary: bool,
    ) {
        let mut r = resp(headers, body);
        apply(accept.map(HeaderValue::from_static).as_ref(), &mut r);
        let encoded = headers.iter().all(|(n, _)| *n != "content-encoding");
        let got = r.headers.get("content-encoding").filter(|_| encoded);
        assert_eq!(
            got.map(|v| v.to_str().unwrap()),
            coding,
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
        if let Some(coding) = coding {
            let mut plain = Vec::new();
            match coding {
                "gzip" => GzDecoder::new(&r.body[..]).read_to_end(&mut plain).unwrap(),
                _ => brotli::Decompressor::new(&r.body[..], 4096)
                    .read_to_end(&mut plain)
                    .unwrap(),
            };
            assert_eq!(plain, body);
            assert!(
                r.headers.get("content-length").is_none()
                    && r.headers.get("accept-ranges").is_none()
            );
        } else {
            assert_eq!(r.body, body);
        }
    }

    const GZ: Option<&str> = Some("gzip");
    /// What a client accepting both gets: br when the build has it.
    const BR_OR_GZ: Option<&str> = if cfg!(feature = "brotli") {
        Some("br")
    } else {
        GZ
    };
    const BR_OR_NONE: Option<&str> = if cfg!(feature = "brotli") {
        Some("br")
    } else {
        None
    };

    const JSON: &[u8] = br#"{"message":"hello, hello, hello, hello, hello"}"#;

    #[test]
    fn follows_the_clients_accept_encoding() {
        let json = [
            ("content-type", "application/json"),
            ("content-length", "47"),
            ("accept-ranges", "bytes"),
        ];
        check(Some("gzip"), &json, JSON, GZ, true);
        check(
            Some("br;q=1.0, gzip;q=0.8, *;q=0.1"),
            &json,
            JSON,
            BR_OR_GZ,
            true,
        );
        check(Some("gzip, deflate, br"), &json, JSON, BR_OR_GZ, true);
        check(Some("br;q=0.5, gzip;q=0.8"), &json, JSON, GZ, true);
        check(Some("br;q=0.8, gzip;q=0.5"), &json, JSON, BR_OR_GZ, true);
        check(Some("x-gzip"), &json, JSON, GZ, true);
        check(Some("*"), &json, JSON, BR_OR_GZ, true);
        check(Some("gzip, *;q=0.5"), &json, JSON, GZ, true);
        check(Some("gzip;q=0.4, *;q=0.5"), &json, JSON, BR_OR_GZ, true);
        check(Some("gzip;q=0"), &json, JSON, None, true);
        check(Some("br"), &json, JSON, BR_OR_NONE, true);
        check(Some("br;q=0, gzip;q=0"), &json, JSON, None, true);
        check(Some("identity;q=1, gzip;q=0.5"), &json, JSON, None, true);
        check(
            Some("identity;q=0.5, br;q=0.6"),
            &json,
            JSON,
            BR_OR_NONE,
            true,
        );
        check(None, &json, JSON, None, true);
    }

    #[test]
    fn leaves_some_answers_alone() {
        check(
            Some("gzip"),
            &[("content-type", "text/plain")],
            b"28 bytes of text, not more.",
            None,
            false,
        );
        check(
            Some("gzip"),
            &[("content-type", "image/png")],
            JSON,
            None,
            false,
        );
        check(
            Some("gzip"),
            &[("content-type", "image/svg+xml")],
            JSON,
            GZ,
            true,
        );
        check(
            Some("gzip"),
            &[("content-type", "text/event-stream")],
            JSON,
            None,
            false,
        );
        check(
            Some("gzip"),
            &[("content-type", "application/grpc")],
            JSON,
            None,
            false,
        );
        check(
            Some("gzip"),
            &[("content-type", "application/grpc-web+proto")],
            JSON,
            GZ,
            true,
        );
        check(
            Some("gzip"),
            &[("content-encoding", "br")],
            JSON,
            None,
            false,
        );
        check(
            Some("gzip"),
            &[("content-range", "bytes 0-46/100")],
            JSON,
            None,
            false,
        );
    }
}
