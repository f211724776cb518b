//! Any bytes, cut into stream entries at each newline, through `Engine::ingest` and the queries
//! that read what it stored: whatever arrives, in whatever order, every answer is UTF-8 JSON and
//! every listed task has a detail and a flow (links, containers, flows, eviction at a small
//! `max_tasks`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde::de::IgnoredAny;
use stemtrace_core::query::TaskFilter;
use stemtrace_core::{Engine, EngineConfig};

/// UTF-8 and JSON syntax. (Not `serde_json::Value`: stored events are served as they arrived, and
/// JSON allows a lone surrogate escape that a `Value` refuses.)
fn assert_json(answer: &[u8], what: &str) {
    let text = std::str::from_utf8(answer).unwrap_or_else(|e| panic!("{what} is not UTF-8: {e}"));
    serde_json::from_str::<IgnoredAny>(text).unwrap_or_else(|e| panic!("{what} is not JSON: {e}"));
}

fuzz_target!(|data: &[u8]| {
    let Ok(config) = EngineConfig::new(None, "fuzz", 16) else { return };
    let engine = Engine::new(config);
    engine.ingest(data.split(|&b| b == b'\n'));
    assert_json(&engine.health(), "health");
    assert_json(&engine.workers(None), "workers");
    assert_json(&engine.list_tasks(&TaskFilter { limit: 50, ..TaskFilter::default() }), "task list");
    assert_json(&engine.list_graphs(50, 0, None, None), "flow list");
    let compact = engine.list_tasks(&TaskFilter { limit: 50, compact: true, ..TaskFilter::default() });
    let listed: serde_json::Value = serde_json::from_slice(&compact).expect("a compact list has no raw events");
    for task in listed["tasks"].as_array().into_iter().flatten() {
        let id = task["task_id"].as_str().expect("a task id");
        assert_json(&engine.get_task(id).expect("a listed task has a detail"), "task detail");
        assert_json(&engine.get_graph(id).expect("a listed task has a flow"), "flow detail");
    }
});
