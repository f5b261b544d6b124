//! Response streaming to the Runtime API: a chunked `POST .../response` that
//! forwards the app's body as it arrives, and reports an error after the
//! first byte with real HTTP trailers.
//!
//! ureq cannot send trailers, so this small writer speaks HTTP/1.1 itself over
//! a connection of its own, which it closes after the response, as Lambda
//! expects of streaming runtimes. Memory stays bounded: one buffer, reused.

use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::net::TcpStream;

use crate::error::Error;

/// The content type Function URLs read as prelude, 8 NULs, then the body.
pub const CONTENT_TYPE: &str = "application/vnd.awslambda.http-integration-response";

/// Size of the buffer the app's body is read into; each read becomes one chunk.
const BUFFER: usize = 32 * 1024;

/// A streamed response in progress.
pub struct Stream {
    writer: BufWriter<TcpStream>,
}

impl Stream {
    /// Connects to `authority` (`host:port`) and sends the head of a
    /// streaming `POST path`.
    pub fn open(authority: &str, path: &str) -> io::Result<Stream> {
        let tcp = TcpStream::connect(authority)?;
        tcp.set_nodelay(true)?;
        let mut writer = BufWriter::with_capacity(BUFFER + 64, tcp);
        write!(
            writer,
            "POST {path} HTTP/1.1\r\n\
             Host: {authority}\r\n\
             User-Agent: lambda-adapter/{}\r\n\
             Content-Type: {CONTENT_TYPE}\r\n\
             Lambda-Runtime-Function-Response-Mode: streaming\r\n\
             Transfer-Encoding: chunked\r\n\
             Trailer: Lambda-Runtime-Function-Error-Type\r\n\
             Trailer: Lambda-Runtime-Function-Error-Body\r\n\r\n",
            env!("CARGO_PKG_VERSION")
        )?;
        Ok(Stream { writer })
    }

    /// Sends `data` as one chunk, now. Empty data is skipped: an empty chunk
    /// would end the body.
    pub fn send(&mut self, data: &[u8]) -> io::Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        write!(self.writer, "{:x}\r\n", data.len())?;
        self.writer.write_all(data)?;
        self.writer.write_all(b"\r\n")?;
        self.writer.flush()
    }

    /// Copies `body` chunk by chunk as it arrives. `Err(Ok(e))` is a failure
    /// reading the app's body; `Err(Err(e))` one writing to the Runtime API.
    pub fn copy(&mut self, body: &mut impl Read) -> Result<u64, Result<io::Error, io::Error>> {
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
    pub fn finish(mut self, error: Option<&Error>) -> io::Result<u16> {
        self.writer.write_all(b"0\r\n")?;
        if let Some(e) = error {
            let body = crate::runtime::error_body(e);
            write!(
                self.writer,
                "Lambda-Runtime-Function-Error-Type: {}\r\nLambda-Runtime-Function-Error-Body: {}\r\n",
                e.error_type(),
                crate::event::body::encode_base64(&body)
            )?;
        }
        self.writer.write_all(b"\r\n")?;
        self.writer.flush()?;
        read_status(self.writer.get_ref())
    }
}

/// Reads the status code of the answer, and its headers.
fn read_status(tcp: &TcpStream) -> io::Result<u16> {
    let mut reader = BufReader::new(tcp);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status = line.split(' ').nth(1).and_then(|s| s.parse().ok());
    let status = status.ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("not an HTTP answer: {line:?}"),
        )
    })?;
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" || line == "\n" {
            return Ok(status);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;
    use std::thread;

    use super::*;

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
            let mut s =
                Stream::open(addr, "/rt/2018-06-01/runtime/invocation/id/response").unwrap();
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
            "Lambda-Runtime-Function-Response-Mode: streaming",
            "Transfer-Encoding: chunked",
            "Trailer: Lambda-Runtime-Function-Error-Type",
            "Trailer: Lambda-Runtime-Function-Error-Body",
            "Content-Type: application/vnd.awslambda.http-integration-response",
        ] {
            assert!(head.contains(h), "{h}: {head}");
        }
        assert_eq!(
            body,
            "12\r\n{\"statusCode\":200}\r\n8\r\n\0\0\0\0\0\0\0\0\r\nb\r\nhello world\r\n0\r\n\r\n"
        );
    }

    #[test]
    fn errors_after_the_first_byte_are_trailers() {
        let (_, wire) = capture(|addr| {
            let mut s = Stream::open(addr, "/x").unwrap();
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
            let mut s = Stream::open(addr, "/x").unwrap();
            let err = s.copy(&mut Broken(false)).unwrap_err();
            assert_eq!(err.unwrap().kind(), io::ErrorKind::ConnectionReset);
            s.finish(None).unwrap()
        });
        assert!(wire.ends_with("3\r\nabc\r\n0\r\n\r\n"), "{wire}");
    }
}
