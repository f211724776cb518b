//! A task's events as kept: what orders each one, and the raw JSON of all of them in one
//! allocation. One allocation per task instead of one per event, and an end offset in place of a
//! slice pointer, saved ~60 bytes per task at a million tasks (bench/RESULTS-engine.md).

use crate::state::{Rank, State};
use crate::time::Micros;

/// What orders one event; its bytes end at `end` in the log's buffer and start where the
/// previous event's end.
struct Entry {
    timestamp: Micros,
    end: usize,
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

#[derive(Default)]
pub struct EventLog {
    entries: Vec<Entry>,
    bytes: Box<[u8]>,
}

impl EventLog {
    pub fn push(&mut self, state: State, retries: u32, timestamp: Micros, raw: &[u8]) {
        let end = self.bytes.len() + raw.len();
        // Grown to the exact size: a task's events arrive a few at a time, so spare capacity would
        // be kept for the task's whole life; the allocator grows the block in place when it can.
        let mut bytes = std::mem::take(&mut self.bytes).into_vec();
        bytes.reserve_exact(raw.len());
        bytes.extend_from_slice(raw);
        self.bytes = bytes.into_boxed_slice();
        self.entries.push(Entry { timestamp, end, retries, state });
    }

    /// The events in the order they arrived.
    pub fn iter(&self) -> impl Iterator<Item = StoredEvent<'_>> {
        let starts = std::iter::once(0).chain(self.entries.iter().map(|e| e.end));
        self.entries.iter().zip(starts).map(|(e, start)| StoredEvent {
            state: e.state,
            retries: e.retries,
            timestamp: e.timestamp,
            raw: &self.bytes[start..e.end],
        })
    }

    /// Whether an event of this state, attempt and time is kept already (a duplicate delivery).
    pub fn contains(&self, state: State, retries: u32, timestamp: Micros) -> bool {
        self.entries.iter().any(|e| e.state == state && e.retries == retries && e.timestamp == timestamp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_read_back_with_their_own_bytes_in_arrival_order() {
        let mut log = EventLog::default();
        log.push(State::Started, 0, 2, b"{\"b\":2}");
        log.push(State::Pending, 0, 1, b"");
        log.push(State::Success, 1, 3, b"{\"c\":[3]}");
        let read: Vec<(State, u32, Micros, &[u8])> = log.iter().map(|e| (e.state, e.retries, e.timestamp, e.raw)).collect();
        assert_eq!(
            read,
            vec![
                (State::Started, 0, 2, &b"{\"b\":2}"[..]),
                (State::Pending, 0, 1, &b""[..]),
                (State::Success, 1, 3, &b"{\"c\":[3]}"[..]),
            ]
        );
        assert!(log.contains(State::Success, 1, 3));
        assert!(!log.contains(State::Success, 0, 3));
        assert_eq!(log.iter().count(), 3);
    }
}
