//! Rows (tasks, flows) ordered by last update, moved once per batch instead of once per event.
//!
//! The events of one task, and of one flow, mostly arrive in the same batch: a task's four
//! lifecycle events each moved it in a B-tree, which was an eighth of ingest. Now a change only
//! marks the row; [`Order::settle`] moves each marked row once, to where its owner says it belongs.
//! Readers see the order only when settled: the engine settles before it releases its write lock,
//! and eviction settles before it looks for the oldest flow.

use std::collections::BTreeSet;
use std::ops::RangeBounds;

use crate::time::Micros;

/// The key of a row that is not in the set yet (a task or flow before its first event).
const UNLISTED: Micros = Micros::MIN;

#[derive(Default)]
pub struct Order {
    set: BTreeSet<(Micros, u32)>,
    /// Rows changed since the last settling, each with the key it had when it changed: a row's first
    /// entry here holds the key it is listed under, so the order keeps nothing per row.
    marked: Vec<(u32, Micros)>,
}

impl Order {
    /// The row at `slot`, keyed `old` until now, changed its key, appeared (`old` = its key before
    /// its first event) or went away: [`Order::settle`] will move it.
    pub fn mark(&mut self, slot: u32, old: Micros) {
        self.marked.push((slot, old));
    }

    /// Move every marked row to the key `key_of` gives it now (`None`: the row is gone).
    pub fn settle(&mut self, key_of: impl Fn(u32) -> Option<Micros>) {
        // Of a row's entries the first holds its listed key: sort (row, position) pairs packed in
        // one integer, unstably, which is a third of the cost of a stable sort of the entries.
        let mut by_row: Vec<u64> = (0u64..).zip(&self.marked).map(|(at, &(slot, _))| u64::from(slot) << 32 | at).collect();
        by_row.sort_unstable();
        by_row.dedup_by_key(|packed| *packed >> 32);
        for packed in by_row {
            let (slot, listed) = self.marked[(packed & u64::from(u32::MAX)) as usize];
            let key = key_of(slot).unwrap_or(UNLISTED);
            if key != listed {
                if listed != UNLISTED {
                    self.set.remove(&(listed, slot));
                }
                if key != UNLISTED {
                    self.set.insert((key, slot));
                }
            }
        }
        self.marked.clear();
    }

    fn is_settled(&self) -> bool {
        self.marked.is_empty()
    }

    /// Rows by key, oldest first; only meaningful when settled.
    pub fn range(&self, keys: impl RangeBounds<(Micros, u32)>) -> impl DoubleEndedIterator<Item = u32> + Clone + '_ {
        debug_assert!(self.is_settled(), "the order is read between a change and its settling");
        self.set.range(keys).map(|&(_, slot)| slot)
    }

    /// The row with the oldest key; only meaningful when settled.
    pub fn first(&self) -> Option<u32> {
        debug_assert!(self.is_settled(), "the order is read between a change and its settling");
        self.set.first().map(|&(_, slot)| slot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_moves_once_to_its_latest_key_and_leaves_when_gone() {
        let mut keys: Vec<Option<Micros>> = vec![Some(5), Some(1), None];
        let mut order = Order::default();
        for slot in [0, 1, 0, 0] {
            order.mark(slot, UNLISTED);
        }
        assert!(!order.is_settled());
        order.settle(|s| keys[s as usize]);
        assert!(order.is_settled());
        assert_eq!(order.range(..).collect::<Vec<_>>(), [1, 0]);
        keys[1] = Some(9);
        keys[0] = None;
        keys[2] = Some(3);
        for (slot, old) in [(1, 1), (0, 5), (2, UNLISTED), (1, 7)] {
            order.mark(slot, old);
        }
        order.settle(|s| keys[s as usize]);
        assert_eq!(order.range(..).collect::<Vec<_>>(), [2, 1]);
        assert_eq!(order.first(), Some(2));
        assert_eq!(order.range((4, 0)..).rev().collect::<Vec<_>>(), [1]);
    }
}
