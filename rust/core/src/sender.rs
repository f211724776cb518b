//! The library's Redis sender: what a Celery worker or publisher hands over goes to the stream from
//! a thread of its own that never needs Python's GIL.
//!
//! A task thread only copies its event into a bounded buffer under a short lock ([`Sender::push`]).
//! The thread drains the buffer in batches, each written as one pipeline of
//! `XADD {stream} MAXLEN ~ N * data <json>` (plus `XTRIM MINID now-ttl` at most once per trim
//! interval) through the engine's own RESP connection (`resp.rs`, TLS and Sentinel included).
//!
//! Written in Rust because a Python sender thread cost a busy process ~3.5 µs of CPU per event,
//! mostly in waiting for and handing back the GIL while the tasks ran; this one costs a fraction
//! of a microsecond (bench/producer/RESULTS.md).
//!
//! The buffer drops its *oldest* event when full (after an outage the newest, final states are
//! the ones worth keeping) and counts it. A failed write keeps its batch and retries with a
//! back-off doubling from 0.1 s to 5 s; an event Redis refuses (a wrong key type) is dropped and
//! counted, as resending it cannot help.
//!
//! Fork safety: a forked child never touches a sender its parent made (the thread did not
//! survive the fork and the lock may have been held): dropping it there does nothing.

use std::collections::VecDeque;
use std::io::Error;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::redis_url;
use crate::resp::{self, Connection};

/// Where and how a [`Sender`] writes; the bounds of its buffer and batches.
#[derive(Clone, Debug)]
pub struct Options {
    pub url: String,
    pub stream_key: String,
    /// `MAXLEN ~` of every `XADD`.
    pub max_len: u64,
    /// Entries older than this are trimmed (`XTRIM MINID`).
    pub ttl: Duration,
    pub trim_interval: Duration,
    /// Events buffered at most, and their bytes at most.
    pub buffer_size: usize,
    pub buffer_bytes: usize,
    pub batch_size: usize,
    pub batch_bytes: usize,
    /// How long events wait for more to join their batch.
    pub linger: Duration,
    /// Bound of a connect or a batch's round trip.
    pub timeout: Duration,
}

/// Counters of one sender.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub sent: u64,
    pub dropped: u64,
    pub errors: u64,
    pub buffered: usize,
}

/// Receives the sender's warnings (at most one per [`WARN_EVERY`]).
pub type Warn = Box<dyn Fn(String) + Send>;

const WARN_EVERY: Duration = Duration::from_secs(30);
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

#[derive(Default)]
struct State {
    buffer: VecDeque<Vec<u8>>,
    bytes: usize,
    /// Events taken for the write in progress.
    in_flight: usize,
    stats: Stats,
    /// The last write failed: the thread is backing off, pushes need not wake it.
    failing: bool,
    /// The thread was woken and has not taken a batch since.
    woken: bool,
    /// A flush asked for everything to be written now.
    hurry: bool,
    phase: Phase,
}

#[derive(Default, Clone, Copy, PartialEq, Eq)]
enum Phase {
    #[default]
    Running,
    /// Asked to stop: write what is buffered, then end.
    Stopping,
    /// The thread has ended.
    Stopped,
}

struct Shared {
    options: Options,
    state: Mutex<State>,
    /// Wakes the thread: a batch is full, a flush, a stop.
    work: Condvar,
    /// Wakes flushers: a write ended.
    written: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

pub struct Sender {
    shared: Arc<Shared>,
    pid: u32,
}

impl Sender {
    /// Start the sending thread; nothing connects before the first batch.
    pub fn start(options: Options, warn: Warn) -> Result<Sender, Error> {
        let shared = Arc::new(Shared { options, state: Mutex::default(), work: Condvar::new(), written: Condvar::new() });
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let worker = Arc::clone(&shared);
        thread::Builder::new()
            .name("stemtrace-sender".into())
            .spawn(move || run(&worker, &runtime, &warn))?;
        Ok(Sender { shared, pid: std::process::id() })
    }

    /// Buffer one event (JSON bytes); the oldest is dropped when the buffer is full.
    pub fn push(&self, data: &[u8]) {
        let options = &self.shared.options;
        let mut s = self.shared.lock();
        s.buffer.push_back(data.to_vec());
        s.bytes += data.len();
        while s.buffer.len() > options.buffer_size || (s.bytes > options.buffer_bytes && s.buffer.len() > 1) {
            let oldest = s.buffer.pop_front().map_or(0, |d| d.len());
            s.bytes -= oldest;
            s.stats.dropped += 1;
        }
        if s.buffer.len() >= options.batch_size && !s.failing && !s.woken {
            s.woken = true;
            self.shared.work.notify_one();
        }
    }

    pub fn stats(&self) -> Stats {
        let s = self.shared.lock();
        Stats { buffered: s.buffer.len() + s.in_flight, ..s.stats }
    }

    /// Write everything buffered now and wait up to `timeout` until it is; `true` if it was.
    /// Gives up early when a write made during the wait fails: with Redis down, waiting longer only
    /// delays the caller (typically a worker shutting down).
    pub fn flush(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut s = self.shared.lock();
        let errors = s.stats.errors;
        s.hurry = true; // also cuts a retry's back-off short: try now
        self.shared.work.notify_one();
        loop {
            if s.buffer.is_empty() && s.in_flight == 0 {
                return true;
            }
            let now = Instant::now();
            if s.stats.errors != errors || now >= deadline || s.phase == Phase::Stopped {
                return false;
            }
            s = self.shared.written.wait_timeout(s, deadline - now).map_or_else(|e| e.into_inner().0, |r| r.0);
        }
    }

    /// Flush (see [`Sender::flush`]), then stop the thread.
    pub fn close(&self, timeout: Duration) -> bool {
        let flushed = self.flush(timeout);
        self.stop();
        flushed
    }

    fn stop(&self) {
        let mut s = self.shared.lock();
        if s.phase == Phase::Running {
            s.phase = Phase::Stopping;
        }
        drop(s);
        self.shared.work.notify_one();
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        // In a forked child the parent's lock may be held forever, and there is no thread to stop.
        if std::process::id() == self.pid {
            self.stop();
        }
    }
}

/// The sending thread: wait for a batch, write it, count, repeat until stopped.
fn run(shared: &Shared, runtime: &tokio::runtime::Runtime, warn: &Warn) {
    let options = &shared.options;
    let mut conn: Option<Connection> = None;
    let mut backoff = Duration::ZERO;
    let mut last_trim: Option<Instant> = None;
    let mut last_warning: Option<Instant> = None;
    loop {
        let batch = {
            let mut s = shared.lock();
            let due = s.phase != Phase::Running || s.hurry || (s.buffer.len() >= options.batch_size && !s.failing);
            if !due {
                let wait = if backoff.is_zero() { options.linger } else { backoff };
                s = shared.work.wait_timeout(s, wait).map_or_else(|e| e.into_inner().0, |r| r.0);
            }
            s.woken = false;
            s.hurry = false;
            if s.buffer.is_empty() {
                shared.written.notify_all();
                if s.phase != Phase::Running {
                    break;
                }
                continue;
            }
            let batch = take(&mut s, options);
            s.in_flight = batch.len();
            batch
        };
        let trim = last_trim.is_none_or(|at| at.elapsed() >= options.trim_interval);
        let result = runtime.block_on(write(&mut conn, options, &batch, trim.then(|| min_id(options.ttl))));
        let mut s = shared.lock();
        s.in_flight = 0;
        let trouble = match result {
            Ok(refused) => {
                backoff = Duration::ZERO;
                s.failing = false;
                s.stats.sent += (batch.len() - refused.len()) as u64;
                if trim {
                    last_trim = Some(Instant::now());
                }
                refused.first().map(|why| {
                    s.stats.errors += 1;
                    s.stats.dropped += refused.len() as u64;
                    format!("stemtrace: dropped {} event(s) Redis refused ({why})", refused.len())
                })
            }
            Err(error) => {
                conn = None; // a half-dead connection is not worth keeping: reconnect from scratch
                s.stats.errors += 1;
                s.failing = true;
                put_back(&mut s, options, batch);
                backoff = if s.phase == Phase::Running { (backoff * 2).clamp(FIRST_BACKOFF, MAX_BACKOFF) } else { Duration::ZERO };
                Some(format!("stemtrace: could not send events to Redis ({error}); retrying"))
            }
        };
        let stop = s.phase != Phase::Running && s.failing; // one last attempt on shutdown, no more waiting
        let stats = s.stats;
        shared.written.notify_all();
        drop(s);
        if let Some(message) = trouble.filter(|_| last_warning.is_none_or(|at| at.elapsed() >= WARN_EVERY)) {
            last_warning = Some(Instant::now());
            warn(format!("{message} [sent={} dropped={} errors={}]", stats.sent, stats.dropped, stats.errors));
        }
        if stop {
            break;
        }
    }
    shared.lock().phase = Phase::Stopped;
    shared.written.notify_all();
}

/// The next batch: up to `batch_size` events and, past the first, `batch_bytes`.
fn take(s: &mut State, options: &Options) -> Vec<Vec<u8>> {
    let mut size = 0;
    let mut batch = Vec::with_capacity(s.buffer.len().min(options.batch_size));
    while let Some(next) = s.buffer.front() {
        if batch.len() == options.batch_size || (!batch.is_empty() && size + next.len() > options.batch_bytes) {
            break;
        }
        size += next.len();
        batch.extend(s.buffer.pop_front());
    }
    s.bytes -= size;
    batch
}

/// A failed batch goes back before what was buffered meanwhile; what is newer wins the room left.
fn put_back(s: &mut State, options: &Options, batch: Vec<Vec<u8>>) {
    let room = options.buffer_size.saturating_sub(s.buffer.len());
    let mut keep: VecDeque<Vec<u8>> = batch.into();
    let mut lost = keep.len().saturating_sub(room);
    keep.drain(..lost);
    let mut size: usize = keep.iter().map(Vec::len).sum();
    while s.bytes + size > options.buffer_bytes {
        let Some(oldest) = keep.pop_front() else { break };
        size -= oldest.len();
        lost += 1;
    }
    s.stats.dropped += lost as u64;
    s.bytes += size;
    keep.append(&mut s.buffer);
    s.buffer = keep;
}

/// `now - ttl` as a stream id: entries older than it are trimmed.
fn min_id(ttl: Duration) -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    format!("{}-0", now.saturating_sub(ttl).as_millis())
}

/// Write one batch; the errors Redis answered for the events it refused.
async fn write(conn: &mut Option<Connection>, options: &Options, batch: &[Vec<u8>], min_id: Option<String>) -> Result<Vec<String>, Error> {
    let timeout = |what| Error::new(std::io::ErrorKind::TimedOut, format!("{what} took over {:?}", options.timeout));
    if conn.is_none() {
        let connect = async {
            let (client, tls) = redis_url::client(&options.url).await.map_err(Error::other)?;
            Connection::open(client.get_connection_info(), tls.as_ref()).await
        };
        *conn = Some(tokio::time::timeout(options.timeout, connect).await.map_err(|_| timeout("connecting"))??);
    }
    let Some(connection) = conn.as_mut() else { unreachable!("connected just above") };
    let (key, max_len) = (options.stream_key.as_bytes(), options.max_len.to_string());
    let mut commands = Vec::with_capacity(batch.iter().map(|d| d.len() + 80).sum());
    for data in batch {
        resp::command(&mut commands, &[b"XADD", key, b"MAXLEN", b"~", max_len.as_bytes(), b"*", b"data", data]);
    }
    if let Some(min_id) = &min_id {
        // exact: `~` would keep whole nodes of ~100 entries that are partly older than the ttl
        resp::command(&mut commands, &[b"XTRIM", key, b"MINID", min_id.as_bytes()]);
    }
    let replies = batch.len() + usize::from(min_id.is_some());
    let answered = connection.pipeline(&commands, replies);
    let errors = tokio::time::timeout(options.timeout, answered).await.map_err(|_| timeout("writing a batch"))??;
    Ok(errors.into_iter().take(batch.len()).flatten().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(buffer_size: usize, buffer_bytes: usize, batch_size: usize, batch_bytes: usize) -> Options {
        Options {
            url: String::new(),
            stream_key: String::new(),
            max_len: 0,
            ttl: Duration::ZERO,
            trim_interval: Duration::ZERO,
            buffer_size,
            buffer_bytes,
            batch_size,
            batch_bytes,
            linger: Duration::ZERO,
            timeout: Duration::ZERO,
        }
    }

    fn state(events: &[&[u8]]) -> State {
        State { buffer: events.iter().map(|e| e.to_vec()).collect(), bytes: events.iter().map(|e| e.len()).sum(), ..State::default() }
    }

    #[test]
    fn batches_stop_at_their_count_and_size_but_take_one_event_of_any_size() {
        let mut s = state(&[b"aaaa", b"bb", b"cc", b"dd"]);
        assert_eq!(take(&mut s, &options(10, 100, 2, 100)), [b"aaaa".to_vec(), b"bb".to_vec()]);
        assert_eq!(s.bytes, 4);
        let mut s = state(&[b"aaaa", b"bb"]);
        assert_eq!(take(&mut s, &options(10, 100, 10, 3)), [b"aaaa".to_vec()]);
        assert_eq!((s.buffer.len(), s.bytes), (1, 2));
    }

    #[test]
    fn a_failed_batch_goes_back_first_and_gives_way_to_newer_events_when_room_runs_out() {
        let mut s = state(&[b"new1", b"new2"]);
        put_back(&mut s, &options(3, 100, 10, 100), vec![b"old1".to_vec(), b"old2".to_vec()]);
        assert_eq!(Vec::from(s.buffer.clone()), [b"old2".to_vec(), b"new1".to_vec(), b"new2".to_vec()]);
        assert_eq!((s.stats.dropped, s.bytes), (1, 12));
        let mut s = state(&[b"new1"]);
        put_back(&mut s, &options(10, 9, 10, 100), vec![b"old1".to_vec(), b"old2".to_vec()]);
        assert_eq!(Vec::from(s.buffer.clone()), [b"old2".to_vec(), b"new1".to_vec()]);
        assert_eq!((s.stats.dropped, s.bytes), (1, 8));
    }
}
