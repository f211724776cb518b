//! Follows RabbitMQ and feeds the engine: the queue bound to the fanout exchange `{prefix}.events`
//! that stemtrace's publishers (ours and 0.4.x's) write JSON bodies to.
//!
//! Preferred: the stream queue `{prefix}.events.stream` (retention by age and size), read from its
//! first retained message on start and from the offset after the last one applied after a
//! reconnect, so history replays and any number of servers read the same events. Where the broker
//! refuses streams, a durable classic queue of this host (`{prefix}.events.classic.{host}`) keeps
//! what arrives from its declaration on. Like the Redis consumer it never gives up: every error
//! ends the connection, and it reconnects with capped exponential backoff.

use std::str::FromStr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use futures_lite::{future, StreamExt};
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicQosOptions, ExchangeDeclareOptions, QueueBindOptions,
    QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::uri::AMQPUri;
use lapin::tcp::{OwnedIdentity, OwnedTLSConfig};
use lapin::{Channel, Connect, Connection, ConnectionProperties, Consumer, ExchangeKind};
use crate::engine::Engine;
use crate::tls;
use crate::supervise::{self, Follower, Handle};

/// Deliveries applied under one write lock, and the broker's credit: a stream consumer must set one.
const BATCH: usize = 10_000;
const PREFETCH: u16 = 10_000;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Same retention arguments as the library's publisher (`stemtrace/transport/amqp.py`) with its
/// default `max_stream_length` of 1M events at 1 KiB each; whoever declares the queue first sets them.
const MAX_STREAM_BYTES: i64 = 1_000_000 * 1024;
const SEGMENT_BYTES: i64 = 100_000_000;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

pub fn is_amqp(url: &str) -> bool {
    ["amqp://", "amqps://", "pyamqp://"].iter().any(|s| url.starts_with(s))
}

/// Celery's `pyamqp://` is plain AMQP.
pub fn normalize_url(url: &str) -> String {
    url.strip_prefix("pyamqp://")
        .map_or_else(|| url.to_owned(), |rest| format!("amqp://{rest}"))
}

pub fn exchange_name(prefix: &str) -> String {
    format!("{prefix}.events")
}

/// The URL as Celery reads it: an empty vhost (`amqp://host/`) is `/`, as `amqp://host//` is.
fn parse_uri(url: &str) -> Result<AMQPUri> {
    let mut uri = AMQPUri::from_str(url)?;
    if uri.vhost.is_empty() {
        uri.vhost = "/".into();
    }
    Ok(uri)
}

/// The URL and its TLS settings. TLS options come in the query as the library reads them
/// (`stemtrace/transport/amqp.py`): `ssl_ca_certs` verifies `amqps://` against that CA instead of the
/// system's, `ssl_certfile` + `ssl_keyfile` (PEM) present a client certificate. Skipping verification
/// is refused with a reason: the TLS stack here (lapin's rustls) does not offer it.
fn connect_target(url: &str) -> Result<(AMQPUri, OwnedTLSConfig)> {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut config = OwnedTLSConfig::default();
    let (mut cert, mut client_key) = (None, None);
    let mut kept = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        match &*key {
            "ssl_ca_certs" => {
                let pem = tls::read_option(&key, &value)?;
                config.cert_chain = Some(String::from_utf8(pem).map_err(|_| "ssl_ca_certs: not a PEM text file")?);
            }
            "ssl_cert_reqs" => {
                if !tls::cert_reqs(&value)? {
                    return Err("ssl_cert_reqs=none: the server verifies RabbitMQ's certificate; give its CA as ssl_ca_certs".into());
                }
            }
            "ssl_certfile" => cert = Some(tls::read_option(&key, &value)?),
            "ssl_keyfile" => client_key = Some(tls::read_option(&key, &value)?),
            _ => {
                kept.append_pair(&key, &value);
            }
        }
    }
    config.identity = match (cert, client_key) {
        (Some(pem), Some(key)) => Some(OwnedIdentity::PKCS8 { pem, key }),
        (None, None) => None,
        _ => return Err("ssl_certfile and ssl_keyfile go together".into()),
    };
    let kept = kept.finish();
    let url = if kept.is_empty() { base.to_owned() } else { format!("{base}?{kept}") };
    Ok((parse_uri(&url)?, config))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Stream,
    Classic,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Stream => "rabbitmq-stream",
            Mode::Classic => "rabbitmq-classic",
        }
    }
}

pub fn spawn(engine: Arc<Engine>, url: String, runtime: &tokio::runtime::Handle) -> Handle {
    supervise::spawn(engine, runtime, AmqpFollower { url, last_offset: None })
}

struct AmqpFollower {
    url: String,
    /// Offset of the last stream message applied: survives reconnects, so nothing is read twice.
    last_offset: Option<i64>,
}

impl Follower for AmqpFollower {
    async fn follow(&mut self, engine: &Engine, backoff: &mut Duration) -> std::result::Result<(), String> {
        follow(engine, &self.url, &mut self.last_offset, backoff).await.map_err(|e| e.to_string())
    }
}

/// Connect, subscribe and apply batches until an error. Dropping the connection closes it.
async fn follow(engine: &Engine, url: &str, last_offset: &mut Option<i64>, backoff: &mut Duration) -> Result<()> {
    let properties = ConnectionProperties::default().with_connection_name("stemtrace consumer".into());
    let (uri, tls) = connect_target(url)?;
    let runtime = lapin::runtime::default_runtime()?;
    let conn = tokio::time::timeout(CONNECT_TIMEOUT, uri.connect_with_config(properties, tls, runtime))
        .await
        .map_err(|_| format!("no answer from RabbitMQ within {CONNECT_TIMEOUT:?}"))??;
    let prefix = &engine.config.prefix;
    let exchange = exchange_name(prefix);
    let channel = conn.create_channel().await?;
    let durable = ExchangeDeclareOptions {
        durable: true,
        ..ExchangeDeclareOptions::default()
    };
    channel
        .exchange_declare(
            exchange.as_str().into(),
            ExchangeKind::Fanout,
            durable,
            FieldTable::default(),
        )
        .await?;
    let (channel, mode, queue) = declare_queue(&conn, channel, engine).await?;
    let (channel, mode, mut consumer) = match subscribe(&channel, &queue, &exchange, mode, *last_offset).await {
        // A classic queue under the stream queue's name (left by an older setup, or declared by hand)
        // passes the passive declare but refuses a stream offset: read our own classic queue instead.
        Err(e) if mode == Mode::Stream && is_not_a_stream(&e.to_string()) => {
            let (channel, queue) = declare_classic(&conn, engine).await?;
            let consumer = subscribe(&channel, &queue, &exchange, Mode::Classic, None).await?;
            (channel, Mode::Classic, consumer)
        }
        subscribed => (channel, mode, subscribed?),
    };
    *engine.health.broker_mode.lock().unwrap_or_else(PoisonError::into_inner) = Some(mode.name());
    supervise::connected(engine, backoff);
    loop {
        let batch = next_batch(&mut consumer).await?;
        let fresh = match mode {
            // A stream may resend what precedes the requested offset in the same chunk: skip it.
            Mode::Stream => skip_seen(&batch, *last_offset),
            Mode::Classic => &batch[..],
        };
        engine.ingest(fresh.iter().map(|d| d.data.as_slice()));
        if let Some(offset) = fresh.last().and_then(stream_offset) {
            *last_offset = Some(offset);
            *engine
                .health
                .last_event_id
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(offset.to_string());
        }
        if let Some(last) = batch.last() {
            channel
                .basic_ack(last.delivery_tag, BasicAckOptions { multiple: true })
                .await?;
        }
        update_lag(engine, &channel, mode, &queue, batch.len()).await?;
    }
}

/// Bind `queue` to the exchange and start consuming it (from `last_offset` on a stream).
async fn subscribe(
    channel: &Channel,
    queue: &ShortString,
    exchange: &str,
    mode: Mode,
    last_offset: Option<i64>,
) -> Result<Consumer> {
    channel
        .queue_bind(
            queue.clone(),
            exchange.into(),
            "".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
    channel.basic_qos(PREFETCH, BasicQosOptions::default()).await?;
    let consumer = channel
        .basic_consume(
            queue.clone(),
            "".into(),
            BasicConsumeOptions::default(),
            start_at(mode, last_offset),
        )
        .await?;
    Ok(consumer)
}

/// The broker's answer to a stream offset on a queue that is not a stream.
fn is_not_a_stream(error: &str) -> bool {
    error.contains("x-stream-offset") && error.contains("classic")
}

/// The stream queue when the broker has streams, else this host's classic queue; each is used as it
/// is when it exists (a passive declare first), so retention set by another declarer is never an error.
async fn declare_queue(conn: &Connection, channel: Channel, engine: &Engine) -> Result<(Channel, Mode, ShortString)> {
    let prefix = &engine.config.prefix;
    let ttl = engine.config.ttl_secs;
    let stream = ShortString::from(format!("{prefix}.events.stream"));
    let mut args = FieldTable::default();
    args.insert("x-queue-type".into(), AMQPValue::LongString("stream".into()));
    args.insert("x-max-age".into(), AMQPValue::LongString(format!("{ttl}s").into()));
    args.insert("x-max-length-bytes".into(), AMQPValue::LongLongInt(MAX_STREAM_BYTES));
    args.insert(
        "x-stream-max-segment-size-bytes".into(),
        AMQPValue::LongLongInt(SEGMENT_BYTES),
    );
    if let Some(channel) = declare(conn, channel, &stream, args).await? {
        return Ok((channel, Mode::Stream, stream));
    }
    // No streams here: a refused declare closed the channel, so the fallback starts on a new one.
    let (channel, classic) = declare_classic(conn, engine).await?;
    Ok((channel, Mode::Classic, classic))
}

/// This host's durable classic queue, where streams are refused.
async fn declare_classic(conn: &Connection, engine: &Engine) -> Result<(Channel, ShortString)> {
    let prefix = &engine.config.prefix;
    let ttl = engine.config.ttl_secs;
    let classic = ShortString::from(format!("{prefix}.events.classic.{}", hostname()));
    let ttl_ms = (ttl * 1000) as i64;
    let mut args = FieldTable::default();
    args.insert("x-message-ttl".into(), AMQPValue::LongLongInt(ttl_ms));
    // An abandoned queue (its server gone for good) deletes itself a minute after its messages expire.
    args.insert("x-expires".into(), AMQPValue::LongLongInt(ttl_ms + 60_000));
    match declare(conn, conn.create_channel().await?, &classic, args).await? {
        Some(channel) => Ok((channel, classic)),
        None => Err(format!("RabbitMQ refused to declare queue {classic}").into()),
    }
}

/// Passive declare, then a real one with `args` if the queue is missing; `None` when the broker
/// refused its queue type. Any other refusal or a connection error is returned as an error.
async fn declare(
    conn: &Connection,
    channel: Channel,
    queue: &ShortString,
    args: FieldTable,
) -> Result<Option<Channel>> {
    let passive = QueueDeclareOptions {
        passive: true,
        ..QueueDeclareOptions::default()
    };
    if channel
        .queue_declare(queue.clone(), passive, FieldTable::default())
        .await
        .is_ok()
    {
        return Ok(Some(channel));
    }
    let channel = conn.create_channel().await?;
    let durable = QueueDeclareOptions {
        durable: true,
        ..QueueDeclareOptions::default()
    };
    match channel.queue_declare(queue.clone(), durable, args).await {
        Ok(_) => Ok(Some(channel)),
        // A broker without streams refuses the queue type, and only that makes the caller fall back:
        // anything else (a node still starting, a permission) is retried, never a reason to split
        // history into a classic queue.
        Err(e) if matches!(e.kind(), lapin::ErrorKind::ProtocolError(p) if p.to_string().contains("x-queue-type")) => {
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// `x-stream-offset`: everything retained on first start, the message after the last one applied
/// after a reconnect. Classic queues keep unacknowledged messages themselves.
fn start_at(mode: Mode, last_offset: Option<i64>) -> FieldTable {
    let mut args = FieldTable::default();
    if mode == Mode::Stream {
        let offset = last_offset.map_or_else(
            || AMQPValue::LongString("first".into()),
            |o| AMQPValue::LongLongInt(o + 1),
        );
        args.insert("x-stream-offset".into(), offset);
    }
    args
}

/// The next delivery (waiting for it), then whatever else is already there, up to `BATCH`.
async fn next_batch(consumer: &mut Consumer) -> Result<Vec<Delivery>> {
    let first = consumer.next().await.ok_or("RabbitMQ cancelled the consumer")??;
    let mut batch = vec![first];
    while batch.len() < BATCH {
        match future::poll_once(consumer.next()).await {
            Some(Some(delivery)) => batch.push(delivery?),
            // Nothing ready, or the end of the consumer, which the next call reports.
            Some(None) | None => break,
        }
    }
    Ok(batch)
}

fn stream_offset(delivery: &Delivery) -> Option<i64> {
    match delivery.properties.headers().as_ref()?.inner().get("x-stream-offset")? {
        AMQPValue::LongLongInt(n) => Some(*n),
        AMQPValue::LongInt(n) => Some(i64::from(*n)),
        _ => None,
    }
}

fn skip_seen(batch: &[Delivery], last_offset: Option<i64>) -> &[Delivery] {
    let Some(last) = last_offset else { return batch };
    let seen = batch
        .iter()
        .take_while(|d| stream_offset(d).is_some_and(|o| o <= last))
        .count();
    &batch[seen..]
}

/// A short batch means caught up. Behind that, a classic queue tells how many messages wait (a
/// passive declare); a stream does not tell its end offset over AMQP 0.9.1, so its lag is unknown.
async fn update_lag(engine: &Engine, channel: &Channel, mode: Mode, queue: &ShortString, batch: usize) -> Result<()> {
    let lag = match mode {
        _ if batch < BATCH => 0,
        Mode::Stream => -1,
        Mode::Classic => {
            let passive = QueueDeclareOptions {
                passive: true,
                ..QueueDeclareOptions::default()
            };
            i64::from(
                channel
                    .queue_declare(queue.clone(), passive, FieldTable::default())
                    .await?
                    .message_count(),
            )
        }
    };
    engine.health.lag.store(lag, Ordering::Relaxed);
    Ok(())
}

/// This machine's name, which keeps a server's classic queue the same across restarts.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "server".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use lapin::types::LongString;

    #[test]
    fn reads_urls_as_celery_does() {
        assert!(is_amqp("amqps://h") && is_amqp("pyamqp://h") && !is_amqp("redis://h"));
        assert_eq!(normalize_url("pyamqp://guest@h//"), "amqp://guest@h//");
        assert_eq!(parse_uri("amqp://guest:pw@h//").unwrap().vhost, "/");
        assert_eq!(parse_uri("amqp://h/").unwrap().vhost, "/");
        assert_eq!(parse_uri("amqp://h").unwrap().vhost, "/");
        assert_eq!(parse_uri("amqp://h/shop").unwrap().vhost, "shop");
    }

    #[test]
    fn tls_options_are_read_from_the_query_and_the_rest_kept() {
        let ca = std::env::temp_dir().join("stemtrace-amqp-test-ca.pem");
        std::fs::write(&ca, "-----BEGIN CERTIFICATE-----\n").unwrap();
        let url = format!("amqps://u:p@h:5671/shop?ssl_ca_certs={}&heartbeat=7&ssl_cert_reqs=CERT_REQUIRED", ca.display());
        let (uri, tls) = connect_target(&url).unwrap();
        assert_eq!((uri.vhost.as_str(), uri.query.heartbeat), ("shop", Some(7)));
        assert_eq!(tls.cert_chain.as_deref(), Some("-----BEGIN CERTIFICATE-----\n"));
        let refused = |url: &str| connect_target(url).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(refused("amqps://h//?ssl_cert_reqs=none").contains("give its CA as ssl_ca_certs"));
        assert!(refused(&format!("amqps://h//?ssl_certfile={}", ca.display())).contains("go together"));
        assert!(refused("amqps://h//?ssl_ca_certs=/nonexistent/ca.pem").contains("cannot read /nonexistent/ca.pem"));
    }

    #[test]
    fn resumes_after_the_last_offset() {
        assert_eq!(
            start_at(Mode::Stream, None).inner().get("x-stream-offset"),
            Some(&AMQPValue::LongString(LongString::from("first")))
        );
        assert_eq!(
            start_at(Mode::Stream, Some(41)).inner().get("x-stream-offset"),
            Some(&AMQPValue::LongLongInt(42))
        );
        assert!(start_at(Mode::Classic, Some(41)).inner().is_empty());
    }
}
