//! HTTP/1.1 over one kept-alive `TcpStream` per peer, driven by ureq's
//! sans-IO protocol crate, `ureq-proto`: it writes request heads, frames
//! bodies and parses answers; this file only moves bytes and keeps time.
//!
//! Every peer of the adapter (the Runtime API, the Extensions API, the app,
//! a streamed response) goes through a `Conn`. A `Conn` is one connection,
//! opened on first use and kept while the peer keeps it. A stale one (the
//! peer closed it while idle) is found by the failed write or read of the
//! next request, never probed before: a request that fails on a reused
//! connection before any byte of the answer arrived is sent once more on a
//! new connection (decisions.md #12). An idle limit drops connections that
//! the peer is likely to have closed. Buffers are owned by the `Conn` and
//! reused; nothing here is shared between threads.

use std::fmt;
use std::io::{self, IoSlice, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use ureq::http::{Request, Response};
use ureq_proto::client::state::{RecvBody, RecvResponse, SendBody};
use ureq_proto::client::{
    Await100Result, Call, RecvBodyResult, RecvResponseResult, SendRequestResult,
};

/// A request's head is written into a buffer of this size first; a longer
/// one grows it (ureq-proto writes what fits, so a head is never cut).
const HEAD_BUFFER: usize = 1024;

/// The input buffer's first size: most answer heads, and a good share of a
/// body per read.
const INPUT_BUFFER: usize = 2 * 1024;

/// The input buffer's size once a body is read in more than one piece.
const BODY_BUFFER: usize = 64 * 1024;

/// A read timeout is set again only when it is this much longer than the
/// time left, so that most requests cost one `setsockopt` at most.
const TIMEOUT_SLACK: Duration = Duration::from_millis(5);

/// How a request failed.
#[derive(Debug)]
pub enum Fault {
    /// No connection could be made: nothing listens, or the name has no address.
    Connect(io::Error),
    /// The deadline passed before the answer was complete.
    Timeout,
    /// Reading or writing the connection failed.
    Io(io::Error),
    /// The peer closed the connection before its answer was complete.
    Closed,
    /// The bytes are not HTTP/1.1 that can be read, or the request cannot be written.
    Protocol(ureq_proto::Error),
    /// The answer's head is larger than the buffer it must fit in.
    HeadTooLarge(usize),
    /// The body is longer than the caller's limit.
    BodyTooLarge(u64),
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Connect(e) => write!(f, "connection failed: {e}"),
            Fault::Timeout => f.write_str("timed out"),
            Fault::Io(e) => write!(f, "{e}"),
            Fault::Closed => f.write_str("the connection closed before the answer was complete"),
            Fault::Protocol(e) => write!(f, "HTTP: {e}"),
            Fault::HeadTooLarge(max) => write!(f, "the answer's head is larger than {max} bytes"),
            Fault::BodyTooLarge(max) => write!(f, "the body is larger than {max} bytes"),
        }
    }
}

impl std::error::Error for Fault {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Fault::Connect(e) | Fault::Io(e) => Some(e),
            Fault::Protocol(e) => Some(e),
            _ => None,
        }
    }
}

impl From<ureq_proto::Error> for Fault {
    fn from(e: ureq_proto::Error) -> Fault {
        Fault::Protocol(e)
    }
}

impl Fault {
    /// A failure that a connection closed by the peer while idle produces.
    fn is_stale(&self) -> bool {
        match self {
            Fault::Closed => true,
            Fault::Io(e) => matches!(
                e.kind(),
                io::ErrorKind::ConnectionReset
                    | io::ErrorKind::BrokenPipe
                    | io::ErrorKind::ConnectionAborted
                    | io::ErrorKind::UnexpectedEof
            ),
            _ => false,
        }
    }
}

/// The call and the answer's head; on failure the call, to send it again.
type Exchanged = Result<(Call<RecvResponse>, Response<()>), (Call<RecvResponse>, Fault)>;

/// One connection to one peer, and its buffers.
pub struct Conn {
    peer: Peer,
    tcp: Option<TcpStream>,
    /// Bytes read and not yet used are `input[pos..end]`. It starts small
    /// (zeroed once, on first use) and grows for a long head up to `max_head`.
    input: Vec<u8>,
    max_head: usize,
    pos: usize,
    end: usize,
    /// The request head is `head[..head_len]` (see `write_head`).
    head: Vec<u8>,
    head_len: usize,
    /// An idle connection older than this is closed rather than reused
    /// (`None`: kept as long as the peer keeps it, and a failure on it is
    /// the caller's to retry; zero: one per request).
    max_idle: Option<Duration>,
    idle_since: Instant,
    /// The read timeout set on the socket now.
    read_timeout: Option<Duration>,
}

/// The host and port of a `host:port` that config checked (an IPv6 host
/// without its brackets).
pub fn host_port(authority: &str) -> (&str, u16) {
    // The port is after the last `:`, unless that is inside `[...]`.
    let (host, port) = match authority.bytes().rposition(|b| b == b':') {
        Some(i) if !authority.ends_with(']') => (&authority[..i], authority[i + 1..].parse().ok()),
        _ => (authority, None),
    };
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    (host, port.unwrap_or(80))
}

/// The `host:port` of an `http://host:port[/path]` URL that config checked.
pub fn authority(url: &str) -> &str {
    let rest = url
        .strip_prefix("http://")
        .expect("BUG: config builds http:// URLs");
    &rest[..rest.bytes().position(|b| b == b'/').unwrap_or(rest.len())]
}

/// Where a connection goes: an IP address as it is (the usual case: no
/// lookup and no string kept), a name looked up at each connect.
#[derive(Clone)]
enum Peer {
    Addr(SocketAddr),
    Name(String, u16),
}

impl Peer {
    fn new(host: &str, port: u16) -> Peer {
        match host.parse::<IpAddr>() {
            Ok(ip) => Peer::Addr(SocketAddr::new(ip, port)),
            Err(_) => Peer::Name(host.to_owned(), port),
        }
    }
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Peer::Addr(a) => a.fmt(f),
            Peer::Name(host, port) => write!(f, "{host}:{port}"),
        }
    }
}

impl Conn {
    /// A connection to `host:port`, opened on first use. An answer's head
    /// must fit in `max_head` bytes.
    pub fn new(host: &str, port: u16, max_head: usize, max_idle: Option<Duration>) -> Conn {
        Conn::to(Peer::new(host, port), max_head, max_idle)
    }

    fn to(peer: Peer, max_head: usize, max_idle: Option<Duration>) -> Conn {
        Conn {
            peer,
            tcp: None,
            input: Vec::new(),
            max_head,
            pos: 0,
            end: 0,
            head: Vec::new(),
            head_len: 0,
            max_idle,
            idle_since: Instant::now(),
            read_timeout: None,
        }
    }

    /// Whether this connects to `host:port`.
    pub fn is_for(&self, (host, port): (&str, u16)) -> bool {
        match &self.peer {
            Peer::Addr(a) => a.port() == port && host.parse() == Ok(a.ip()),
            Peer::Name(h, p) => h == host && *p == port,
        }
    }

    /// Another connection to the same peer, with the same limits.
    pub fn fresh(&self) -> Conn {
        Conn::to(self.peer.clone(), self.max_head, self.max_idle)
    }

    /// Drops the connection; the next request opens a new one.
    pub fn close(&mut self) {
        self.tcp = None;
        self.pos = 0;
        self.end = 0;
    }

    /// Sends `req` with `body` and reads the answer's head; the body is left
    /// in the returned `Reader`. The body is framed by its length (the
    /// request's own `content-length` and `transfer-encoding` must be gone).
    pub fn send(
        &mut self,
        req: Request<()>,
        body: &[u8],
        deadline: Option<Instant>,
    ) -> Result<(Response<()>, Reader<'_>), Fault> {
        let call = self.prepare(req, body)?;
        let reused = self.reusable();
        let (call, resp) = match self.exchange(call, body, deadline) {
            Ok(answer) => answer,
            Err((call, e)) if reused && self.max_idle.is_some() && e.is_stale() => {
                log::debug!(
                    "{}: kept connection failed before answering ({e}); sending again on a new one",
                    self.peer
                );
                self.close();
                self.exchange(call, body, deadline).map_err(|(_, e)| e)?
            }
            Err((_, e)) => return Err(e),
        };
        Ok((resp, self.answer(call, deadline)))
    }

    /// Starts a request whose body is sent in chunks as it comes (`Upload`).
    /// The connection is new and is closed when the upload ends.
    pub fn upload(mut self, req: Request<()>) -> Result<Upload, Fault> {
        let mut call = Call::new(req)?.proceed();
        self.head_len = write_head(&mut call, &mut self.head)?;
        let call = match call.proceed()? {
            Some(SendRequestResult::SendBody(call)) => call,
            _ => return Err(Fault::Protocol(ureq_proto::Error::BodyIsChunked)),
        };
        self.close();
        let tcp = self.connect(None)?;
        (&tcp)
            .write_all(&self.head[..self.head_len])
            .map_err(Fault::Io)?;
        self.tcp = Some(tcp);
        Ok(Upload { conn: self, call })
    }

    /// The request's head in `self.head`, and the call waiting for its answer.
    fn prepare(&mut self, req: Request<()>, body: &[u8]) -> Result<Call<RecvResponse>, Fault> {
        let mut call = Call::new(req)?;
        call.allow_non_standard_methods(true);
        if !body.is_empty() {
            call.force_send_body();
        }
        let mut call = call.proceed();
        self.head_len = write_head(&mut call, &mut self.head)?;
        Ok(match call.proceed()? {
            Some(SendRequestResult::RecvResponse(call)) => call,
            Some(SendRequestResult::SendBody(call)) => sent(call, body.len())?,
            // The body goes without waiting for `100 Continue` (RFC 9110 §10.1.1).
            Some(SendRequestResult::Await100(call)) => match call.proceed()? {
                Await100Result::SendBody(call) => sent(call, body.len())?,
                Await100Result::RecvResponse(call) => call,
            },
            None => unreachable!("BUG: write_head writes the whole head"),
        })
    }

    /// Whether a kept connection will be used (one idle too long is closed first).
    fn reusable(&mut self) -> bool {
        if self.tcp.is_some()
            && self
                .max_idle
                .is_some_and(|max| self.idle_since.elapsed() >= max)
        {
            self.close();
        }
        self.tcp.is_some()
    }

    /// Writes head and body, then reads the answer's head. On failure the
    /// call comes back, unchanged when nothing of the answer was read.
    #[allow(clippy::result_large_err)]
    fn exchange(
        &mut self,
        call: Call<RecvResponse>,
        body: &[u8],
        deadline: Option<Instant>,
    ) -> Exchanged {
        if let Err(e) = self.write_request(body, deadline) {
            self.close();
            return Err((call, e));
        }
        self.read_head(call, deadline)
    }

    /// Reads until the answer's head is complete (1xx answers skipped).
    #[allow(clippy::result_large_err)]
    fn read_head(&mut self, mut call: Call<RecvResponse>, deadline: Option<Instant>) -> Exchanged {
        loop {
            match call.try_response(&self.input[self.pos..self.end], false) {
                Ok((used, Some(resp))) => {
                    self.pos += used;
                    return Ok((call, resp));
                }
                // A 1xx answer: the real one may be in the buffer already.
                Ok((used, None)) if used > 0 => {
                    self.pos += used;
                    continue;
                }
                Ok((_, None)) => {}
                Err(e) => {
                    self.close();
                    return Err((call, e.into()));
                }
            }
            if let Err(e) = self.fill(deadline) {
                self.close();
                return Err((call, e));
            }
        }
    }

    /// The reader of the answer's body.
    fn answer(&mut self, call: Call<RecvResponse>, deadline: Option<Instant>) -> Reader<'_> {
        let call = match call.proceed() {
            Some(RecvResponseResult::RecvBody(call)) => Some(call),
            Some(RecvResponseResult::Cleanup(call)) => {
                self.finished(call.must_close_connection());
                None
            }
            Some(RecvResponseResult::Redirect(call)) => {
                self.finished(call.must_close_connection());
                None
            }
            None => unreachable!("BUG: read_head returns after a whole head"),
        };
        Reader {
            conn: self,
            call,
            deadline,
            done: false,
        }
    }

    /// The answer was read to its end: keep the connection for the next
    /// request unless either side asked to close it or bytes are left over.
    fn finished(&mut self, must_close: bool) {
        if must_close || self.pos != self.end || self.max_idle == Some(Duration::ZERO) {
            self.close();
        } else {
            self.pos = 0;
            self.end = 0;
            self.idle_since = Instant::now();
        }
    }

    fn write_request(&mut self, body: &[u8], deadline: Option<Instant>) -> Result<(), Fault> {
        self.pos = 0;
        self.end = 0;
        let tcp = match self.tcp.take() {
            Some(tcp) => tcp,
            None => self.connect(deadline)?,
        };
        // Small requests fit in the socket's buffer and cannot block.
        let head = &self.head[..self.head_len];
        let total = head.len() + body.len();
        if total > 16 * 1024 {
            let left = time_left(deadline)?;
            tcp.set_write_timeout(left).map_err(Fault::Io)?;
        }
        let mut bufs = [IoSlice::new(head), IoSlice::new(body)];
        let mut bufs = &mut bufs[..];
        let mut written = 0;
        while written < total {
            match (&tcp).write_vectored(bufs) {
                Ok(0) => return Err(Fault::Closed),
                Ok(n) => {
                    written += n;
                    IoSlice::advance_slices(&mut bufs, n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(timeout_or(e, Fault::Io)),
            }
        }
        self.tcp = Some(tcp);
        Ok(())
    }

    /// Opens the connection; bounded by `deadline`.
    fn connect(&mut self, deadline: Option<Instant>) -> Result<TcpStream, Fault> {
        self.read_timeout = None;
        let (host, port) = match &self.peer {
            Peer::Addr(a) => return connect(a, deadline),
            Peer::Name(host, port) => (host.as_str(), *port),
        };
        let addrs = (host, port).to_socket_addrs().map_err(Fault::Connect)?;
        let mut last = None;
        for addr in addrs {
            match connect(&addr, deadline) {
                Ok(tcp) => return Ok(tcp),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            Fault::Connect(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{host} has no address"),
            ))
        }))
    }

    /// Reads more of the answer into the input buffer, moving what is left
    /// of it to the front first.
    fn fill(&mut self, deadline: Option<Instant>) -> Result<(), Fault> {
        if self.pos > 0 {
            self.input.copy_within(self.pos..self.end, 0);
            self.end -= self.pos;
            self.pos = 0;
        }
        if self.end == self.input.len() {
            if self.input.len() >= self.max_head {
                return Err(Fault::HeadTooLarge(self.max_head));
            }
            let len = (self.input.len() * 4).max(INPUT_BUFFER).min(self.max_head);
            self.input.resize(len, 0);
        }
        let tcp = self.tcp.as_ref().ok_or(Fault::Closed)?;
        // The socket's timeout is lowered when the deadline is nearer than
        // it, never raised ahead of time: a timeout that fires before the
        // deadline (one left from an earlier request) is set again below.
        // Most requests so cost no `setsockopt` at all.
        if let Some(want) = time_left(deadline)?
            && self
                .read_timeout
                .is_none_or(|set| set > want + TIMEOUT_SLACK)
        {
            set_read_timeout(tcp, &mut self.read_timeout, Some(want))?;
        }
        loop {
            match (&*tcp).read(&mut self.input[self.end..]) {
                Ok(0) => return Err(Fault::Closed),
                Ok(n) => {
                    self.end += n;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if is_timeout(&e) => {
                    // Past the deadline this is `Fault::Timeout`.
                    let left = time_left(deadline)?;
                    set_read_timeout(tcp, &mut self.read_timeout, left)?;
                }
                Err(e) => return Err(Fault::Io(e)),
            }
        }
    }
}

/// Sets the socket's read timeout (`None`: none), and notes it in `set`.
fn set_read_timeout(
    tcp: &TcpStream,
    set: &mut Option<Duration>,
    t: Option<Duration>,
) -> Result<(), Fault> {
    let t = t.map(|t| t.max(Duration::from_millis(1)));
    tcp.set_read_timeout(t).map_err(Fault::Io)?;
    *set = t;
    Ok(())
}

/// Writes the whole request head into `out`, growing it for long headers.
/// `out`'s length is its usable size, kept between requests so that it is
/// zeroed once, not for every head; returns the head's length.
fn write_head(
    call: &mut Call<ureq_proto::client::state::SendRequest>,
    out: &mut Vec<u8>,
) -> Result<usize, Fault> {
    if out.len() < HEAD_BUFFER {
        out.resize(HEAD_BUFFER, 0);
    }
    let mut len = 0;
    loop {
        match call.write(&mut out[len..]) {
            Ok(n) => len += n,
            Err(ureq_proto::Error::OutputOverflow) => {}
            Err(e) => return Err(e.into()),
        }
        if call.can_proceed() {
            return Ok(len);
        }
        // A header line longer than the room left: more room.
        out.resize(out.len() * 2, 0);
    }
}

/// A sized body written straight from the caller's slice (no copy).
fn sent(mut call: Call<SendBody>, len: usize) -> Result<Call<RecvResponse>, Fault> {
    call.consume_direct_write(len)?;
    call.proceed().ok_or(Fault::Protocol(
        ureq_proto::Error::BodyLargerThanContentLength,
    ))
}

fn connect(addr: &SocketAddr, deadline: Option<Instant>) -> Result<TcpStream, Fault> {
    let tcp = match time_left(deadline)? {
        Some(left) => TcpStream::connect_timeout(addr, left.max(Duration::from_millis(1))),
        None => TcpStream::connect(addr),
    }
    .map_err(|e| timeout_or(e, Fault::Connect))?;
    // Small writes go out at once (no Nagle delay before a body or a chunk).
    tcp.set_nodelay(true).map_err(Fault::Io)?;
    Ok(tcp)
}

/// The time left before `deadline` (`None`: no deadline); past it, a timeout.
fn time_left(deadline: Option<Instant>) -> Result<Option<Duration>, Fault> {
    match deadline {
        None => Ok(None),
        Some(d) => match d.checked_duration_since(Instant::now()) {
            Some(left) if !left.is_zero() => Ok(Some(left)),
            _ => Err(Fault::Timeout),
        },
    }
}

/// A socket timeout surfaces as `WouldBlock` or `TimedOut`.
fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

fn timeout_or(e: io::Error, other: fn(io::Error) -> Fault) -> Fault {
    match is_timeout(&e) {
        true => Fault::Timeout,
        false => other(e),
    }
}

/// The body of an answer. Dropped before its end, it closes the connection.
pub struct Reader<'c> {
    conn: &'c mut Conn,
    /// `None`: the answer has no body.
    call: Option<Call<RecvBody>>,
    deadline: Option<Instant>,
    done: bool,
}

impl Reader<'_> {
    /// The body's length when the answer says it (`content-length`).
    pub fn len_hint(&self) -> Option<u64> {
        match self.call.as_ref()?.body_mode() {
            ureq_proto::BodyMode::LengthDelimited(n) => Some(n),
            _ => None,
        }
    }

    /// Reads the next part of the body into `out`; 0 at its end.
    pub fn read_some(&mut self, out: &mut [u8]) -> Result<usize, Fault> {
        let Some(call) = self.call.as_mut() else {
            self.done = true;
            return Ok(0);
        };
        let conn = &mut *self.conn;
        loop {
            if is_ended(call) {
                let Some(call) = self.call.take() else {
                    unreachable!()
                };
                let must_close = match call.proceed() {
                    Some(RecvBodyResult::Cleanup(c)) => c.must_close_connection(),
                    Some(RecvBodyResult::Redirect(c)) => c.must_close_connection(),
                    None => true,
                };
                conn.finished(must_close);
                self.done = true;
                return Ok(0);
            }
            if conn.pos < conn.end {
                let (used, n) = call.read(&conn.input[conn.pos..conn.end], out)?;
                conn.pos += used;
                if n > 0 {
                    return Ok(n);
                }
                if used > 0 {
                    continue;
                }
            }
            if conn.input.len() < BODY_BUFFER {
                // The body did not come with the head: a larger one, read in
                // fewer calls from now on.
                conn.input.resize(BODY_BUFFER, 0);
            }
            match conn.fill(self.deadline) {
                Ok(()) => {}
                // A body without a length ends where the connection does.
                Err(Fault::Closed) if is_close_delimited(call) => {
                    conn.close();
                    self.call = None;
                    self.done = true;
                    return Ok(0);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Reads the whole body into `buf` (cleared first, its capacity kept),
    /// at most `limit` bytes.
    pub fn read_to_end(mut self, buf: &mut Vec<u8>, limit: usize) -> Result<(), Fault> {
        buf.clear();
        if let Some(len) = self.len_hint() {
            if len > limit as u64 {
                return Err(Fault::BodyTooLarge(limit as u64));
            }
            buf.reserve(len as usize);
        }
        let hint = self.len_hint().map(|n| n as usize);
        loop {
            let len = buf.len();
            // Exactly the announced length, or growing room for an unknown
            // one (zeroed before use: no more than will be filled).
            let room = match hint {
                Some(n) if n > len => n - len,
                _ => len.clamp(1024, 64 * 1024),
            };
            buf.resize(len + room.min(limit + 1 - len), 0);
            let n = self.read_some(&mut buf[len..]);
            buf.truncate(len + *n.as_ref().unwrap_or(&0));
            match n? {
                0 => return Ok(()),
                _ if buf.len() > limit => return Err(Fault::BodyTooLarge(limit as u64)),
                _ => {}
            }
        }
    }

    /// Reads and drops what is left of the body (at most `limit` bytes), so
    /// that the connection can be reused.
    pub fn drain(mut self, limit: usize) {
        let mut scratch = [0; 1024];
        let mut left = limit;
        while left > 0 {
            match self.read_some(&mut scratch) {
                Ok(0) | Err(_) => return,
                Ok(n) => left = left.saturating_sub(n),
            }
        }
    }
}

fn is_ended(call: &Call<RecvBody>) -> bool {
    call.can_proceed() && !is_close_delimited(call)
}

fn is_close_delimited(call: &Call<RecvBody>) -> bool {
    matches!(call.body_mode(), ureq_proto::BodyMode::CloseDelimited)
}

impl Read for Reader<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        self.read_some(out).map_err(io::Error::other)
    }
}

impl Drop for Reader<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.conn.close();
        }
    }
}

/// A request body sent in chunks as it comes, on a connection of its own.
pub struct Upload {
    conn: Conn,
    call: Call<SendBody>,
}

impl Upload {
    /// Sends `data` as one chunk, now. Empty data is skipped: an empty chunk
    /// would end the body.
    pub fn send(&mut self, data: &[u8]) -> Result<(), Fault> {
        let mut sent = 0;
        while sent < data.len() {
            let head = &mut self.conn.head;
            // The data and the framing of its chunk(s).
            let room = data.len() - sent + 64;
            if head.len() < room {
                head.resize(room, 0);
            }
            let (used, n) = self.call.write(&data[sent..], head)?;
            sent += used;
            self.write(n)?;
        }
        Ok(())
    }

    /// Ends the body with `trailers` (`Name: value\r\n` lines) between the
    /// last chunk and the final CRLF (RFC 9112 §7.1.2), and returns the
    /// peer's answer (its body read and dropped). ureq-proto writes no
    /// trailers, so its last chunk's final CRLF is held back for them.
    pub fn finish(mut self, trailers: &[u8], deadline: Option<Instant>) -> Result<u16, Fault> {
        let head = &mut self.conn.head;
        let (_, n) = self.call.write(&[], head)?;
        debug_assert_eq!(&head[..n], b"0\r\n\r\n");
        head.truncate(n - 2);
        head.extend_from_slice(trailers);
        head.extend_from_slice(b"\r\n");
        let len = head.len();
        self.write(len)?;
        let call = self
            .call
            .proceed()
            .ok_or(Fault::Protocol(ureq_proto::Error::BodyContentAfterFinish))?;
        let conn = &mut self.conn;
        let (call, resp) = conn.read_head(call, deadline).map_err(|(_, e)| e)?;
        conn.answer(call, deadline).drain(64 * 1024);
        Ok(resp.status().as_u16())
    }

    fn write(&mut self, n: usize) -> Result<(), Fault> {
        let tcp = self.conn.tcp.as_ref().ok_or(Fault::Closed)?;
        (&*tcp)
            .write_all(&self.conn.head[..n])
            .map_err(|e| timeout_or(e, Fault::Io))
    }
}
