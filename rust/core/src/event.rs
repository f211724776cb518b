//! Decoding wire events (DESIGN §3), tolerant of what real producers write.
//!
//! Only the fields the engine indexes are parsed, borrowing from the input; the whole entry is
//! kept as the raw bytes that arrived so detail views return it untouched. Unknown fields are
//! ignored, missing ones are `None`, a field of the wrong type reads as absent rather than
//! failing the event, and naive timestamps are UTC.

use std::borrow::Cow;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;

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
    pub chord_callback_id: Option<Cow<'a, str>>,
    pub chord_body_first_id: Option<Cow<'a, str>>,
    pub trace_id: Option<Cow<'a, str>>,
    pub retries: u32,
    pub exception_type: Option<Cow<'a, str>>,
    pub hostname: Option<Cow<'a, str>>,
    pub queue: Option<Cow<'a, str>>,
    pub routing_key: Option<Cow<'a, str>>,
    pub eta: Option<Micros>,
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
    let fields: Fields<'_> = serde_json::from_slice(raw).map_err(|_| SkipReason::Malformed)?;
    if let Some(event_type) = fields.event_type {
        return Ok(Decoded::Worker(WorkerEvent {
            event_type,
            hostname: fields.hostname,
            pid: fields.pid,
            timestamp: fields.timestamp,
            registered_tasks: fields.registered_tasks,
            task_definitions: fields.task_definitions,
        }));
    }
    let task_id = fields.task_id.filter(|id| !id.is_empty()).ok_or(SkipReason::NoTaskId)?;
    let state = fields.state.ok_or(SkipReason::UnknownState)?;
    let timestamp = fields.timestamp.ok_or(SkipReason::NoTimestamp)?;
    Ok(Decoded::Task(TaskEvent {
        task_id,
        name: fields.name,
        state: Some(state),
        timestamp: Some(timestamp),
        parent_id: fields.parent_id,
        root_id: fields.root_id,
        group_id: fields.group_id,
        chord_callback_id: fields.chord_callback_id,
        chord_body_first_id: fields.chord_body_first_id,
        trace_id: fields.trace_id,
        retries: fields.retries.unwrap_or(0),
        exception_type: fields.exception_type,
        hostname: fields.hostname,
        queue: fields.queue,
        routing_key: fields.routing_key,
        eta: fields.eta,
    }))
}

/// Every field we read, each tolerant of a wrong type.
#[derive(Default)]
struct Fields<'a> {
    event_type: Option<Cow<'a, str>>,
    task_id: Option<Cow<'a, str>>,
    name: Option<Cow<'a, str>>,
    state: Option<State>,
    timestamp: Option<Micros>,
    parent_id: Option<Cow<'a, str>>,
    root_id: Option<Cow<'a, str>>,
    group_id: Option<Cow<'a, str>>,
    chord_callback_id: Option<Cow<'a, str>>,
    chord_body_first_id: Option<Cow<'a, str>>,
    trace_id: Option<Cow<'a, str>>,
    retries: Option<u32>,
    exception_type: Option<Cow<'a, str>>,
    hostname: Option<Cow<'a, str>>,
    queue: Option<Cow<'a, str>>,
    routing_key: Option<Cow<'a, str>>,
    eta: Option<Micros>,
    pid: Option<u32>,
    registered_tasks: Vec<Cow<'a, str>>,
    task_definitions: Vec<TaskDefinition<'a>>,
}

impl<'de: 'a, 'a> Deserialize<'de> for Fields<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Fields<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Fields<'a>, M::Error> {
                let mut out = Fields::default();
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    match key.as_ref() {
                        "event_type" => out.event_type = map.next_value::<Lenient<Text>>()?.0.map(|t| t.0),
                        "task_id" => out.task_id = text(&mut map)?,
                        "name" => out.name = text(&mut map)?,
                        "state" => out.state = text(&mut map)?.and_then(|s| State::parse(&s)),
                        "timestamp" => out.timestamp = map.next_value::<Lenient<Timestamp>>()?.0.map(|t| t.0),
                        "parent_id" => out.parent_id = text(&mut map)?,
                        "root_id" => out.root_id = text(&mut map)?,
                        "group_id" => out.group_id = text(&mut map)?,
                        "chord_callback_id" => out.chord_callback_id = text(&mut map)?,
                        "chord_body_first_id" => out.chord_body_first_id = text(&mut map)?,
                        "trace_id" => out.trace_id = text(&mut map)?,
                        "retries" => out.retries = map.next_value::<Lenient<u32>>()?.0,
                        "exception_type" => out.exception_type = text(&mut map)?,
                        "hostname" => out.hostname = text(&mut map)?,
                        "queue" => out.queue = text(&mut map)?,
                        "routing_key" => out.routing_key = text(&mut map)?,
                        "eta" => out.eta = map.next_value::<Lenient<Timestamp>>()?.0.map(|t| t.0),
                        "pid" => out.pid = map.next_value::<Lenient<u32>>()?.0,
                        "registered_tasks" => {
                            out.registered_tasks = map
                                .next_value::<Lenient<Vec<Lenient<Text>>>>()?
                                .0
                                .unwrap_or_default()
                                .into_iter()
                                .filter_map(|t| t.0.map(|t| t.0))
                                .collect();
                        }
                        "task_definitions" => {
                            out.task_definitions = map.next_value::<Lenient<Definitions>>()?.0.unwrap_or_default().0;
                        }
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(out)
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

fn text<'de, M: MapAccess<'de>>(map: &mut M) -> Result<Option<Cow<'de, str>>, M::Error> {
    Ok(map.next_value::<Lenient<Text>>()?.0.map(|t| t.0).filter(|s| !s.is_empty()))
}

/// `T` if the value has T's shape, else `None` (the value is still consumed).
struct Lenient<T>(Option<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Buffer through serde_json's borrowed value only when the type does not match: the
        // common case (the right type) deserialises directly.
        let value = <&serde_json::value::RawValue>::deserialize(d)?;
        Ok(Lenient(serde_json::from_str(value.get()).ok()))
    }
}

/// A JSON string, borrowed when it has no escapes.
struct Text<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Cow<'de, str>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Cow::Borrowed(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Cow::Owned(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Cow::Owned(v))
            }
        }
        d.deserialize_str(V).map(Text)
    }
}

/// An ISO-8601 string (naive = UTC) or epoch seconds.
struct Timestamp(Micros);

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Micros;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an ISO-8601 timestamp or epoch seconds")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Micros, E> {
                time::parse_iso(v).ok_or_else(|| E::custom("bad timestamp"))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Micros, E> {
                time::from_epoch_seconds(v).ok_or_else(|| E::custom("bad timestamp"))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Micros, E> {
                self.visit_f64(v as f64)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Micros, E> {
                self.visit_f64(v as f64)
            }
        }
        d.deserialize_any(V).map(Timestamp)
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
            name: Lenient<Text<'a>>,
            #[serde(borrow, default)]
            module: Lenient<Text<'a>>,
            #[serde(borrow, default)]
            signature: Lenient<Text<'a>>,
            #[serde(borrow, default)]
            docstring: Lenient<Text<'a>>,
            #[serde(default)]
            bound: Lenient<bool>,
        }
        impl<'a> Def<'a> {
            fn into_definition(self, key: Option<Cow<'a, str>>) -> Option<TaskDefinition<'a>> {
                let name = self.name.0.map(|t| t.0).or(key)?;
                Some(TaskDefinition {
                    name,
                    module: self.module.0.map(|t| t.0),
                    signature: self.signature.0.map(|t| t.0),
                    docstring: self.docstring.0.map(|t| t.0),
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

impl<T> Default for Lenient<T> {
    fn default() -> Self {
        Lenient(None)
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
}
