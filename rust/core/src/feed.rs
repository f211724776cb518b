//! The change feed behind live updates: a bounded ring of recent task updates with sequence
//! numbers. Each WebSocket reads from its own position, so a slow client never holds memory for
//! the others; one that falls behind the ring is told to resync instead.
//!
//! The ring keeps each update's event as it arrived and writes the update a client reads only
//! when one reads it: most updates are never read (no UI open, or replaced in the ring before the
//! next read while the engine catches up on a stream), and writing each one as it was applied cost
//! a sixth of ingest.

use std::collections::{HashMap, VecDeque};

use crate::event::{decode, Decoded};
use crate::json::Obj;
use crate::store::TaskKey;

/// How many updates the ring keeps: ~2 s at 5,000 events/s plus slack for a paused client.
pub const CAPACITY: usize = 20_000;
/// And how many bytes of events at most, whatever their size.
pub const MAX_BYTES: usize = 64 << 20;

struct Change {
    seq: u64,
    key: TaskKey,
    /// Where its event's bytes begin, counted over every byte ever pushed, and how many there are.
    start: u64,
    len: usize,
}

/// An update rendered from its event: the wire event's shape with task_id, name, state, timestamp
/// and the link ids.
fn render(raw: &[u8]) -> Vec<u8> {
    let Ok(Decoded::Task(ev)) = decode(raw) else { return Vec::new() }; // decoded once already
    let mut json = Vec::with_capacity(256);
    Obj::new(&mut json)
        .str("task_id", &ev.task_id)
        .opt_str("name", ev.name.as_deref())
        .opt_str("state", ev.state.map(crate::state::State::as_str))
        .ts("timestamp", ev.timestamp.unwrap_or_default())
        .opt_str("parent_id", ev.parent_id.as_deref())
        .opt_str("root_id", ev.root_id.as_deref())
        .opt_str("group_id", ev.group_id.as_deref())
        .opt_str("hostname", ev.hostname.as_deref())
        .int("retries", i64::from(ev.retries))
        .finish();
    json
}

/// What a reader gets: the position to ask from next time, whether it missed updates, and the updates.
pub struct Changes {
    pub next: u64,
    pub gap: bool,
    pub items: Vec<Vec<u8>>,
}

/// The ring of changes, and their events' bytes in one ring of bytes beside it: an allocation
/// per change cost ~200 instructions per event applied (callgrind, bench/RESULTS-engine.md).
#[derive(Default)]
pub struct Feed {
    ring: VecDeque<Change>,
    next_seq: u64,
    events: VecDeque<u8>,
    /// Bytes ever pushed: the position, in that count, just past the newest event's bytes.
    pushed: u64,
}

impl Feed {
    /// Record an update: the task it is about and its event's bytes.
    pub fn push(&mut self, key: TaskKey, raw: &[u8]) {
        while self.ring.len() >= CAPACITY || (self.events.len() + raw.len() > MAX_BYTES && !self.ring.is_empty()) {
            let gone = self.ring.pop_front().expect("a change");
            self.events.drain(..gone.len);
        }
        self.next_seq += 1;
        self.events.extend(raw);
        self.ring.push_back(Change { seq: self.next_seq, key, start: self.pushed, len: raw.len() });
        self.pushed += raw.len() as u64;
    }

    fn render(&self, change: &Change) -> Vec<u8> {
        let from = usize::try_from(change.start - (self.pushed - self.events.len() as u64)).expect("held in memory");
        let raw: Vec<u8> = self.events.range(from..from + change.len).copied().collect();
        render(&raw)
    }

    /// The newest sequence number (0 before any update).
    pub fn head(&self) -> u64 {
        self.next_seq
    }

    /// Updates after `since` accepted by `keep`, at most `max` of them.
    ///
    /// Coalesced (`coalesce`: only the latest per task), more than `max` tasks changed is reported
    /// as a gap: the reader refetches rather than being handed a silently truncated set. Uncoalesced,
    /// the oldest `max` come back and `next` is the last one's sequence, so the reader drains the
    /// rest by asking again; nothing between `since` and the head is ever skipped unannounced.
    pub fn since(&self, since: u64, coalesce: bool, max: usize, keep: impl Fn(&TaskKey) -> bool) -> Changes {
        let oldest = self.ring.front().map_or(self.next_seq + 1, |c| c.seq);
        let gap = since + 1 < oldest && since < self.next_seq;
        let start = self.ring.partition_point(|c| c.seq <= since);
        let selected = self.ring.range(start..).filter(|c| keep(&c.key));
        if coalesce {
            let selected: Vec<&Change> = selected.collect();
            let mut latest: HashMap<&TaskKey, usize> = HashMap::new();
            for (i, c) in selected.iter().enumerate() {
                latest.insert(&c.key, i);
            }
            if latest.len() > max {
                return Changes { next: self.next_seq, gap: true, items: Vec::new() };
            }
            let mut picked: Vec<usize> = latest.into_values().collect();
            picked.sort_unstable();
            let items = picked.into_iter().map(|i| self.render(selected[i])).collect();
            return Changes { next: self.next_seq, gap, items };
        }
        let mut items = Vec::new();
        let mut next = self.next_seq;
        for c in selected {
            if items.len() == max {
                next = c.seq - 1;
                break;
            }
            items.push(self.render(c));
        }
        Changes { next, gap, items }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push(feed: &mut Feed, id: &str, state: &str) {
        let raw = format!(r#"{{"task_id":"{id}","state":"{state}","timestamp":"2025-01-01T00:00:00Z"}}"#);
        feed.push(TaskKey::new(id), raw.as_bytes());
    }

    #[test]
    fn coalesces_per_task_and_reports_gaps() {
        let mut feed = Feed::default();
        push(&mut feed, "a", "PENDING");
        push(&mut feed, "b", "PENDING");
        push(&mut feed, "a", "SUCCESS");
        let c = feed.since(0, true, 100, |_| true);
        assert_eq!((c.next, c.gap, c.items.len()), (3, false, 2));
        assert!(String::from_utf8_lossy(&c.items[1]).contains("SUCCESS"));
        assert_eq!(feed.since(0, false, 100, |_| true).items.len(), 3);
        assert!(feed.since(3, true, 100, |_| true).items.is_empty());
        for _ in 0..CAPACITY {
            push(&mut feed, "c", "STARTED");
        }
        assert!(feed.since(1, true, 100, |_| true).gap);
        assert!(!feed.since(feed.head(), true, 100, |_| true).gap);
    }

    #[test]
    fn holds_a_bounded_number_of_bytes_and_renders_updates_when_read() {
        let mut feed = Feed::default();
        let big = format!(r#"{{"task_id":"big","name":"n","state":"STARTED","timestamp":"2025-01-01T00:00:00Z","args":["{}"]}}"#, "x".repeat(MAX_BYTES / 4));
        for _ in 0..10 {
            feed.push(TaskKey::new("big"), big.as_bytes());
        }
        assert!(feed.events.len() <= MAX_BYTES && feed.ring.len() == 3, "{} bytes, {} changes", feed.events.len(), feed.ring.len());
        assert!(feed.since(0, false, 100, |_| true).gap);
        let c = feed.since(9, false, 100, |_| true);
        assert!(!c.gap);
        let update: serde_json::Value = serde_json::from_slice(&c.items[0]).unwrap();
        assert_eq!(update["task_id"], "big");
        assert_eq!(update["state"], "STARTED");
        assert_eq!(update["timestamp"], "2025-01-01T00:00:00.000000Z");
        assert!(update.get("args").is_none(), "the update is the event's summary, not the event");
    }

    #[test]
    fn never_truncates_silently() {
        let mut feed = Feed::default();
        for i in 0..5 {
            push(&mut feed, &format!("t{i}"), "PENDING");
        }
        // Uncoalesced: pages of two, oldest first, until the head.
        let mut seq = 0;
        let mut seen = Vec::new();
        loop {
            let c = feed.since(seq, false, 2, |_| true);
            assert!(!c.gap);
            if c.items.is_empty() {
                break;
            }
            seen.extend(c.items.iter().map(|i| String::from_utf8_lossy(i).into_owned()));
            seq = c.next;
        }
        assert_eq!(seen.len(), 5);
        assert!(seen[0].contains("\"t0\"") && seen[4].contains("\"t4\""));
        assert_eq!(seq, feed.head());
        // Coalesced: five tasks do not fit in four, so the reader is told to refetch.
        let c = feed.since(0, true, 4, |_| true);
        assert!(c.gap && c.items.is_empty() && c.next == feed.head());
    }
}
