//! A task's events as kept: what orders each one, and the raw JSON of all of them in one
//! allocation. One allocation per task instead of one per event, and offsets in place of a slice
//! pointer, saved ~60 bytes per task at a million tasks (bench/RESULTS-engine.md).
//!
//! A task new in a batch takes the block the decoding thread laid out for its events in that batch
//! ([`crate::engine::Prepared`]) instead of copying them in: the first touch of that memory (the
//! kernel zeroing fresh pages, much of the applying thread's time while a restart catches up) is
//! then paid beside Redis and the decoder, not on the one thread every event goes through.

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
}

/// One kept event, borrowed from its task's log.
#[derive(Clone, Copy)]
pub struct StoredEvent<'a> {
    pub state: State,
    pub retries: u32,
    pub timestamp: Micros,
    /// The entry's JSON exactly as it arrived.
    pub raw: &'a [u8],
}

impl StoredEvent<'_> {
    pub fn rank(&self) -> Rank {
        Rank::new(self.state, self.retries, self.timestamp)
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

/// Bytes laid out in advance for events of one task: `raw` is at `offset` in `block`, which is
/// taken by the first log it is offered to while that log holds no bytes yet.
pub struct Laid<'a> {
    pub block: &'a mut Option<Box<[u8]>>,
    pub offset: usize,
}

impl EventLog {
    /// Keep an event whose JSON is `raw`, in the block laid out for it when it is offered one.
    pub fn push(&mut self, EventId { state, retries, timestamp }: EventId, raw: &[u8], laid: Option<Laid<'_>>) {
        let laid_at = laid.and_then(|laid| self.laid_offset(laid, raw));
        let start = laid_at.unwrap_or(self.bytes.len());
        // Offsets are 32-bit: a task's events beyond 4 GB are not kept (no producer sends them).
        let (Ok(entry_start), Ok(end)) = (u32::try_from(start), u32::try_from(start + raw.len())) else { return };
        if laid_at.is_none() {
            // Grown to the exact size: a task's events arrive a few at a time, so spare capacity would
            // be kept for the task's whole life; the allocator grows the block in place when it can.
            let mut bytes = std::mem::take(&mut self.bytes).into_vec();
            bytes.reserve_exact(raw.len());
            bytes.extend_from_slice(raw);
            self.bytes = bytes.into_boxed_slice();
        }
        self.entries.push(Entry { timestamp, start: entry_start, end, retries, state });
    }

    /// Where `raw` is in the block laid out for it, taken first if this log holds no bytes yet. The
    /// block is this log's when the event is found there (a log that was not empty, or a task evicted
    /// and seen again within the batch, gets `None`: a copy).
    fn laid_offset(&mut self, Laid { block, offset }: Laid<'_>, raw: &[u8]) -> Option<usize> {
        if self.bytes.is_empty() {
            if let Some(taken) = block.take() {
                self.bytes = taken;
            }
        }
        (self.bytes.get(offset..offset + raw.len()) == Some(raw)).then_some(offset)
    }

    /// The events in the order they arrived.
    pub fn iter(&self) -> impl Iterator<Item = StoredEvent<'_>> {
        self.entries.iter().map(|e| StoredEvent {
            state: e.state,
            retries: e.retries,
            timestamp: e.timestamp,
            raw: &self.bytes[e.start as usize..e.end as usize],
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

    #[test]
    fn events_read_back_with_their_own_bytes_in_arrival_order() {
        let mut log = EventLog::default();
        log.push(EventId { state: State::Started, retries: 0, timestamp: 2 }, b"{\"b\":2}", None);
        log.push(EventId { state: State::Pending, retries: 0, timestamp: 1 }, b"", None);
        log.push(EventId { state: State::Success, retries: 1, timestamp: 3 }, b"{\"c\":[3]}", None);
        let read: Vec<(State, u32, Micros, &[u8])> = log.iter().map(|e| (e.state, e.retries, e.timestamp, e.raw)).collect();
        assert_eq!(
            read,
            vec![
                (State::Started, 0, 2, &b"{\"b\":2}"[..]),
                (State::Pending, 0, 1, &b""[..]),
                (State::Success, 1, 3, &b"{\"c\":[3]}"[..]),
            ]
        );
        let found = log.find(EventId { state: State::Success, retries: 1, timestamp: 3 });
        assert_eq!(found.map(|e| e.raw), Some(&b"{\"c\":[3]}"[..]));
        assert!(log.find(EventId { state: State::Success, retries: 0, timestamp: 3 }).is_none());
        assert_eq!(log.iter().count(), 3);
    }

    fn read(log: &EventLog) -> Vec<&[u8]> {
        log.iter().map(|e| e.raw).collect()
    }

    #[test]
    fn an_empty_log_takes_the_block_laid_out_for_it_and_others_copy() {
        let mut block = Some(b"{\"a\":1}{\"a\":2}".to_vec().into_boxed_slice());
        let mut log = EventLog::default();
        log.push(EventId { state: State::Pending, retries: 0, timestamp: 1 }, b"{\"a\":1}", Some(Laid { block: &mut block, offset: 0 }));
        assert!(block.is_none(), "taken");
        log.push(EventId { state: State::Started, retries: 0, timestamp: 2 }, b"{\"a\":2}", Some(Laid { block: &mut block, offset: 7 }));
        assert_eq!(read(&log), [&b"{\"a\":1}"[..], b"{\"a\":2}"]);
        assert_eq!(log.bytes.len(), 14, "no copy");

        // A log holding bytes already copies, and leaves the block for the events after it.
        let mut block = Some(b"{\"b\":3}".to_vec().into_boxed_slice());
        log.push(EventId { state: State::Success, retries: 0, timestamp: 3 }, b"{\"b\":3}", Some(Laid { block: &mut block, offset: 0 }));
        assert!(block.is_some());
        assert_eq!(read(&log), [&b"{\"a\":1}"[..], b"{\"a\":2}", b"{\"b\":3}"]);

        // A block taken by another log (a task evicted and seen again in the batch): a copy.
        let mut fresh = EventLog::default();
        let mut gone = None;
        fresh.push(EventId { state: State::Started, retries: 0, timestamp: 2 }, b"{\"a\":2}", Some(Laid { block: &mut gone, offset: 7 }));
        assert_eq!(read(&fresh), [&b"{\"a\":2}"[..]]);
    }
}
