//! Queries over the store, each answering ready JSON bytes (API.md's shapes).

use std::collections::{BTreeMap, BTreeSet};

use crate::json::{array, Obj};
use crate::state::State;
use crate::store::Store;
use crate::time::Micros;
use crate::view::{write_graph, write_task, FlowView};
use crate::workers::Workers;

/// `GET /api/tasks` parameters, already validated by the caller.
#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    pub limit: usize,
    pub offset: usize,
    /// Bit set of `State::bit`; 0 = any.
    pub states: u16,
    /// Case-insensitive substring of the name.
    pub name: Option<String>,
    pub name_exact: Option<String>,
    pub hostname: Option<String>,
    pub queue: Option<String>,
    pub exception_type: Option<String>,
    pub trace_id: Option<String>,
    /// Case-insensitive substring of the task's events (args, kwargs, result, exception).
    pub search: Option<String>,
    /// Window on last update, inclusive.
    pub from: Option<Micros>,
    pub to: Option<Micros>,
    pub compact: bool,
}

impl TaskFilter {
    fn matches(&self, store: &Store, slot: u32) -> bool {
        let t = store.task(slot);
        let s = &store.strings;
        let sym_is = |value: Option<u32>, wanted: &Option<String>| {
            wanted.as_deref().is_none_or(|w| value.is_some_and(|v| s.resolve(v) == w))
        };
        (self.states == 0 || self.states & t.state.bit() != 0)
            && sym_is(t.name, &self.name_exact)
            && sym_is(t.hostname.value, &self.hostname)
            && sym_is(t.queue, &self.queue)
            && sym_is(t.exception_type.value, &self.exception_type)
            && self.trace_id.as_deref().is_none_or(|w| t.trace_id.as_deref() == Some(w))
            && self.name.as_deref().is_none_or(|w| t.name.is_some_and(|n| contains_ci(s.resolve(n).as_bytes(), w)))
            && self.search.as_deref().is_none_or(|w| t.events.iter().any(|e| contains_ci(&e.raw, w)))
    }
}

/// ASCII-case-insensitive substring test (`needle` is expected lower-case or case-neutral).
fn contains_ci(hay: &[u8], needle: &str) -> bool {
    let n = needle.as_bytes();
    n.is_empty() || hay.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}

pub fn list_tasks(store: &Store, f: &TaskFilter) -> Vec<u8> {
    let lo = f.from.unwrap_or(Micros::MIN);
    let hi = f.to.unwrap_or(Micros::MAX);
    let mut page = Vec::with_capacity(f.limit);
    let mut total = 0usize;
    if lo <= hi {
        for &(_, slot) in store.task_order.range((lo, 0)..=(hi, u32::MAX)).rev() {
            if f.matches(store, slot) {
                if total >= f.offset && page.len() < f.limit {
                    page.push(slot);
                }
                total += 1;
            }
        }
    }
    let mut out = Vec::with_capacity(512 * page.len() + 64);
    let mut o = Obj::new(&mut out);
    array(o.key("tasks"), page, |buf, slot| write_task(buf, store, slot, None, !f.compact));
    o.int("total", total as i64).int("limit", f.limit as i64).int("offset", f.offset as i64);
    o.finish();
    out
}

pub fn get_task(store: &Store, id: &str) -> Option<Vec<u8>> {
    let slot = store.slot(id)?;
    let mut out = Vec::new();
    let mut o = Obj::new(&mut out);
    write_task(o.key("task"), store, slot, None, true);
    array(o.key("children"), store.children(slot), |buf, c| write_task(buf, store, c, None, true));
    o.finish();
    Some(out)
}

pub fn task_children(store: &Store, id: &str, compact: bool) -> Option<Vec<u8>> {
    let slot = store.slot(id)?;
    let mut out = Vec::new();
    array(&mut out, store.children(slot), |buf, c| write_task(buf, store, c, None, !compact));
    Some(out)
}

/// Root flows, newest first; each is its root node with the flow's size and aggregate state.
pub fn list_graphs(store: &Store, limit: usize, offset: usize, from: Option<Micros>, to: Option<Micros>) -> Vec<u8> {
    let lo = from.unwrap_or(Micros::MIN);
    let hi = to.unwrap_or(Micros::MAX);
    let in_window = |rep: &u32| store.flows[rep].first_seen <= hi && store.flows[rep].last_updated >= lo;
    let reps: Vec<u32> = store.flow_order.iter().rev().map(|&(_, rep)| rep).filter(in_window).collect();
    let mut out = Vec::new();
    let mut o = Obj::new(&mut out);
    array(o.key("graphs"), reps.iter().skip(offset).take(limit), |buf, &rep| {
        let view = FlowView::build(store, rep);
        let Some(root) = view.root() else { return buf.extend_from_slice(b"null") };
        // The root's GraphNode with the flow's aggregate fields added before its closing brace.
        view.write_node(buf, root);
        buf.pop();
        let flow = &store.flows[&rep];
        let mut extra = Vec::new();
        Obj::new(&mut extra)
            .str("flow_state", view.flow_state().as_str())
            .int("task_count", view.task_count() as i64)
            .ts("flow_first_seen", flow.first_seen)
            .ts("flow_last_updated", flow.last_updated)
            .finish();
        buf.push(b',');
        buf.extend_from_slice(&extra[1..]);
    });
    o.int("total", reps.len() as i64).int("limit", limit as i64).int("offset", offset as i64);
    o.finish();
    out
}

/// A task of the flow named by a task id or a container id (`group:<id>`).
pub fn flow_member(store: &Store, id: &str) -> Option<u32> {
    match id.strip_prefix("group:") {
        Some(group) => store.groups.get(&crate::store::TaskKey::new(group))?.first().copied(),
        None => store.slot(id),
    }
}

/// The flow detail for a task id or a container id (`group:<id>`).
pub fn get_graph(store: &Store, id: &str) -> Option<Vec<u8>> {
    let member = flow_member(store, id)?;
    let view = FlowView::build(store, store.flow_of(member));
    if !view.contains(id) {
        return None;
    }
    let mut out = Vec::new();
    write_graph(&mut out, &view, id);
    Some(out)
}

pub fn workers(workers: &Workers, hostname: Option<&str>, now: Micros) -> Vec<u8> {
    let mut list: Vec<_> = workers
        .map
        .iter()
        .filter(|w| hostname.is_none_or(|h| w.key() == h))
        .map(|w| (w.key().clone(), w.value().clone()))
        .collect();
    list.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = Vec::new();
    let mut o = Obj::new(&mut out);
    array(o.key("workers"), &list, |buf, (host, w)| {
        Obj::new(buf)
            .str("hostname", host)
            .opt_int("pid", w.pid.map(i64::from))
            .str_list("registered_tasks", w.registered_tasks.iter().map(String::as_str))
            .str("status", w.status(now))
            .opt_ts("registered_at", w.registered_at)
            .ts("last_seen", w.last_seen)
            .finish();
    });
    o.int("total", list.len() as i64);
    o.finish();
    out
}

/// Every task name seen in events or registered by a worker.
pub fn registry(store: &Store, workers: &Workers, query: Option<&str>, status: Option<&str>) -> Vec<u8> {
    struct Entry {
        info: Option<crate::workers::TaskInfo>,
        registered_by: BTreeSet<String>,
        count: u64,
        last_run: Option<Micros>,
    }
    let mut names: BTreeMap<String, Entry> = BTreeMap::new();
    let blank = || Entry { info: None, registered_by: BTreeSet::new(), count: 0, last_run: None };
    for w in &workers.map {
        for name in &w.registered_tasks {
            names.entry(name.clone()).or_insert_with(blank).registered_by.insert(w.key().clone());
        }
        for (name, info) in &w.definitions {
            names.entry(name.clone()).or_insert_with(blank).info.get_or_insert_with(|| info.clone());
        }
    }
    for (sym, stats) in &store.name_stats {
        let e = names.entry(store.strings.resolve(*sym).to_owned()).or_insert_with(blank);
        e.count = stats.count;
        e.last_run = stats.last_run;
    }
    let status_of = |e: &Entry| match (e.registered_by.is_empty(), e.count) {
        (true, _) => "not_registered",
        (false, 0) => "never_run",
        (false, _) => "active",
    };
    let selected: Vec<(&String, &Entry)> = names
        .iter()
        .filter(|(n, _)| query.is_none_or(|q| contains_ci(n.as_bytes(), q)))
        .filter(|(_, e)| status.is_none_or(|s| status_of(e) == s))
        .collect();
    let mut out = Vec::new();
    let mut o = Obj::new(&mut out);
    array(o.key("tasks"), &selected, |buf, (name, e)| {
        let info = e.info.clone().unwrap_or_default();
        Obj::new(buf)
            .str("name", name)
            .opt_str("module", info.module.as_deref())
            .opt_str("signature", info.signature.as_deref())
            .opt_str("docstring", info.docstring.as_deref())
            .bool("bound", info.bound)
            .int("execution_count", e.count as i64)
            .str_list("registered_by", e.registered_by.iter().map(String::as_str))
            .opt_ts("last_run", e.last_run)
            .str("status", status_of(e))
            .finish();
    });
    o.int("total", selected.len() as i64);
    o.finish();
    out
}

/// Parse a comma-separated list of states (any case) into a bit set.
pub fn parse_states<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<u16, String> {
    let mut bits = 0;
    for n in names {
        let n = n.trim();
        if n.is_empty() {
            continue;
        }
        bits |= State::parse(n).ok_or_else(|| format!("unknown state {n:?}"))?.bit();
    }
    Ok(bits)
}
