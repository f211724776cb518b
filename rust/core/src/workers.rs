//! The worker registry, from worker lifecycle events and heartbeats. Kept in a `DashMap` apart
//! from the task store so heartbeats never wait on the store's lock.

use dashmap::DashMap;

use crate::event::WorkerEvent;
use crate::time::Micros;

/// A worker not heard from for this long (three missed 30 s heartbeats) is shown stale.
pub const STALE_AFTER: Micros = 90 * 1_000_000;

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
    pub shut_down: bool,
    /// Only workers that send heartbeats can go stale; 0.4.x workers send none.
    pub heartbeats: bool,
}

impl Worker {
    pub fn status(&self, now: Micros) -> &'static str {
        if self.shut_down {
            "offline"
        } else if self.heartbeats && now - self.last_seen > STALE_AFTER {
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
    pub fn apply(&self, ev: &WorkerEvent<'_>) {
        let (Some(host), Some(ts)) = (ev.hostname.as_deref(), ev.timestamp) else { return };
        let mut w = self.map.entry(host.to_owned()).or_default();
        w.pid = ev.pid.or(w.pid);
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

    /// A task event from a worker proves it is alive.
    pub fn seen(&self, host: &str, ts: Micros) {
        if let Some(mut w) = self.map.get_mut(host) {
            if ts > w.last_seen && !w.shut_down {
                w.last_seen = ts;
            }
        }
    }
}
