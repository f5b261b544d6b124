//! Just enough HTTP/1.1 for the mock peers: a thread-pool server with
//! keep-alive (threads started before the adapter is), a request reader, and
//! a keep-alive client for direct requests to the app.
//!
//! Servers bind before they listen, so a port can be handed to the adapter
//! while connections to it are still refused (the readiness run).

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread;
use std::time::Instant;

use socket2::{Domain, Socket, Type};

pub type Conn = BufReader<TcpStream>;

/// A request as a server read it.
pub struct Request {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// When the whole request (head and body) had been read.
    pub read_at: Instant,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What a handler wants done with the connection afterwards.
pub enum Then {
    KeepAlive,
    Close,
}

pub type Handler = Arc<dyn Fn(Request, &mut Conn) -> io::Result<Then> + Send + Sync>;

/// A pool of threads serving one port. `stop` ends the threads once their
/// peers have closed their connections.
pub struct Server {
    pub addr: SocketAddr,
    threads: usize,
    stop: Arc<AtomicBool>,
    go: Option<Sender<Instant>>,
    listening: Receiver<Instant>,
    listened_at: Option<Instant>,
}

impl Server {
    /// Binds a port and starts `threads` workers; call `listen_at` to open it.
    pub fn bind(threads: usize, handler: Handler) -> io::Result<Server> {
        let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
        socket.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())?;
        let addr = socket
            .local_addr()?
            .as_socket()
            .expect("an IPv4 socket address");
        let stop = Arc::new(AtomicBool::new(false));
        let mut feeds = Vec::new();
        for _ in 0..threads {
            let (tx, rx) = mpsc::channel::<TcpListener>();
            feeds.push(tx);
            let handler = handler.clone();
            let stop = stop.clone();
            thread::Builder::new()
                .stack_size(256 * 1024)
                .spawn(move || worker(rx, &stop, &handler))?;
        }
        let (go_tx, go_rx) = mpsc::channel::<Instant>();
        let (listening_tx, listening) = mpsc::channel();
        thread::Builder::new()
            .stack_size(128 * 1024)
            .spawn(move || {
                let Ok(at) = go_rx.recv() else { return };
                if let Some(wait) = at.checked_duration_since(Instant::now()) {
                    thread::sleep(wait);
                }
                socket.listen(1024).expect("listen on a bound port");
                let listened = Instant::now();
                let listener: TcpListener = socket.into();
                for feed in feeds {
                    let _ = feed.send(listener.try_clone().expect("clone a listener"));
                }
                let _ = listening_tx.send(listened);
            })?;
        Ok(Server {
            addr,
            threads,
            stop,
            go: Some(go_tx),
            listening,
            listened_at: None,
        })
    }

    /// A server that listens right away.
    pub fn start(threads: usize, handler: Handler) -> io::Result<Server> {
        let mut s = Server::bind(threads, handler)?;
        s.listen_at(Instant::now());
        s.listened();
        Ok(s)
    }

    /// Opens the port at `at` (from a thread started in `bind`).
    pub fn listen_at(&mut self, at: Instant) {
        if let Some(go) = self.go.take() {
            let _ = go.send(at);
        }
    }

    /// When the port started listening (waits for it).
    pub fn listened(&mut self) -> Instant {
        if self.listened_at.is_none() {
            self.listened_at = Some(self.listening.recv().expect("the listener thread"));
        }
        self.listened_at.unwrap()
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if self.go.is_some() {
            // Never opened: its threads wait on channels that close with us.
            return;
        }
        self.listened();
        // Each worker accepts one of these once its current peer is gone, sees
        // the flag and ends.
        for _ in 0..self.threads {
            if let Ok(s) = TcpStream::connect(self.addr) {
                let _ = s.shutdown(Shutdown::Both);
            }
        }
    }
}

fn worker(listener: Receiver<TcpListener>, stop: &AtomicBool, handler: &Handler) {
    let Ok(listener) = listener.recv() else {
        return;
    };
    loop {
        let Ok((stream, _)) = listener.accept() else {
            return;
        };
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let _ = stream.set_nodelay(true);
        let mut conn = BufReader::with_capacity(64 * 1024, stream);
        while let Ok(Some(req)) = read_request(&mut conn) {
            match handler(req, &mut conn) {
                Ok(Then::KeepAlive) => {}
                Ok(Then::Close) | Err(_) => break,
            }
        }
    }
}

/// Reads one request; `None` when the peer closed the connection between requests.
pub fn read_request(conn: &mut Conn) -> io::Result<Option<Request>> {
    let mut line = String::new();
    if conn.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_ascii_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "bad request line",
        ));
    };
    let (method, target) = (method.to_owned(), target.to_owned());
    let headers = read_headers(conn)?;
    let body = read_body(conn, &headers)?;
    Ok(Some(Request {
        method,
        target,
        headers,
        body,
        read_at: Instant::now(),
    }))
}

fn read_headers(conn: &mut Conn) -> io::Result<Vec<(String, String)>> {
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if conn.read_line(&mut line)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let line = line.trim_end();
        if line.is_empty() {
            return Ok(headers);
        }
        if let Some((n, v)) = line.split_once(':') {
            headers.push((n.trim().to_owned(), v.trim().to_owned()));
        }
    }
}

fn read_body(conn: &mut Conn, headers: &[(String, String)]) -> io::Result<Vec<u8>> {
    let get = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    if get("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        let mut body = Vec::new();
        loop {
            let mut size = String::new();
            conn.read_line(&mut size)?;
            let size = size.trim().split(';').next().unwrap_or("");
            let size = usize::from_str_radix(size, 16)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad chunk size"))?;
            if size == 0 {
                read_headers(conn)?; // trailers
                return Ok(body);
            }
            let start = body.len();
            body.resize(start + size, 0);
            conn.read_exact(&mut body[start..])?;
            let mut crlf = [0; 2];
            conn.read_exact(&mut crlf)?;
        }
    }
    let len: usize = get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    conn.read_exact(&mut body)?;
    Ok(body)
}

/// A whole response with `Content-Length` framing, ready to write.
pub fn response(status: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + body.len());
    out.extend_from_slice(format!("HTTP/1.1 {status}\r\n").as_bytes());
    for (n, v) in headers {
        out.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
    }
    out.extend_from_slice(format!("content-length: {}\r\n\r\n", body.len()).as_bytes());
    out.extend_from_slice(body);
    out
}

pub fn write(conn: &mut Conn, bytes: &[u8]) -> io::Result<()> {
    conn.get_mut().write_all(bytes)
}

/// A keep-alive client for direct requests to the app.
pub struct Client {
    conn: Conn,
}

impl Client {
    pub fn connect(addr: SocketAddr) -> io::Result<Client> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        Ok(Client {
            conn: BufReader::with_capacity(256 * 1024, stream),
        })
    }

    /// Sends a whole request; returns the status and the body length.
    pub fn request(&mut self, raw: &[u8]) -> io::Result<(u16, usize)> {
        self.conn.get_mut().write_all(raw)?;
        let mut line = String::new();
        self.conn.read_line(&mut line)?;
        let status = line
            .split_ascii_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "bad status line"))?;
        let headers = read_headers(&mut self.conn)?;
        let body = read_body(&mut self.conn, &headers)?;
        Ok((status, body.len()))
    }
}

/// Reads from a connection until the peer closes it: how a long poll that
/// never gets its answer is parked.
pub fn park(conn: &mut Conn) {
    let mut buf = [0; 1024];
    while matches!(conn.read(&mut buf), Ok(n) if n > 0) {}
}
