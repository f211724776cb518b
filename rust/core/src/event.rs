//! Decoding wire events (DESIGN §3), tolerant of what real producers write.
//!
//! Only the fields the engine indexes are parsed, borrowing from the input (`crate::scan` reads the
//! members and checks the rest is JSON); the whole entry is kept as the raw bytes that arrived so
//! detail views return it untouched. Unknown fields are ignored, missing ones are `None`, a field of
//! the wrong type reads as absent rather than failing the event, and naive timestamps are UTC.

use std::borrow::Cow;
use std::cell::Cell;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;

use crate::scan::{Malformed, Members, QuotedKey, Value};
use crate::state::State;
use crate::time::{self, Micros};

/// The indexed fields of a task event.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct TaskEvent<'a> {
    pub task_id: Cow<'a, str>,
    pub name: Option<Cow<'a, str>>,
    pub state: Option<State>,
    pub timestamp: Option<Micros>,
    pub parent_id: Option<Cow<'a, str>>,
    pub root_id: Option<Cow<'a, str>>,
    pub group_id: Option<Cow<'a, str>>,
    /// The chord a header task belongs to (its header group's id), as 0.4.x and we write it.
    pub chord_id: Option<Cow<'a, str>>,
    pub chord_callback_id: Option<Cow<'a, str>>,
    pub chord_body_first_id: Option<Cow<'a, str>>,
    pub trace_id: Option<Cow<'a, str>>,
    pub retries: u32,
    pub exception_type: Option<Cow<'a, str>>,
    pub hostname: Option<Cow<'a, str>>,
    pub queue: Option<Cow<'a, str>>,
    pub routing_key: Option<Cow<'a, str>>,
    pub eta: Option<Micros>,
    /// The JSON text of `args`, `kwargs`, `result` and `exception`, where present: what a payload
    /// search reads (`crate::search`).
    pub payload: [Option<&'a str>; 4],
}

/// The fields of a worker lifecycle event.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct WorkerEvent<'a> {
    pub event_type: Cow<'a, str>,
    pub hostname: Option<Cow<'a, str>>,
    pub pid: Option<u32>,
    pub timestamp: Option<Micros>,
    pub registered_tasks: Vec<Cow<'a, str>>,
    pub task_definitions: Vec<TaskDefinition<'a>>,
    /// The sending process's transport counters, when it reports them.
    pub transport: Option<TransportCounters>,
    /// How often the worker sends heartbeats (`heartbeat_interval`, seconds).
    pub heartbeat_interval: Option<Micros>,
}

/// A producer process's transport counters since it started (`transport` on worker events):
/// events written, dropped (buffer full or refused), failed writes, and events waiting to be sent.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TransportCounters {
    pub sent: u64,
    pub dropped: u64,
    pub errors: u64,
    pub buffered: u64,
}

/// What a worker says about one task it registered.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct TaskDefinition<'a> {
    pub name: Cow<'a, str>,
    pub module: Option<Cow<'a, str>>,
    pub signature: Option<Cow<'a, str>>,
    pub docstring: Option<Cow<'a, str>>,
    pub bound: bool,
}

/// One decoded stream entry.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded<'a> {
    Task(TaskEvent<'a>),
    Worker(WorkerEvent<'a>),
}

/// Why an entry was skipped; each reason has its own counter in health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// Not JSON, not UTF-8, or not an object.
    Malformed,
    /// An object that is neither a task event nor a worker event.
    NoTaskId,
    /// A task event whose state is missing or unknown.
    UnknownState,
    /// A task event without a usable timestamp.
    NoTimestamp,
}

impl SkipReason {
    pub const ALL: [SkipReason; 4] =
        [SkipReason::Malformed, SkipReason::NoTaskId, SkipReason::UnknownState, SkipReason::NoTimestamp];

    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::Malformed => "malformed",
            SkipReason::NoTaskId => "no_task_id",
            SkipReason::UnknownState => "unknown_state",
            SkipReason::NoTimestamp => "no_timestamp",
        }
    }
}

/// Decode one entry's `data` bytes.
pub fn decode(raw: &[u8]) -> Result<Decoded<'_>, SkipReason> {
    // The raw bytes are served back inside JSON answers: the scanner accepts only UTF-8 JSON.
    let Fields { task, worker } = Fields::read(raw).map_err(|Malformed| SkipReason::Malformed)?;
    if let Some(event_type) = worker.event_type {
        return Ok(Decoded::Worker(WorkerEvent {
            event_type,
            hostname: task.hostname,
            pid: worker.pid,
            timestamp: task.timestamp,
            registered_tasks: worker.registered_tasks,
            task_definitions: worker.task_definitions,
            transport: worker.transport,
            heartbeat_interval: worker.heartbeat_interval,
        }));
    }
    if task.task_id.is_empty() {
        return Err(SkipReason::NoTaskId);
    }
    if task.state.is_none() {
        return Err(SkipReason::UnknownState);
    }
    if task.timestamp.is_none() {
        return Err(SkipReason::NoTimestamp);
    }
    Ok(Decoded::Task(task))
}

/// Every field we read, each tolerant of a wrong type: read in place into a task event (a missing
/// `task_id` is left empty), so that a task event is not copied field by field afterwards.
#[derive(Default)]
struct Fields<'a> {
    task: TaskEvent<'a>,
    worker: WorkerFields<'a>,
}

/// The fields only worker events carry; `hostname` and `timestamp` are read into the task event's.
#[derive(Default)]
struct WorkerFields<'a> {
    event_type: Option<Cow<'a, str>>,
    pid: Option<u32>,
    registered_tasks: Vec<Cow<'a, str>>,
    task_definitions: Vec<TaskDefinition<'a>>,
    transport: Option<TransportCounters>,
    heartbeat_interval: Option<Micros>,
}

/// The members decoding reads, and ones it steps over that real events carry (so that they too are
/// recognised by a guess).
#[derive(Clone, Copy)]
enum Member {
    EventType,
    TaskId,
    Name,
    State,
    Timestamp,
    ParentId,
    RootId,
    GroupId,
    ChordId,
    Args,
    Kwargs,
    Result,
    Exception,
    ChordCallbackId,
    ChordBodyFirstId,
    TraceId,
    Retries,
    ExceptionType,
    Hostname,
    Queue,
    RoutingKey,
    Eta,
    Pid,
    RegisteredTasks,
    TaskDefinitions,
    HeartbeatInterval,
    Transport,
    Traceback,
    Output,
    ShutdownTime,
}

/// Every key decoding knows, numbered by position: [`FOLLOWS`] holds these numbers.
const KEYS: [(&str, Member); 30] = [
    ("task_id", Member::TaskId),
    ("name", Member::Name),
    ("state", Member::State),
    ("timestamp", Member::Timestamp),
    ("parent_id", Member::ParentId),
    ("root_id", Member::RootId),
    ("group_id", Member::GroupId),
    ("chord_id", Member::ChordId),
    ("args", Member::Args),
    ("kwargs", Member::Kwargs),
    ("result", Member::Result),
    ("exception", Member::Exception),
    ("chord_callback_id", Member::ChordCallbackId),
    ("chord_body_first_id", Member::ChordBodyFirstId),
    ("trace_id", Member::TraceId),
    ("retries", Member::Retries),
    ("exception_type", Member::ExceptionType),
    ("hostname", Member::Hostname),
    ("queue", Member::Queue),
    ("routing_key", Member::RoutingKey),
    ("eta", Member::Eta),
    ("pid", Member::Pid),
    ("event_type", Member::EventType),
    ("registered_tasks", Member::RegisteredTasks),
    ("task_definitions", Member::TaskDefinitions),
    ("heartbeat_interval", Member::HeartbeatInterval),
    ("transport", Member::Transport),
    ("traceback", Member::Traceback),
    ("output", Member::Output),
    ("shutdown_time", Member::ShutdownTime),
];

/// The number of a key decoding does not know, and of the place before an entry's first key.
const UNKNOWN: u8 = KEYS.len() as u8;
const START: usize = KEYS.len() + 1;

const QUOTED: [QuotedKey; KEYS.len()] = {
    let mut out = [QuotedKey::new("-"); KEYS.len()];
    let mut i = 0;
    while i < KEYS.len() {
        out[i] = QuotedKey::new(KEYS[i].0);
        i += 1;
    }
    out
};

thread_local! {
    /// For each key (and the entry's start), the key that followed it in the last entry this thread
    /// decoded. A producer writes its members in a fixed order, so the next key is nearly always
    /// the one guessed, and is recognised by one comparison instead of being scanned and looked up:
    /// -860 of ~5.7k instructions per event and -30 % of decoding's time (bench/RESULTS-engine.md,
    /// session 11). Only speed depends on it; a wrong guess reads the key the slow way and learns.
    static FOLLOWS: Cell<[u8; START + 1]> = const { Cell::new([UNKNOWN; START + 1]) };
}

fn number_of(key: &str) -> u8 {
    KEYS.iter().position(|(name, _)| *name == key).map_or(UNKNOWN, |i| i as u8)
}

impl<'a> Fields<'a> {
    /// Read an entry's members: the ones decoding needs are read, the rest only checked.
    fn read(raw: &'a [u8]) -> Result<Fields<'a>, Malformed> {
        let mut out = Fields::default();
        let mut m = Members::of(raw)?;
        let mut follows = FOLLOWS.get();
        let mut learned = false;
        let mut last = START;
        loop {
            let guess = follows[last];
            let number = if usize::from(guess) < KEYS.len() && m.next_key_is(&QUOTED[usize::from(guess)]) {
                guess
            } else {
                let Some(key) = m.next_key()? else { break };
                let number = number_of(&key);
                learned |= guess != number;
                follows[last] = number;
                number
            };
            last = usize::from(number);
            let Some(&(_, key)) = KEYS.get(last) else {
                m.skip()?;
                continue;
            };
            match key {
                Member::EventType => out.worker.event_type = m.text()?,
                Member::TaskId => out.task.task_id = m.text()?.unwrap_or_default(),
                Member::Name => out.task.name = text_of(m.text()?),
                Member::State => out.task.state = scalar(m.value()?),
                Member::Timestamp => out.task.timestamp = scalar(m.value()?).map(|t: Timestamp| t.0),
                Member::ParentId => out.task.parent_id = text_of(m.text()?),
                Member::RootId => out.task.root_id = text_of(m.text()?),
                Member::GroupId => out.task.group_id = text_of(m.text()?),
                Member::ChordId => out.task.chord_id = text_of(m.text()?),
                Member::Args => out.task.payload[0] = Some(m.raw()?),
                Member::Kwargs => out.task.payload[1] = Some(m.raw()?),
                Member::Result => out.task.payload[2] = Some(m.raw()?),
                Member::Exception => out.task.payload[3] = Some(m.raw()?),
                Member::ChordCallbackId => out.task.chord_callback_id = text_of(m.text()?),
                Member::ChordBodyFirstId => out.task.chord_body_first_id = text_of(m.text()?),
                Member::TraceId => out.task.trace_id = text_of(m.text()?),
                Member::Retries => out.task.retries = scalar(m.value()?).unwrap_or(0),
                Member::ExceptionType => out.task.exception_type = text_of(m.text()?),
                Member::Hostname => out.task.hostname = text_of(m.text()?),
                Member::Queue => out.task.queue = text_of(m.text()?),
                Member::RoutingKey => out.task.routing_key = text_of(m.text()?),
                Member::Eta => out.task.eta = scalar(m.value()?).map(|t: Timestamp| t.0),
                Member::Pid => out.worker.pid = scalar(m.value()?),
                // Compound members come only on worker events (rare): read again by serde.
                Member::RegisteredTasks => {
                    let names: Option<Vec<Loose<Cow<'a, str>>>> = serde_json::from_str(m.raw()?).ok();
                    out.worker.registered_tasks = names.unwrap_or_default().into_iter().filter_map(|t| t.0).collect();
                }
                Member::TaskDefinitions => {
                    out.worker.task_definitions = serde_json::from_str::<Definitions>(m.raw()?).map(|d| d.0).unwrap_or_default();
                }
                Member::HeartbeatInterval => out.worker.heartbeat_interval = scalar(m.value()?).map(|s: Seconds| s.0),
                Member::Transport => out.worker.transport = serde_json::from_str::<Counters>(m.raw()?).ok().map(|c| c.0),
                Member::Traceback | Member::Output | Member::ShutdownTime => m.skip()?,
            }
        }
        if learned {
            FOLLOWS.set(follows);
        }
        Ok(out)
    }
}

/// A scalar from a member's value; a value of the wrong kind reads as `None`.
fn scalar<'a, T: Scalar<'a>>(value: Value<'a>) -> Option<T> {
    match value {
        Value::Str(Cow::Borrowed(s)) => T::from_borrowed(s),
        Value::Str(Cow::Owned(s)) => T::from_str(&s),
        Value::U64(v) => T::from_u64(v),
        Value::I64(v) => T::from_i64(v),
        Value::F64(v) => T::from_f64(v),
        Value::Bool(b) => T::from_bool(b),
        Value::Null | Value::Container => None,
    }
}

/// A text member: an empty string reads as absent.
fn text_of(text: Option<Cow<'_, str>>) -> Option<Cow<'_, str>> {
    text.filter(|s| !s.is_empty())
}

/// A scalar read by serde (inside worker events' compound members): whatever JSON value is there
/// is consumed, and one of the wrong shape reads as `None`; strings without escapes are borrowed.
struct Loose<T>(Option<T>);

/// How a scalar is made from each kind of JSON value; the defaults refuse.
trait Scalar<'de>: Sized {
    fn from_borrowed(s: &'de str) -> Option<Self> {
        Self::from_str(s)
    }
    fn from_str(_: &str) -> Option<Self> {
        None
    }
    fn from_f64(_: f64) -> Option<Self> {
        None
    }
    fn from_u64(v: u64) -> Option<Self> {
        Self::from_f64(v as f64)
    }
    fn from_i64(v: i64) -> Option<Self> {
        Self::from_f64(v as f64)
    }
    fn from_bool(_: bool) -> Option<Self> {
        None
    }
}

impl Scalar<'_> for bool {
    fn from_bool(b: bool) -> Option<Self> {
        Some(b)
    }
}

impl<'de: 'a, 'a> Scalar<'de> for Cow<'a, str> {
    fn from_borrowed(s: &'de str) -> Option<Self> {
        Some(Cow::Borrowed(s))
    }
    fn from_str(s: &str) -> Option<Self> {
        Some(Cow::Owned(s.to_owned()))
    }
}

impl Scalar<'_> for State {
    fn from_str(s: &str) -> Option<Self> {
        State::parse(s)
    }
}

impl Scalar<'_> for u64 {
    fn from_u64(v: u64) -> Option<Self> {
        Some(v)
    }
}

impl Scalar<'_> for u32 {
    fn from_u64(v: u64) -> Option<Self> {
        u32::try_from(v).ok()
    }
    fn from_i64(v: i64) -> Option<Self> {
        u32::try_from(v).ok()
    }
}

/// A positive number of seconds, as microseconds.
struct Seconds(Micros);

impl Scalar<'_> for Seconds {
    fn from_f64(v: f64) -> Option<Self> {
        #[allow(clippy::cast_possible_truncation)] // bounded just before
        (v > 0.0 && v < 1e9).then_some(Seconds((v * 1e6) as Micros))
    }
}

/// An ISO-8601 string (naive = UTC) or epoch seconds.
struct Timestamp(Micros);

impl Scalar<'_> for Timestamp {
    fn from_str(s: &str) -> Option<Self> {
        time::parse_iso(s).map(Timestamp)
    }
    fn from_f64(v: f64) -> Option<Self> {
        time::from_epoch_seconds(v).map(Timestamp)
    }
}

impl<'de, T: Scalar<'de>> Deserialize<'de> for Loose<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Scalar<'de>> Visitor<'de> for V<T> {
            type Value = Option<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Option<T>, E> {
                Ok(T::from_borrowed(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<T>, E> {
                Ok(T::from_str(v))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Option<T>, E> {
                Ok(T::from_str(&v))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Option<T>, E> {
                Ok(T::from_f64(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Option<T>, E> {
                Ok(T::from_u64(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Option<T>, E> {
                Ok(T::from_i64(v))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Option<T>, E> {
                Ok(T::from_bool(v))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Option<T>, E> {
                Ok(None)
            }
            fn visit_seq<S: de::SeqAccess<'de>>(self, mut seq: S) -> Result<Option<T>, S::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(None)
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Option<T>, M::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(None)
            }
        }
        d.deserialize_any(V(std::marker::PhantomData)).map(Loose)
    }
}

/// `T` if a compound value has T's shape, else `None` (the value is still consumed). Only worker
/// events (rare) carry compound members, so buffering the value and reading it again is fine here.
struct Lenient<T>(Option<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = <&serde_json::value::RawValue>::deserialize(d)?;
        Ok(Lenient(serde_json::from_str(value.get()).ok()))
    }
}

/// `task_definitions`: an object of name → definition (a list of definitions is read too).
#[derive(Default)]
struct Definitions<'a>(Vec<TaskDefinition<'a>>);

impl<'de: 'a, 'a> Deserialize<'de> for Definitions<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Def<'a> {
            #[serde(borrow, default)]
            name: Loose<Cow<'a, str>>,
            #[serde(borrow, default)]
            module: Loose<Cow<'a, str>>,
            #[serde(borrow, default)]
            signature: Loose<Cow<'a, str>>,
            #[serde(borrow, default)]
            docstring: Loose<Cow<'a, str>>,
            #[serde(default)]
            bound: Loose<bool>,
        }
        impl<'a> Def<'a> {
            fn into_definition(self, key: Option<Cow<'a, str>>) -> Option<TaskDefinition<'a>> {
                let name = self.name.0.or(key)?;
                Some(TaskDefinition {
                    name,
                    module: self.module.0,
                    signature: self.signature.0,
                    docstring: self.docstring.0,
                    bound: self.bound.0.unwrap_or(false),
                })
            }
        }
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Definitions<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("task definitions")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let mut out = Vec::new();
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    if let Some(def) = map.next_value::<Lenient<Def<'de>>>()?.0 {
                        out.extend(def.into_definition(Some(key)));
                    }
                }
                Ok(Definitions(out))
            }
            fn visit_seq<S: de::SeqAccess<'de>>(self, mut seq: S) -> Result<Self::Value, S::Error> {
                let mut out = Vec::new();
                while let Some(def) = seq.next_element::<Lenient<Def<'de>>>()? {
                    out.extend(def.0.and_then(|d| d.into_definition(None)));
                }
                Ok(Definitions(out))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// `transport`: an object (not an array, which serde's derive would also accept) whose counters
/// are non-negative integers; a counter of another type reads as 0.
struct Counters(TransportCounters);

impl<'de> Deserialize<'de> for Counters {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Counters;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object of counters")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Counters, M::Error> {
                let mut c = TransportCounters::default();
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    let slot = match key.as_ref() {
                        "sent" => &mut c.sent,
                        "dropped" => &mut c.dropped,
                        "errors" => &mut c.errors,
                        "buffered" => &mut c.buffered,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                            continue;
                        }
                    };
                    *slot = map.next_value::<Loose<u64>>()?.0.unwrap_or(0);
                }
                Ok(Counters(c))
            }
        }
        d.deserialize_map(V)
    }
}

impl<T> Default for Loose<T> {
    fn default() -> Self {
        Loose(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(raw: &str) -> TaskEvent<'_> {
        match decode(raw.as_bytes()) {
            Ok(Decoded::Task(t)) => t,
            other => panic!("expected a task event, got {other:?}"),
        }
    }

    #[test]
    fn decodes_a_task_event_and_ignores_unknown_fields() {
        let t = task(
            r#"{"task_id":"a","name":"x.add","state":"SUCCESS","timestamp":"2025-01-01T00:00:00Z",
               "parent_id":"p","root_id":"r","group_id":null,"retries":2,"args":[1,{"deep":[2]}],
               "brand_new_field":{"x":1},"hostname":"celery@h"}"#,
        );
        assert_eq!(t.task_id, "a");
        assert_eq!(t.state, Some(State::Success));
        assert_eq!(t.parent_id.as_deref(), Some("p"));
        assert_eq!(t.group_id, None);
        assert_eq!(t.retries, 2);
        assert_eq!(t.hostname.as_deref(), Some("celery@h"));
    }

    #[test]
    fn wrong_types_read_as_absent() {
        let t = task(r#"{"task_id":"a","state":"started","timestamp":1700000000.5,"retries":"two","name":7,"queue":[]}"#);
        assert_eq!(t.retries, 0);
        assert_eq!(t.name, None);
        assert_eq!(t.queue, None);
        assert_eq!(t.state, Some(State::Started));
        assert_eq!(t.timestamp, Some(1_700_000_000_500_000));
    }

    #[test]
    fn naive_timestamps_are_utc() {
        let a = task(r#"{"task_id":"a","state":"PENDING","timestamp":"2025-01-01T00:00:00.5"}"#);
        let b = task(r#"{"task_id":"a","state":"PENDING","timestamp":"2025-01-01T00:00:00.500000+00:00"}"#);
        assert_eq!(a.timestamp, b.timestamp);
    }

    #[test]
    fn escaped_strings_are_owned() {
        let t = task(r#"{"task_id":"a\u00e9","state":"PENDING","timestamp":"2025-01-01T00:00:00Z"}"#);
        assert_eq!(t.task_id, "aé");
    }

    #[test]
    fn skips_with_reasons() {
        assert_eq!(decode(b"not json"), Err(SkipReason::Malformed));
        assert_eq!(decode(b"[1,2]"), Err(SkipReason::Malformed));
        assert_eq!(decode(b"\xff\xfe"), Err(SkipReason::Malformed));
        assert_eq!(decode(br#"{"x":1}"#), Err(SkipReason::NoTaskId));
        assert_eq!(decode(br#"{"task_id":"a","state":"WAT","timestamp":"2025-01-01"}"#), Err(SkipReason::UnknownState));
        assert_eq!(decode(br#"{"task_id":"a","state":"PENDING"}"#), Err(SkipReason::NoTimestamp));
    }

    #[test]
    fn decodes_worker_events_with_definitions() {
        let raw = br#"{"event_type":"worker_ready","hostname":"celery@w1","pid":42,"timestamp":"2025-01-01T00:00:00Z",
            "registered_tasks":["a.b", 3],"task_definitions":{"a.b":{"module":"a","signature":"(x)","bound":true}}}"#;
        let Ok(Decoded::Worker(w)) = decode(raw) else { panic!() };
        assert_eq!(w.event_type, "worker_ready");
        assert_eq!(w.pid, Some(42));
        assert_eq!(w.registered_tasks, vec!["a.b"]);
        assert_eq!(w.task_definitions[0].name, "a.b");
        assert!(w.task_definitions[0].bound);
    }

    #[test]
    fn invalid_utf8_anywhere_is_malformed() {
        // Found by the `ingest` fuzz target: a stray byte in a traceback made every answer invalid JSON.
        let raw = b"{\"task_id\":\"a\",\"state\":\"SUCCESS\",\"timestamp\":1,\"traceback\":\"\xea\"}";
        assert_eq!(decode(raw), Err(SkipReason::Malformed));
    }

    #[test]
    fn guessed_keys_are_still_checked() {
        let entry = r#"{"task_id":"a","name":"x.add","state":"SUCCESS","timestamp":1,"retries":3}"#;
        let want = task(entry);
        // Once learned, each key is guessed: a byte changed before or inside one is still refused,
        // and the same entry written another way reads the same.
        for at in (0..entry.len()).filter(|&i| b",\":".contains(&entry.as_bytes()[i])) {
            for byte in [b' ', b'x', b'}', b':', b','] {
                let mut raw = entry.as_bytes().to_vec();
                raw[at] = byte;
                if serde_json::from_slice::<serde_json::Value>(&raw).is_err() {
                    task(entry);
                    assert_eq!(decode(&raw), Err(SkipReason::Malformed), "{}", String::from_utf8_lossy(&raw));
                }
            }
        }
        task(entry);
        assert_eq!(task(&entry.replace(',', " ,\n ").replace(':', " : ")), want);
        assert_eq!(task(&entry.replace("\"name\"", "\"na\\u006de\"")), want);
        assert_eq!(task(entry), want);
    }

    #[test]
    fn decodes_transport_counters_tolerantly() {
        let raw = br#"{"event_type":"worker_heartbeat","hostname":"w","timestamp":1,
            "transport":{"sent":10,"dropped":"many","errors":-1,"buffered":3,"extra":[1]}}"#;
        let Ok(Decoded::Worker(w)) = decode(raw) else { panic!() };
        assert_eq!(w.transport, Some(TransportCounters { sent: 10, dropped: 0, errors: 0, buffered: 3 }));
        assert_eq!(w.heartbeat_interval, None);
        let raw = br#"{"event_type":"worker_heartbeat","hostname":"w","heartbeat_interval":1.5}"#;
        let Ok(Decoded::Worker(w)) = decode(raw) else { panic!() };
        assert_eq!(w.heartbeat_interval, Some(1_500_000));
        for odd in ["-1", "0", "\"x\"", "1e300"] {
            let raw = format!(r#"{{"event_type":"worker_heartbeat","hostname":"w","heartbeat_interval":{odd}}}"#);
            let Ok(Decoded::Worker(w)) = decode(raw.as_bytes()) else { panic!("{odd}") };
            assert_eq!(w.heartbeat_interval, None, "{odd}");
        }
        for odd in [r#""transport":[1,2]"#, r#""transport":"x""#, r#""transport":null"#] {
            let raw = format!(r#"{{"event_type":"worker_heartbeat","hostname":"w",{odd}}}"#);
            let Ok(Decoded::Worker(w)) = decode(raw.as_bytes()) else { panic!("{odd}") };
            assert_eq!(w.transport, None, "{odd}");
        }
    }

    /// What serde_json reads in a task entry, member by member: the reference `decode` must match.
    fn reference(text: &str) -> Option<Result<Decoded<'static>, SkipReason>> {
        use serde_json::Value as J;
        let v: J = serde_json::from_str(text).ok()?;
        let J::Object(m) = v else { return Some(Err(SkipReason::Malformed)) };
        let owned = |k: &str| m.get(k).and_then(J::as_str).map(|s| Cow::<'static, str>::Owned(s.to_owned()));
        let text_of = |k: &str| owned(k).filter(|s| !s.is_empty());
        let time = |k: &str| match m.get(k) {
            Some(J::String(s)) => time::parse_iso(s),
            Some(J::Number(n)) => n.as_f64().and_then(time::from_epoch_seconds),
            _ => None,
        };
        let small = |k: &str| m.get(k).and_then(J::as_u64).and_then(|n| u32::try_from(n).ok());
        let Some(task_id) = text_of("task_id") else { return Some(Err(SkipReason::NoTaskId)) };
        let Some(state) = m.get("state").and_then(J::as_str).and_then(State::parse) else {
            return Some(Err(SkipReason::UnknownState));
        };
        let Some(timestamp) = time("timestamp") else { return Some(Err(SkipReason::NoTimestamp)) };
        Some(Ok(Decoded::Task(TaskEvent {
            task_id,
            name: text_of("name"),
            state: Some(state),
            timestamp: Some(timestamp),
            parent_id: text_of("parent_id"),
            root_id: text_of("root_id"),
            group_id: text_of("group_id"),
            chord_id: text_of("chord_id"),
            chord_callback_id: text_of("chord_callback_id"),
            chord_body_first_id: text_of("chord_body_first_id"),
            trace_id: text_of("trace_id"),
            retries: small("retries").unwrap_or(0),
            exception_type: text_of("exception_type"),
            hostname: text_of("hostname"),
            queue: text_of("queue"),
            routing_key: text_of("routing_key"),
            eta: time("eta"),
            payload: [None; 4], // compared apart: raw text, not values
        })))
    }

    fn json_value(depth: u32) -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just("null".to_owned()),
            Just("true".to_owned()),
            Just("false".to_owned()),
            any::<i64>().prop_map(|n| n.to_string()),
            any::<u64>().prop_map(|n| n.to_string()),
            (0u32..2_000_000_000, 0u32..1_000_000).prop_map(|(s, us)| format!("{s}.{us:06}")),
            Just("-0".to_owned()),
            Just("1e3".to_owned()),
            Just("2.5E-2".to_owned()),
            Just("18446744073709551616".to_owned()),
            "[a-z_\\-]{0,40}".prop_map(|s| format!("\"{s}\"")),
            // Any characters but those a string must escape: non-ASCII ones read without escapes.
            "[^\"\\\\\\x00-\\x1f]{0,12}".prop_map(|s| format!("\"{s}\"")),
            Just(r#""2025-01-01T00:00:00.5""#.to_owned()),
            Just(r#""2025-01-01T00:00:00Z""#.to_owned()),
            Just(r#""SUCCESS""#.to_owned()),
            Just(r#""started""#.to_owned()),
            Just(r#""a\"b\\c\/\b\f\n\r\t\u00e9\ud83d\ude00 é 😀""#.to_owned()),
        ];
        leaf.prop_recursive(depth, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(" , "))),
                proptest::collection::vec(("[a-z]{1,6}", inner), 0..4).prop_map(|v| {
                    format!("{{{}}}", v.iter().map(|(k, x)| format!("\"{k}\":{x}")).collect::<Vec<_>>().join(","))
                }),
            ]
        })
    }

    const KEYS: [&str; 24] = [
        "task_id", "name", "state", "timestamp", "parent_id", "root_id", "group_id", "chord_id", "args", "kwargs",
        "result", "exception", "chord_callback_id", "chord_body_first_id", "trace_id", "retries", "exception_type",
        "hostname", "queue", "routing_key", "eta", "traceback", "unknown", "task\\u005fid",
    ];

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]
        /// Generated entries, some then damaged: decoding accepts exactly what serde_json reads,
        /// refuses anything that is not JSON, and reads the same values.
        #[test]
        fn decodes_as_serde_json_reads(
            members in proptest::collection::vec((0usize..KEYS.len(), json_value(3)), 0..14),
            spaces in proptest::collection::vec(proptest::sample::select(vec!["", "", " ", "\n\t", "\r "]), 64),
            damage in proptest::collection::vec((0usize..10_000, proptest::sample::select(b"{}[]:,\"\\0-.e x\x01\xc3\xa9\xe2\x82\xff".to_vec()), 0u8..6), 0..3),
        ) {
            let sp = |i: usize| spaces[i % spaces.len()];
            let body: Vec<String> = members.iter().enumerate()
                .map(|(i, (k, v))| format!("{}\"{}\"{}:{}{}", sp(i), KEYS[*k], sp(i + 1), sp(i + 2), v))
                .collect();
            let mut raw = format!("{}{{{}}}{}", sp(40), body.join(","), sp(41)).into_bytes();
            for &(at, byte, how) in &damage {
                let mut at = at % (raw.len() + 1);
                if how >= 4 {
                    // Next to structure, where one byte more or less changes the grammar most.
                    at += raw[at..].iter().position(|b| b"{}[]:,\"0123456789".contains(b)).unwrap_or(0);
                }
                match how % 4 {
                    0 => raw.insert(at, byte),
                    1 if at < raw.len() => { raw.remove(at); }
                    2 => raw.truncate(at),
                    _ if at < raw.len() => raw[at] = byte,
                    _ => {}
                }
            }
            let got = decode(&raw);
            let text = std::str::from_utf8(&raw);
            let is_json = text.is_ok_and(|t| serde_json::from_str::<&serde_json::value::RawValue>(t).is_ok());
            if got != Err(SkipReason::Malformed) {
                proptest::prop_assert!(is_json, "accepted what is not JSON: {:?}", text);
            }
            if let Some(want) = text.ok().and_then(reference) {
                if let (Ok(Decoded::Task(g)), Ok(Decoded::Task(w))) = (&got, &want) {
                    proptest::prop_assert_eq!(&TaskEvent { payload: [None; 4], ..g.clone() }, w);
                    let v: serde_json::Value = serde_json::from_slice(&raw).unwrap();
                    for (i, key) in ["args", "kwargs", "result", "exception"].into_iter().enumerate() {
                        let read = g.payload[i].map(|p| serde_json::from_str::<serde_json::Value>(p).unwrap());
                        proptest::prop_assert_eq!(read.as_ref(), v.get(key), "{}", key);
                    }
                } else {
                    proptest::prop_assert_eq!(got, want);
                }
            }
        }
    }
}
