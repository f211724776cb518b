//! The in-memory flow store: tasks as nodes of a petgraph `StableDiGraph` (parent → child edges),
//! flows as union-find sets of tasks, and the ordered indexes the queries walk.
//!
//! One writer applies batches of events under the engine's lock; readers share it. Every event
//! costs O(log n) plus the size of what it links, never a pass over the store.

use std::borrow::Cow;
use std::fmt;

use petgraph::stable_graph::{NodeIndex, StableDiGraph};
use petgraph::Direction;

use crate::event::TaskEvent;
use crate::event_log::{EventId, EventLog, Laid, StoredEvent};
use crate::hash::{FxMap, FxSet};
use crate::order::Order;
use crate::postings::{Keys, Postings};
use crate::search::Signature;
use crate::state::{Rank, State};
use crate::time::Micros;

/// A task id: 16 bytes when it is a canonical lowercase UUID (nearly always), else the string.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TaskKey {
    Uuid(UuidBits),
    Other(Box<str>),
}

impl TaskKey {
    pub fn new(id: &str) -> TaskKey {
        parse_canonical_uuid(id).map_or_else(|| TaskKey::Other(id.into()), |v| TaskKey::Uuid(v.into()))
    }
}

/// A UUID's 128 bits as two halves, the high one first so that they order as the number does. A
/// `u128`'s 16-byte alignment made a key 32 bytes instead of 24, and a task holds seven of them
/// (its own, parent, root, group, trace, chord callback and body), each map entry one more.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct UuidBits {
    high: u64,
    low: u64,
}

impl From<u128> for UuidBits {
    fn from(v: u128) -> UuidBits {
        UuidBits { high: (v >> 64) as u64, low: v as u64 }
    }
}

/// Hashed as the number: the high half last, where it sets the hash's low bits (a map's bucket).
impl std::hash::Hash for UuidBits {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u128(u128::from(*self));
    }
}

impl From<UuidBits> for u128 {
    fn from(UuidBits { high, low }: UuidBits) -> u128 {
        u128::from(high) << 64 | u128::from(low)
    }
}

impl fmt::Display for TaskKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskKey::Other(s) => f.write_str(s),
            TaskKey::Uuid(v) => {
                // By hand rather than through `format!`: ids are written for every node of every response.
                const HEX: &[u8; 16] = b"0123456789abcdef";
                const AT: [usize; 16] = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
                let mut out = [b'-'; 36];
                for (byte, at) in u128::from(*v).to_be_bytes().into_iter().zip(AT) {
                    out[at] = HEX[usize::from(byte >> 4)];
                    out[at + 1] = HEX[usize::from(byte & 0xf)];
                }
                f.write_str(std::str::from_utf8(&out).expect("ASCII"))
            }
        }
    }
}

impl fmt::Debug for TaskKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Only the exact form `Display` writes back, so an id always round-trips byte for byte.
fn parse_canonical_uuid(s: &str) -> Option<u128> {
    // Several ids of every event are parsed: eight digits at a time (a byte-at-a-time loop was
    // ~190 instructions per id, a twentieth of applying an event; bench/RESULTS-engine.md).
    let b: &[u8; 36] = s.as_bytes().try_into().ok()?;
    if b[8] != b'-' || b[13] != b'-' || b[18] != b'-' || b[23] != b'-' {
        return None;
    }
    let join = |x: &[u8], y: &[u8]| -> [u8; 8] { std::array::from_fn(|i| if i < 4 { x[i] } else { y[i - 4] }) };
    let groups = [
        *b[0..8].first_chunk::<8>()?,
        join(&b[9..13], &b[14..18]),
        join(&b[19..23], &b[24..28]),
        *b[28..36].first_chunk::<8>()?,
    ];
    groups.into_iter().try_fold(0u128, |v, g| Some(v << 32 | u128::from(hex8(g)?)))
}

/// Eight lowercase hex digits, the first the most significant, read in one 64-bit word.
fn hex8(digits: [u8; 8]) -> Option<u32> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = ONES * 0x80;
    let x = u64::from_le_bytes(digits);
    if x & HIGH != 0 {
        return None;
    }
    // Below 0x80 no byte carries into the next: each sum's high bit says "at least", its
    // complement's "at most". A byte is a digit in 0x30..=0x39, a letter in 0x61..=0x66.
    let digit = x.wrapping_add(ONES * 0x50) & !x.wrapping_add(ONES * 0x46);
    let letter = x.wrapping_add(ONES * 0x1f) & !x.wrapping_add(ONES * 0x19);
    if (digit | letter) & HIGH != HIGH {
        return None;
    }
    // Each byte's value (its low nibble, +9 for a letter), then the bytes' nibbles gathered in
    // pairs, fours and eights, the first byte's at the top.
    let v = (x & (ONES * 0x0f)) + ((x >> 6) & ONES) * 9;
    let pairs = ((v << 4) | (v >> 8)) & 0x00ff_00ff_00ff_00ff;
    let fours = ((pairs << 8) | (pairs >> 16)) & 0x0000_ffff_0000_ffff;
    Some(((fours << 16) | (fours >> 32)) as u32)
}

/// An interned string (task name, hostname, queue, exception type): low cardinality, stored once.
pub type Sym = u32;

#[derive(Default)]
pub struct Interner {
    ids: FxMap<Box<str>, Sym>,
    names: Vec<Box<str>>,
}

impl Interner {
    pub fn intern(&mut self, s: &str) -> Sym {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = self.names.len() as Sym;
        self.names.push(s.into());
        self.ids.insert(s.into(), id);
        id
    }

    pub fn get(&self, s: &str) -> Option<Sym> {
        self.ids.get(s).copied()
    }

    pub fn resolve(&self, id: Sym) -> &str {
        &self.names[id as usize]
    }

    pub fn iter(&self) -> impl Iterator<Item = (Sym, &str)> {
        self.names.iter().enumerate().map(|(i, s)| (i as Sym, &**s))
    }
}

/// A value of a task together with the rank of the event that set it: the highest rank wins,
/// so the value does not depend on arrival order.
#[derive(Clone, Copy)]
pub struct Ranked<T> {
    pub value: Option<T>,
    rank: Rank,
}

impl<T: Copy> Ranked<T> {
    const NONE: Ranked<T> = Ranked { value: None, rank: Rank::MIN };

    /// Whether a value at `rank` would be taken by [`Ranked::offer`].
    fn wants(&self, rank: Rank) -> bool {
        self.value.is_none() || rank > self.rank
    }

    /// Whether a value at `rank` would be taken by [`Ranked::offer_earliest`].
    fn wants_earliest(&self, rank: Rank) -> bool {
        self.value.is_none() || rank < self.rank
    }

    fn offer(&mut self, value: Option<T>, rank: Rank) {
        if value.is_some() && (self.value.is_none() || rank > self.rank) {
            self.value = value;
            self.rank = rank;
        }
    }

    /// The lowest rank wins: what the task was first sent as (a `replace()`d id keeps its
    /// original name even after the replacement's events arrive).
    fn offer_earliest(&mut self, value: Option<T>, rank: Rank) {
        if value.is_some() && (self.value.is_none() || rank < self.rank) {
            self.value = value;
            self.rank = rank;
        }
    }
}

/// Everything known about one task.
pub struct Task {
    pub key: TaskKey,
    pub name: Ranked<Sym>,
    pub state: State,
    rank: Rank,
    pub parent: Option<TaskKey>,
    pub root: Option<TaskKey>,
    pub group: Option<TaskKey>,
    /// Boxed: only chord headers carry it, and a `TaskKey` inline would cost every task 32 bytes.
    pub chord: Option<Box<TaskKey>>,
    pub chord_callback: Option<TaskKey>,
    pub chord_body_first: Option<TaskKey>,
    pub trace_id: Option<TaskKey>,
    pub hostname: Ranked<Sym>,
    pub exception_type: Ranked<Sym>,
    pub queue: Option<Sym>,
    pub routing_key: Option<Sym>,
    pub eta: Option<Micros>,
    pub first_seen: Micros,
    pub last_updated: Micros,
    pub events: EventLog,
    /// Union-find link: the flow this task belongs to is found by following it.
    flow_link: u32,
}

impl Task {
    fn new(key: TaskKey, slot: u32) -> Task {
        Task {
            key,
            name: Ranked::NONE,
            state: State::Pending,
            rank: Rank::MIN,
            parent: None,
            root: None,
            group: None,
            chord: None,
            chord_callback: None,
            chord_body_first: None,
            trace_id: None,
            hostname: Ranked::NONE,
            exception_type: Ranked::NONE,
            queue: None,
            routing_key: None,
            eta: None,
            first_seen: Micros::MAX,
            last_updated: Micros::MIN,
            events: EventLog::default(),
            flow_link: slot,
        }
    }

    /// The values the postings index this task under.
    pub fn keys(&self) -> Keys {
        Keys {
            state: Some(self.state),
            name: self.name.value,
            host: self.hostname.value,
            queue: self.queue,
            exception: self.exception_type.value,
        }
    }

    /// The events a payload search reads: the first sent (args and kwargs as published) and the
    /// one that set the state (result or exception). Celery repeats args on every event, so
    /// reading the others would only multiply the cost of a scan.
    pub fn payload_events(&self) -> impl Iterator<Item = StoredEvent<'_>> {
        let first = self.events.iter().min_by_key(StoredEvent::rank);
        let last = self.events.iter().max_by_key(StoredEvent::rank);
        let last = last.filter(|l| first.is_none_or(|f| l.rank() != f.rank()));
        first.into_iter().chain(last)
    }

    /// Events in lifecycle order (attempt, phase, time), the order detail views show.
    pub fn events_in_order(&self) -> Vec<StoredEvent<'_>> {
        let mut events: Vec<StoredEvent<'_>> = self.events.iter().collect();
        events.sort_by_key(|e| (e.retries, e.state.is_terminal(), e.state, e.timestamp));
        events
    }
}

/// A flow: the tasks linked by parent, root, group or chord ids, kept and evicted as a unit.
pub struct Flow {
    pub members: Vec<u32>,
    pub first_seen: Micros,
    pub last_updated: Micros,
    /// How many members are in each state, kept per event so a flow list never walks a flow.
    pub states: [u32; State::ALL.len()],
    /// Bumped on every change to the flow; cached renderings of it are valid while it holds.
    pub version: u64,
}

impl Flow {
    fn new(slot: u32) -> Flow {
        let mut states = [0; State::ALL.len()];
        states[State::Pending as usize] = 1;
        Flow { members: vec![slot], first_seen: Micros::MAX, last_updated: Micros::MIN, states, version: 0 }
    }

    /// The state a flow list shows for the whole flow.
    pub fn state(&self) -> State {
        crate::view::aggregate(State::ALL.into_iter().filter(|&s| self.states[s as usize] > 0))
    }
}

/// What applying one event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    New,
    Updated,
    Duplicate,
}

pub struct Store {
    max_tasks: usize,
    pub graph: StableDiGraph<Task, (), u32>,
    by_id: FxMap<TaskKey, u32>,
    /// Ids referenced (as parent, root, group member or chord callback) before their task arrived.
    waiting: FxMap<TaskKey, Vec<u32>>,
    /// Members of each group id.
    pub groups: FxMap<TaskKey, Vec<u32>>,
    /// The first task seen of each trace id (the trace's flow is that task's flow).
    traces: FxMap<TaskKey, u32>,
    pub flows: FxMap<u32, Flow>,
    /// Flows by last update, oldest first: eviction pops the front, listings walk from the back.
    pub flow_order: Order,
    /// Tasks by last update, for the newest-first task list.
    pub task_order: Order,
    pub strings: Interner,
    /// Flow list rows of large flows, by flow, with the flow version they were written at: a
    /// finished flow of thousands of tasks is laid out once, not on every page view.
    pub row_cache: std::sync::Mutex<FxMap<u32, (u64, Vec<u8>)>>,
    /// Tasks by state, name, worker, queue and exception type, for filtered lists.
    pub postings: Postings,
    /// Per task name: how many tasks ran it and when one last did.
    pub name_stats: FxMap<Sym, NameStats>,
    /// Per slot, the payload search signature of the task there (`crate::search`); empty for a free
    /// slot. Dense, so a search scans a million of them in a few milliseconds.
    pub signatures: Vec<Signature>,
    evicted: u64,
}

#[derive(Default, Clone, Copy)]
pub struct NameStats {
    pub count: u64,
    pub last_run: Option<Micros>,
}

impl Store {
    pub fn new(max_tasks: usize) -> Store {
        Store {
            max_tasks: max_tasks.max(1),
            graph: StableDiGraph::default(),
            by_id: FxMap::default(),
            waiting: FxMap::default(),
            groups: FxMap::default(),
            traces: FxMap::default(),
            flows: FxMap::default(),
            flow_order: Order::default(),
            task_order: Order::default(),
            strings: Interner::default(),
            postings: Postings::default(),
            row_cache: std::sync::Mutex::default(),
            name_stats: FxMap::default(),
            signatures: Vec::new(),
            evicted: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    pub fn slot(&self, id: &str) -> Option<u32> {
        self.by_id.get(&TaskKey::new(id)).copied()
    }

    pub fn slot_of(&self, key: &TaskKey) -> Option<u32> {
        self.by_id.get(key).copied()
    }

    /// The bytes of a kept event of the task with this key.
    pub fn kept_event(&self, key: &TaskKey, id: EventId) -> Option<Cow<'_, [u8]>> {
        let slot = self.slot_of(key)?;
        self.task(slot).events.find(id).map(|e| e.raw())
    }

    pub fn task(&self, slot: u32) -> &Task {
        &self.graph[NodeIndex::new(slot as usize)]
    }

    fn task_mut(&mut self, slot: u32) -> &mut Task {
        &mut self.graph[NodeIndex::new(slot as usize)]
    }

    /// Children by parent → child edge, oldest first.
    pub fn children(&self, slot: u32) -> Vec<u32> {
        let mut out: Vec<u32> = self
            .graph
            .neighbors_directed(NodeIndex::new(slot as usize), Direction::Outgoing)
            .map(|n| n.index() as u32)
            .collect();
        out.sort_by(|&a, &b| self.order_key(a).cmp(&self.order_key(b)));
        out
    }

    /// How tasks are listed inside a flow: by first seen, then id (never by arrival order).
    pub fn order_key(&self, slot: u32) -> (Micros, &TaskKey) {
        let t = self.task(slot);
        (t.first_seen, &t.key)
    }

    pub fn child_count(&self, slot: u32) -> usize {
        self.graph.neighbors_directed(NodeIndex::new(slot as usize), Direction::Outgoing).count()
    }

    /// The parent present in the store, if any.
    pub fn parent_slot(&self, slot: u32) -> Option<u32> {
        self.graph
            .neighbors_directed(NodeIndex::new(slot as usize), Direction::Incoming)
            .next()
            .map(|n| n.index() as u32)
    }

    /// The flow (union-find representative) a task belongs to.
    pub fn flow_of(&self, slot: u32) -> u32 {
        let mut s = slot;
        loop {
            let next = self.task(s).flow_link;
            if next == s {
                return s;
            }
            s = next;
        }
    }

    /// Apply one decoded task event; `raw` is the entry's JSON as it arrived. Returns what it did
    /// and the task's key, parsed once here for the caller too (the live feed files updates by it).
    pub fn apply(&mut self, ev: &TaskEvent<'_>, raw: &[u8]) -> (Applied, TaskKey) {
        let applied = self.apply_unsettled(ev, raw, None);
        self.settle();
        applied
    }

    /// [`Store::apply`] for one event of a batch: the task and flow orders are brought up to date
    /// by one [`Store::settle`] after the batch, which must come before anything reads them.
    /// `laid` is where the decoding thread laid out the event's bytes for its task, if it did.
    pub fn apply_unsettled(&mut self, ev: &TaskEvent<'_>, raw: &[u8], laid: Option<Laid<'_>>) -> (Applied, TaskKey) {
        let key = TaskKey::new(&ev.task_id);
        let Some(id) = EventId::of(ev) else {
            return (Applied::Duplicate, key);
        };
        let EventId { state, timestamp, .. } = id;
        let (slot, is_new) = match self.by_id.get(&key) {
            Some(&slot) => (slot, false),
            None => (self.insert(&key), true),
        };
        let task = self.task(slot);
        if task.events.find(id).is_some() {
            return (Applied::Duplicate, key);
        }
        let rank = Rank::new(state, ev.retries, timestamp);
        let old_updated = task.last_updated;
        let old_keys = if is_new { Keys::NONE } else { task.keys() };
        let old_state = task.state;
        let old_name = task.name.value;

        // Intern only the values this event can set: most events change none of them.
        let wanted = [
            task.name.wants_earliest(rank),
            task.hostname.wants(rank),
            task.exception_type.wants(rank),
            task.queue.is_none(),
            task.routing_key.is_none(),
        ];
        let fields = [&ev.name, &ev.hostname, &ev.exception_type, &ev.queue, &ev.routing_key];
        let [name, hostname, exception_type, queue, routing_key] =
            std::array::from_fn(|i| fields[i].as_deref().filter(|_| wanted[i]).map(|v| self.strings.intern(v)));

        if self.signatures.len() <= slot as usize {
            self.signatures.resize(slot as usize + 1, Signature::default());
        }
        let signature = &mut self.signatures[slot as usize];
        for value in ev.payload.iter().flatten() {
            signature.add(value.as_bytes());
        }
        let task = self.task_mut(slot);
        task.events.push(id, raw, laid);
        if rank > task.rank {
            task.rank = rank;
            task.state = state;
        }
        task.name.offer_earliest(name, rank);
        task.hostname.offer(hostname, rank);
        task.exception_type.offer(exception_type, rank);
        task.queue = task.queue.or(queue);
        task.routing_key = task.routing_key.or(routing_key);
        task.eta = task.eta.or(ev.eta);
        task.first_seen = task.first_seen.min(timestamp);
        task.last_updated = task.last_updated.max(timestamp);
        let new_updated = task.last_updated;
        let new_name = task.name.value;
        let new_keys = task.keys();
        let new_state = task.state;
        if old_keys != new_keys {
            self.postings.update(slot, old_keys, new_keys);
        }
        if old_state != new_state {
            let flow = self.flow_of(slot);
            let states = &mut self.flows.get_mut(&flow).expect("flow of a live task").states;
            states[old_state as usize] -= 1;
            states[new_state as usize] += 1;
        }

        if old_name != new_name {
            if let Some(old) = old_name.and_then(|n| self.name_stats.get_mut(&n)) {
                old.count -= 1;
            }
        }
        if let Some(n) = new_name.filter(|_| old_name != new_name || state == State::Started) {
            let stats = self.name_stats.entry(n).or_default();
            if old_name != new_name {
                stats.count += 1;
            }
            if state == State::Started {
                stats.last_run = Some(stats.last_run.map_or(timestamp, |t| t.max(timestamp)));
            }
        }
        if new_updated != old_updated {
            self.task_order.mark(slot, old_updated);
        }
        self.link(slot, ev);
        self.touch_flow(slot, timestamp);
        if is_new {
            self.evict_over_limit();
            (Applied::New, key)
        } else {
            (Applied::Updated, key)
        }
    }

    fn insert(&mut self, key: &TaskKey) -> u32 {
        let slot = self.graph.add_node(Task::new(key.clone(), 0)).index() as u32;
        self.task_mut(slot).flow_link = slot;
        self.by_id.insert(key.clone(), slot);
        self.flows.insert(slot, Flow::new(slot));
        // Tasks that named this id before it arrived join it now.
        for other in self.waiting.remove(key).unwrap_or_default() {
            if self.task(other).parent.as_ref() == Some(key) {
                self.add_parent_edge(slot, other);
            }
            self.union(slot, other);
        }
        slot
    }

    /// Record the ids an event names, the first time each is known, and join the flows they link.
    fn link(&mut self, slot: u32, ev: &TaskEvent<'_>) {
        let own = self.task(slot).key.clone();
        // A task that names itself as its root is a root. Only `replace()` gives such a task a
        // parent (the replacement, whose own parent is this task): linking it would be a cycle
        // whose surviving edge depended on arrival order.
        let parent_id = ev.parent_id.as_deref().filter(|_| ev.root_id.as_deref() != Some(&*ev.task_id));
        let mut ids: Vec<TaskKey> = Vec::new();
        let task = self.task_mut(slot);
        for (field, value) in [
            (&mut task.parent, parent_id),
            (&mut task.root, ev.root_id.as_deref()),
            (&mut task.chord_callback, ev.chord_callback_id.as_deref()),
            (&mut task.chord_body_first, ev.chord_body_first_id.as_deref()),
        ] {
            if field.is_none() {
                if let Some(id) = value {
                    let key = TaskKey::new(id);
                    if key != own {
                        *field = Some(key.clone());
                        ids.push(key);
                    }
                }
            }
        }
        if task.chord.is_none() {
            task.chord = ev.chord_id.as_deref().map(|c| Box::new(TaskKey::new(c)));
        }
        let new_group = if task.group.is_none() {
            ev.group_id.as_deref().map(TaskKey::new).inspect(|g| task.group = Some(g.clone()))
        } else {
            None
        };
        let new_trace = if task.trace_id.is_none() {
            ev.trace_id.as_deref().map(TaskKey::new).inspect(|t| task.trace_id = Some(t.clone()))
        } else {
            None
        };
        for key in ids {
            match self.by_id.get(&key).copied() {
                Some(other) => {
                    if self.task(slot).parent.as_ref() == Some(&key) {
                        self.add_parent_edge(other, slot);
                    }
                    self.union(slot, other);
                }
                None => self.waiting.entry(key).or_default().push(slot),
            }
        }
        if let Some(group) = new_group {
            let members = self.groups.entry(group).or_default();
            members.push(slot);
            if let Some(&first) = members.first() {
                self.union(slot, first);
            }
        }
        // One trace is one flow: Celery puts a group's id only on each chain's last task, so the
        // heads of a group of chains are joined to it by nothing else.
        if let Some(trace) = new_trace {
            let first = *self.traces.entry(trace).or_insert(slot);
            self.union(slot, first);
        }
    }

    /// Parent → child, unless it would close a cycle (a parent chain that leads back to the child).
    fn add_parent_edge(&mut self, parent: u32, child: u32) {
        if parent == child || self.parent_slot(child).is_some() {
            return;
        }
        // Tasks of different flows cannot reach each other: no walk needed (keeps a deep chain linear).
        let mut up = (self.flow_of(parent) == self.flow_of(child)).then_some(parent);
        while let Some(p) = up {
            if p == child {
                return;
            }
            up = self.parent_slot(p);
        }
        self.graph.add_edge(NodeIndex::new(parent as usize), NodeIndex::new(child as usize), ());
    }

    /// Join two flows; the smaller's members move to the larger (O(n log n) over a flow's life).
    fn union(&mut self, a: u32, b: u32) {
        let (ra, rb) = (self.flow_of(a), self.flow_of(b));
        if ra == rb {
            return;
        }
        let (big, small) = if self.flows[&ra].members.len() >= self.flows[&rb].members.len() { (ra, rb) } else { (rb, ra) };
        let small_flow = self.flows.remove(&small).expect("flow of a live task");
        self.forget_row(small);
        self.flow_order.mark(small, small_flow.last_updated);
        for &m in &small_flow.members {
            self.task_mut(m).flow_link = big;
        }
        let big_flow = self.flows.get_mut(&big).expect("flow of a live task");
        big_flow.members.extend(small_flow.members);
        for (b, s) in big_flow.states.iter_mut().zip(small_flow.states) {
            *b += s;
        }
        big_flow.version += small_flow.version + 1;
        big_flow.first_seen = big_flow.first_seen.min(small_flow.first_seen);
        if small_flow.last_updated > big_flow.last_updated {
            let old = std::mem::replace(&mut big_flow.last_updated, small_flow.last_updated);
            self.flow_order.mark(big, old);
        }
    }

    fn touch_flow(&mut self, slot: u32, timestamp: Micros) {
        let rep = self.flow_of(slot);
        let flow = self.flows.get_mut(&rep).expect("flow of a live task");
        flow.version += 1;
        flow.first_seen = flow.first_seen.min(timestamp);
        if timestamp > flow.last_updated {
            let old = std::mem::replace(&mut flow.last_updated, timestamp);
            self.flow_order.mark(rep, old);
        }
    }

    /// Bring the task and flow orders up to date with the events applied since the last time.
    pub fn settle(&mut self) {
        self.settle_flows();
        let graph = &self.graph;
        self.task_order.settle(|slot| graph.node_weight(NodeIndex::new(slot as usize)).map(|t| t.last_updated));
    }

    fn settle_flows(&mut self) {
        let flows = &self.flows;
        self.flow_order.settle(|rep| flows.get(&rep).map(|f| f.last_updated));
    }

    /// Evict whole flows, least recently updated first, until the store is within its limit.
    fn evict_over_limit(&mut self) {
        while self.by_id.len() > self.max_tasks {
            self.settle_flows();
            let Some(rep) = self.flow_order.first() else { break };
            self.evict_flow(rep);
        }
    }

    fn forget_row(&mut self, rep: u32) {
        self.row_cache.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&rep);
    }

    /// Drop a flow: its tasks, their index entries, and what they were waiting for. Linear in the
    /// flow's size: every group and trace of the flow lies wholly inside it, so those keys go whole.
    fn evict_flow(&mut self, rep: u32) {
        let Some(flow) = self.flows.remove(&rep) else { return };
        self.forget_row(rep);
        self.flow_order.mark(rep, flow.last_updated);
        let gone: FxSet<u32> = flow.members.iter().copied().collect();
        let mut named: FxSet<TaskKey> = FxSet::default();
        for &slot in &flow.members {
            let task = &self.graph[NodeIndex::new(slot as usize)];
            self.task_order.mark(slot, task.last_updated);
            self.postings.update(slot, task.keys(), Keys::NONE);
            named.extend([&task.parent, &task.root, &task.chord_callback, &task.chord_body_first].into_iter().flatten().cloned());
            if let Some(g) = &task.group {
                self.groups.remove(g);
            }
            if let Some(t) = &task.trace_id {
                self.traces.remove(t);
            }
            self.by_id.remove(&task.key);
        }
        for id in named {
            if let Some(list) = self.waiting.get_mut(&id) {
                list.retain(|s| !gone.contains(s));
                if list.is_empty() {
                    self.waiting.remove(&id);
                }
            }
        }
        for &slot in &flow.members {
            self.graph.remove_node(NodeIndex::new(slot as usize));
            if let Some(signature) = self.signatures.get_mut(slot as usize) {
                *signature = Signature::default();
            }
        }
        self.evicted += flow.members.len() as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{decode, Decoded};

    pub(crate) fn feed(store: &mut Store, raw: &str) -> Applied {
        let Ok(Decoded::Task(ev)) = decode(raw.as_bytes()) else { panic!("bad test event {raw}") };
        store.apply(&ev, raw.as_bytes()).0
    }

    fn ev(id: &str, state: &str, secs: u32, extra: &str) -> String {
        format!(r#"{{"task_id":"{id}","name":"t.{id}","state":"{state}","timestamp":"2025-01-01T00:00:{secs:02}Z"{extra}}}"#)
    }

    #[test]
    fn uuid_keys_round_trip() {
        let id = "5f0c4bb5-3bd5-4d5c-9b3e-1c2d3e4f5a6b";
        assert!(matches!(TaskKey::new(id), TaskKey::Uuid(_)));
        assert_eq!(TaskKey::new(id).to_string(), id);
        let upper = "5F0C4BB5-3BD5-4D5C-9B3E-1C2D3E4F5A6B";
        assert_eq!(TaskKey::new(upper).to_string(), upper);
        for not_canonical in [upper, "5f0c4bb5-3bd5-4d5c-9b3e-1c2d3e4f5a6g", "5f0c4bb5-3bd5-4d5c-9b3e-1c2d3e4f5a6", "5f0c4bb5x3bd5-4d5c-9b3e-1c2d3e4f5a6b"] {
            assert!(matches!(TaskKey::new(not_canonical), TaskKey::Other(_)), "{not_canonical}");
        }
        assert_eq!(TaskKey::new("00000000-0000-0000-0000-000000000000"), TaskKey::Uuid(0.into()));
        assert_eq!(TaskKey::new("ffffffff-ffff-ffff-ffff-ffffffffffff"), TaskKey::Uuid(u128::MAX.into()));
    }

    /// The canonical form by its definition: 32 lowercase hex digits, hyphens after 8, 12, 16, 20.
    fn reference_uuid(s: &str) -> Option<u128> {
        let b = s.as_bytes();
        let shape = b.len() == 36
            && b.iter().enumerate().all(|(i, c)| if matches!(i, 8 | 13 | 18 | 23) { *c == b'-' } else { matches!(c, b'0'..=b'9' | b'a'..=b'f') });
        shape.then(|| u128::from_str_radix(&s.replace('-', ""), 16).expect("hex"))
    }

    #[test]
    fn a_uuid_with_any_one_byte_changed_parses_as_its_definition() {
        for id in ["00000000-0000-0000-0000-000000000000", "5f0c4bb5-3bd5-4d5c-9b3e-1c2d3e4f5a6b", "ffffffff-ffff-ffff-ffff-ffffffffffff"] {
            for at in 0..36 {
                for byte in 0..0x80u8 {
                    let mut changed = id.as_bytes().to_vec();
                    changed[at] = byte;
                    let changed = String::from_utf8(changed).expect("ASCII");
                    assert_eq!(parse_canonical_uuid(&changed), reference_uuid(&changed), "{changed}");
                }
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn uuids_parse_as_their_definition(v in proptest::prelude::any::<u128>()) {
            proptest::prop_assert_eq!(parse_canonical_uuid(&TaskKey::Uuid(v.into()).to_string()), Some(v));
        }

        #[test]
        fn uuid_keys_order_as_their_numbers(a in proptest::prelude::any::<u128>(), b in proptest::prelude::any::<u128>()) {
            proptest::prop_assert_eq!(TaskKey::Uuid(a.into()).cmp(&TaskKey::Uuid(b.into())), a.cmp(&b));
        }
    }

    #[test]
    fn links_parent_and_child_in_any_order() {
        let mut s = Store::new(100);
        feed(&mut s, &ev("child", "SUCCESS", 2, r#","parent_id":"root""#));
        assert_eq!(s.parent_slot(s.slot("child").unwrap()), None);
        feed(&mut s, &ev("root", "SUCCESS", 1, ""));
        let (root, child) = (s.slot("root").unwrap(), s.slot("child").unwrap());
        assert_eq!(s.parent_slot(child), Some(root));
        assert_eq!(s.children(root), vec![child]);
        assert_eq!(s.flow_of(root), s.flow_of(child));
        assert_eq!(s.flows.len(), 1);
    }

    #[test]
    fn state_is_independent_of_arrival_order_and_duplicates() {
        let events = [ev("a", "PENDING", 1, ""), ev("a", "STARTED", 2, ""), ev("a", "SUCCESS", 3, "")];
        let mut forward = Store::new(10);
        let mut backward = Store::new(10);
        for e in &events {
            feed(&mut forward, e);
        }
        for e in events.iter().rev() {
            feed(&mut backward, e);
        }
        assert_eq!(feed(&mut backward, &events[1]), Applied::Duplicate);
        for s in [&forward, &backward] {
            let t = s.task(s.slot("a").unwrap());
            assert_eq!(t.state, State::Success);
            assert_eq!(t.events.iter().count(), 3);
        }
    }

    #[test]
    fn no_self_or_cyclic_links() {
        let mut s = Store::new(10);
        feed(&mut s, &ev("a", "SUCCESS", 1, r#","parent_id":"a""#));
        assert_eq!(s.parent_slot(s.slot("a").unwrap()), None);
        feed(&mut s, &ev("b", "SUCCESS", 1, r#","parent_id":"c""#));
        feed(&mut s, &ev("c", "SUCCESS", 1, r#","parent_id":"b""#));
        let (b, c) = (s.slot("b").unwrap(), s.slot("c").unwrap());
        assert!(s.parent_slot(b).is_none() || s.parent_slot(c).is_none());
    }

    #[test]
    fn evicts_whole_flows_oldest_first() {
        let mut s = Store::new(3);
        feed(&mut s, &ev("old1", "SUCCESS", 1, ""));
        feed(&mut s, &ev("old2", "SUCCESS", 2, r#","parent_id":"old1""#));
        feed(&mut s, &ev("new1", "SUCCESS", 5, ""));
        feed(&mut s, &ev("new2", "SUCCESS", 6, ""));
        assert_eq!(s.len(), 2);
        assert!(s.slot("old1").is_none() && s.slot("old2").is_none());
        assert_eq!(s.evicted(), 2);
        // A late event for an evicted parent's child starts over cleanly.
        feed(&mut s, &ev("old3", "SUCCESS", 7, r#","parent_id":"old1""#));
        assert!(s.slot("old3").is_some());
    }

    /// What the orders must hold once settled: every live task and flow, by its last update.
    fn expected_orders(s: &Store) -> (Vec<u32>, Vec<u32>) {
        let mut tasks: Vec<(Micros, u32)> = s.graph.node_indices().map(|i| (s.graph[i].last_updated, i.index() as u32)).collect();
        let mut flows: Vec<(Micros, u32)> = s.flows.iter().map(|(&rep, f)| (f.last_updated, rep)).collect();
        tasks.sort_unstable();
        flows.sort_unstable();
        (tasks.into_iter().map(|t| t.1).collect(), flows.into_iter().map(|f| f.1).collect())
    }

    proptest::proptest! {
        /// Orders settled once per batch, whatever the batch boundaries and with evictions inside
        /// batches, end exactly where moving them on every event would.
        #[test]
        fn orders_settled_per_batch_match_every_live_row(
            events in proptest::collection::vec((0u8..12, 0u8..4, 0u32..40, 0u8..12), 1..80),
            cuts in proptest::collection::vec(proptest::bool::ANY, 80),
            limit in 2usize..10,
        ) {
            let mut s = Store::new(limit);
            for (i, &(id, state, secs, parent)) in events.iter().enumerate() {
                let state = ["PENDING", "RECEIVED", "STARTED", "SUCCESS"][state as usize];
                let extra = if parent < 12 { format!(r#","parent_id":"t{parent}""#) } else { String::new() };
                let raw = ev(&format!("t{id}"), state, secs % 60, &extra);
                let Ok(Decoded::Task(e)) = decode(raw.as_bytes()) else { panic!() };
                s.apply_unsettled(&e, raw.as_bytes(), None);
                if cuts[i] {
                    s.settle();
                    let (tasks, flows) = expected_orders(&s);
                    proptest::prop_assert_eq!(s.task_order.range(..).collect::<Vec<_>>(), tasks);
                    proptest::prop_assert_eq!(s.flow_order.range(..).collect::<Vec<_>>(), flows);
                }
            }
            s.settle();
            let (tasks, flows) = expected_orders(&s);
            proptest::prop_assert_eq!(s.task_order.range(..).collect::<Vec<_>>(), tasks);
            proptest::prop_assert_eq!(s.flow_order.range(..).collect::<Vec<_>>(), flows);
            proptest::prop_assert!(s.len() <= limit);
        }
    }

    #[test]
    fn group_members_share_a_flow() {
        let mut s = Store::new(10);
        feed(&mut s, &ev("g1", "SUCCESS", 1, r#","group_id":"G""#));
        feed(&mut s, &ev("g2", "SUCCESS", 1, r#","group_id":"G""#));
        assert_eq!(s.flow_of(s.slot("g1").unwrap()), s.flow_of(s.slot("g2").unwrap()));
    }
}
