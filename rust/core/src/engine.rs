//! The engine: the store behind one lock, the worker registry, health counters, and the consumer.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use crate::{amqp, consumer, supervise};
use crate::error::{Error, Result};
use crate::event::{decode, Decoded, SkipReason};
use crate::event_log::{self, EventId, Laid, Span};
use crate::feed::{Changes, Feed};
use crate::hash::FxMap;
use crate::json::Obj;
use crate::query::{self, TaskFilter};
use crate::store::{Applied, Store, TaskKey};
use crate::time::Micros;
use crate::workers::Workers;

#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// `redis://…`, `rediss://…`, `unix://…`, `amqp://…`, `amqps://…`, or `None` / `memory://` for an
    /// engine fed by `ingest`.
    pub transport_url: Option<String>,
    pub prefix: String,
    pub max_tasks: usize,
    /// Retention of a RabbitMQ queue this engine creates (seconds).
    pub ttl_secs: u64,
}

const REDIS_SCHEMES: [&str; 5] = ["redis://", "rediss://", "unix://", "redis+unix://", "sentinel://"];

/// Default retention, as the library's `ttl`: one day.
pub const DEFAULT_TTL_SECS: u64 = 86_400;

impl EngineConfig {
    pub fn new(transport_url: Option<&str>, prefix: &str, max_tasks: usize) -> Result<EngineConfig> {
        let transport_url = match transport_url {
            None => None,
            Some(u) if u.starts_with("memory://") => None,
            Some(u) if REDIS_SCHEMES.iter().any(|s| u.starts_with(s)) => {
                Some(u.to_owned())
            }
            Some(u) if amqp::is_amqp(u) => Some(amqp::normalize_url(u)),
            Some(u) => {
                return Err(Error::InvalidUrl {
                    url: redact(u),
                    reason: "use redis://, rediss://, unix://, sentinel://, amqp://, amqps:// or memory://".into(),
                })
            }
        };
        if prefix.is_empty() {
            return Err(Error::InvalidParameter { name: "prefix", reason: "must not be empty".into() });
        }
        Ok(EngineConfig { transport_url, prefix: prefix.to_owned(), max_tasks, ttl_secs: DEFAULT_TTL_SECS })
    }

    #[must_use]
    pub fn with_ttl(self, ttl_secs: u64) -> EngineConfig {
        EngineConfig { ttl_secs: ttl_secs.max(1), ..self }
    }

    fn is_amqp(&self) -> bool {
        self.transport_url.as_deref().is_some_and(amqp::is_amqp)
    }

    /// Where events are read from: the Redis Stream key, or the RabbitMQ exchange.
    pub fn stream_key(&self) -> String {
        if self.is_amqp() {
            amqp::exchange_name(&self.prefix)
        } else {
            format!("{}:events", self.prefix)
        }
    }
}

/// Entries decoded at a time before they are used: applied by [`Engine::ingest`], laid out by
/// [`decode_and_lay_out`]. Their decoded form (~470 bytes each) then stays in cache, in memory the
/// allocator reuses: decoding a whole large batch first filled a block as large afresh on every
/// call, a third of the page faults of a million-task ingest (bench/RESULTS-engine.md).
const DECODE_CHUNK: usize = 1024;

/// One stream entry as decoded, with its raw bytes (kept by the store as they arrived).
pub type Entry<'a> = (std::result::Result<Decoded<'a>, SkipReason>, &'a [u8]);

/// A batch made ready for [`Engine::apply`] off the store's lock: its entries decoded and, when
/// decoding runs beside the thread that applies, the bytes of its task events laid out in one block
/// per task, which a task new to the store takes whole (see `event_log`).
pub struct Prepared<'a> {
    entries: Vec<Entry<'a>>,
    /// Per entry when laid out, for a task event: its task's block and where it is in it.
    places: Vec<Option<(u32, Span)>>,
    blocks: Vec<Option<Box<[u8]>>>,
}

/// Decode entries: the work [`Engine::apply`] needs done outside its lock, on any thread.
pub fn decode_all<'a>(entries: impl IntoIterator<Item = &'a [u8]>) -> Prepared<'a> {
    let entries = entries.into_iter().map(entry).collect();
    Prepared { entries, places: Vec::new(), blocks: Vec::new() }
}

fn entry(raw: &[u8]) -> Entry<'_> {
    (decode(raw), raw)
}

/// [`decode_all`], and lay out the bytes the store will keep. Worth it only on a thread other than
/// the one applying: it costs more instructions than copying while applying (grouping by task),
/// but halved the applying thread's time in a 5M-event catch-up (bench/RESULTS-engine.md).
/// [`DECODE_CHUNK`] entries at a time, so that laying out reads what decoding has just read.
pub fn decode_and_lay_out<'a>(entries: impl IntoIterator<Item = &'a [u8]>) -> Prepared<'a> {
    let mut entries = entries.into_iter().peekable();
    let mut prepared = Prepared { entries: Vec::with_capacity(entries.size_hint().0), places: Vec::new(), blocks: Vec::new() };
    while entries.peek().is_some() {
        let from = prepared.entries.len();
        prepared.entries.extend(entries.by_ref().take(DECODE_CHUNK).map(entry));
        lay_out(&mut prepared, from);
    }
    prepared
}

/// Lay out the bytes of the task events from entry `from` on: one block per task, after the blocks
/// already laid out (a task whose events span two calls gets two; the second is copied from), each
/// as its log keeps them (the first event whole, the others as operations on it).
fn lay_out(prepared: &mut Prepared<'_>, from: usize) {
    const NONE: usize = usize::MAX;
    let Prepared { entries, places, blocks } = prepared;
    let first = blocks.len();
    let mut tasks: FxMap<&str, usize> = FxMap::default();
    // Each task's events as a list through the chunk: its first entry, and each entry's next.
    let (mut heads, mut tails, mut next) = (Vec::new(), Vec::new(), vec![NONE; entries.len() - from]);
    places.extend(entries[from..].iter().enumerate().map(|(i, (decoded, _))| {
        let Ok(Decoded::Task(ev)) = decoded else { return None };
        let block = *tasks.entry(&ev.task_id).or_insert_with(|| {
            heads.push(i);
            tails.push(i);
            heads.len() - 1
        });
        if tails[block] != i {
            next[tails[block]] = i;
            tails[block] = i;
        }
        Some(((first + block) as u32, Span::default()))
    }));
    // Each block is built in one buffer, then copied out at its size: what the encoding will save
    // is not known before, and a block allocated for its events whole would have the first touch
    // of all of that memory paid for (bench/RESULTS-engine.md, session 13).
    let mut built = Vec::new();
    for head in heads {
        built.clear();
        let mut base = None;
        let mut i = head;
        while i != NONE {
            let place = &mut places[from + i];
            match (place.as_mut(), event_log::append(&mut built, base.clone(), entries[from + i].1)) {
                (Some((_, span)), Some(at)) => {
                    *span = at;
                    base.get_or_insert(at.start as usize..at.end as usize);
                }
                _ => *place = None,
            }
            i = next[i];
        }
        blocks.push(Some(Box::from(&built[..])));
    }
}

/// Hide a password in a URL before it is shown anywhere.
pub fn redact(url: &str) -> String {
    if url.contains(';') {
        return url.split(';').map(redact).collect::<Vec<_>>().join(";");
    }
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!("{}{}:***{}", &url[..scheme + 3], &userinfo[..colon], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Counters and consumer state reported by `health()`.
#[derive(Default)]
pub struct Health {
    pub running: AtomicBool,
    pub connected: AtomicBool,
    pub ingested: AtomicU64,
    pub duplicates: AtomicU64,
    pub skipped: [AtomicU64; SkipReason::ALL.len()],
    pub worker_events: AtomicU64,
    /// Entries behind the stream's end; -1 when unknown.
    pub lag: AtomicI64,
    pub last_error: Mutex<Option<String>>,
    pub last_event_id: Mutex<Option<String>>,
    /// How events are read (`redis-stream`, `rabbitmq-stream`, `rabbitmq-classic`); `None` until known.
    pub broker_mode: Mutex<Option<&'static str>>,
    /// Times the stream was found reset behind the last id read, and what happened the last time.
    pub stream_resets: AtomicU64,
    pub last_reset: Mutex<Option<String>>,
}

pub struct Engine {
    pub config: EngineConfig,
    store: RwLock<Store>,
    pub workers: Workers,
    pub health: Health,
    /// Bumped after every applied batch; live views poll it to know something changed.
    pub version: AtomicU64,
    consumer: Mutex<Option<supervise::Handle>>,
    feed: Mutex<Feed>,
}

impl Engine {
    pub fn new(config: EngineConfig) -> Engine {
        let store = Store::new(config.max_tasks);
        let health = Health { lag: AtomicI64::new(-1), ..Health::default() };
        Engine {
            config,
            store: RwLock::new(store),
            workers: Workers::default(),
            health,
            version: AtomicU64::new(0),
            consumer: Mutex::new(None),
            feed: Mutex::new(Feed::default()),
        }
    }

    /// Decode raw entries (outside the lock) and apply them, [`DECODE_CHUNK`] at a time under one
    /// write lock each. Returns how many task events changed the store.
    pub fn ingest<'a>(&self, entries: impl IntoIterator<Item = &'a [u8]>) -> usize {
        let mut entries = entries.into_iter().peekable();
        let mut applied = 0;
        while entries.peek().is_some() {
            applied += self.apply(&mut decode_all(entries.by_ref().take(DECODE_CHUNK)));
        }
        applied
    }

    /// Apply a decoded batch: worker events to the registry, skipped entries to their counters,
    /// task events to the store under one write lock. Returns how many task events changed it.
    pub fn apply(&self, batch: &mut Prepared<'_>) -> usize {
        let Prepared { entries, places, blocks } = batch;
        let mut tasks = Vec::with_capacity(entries.len());
        for (i, (decoded, raw)) in entries.iter().enumerate() {
            match decoded {
                Ok(Decoded::Task(ev)) => tasks.push((ev, *raw, places.get(i).copied().flatten())),
                Ok(Decoded::Worker(ev)) => {
                    self.workers.apply(ev, now_micros());
                    self.health.worker_events.fetch_add(1, Ordering::Relaxed);
                }
                Err(reason) => {
                    self.health.skipped[*reason as usize].fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        if tasks.is_empty() {
            return 0;
        }
        let (mut applied, mut duplicates) = (0, 0);
        let mut fresh = Vec::with_capacity(tasks.len());
        {
            let mut store = self.store.write().unwrap_or_else(std::sync::PoisonError::into_inner);
            for &(ev, raw, place) in &tasks {
                let laid = place.map(|(block, span)| Laid { block: &mut blocks[block as usize], span });
                match store.apply_unsettled(ev, raw, laid) {
                    (Applied::Duplicate, _) => duplicates += 1,
                    (Applied::New | Applied::Updated, key) => {
                        applied += 1;
                        fresh.extend(EventId::of(ev).map(|id| (key, id)));
                    }
                }
            }
            store.settle();
        }
        {
            let mut feed = self.feed.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            for (key, event) in fresh {
                feed.push(key, event);
            }
        }
        // One registry update per worker per batch, not one per event.
        let mut seen: FxMap<&str, Micros> = FxMap::default();
        for (ev, _, _) in &tasks {
            if let (Some(host), Some(ts)) = (ev.hostname.as_deref(), ev.timestamp) {
                let last = seen.entry(host).or_insert(ts);
                *last = (*last).max(ts);
            }
        }
        let now = now_micros();
        for (host, ts) in seen {
            self.workers.seen(host, ts, now);
        }
        self.health.ingested.fetch_add(applied as u64, Ordering::Relaxed);
        self.health.duplicates.fetch_add(duplicates, Ordering::Relaxed);
        self.version.fetch_add(1, Ordering::Release);
        applied
    }

    /// Run a read-only closure against the store.
    pub fn read<T>(&self, f: impl FnOnce(&Store) -> T) -> T {
        f(&self.store.read().unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    /// Start following the stream on `runtime`; a no-op without a Redis URL or when running.
    pub fn start(self: &Arc<Self>, runtime: &tokio::runtime::Handle) {
        let mut slot = self.consumer.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if slot.is_some() {
            return;
        }
        if let Some(url) = &self.config.transport_url {
            *slot = Some(if self.config.is_amqp() {
                amqp::spawn(Arc::clone(self), url.clone(), runtime)
            } else {
                *self.health.broker_mode.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some("redis-stream");
                consumer::spawn(Arc::clone(self), url.clone(), runtime)
            });
        }
    }

    /// Stop the consumer and wait (bounded) for it to end.
    pub fn stop(&self, runtime: &tokio::runtime::Handle) {
        let handle = self.consumer.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
        if let Some(h) = handle {
            h.stop(runtime, Duration::from_secs(5));
        }
    }

    /// Task updates after `since`, optionally only those of the flow containing `flow` (a task id or
    /// `group:<id>`); `coalesce` keeps the latest update per task.
    pub fn changes(&self, since: u64, flow: Option<&str>, coalesce: bool, max: usize) -> Changes {
        let feed = self.feed.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        self.read(|store| {
            let event_of = |key: &TaskKey, id: EventId| store.kept_event(key, id);
            match flow {
                None => feed.since(since, coalesce, max, |_| true, event_of),
                Some(id) => {
                    let rep = query::flow_member(store, id).map(|slot| store.flow_of(slot));
                    let in_flow = |key: &TaskKey| rep.is_some() && store.slot_of(key).map(|s| store.flow_of(s)) == rep;
                    feed.since(since, coalesce, max, in_flow, event_of)
                }
            }
        })
    }

    pub fn list_tasks(&self, f: &TaskFilter) -> Vec<u8> {
        let live = self.workers.liveness(now_micros());
        self.read(|s| query::list_tasks(s, f, &live))
    }

    pub fn get_task(&self, id: &str) -> Option<Vec<u8>> {
        let live = self.workers.liveness(now_micros());
        self.read(|s| query::get_task(s, id, &live))
    }

    pub fn task_children(&self, id: &str, compact: bool) -> Option<Vec<u8>> {
        let live = self.workers.liveness(now_micros());
        self.read(|s| query::task_children(s, id, compact, &live))
    }

    pub fn list_graphs(&self, limit: usize, offset: usize, from: Option<Micros>, to: Option<Micros>) -> Vec<u8> {
        self.read(|s| query::list_graphs(s, limit, offset, from, to))
    }

    pub fn get_graph(&self, id: &str) -> Option<Vec<u8>> {
        let live = self.workers.liveness(now_micros());
        self.read(|s| query::get_graph(s, id, &live))
    }

    pub fn workers(&self, hostname: Option<&str>) -> Vec<u8> {
        query::workers(&self.workers, hostname, now_micros())
    }

    pub fn registry(&self, q: Option<&str>, status: Option<&str>) -> Vec<u8> {
        self.read(|s| query::registry(s, &self.workers, q, status))
    }

    pub fn overview(&self, start: Micros, end: Micros) -> Vec<u8> {
        let now = now_micros();
        let total = self.workers.map.len();
        let online = self.workers.map.iter().filter(|w| w.status(now) == "online").count();
        self.read(|s| crate::stats::overview(s, start, end, online, total))
    }

    pub fn timeseries(&self, start: Micros, end: Micros, bucket: Micros) -> Vec<u8> {
        self.read(|s| crate::stats::timeseries(s, start, end, bucket))
    }

    pub fn failures(&self, start: Micros, end: Micros) -> Vec<u8> {
        self.read(|s| crate::stats::failures(s, start, end))
    }

    pub fn health(&self) -> Vec<u8> {
        let h = &self.health;
        let (nodes, flows, evicted) = self.read(|s| (s.len(), s.flows.len(), s.evicted()));
        let lag = h.lag.load(Ordering::Relaxed);
        let mut out = Vec::new();
        let mut o = Obj::new(&mut out);
        o.bool("consumer_running", h.running.load(Ordering::Relaxed))
            .bool("consumer_connected", h.connected.load(Ordering::Relaxed))
            .opt_str("broker", self.config.transport_url.as_deref().map(redact).as_deref())
            .str("stream", &self.config.stream_key())
            .opt_str("broker_mode", *h.broker_mode.lock().unwrap_or_else(std::sync::PoisonError::into_inner))
            .opt_int("lag", (lag >= 0).then_some(lag))
            .opt_str("last_error", h.last_error.lock().unwrap_or_else(std::sync::PoisonError::into_inner).as_deref())
            .opt_str(
                "last_event_id",
                h.last_event_id.lock().unwrap_or_else(std::sync::PoisonError::into_inner).as_deref(),
            )
            .int("events_ingested", h.ingested.load(Ordering::Relaxed) as i64)
            .int("duplicates", h.duplicates.load(Ordering::Relaxed) as i64)
            .int("worker_events", h.worker_events.load(Ordering::Relaxed) as i64)
            .int("stream_resets", h.stream_resets.load(Ordering::Relaxed) as i64)
            .opt_str("last_reset", h.last_reset.lock().unwrap_or_else(std::sync::PoisonError::into_inner).as_deref());
        let skipped = o.key("skipped");
        let mut s = Obj::new(skipped);
        for reason in SkipReason::ALL {
            s.int(reason.as_str(), h.skipped[reason as usize].load(Ordering::Relaxed) as i64);
        }
        s.finish();
        o.int("node_count", nodes as i64).int("flow_count", flows as i64).int("evicted", evicted as i64);
        query::write_counters(o.key("producer"), self.workers.transport());
        o.finish();
        out
    }
}

pub fn now_micros() -> Micros {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_micros() as Micros)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(redact("redis://user:secret@host:6379/0"), "redis://user:***@host:6379/0");
        assert_eq!(redact("redis://:secret@host"), "redis://:***@host");
        assert_eq!(redact("redis://host:6379"), "redis://host:6379");
        assert_eq!(
            redact("sentinel://:a@s1:26379;sentinel://:b@s2/0?master_name=m"),
            "sentinel://:***@s1:26379;sentinel://:***@s2/0?master_name=m"
        );
    }

    #[test]
    fn rejects_unknown_schemes() {
        assert!(EngineConfig::new(Some("kafka://x"), "stemtrace", 10).is_err());
        assert!(EngineConfig::new(Some("pyamqp://x//"), "stemtrace", 10).unwrap().is_amqp());
        assert!(EngineConfig::new(Some("memory://"), "stemtrace", 10).unwrap().transport_url.is_none());
    }

    proptest::proptest! {
        /// Bytes laid out by the reader are kept exactly as copies would be, whatever the batches
        /// hold: several events of a task, duplicates, tasks already known, evictions mid-batch.
        #[test]
        fn laying_out_keeps_what_copying_keeps(
            events in proptest::collection::vec((0u8..10, 0u8..4, 0u8..30, 0u8..10), 1..80),
            cuts in proptest::collection::vec(proptest::bool::ANY, 80),
            limit in 2usize..8,
        ) {
            let raw: Vec<Vec<u8>> = events
                .iter()
                .map(|&(id, state, secs, parent)| {
                    let state = ["PENDING", "RECEIVED", "STARTED", "SUCCESS"][state as usize];
                    let parent = if parent < id { format!(r#","parent_id":"t{parent}""#) } else { String::new() };
                    format!(r#"{{"task_id":"t{id}","state":"{state}","timestamp":"2025-01-01T00:00:{secs:02}Z","args":[{secs}]{parent}}}"#)
                        .into_bytes()
                })
                .collect();
            let (copied, laid) = (Engine::new(EngineConfig::new(None, "a", limit).unwrap()), Engine::new(EngineConfig::new(None, "b", limit).unwrap()));
            let mut start = 0;
            for end in (1..=raw.len()).filter(|&i| i == raw.len() || cuts[i]) {
                let batch = || raw[start..end].iter().map(Vec::as_slice);
                copied.apply(&mut decode_all(batch()));
                laid.apply(&mut decode_and_lay_out(batch()));
                start = end;
            }
            for id in 0..10 {
                let id = format!("t{id}");
                proptest::prop_assert_eq!(copied.get_task(&id), laid.get_task(&id), "{}", id);
            }
        }
    }

    #[test]
    fn a_task_whose_events_straddle_two_chunks_keeps_them_all() {
        let event = |id: &str, secs: usize| {
            format!(r#"{{"task_id":"{id}","state":"STARTED","timestamp":"2025-01-01T00:{:02}:{:02}Z"}}"#, secs / 60, secs % 60).into_bytes()
        };
        let mut raw: Vec<Vec<u8>> = (0..DECODE_CHUNK - 3).map(|i| event(&format!("t{i}"), 0)).collect();
        raw.extend((0..6).map(|secs| event("x", secs)));
        let (copied, laid) = (Engine::new(EngineConfig::new(None, "a", 10_000).unwrap()), Engine::new(EngineConfig::new(None, "b", 10_000).unwrap()));
        copied.apply(&mut decode_all(raw.iter().map(Vec::as_slice)));
        let mut prepared = decode_and_lay_out(raw.iter().map(Vec::as_slice));
        assert_eq!(prepared.blocks.len(), DECODE_CHUNK - 3 + 2, "x's events in two blocks");
        laid.apply(&mut prepared);
        let detail = laid.get_task("x").unwrap();
        assert_eq!(copied.get_task("x").unwrap(), detail);
        assert_eq!(serde_json::from_slice::<serde_json::Value>(&detail).unwrap()["task"]["events"].as_array().unwrap().len(), 6);
    }

    #[test]
    fn ingest_applies_every_chunk_of_a_large_batch() {
        let e = Engine::new(EngineConfig::new(None, "p", 10_000).unwrap());
        let events: Vec<Vec<u8>> = (0..DECODE_CHUNK * 2 + 7)
            .map(|i| format!(r#"{{"task_id":"t{i}","state":"SUCCESS","timestamp":"2025-01-01T00:00:00Z"}}"#).into_bytes())
            .collect();
        assert_eq!(e.ingest(events.iter().map(Vec::as_slice)), events.len());
        assert_eq!(e.read(Store::len), events.len());
    }

    #[test]
    fn counts_skips_by_reason_and_serves_json() {
        let e = Engine::new(EngineConfig::new(None, "p", 100).unwrap());
        let good = br#"{"task_id":"a","name":"x","state":"SUCCESS","timestamp":"2025-01-01T00:00:00Z"}"#;
        let n = e.ingest([&good[..], b"garbage", br#"{"nope":1}"#, &good[..]]);
        assert_eq!(n, 1);
        let h: serde_json::Value = serde_json::from_slice(&e.health()).unwrap();
        assert_eq!(h["skipped"]["malformed"], 1);
        assert_eq!(h["skipped"]["no_task_id"], 1);
        assert_eq!(h["duplicates"], 1);
        let list: serde_json::Value =
            serde_json::from_slice(&e.list_tasks(&TaskFilter { limit: 10, ..TaskFilter::default() })).unwrap();
        assert_eq!(list["total"], 1);
        assert_eq!(list["tasks"][0]["events"][0]["name"], "x");
    }
}
