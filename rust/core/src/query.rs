//! Queries over the store, each answering ready JSON bytes (API.md's shapes).

use std::collections::{BTreeMap, BTreeSet};

use crate::event::TransportCounters;
use crate::json::{array, Obj};
use crate::postings::{Bitmap, Selection};
use crate::search::{contains_ci, Needle};
use crate::state::State;
use crate::store::{Store, TaskKey};
use crate::time::Micros;
use crate::view::{write_graph, write_task, FlowView};
use crate::workers::{Liveness, Workers};

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
    /// Case-insensitive substring of the task's args, kwargs, result or exception (`crate::search`).
    pub search: Option<String>,
    /// Window on last update, inclusive.
    pub from: Option<Micros>,
    pub to: Option<Micros>,
    pub compact: bool,
}

/// A filter named a value that no task has.
struct NoTask;

impl TaskFilter {
    /// The postings of the indexed filters (state, exact name, worker, queue, exception type):
    /// `Ok(None)` when there is none, `Err(NoTask)` when a filter names a value no task has.
    fn selection<'s>(&self, store: &'s Store) -> Result<Option<Selection<'s>>, NoTask> {
        let p = &store.postings;
        let mut any_of: Vec<Vec<&Bitmap>> = Vec::new();
        if self.states != 0 {
            any_of.push(State::ALL.iter().filter(|s| self.states & s.bit() != 0).map(|&s| &p.states[s as usize]).collect());
        }
        for (wanted, map) in [
            (&self.name_exact, &p.names),
            (&self.hostname, &p.hosts),
            (&self.queue, &p.queues),
            (&self.exception_type, &p.exceptions),
        ] {
            if let Some(w) = wanted {
                any_of.push(vec![store.strings.get(w).and_then(|sym| map.get(&sym)).ok_or(NoTask)?]);
            }
        }
        Ok((!any_of.is_empty()).then_some(Selection { any_of }))
    }

    /// Whether a filter the postings do not answer is set.
    fn has_residual(&self) -> bool {
        self.trace_id.is_some() || self.name.is_some() || self.search.is_some()
    }

    /// The filters the postings do not answer.
    fn matches(&self, store: &Store, slot: u32, needle: Option<&Needle<'_>>) -> bool {
        let t = store.task(slot);
        let s = &store.strings;
        self.trace_id.as_deref().is_none_or(|w| t.trace_id.as_ref() == Some(&TaskKey::new(w)))
            && self.name.as_deref().is_none_or(|w| t.name.value.is_some_and(|n| contains_ci(s.resolve(n).as_bytes(), w)))
            && needle.is_none_or(|n| t.payload_events().any(|e| n.found_in(&e.raw())))
    }
}

/// A selection this small is gathered from the postings and sorted; a larger one is found by
/// walking the tasks from the newest, where a match turns up at least every this many steps.
const GATHER_BELOW: usize = 64;

pub fn list_tasks(store: &Store, f: &TaskFilter, live: &Liveness) -> Vec<u8> {
    let lo = f.from.unwrap_or(Micros::MIN);
    let hi = f.to.unwrap_or(Micros::MAX);
    let (page, total, exact) = match f.selection(store) {
        Err(NoTask) => (Vec::new(), 0, true),
        Ok(_) if lo > hi => (Vec::new(), 0, true),
        Ok(sel) => {
            let windowed = f.from.is_some() || f.to.is_some();
            let residual = f.has_residual();
            let count = sel.as_ref().map_or(store.len(), Selection::count);
            let needle = f.search.as_deref().map(Needle::new);
            // A search whose signature rules out most tasks reads only the few it lets through.
            let candidates = needle.as_ref().filter(|n| n.selective()).and_then(|n| {
                let few = store.len() / GATHER_BELOW;
                let mut slots = Vec::new();
                for s in 0..store.signatures.len() as u32 {
                    if n.may_match(&store.signatures[s as usize]) && sel.as_ref().is_none_or(|sel| sel.contains(s)) {
                        if slots.len() == few {
                            return None; // too many to gather: walking from the newest finds a page sooner
                        }
                        slots.push(s);
                    }
                }
                Some(slots)
            });
            let newest_first: Box<dyn Iterator<Item = u32>> = match (&sel, candidates) {
                (_, Some(mut slots)) => {
                    slots.sort_unstable_by_key(|&s| std::cmp::Reverse((store.task(s).last_updated, s)));
                    Box::new(slots.into_iter())
                }
                (Some(sel), _) if count.saturating_mul(GATHER_BELOW) < store.len() => {
                    let mut slots = sel.slots();
                    slots.sort_unstable_by_key(|&s| std::cmp::Reverse((store.task(s).last_updated, s)));
                    Box::new(slots.into_iter())
                }
                _ => Box::new(
                    store
                        .task_order
                        .range((lo, 0)..=(hi, u32::MAX))
                        .rev()
                        .filter(move |&slot| sel.as_ref().is_none_or(|sel| sel.contains(slot))),
                ),
            };
            let mut matches = newest_first.filter(|&slot| {
                // The dense signatures first: most tasks are ruled out without touching them.
                needle.as_ref().is_none_or(|n| n.may_match(&store.signatures[slot as usize]))
                    && (lo..=hi).contains(&store.task(slot).last_updated)
                    && f.matches(store, slot, needle.as_ref())
            });
            let mut skipped = 0;
            let mut page = Vec::with_capacity(f.limit);
            while page.len() < f.limit {
                let Some(slot) = matches.next() else { break };
                if skipped < f.offset {
                    skipped += 1;
                } else {
                    page.push(slot);
                }
            }
            if !residual && !windowed {
                (page, count, true)
            } else if f.search.is_some() && page.len() == f.limit {
                // A payload search stops at a full page: counting every match would read every
                // payload. `total` is then what was seen, flagged as a lower bound.
                let seen = skipped + page.len();
                (page, seen, false)
            } else {
                let rest = matches.count();
                let total = skipped + page.len() + rest;
                (page, total, true)
            }
        }
    };
    let mut out = Vec::with_capacity(512 * page.len() + 64);
    let mut o = Obj::new(&mut out);
    array(o.key("tasks"), page, |buf, slot| write_task(buf, store, slot, None, !f.compact, Some(live)));
    o.int("total", total as i64).bool("total_exact", exact).int("limit", f.limit as i64).int("offset", f.offset as i64);
    o.finish();
    out
}

pub fn get_task(store: &Store, id: &str, live: &Liveness) -> Option<Vec<u8>> {
    let slot = store.slot(id)?;
    let mut out = Vec::new();
    let mut o = Obj::new(&mut out);
    write_task(o.key("task"), store, slot, None, true, Some(live));
    array(o.key("children"), store.children(slot), |buf, c| write_task(buf, store, c, None, true, Some(live)));
    o.finish();
    Some(out)
}

pub fn task_children(store: &Store, id: &str, compact: bool, live: &Liveness) -> Option<Vec<u8>> {
    let slot = store.slot(id)?;
    let mut out = Vec::new();
    array(&mut out, store.children(slot), |buf, c| write_task(buf, store, c, None, !compact, Some(live)));
    Some(out)
}

/// Flows at least this large have their list row cached (smaller ones are cheaper to lay out).
const CACHED_ROW_TASKS: usize = 64;

/// Root flows, newest first; each is its root node with the flow's size and aggregate state.
pub fn list_graphs(store: &Store, limit: usize, offset: usize, from: Option<Micros>, to: Option<Micros>) -> Vec<u8> {
    let lo = from.unwrap_or(Micros::MIN);
    let hi = to.unwrap_or(Micros::MAX);
    // Flows updated at or after `lo`, newest first, that had begun by `hi`.
    let in_window = store.flow_order.range((lo, 0)..).rev().filter(|rep| store.flows[rep].first_seen <= hi);
    let total = if from.is_none() && to.is_none() { store.flows.len() } else { in_window.clone().count() };
    let mut out = Vec::new();
    let mut o = Obj::new(&mut out);
    array(o.key("graphs"), in_window.skip(offset).take(limit), |buf, rep| write_row(buf, store, rep));
    o.int("total", total as i64).int("limit", limit as i64).int("offset", offset as i64);
    o.finish();
    out
}

/// One flow list row: the root's GraphNode with the flow's aggregate fields.
fn write_row(buf: &mut Vec<u8>, store: &Store, rep: u32) {
    let flow = &store.flows[&rep];
    let cached = flow.members.len() >= CACHED_ROW_TASKS;
    if cached {
        let cache = store.row_cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((_, row)) = cache.get(&rep).filter(|(version, _)| *version == flow.version) {
            buf.extend_from_slice(row);
            return;
        }
    }
    let start = buf.len();
    let view = FlowView::build(store, rep);
    let Some(root) = view.root() else { return buf.extend_from_slice(b"null") };
    // The root's GraphNode with the flow's aggregate fields added before its closing brace.
    view.write_node(buf, root);
    buf.pop();
    buf.push(b',');
    let mut extra = Vec::new();
    Obj::new(&mut extra)
        .str("flow_state", flow.state().as_str())
        .int("task_count", flow.members.len() as i64)
        .ts("flow_first_seen", flow.first_seen)
        .ts("flow_last_updated", flow.last_updated)
        .finish();
    buf.extend_from_slice(&extra[1..]);
    if cached {
        let mut cache = store.row_cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        cache.insert(rep, (flow.version, buf[start..].to_vec()));
    }
}

/// A task of the flow named by a task id or a container id (`group:<id>`). A task whose own id
/// starts with `group:` (found by the `ingest` fuzz target) is found when no such group exists.
pub fn flow_member(store: &Store, id: &str) -> Option<u32> {
    let group = id.strip_prefix("group:").and_then(|group| store.groups.get(&TaskKey::new(group)));
    group.and_then(|members| members.first().copied()).or_else(|| store.slot(id))
}

/// The flow detail for a task id or a container id (`group:<id>`).
pub fn get_graph(store: &Store, id: &str, live: &Liveness) -> Option<Vec<u8>> {
    let member = flow_member(store, id)?;
    let view = FlowView::build(store, store.flow_of(member)).with_liveness(live);
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
        let mut o = Obj::new(buf);
        o.str("hostname", host)
            .opt_int("pid", w.pid.map(i64::from))
            .str_list("registered_tasks", w.registered_tasks.iter().map(String::as_str))
            .str("status", w.status(now))
            .opt_ts("registered_at", w.registered_at)
            .ts("last_seen", w.last_seen);
        match w.transport() {
            Some(counters) => write_counters(o.key("transport"), counters),
            None => {
                o.null("transport");
            }
        }
        o.finish();
    });
    o.int("total", list.len() as i64);
    o.finish();
    out
}

/// `{sent, dropped, errors, buffered}` of producer transports.
pub fn write_counters(out: &mut Vec<u8>, c: TransportCounters) {
    let as_int = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    Obj::new(out)
        .int("sent", as_int(c.sent))
        .int("dropped", as_int(c.dropped))
        .int("errors", as_int(c.errors))
        .int("buffered", as_int(c.buffered))
        .finish();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{decode, Decoded};

    fn store() -> Store {
        let mut s = Store::new(1000);
        for i in 0..300u32 {
            let state = ["PENDING", "STARTED", "SUCCESS", "FAILURE"][(i % 4) as usize];
            let raw = format!(
                r#"{{"task_id":"t{i}","name":"n{}","state":"{state}","timestamp":{},"hostname":"h{}","args":[{i}],"exception_type":"{}"}}"#,
                i % 3,
                1_700_000_000 + i,
                i % 5,
                if state == "FAILURE" { "E" } else { "" }
            );
            let Ok(Decoded::Task(ev)) = decode(raw.as_bytes()) else { panic!() };
            s.apply(&ev, raw.as_bytes());
        }
        s
    }

    #[test]
    fn a_task_named_like_a_container_still_has_its_flow() {
        let mut s = Store::new(10);
        let raw = br#"{"task_id":"group:x","state":"SUCCESS","timestamp":1}"#;
        let Ok(Decoded::Task(ev)) = decode(raw) else { panic!() };
        s.apply(&ev, raw);
        let graph: serde_json::Value = serde_json::from_slice(&get_graph(&s, "group:x", &Liveness::default()).unwrap()).unwrap();
        assert_eq!(graph["nodes"]["group:x"]["node_type"], "TASK");
    }

    fn ids(out: &[u8]) -> (Vec<String>, i64) {
        let v: serde_json::Value = serde_json::from_slice(out).unwrap();
        let ids = v["tasks"].as_array().unwrap().iter().map(|t| t["task_id"].as_str().unwrap().to_owned()).collect();
        (ids, v["total"].as_i64().unwrap())
    }


    /// A payload search by signature (selective needles) or by walking (short ones) finds exactly
    /// the tasks whose args contain the text, newest first, alone or with postings.
    #[test]
    fn payload_search_finds_exactly_the_containing_tasks() {
        let s = store();
        let page = TaskFilter { limit: 200, compact: true, ..TaskFilter::default() };
        for (needle, states, want) in [
            ("25]", 0, vec![225, 125, 25]),
            ("[12", 0, vec![129, 128, 127, 126, 125, 124, 123, 122, 121, 120, 12]),
            ("[12", State::Failure.bit(), vec![127, 123]),
            ("zzz", 0, vec![]),
        ] {
            let f = TaskFilter { search: Some(needle.into()), states, ..page.clone() };
            let want: Vec<String> = want.iter().map(|i| format!("t{i}")).collect();
            let total = want.len() as i64;
            assert_eq!(ids(&list_tasks(&s, &f, &Liveness::default())), (want, total), "{needle}");
        }
        let short = TaskFilter { search: Some("[1".into()), ..page };
        assert_eq!(ids(&list_tasks(&s, &short, &Liveness::default())).1, 111, "1, 10-19, 100-199");
    }

    /// Postings, gathering and walking all give what a plain scan of every task gives.
    #[test]
    fn filtered_pages_match_a_full_scan() {
        let s = store();
        let base = TaskFilter { limit: 7, offset: 3, compact: true, ..TaskFilter::default() };
        let filters = [
            TaskFilter { states: State::Failure.bit() | State::Pending.bit(), ..base.clone() },
            TaskFilter { name_exact: Some("n1".into()), hostname: Some("h2".into()), ..base.clone() },
            TaskFilter { name_exact: Some("n1".into()), from: Some(crate::time::from_epoch_seconds(1_700_000_100.0).unwrap()), ..base.clone() },
            TaskFilter { name: Some("N2".into()), ..base.clone() },
            TaskFilter { hostname: Some("nobody".into()), ..base.clone() },
            TaskFilter { exception_type: Some("E".into()), ..base.clone() },
            base.clone(),
        ];
        for f in filters {
            let expected: Vec<u32> = (0..300u32)
                .rev()
                .filter(|i| f.states == 0 || f.states & [State::Pending, State::Started, State::Success, State::Failure][(i % 4) as usize].bit() != 0)
                .filter(|i| f.name_exact.as_deref().is_none_or(|n| n == format!("n{}", i % 3)))
                .filter(|i| f.name.is_none() || i % 3 == 2)
                .filter(|i| f.hostname.as_deref().is_none_or(|h| h == format!("h{}", i % 5)))
                .filter(|&i| f.from.is_none() || i >= 100)
                .filter(|i| f.exception_type.is_none() || i % 4 == 3)
                .collect();
            let want: Vec<String> = expected.iter().skip(3).take(7).map(|i| format!("t{i}")).collect();
            assert_eq!(ids(&list_tasks(&s, &f, &Liveness::default())), (want, expected.len() as i64), "{f:?}");
        }
    }
}
