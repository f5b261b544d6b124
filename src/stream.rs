//! Response streaming to the Runtime API: a chunked `POST .../response` that
//! forwards the app's body as it arrives, and reports an error after the
//! first byte with real HTTP trailers.
//!
//! The request goes through `transport::Upload` on a connection of its own,
//! which is closed after the response, as Lambda expects of streaming
//! runtimes. Memory stays bounded: one buffer, reused.

use std::io::{self, Read};

use ureq::http::{HeaderName, HeaderValue, Request, header};

use crate::error::Error;
use crate::transport::{Conn, Fault, Upload};

/// The content type Function URLs read as prelude, 8 NULs, then the body.
pub const CONTENT_TYPE: &str = "application/vnd.awslambda.http-integration-response";

/// Size of the buffer the app's body is read into; each read is sent at once.
const BUFFER: usize = 32 * 1024;

/// A streamed response in progress.
pub struct Stream {
    upload: Upload,
}

impl Stream {
    /// Connects and sends the head of a streaming `req` (a POST with no body yet).
    pub fn open(conn: Conn, mut req: Request<()>) -> Result<Stream, Fault> {
        let h = req.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
        h.insert(
            HeaderName::from_static("lambda-runtime-function-response-mode"),
            HeaderValue::from_static("streaming"),
        );
        h.insert(
            header::TRANSFER_ENCODING,
            HeaderValue::from_static("chunked"),
        );
        h.append(
            header::TRAILER,
            HeaderValue::from_static("Lambda-Runtime-Function-Error-Type"),
        );
        h.append(
            header::TRAILER,
            HeaderValue::from_static("Lambda-Runtime-Function-Error-Body"),
        );
        Ok(Stream {
            upload: conn.upload(req)?,
        })
    }

    /// Sends `data` as one chunk, now. Empty data is skipped: an empty chunk
    /// would end the body.
    pub fn send(&mut self, data: &[u8]) -> Result<(), Fault> {
        self.upload.send(data)
    }

    /// Copies `body` chunk by chunk as it arrives. `Err(Ok(e))` is a failure
    /// reading the app's body; `Err(Err(e))` one writing to the Runtime API.
    pub fn copy(&mut self, body: &mut impl Read) -> Result<u64, Result<io::Error, Fault>> {
        let mut buf = vec![0; BUFFER];
        let mut total = 0;
        loop {
            let n = match body.read(&mut buf) {
                Ok(0) => return Ok(total),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Ok(e)),
            };
            self.send(&buf[..n]).map_err(Err)?;
            total += n as u64;
        }
    }

    /// Ends the body, with the error trailers when `error` is given, and
    /// returns the Runtime API's status code.
    pub fn finish(self, error: Option<&Error>) -> Result<u16, Fault> {
        let mut trailers = Vec::new();
        if let Some(e) = error {
            trailers.extend_from_slice(b"Lambda-Runtime-Function-Error-Type: ");
            trailers.extend_from_slice(e.error_type().as_bytes());
            trailers.extend_from_slice(b"\r\nLambda-Runtime-Function-Error-Body: ");
            trailers.extend_from_slice(crate::event::body::encode_base64(&e.json()).as_bytes());
            trailers.extend_from_slice(b"\r\n");
        }
        self.upload
            .finish(&trailers, Some(std::time::Instant::now() + ANSWER_TIME))
    }
}

/// How long the Runtime API may take to answer a finished stream.
const ANSWER_TIME: std::time::Duration = std::time::Duration::from_secs(10);

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;
    use std::thread;

    use super::*;
    use ureq::http::Method;

    fn open(addr: &str, path: &str) -> Stream {
        let (host, port) = addr.rsplit_once(':').unwrap();
        let conn = Conn::new(host, port.parse().unwrap(), 1024, None);
        let mut req = Request::new(());
        *req.method_mut() = Method::POST;
        *req.uri_mut() = format!("http://{addr}{path}").parse().unwrap();
        Stream::open(conn, req).unwrap()
    }

    /// Runs `f` against a listener that records every byte and answers 202.
    fn capture(f: impl FnOnce(&str) -> u16) -> (u16, String) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let server = thread::spawn(move || {
            let (tcp, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(tcp.try_clone().unwrap());
            let mut seen = Vec::new();
            // Until the end of the chunked body: "0\r\n", trailers, "\r\n".
            let mut line = Vec::new();
            let mut in_trailers = false;
            loop {
                line.clear();
                reader.read_until(b'\n', &mut line).unwrap();
                seen.extend_from_slice(&line);
                if line == b"0\r\n" {
                    in_trailers = true;
                } else if in_trailers && line == b"\r\n" {
                    break;
                }
            }
            (&tcp)
                .write_all(b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n")
                .unwrap();
            String::from_utf8(seen).unwrap()
        });
        let status = f(&addr);
        (status, server.join().unwrap())
    }

    #[test]
    fn chunks_and_a_clean_end() {
        let (status, wire) = capture(|addr| {
            let mut s = open(addr, "/rt/2018-06-01/runtime/invocation/id/response");
            s.send(b"{\"statusCode\":200}").unwrap();
            s.send(b"").unwrap();
            s.send(&[0; 8]).unwrap();
            s.copy(&mut &b"hello world"[..]).unwrap();
            s.finish(None).unwrap()
        });
        assert_eq!(status, 202);
        let (head, body) = wire.split_once("\r\n\r\n").unwrap();
        assert!(
            head.starts_with("POST /rt/2018-06-01/runtime/invocation/id/response HTTP/1.1\r\n"),
            "{head}"
        );
        for h in [
            "lambda-runtime-function-response-mode: streaming",
            "transfer-encoding: chunked",
            "trailer: Lambda-Runtime-Function-Error-Type",
            "trailer: Lambda-Runtime-Function-Error-Body",
            "content-type: application/vnd.awslambda.http-integration-response",
        ] {
            assert!(
                head.to_ascii_lowercase().contains(&h.to_ascii_lowercase()),
                "{h}: {head}"
            );
        }
        assert_eq!(
            body,
            "12\r\n{\"statusCode\":200}\r\n8\r\n\0\0\0\0\0\0\0\0\r\nb\r\nhello world\r\n0\r\n\r\n"
        );
    }

    #[test]
    fn errors_after_the_first_byte_are_trailers() {
        let (_, wire) = capture(|addr| {
            let mut s = open(addr, "/x");
            s.send(b"partial").unwrap();
            s.finish(Some(&Error::event("body", "cut"))).unwrap()
        });
        let (_, body) = wire.split_once("\r\n\r\n").unwrap();
        let (data, trailers) = body.split_once("0\r\n").unwrap();
        assert_eq!(data, "7\r\npartial\r\n");
        let mut lines = trailers.lines();
        assert_eq!(
            lines.next(),
            Some("Lambda-Runtime-Function-Error-Type: Adapter.InvalidEvent")
        );
        let encoded = lines
            .next()
            .unwrap()
            .strip_prefix("Lambda-Runtime-Function-Error-Body: ")
            .unwrap();
        let decoded = crate::event::body::decode_base64(encoded).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&decoded).unwrap();
        assert_eq!(v["errorType"], "Adapter.InvalidEvent");
        assert!(v["errorMessage"].as_str().unwrap().contains("cut"));
    }

    #[test]
    fn a_failing_body_is_reported_as_a_read_error() {
        struct Broken(bool);
        impl Read for Broken {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if std::mem::replace(&mut self.0, true) {
                    return Err(io::Error::from(io::ErrorKind::ConnectionReset));
                }
                buf[..3].copy_from_slice(b"abc");
                Ok(3)
            }
        }
        let (_, wire) = capture(|addr| {
            let mut s = open(addr, "/x");
            let err = s.copy(&mut Broken(false)).unwrap_err();
            assert_eq!(err.unwrap().kind(), io::ErrorKind::ConnectionReset);
            s.finish(None).unwrap()
        });
        assert!(wire.ends_with("3\r\nabc\r\n0\r\n\r\n"), "{wire}");
    }
}
