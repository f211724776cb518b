//! The change feed behind live updates: a bounded ring of recent task updates with sequence
//! numbers. Each WebSocket reads from its own position, so a slow client never holds memory for
//! the others; one that falls behind the ring is told to resync instead.

use std::collections::{HashMap, VecDeque};

use crate::event::TaskEvent;
use crate::json::Obj;
use crate::store::TaskKey;

/// How many updates the ring keeps: ~2 s at 5,000 events/s plus slack for a paused client.
pub const CAPACITY: usize = 20_000;

struct Change {
    seq: u64,
    key: TaskKey,
    /// The update in the wire event's shape: task_id, name, state, timestamp and the link ids.
    json: Box<[u8]>,
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
    /// Reused between pushes so each update costs one exact-size allocation.
    scratch: Vec<u8>,
}

impl Feed {
    pub fn push(&mut self, ev: &TaskEvent<'_>, raw_timestamp: &str) {
        let mut json = std::mem::take(&mut self.scratch);
        json.clear();
        Obj::new(&mut json)
            .str("task_id", &ev.task_id)
            .opt_str("name", ev.name.as_deref())
            .opt_str("state", ev.state.map(crate::state::State::as_str))
            .str("timestamp", raw_timestamp)
            .opt_str("parent_id", ev.parent_id.as_deref())
            .opt_str("root_id", ev.root_id.as_deref())
            .opt_str("group_id", ev.group_id.as_deref())
            .opt_str("hostname", ev.hostname.as_deref())
            .int("retries", i64::from(ev.retries))
            .finish();
        if self.ring.len() == CAPACITY {
            self.ring.pop_front();
        }
        self.next_seq += 1;
        self.ring.push_back(Change { seq: self.next_seq, key: TaskKey::new(&ev.task_id), json: json.as_slice().into() });
        self.scratch = json;
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
            let items = picked.into_iter().map(|i| selected[i].json.to_vec()).collect();
            return Changes { next: self.next_seq, gap, items };
        }
        let mut items = Vec::new();
        let mut next = self.next_seq;
        for c in selected {
            if items.len() == max {
                next = c.seq - 1;
                break;
            }
            items.push(c.json.to_vec());
        }
        Changes { next, gap, items }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{decode, Decoded};

    fn push(feed: &mut Feed, id: &str, state: &str) {
        let raw = format!(r#"{{"task_id":"{id}","state":"{state}","timestamp":"2025-01-01T00:00:00Z"}}"#);
        let Ok(Decoded::Task(ev)) = decode(raw.as_bytes()) else { panic!() };
        feed.push(&ev, "2025-01-01T00:00:00Z");
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
