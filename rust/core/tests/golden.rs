//! Golden tests: events recorded from a real Celery worker (`bench/engine/record_flows.py` writes
//! `tests/golden/<shape>.jsonl`) must draw the graph a user expects, whatever order they arrive in.

use std::collections::BTreeMap;
use std::path::PathBuf;

use proptest::prelude::*;
use serde_json::Value;
use stemtrace_core::query::TaskFilter;
use stemtrace_core::{Engine, EngineConfig};

const SHAPES: [&str; 18] = [
    "single",
    "chain",
    "group",
    "chord",
    "chord_chain_body",
    "group_of_chains",
    "chain_with_chord",
    "failure",
    "failed_chain",
    "retry",
    "replace",
    "spawn",
    "secrets",
    "reject",
    "ignore",
    "chord_in_chord_body",
    "nested_group",
    "chord_header_failed",
];

fn events(shape: &str) -> Vec<Vec<u8>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/golden").join(format!("{shape}.jsonl"));
    let text = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.split(|&b| b == b'\n').filter(|l| !l.is_empty()).map(<[u8]>::to_vec).collect()
}

fn engine(events: &[Vec<u8>]) -> Engine {
    let e = Engine::new(EngineConfig::new(None, "golden", 10_000).unwrap());
    e.ingest(events.iter().map(Vec::as_slice));
    e
}

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).expect("valid JSON")
}

/// The one flow a shape makes, drawn from its root.
struct Flow {
    listed: Value,
    nodes: BTreeMap<String, Value>,
}

impl Flow {
    fn of(e: &Engine) -> Flow {
        let list = json(&e.list_graphs(100, 0, None, None));
        assert_eq!(list["total"], 1, "one shape is one flow: {list}");
        let listed = list["graphs"][0].clone();
        let root = listed["task_id"].as_str().unwrap().to_owned();
        let graph = json(&e.get_graph(&root).expect("the listed root has a graph"));
        let nodes = graph["nodes"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        Flow { listed, nodes }
    }

    fn root(&self) -> &Value {
        &self.nodes[self.listed["task_id"].as_str().unwrap()]
    }

    /// Task nodes whose name ends with `.short`, oldest first.
    fn named(&self, short: &str) -> Vec<&Value> {
        let mut out: Vec<&Value> = self
            .nodes
            .values()
            .filter(|n| n["node_type"] == "TASK" && n["name"].as_str().unwrap().ends_with(&format!(".{short}")))
            .collect();
        out.sort_by_key(|n| n["first_seen"].as_str().unwrap().to_owned());
        out
    }

    fn one(&self, short: &str) -> &Value {
        let found = self.named(short);
        assert_eq!(found.len(), 1, "one {short} task expected");
        found[0]
    }

    fn containers(&self) -> Vec<&Value> {
        self.nodes.values().filter(|n| n["node_type"] != "TASK").collect()
    }

    fn container(&self) -> &Value {
        let c = self.containers();
        assert_eq!(c.len(), 1, "one container expected");
        c[0]
    }

    fn id(node: &Value) -> &str {
        node["task_id"].as_str().unwrap()
    }

    fn children(node: &Value) -> Vec<&str> {
        node["children"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect()
    }

    fn task_count(&self) -> usize {
        self.nodes.values().filter(|n| n["node_type"] == "TASK").count()
    }

    /// Every parent names a node of the graph that lists the child, or a container whose chord
    /// continues with it; no node is its own ancestor.
    fn assert_consistent(&self) {
        for (id, n) in &self.nodes {
            if let Some(p) = n["parent_id"].as_str() {
                let parent = &self.nodes[p];
                assert!(
                    Flow::children(parent).contains(&id.as_str()) || parent["chord_id"] == id.as_str(),
                    "{id} hangs off {p}, which does not lead to it"
                );
            }
            let mut up = n["parent_id"].as_str();
            for _ in 0..=self.nodes.len() {
                up = up.and_then(|p| self.nodes[p]["parent_id"].as_str());
            }
            assert!(up.is_none(), "{id} is in a parent cycle");
        }
    }
}

fn flow(shape: &str) -> Flow {
    let evs = events(shape);
    let f = Flow::of(&engine(&evs));
    f.assert_consistent();
    let distinct: std::collections::HashSet<String> =
        evs.iter().map(|e| json(e)["task_id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(f.task_count(), distinct.len(), "every task of {shape} is drawn");
    assert_eq!(f.listed["task_count"], distinct.len());
    f
}

#[test]
fn single() {
    let f = flow("single");
    let add = f.one("add");
    assert_eq!((&add["state"], &add["parent_id"], Flow::children(add).len()), (&"SUCCESS".into(), &Value::Null, 0));
}

#[test]
fn chain() {
    let f = flow("chain");
    let (adds, mul) = (f.named("add"), f.one("mul"));
    assert_eq!(Flow::id(f.root()), Flow::id(adds[0]));
    assert_eq!(mul["parent_id"], adds[0]["task_id"]);
    assert_eq!(adds[1]["parent_id"], mul["task_id"]);
    assert!(f.nodes.values().all(|n| n["state"] == "SUCCESS"));
}

#[test]
fn group() {
    let f = flow("group");
    let g = f.container();
    assert_eq!((&g["node_type"], &g["state"], &g["parent_id"]), (&"GROUP".into(), &"SUCCESS".into(), &Value::Null));
    assert_eq!(Flow::id(f.root()), Flow::id(g));
    assert_eq!(Flow::children(g).len(), 4);
    assert!(f.named("add").iter().all(|a| a["parent_id"] == g["task_id"]));
}

fn assert_chord_after(f: &Flow, chord: &Value, entry: &Value) {
    assert_eq!(chord["node_type"], "CHORD");
    assert_eq!(chord["chord_id"], entry["task_id"], "the chord continues with its body");
    assert_eq!(entry["parent_id"], chord["task_id"], "the body hangs off the chord");
    assert!(!Flow::children(chord).contains(&Flow::id(entry)), "the body is drawn outside the box");
    assert!(!chord["members"].as_array().unwrap().contains(&entry["task_id"]));
    assert!(f.nodes.contains_key(Flow::id(entry)));
}

#[test]
fn chord() {
    let f = flow("chord");
    let c = f.container();
    assert_eq!(Flow::id(f.root()), Flow::id(c));
    assert_eq!(Flow::children(c).len(), 3);
    assert_chord_after(&f, c, f.one("xsum"));
    assert_eq!(c["chord_callback_id"], f.one("xsum")["task_id"]);
    assert_eq!(c["not_run_reason"], Value::Null);
}

#[test]
fn chord_chain_body() {
    let f = flow("chord_chain_body");
    let c = f.container();
    let (xsum, mul) = (f.one("xsum"), f.one("mul"));
    assert_eq!(Flow::children(c).len(), 3);
    assert_chord_after(&f, c, xsum);
    assert_eq!(c["chord_callback_id"], mul["task_id"], "the callback is the body chain's last task");
    assert_eq!(mul["parent_id"], xsum["task_id"]);
}

#[test]
fn group_of_chains() {
    let f = flow("group_of_chains");
    let g = f.container();
    assert_eq!((&g["node_type"], Flow::id(f.root())), (&"GROUP".into(), Flow::id(g)));
    let heads = f.named("add");
    assert_eq!(heads.len(), 3);
    let mut rows: Vec<&str> = heads.iter().map(|h| Flow::id(h)).collect();
    rows.sort_unstable();
    let mut children = Flow::children(g);
    children.sort_unstable();
    assert_eq!(children, rows, "each chain is a row inside the group");
    for head in heads {
        let tail = Flow::children(head);
        assert_eq!(tail.len(), 1);
        assert_eq!(f.nodes[tail[0]]["name"], "examples.celery_app.mul");
    }
    assert_eq!(g["members"].as_array().unwrap().len(), 6);
}

#[test]
fn chain_with_chord() {
    let f = flow("chain_with_chord");
    let (add, c) = (f.one("add"), f.container());
    assert_eq!(Flow::id(f.root()), Flow::id(add));
    assert_eq!(c["parent_id"], add["task_id"]);
    assert_eq!(Flow::children(add), vec![Flow::id(c)]);
    assert_eq!(Flow::children(c).len(), 2);
    assert_chord_after(&f, c, f.one("xsum"));
}

#[test]
fn failure() {
    let f = flow("failure");
    let t = f.one("fail");
    assert_eq!((&t["state"], &t["exception_type"]), (&"FAILURE".into(), &"ValueError".into()));
}

#[test]
fn failed_chain() {
    let f = flow("failed_chain");
    let (add, fail) = (f.one("add"), f.one("fail"));
    assert_eq!(add["state"], "SUCCESS");
    assert_eq!((&fail["state"], &fail["parent_id"]), (&"FAILURE".into(), &add["task_id"]));
    assert!(Flow::children(fail).is_empty(), "steps that were never published are not invented");
}

#[test]
fn retry() {
    let f = flow("retry");
    let t = f.one("flaky");
    assert_eq!((&t["state"], &t["retries"]), (&"SUCCESS".into(), &2.into()));
    assert!(t["total_runtime_ms"].as_f64().unwrap() >= t["runtime_ms"].as_f64().unwrap());
}

#[test]
fn replace() {
    let f = flow("replace");
    let (replaced, add) = (f.one("replaced"), f.one("add"));
    assert_eq!(Flow::id(f.root()), Flow::id(replaced));
    assert_eq!((&replaced["state"], &replaced["parent_id"]), (&"SUCCESS".into(), &Value::Null));
    assert_eq!(add["parent_id"], replaced["task_id"]);
}

#[test]
fn spawn() {
    let f = flow("spawn");
    let spawn = f.one("spawn");
    assert_eq!(Flow::children(spawn).len(), 3);
    assert!(f.named("add").iter().all(|a| a["parent_id"] == spawn["task_id"]));
}

#[test]
fn secrets() {
    let f = flow("secrets");
    assert_eq!(f.one("login")["state"], "SUCCESS");
}

#[test]
fn reject() {
    assert_eq!(flow("reject").one("rejected")["state"], "REJECTED");
}

#[test]
fn ignore() {
    assert_eq!(flow("ignore").one("ignored")["state"], "IGNORED");
}

#[test]
fn chord_in_chord_body() {
    let f = flow("chord_in_chord_body");
    let chords = f.containers();
    assert_eq!(chords.len(), 2);
    let outer = f.root();
    let inner = chords.into_iter().find(|c| c["task_id"] != outer["task_id"]).unwrap();
    assert_eq!(outer["chord_id"], inner["task_id"], "the outer chord continues with the inner one");
    assert_eq!(inner["parent_id"], outer["task_id"]);
    assert_eq!((Flow::children(outer).len(), Flow::children(inner).len()), (2, 2));
    assert_chord_after(&f, inner, f.one("xsum"));
}

#[test]
fn nested_group() {
    // Celery flattens a group inside a group: one container with every task.
    let f = flow("nested_group");
    assert_eq!(Flow::children(f.container()).len(), 3);
}

#[test]
fn chord_header_failed() {
    let f = flow("chord_header_failed");
    let c = f.container();
    assert_eq!((&c["node_type"], &c["state"]), (&"CHORD".into(), &"FAILURE".into()));
    assert_eq!(c["not_run_reason"], "header_failed");
    assert!(c["chord_id"].is_string(), "the callback that never ran is still named");
}

/// The graph and every task's state, as JSON to compare.
fn fingerprint(e: &Engine) -> (Value, Value) {
    let list = json(&e.list_graphs(100, 0, None, None));
    let root = list["graphs"][0]["task_id"].as_str().unwrap().to_owned();
    let tasks = json(&e.list_tasks(&TaskFilter { limit: 500, compact: true, ..TaskFilter::default() }));
    let mut states: Vec<(String, String)> = tasks["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["task_id"].to_string(), t["state"].to_string()))
        .collect();
    states.sort();
    (json(&e.get_graph(&root).unwrap()), serde_json::to_value(states).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]
    #[test]
    fn any_order_and_duplicates_give_the_same_graph(
        shape in proptest::sample::select(SHAPES.to_vec()),
        seed in any::<u64>(),
        dups in proptest::collection::vec(any::<prop::sample::Index>(), 0..8),
        batch in 1usize..8,
    ) {
        let original = events(shape);
        let mut shuffled = original.clone();
        shuffled.extend(dups.iter().map(|i| original[i.index(original.len())].clone()));
        // A deterministic shuffle from the seed (xorshift), so a failure is reproducible.
        let mut x = seed | 1;
        for i in (1..shuffled.len()).rev() {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            shuffled.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let e = Engine::new(EngineConfig::new(None, "golden", 10_000).unwrap());
        for chunk in shuffled.chunks(batch) {
            e.ingest(chunk.iter().map(Vec::as_slice));
        }
        prop_assert_eq!(fingerprint(&e), fingerprint(&engine(&original)));
    }
}

/// Every event a task keeps comes back in its detail exactly as the worker wrote it, whichever of its
/// events arrived first (the others are kept as their differences from that one).
#[test]
fn every_recorded_event_comes_back_byte_for_byte() {
    for shape in SHAPES {
        let mut evs = events(shape);
        for _ in 0..2 {
            evs.reverse();
            let e = engine(&evs);
            for raw in &evs {
                let Some(id) = json(raw)["task_id"].as_str().map(str::to_owned) else { continue };
                let detail = e.get_task(&id).unwrap();
                assert!(detail.windows(raw.len()).any(|w| w == &raw[..]), "{shape}: {}", String::from_utf8_lossy(raw));
            }
        }
    }
}
