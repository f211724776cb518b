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

/// `listed` of a row that is not in the set. No row keeps it: every task and flow has a timestamp
/// from its first event on.
const UNLISTED: Micros = Micros::MIN;

#[derive(Default)]
pub struct Order {
    set: BTreeSet<(Micros, u32)>,
    /// Per slot, the key the row is listed under in `set`: 8 bytes a row, no more.
    listed: Vec<Micros>,
    /// Rows to look at when settling; a row marked twice is looked at twice, the second time for nothing.
    marked: Vec<u32>,
}

impl Order {
    /// The row at `slot` changed its key, appeared or went away: [`Order::settle`] will look.
    pub fn mark(&mut self, slot: u32) {
        self.marked.push(slot);
    }

    /// Move every marked row to the key `key_of` gives it now (`None`: the row is gone).
    pub fn settle(&mut self, key_of: impl Fn(u32) -> Option<Micros>) {
        for slot in self.marked.drain(..) {
            let i = slot as usize;
            if self.listed.len() <= i {
                self.listed.resize(i + 1, UNLISTED);
            }
            let key = key_of(slot).unwrap_or(UNLISTED);
            let old = self.listed[i];
            if key != old {
                if old != UNLISTED {
                    self.set.remove(&(old, slot));
                }
                if key != UNLISTED {
                    self.set.insert((key, slot));
                }
                self.listed[i] = key;
            }
        }
    }

    pub fn is_settled(&self) -> bool {
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
            order.mark(slot);
        }
        assert!(!order.is_settled());
        order.settle(|s| keys[s as usize]);
        assert!(order.is_settled());
        assert_eq!(order.range(..).collect::<Vec<_>>(), [1, 0]);
        keys[1] = Some(9);
        keys[0] = None;
        keys[2] = Some(3);
        for slot in [1, 0, 2] {
            order.mark(slot);
        }
        order.settle(|s| keys[s as usize]);
        assert_eq!(order.range(..).collect::<Vec<_>>(), [2, 1]);
        assert_eq!(order.first(), Some(2));
        assert_eq!(order.range((4, 0)..).rev().collect::<Vec<_>>(), [1]);
    }
}
