//! How the store is shown: a task as a TaskNode, and a flow as a graph of tasks and synthetic
//! GROUP / CHORD containers (DESIGN §4, API.md's GraphNode).

use std::collections::BTreeMap;

use crate::hash::{FxMap, FxSet};

use crate::json::{array, write_str, Obj};
use crate::state::State;
use crate::store::{Store, Task, TaskKey};
use crate::time::Micros;
use crate::workers::Liveness;

/// Timing of one task, derived from its events (all in microseconds).
#[derive(Debug, Default, PartialEq)]
pub struct Timing {
    /// First event → terminal event.
    pub duration: Option<Micros>,
    /// Sent (first event) → first start.
    pub queue_wait: Option<Micros>,
    /// Start → end of the last attempt.
    pub runtime: Option<Micros>,
    /// Sum of every attempt's runtime.
    pub total_runtime: Option<Micros>,
}

/// Attempts are STARTED events each closed by the next RETRY or terminal event. Clocks of
/// different hosts may disagree, so spans are clamped at zero rather than shown negative.
pub fn timing(task: &Task) -> Timing {
    let events = task.events_in_order();
    let first = task.first_seen;
    let end = events.iter().rev().find(|e| e.state.is_terminal()).map(|e| e.timestamp);
    let first_start = events.iter().find(|e| e.state == State::Started).map(|e| e.timestamp);
    let mut attempts = Vec::new();
    let mut open: Option<Micros> = None;
    for e in &events {
        match e.state {
            State::Started => open = Some(e.timestamp),
            State::Retry | State::Success | State::Failure | State::Revoked | State::Rejected | State::Ignored => {
                if let Some(start) = open.take() {
                    attempts.push((e.timestamp - start).max(0));
                }
            }
            _ => {}
        }
    }
    Timing {
        duration: end.map(|e| (e - first).max(0)),
        queue_wait: first_start.map(|s| (s - first).max(0)),
        runtime: attempts.last().copied(),
        total_runtime: (!attempts.is_empty()).then(|| attempts.iter().sum()),
    }
}

/// How a node is placed in a particular view (a flow view moves group members under containers).
pub struct Placement<'a> {
    pub parent_id: Option<String>,
    pub children: &'a [String],
}

/// Write one task as a TaskNode. `events`: include the raw events (detail) or `null` (compact).
/// `live`: the worker registry's view, to flag a task that can no longer be running (`interrupted`).
pub fn write_task(
    out: &mut Vec<u8>,
    store: &Store,
    slot: u32,
    placement: Option<&Placement<'_>>,
    events: bool,
    live: Option<&Liveness>,
) {
    let task = store.task(slot);
    let s = &store.strings;
    let t = timing(task);
    let reported_parent = task.parent.as_ref().map(ToString::to_string);
    let store_children: Vec<String>;
    let (parent_id, children): (Option<&str>, &[String]) = if let Some(p) = placement {
        (p.parent_id.as_deref(), p.children)
    } else {
        store_children = store.children(slot).into_iter().map(|c| store.task(c).key.to_string()).collect();
        (reported_parent.as_deref(), &store_children)
    };
    let mut o = Obj::new(out);
    o.str("task_id", &task.key.to_string())
        .str("name", task.name.value.map_or("", |n| s.resolve(n)))
        .str("state", task.state.as_str())
        .str("node_type", "TASK")
        .display("group_id", task.group.as_ref())
        .display("chord_id", task.chord.as_deref())
        .display("chord_callback_id", task.chord_callback.as_ref())
        .opt_str("parent_id", parent_id)
        .opt_str("reported_parent_id", reported_parent.as_deref())
        .display("root_id", task.root.as_ref())
        .str_list("children", children.iter().map(String::as_str));
    if events {
        array(o.key("events"), task.events_in_order(), |out, e| e.write_raw(out));
    } else {
        o.null("events");
    }
    o.ts("first_seen", task.first_seen)
        .ts("last_updated", task.last_updated)
        .opt_ms("duration_ms", t.duration)
        .opt_ms("queue_wait_ms", t.queue_wait)
        .opt_ms("runtime_ms", t.runtime)
        .opt_ms("total_runtime_ms", t.total_runtime)
        .opt_ts("eta", task.eta)
        .opt_str("exception_type", task.exception_type.value.map(|e| s.resolve(e)))
        .opt_str("hostname", task.hostname.value.map(|h| s.resolve(h)))
        .opt_str("queue", task.queue.map(|q| s.resolve(q)))
        .opt_str("routing_key", task.routing_key.map(|r| s.resolve(r)))
        .display("trace_id", task.trace_id.as_ref())
        .int("retries", i64::from(task.events.iter().map(|e| e.retries).max().unwrap_or(0)))
        .opt_str("interrupted", live.and_then(|live| interrupted(store, task, live)));
    o.finish();
}

/// Celery says nothing when a whole worker dies (SIGKILL, lost host) or shuts down cold with a task
/// reserved, so a task received or started on a worker that is gone would otherwise run forever.
fn interrupted(store: &Store, task: &Task, live: &Liveness) -> Option<&'static str> {
    if !matches!(task.state, State::Received | State::Started) {
        return None;
    }
    live.interrupted(store.strings.resolve(task.hostname.value?), task.last_updated)
}

/// A synthetic container: two or more tasks of a flow sharing a group id.
struct Container {
    id: String,
    /// Every task drawn inside the box: the tasks with the group id, and for a group of chains the
    /// earlier steps of each chain (Celery puts the group id only on a chain's last task).
    members: Vec<u32>,
    /// The first task of each row: the container's children.
    top: Vec<u32>,
    parent: Option<u32>,
    /// The chord callback id the headers carry (with a chain body, the chain's last task).
    callback: Option<TaskKey>,
    /// The node the chord continues with, drawn after the box: the body's first task, or the
    /// container of a chord used as the body. `None` while it has not arrived.
    entry: Option<String>,
}

/// A flow laid out as a graph: tasks and containers, each with its parent and children in view.
pub struct FlowView<'s> {
    store: &'s Store,
    tasks: Vec<u32>,
    containers: Vec<Container>,
    parent: FxMap<String, Option<String>>,
    children: FxMap<String, Vec<String>>,
    /// Nodes with no parent in view, oldest first; the first is the flow's root.
    pub roots: Vec<String>,
    /// Set for views answered live (flow detail); cached list rows leave it out.
    live: Option<&'s Liveness>,
}

impl<'s> FlowView<'s> {
    pub fn build(store: &'s Store, rep: u32) -> FlowView<'s> {
        let mut tasks = store.flows[&rep].members.clone();
        tasks.sort_by(|&a, &b| store.order_key(a).cmp(&store.order_key(b)));
        let in_flow: FxSet<u32> = tasks.iter().copied().collect();
        let id = |slot: u32| store.task(slot).key.to_string();

        let mut containers = group_containers(store, &tasks);
        let index: FxMap<String, usize> = containers.iter().enumerate().map(|(i, c)| (c.id.clone(), i)).collect();

        // Where each task sits: under its parent; under its container when it heads a row; after
        // its chord (off the container, drawn outside with an edge from every header) when it is
        // the chord's entry. A chord whose body is another chord continues with that container.
        let mut placed: FxMap<u32, usize> = FxMap::default();
        let mut entries: FxMap<u32, usize> = FxMap::default();
        let mut entry_of: Vec<Option<usize>> = vec![None; containers.len()];
        for (i, c) in containers.iter().enumerate() {
            for &m in &c.top {
                placed.insert(m, i);
            }
        }
        for i in 0..containers.len() {
            let Some(cb) = containers[i].callback.clone() else { continue };
            let first = containers[i].members.iter().find_map(|&m| store.task(m).chord_body_first.clone());
            let as_task = |k: &TaskKey| store.slot_of(k).filter(|s| in_flow.contains(s));
            if let Some(&inner) = index.get(&format!("group:{cb}")).filter(|&&j| j != i) {
                entry_of[inner] = Some(i);
                containers[i].entry = Some(containers[inner].id.clone());
            } else if let Some(slot) = first.as_ref().and_then(as_task).or_else(|| as_task(&cb)) {
                entries.insert(slot, i);
                containers[i].entry = Some(id(slot));
            }
        }
        let mut parent: FxMap<String, Option<String>> = FxMap::default();
        for &t in &tasks {
            let p = if let Some(&ci) = placed.get(&t).or_else(|| entries.get(&t)) {
                Some(containers[ci].id.clone())
            } else {
                store.parent_slot(t).filter(|p| in_flow.contains(p)).map(id)
            };
            parent.insert(id(t), p);
        }
        for (c, outer) in containers.iter().zip(&entry_of) {
            let p = outer.map(|o| containers[o].id.clone()).or_else(|| c.parent.map(id));
            parent.insert(c.id.clone(), p);
        }
        // Children lists: tasks first (by first seen), containers after; a chord's entry is
        // reached through `chord_id`, not listed as a child of the box.
        let mut children: FxMap<String, Vec<String>> = FxMap::default();
        for &t in &tasks {
            if let (Some(Some(p)), false) = (parent.get(&id(t)), entries.contains_key(&t)) {
                children.entry(p.clone()).or_default().push(id(t));
            }
        }
        for (c, outer) in containers.iter().zip(&entry_of) {
            if let (Some(p), None) = (c.parent, outer) {
                children.entry(id(p)).or_default().push(c.id.clone());
            }
        }
        let first_seen = |node: &String| -> Micros {
            index.get(node).map_or_else(
                || store.slot(node).map_or(Micros::MAX, |s| store.task(s).first_seen),
                |&i| containers[i].members.iter().map(|&m| store.task(m).first_seen).min().unwrap_or(Micros::MAX),
            )
        };
        let mut roots: Vec<String> = containers
            .iter()
            .map(|c| c.id.clone())
            .chain(tasks.iter().map(|&t| id(t)))
            .filter(|n| parent.get(n).is_some_and(Option::is_none))
            .collect();
        roots.sort_by(|a, b| (first_seen(a), a).cmp(&(first_seen(b), b)));
        FlowView { store, tasks, containers, parent, children, roots, live: None }
    }

    pub fn root(&self) -> Option<&str> {
        self.roots.first().map(String::as_str)
    }

    pub fn contains(&self, node: &str) -> bool {
        self.parent.contains_key(node)
    }

    /// The node and everything below it (a container's callback included); the whole flow for its root.
    pub fn subtree(&self, node: &str) -> Vec<String> {
        if self.root() == Some(node) {
            let mut all: Vec<String> = self.containers.iter().map(|c| c.id.clone()).collect();
            all.extend(self.tasks.iter().map(|&t| self.store.task(t).key.to_string()));
            return all;
        }
        let mut out = vec![node.to_owned()];
        let mut i = 0;
        while i < out.len() {
            let current = out[i].clone();
            if let Some(kids) = self.children.get(&current) {
                out.extend(kids.iter().cloned());
            }
            if let Some(entry) = self.containers.iter().find(|c| c.id == current).and_then(|c| c.entry.as_ref()) {
                if !out.contains(entry) {
                    out.push(entry.clone());
                }
            }
            i += 1;
        }
        out
    }

    /// Flag tasks that can no longer be running (see `write_task`).
    #[must_use]
    pub fn with_liveness(mut self, live: &'s Liveness) -> Self {
        self.live = Some(live);
        self
    }

    /// Write one node (task or container) of this view as a GraphNode.
    pub fn write_node(&self, out: &mut Vec<u8>, node: &str) {
        let no_children = Vec::new();
        let children = self.children.get(node).unwrap_or(&no_children);
        let parent_id = self.parent.get(node).cloned().flatten();
        if let Some(c) = self.containers.iter().find(|c| c.id == node) {
            self.write_container(out, c, parent_id.as_deref(), children);
        } else if let Some(slot) = self.store.slot(node) {
            write_task(out, self.store, slot, Some(&Placement { parent_id, children }), false, self.live);
        }
    }

    /// Whether a node of this view has begun: a task past PENDING, or a container with such a member.
    fn node_started(&self, node: &str) -> bool {
        let started = |slot: u32| self.store.task(slot).events.iter().any(|e| e.state != State::Pending);
        match self.containers.iter().find(|c| c.id == node) {
            Some(c) => c.members.iter().any(|&m| started(m)),
            None => self.store.slot(node).is_some_and(started),
        }
    }

    fn write_container(&self, out: &mut Vec<u8>, c: &Container, parent_id: Option<&str>, children: &[String]) {
        let store = self.store;
        let members = c.members.iter().map(|&m| store.task(m));
        let first = members.clone().map(|t| t.first_seen).min().unwrap_or(0);
        let last = members.clone().map(|t| t.last_updated).max().unwrap_or(0);
        let state = aggregate(members.clone().map(|t| t.state));
        let is_chord = c.callback.is_some();
        let callback_ran = c.callback.as_ref().and_then(|k| store.slot_of(k)).is_some_and(|s| {
            store.task(s).events.iter().any(|e| e.state != State::Pending)
        }) || c.entry.as_ref().is_some_and(|e| self.node_started(e));
        let not_run_reason = if is_chord && !callback_ran {
            let states: Vec<State> = members.clone().map(|t| t.state).collect();
            if states.contains(&State::Failure) {
                Some("header_failed")
            } else if states.contains(&State::Revoked) {
                Some("header_revoked")
            } else if states.iter().any(|s| matches!(s, State::Ignored | State::Rejected)) {
                Some("header_ignored")
            } else {
                None
            }
        } else {
            None
        };
        let mut o = Obj::new(out);
        o.str("task_id", &c.id)
            .str("name", if is_chord { "chord" } else { "group" })
            .str("state", state.as_str())
            .str("node_type", if is_chord { "CHORD" } else { "GROUP" })
            .str("group_id", c.id.trim_start_matches("group:"))
            .opt_str("chord_id", c.entry.as_deref().or(c.callback.as_ref().map(ToString::to_string).as_deref()))
            .display("chord_callback_id", c.callback.as_ref())
            .opt_str("parent_id", parent_id)
            .null("reported_parent_id")
            .str_list("children", children.iter().map(String::as_str));
        let member_ids: Vec<String> = c.members.iter().map(|&m| store.task(m).key.to_string()).collect();
        o.str_list("members", member_ids.iter().map(String::as_str))
            .null("events")
            .ts("first_seen", first)
            .ts("last_updated", last)
            .opt_ms("duration_ms", state.is_terminal().then_some(last - first))
            .null("queue_wait_ms")
            .null("runtime_ms")
            .null("total_runtime_ms")
            .null("eta")
            .null("exception_type")
            .null("hostname")
            .null("queue")
            .null("routing_key")
            .display("trace_id", members.clone().find_map(|t| t.trace_id.as_ref()))
            .opt_str("not_run_reason", not_run_reason);
        o.finish();
    }
}

/// The flow's containers, oldest first: every group id shared by two or more tasks.
fn group_containers(store: &Store, tasks: &[u32]) -> Vec<Container> {
    // Celery gives a chord's callback the header's group id: it belongs after the chord, not in it.
    let callback_keys: FxSet<&TaskKey> = tasks.iter().filter_map(|&t| store.task(t).chord_callback.as_ref()).collect();
    let mut by_group: BTreeMap<&TaskKey, Vec<u32>> = BTreeMap::new();
    for &t in tasks {
        let task = store.task(t);
        if let Some(g) = &task.group {
            if !callback_keys.contains(&task.key) {
                by_group.entry(g).or_default().push(t);
            }
        }
    }
    let mut containers: Vec<Container> = by_group
        .into_iter()
        .filter(|(_, m)| m.len() >= 2)
        .map(|(g, grouped)| {
            let member_set: FxSet<u32> = grouped.iter().copied().collect();
            let mut members = grouped.clone();
            let mut top = Vec::new();
            for &m in &grouped {
                if store.parent_slot(m).is_some_and(|p| member_set.contains(&p)) {
                    continue; // chained inside the group: stays under its parent
                }
                let head = row_head(store, m, &callback_keys);
                let mut step = m;
                while step != head {
                    step = store.parent_slot(step).expect("a row head is an ancestor");
                    members.push(step);
                }
                top.push(head);
            }
            members.sort_by(|&a, &b| store.order_key(a).cmp(&store.order_key(b)));
            top.sort_by(|&a, &b| store.order_key(a).cmp(&store.order_key(b)));
            let parents: FxSet<Option<u32>> = top.iter().map(|&m| store.parent_slot(m)).collect();
            let parent = if parents.len() == 1 { parents.into_iter().next().flatten() } else { None };
            let callback = grouped.iter().find_map(|&m| store.task(m).chord_callback.clone());
            Container { id: format!("group:{g}"), members, top, parent, callback, entry: None }
        })
        .collect();
    containers.sort_by_cached_key(|c| (c.members.iter().map(|&m| store.task(m).first_seen).min(), c.id.clone()));
    containers
}

/// The first task of a group member's row. A member that ends a chain (a group of chains) heads
/// no row by itself: walk up through the chain's earlier steps — tasks with no group, no other
/// child and not a chord's callback — so the whole chain is drawn inside the box.
fn row_head(store: &Store, member: u32, callback_keys: &FxSet<&TaskKey>) -> u32 {
    let mut head = member;
    while let Some(p) = store.parent_slot(head) {
        let pt = store.task(p);
        if pt.group.is_some() || callback_keys.contains(&pt.key) || store.child_count(p) != 1 {
            break;
        }
        head = p;
    }
    head
}

/// Running while any member runs; otherwise the worst outcome.
pub fn aggregate(states: impl Iterator<Item = State>) -> State {
    let mut bits = 0u16;
    for s in states {
        bits |= s.bit();
    }
    let has = |s: State| bits & s.bit() != 0;
    if has(State::Started) || has(State::Retry) {
        State::Started
    } else if has(State::Received) {
        State::Received
    } else if has(State::Pending) {
        State::Pending
    } else if has(State::Failure) {
        State::Failure
    } else if has(State::Revoked) {
        State::Revoked
    } else if has(State::Rejected) {
        State::Rejected
    } else if has(State::Ignored) {
        State::Ignored
    } else {
        State::Success
    }
}

/// Write `{"root_id": .., "nodes": {id: GraphNode}}` for `node` and everything below it.
pub fn write_graph(out: &mut Vec<u8>, view: &FlowView<'_>, node: &str) {
    let mut o = Obj::new(out);
    o.str("root_id", node);
    let buf = o.key("nodes");
    buf.push(b'{');
    for (i, id) in view.subtree(node).iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        write_str(buf, id);
        buf.push(b':');
        view.write_node(buf, id);
    }
    buf.push(b'}');
    o.finish();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{decode, Decoded};

    fn build(events: &[String]) -> Store {
        let mut store = Store::new(100);
        for raw in events {
            let Ok(Decoded::Task(ev)) = decode(raw.as_bytes()) else { panic!("{raw}") };
            store.apply(&ev, raw.as_bytes());
        }
        store
    }

    fn ev(id: &str, state: &str, extra: &str) -> String {
        format!(r#"{{"task_id":"{id}","name":"t","state":"{state}","timestamp":"2025-01-01T00:00:01Z"{extra}}}"#)
    }

    #[test]
    fn chord_callback_sharing_the_group_id_stays_outside_the_container() {
        let header = r#","group_id":"g","chord_callback_id":"cb","root_id":"h1""#;
        let store = build(&[
            ev("h1", "SUCCESS", header),
            ev("h2", "SUCCESS", header),
            ev("cb", "SUCCESS", r#","group_id":"g","parent_id":"h2","root_id":"h1""#),
        ]);
        let view = FlowView::build(&store, store.flow_of(store.slot("h1").unwrap()));
        assert_eq!(view.root(), Some("group:g"));
        let mut out = Vec::new();
        write_graph(&mut out, &view, "group:g");
        let graph: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let chord = &graph["nodes"]["group:g"];
        assert_eq!(chord["node_type"], "CHORD");
        assert_eq!(chord["members"].as_array().unwrap().len(), 2);
        assert_eq!(graph["nodes"]["cb"]["parent_id"], "group:g");
        assert_eq!(graph["nodes"].as_object().unwrap().len(), 4);
    }
}
