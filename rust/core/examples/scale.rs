//! The engine at scale: ingest rate on one core, resident memory per retained task, and query
//! latencies at 1M tasks, plus pathological shapes. Figures go to bench/RESULTS-engine.md.
//!
//! `cargo run --release -p stemtrace-core --example scale -- [tasks]` (default 1,000,000).
//!
//! `... --example scale -- [tasks] --ingest-only` stops after the ingest figures (for a profiler).
//!
//! `... --example scale -- [tasks] --redis redis://127.0.0.1:6379/15` measures the consumer instead:
//! the same events written to a Redis stream first, then the time from starting the engine to every
//! event applied (read, parse, decode, apply; Redis on the same machine).

use std::time::{Duration, Instant};

use stemtrace_core::query::TaskFilter;
use stemtrace_core::resp::Connection;
use stemtrace_core::state::State;
use stemtrace_core::{Engine, EngineConfig};

fn uuid(n: u64) -> String {
    format!("{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}", n >> 32, (n >> 16) & 0xffff, n & 0xfff, n & 0xfff, n)
}

fn iso(micros: u64) -> String {
    let s = micros / 1_000_000;
    format!("2025-01-{:02}T{:02}:{:02}:{:02}.{:06}Z", 1 + s / 86_400, (s / 3600) % 24, (s / 60) % 60, s % 60, micros % 1_000_000)
}

/// One task event as a worker writes it (~560 bytes).
#[allow(clippy::too_many_arguments)]
fn event(id: &str, name: &str, state: &str, micros: u64, parent: Option<&str>, root: &str, group: Option<&str>, n: u64) -> Vec<u8> {
    let parent = parent.map_or("null".to_owned(), |p| format!("\"{p}\""));
    let group = group.map_or("null".to_owned(), |g| format!("\"{g}\""));
    let exc = if state == "FAILURE" { r#""ValueError""# } else { "null" };
    format!(
        r#"{{"task_id":"{id}","name":"{name}","state":"{state}","timestamp":"{}","parent_id":{parent},"root_id":"{root}","group_id":{group},"trace_id":"{root}","retries":0,"args":[{n},"order-{n}"],"kwargs":{{"currency":"EUR"}},"result":null,"exception":null,"exception_type":{exc},"traceback":null,"hostname":"celery@worker-{}","queue":"celery","routing_key":"celery","eta":null}}"#,
        iso(micros),
        n % 8
    )
    .into_bytes()
}

/// Chains of three tasks, four events each; one task in a hundred fails.
fn chain_events(first_flow: u64, flows: u64) -> Vec<Vec<u8>> {
    let mut out = Vec::with_capacity(flows as usize * 12);
    for f in first_flow..first_flow + flows {
        let root = uuid(f * 3);
        for step in 0..3 {
            let n = f * 3 + step;
            let id = uuid(n);
            let parent = (step > 0).then(|| uuid(n - 1));
            let last = if n % 100 == 7 { "FAILURE" } else { "SUCCESS" };
            for (i, state) in ["PENDING", "RECEIVED", "STARTED", last].iter().enumerate() {
                let micros = f * 1000 + step * 100 + i as u64 * 10;
                out.push(event(&id, &format!("shop.tasks.step_{step}"), state, micros, parent.as_deref(), &root, None, n));
            }
        }
    }
    out
}

/// CPU time of the calling thread, in user mode and in the kernel: unlike wall time, it does not
/// count what other processes on the shared machine take from this one. The kernel's share is
/// nearly all first touches of fresh memory (page faults and zeroing), which this VM makes costly.
fn thread_cpu() -> (Duration, Duration) {
    // SAFETY: all-zero is a valid rusage; `getrusage` only writes into it.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `u` is a valid rusage to write into; RUSAGE_THREAD is a constant the kernel knows.
    unsafe { libc::getrusage(libc::RUSAGE_THREAD, &raw mut u) };
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    (time(u.ru_utime), time(u.ru_stime))
}

/// CPU seconds each thread of this process has used so far, in user mode and in the kernel, as
/// [`thread_cpu`] gives them for the calling thread (from /proc).
fn threads_cpu() -> std::collections::HashMap<String, (f64, f64)> {
    let tick = 100.0; // USER_HZ: the unit of /proc's times on Linux
    let mut out = std::collections::HashMap::new();
    for dir in std::fs::read_dir("/proc/self/task").into_iter().flatten().flatten() {
        let Ok(stat) = std::fs::read_to_string(dir.path().join("stat")) else { continue };
        // "tid (name) state …": utime and stime are the 12th and 13th fields after the name.
        let Some((head, rest)) = stat.rsplit_once(") ") else { continue };
        let fields: Vec<&str> = rest.split(' ').collect();
        let ticks = |i: usize| fields.get(i).and_then(|t| t.parse::<f64>().ok()).unwrap_or(0.0) / tick;
        out.insert(head.replacen(" (", " ", 1), (ticks(11), ticks(12)));
    }
    out
}

fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn engine(max_tasks: usize) -> Engine {
    Engine::new(EngineConfig::new(None, "scale", max_tasks).unwrap())
}

/// p50 and p99 of `runs` calls.
fn latency(runs: usize, mut f: impl FnMut()) -> (Duration, Duration) {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    (times[runs / 2], times[runs * 99 / 100])
}

fn report(what: &str, (p50, p99): (Duration, Duration)) {
    println!("| {what} | {:.3} ms | {:.3} ms |", p50.as_secs_f64() * 1e3, p99.as_secs_f64() * 1e3);
}

fn timed(what: &str, f: impl FnOnce()) {
    let t = Instant::now();
    f();
    println!("| {what} | {:.1} ms | |", t.elapsed().as_secs_f64() * 1e3);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let tasks: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
    let flows = tasks / 3;
    if let Some(url) = args.iter().position(|a| a == "--redis").and_then(|i| args.get(i + 1)) {
        from_redis(url, flows);
        return;
    }
    let e = engine(tasks as usize);
    let rss_before = rss_bytes();
    let (mut payload, mut events, mut spent) = (0u64, 0u64, Duration::ZERO);
    let (mut user, mut kernel) = (Duration::ZERO, Duration::ZERO);
    for start in (0..flows).step_by(10_000) {
        let batch = chain_events(start, 10_000.min(flows - start));
        payload += batch.iter().map(|b| b.len() as u64).sum::<u64>();
        events += batch.len() as u64;
        let (t, (u, k)) = (Instant::now(), thread_cpu());
        e.ingest(batch.iter().map(Vec::as_slice));
        spent += t.elapsed();
        let (u2, k2) = thread_cpu();
        user += u2.saturating_sub(u);
        kernel += k2.saturating_sub(k);
    }
    let rss = rss_bytes().saturating_sub(rss_before);
    println!("| measure | value | |\n|---|---|---|");
    println!("| ingest, {events} events into an empty engine, one thread | {:.0} events/s | |", events as f64 / spent.as_secs_f64());
    println!("| the same per second of the thread's CPU time | {:.0} events/s | |", events as f64 / (user + kernel).as_secs_f64());
    println!("| the same per second of its time in user mode (kernel: {:.1} s) | {:.0} events/s | |", kernel.as_secs_f64(), events as f64 / user.as_secs_f64());
    let held = flows * 3;
    println!("| resident, {held} tasks | {:.0} MB (payload {:.0} MB) | |", rss as f64 / 1e6, payload as f64 / 1e6);
    let held = held as f64;
    println!("| resident per task, all of it | {:.0} bytes (payload received: {:.0} bytes) | |", rss as f64 / held, payload as f64 / held);
    // Negative once the kept events take less than they did on the wire (a task's later events are
    // kept as their differences from its first).
    println!("| resident per task beyond payload | {:.0} bytes | |", (rss as f64 - payload as f64) / held);
    if args.iter().any(|a| a == "--ingest-only") {
        return;
    }

    println!("\n| query at {} tasks | p50 | p99 |\n|---|---|---|", flows * 3);
    let page = TaskFilter { limit: 50, compact: true, ..TaskFilter::default() };
    report("task page, no filter", latency(200, || drop(e.list_tasks(&page))));
    let f = TaskFilter { states: State::Failure.bit(), ..page.clone() };
    report("task page, state=FAILURE (1%)", latency(200, || drop(e.list_tasks(&f))));
    let f = TaskFilter { name_exact: Some("shop.tasks.step_1".into()), ..page.clone() };
    report("task page, name_exact (1/3)", latency(200, || drop(e.list_tasks(&f))));
    let f = TaskFilter { name_exact: Some("shop.tasks.step_1".into()), hostname: Some("celery@worker-3".into()), states: State::Success.bit(), ..page.clone() };
    report("task page, name+host+state", latency(200, || drop(e.list_tasks(&f))));
    let f = TaskFilter { name_exact: Some("shop.tasks.step_1".into()), offset: 5000, ..page.clone() };
    report("task page, name_exact, offset 5000", latency(50, || drop(e.list_tasks(&f))));
    let f = TaskFilter { exception_type: Some("ValueError".into()), ..page.clone() };
    report("task page, exception_type (residual filter)", latency(20, || drop(e.list_tasks(&f))));
    let f = TaskFilter { search: Some("order-1".into()), ..page.clone() };
    report("args search, common term", latency(20, || drop(e.list_tasks(&f))));
    let f = TaskFilter { search: Some(format!("order-{}", tasks / 2)), ..page.clone() };
    report("args search, one match", latency(5, || drop(e.list_tasks(&f))));
    // The worst case for the signatures: no task matches, and only one of the needle's trigrams
    // ("r-x") is not in every task, so every task is walked and the ~15 % whose signature holds
    // that bit by chance are read.
    let f = TaskFilter { search: Some("order-x".into()), ..page.clone() };
    report("args search, no match, one telling trigram", latency(5, || drop(e.list_tasks(&f))));
    report("graph list page", latency(200, || drop(e.list_graphs(50, 0, None, None))));
    report("graph detail, 3-task chain", latency(200, || drop(e.get_graph(&uuid(3 * (flows - 7))))));
    drop(e);

    println!("\n| shape | time | |\n|---|---|---|");
    shapes();
}

/// Consumer throughput: write the chains to a fresh stream, then time the engine reading it all.
fn from_redis(url: &str, flows: u64) {
    let prefix = format!("scale-bench-{}", std::process::id());
    let key = format!("{prefix}:events");
    let client = redis::Client::open(url).expect("redis url");
    let mut conn = client.get_connection().expect("Redis answers");
    let mut events = 0u64;
    let t = Instant::now();
    for start in (0..flows).step_by(10_000) {
        let batch = chain_events(start, 10_000.min(flows - start));
        let mut pipe = redis::pipe();
        for ev in &batch {
            pipe.cmd("XADD").arg(&key).arg("*").arg("data").arg(ev.as_slice()).ignore();
        }
        pipe.exec(&mut conn).expect("XADD");
        events += batch.len() as u64;
    }
    println!("| wrote {events} events to {key} | {:.1} s |", t.elapsed().as_secs_f64());
    // The bounds: the same XREAD batches read and parsed, nothing applied: by the redis crate
    // (a tree of values per reply), and by the engine's own reader (parsed in place).
    let t = Instant::now();
    let (mut last, mut read) = (String::from("0-0"), 0u64);
    while read < events {
        let reply: redis::streams::StreamReadReply = redis::cmd("XREAD")
            .arg("COUNT")
            .arg(10_000)
            .arg("STREAMS")
            .arg(&key)
            .arg(&last)
            .query(&mut conn)
            .expect("XREAD");
        let ids = &reply.keys[0].ids;
        read += ids.len() as u64;
        last.clone_from(&ids[ids.len() - 1].id);
    }
    let raw = t.elapsed();
    println!("| XREAD of {read} entries by the redis crate, nothing applied | {:.2} s | {:.0} events/s |", raw.as_secs_f64(), read as f64 / raw.as_secs_f64());
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let info = client.get_connection_info().clone();
    // The example gives its reader no TLS settings (the engine reads them from the URL): over TLS only the
    // consume below is measured.
    if url.starts_with("rediss://") {
        println!("| the engine's reader, nothing applied | not measured over TLS | |");
    } else {
        let (read, raw) = runtime.block_on(async {
            let mut reader = Connection::open(&info, None).await.expect("Redis answers");
            let t = Instant::now();
            let (mut last, mut read) = (String::from("0-0"), 0u64);
            while read < events {
                let batch = reader.xread(&key, &last, 10_000, 1_000).await.expect("XREAD");
                read += batch.len() as u64;
                batch.last_id().expect("entries").clone_into(&mut last);
            }
            (read, t.elapsed())
        });
        println!("| XREAD of {read} entries by the engine's reader, nothing applied | {:.2} s | {:.0} events/s |", raw.as_secs_f64(), read as f64 / raw.as_secs_f64());
    }
    let e = std::sync::Arc::new(Engine::new(EngineConfig::new(Some(url), &prefix, flows as usize * 3).unwrap()));
    let (t, before) = (Instant::now(), threads_cpu());
    e.start(runtime.handle());
    while e.health.ingested.load(std::sync::atomic::Ordering::Relaxed) < events {
        std::thread::sleep(Duration::from_millis(5));
    }
    let spent = t.elapsed();
    let mut busy: Vec<(f64, f64, String)> = threads_cpu()
        .into_iter()
        .map(|(thread, (user, kernel))| {
            let (user0, kernel0) = before.get(&thread).copied().unwrap_or_default();
            (user - user0 + kernel - kernel0, kernel - kernel0, thread)
        })
        .collect();
    e.stop(runtime.handle());
    redis::cmd("DEL").arg(&key).exec(&mut conn).expect("DEL");
    println!("| consume {events} events from Redis | {:.2} s | {:.0} events/s |", spent.as_secs_f64(), events as f64 / spent.as_secs_f64());
    // Which thread bounds the consume: the one applying runs alone, the reader's work moves
    // between the runtime's workers.
    busy.sort_by(|a, b| b.0.total_cmp(&a.0));
    let busy: Vec<String> =
        busy.iter().take(4).map(|(cpu, kernel, thread)| format!("{thread}: {cpu:.1} s ({kernel:.1} s in the kernel)")).collect();
    println!("| CPU of the busiest threads meanwhile | {} | |", busy.join(", "));
}

/// Pathological shapes: each must cost time linear in its size.
fn shapes() {
    let base = 1u64 << 40;
    let big_chord = |n: u64| -> Vec<Vec<u8>> {
        let group = uuid(base + 999_999);
        let callback = uuid(base + 999_998);
        let mut out = Vec::new();
        for i in 0..n {
            let id = uuid(base + i);
            for (j, state) in ["PENDING", "STARTED", "SUCCESS"].iter().enumerate() {
                let mut ev = event(&id, "shop.tasks.part", state, i * 10 + j as u64, None, &id, Some(&group), i);
                ev.pop();
                ev.extend_from_slice(format!(r#","chord_callback_id":"{callback}"}}"#).as_bytes());
                out.push(ev);
            }
        }
        out.push(event(&callback, "shop.tasks.total", "SUCCESS", n * 10, Some(&uuid(base)), &uuid(base), Some(&group), 0));
        out
    };
    let e = engine(1_000_000);
    let chord = big_chord(1000);
    e.ingest(chord.iter().map(Vec::as_slice));
    let head = uuid(base);
    let detail = |e: &Engine| {
        let v = e.list_graphs(1, 0, None, None);
        let root: serde_json::Value = serde_json::from_slice(&v).unwrap();
        root["graphs"][0]["task_id"].as_str().unwrap().to_owned()
    };
    let root = detail(&e);
    report("detail of a 1,000-task chord (p50/p99)", latency(50, || drop(e.get_graph(&root))));
    report("graph list page with that chord (p50/p99)", latency(50, || drop(e.list_graphs(50, 0, None, None))));
    drop(e);
    let group = big_chord(10_000);
    timed("ingest a 10,000-task chord", || {
        engine(1_000_000).ingest(group.iter().map(Vec::as_slice));
    });
    let e = engine(1_000_000);
    e.ingest(group.iter().map(Vec::as_slice));
    let root = detail(&e);
    timed("detail of the 10,000-task chord", || drop(e.get_graph(&root)));
    timed("evict the 10,000-task chord", || {
        let small = engine(5_000);
        small.ingest(group.iter().map(Vec::as_slice));
    });
    let chain = |n: u64| -> Vec<Vec<u8>> {
        (0..n)
            .map(|i| {
                let parent = (i > 0).then(|| uuid(base + i - 1));
                event(&uuid(base + i), "shop.tasks.step", "SUCCESS", i, parent.as_deref(), &head, None, i)
            })
            .collect()
    };
    for n in [1000, 10_000] {
        let forward = chain(n);
        timed(&format!("ingest a {n}-deep chain"), || {
            engine(1_000_000).ingest(forward.iter().map(Vec::as_slice));
        });
        timed(&format!("ingest a {n}-deep chain in reverse, one event per batch"), || {
            let e = engine(1_000_000);
            for ev in forward.iter().rev() {
                e.ingest([ev.as_slice()]);
            }
        });
        let e = engine(1_000_000);
        e.ingest(forward.iter().map(Vec::as_slice));
        timed(&format!("detail of the {n}-deep chain"), || drop(e.get_graph(&head)));
    }
}
