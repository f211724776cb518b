//! A minimal RESP2 connection for the commands that move bulk data: `XREAD` (the consumer) and
//! pipelined `XADD`s (the library's sender, `sender.rs`).
//!
//! The `redis` crate parses every reply into a tree of `Value`s (an allocation per id, field
//! name and payload, through a byte-at-a-time parser); on this machine that capped reading a
//! stream at ~370k entries/s while Redis itself serves ~650k. Here a reply is read into one
//! buffer and parsed in place: a batch is that buffer plus the byte range of each entry's `data`,
//! so an entry costs no allocation at all. It speaks TLS too (`tls.rs`). Everything else still
//! goes through the `redis` crate, which also parses the URL for us.

use std::ops::Range;

use redis::{ConnectionAddr, ConnectionInfo};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UnixStream};

use crate::json::write_int;
use crate::tls::TlsOptions;

/// Entries read by one `XREAD`: the reply's bytes and where each entry's `data` lies in them.
#[derive(Default, Debug)]
pub struct Batch {
    bytes: Vec<u8>,
    /// One range per entry; an entry without a `data` field has an empty one (decoded as malformed).
    data: Vec<Range<usize>>,
    last_id: Option<String>,
}

impl Batch {
    pub fn len(&self) -> usize {
        self.data.len()
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Each entry's `data` bytes, in stream order.
    pub fn entries(&self) -> impl Iterator<Item = &[u8]> {
        self.data.iter().map(|r| &self.bytes[r.clone()])
    }

    /// The id of the last entry.
    pub fn last_id(&self) -> Option<&str> {
        self.last_id.as_deref()
    }

    /// A batch from entries already in memory (tests).
    pub fn from_entries<'a>(entries: impl IntoIterator<Item = (&'a str, Option<&'a [u8]>)>) -> Batch {
        let mut batch = Batch::default();
        for (id, data) in entries {
            let start = batch.bytes.len();
            batch.bytes.extend_from_slice(data.unwrap_or_default());
            batch.data.push(start..batch.bytes.len());
            batch.last_id = Some(id.to_owned());
        }
        batch
    }
}

pub type Error = std::io::Error;

async fn tcp(host: &str, port: u16) -> Result<TcpStream, Error> {
    let tcp = TcpStream::connect((host, port)).await?;
    let _ = tcp.set_nodelay(true);
    Ok(tcp)
}

fn protocol(what: impl Into<String>) -> Error {
    Error::new(std::io::ErrorKind::InvalidData, what.into())
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

pub struct Connection {
    io: Box<dyn Stream>,
    /// Bytes read past the end of the last reply (none in practice: one command is in flight).
    spill: Vec<u8>,
}

impl Connection {
    /// Connect, authenticate and select the database the URL names; over TLS with `tls`, which
    /// `redis_url.rs` reads from a `rediss://` URL.
    pub async fn open(info: &ConnectionInfo, tls: Option<&TlsOptions>) -> Result<Connection, Error> {
        let io: Box<dyn Stream> = match (info.addr(), tls) {
            (ConnectionAddr::Tcp(host, port), _) => Box::new(tcp(host, *port).await?),
            (ConnectionAddr::TcpTls { host, port, .. }, Some(tls)) => Box::new(tls.connect(tcp(host, *port).await?, host).await?),
            (ConnectionAddr::Unix(path), _) => Box::new(UnixStream::connect(path).await?),
            (addr, _) => return Err(Error::new(std::io::ErrorKind::InvalidInput, format!("no TLS settings for {addr}"))),
        };
        let mut conn = Connection { io, spill: Vec::new() };
        conn.handshake(info).await?;
        Ok(conn)
    }

    async fn handshake(&mut self, info: &ConnectionInfo) -> Result<(), Error> {
        let settings = info.redis_settings();
        if let Some(password) = settings.password() {
            match settings.username() {
                Some(user) => self.simple(&[b"AUTH", user.as_bytes(), password.as_bytes()]).await?,
                None => self.simple(&[b"AUTH", password.as_bytes()]).await?,
            }
        }
        if settings.db() != 0 {
            self.simple(&[b"SELECT", settings.db().to_string().as_bytes()]).await?;
        }
        Ok(())
    }

    /// Send a command whose reply is a status line; an error reply becomes an error.
    async fn simple(&mut self, args: &[&[u8]]) -> Result<(), Error> {
        self.send(args).await?;
        let mut bytes = std::mem::take(&mut self.spill);
        loop {
            match line(&bytes, 0)?.map(|(text, end)| (text.first() == Some(&b'+'), lossy(text), end)) {
                Some((ok, text, end)) => {
                    self.spill = bytes.split_off(end);
                    return if ok { Ok(()) } else { Err(protocol(format!("{} refused: {text}", lossy(args[0])))) };
                }
                None => self.fill(&mut bytes).await?,
            }
        }
    }

    async fn send(&mut self, args: &[&[u8]]) -> Result<(), Error> {
        let mut out = Vec::with_capacity(64);
        command(&mut out, args);
        self.write(&out).await
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.io.write_all(bytes).await?;
        self.io.flush().await // a TLS stream holds written bytes until flushed
    }

    /// Send `commands` (several, each written by [`command`]) at once and read their `replies`
    /// replies: for each, `None` when it succeeded or the error Redis answered.
    pub async fn pipeline(&mut self, commands: &[u8], replies: usize) -> Result<Vec<Option<String>>, Error> {
        self.write(commands).await?;
        let mut bytes = std::mem::take(&mut self.spill);
        let (mut at, mut out) = (0, Vec::with_capacity(replies));
        while out.len() < replies {
            match reply(&bytes, at)? {
                Some((error, next)) => {
                    out.push(error);
                    at = next;
                }
                None => self.fill(&mut bytes).await?,
            }
        }
        self.spill = bytes.split_off(at);
        Ok(out)
    }

    /// Read more bytes onto the end of `bytes`; the peer closing is an error.
    async fn fill(&mut self, bytes: &mut Vec<u8>) -> Result<(), Error> {
        bytes.reserve((bytes.len() / 2).max(64 * 1024));
        if self.io.read_buf(bytes).await? == 0 {
            return Err(Error::new(std::io::ErrorKind::UnexpectedEof, "Redis closed the connection"));
        }
        Ok(())
    }

    /// `XREAD COUNT count BLOCK block_ms STREAMS key after`: the entries after `after`, none when
    /// nothing arrived within `block_ms`.
    pub async fn xread(&mut self, key: &str, after: &str, count: usize, block_ms: u64) -> Result<Batch, Error> {
        self.send_xread(key, after, count, block_ms).await?;
        self.read_batch().await
    }

    /// Send an `XREAD` without waiting for its reply, which [`Connection::read_batch`] reads: a
    /// reader catching up asks for the next batch before decoding the one it has.
    pub async fn send_xread(&mut self, key: &str, after: &str, count: usize, block_ms: u64) -> Result<(), Error> {
        let (count, block) = (count.to_string(), block_ms.to_string());
        let args: [&[u8]; 8] =
            [b"XREAD", b"COUNT", count.as_bytes(), b"BLOCK", block.as_bytes(), b"STREAMS", key.as_bytes(), after.as_bytes()];
        self.send(&args).await
    }

    /// The reply to the `XREAD` sent last.
    pub async fn read_batch(&mut self) -> Result<Batch, Error> {
        let mut parser = Parser::default();
        let mut batch = Batch { bytes: std::mem::take(&mut self.spill), ..Batch::default() };
        while !parser.advance(&mut batch)? {
            self.fill(&mut batch.bytes).await?;
        }
        self.spill = batch.bytes.split_off(parser.pos);
        Ok(batch)
    }
}

/// What was parsed and where the next element starts; `None` while the buffer does not hold all of it.
type Parsed<T> = Result<Option<(T, usize)>, Error>;

/// Append one command to `out` as RESP: an array of bulk strings.
pub fn command(out: &mut Vec<u8>, args: &[&[u8]]) {
    header(out, b'*', args.len());
    for arg in args {
        header(out, b'$', arg.len());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
}

/// `*n\r\n` or `$n\r\n`, without `format!`: it cost the sender more than the rest of a command.
fn header(out: &mut Vec<u8>, kind: u8, n: usize) {
    out.push(kind);
    write_int(out, i64::try_from(n).unwrap_or(i64::MAX));
    out.extend_from_slice(b"\r\n");
}

/// Step over one whole reply of any kind at `at`: the error text when it is an error reply.
fn reply(bytes: &[u8], at: usize) -> Parsed<Option<String>> {
    let (mut at, mut pending, mut error) = (at, 1usize, None);
    while pending > 0 {
        let Some((text, next)) = line(bytes, at)? else { return Ok(None) };
        let (&kind, rest) = text.split_first().ok_or_else(|| protocol("an empty RESP line"))?;
        pending -= 1;
        at = next;
        match kind {
            b'+' | b':' => {}
            b'-' => error = error.or_else(|| Some(lossy(rest))),
            b'$' => {
                if let Some(len) = length(rest)? {
                    at += len + 2;
                    if bytes.len() < at {
                        return Ok(None);
                    }
                }
            }
            b'*' => pending += length(rest)?.unwrap_or(0),
            _ => return Err(protocol(format!("an unexpected RESP reply {:?}", lossy(text)))),
        }
    }
    Ok(Some((error, at)))
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The line starting at `at`, without its `\r\n`.
fn line(bytes: &[u8], at: usize) -> Parsed<&[u8]> {
    let Some(rest) = bytes.get(at..) else { return Ok(None) };
    match rest.iter().position(|&b| b == b'\n') {
        Some(nl) if nl > 0 && rest[nl - 1] == b'\r' => Ok(Some((&rest[..nl - 1], at + nl + 1))),
        Some(_) => Err(protocol("a RESP line not ended by CRLF")),
        None => Ok(None),
    }
}

/// A RESP length: decimal digits, or `-1` for a null (`None`). Read by hand: through `str::parse`
/// it cost ~90 instructions per header, at five headers per stream entry (bench/RESULTS-engine.md).
fn length(text: &[u8]) -> Result<Option<usize>, Error> {
    if text == b"-1" {
        return Ok(None);
    }
    // At most 18 digits, so the sum cannot overflow.
    let value = (1..=18).contains(&text.len()).then_some(text).and_then(|digits| {
        digits.iter().try_fold(0usize, |n, &d| d.is_ascii_digit().then(|| n * 10 + usize::from(d - b'0')))
    });
    value.map(Some).ok_or_else(|| protocol(format!("a bad RESP length {:?}", lossy(text))))
}

/// One RESP element header: `*n` (array, `None` for a null array) or `$n` (bulk string).
enum Head {
    Array(Option<usize>),
    Bulk(Option<usize>),
}

fn head(bytes: &[u8], at: usize) -> Parsed<Head> {
    let Some((text, next)) = line(bytes, at)? else { return Ok(None) };
    let (&kind, number) = text.split_first().ok_or_else(|| protocol("an empty RESP line"))?;
    match kind {
        b'*' => Ok(Some((Head::Array(length(number)?), next))),
        b'$' => Ok(Some((Head::Bulk(length(number)?), next))),
        b'-' => Err(protocol(format!("Redis answered an error: {}", lossy(number)))),
        _ => Err(protocol(format!("an unexpected RESP reply {:?}", lossy(text)))),
    }
}

/// A bulk string at `at`: its byte range (`None` for a null string).
fn bulk(bytes: &[u8], at: usize) -> Parsed<Option<Range<usize>>> {
    match head(bytes, at)? {
        None => Ok(None),
        Some((Head::Bulk(None), next)) => Ok(Some((None, next))),
        Some((Head::Bulk(Some(len)), start)) => {
            let end = start + len;
            match bytes.get(end..end + 2) {
                None => Ok(None),
                Some(b"\r\n") => Ok(Some((Some(start..end), end + 2))),
                Some(_) => Err(protocol("a bulk string not ended by CRLF")),
            }
        }
        Some((Head::Array(_), _)) => Err(protocol("an array where a string was expected")),
    }
}

/// An array header at `at`: its length (`None` for a null array).
fn array(bytes: &[u8], at: usize) -> Parsed<Option<usize>> {
    match head(bytes, at)? {
        None => Ok(None),
        Some((Head::Array(n), next)) => Ok(Some((n, next))),
        Some((Head::Bulk(_), _)) => Err(protocol("a string where an array was expected")),
    }
}

/// Walks an XREAD reply as its bytes arrive, one whole entry at a time, so a reply of any size
/// is parsed in one pass: `[[key, [[id, [field, value, …]], …]], …]`, or a null array.
#[derive(Default)]
struct Parser {
    /// Where the next unparsed element starts.
    pos: usize,
    /// Streams left to read (`None` before the reply's header is parsed).
    streams: Option<usize>,
    /// Entries left in the current stream.
    entries: usize,
}

impl Parser {
    /// Parse what has arrived into `batch`; `true` once the whole reply has been read.
    fn advance(&mut self, batch: &mut Batch) -> Result<bool, Error> {
        let bytes = &batch.bytes;
        loop {
            if self.entries > 0 {
                let Some((entry, next)) = entry(bytes, self.pos)? else { return Ok(false) };
                batch.data.push(entry.data.unwrap_or(0..0));
                if self.entries == 1 {
                    batch.last_id = Some(lossy(&bytes[entry.id]));
                }
                self.entries -= 1;
                self.pos = next;
                continue;
            }
            match self.streams {
                None => {
                    let Some((n, next)) = array(bytes, self.pos)? else { return Ok(false) };
                    self.streams = Some(n.unwrap_or(0));
                    self.pos = next;
                }
                Some(0) => return Ok(true),
                Some(left) => {
                    // `[key, entries]`: all three headers at once, or wait for more bytes.
                    let Some((n, at)) = array(bytes, self.pos)? else { return Ok(false) };
                    if n != Some(2) {
                        return Err(protocol("a stream reply that is not [key, entries]"));
                    }
                    let Some((_, at)) = bulk(bytes, at)? else { return Ok(false) };
                    let Some((n, at)) = array(bytes, at)? else { return Ok(false) };
                    self.streams = Some(left - 1);
                    self.entries = n.unwrap_or(0);
                    self.pos = at;
                }
            }
        }
    }
}

/// Where one entry's parts lie in the reply.
struct Entry {
    id: Range<usize>,
    data: Option<Range<usize>>,
}

/// One entry `[id, [field, value, …]]` at `at`.
fn entry(bytes: &[u8], at: usize) -> Parsed<Entry> {
    let Some((n, at)) = array(bytes, at)? else { return Ok(None) };
    if n != Some(2) {
        return Err(protocol("a stream entry that is not [id, fields]"));
    }
    let Some((id, at)) = bulk(bytes, at)? else { return Ok(None) };
    let id = id.ok_or_else(|| protocol("a stream entry without an id"))?;
    let Some((fields, mut at)) = array(bytes, at)? else { return Ok(None) };
    let mut data = None;
    for _ in 0..fields.unwrap_or(0) / 2 {
        let Some((name, next)) = bulk(bytes, at)? else { return Ok(None) };
        let Some((value, next)) = bulk(bytes, next)? else { return Ok(None) };
        if data.is_none() && name.is_some_and(|n| &bytes[n] == b"data") {
            data = value;
        }
        at = next;
    }
    Ok(Some((Entry { id, data }, at)))
}

#[cfg(test)]
mod tests {
    use std::fmt::Write;

    use super::*;

    #[test]
    fn commands_are_arrays_of_bulk_strings() {
        let mut out = Vec::new();
        command(&mut out, &[b"XADD", b"k", &[b'x'; 12]]);
        command(&mut out, &[b""]);
        assert_eq!(out, b"*3\r\n$4\r\nXADD\r\n$1\r\nk\r\n$12\r\nxxxxxxxxxxxx\r\n*1\r\n$0\r\n\r\n");
    }

    #[test]
    fn replies_of_every_kind_are_stepped_over_and_errors_kept() {
        let bytes = b"$15\r\n1700000000000-0\r\n:3\r\n-WRONGTYPE wrong kind\r\n+OK\r\n*2\r\n$1\r\na\r\n*-1\r\n$-1\r\n";
        let mut at = 0;
        let mut errors = Vec::new();
        while at < bytes.len() {
            let (error, next) = super::reply(bytes, at).unwrap().unwrap();
            errors.push(error);
            at = next;
        }
        assert_eq!(errors, [None, None, Some("WRONGTYPE wrong kind".to_string()), None, None, None]);
        for cut in 1..bytes.len() {
            let whole = super::reply(&bytes[..cut], 0).unwrap();
            assert!(whole.is_none_or(|(_, end)| end <= cut), "a reply read past the bytes at {cut}");
        }
        assert!(super::reply(b"$1\r\n", 0).unwrap().is_none(), "a bulk string still arriving");
        assert!(super::reply(b"?\r\n", 0).is_err());
    }

    /// An XREAD reply as Redis writes it (RESP2): one stream, entries with their field lists.
    fn reply(entries: &[(&str, &[(&str, &str)])]) -> Vec<u8> {
        let bulk = |s: &str| format!("${}\r\n{s}\r\n", s.len());
        let mut out = format!("*1\r\n*2\r\n{}*{}\r\n", bulk("p:events"), entries.len());
        for (id, fields) in entries {
            let _ = write!(out, "*2\r\n{}*{}\r\n", bulk(id), fields.len() * 2);
            for (name, value) in *fields {
                out += &(bulk(name) + &bulk(value));
            }
        }
        out.into_bytes()
    }

    /// Parse `bytes` handed over in pieces of `step` bytes, as a socket might deliver them.
    fn parse(bytes: &[u8], step: usize) -> Result<Batch, Error> {
        let (mut parser, mut batch) = (Parser::default(), Batch::default());
        for piece in bytes.chunks(step) {
            batch.bytes.extend_from_slice(piece);
            if parser.advance(&mut batch)? {
                assert_eq!(parser.pos, bytes.len(), "the whole reply and nothing more");
                return Ok(batch);
            }
        }
        Err(protocol("incomplete"))
    }

    fn texts(batch: &Batch) -> Vec<String> {
        batch.entries().map(|e| String::from_utf8_lossy(e).into_owned()).collect()
    }

    #[test]
    fn reads_each_entry_data_and_the_last_id_however_the_bytes_arrive() {
        let bytes = reply(&[
            ("1-0", &[("data", r#"{"task_id":"a"}"#)]),
            ("1-1", &[("other", "x"), ("data", "\r\n{\"multi\":\n\"line\"}")]),
            ("2-0", &[("no_data_here", "y")]),
            ("3-0", &[("data", "")]),
        ]);
        for step in [1, 2, 7, 64, bytes.len()] {
            let batch = parse(&bytes, step).unwrap();
            assert_eq!(texts(&batch), [r#"{"task_id":"a"}"#, "\r\n{\"multi\":\n\"line\"}", "", ""], "step {step}");
            assert_eq!(batch.last_id(), Some("3-0"));
        }
    }

    #[test]
    fn a_timed_out_block_is_an_empty_batch() {
        let batch = parse(b"*-1\r\n", 1).unwrap();
        assert_eq!(batch.len(), 0);
        assert_eq!(batch.last_id(), None);
        assert_eq!(parse(&reply(&[]), 3).unwrap().len(), 0);
    }

    #[test]
    fn errors_and_garbage_are_errors_not_hangs() {
        let err = parse(b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", 5).unwrap_err();
        assert!(err.to_string().contains("WRONGTYPE"), "{err}");
        for bad in [&b"+OK\r\n"[..], b"*1\r\n$3\r\n", b"*x\r\n", b"*1\n", b"*1\r\n*2\r\n$1\r\nk\r\n*1\r\n*3\r\n",
            b"*1\r\n$-5\r\n", b"*1\r\n$+1\r\nk\r\n", b"*99999999999999999999\r\n", b"*\r\n", b"*1\r\n$1 \r\nk\r\n"] {
            assert!(parse(bad, 1).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        // A bulk string whose length lies about its end.
        assert!(parse(b"*1\r\n*2\r\n$1\r\nkX\r\n", 1).is_err());
    }

    #[test]
    fn from_entries_matches_the_parsed_form() {
        let batch = Batch::from_entries([("1-0", Some(&b"{}"[..])), ("1-1", None)]);
        assert_eq!(texts(&batch), ["{}", ""]);
        assert_eq!(batch.last_id(), Some("1-1"));
    }
}
