//! Follows `{prefix}:events` with large `XREAD` batches and feeds the engine.
//!
//! It replays everything retained on start, resumes from the last id after any error with
//! capped exponential backoff, and never gives up: the server stays up while Redis is down.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Value};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::engine::Engine;

/// Entries per `XREAD`: large enough to amortise the round trip, small enough to keep latency low.
const BATCH: usize = 10_000;
const BLOCK_MS: usize = 1_000;
const MAX_BACKOFF: Duration = Duration::from_secs(10);

pub struct Handle {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Handle {
    pub fn stop(self, runtime: &tokio::runtime::Handle, wait: Duration) {
        let _ = self.stop.send(true);
        let task = self.task;
        runtime.block_on(async move {
            let _ = tokio::time::timeout(wait, task).await;
        });
    }
}

pub fn spawn(engine: Arc<Engine>, url: String, runtime: &tokio::runtime::Handle) -> Handle {
    let (stop, stopped) = watch::channel(false);
    let task = runtime.spawn(run(engine, url, stopped));
    Handle { stop, task }
}

async fn run(engine: Arc<Engine>, url: String, mut stopped: watch::Receiver<bool>) {
    let key = engine.config.stream_key();
    let mut last_id = String::from("0-0");
    let mut backoff = Duration::from_millis(100);
    engine.health.running.store(true, Ordering::Relaxed);
    while !*stopped.borrow() {
        let result = tokio::select! {
            r = follow(&engine, &url, &key, &mut last_id, &mut backoff) => r,
            _ = stopped.changed() => break,
        };
        engine.health.connected.store(false, Ordering::Relaxed);
        if let Err(e) = result {
            *engine.health.last_error.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(e.to_string());
        }
        tokio::select! {
            () = tokio::time::sleep(backoff) => {}
            _ = stopped.changed() => break,
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
    engine.health.running.store(false, Ordering::Relaxed);
    engine.health.connected.store(false, Ordering::Relaxed);
}

/// Connect and read until an error; `last_id` advances as batches are applied.
async fn follow(
    engine: &Engine,
    url: &str,
    key: &str,
    last_id: &mut String,
    backoff: &mut Duration,
) -> redis::RedisResult<()> {
    let client = redis::Client::open(url)?;
    // A blocking XREAD outlives the default 500 ms response timeout: disable it on this connection.
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(5)))
        .set_response_timeout(None);
    let mut conn = client.get_multiplexed_async_connection_with_config(&config).await?;
    engine.health.connected.store(true, Ordering::Relaxed);
    *engine.health.last_error.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    *backoff = Duration::from_millis(100);
    loop {
        let reply: Value = redis::cmd("XREAD")
            .arg("COUNT")
            .arg(BATCH)
            .arg("BLOCK")
            .arg(BLOCK_MS)
            .arg("STREAMS")
            .arg(key)
            .arg(&*last_id)
            .query_async(&mut conn)
            .await?;
        let entries = parse_xread(reply);
        if let Some((id, _)) = entries.last() {
            last_id.clone_from(id);
            engine.ingest(entries.iter().filter_map(|(_, data)| data.as_deref()));
            *engine.health.last_event_id.lock().unwrap_or_else(std::sync::PoisonError::into_inner) =
                Some(last_id.clone());
        }
        if entries.len() < BATCH {
            engine.health.lag.store(0, Ordering::Relaxed);
        } else {
            update_lag(engine, &mut conn, key, last_id).await;
        }
    }
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

/// `(id, data)` pairs from an XREAD reply, RESP2 (arrays) or RESP3 (map). An entry without a
/// `data` field gives `None` and is counted as malformed by the caller's decode step.
fn parse_xread(reply: Value) -> Vec<(String, Option<Vec<u8>>)> {
    let streams = match reply {
        Value::Array(streams) => streams.into_iter().filter_map(|s| match s {
            Value::Array(mut pair) if pair.len() == 2 => pair.pop(),
            _ => None,
        }).collect::<Vec<_>>(),
        Value::Map(pairs) => pairs.into_iter().map(|(_, v)| v).collect(),
        _ => Vec::new(),
    };
    let mut out = Vec::new();
    for entries in streams {
        let Value::Array(entries) = entries else { continue };
        for entry in entries {
            let Value::Array(mut parts) = entry else { continue };
            if parts.len() != 2 {
                continue;
            }
            let fields = parts.pop();
            let Some(Value::BulkString(id)) = parts.pop() else { continue };
            let Ok(id) = String::from_utf8(id) else { continue };
            let data = match fields {
                Some(Value::Array(kv)) => field(kv),
                Some(Value::Map(kv)) => field(kv.into_iter().flat_map(|(k, v)| [k, v]).collect()),
                _ => None,
            };
            out.push((id, Some(data.unwrap_or_default())));
        }
    }
    out
}

fn field(kv: Vec<Value>) -> Option<Vec<u8>> {
    let mut it = kv.into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        if matches!(&k, Value::BulkString(name) if name == b"data") {
            if let Value::BulkString(data) = v {
                return Some(data);
            }
        }
    }
    None
}
