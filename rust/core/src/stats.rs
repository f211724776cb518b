//! Aggregates over a time window: overview, time series by state, failures by exception.
//! Each walks only the tasks updated inside the window (the store keeps them ordered by update).

use std::collections::{BTreeMap, BTreeSet};

use crate::json::{array, Obj};
use crate::state::State;
use crate::store::Store;
use crate::time::Micros;

const MINUTE: Micros = 60_000_000;

/// Tasks last updated within `[start, end]`.
fn in_window(store: &Store, start: Micros, end: Micros) -> impl Iterator<Item = u32> + '_ {
    store.task_order.range((start, 0)..=(end, u32::MAX))
}

fn write_window(o: &mut Obj<'_>, start: Micros, end: Micros) {
    Obj::new(o.key("window")).ts("start", start).ts("end", end).finish();
}

/// Finished runs and failures in the window and in the one before it (the baseline).
pub fn overview(store: &Store, start: Micros, end: Micros, workers_online: usize, workers_total: usize) -> Vec<u8> {
    let span = (end - start).max(1);
    let count = |from: Micros, to: Micros| {
        let (mut runs, mut failures) = (0u64, 0u64);
        for slot in in_window(store, from, to) {
            let state = store.task(slot).state;
            if state.is_terminal() {
                runs += 1;
                failures += u64::from(state == State::Failure);
            }
        }
        (runs, failures)
    };
    let (runs, failures) = count(start, end);
    let (base_runs, base_failures) = count(start - span, start - 1);
    let minutes = span as f64 / MINUTE as f64;
    let rate = |f: u64, r: u64| if r == 0 { 0.0 } else { f as f64 / r as f64 };
    let mut out = Vec::new();
    let mut o = Obj::new(&mut out);
    write_window(&mut o, start, end);
    let mut pair = |key: &'static str, value: f64, baseline: f64| {
        let buf = o.key(key);
        buf.extend_from_slice(format!(r#"{{"value":{value},"baseline":{baseline}}}"#).as_bytes());
    };
    pair("runs", runs as f64, base_runs as f64);
    pair("failures", failures as f64, base_failures as f64);
    pair("runs_per_minute", runs as f64 / minutes, base_runs as f64 / minutes);
    pair("failure_rate", rate(failures, runs), rate(base_failures, base_runs));
    Obj::new(o.key("workers")).int("online", workers_online as i64).int("total", workers_total as i64).finish();
    o.finish();
    out
}

/// Tasks per bucket of last update, by current state.
pub fn timeseries(store: &Store, start: Micros, end: Micros, bucket: Micros) -> Vec<u8> {
    let bucket = bucket.max(1_000_000);
    let first = start - start.rem_euclid(bucket);
    let buckets = ((end - first) / bucket + 1) as usize;
    let mut counts: BTreeMap<State, Vec<u64>> = State::ALL.iter().map(|&s| (s, vec![0; buckets])).collect();
    for slot in in_window(store, start, end) {
        let t = store.task(slot);
        let i = ((t.last_updated - first) / bucket) as usize;
        if let Some(series) = counts.get_mut(&t.state) {
            series[i.min(buckets - 1)] += 1;
        }
    }
    let mut out = Vec::new();
    let mut o = Obj::new(&mut out);
    write_window(&mut o, start, end);
    o.int("bucket_seconds", bucket / 1_000_000);
    array(o.key("starts"), 0..buckets, |buf, i| {
        buf.push(b'"');
        crate::time::write_iso(buf, first + i as Micros * bucket);
        buf.push(b'"');
    });
    let mut c = Obj::new(o.key("counts"));
    for (state, series) in &counts {
        array(c.key(state.as_str()), series, |buf, n| buf.extend_from_slice(n.to_string().as_bytes()));
    }
    c.finish();
    o.finish();
    out
}

/// Failed tasks in the window grouped by exception type, largest group first.
pub fn failures(store: &Store, start: Micros, end: Micros) -> Vec<u8> {
    struct Group {
        count: u64,
        first: Micros,
        last: Micros,
        names: BTreeSet<String>,
        samples: Vec<String>,
    }
    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    let mut total = 0u64;
    for slot in in_window(store, start, end) {
        let t = store.task(slot);
        if t.state != State::Failure {
            continue;
        }
        total += 1;
        let exc = t.exception_type.value.map_or("Unknown", |e| store.strings.resolve(e)).to_owned();
        let g = groups.entry(exc).or_insert(Group {
            count: 0,
            first: Micros::MAX,
            last: Micros::MIN,
            names: BTreeSet::new(),
            samples: Vec::new(),
        });
        g.count += 1;
        g.first = g.first.min(t.last_updated);
        g.last = g.last.max(t.last_updated);
        if let Some(n) = t.name.value {
            g.names.insert(store.strings.resolve(n).to_owned());
        }
        if g.samples.len() < 5 {
            g.samples.push(t.key.to_string());
        }
    }
    let mut ordered: Vec<(&String, &Group)> = groups.iter().collect();
    ordered.sort_by(|a, b| b.1.count.cmp(&a.1.count).then_with(|| a.0.cmp(b.0)));
    let mut out = Vec::new();
    let mut o = Obj::new(&mut out);
    write_window(&mut o, start, end);
    o.str("group_by", "exception").int("total", total as i64);
    array(o.key("groups"), ordered, |buf, (exc, g)| {
        Obj::new(buf)
            .str("exception_type", exc)
            .int("count", g.count as i64)
            .ts("first_seen", g.first)
            .ts("last_seen", g.last)
            .str_list("task_names", g.names.iter().map(String::as_str))
            .str_list("sample_task_ids", g.samples.iter().map(String::as_str))
            .finish();
    });
    o.finish();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{decode, Decoded};

    fn feed(store: &mut Store, raw: &str) {
        let Ok(Decoded::Task(ev)) = decode(raw.as_bytes()) else { panic!() };
        store.apply(&ev, raw.as_bytes());
    }

    #[test]
    fn counts_runs_failures_and_groups() {
        let mut s = Store::new(100);
        for (id, state, minute, exc) in
            [("a", "SUCCESS", 5, ""), ("b", "FAILURE", 6, "ValueError"), ("c", "FAILURE", 1, "KeyError")]
        {
            feed(
                &mut s,
                &format!(
                    r#"{{"task_id":"{id}","name":"n","state":"{state}","timestamp":"2025-01-01T00:{minute:02}:00Z","exception_type":"{exc}"}}"#
                ),
            );
        }
        let start = crate::time::parse_iso("2025-01-01T00:04:00Z").unwrap();
        let end = start + 4 * MINUTE;
        let v: serde_json::Value = serde_json::from_slice(&overview(&s, start, end, 1, 2)).unwrap();
        assert_eq!(v["runs"]["value"], 2.0);
        assert_eq!(v["failures"]["value"], 1.0);
        assert_eq!(v["runs"]["baseline"], 1.0);
        let f: serde_json::Value = serde_json::from_slice(&failures(&s, start, end)).unwrap();
        assert_eq!(f["total"], 1);
        assert_eq!(f["groups"][0]["exception_type"], "ValueError");
        let t: serde_json::Value = serde_json::from_slice(&timeseries(&s, start, end, MINUTE)).unwrap();
        assert_eq!(t["counts"]["SUCCESS"].as_array().unwrap().iter().map(|n| n.as_u64().unwrap()).sum::<u64>(), 1);
        assert_eq!(t["bucket_seconds"], 60);
    }
}
