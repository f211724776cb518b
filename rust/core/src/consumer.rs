//! Follows `{prefix}:events` with large `XREAD` batches and feeds the engine.
//!
//! It replays everything retained on start, resumes from the last id after any error with
//! capped exponential backoff, and never gives up: the server stays up while Redis is down.
//! Reading and applying overlap: a reader task pulls the next batch from Redis and decodes it while
//! a dedicated thread applies the previous one, so ingest runs at the slower of the two rather than
//! their sum, and decoding (most of an event's cost) is off the thread that holds the store. So
//! is the first touch of the memory the kept events fill: the reader lays out their bytes per task.
//! A stream that restarts behind the last id read (Redis restarted without its data, or the key
//! deleted) is noticed, counted in health as a reset, and read again from its beginning.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Value};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::engine::{decode_and_lay_out, Engine, Prepared};
use crate::redis_url;
use crate::resp::{self, Batch};
use crate::supervise::{self, Follower, Handle};

/// Entries per `XREAD`: large enough to amortise the round trip, small enough to keep latency low.
const BATCH: usize = 10_000;
const BLOCK_MS: u64 = 1_000;
/// Batches read ahead of the one being applied: enough to overlap, bounded so memory is too (a
/// full batch as held here is ~15 MB). Redis, the reader and the applier share the machine's cores,
/// and each stalls now and then; 6 rather than 2 let them catch up on each other: a 5M-event
/// catch-up on two cores in 9.5–11.3 s against 11.8–13.0 s (bench/RESULTS-engine.md).
const READ_AHEAD: usize = 6;

self_cell::self_cell!(
    /// A batch as read, with its entries decoded in place (the events borrow the batch's bytes)
    /// and the bytes the store keeps laid out.
    struct Decoded {
        owner: Batch,
        #[covariant]
        dependent: Prepared,
    }
);

impl Decoded {
    fn of(batch: Batch) -> Decoded {
        Decoded::new(batch, |batch| decode_and_lay_out(batch.entries()))
    }
}

pub fn spawn(engine: Arc<Engine>, url: String, runtime: &tokio::runtime::Handle) -> Handle {
    let key = engine.config.stream_key();
    let (batches, applier) = spawn_applier(Arc::clone(&engine), runtime);
    supervise::spawn(engine, runtime, RedisFollower { url, key, last_id: String::from("0-0"), batches, applier })
}

struct RedisFollower {
    url: String,
    key: String,
    /// The last id handed to the applier: reads resume after it.
    last_id: String,
    batches: mpsc::Sender<Decoded>,
    applier: JoinHandle<()>,
}

impl Follower for RedisFollower {
    async fn follow(&mut self, engine: &Engine, backoff: &mut Duration) -> Result<(), String> {
        follow(engine, &self.url, &self.key, &mut self.last_id, backoff, &self.batches).await.map_err(|e| e.to_string())
    }

    async fn finish(self) {
        // Closing the channel ends the applier once it has applied what was already read.
        drop(self.batches);
        let _ = self.applier.await;
    }
}

/// The thread that applies batches in the order they were read. It outlives reconnects, so a
/// batch read just before a connection fails is still applied.
fn spawn_applier(engine: Arc<Engine>, runtime: &tokio::runtime::Handle) -> (mpsc::Sender<Decoded>, JoinHandle<()>) {
    let (tx, mut rx) = mpsc::channel::<Decoded>(READ_AHEAD);
    let task = runtime.spawn_blocking(move || {
        while let Some(mut batch) = rx.blocking_recv() {
            batch.with_dependent_mut(|_, prepared| engine.apply(prepared));
            if let Some(id) = batch.borrow_owner().last_id() {
                *engine.health.last_event_id.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(id.to_owned());
            }
        }
    });
    (tx, task)
}

/// Connect and read until an error; `last_id` advances as batches are handed to the applier.
async fn follow(
    engine: &Engine,
    url: &str,
    key: &str,
    last_id: &mut String,
    backoff: &mut Duration,
    batches: &mpsc::Sender<Decoded>,
) -> redis::RedisResult<()> {
    let (client, tls) = redis_url::client(url).await?;
    // A blocking XREAD outlives the default 500 ms response timeout: disable it on this connection.
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(5)))
        .set_response_timeout(None);
    let mut conn = client.get_multiplexed_async_connection_with_config(&config).await?;
    // Entries come through a connection of our own that parses replies in place (`resp`), TLS too.
    let mut reader = resp::Connection::open(client.get_connection_info(), tls.as_ref()).await?;
    supervise::connected(engine, backoff);
    check_reset(engine, &mut conn, key, last_id).await?;
    let mut asked = false; // an XREAD for the batch after `last_id` is already on its way
    loop {
        if !asked {
            reader.send_xread(key, last_id, BATCH, BLOCK_MS).await?;
        }
        let batch = reader.read_batch().await?;
        // Catching up: ask for the next batch now, so Redis prepares it while this one is decoded.
        asked = batch.len() == BATCH;
        if let Some(next) = batch.last_id().filter(|_| asked) {
            reader.send_xread(key, next, BATCH, BLOCK_MS).await?;
        }
        let full = batch.len() == BATCH;
        match batch.last_id() {
            Some(id) => {
                last_id.replace_range(.., id);
                if batches.send(Decoded::of(batch)).await.is_err() {
                    return Ok(()); // the applier is gone: the engine is stopping
                }
            }
            // Idle: the cheap moment to notice a stream that was deleted or restarted behind us.
            None => check_reset(engine, &mut conn, key, last_id).await?,
        }
        if full {
            update_lag(engine, &mut conn, key, last_id).await;
        } else {
            engine.health.lag.store(0, Ordering::Relaxed);
        }
    }
}

/// A stream whose newest id is older than the last one read, or that no longer exists, was
/// reset (Redis restarted without its data, the key deleted): count it and read it from the start.
/// Entries trimmed from the front are not a reset: the rest is still read from `last_id`.
async fn check_reset(
    engine: &Engine,
    conn: &mut MultiplexedConnection,
    key: &str,
    last_id: &mut String,
) -> redis::RedisResult<()> {
    if last_id == "0-0" {
        return Ok(());
    }
    let newest: Option<String> = match redis::cmd("XINFO").arg("STREAM").arg(key).query_async::<Value>(conn).await {
        Ok(info) => last_generated_id(info),
        Err(e) if e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::ResponseError) => None,
        Err(e) => return Err(e),
    };
    if newest.as_deref().is_none_or(|newest| stream_id(newest) < stream_id(last_id)) {
        engine.health.stream_resets.fetch_add(1, Ordering::Relaxed);
        let mut when = Vec::new();
        crate::time::write_iso(&mut when, crate::engine::now_micros());
        *engine.health.last_reset.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(format!(
            "{}: stream {key} restarted behind {last_id}; reading it again from the start",
            String::from_utf8_lossy(&when)
        ));
        *last_id = String::from("0-0");
    }
    Ok(())
}

/// `last-generated-id` from an `XINFO STREAM` reply (RESP2 flat array or RESP3 map).
fn last_generated_id(info: Value) -> Option<String> {
    let pairs: Vec<(Value, Value)> = match info {
        Value::Map(pairs) => pairs,
        Value::Array(flat) => {
            let mut it = flat.into_iter();
            std::iter::from_fn(|| Some((it.next()?, it.next()?))).collect()
        }
        _ => return None,
    };
    pairs.into_iter().find_map(|(k, v)| (text(k).as_deref() == Some("last-generated-id")).then(|| text(v)).flatten())
}

fn text(value: Value) -> Option<String> {
    match value {
        Value::BulkString(bytes) => String::from_utf8(bytes).ok(),
        Value::SimpleString(s) => Some(s),
        _ => None,
    }
}

/// A stream id `ms-seq` as a comparable pair (an unparsable id sorts first).
fn stream_id(id: &str) -> (u64, u64) {
    let (ms, seq) = id.split_once('-').unwrap_or((id, "0"));
    (ms.parse().unwrap_or(0), seq.parse().unwrap_or(0))
}

/// Lag = entries after `last_id`, counted cheaply by `XLEN` minus those up to it (`XRANGE` count
/// is not cheap), so estimate from the stream's length only while far behind.
async fn update_lag(engine: &Engine, conn: &mut MultiplexedConnection, key: &str, last_id: &str) {
    let behind: redis::RedisResult<Vec<Value>> =
        redis::cmd("XRANGE").arg(key).arg(format!("({last_id}")).arg("+").arg("COUNT").arg(1).query_async(conn).await;
    let len: redis::RedisResult<i64> = redis::cmd("XLEN").arg(key).query_async(conn).await;
    if let (Ok(behind), Ok(len)) = (behind, len) {
        let ingested = engine.health.ingested.load(Ordering::Relaxed) as i64;
        let lag = if behind.is_empty() { 0 } else { (len - ingested).max(1) };
        engine.health.lag.store(lag, Ordering::Relaxed);
    }
}
