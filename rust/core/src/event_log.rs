//! A task's events as kept: what orders each one, and the bytes of all of them in one allocation.
//! One allocation per task instead of one per event, and offsets in place of a slice pointer, saved
//! ~60 bytes per task at a million tasks (bench/RESULTS-engine.md).
//!
//! The first event is kept whole; a later one as operations that rebuild it from the first
//! ([`crate::delta`]) when those are shorter, which they nearly always are.
//!
//! A task new in a batch takes the block the decoding thread laid out for its events in that batch
//! ([`crate::engine::Prepared`]) instead of copying them in: the first touch of that memory (the
//! kernel zeroing fresh pages, much of the applying thread's time while a restart catches up) is
//! then paid beside Redis and the decoder, not on the one thread every event goes through.

use std::borrow::Cow;
use std::cell::RefCell;

use crate::delta;
use crate::event::TaskEvent;
use crate::state::{Rank, State};
use crate::time::Micros;

/// What orders one event, and where its bytes are in the log's buffer.
struct Entry {
    timestamp: Micros,
    start: u32,
    end: u32,
    retries: u32,
    state: State,
    /// Kept as operations on the log's buffer rather than whole.
    delta: bool,
}

/// Where an event's bytes are in a buffer, whole or as [`crate::delta`] operations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Span {
    pub start: u32,
    pub end: u32,
    pub delta: bool,
}

impl Span {
    /// The span of `len` bytes at `start`; `None` beyond 4 GB (offsets are 32-bit, and no producer
    /// sends a task that much).
    pub fn at(start: usize, len: usize, delta: bool) -> Option<Span> {
        Some(Span { start: u32::try_from(start).ok()?, end: u32::try_from(start.checked_add(len)?).ok()?, delta })
    }

    fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// One kept event, borrowed from its task's log.
#[derive(Clone, Copy)]
pub struct StoredEvent<'a> {
    pub state: State,
    pub retries: u32,
    pub timestamp: Micros,
    buffer: &'a [u8],
    span: Span,
}

impl<'a> StoredEvent<'a> {
    pub fn rank(&self) -> Rank {
        Rank::new(self.state, self.retries, self.timestamp)
    }

    /// The entry's JSON exactly as it arrived.
    pub fn raw(&self) -> Cow<'a, [u8]> {
        if !self.span.delta {
            return Cow::Borrowed(&self.buffer[self.span.range()]);
        }
        let mut out = Vec::new();
        self.write_raw(&mut out);
        Cow::Owned(out)
    }

    /// [`StoredEvent::raw`], appended to `out`.
    pub fn write_raw(&self, out: &mut Vec<u8>) {
        let kept = &self.buffer[self.span.range()];
        if self.span.delta {
            delta::decode(self.buffer, kept, out);
        } else {
            out.extend_from_slice(kept);
        }
    }
}

/// Which of a task's events one is: a log keeps one event per state, attempt and time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventId {
    pub state: State,
    pub retries: u32,
    pub timestamp: Micros,
}

impl EventId {
    /// A decoded task event's identity; `None` for one without a state or a time (not kept).
    pub fn of(ev: &TaskEvent<'_>) -> Option<EventId> {
        Some(EventId { state: ev.state?, retries: ev.retries, timestamp: ev.timestamp? })
    }
}

#[derive(Default)]
pub struct EventLog {
    entries: Vec<Entry>,
    bytes: Box<[u8]>,
}

/// Bytes laid out in advance for events of one task: the event is at `span` in `block`, which is
/// taken by the first log it is offered to while that log holds no bytes yet.
pub struct Laid<'a> {
    pub block: &'a mut Option<Box<[u8]>>,
    pub span: Span,
}

thread_local! {
    /// Operations being encoded, before they are known to be shorter than the event.
    static ENCODED: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Append `raw` to `bytes` (in which `base` is the task's first whole event, if it has one): as
/// operations when shorter, else whole. Returns where it went.
pub fn append(bytes: &mut Vec<u8>, base: Option<std::ops::Range<usize>>, raw: &[u8]) -> Option<Span> {
    fn put(bytes: &mut Vec<u8>, kept: &[u8], delta: bool) -> Option<Span> {
        let start = bytes.len();
        // Exactly: a task's block is sized to what it keeps (see `EventLog::copy_in`).
        bytes.reserve_exact(kept.len());
        bytes.extend_from_slice(kept);
        Span::at(start, kept.len(), delta)
    }
    let Some(base) = base else { return put(bytes, raw, false) };
    ENCODED.with_borrow_mut(|ops| {
        ops.clear();
        delta::encode(&bytes[base.clone()], base.start, raw, ops);
        if ops.len() < raw.len() {
            put(bytes, ops, true)
        } else {
            put(bytes, raw, false)
        }
    })
}

impl EventLog {
    /// Keep an event whose JSON is `raw`, in the block laid out for it when it is offered one.
    pub fn push(&mut self, EventId { state, retries, timestamp }: EventId, raw: &[u8], laid: Option<Laid<'_>>) {
        let laid = laid.and_then(|laid| self.laid_span(laid, raw));
        // Beyond 4 GB a task's events are not kept.
        let Some(Span { start, end, delta }) = laid.or_else(|| self.copy_in(raw)) else { return };
        self.entries.push(Entry { timestamp, start, end, retries, state, delta });
    }

    /// Append `raw` to this log's bytes, as operations on its first whole event when shorter.
    fn copy_in(&mut self, raw: &[u8]) -> Option<Span> {
        let base = self.entries.iter().find(|e| !e.delta).map(|e| e.start as usize..e.end as usize);
        // Grown to the exact size: a task's events arrive a few at a time, so spare capacity would be
        // kept for the task's whole life; the allocator grows the block in place when it can.
        let mut bytes = std::mem::take(&mut self.bytes).into_vec();
        let len = bytes.len();
        let span = append(&mut bytes, base, raw);
        if span.is_none() {
            bytes.truncate(len);
        }
        self.bytes = bytes.into_boxed_slice();
        span
    }

    /// Where the event is in the block laid out for it, taken first if this log holds no bytes yet.
    /// The block is this log's when the event is found there (a log that was not empty, or a task
    /// evicted and seen again within the batch, gets `None`: a copy).
    fn laid_span(&mut self, Laid { block, span }: Laid<'_>, raw: &[u8]) -> Option<Span> {
        if self.bytes.is_empty() {
            if let Some(taken) = block.take() {
                self.bytes = taken;
            }
        }
        let kept = self.bytes.get(span.range())?;
        let found = if span.delta { delta::rebuilds(&self.bytes, kept, raw) } else { kept == raw };
        found.then_some(span)
    }

    /// The events in the order they arrived.
    pub fn iter(&self) -> impl Iterator<Item = StoredEvent<'_>> {
        self.entries.iter().map(|e| StoredEvent {
            state: e.state,
            retries: e.retries,
            timestamp: e.timestamp,
            buffer: &self.bytes,
            span: Span { start: e.start, end: e.end, delta: e.delta },
        })
    }

    /// The kept event of this state, attempt and time, if there is one (a second is a duplicate).
    pub fn find(&self, id: EventId) -> Option<StoredEvent<'_>> {
        self.iter().find(|e| e.state == id.state && e.retries == id.retries && e.timestamp == id.timestamp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(state: State, retries: u32, timestamp: Micros) -> EventId {
        EventId { state, retries, timestamp }
    }

    fn read(log: &EventLog) -> Vec<Vec<u8>> {
        log.iter().map(|e| e.raw().into_owned()).collect()
    }

    const PENDING: &[u8] = br#"{"task_id":"a-long-task-id-0001","name":"app.tasks.add","state":"PENDING","args":[1,2]}"#;
    const STARTED: &[u8] = br#"{"task_id":"a-long-task-id-0001","name":"app.tasks.add","state":"STARTED","args":[1,2]}"#;
    const SUCCESS: &[u8] = br#"{"task_id":"a-long-task-id-0001","name":"app.tasks.add","state":"SUCCESS","result":3}"#;

    #[test]
    fn events_read_back_exactly_in_arrival_order_the_later_ones_as_operations() {
        let mut log = EventLog::default();
        log.push(id(State::Started, 0, 2), STARTED, None);
        log.push(id(State::Pending, 0, 1), b"", None);
        log.push(id(State::Pending, 0, 5), PENDING, None);
        log.push(id(State::Success, 1, 3), SUCCESS, None);
        assert_eq!(read(&log), [STARTED, b"", PENDING, SUCCESS]);
        let read: Vec<(State, u32, Micros, bool)> = log.entries.iter().map(|e| (e.state, e.retries, e.timestamp, e.delta)).collect();
        assert_eq!(
            read,
            [(State::Started, 0, 2, false), (State::Pending, 0, 1, false), (State::Pending, 0, 5, true), (State::Success, 1, 3, true)],
            "the empty event is kept whole: its operations would not be shorter"
        );
        assert!(log.bytes.len() < STARTED.len() + PENDING.len() / 2 + SUCCESS.len() / 2, "{} bytes kept", log.bytes.len());
        let found = log.find(id(State::Success, 1, 3));
        assert_eq!(found.map(|e| e.raw().into_owned()), Some(SUCCESS.to_vec()));
        let mut written = b"[".to_vec();
        found.unwrap().write_raw(&mut written);
        assert_eq!(written, [&b"["[..], SUCCESS].concat());
        assert!(log.find(id(State::Success, 0, 3)).is_none());
    }

    /// A block as the decoding thread lays it out: the first event whole, the others as operations.
    fn block(events: &[&[u8]]) -> (Option<Box<[u8]>>, Vec<Span>) {
        let mut bytes = Vec::new();
        let mut base = None;
        let spans = events
            .iter()
            .map(|raw| {
                let span = append(&mut bytes, base.clone(), raw).unwrap();
                base.get_or_insert(span.range());
                span
            })
            .collect();
        (Some(bytes.into_boxed_slice()), spans)
    }

    #[test]
    fn an_empty_log_takes_the_block_laid_out_for_it_and_others_copy() {
        let (mut laid, spans) = block(&[PENDING, STARTED]);
        assert!(spans[1].delta);
        let size = laid.as_ref().unwrap().len();
        let mut log = EventLog::default();
        log.push(id(State::Pending, 0, 1), PENDING, Some(Laid { block: &mut laid, span: spans[0] }));
        assert!(laid.is_none(), "taken");
        log.push(id(State::Started, 0, 2), STARTED, Some(Laid { block: &mut laid, span: spans[1] }));
        assert_eq!(read(&log), [PENDING, STARTED]);
        assert_eq!(log.bytes.len(), size, "no copy");

        // A log holding bytes already copies, and leaves the block for the events after it.
        let (mut other, spans) = block(&[SUCCESS]);
        log.push(id(State::Success, 0, 3), SUCCESS, Some(Laid { block: &mut other, span: spans[0] }));
        assert!(other.is_some());
        assert_eq!(read(&log), [PENDING, STARTED, SUCCESS]);

        // A block taken by another log (a task evicted and seen again in the batch): a copy.
        let (_, spans) = block(&[PENDING, STARTED]);
        let mut fresh = EventLog::default();
        fresh.push(id(State::Started, 0, 2), STARTED, Some(Laid { block: &mut None, span: spans[1] }));
        assert_eq!(read(&fresh), [STARTED]);
        assert!(!fresh.entries[0].delta);
    }

    #[test]
    fn a_laid_event_not_found_in_the_taken_block_is_copied() {
        // The block is another task's: its operations would rebuild its own event, not this one.
        let (mut laid, spans) = block(&[PENDING, STARTED]);
        let mut log = EventLog::default();
        log.push(id(State::Pending, 0, 1), PENDING, Some(Laid { block: &mut laid, span: spans[0] }));
        let other = br#"{"task_id":"a-long-task-id-0002","name":"app.tasks.add","state":"STARTED","args":[1,2]}"#;
        log.push(id(State::Started, 0, 2), other, Some(Laid { block: &mut laid, span: spans[1] }));
        assert_eq!(read(&log), [PENDING, &other[..]]);
    }
}
