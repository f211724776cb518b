//! The worker registry, from worker lifecycle events and heartbeats. Kept in a `DashMap` apart
//! from the task store so heartbeats never wait on the store's lock.

use std::collections::HashMap;

use dashmap::DashMap;

use crate::event::{TransportCounters, WorkerEvent};
use crate::time::Micros;

/// A worker is shown stale after three missed heartbeats; 30 s apart when it does not say.
const MISSED_HEARTBEATS: Micros = 3;
const DEFAULT_HEARTBEAT: Micros = 30 * 1_000_000;
/// Events older than this when they arrive are history being replayed, not news of a live worker.
const HISTORY: Micros = 10 * 60 * 1_000_000;
/// Sent by each prefork child with its own transport counters; says nothing about the worker's state.
pub const PROCESS_HEARTBEAT: &str = "worker_process_heartbeat";
/// Processes whose counters are kept apart per worker; beyond it (children replaced by
/// `max_tasks_per_child`) the longest silent one is folded into `retired`.
const MAX_PROCESSES: usize = 64;

#[derive(Debug, Clone, Default)]
pub struct TaskInfo {
    pub module: Option<String>,
    pub signature: Option<String>,
    pub docstring: Option<String>,
    pub bound: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Worker {
    pub pid: Option<u32>,
    pub registered_tasks: Vec<String>,
    pub definitions: Vec<(String, TaskInfo)>,
    pub registered_at: Option<Micros>,
    pub last_seen: Micros,
    /// When the server last heard from the worker, by the server's clock: a worker whose clock is
    /// minutes behind is not stale while its heartbeats keep arriving.
    heard: Micros,
    pub shut_down: bool,
    /// Only workers that send heartbeats can go stale; 0.4.x workers send none.
    pub heartbeats: bool,
    /// The interval the worker announced (`heartbeat_interval`).
    heartbeat_interval: Option<Micros>,
    /// The latest counters of each of the worker's processes: (pid, counters, reported at).
    processes: Vec<(u32, TransportCounters, Micros)>,
    /// What processes no longer tracked had sent, dropped and failed.
    retired: TransportCounters,
}

impl Worker {
    /// The transport counters of all the worker's processes, or `None` when none reported any.
    pub fn transport(&self) -> Option<TransportCounters> {
        if self.processes.is_empty() && self.retired == TransportCounters::default() {
            return None;
        }
        Some(self.processes.iter().fold(self.retired, |sum, (_, c, _)| add(sum, *c)))
    }

    /// Counters are cumulative per process, so the newest report of a pid replaces the older one.
    fn report(&mut self, pid: u32, counters: TransportCounters, ts: Micros) {
        match self.processes.iter_mut().find(|(p, _, _)| *p == pid) {
            Some(entry) if ts >= entry.2 => *entry = (pid, counters, ts),
            Some(_) => {}
            None => {
                if self.processes.len() >= MAX_PROCESSES {
                    let oldest = (0..self.processes.len()).min_by_key(|&i| self.processes[i].2).unwrap_or(0);
                    let (_, gone, _) = self.processes.swap_remove(oldest);
                    self.retired = add(self.retired, TransportCounters { buffered: 0, ..gone });
                }
                self.processes.push((pid, counters, ts));
            }
        }
    }

    pub fn status(&self, now: Micros) -> &'static str {
        if self.shut_down {
            "offline"
        } else if self.heartbeats
            && now - self.heard > MISSED_HEARTBEATS * self.heartbeat_interval.unwrap_or(DEFAULT_HEARTBEAT)
        {
            "stale"
        } else {
            "online"
        }
    }
}

#[derive(Default)]
pub struct Workers {
    pub map: DashMap<String, Worker>,
}

impl Workers {
    /// Apply a worker event that arrived at `now` (the server's clock).
    pub fn apply(&self, ev: &WorkerEvent<'_>, now: Micros) {
        let (Some(host), Some(ts)) = (ev.hostname.as_deref(), ev.timestamp) else { return };
        if ev.event_type == PROCESS_HEARTBEAT {
            // A child's report never creates a worker nor changes its pid or status.
            if let (Some(mut w), Some(counters)) = (self.map.get_mut(host), ev.transport) {
                w.report(ev.pid.unwrap_or(0), counters, ts);
            }
            return;
        }
        let mut w = self.map.entry(host.to_owned()).or_default();
        if let Some(counters) = ev.transport {
            w.report(ev.pid.unwrap_or(0), counters, ts);
        }
        w.pid = ev.pid.or(w.pid);
        w.heartbeat_interval = ev.heartbeat_interval.or(w.heartbeat_interval);
        // A worker that announces its interval will beat: it can go stale before its first beat.
        w.heartbeats |= ev.heartbeat_interval.is_some();
        w.heard = w.heard.max(heard(ts, now));
        if ts >= w.last_seen {
            w.last_seen = ts;
            match ev.event_type.as_ref() {
                "worker_ready" => {
                    w.shut_down = false;
                    w.registered_at = Some(ts);
                    w.registered_tasks = ev.registered_tasks.iter().map(ToString::to_string).collect();
                    w.definitions = ev
                        .task_definitions
                        .iter()
                        .map(|d| {
                            let info = TaskInfo {
                                module: d.module.as_deref().map(Into::into),
                                signature: d.signature.as_deref().map(Into::into),
                                docstring: d.docstring.as_deref().map(Into::into),
                                bound: d.bound,
                            };
                            (d.name.to_string(), info)
                        })
                        .collect();
                    let defined: Vec<String> = w.definitions.iter().map(|(n, _)| n.clone()).collect();
                    for name in defined {
                        if !w.registered_tasks.contains(&name) {
                            w.registered_tasks.push(name);
                        }
                    }
                }
                "worker_shutdown" | "worker_terminating" => w.shut_down = true,
                "worker_heartbeat" => {
                    w.shut_down = false;
                    w.heartbeats = true;
                }
                _ => {}
            }
        }
    }

    /// A snapshot of what bears on whether a worker's tasks can still be running.
    pub fn liveness(&self, now: Micros) -> Liveness {
        Liveness(self.map.iter().map(|w| (w.key().clone(), (w.status(now), w.registered_at))).collect())
    }

    /// The transport counters of every worker, summed.
    pub fn transport(&self) -> TransportCounters {
        self.map.iter().filter_map(|w| w.transport()).fold(TransportCounters::default(), add)
    }

    /// A task event from a worker proves it is alive.
    pub fn seen(&self, host: &str, ts: Micros, now: Micros) {
        if let Some(mut w) = self.map.get_mut(host) {
            w.heard = w.heard.max(heard(ts, now));
            if ts > w.last_seen && !w.shut_down {
                w.last_seen = ts;
            }
        }
    }
}

/// When an event stamped `ts` by its worker shows the worker alive: on arrival for live events
/// (whatever the worker's clock says), at its own time for history replayed on a restart.
fn heard(ts: Micros, now: Micros) -> Micros {
    if now - ts > HISTORY {
        ts
    } else {
        now
    }
}

/// Per hostname: the worker's status and when it last started.
#[derive(Debug, Default)]
pub struct Liveness(HashMap<String, (&'static str, Option<Micros>)>);

impl Liveness {
    /// Why a task received or started on `host`, last updated at `since`, can no longer be running:
    /// its worker said goodbye, stopped sending heartbeats, or started again since. `None` when
    /// it may still run (or the worker is unknown, as with 0.4.x workers whose events were trimmed).
    pub fn interrupted(&self, host: &str, since: Micros) -> Option<&'static str> {
        let (status, started) = self.0.get(host)?;
        match *status {
            "offline" => Some("worker_offline"),
            "stale" => Some("worker_stale"),
            _ if started.is_some_and(|s| s > since) => Some("worker_restarted"),
            _ => None,
        }
    }
}

fn add(a: TransportCounters, b: TransportCounters) -> TransportCounters {
    TransportCounters {
        sent: a.sent.saturating_add(b.sent),
        dropped: a.dropped.saturating_add(b.dropped),
        errors: a.errors.saturating_add(b.errors),
        buffered: a.buffered.saturating_add(b.buffered),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{decode, Decoded};

    fn apply(workers: &Workers, raw: &str) {
        apply_at(workers, raw, 0);
    }

    fn apply_at(workers: &Workers, raw: &str, now: Micros) {
        let Ok(Decoded::Worker(ev)) = decode(raw.as_bytes()) else { panic!("{raw}") };
        workers.apply(&ev, now);
    }

    fn beat(kind: &str, pid: u32, ts: u32, dropped: u32) -> String {
        format!(
            r#"{{"event_type":"{kind}","hostname":"w","pid":{pid},"timestamp":{ts},
            "transport":{{"sent":10,"dropped":{dropped},"errors":1,"buffered":2}}}}"#
        )
    }

    #[test]
    fn sums_the_latest_counters_of_each_process() {
        let workers = Workers::default();
        apply(&workers, &beat("worker_ready", 1, 1, 0));
        apply(&workers, &beat("worker_heartbeat", 1, 3, 5));
        apply(&workers, &beat("worker_heartbeat", 1, 2, 4)); // older report of the same process
        apply(&workers, &beat(PROCESS_HEARTBEAT, 7, 3, 6));
        let w = workers.map.get("w").unwrap().clone();
        assert_eq!(w.transport(), Some(TransportCounters { sent: 20, dropped: 11, errors: 2, buffered: 4 }));
        assert_eq!(w.pid, Some(1), "a child's report does not change the worker's pid");
        assert_eq!(workers.transport().dropped, 11);
    }

    #[test]
    fn folds_processes_beyond_the_cap_without_losing_counts() {
        let workers = Workers::default();
        apply(&workers, &beat("worker_ready", 1, 1, 0));
        for pid in 2..(MAX_PROCESSES as u32 + 10) {
            apply(&workers, &beat(PROCESS_HEARTBEAT, pid, pid, 1));
        }
        let w = workers.map.get("w").unwrap().clone();
        let sum = w.transport().unwrap();
        assert_eq!(sum.dropped, u64::from(MAX_PROCESSES as u32 + 8));
        assert_eq!(sum.buffered, 2 * MAX_PROCESSES as u64, "retired processes buffer nothing");
    }

    #[test]
    fn goes_stale_after_three_of_its_own_heartbeat_intervals() {
        let workers = Workers::default();
        let w = r#"{"event_type":"worker_heartbeat","hostname":"w","timestamp":10,"heartbeat_interval":1}"#;
        apply_at(&workers, w, 10_000_000);
        let w = workers.map.get("w").unwrap().clone();
        assert_eq!(w.status(12_000_000), "online");
        assert_eq!(w.status(13_500_000), "stale");
        // Five minutes behind, heard just now: alive. Replayed from an hour ago: stale.
        let behind = r#"{"event_type":"worker_heartbeat","hostname":"b","timestamp":3300,"heartbeat_interval":1}"#;
        apply_at(&workers, behind, 3_600_000_000);
        assert_eq!(workers.map.get("b").unwrap().status(3_601_000_000), "online");
        apply_at(&workers, r#"{"event_type":"worker_heartbeat","hostname":"old","timestamp":1}"#, 3_600_000_000);
        assert_eq!(workers.map.get("old").unwrap().status(3_600_000_000), "stale");
        // Killed before its first heartbeat: the interval in worker_ready is enough to go stale.
        apply_at(&workers, r#"{"event_type":"worker_ready","hostname":"r","timestamp":10,"heartbeat_interval":1}"#, 10_000_000);
        assert_eq!(workers.map.get("r").unwrap().status(14_000_000), "stale");
        apply_at(&workers, r#"{"event_type":"worker_heartbeat","hostname":"v","timestamp":10}"#, 10_000_000);
        assert_eq!(workers.map.get("v").unwrap().status(90_000_000), "online", "30 s by default");
    }

    #[test]
    fn a_task_on_a_gone_or_restarted_worker_is_interrupted() {
        let workers = Workers::default();
        apply(&workers, r#"{"event_type":"worker_ready","hostname":"up","timestamp":100}"#);
        apply(&workers, r#"{"event_type":"worker_ready","hostname":"down","timestamp":1}"#);
        apply(&workers, r#"{"event_type":"worker_terminating","hostname":"down","timestamp":2}"#);
        let live = workers.liveness(200_000_000);
        assert_eq!(live.interrupted("up", 150_000_000), None);
        assert_eq!(live.interrupted("up", 50_000_000), Some("worker_restarted"));
        assert_eq!(live.interrupted("down", 1_500_000), Some("worker_offline"));
        assert_eq!(live.interrupted("unknown", 0), None);
    }

    #[test]
    fn a_child_report_never_creates_a_worker() {
        let workers = Workers::default();
        apply(&workers, &beat(PROCESS_HEARTBEAT, 7, 3, 6));
        assert!(workers.map.is_empty());
    }
}
