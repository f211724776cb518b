//! Which tasks have a given state, name, worker, queue or exception type: one bitmap over task slots per value.
//!
//! Slots are dense (petgraph reuses freed indices), so a bitmap costs n/8 bytes per value and is
//! updated in O(1) per event; counting or intersecting the tasks of a filter is a pass over
//! n/64 words (~16k words at 1M tasks) instead of a walk over the tasks. Names, hosts and queues
//! are few; a value per task (an id) would not belong here.

use crate::hash::FxMap;
use crate::state::State;
use crate::store::Sym;

#[derive(Default, Clone)]
pub struct Bitmap(Vec<u64>);

impl Bitmap {
    pub fn set(&mut self, slot: u32) {
        let (w, b) = (slot as usize / 64, slot % 64);
        if w >= self.0.len() {
            self.0.resize(w + 1, 0);
        }
        self.0[w] |= 1 << b;
    }

    pub fn clear(&mut self, slot: u32) {
        if let Some(w) = self.0.get_mut(slot as usize / 64) {
            *w &= !(1 << (slot % 64));
        }
    }

    pub fn word(&self, i: usize) -> u64 {
        self.0.get(i).copied().unwrap_or(0)
    }

    pub fn words(&self) -> usize {
        self.0.len()
    }
}

/// One value's tasks in each indexed dimension.
#[derive(Default)]
pub struct Postings {
    pub states: [Bitmap; State::ALL.len()],
    pub names: FxMap<Sym, Bitmap>,
    pub hosts: FxMap<Sym, Bitmap>,
    pub queues: FxMap<Sym, Bitmap>,
    pub exceptions: FxMap<Sym, Bitmap>,
}

/// The indexed values of one task.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Keys {
    pub state: Option<State>,
    pub name: Option<Sym>,
    pub host: Option<Sym>,
    pub queue: Option<Sym>,
    pub exception: Option<Sym>,
}

impl Keys {
    pub const NONE: Keys = Keys { state: None, name: None, host: None, queue: None, exception: None };
}

impl Postings {
    /// Move `slot` from the values of `old` to those of `new`.
    pub fn update(&mut self, slot: u32, old: Keys, new: Keys) {
        if old.state != new.state {
            if let Some(s) = old.state {
                self.states[s as usize].clear(slot);
            }
            if let Some(s) = new.state {
                self.states[s as usize].set(slot);
            }
        }
        for (map, o, n) in [
            (&mut self.names, old.name, new.name),
            (&mut self.hosts, old.host, new.host),
            (&mut self.queues, old.queue, new.queue),
            (&mut self.exceptions, old.exception, new.exception),
        ] {
            if o != n {
                if let Some(o) = o.and_then(|o| map.get_mut(&o)) {
                    o.clear(slot);
                }
                if let Some(n) = n {
                    map.entry(n).or_default().set(slot);
                }
            }
        }
    }
}

/// The intersection of several filters, each a union of bitmaps (a state filter may name many).
pub struct Selection<'a> {
    pub any_of: Vec<Vec<&'a Bitmap>>,
}

impl Selection<'_> {
    fn word(&self, i: usize) -> u64 {
        self.any_of.iter().fold(u64::MAX, |acc, union| acc & union.iter().fold(0, |u, b| u | b.word(i)))
    }

    fn words(&self) -> usize {
        self.any_of.iter().map(|u| u.iter().map(|b| b.words()).max().unwrap_or(0)).min().unwrap_or(0)
    }

    /// How many tasks pass every filter.
    pub fn count(&self) -> usize {
        (0..self.words()).map(|i| self.word(i).count_ones() as usize).sum()
    }

    pub fn contains(&self, slot: u32) -> bool {
        self.word(slot as usize / 64) & (1 << (slot % 64)) != 0
    }

    /// The slots that pass, in slot order.
    pub fn slots(&self) -> Vec<u32> {
        let mut out = Vec::new();
        for i in 0..self.words() {
            let mut w = self.word(i);
            while w != 0 {
                out.push((i * 64) as u32 + w.trailing_zeros());
                w &= w - 1;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intersects_unions() {
        let (mut a, mut b, mut c) = (Bitmap::default(), Bitmap::default(), Bitmap::default());
        for s in [1, 70, 200] {
            a.set(s);
        }
        b.set(70);
        c.set(200);
        c.set(3);
        let sel = Selection { any_of: vec![vec![&a], vec![&b, &c]] };
        assert_eq!((sel.count(), sel.slots()), (2, vec![70, 200]));
        assert!(sel.contains(70) && !sel.contains(1));
        a.clear(70);
        assert_eq!(Selection { any_of: vec![vec![&a], vec![&b]] }.count(), 0);
    }
}
