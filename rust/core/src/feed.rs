//! The change feed behind live updates: a bounded ring of recent task updates with sequence
//! numbers. Each WebSocket reads from its own position, so a slow client never holds memory for
//! the others; one that falls behind the ring is told to resync instead.
//!
//! The ring keeps which event each update was (its task, state, attempt and time), and writes the
//! update a client reads from that event as the store keeps it, only when one reads it: most
//! updates are never read (no UI open, or replaced in the ring before the next read while the
//! engine catches up on a stream). Writing each update as it was applied cost a sixth of ingest;
//! copying each event into the ring, a tenth, and most of the applying thread's cache misses.
//! An update whose task was evicted since is left out: there is nothing left to show of it.

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};

use crate::event::{decode, Decoded};
use crate::event_log::EventId;
use crate::json::Obj;
use crate::state::State;
use crate::store::TaskKey;

/// How many updates the ring keeps: ~2 s at 5,000 events/s plus slack for a paused client.
pub const CAPACITY: usize = 20_000;

struct Change {
    seq: u64,
    key: TaskKey,
    event: EventId,
}

/// An update written from its event: the wire event's shape with task_id, name, state, timestamp
/// and the link ids.
fn render(raw: &[u8]) -> Vec<u8> {
    let Ok(Decoded::Task(ev)) = decode(raw) else { return Vec::new() }; // decoded once already
    let mut json = Vec::with_capacity(256);
    Obj::new(&mut json)
        .str("task_id", &ev.task_id)
        .opt_str("name", ev.name.as_deref())
        .opt_str("state", ev.state.map(State::as_str))
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

#[derive(Default)]
pub struct Feed {
    ring: VecDeque<Change>,
    next_seq: u64,
}

impl Feed {
    /// Record an update: the task it is about and which of its events it was.
    pub fn push(&mut self, key: TaskKey, event: EventId) {
        if self.ring.len() >= CAPACITY {
            self.ring.pop_front();
        }
        self.next_seq += 1;
        self.ring.push_back(Change { seq: self.next_seq, key, event });
    }

    /// The newest sequence number (0 before any update).
    pub fn head(&self) -> u64 {
        self.next_seq
    }

    /// Updates after `since` accepted by `keep`, at most `max` of them, written from the events
    /// `event_of` finds (the store's, as kept).
    ///
    /// Coalesced (`coalesce`: only the latest per task), more than `max` tasks changed is reported
    /// as a gap: the reader refetches rather than being handed a silently truncated set. Uncoalesced,
    /// the oldest `max` come back and `next` is the last one's sequence, so the reader drains the
    /// rest by asking again; nothing between `since` and the head is ever skipped unannounced.
    pub fn since<'s>(
        &self, since: u64, coalesce: bool, max: usize, keep: impl Fn(&TaskKey) -> bool,
        event_of: impl Fn(&TaskKey, EventId) -> Option<Cow<'s, [u8]>>,
    ) -> Changes {
        let render = |c: &Change| event_of(&c.key, c.event).map(|raw| render(&raw));
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
            let items = picked.into_iter().filter_map(|i| render(selected[i])).collect();
            return Changes { next: self.next_seq, gap, items };
        }
        let mut items = Vec::new();
        let mut next = self.next_seq;
        for c in selected {
            if items.len() == max {
                next = c.seq - 1;
                break;
            }
            items.extend(render(c));
        }
        Changes { next, gap, items }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_iso;

    /// A feed and the events its updates name, as a store would keep them.
    #[derive(Default)]
    struct Fixture {
        feed: Feed,
        kept: Vec<(TaskKey, EventId, String)>,
    }

    impl Fixture {
        fn push(&mut self, id: &str, state: &str, second: u32) {
            let raw = format!(r#"{{"task_id":"{id}","name":"n","state":"{state}","timestamp":"2025-01-01T00:00:{second:02}Z","args":[1]}}"#);
            let event = EventId { state: State::parse(state).unwrap(), retries: 0, timestamp: parse_iso(&raw[raw.find("2025").unwrap()..][..20]).unwrap() };
            self.feed.push(TaskKey::new(id), event);
            self.kept.push((TaskKey::new(id), event, raw));
        }

        fn since(&self, since: u64, coalesce: bool, max: usize) -> Changes {
            self.feed.since(since, coalesce, max, |_| true, |key, event| {
                self.kept.iter().find(|(k, e, _)| k == key && *e == event).map(|(_, _, raw)| Cow::Borrowed(raw.as_bytes()))
            })
        }
    }

    #[test]
    fn coalesces_per_task_and_reports_gaps() {
        let mut f = Fixture::default();
        f.push("a", "PENDING", 1);
        f.push("b", "PENDING", 2);
        f.push("a", "SUCCESS", 3);
        let c = f.since(0, true, 100);
        assert_eq!((c.next, c.gap, c.items.len()), (3, false, 2));
        assert!(String::from_utf8_lossy(&c.items[1]).contains("SUCCESS"));
        assert_eq!(f.since(0, false, 100).items.len(), 3);
        assert!(f.since(3, true, 100).items.is_empty());
        for _ in 0..CAPACITY {
            f.feed.push(TaskKey::new("c"), EventId { state: State::Started, retries: 0, timestamp: 0 });
        }
        assert!(f.since(1, true, 100).gap);
        assert!(!f.since(f.feed.head(), true, 100).gap);
    }

    #[test]
    fn writes_updates_from_kept_events_when_read_and_leaves_out_those_gone() {
        let mut f = Fixture::default();
        f.push("a", "STARTED", 1);
        f.push("b", "STARTED", 2);
        f.kept.retain(|(key, _, _)| *key != TaskKey::new("a")); // evicted since
        let c = f.since(0, false, 100);
        assert!(!c.gap);
        assert_eq!(c.items.len(), 1);
        let update: serde_json::Value = serde_json::from_slice(&c.items[0]).unwrap();
        assert_eq!(update["task_id"], "b");
        assert_eq!(update["state"], "STARTED");
        assert_eq!(update["timestamp"], "2025-01-01T00:00:02.000000Z");
        assert!(update.get("args").is_none(), "the update is the event's summary, not the event");
    }

    #[test]
    fn never_truncates_silently() {
        let mut f = Fixture::default();
        for i in 0..5 {
            f.push(&format!("t{i}"), "PENDING", i);
        }
        // Uncoalesced: pages of two, oldest first, until the head.
        let mut seq = 0;
        let mut seen = Vec::new();
        loop {
            let c = f.since(seq, false, 2);
            assert!(!c.gap);
            if c.items.is_empty() {
                break;
            }
            seen.extend(c.items.iter().map(|i| String::from_utf8_lossy(i).into_owned()));
            seq = c.next;
        }
        assert_eq!(seen.len(), 5);
        assert!(seen[0].contains("\"t0\"") && seen[4].contains("\"t4\""));
        assert_eq!(seq, f.feed.head());
        // Coalesced: five tasks do not fit in four, so the reader is told to refetch.
        let c = f.since(0, true, 4);
        assert!(c.gap && c.items.is_empty() && c.next == f.feed.head());
    }
}
