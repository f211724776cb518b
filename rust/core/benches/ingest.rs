//! Ingest and query cost of the engine on synthetic flows shaped like real worker output:
//! chains of three tasks, each with PENDING, RECEIVED, STARTED and SUCCESS events.
//!
//! `cargo bench -p stemtrace-core --bench ingest`; figures are recorded in bench/RESULTS-engine.md.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use stemtrace_core::query::TaskFilter;
use stemtrace_core::{Engine, EngineConfig};

fn uuid(n: u64) -> String {
    format!("{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}", n >> 32, (n >> 16) & 0xffff, n & 0xfff, n & 0xfff, n)
}

/// `flows` chains of three tasks; 12 events per flow, in the order a worker writes them.
fn events(flows: u64) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for f in 0..flows {
        let root = uuid(f * 3);
        for step in 0..3 {
            let id = uuid(f * 3 + step);
            let parent = if step == 0 { "null".to_owned() } else { format!("\"{}\"", uuid(f * 3 + step - 1)) };
            for (i, state) in ["PENDING", "RECEIVED", "STARTED", "SUCCESS"].iter().enumerate() {
                let micros = f * 1000 + step * 100 + i as u64 * 10;
                out.push(
                    format!(
                        r#"{{"task_id":"{id}","name":"shop.tasks.step_{step}","state":"{state}","timestamp":"2025-01-01T{:02}:{:02}:{:02}.{:06}Z","parent_id":{parent},"root_id":"{root}","group_id":null,"trace_id":"{root}","retries":0,"args":[{f},"order-{f}"],"kwargs":{{"currency":"EUR"}},"result":null,"exception":null,"traceback":null,"hostname":"celery@worker-{}","queue":"celery","routing_key":"celery","eta":null}}"#,
                        (micros / 3_600_000_000) % 24,
                        (micros / 60_000_000) % 60,
                        (micros / 1_000_000) % 60,
                        micros % 1_000_000,
                        f % 4
                    )
                    .into_bytes(),
                );
            }
        }
    }
    out
}

fn engine(max_tasks: usize) -> Engine {
    Engine::new(EngineConfig::new(None, "bench", max_tasks).unwrap())
}

fn bench_ingest(c: &mut Criterion) {
    let batch = events(10_000);
    let mut group = c.benchmark_group("ingest");
    group.sample_size(10);
    group.throughput(Throughput::Elements(batch.len() as u64));
    group.bench_function("decode_only_120k_events", |b| {
        b.iter(|| batch.iter().filter(|raw| stemtrace_core::event::decode(raw).is_ok()).count());
    });
    // The consumer's reader: decoding, and laying out the bytes the store keeps (applied elsewhere),
    // in batches of its size.
    group.bench_function("decode_and_lay_out_120k_events", |b| {
        b.iter(|| {
            for chunk in batch.chunks(10_000) {
                drop(stemtrace_core::decode_and_lay_out(chunk.iter().map(Vec::as_slice)));
            }
        });
    });
    group.bench_function("120k_events_into_empty_engine", |b| {
        b.iter_batched(
            || engine(1_000_000),
            // The engine is returned so that dropping it is not timed.
            |e| {
                e.ingest(batch.iter().map(Vec::as_slice));
                e
            },
            BatchSize::LargeInput,
        );
    });
    group.finish();
}

fn bench_queries(c: &mut Criterion) {
    let e = engine(1_000_000);
    let batch = events(30_000);
    for chunk in batch.chunks(10_000) {
        e.ingest(chunk.iter().map(Vec::as_slice));
    }
    let mut group = c.benchmark_group("query_90k_tasks");
    group.bench_function("task_page", |b| {
        b.iter(|| e.list_tasks(&TaskFilter { limit: 50, compact: true, ..TaskFilter::default() }));
    });
    group.bench_function("task_page_filtered_by_name", |b| {
        let f = TaskFilter { limit: 50, name_exact: Some("shop.tasks.step_2".into()), compact: true, ..TaskFilter::default() };
        b.iter(|| e.list_tasks(&f));
    });
    group.bench_function("graph_list_page", |b| b.iter(|| e.list_graphs(50, 0, None, None)));
    let root = uuid(3 * 29_000);
    group.bench_function("graph_detail", |b| b.iter(|| e.get_graph(&root)));
    group.finish();
}

/// A chord of `n` headers (three events each) and its callback.
fn chord(n: u64) -> Vec<Vec<u8>> {
    let (group, callback) = (uuid(1 << 40), uuid((1 << 40) + 1));
    let mut out = Vec::new();
    for i in 0..n {
        let id = uuid((1 << 41) + i);
        for (j, state) in ["PENDING", "STARTED", "SUCCESS"].iter().enumerate() {
            out.push(
                format!(
                    r#"{{"task_id":"{id}","name":"shop.tasks.part","state":"{state}","timestamp":"2025-01-01T00:00:{:02}.{:06}Z","root_id":"{id}","group_id":"{group}","chord_callback_id":"{callback}","trace_id":"{group}","retries":0,"args":[{i}],"hostname":"celery@w"}}"#,
                    i / 1000,
                    (i % 1000) * 100 + j as u64
                )
                .into_bytes(),
            );
        }
    }
    out.push(
        format!(
            r#"{{"task_id":"{callback}","name":"shop.tasks.total","state":"SUCCESS","timestamp":"2025-01-01T00:01:00Z","group_id":"{group}","trace_id":"{group}","retries":0}}"#
        )
        .into_bytes(),
    );
    out
}

fn bench_chord(c: &mut Criterion) {
    let e = engine(1_000_000);
    let events = chord(1000);
    e.ingest(events.iter().map(Vec::as_slice));
    let container = format!("group:{}", uuid(1 << 40));
    c.bench_function("chord_1000_detail", |b| b.iter(|| e.get_graph(&container)));
}

criterion_group!(benches, bench_ingest, bench_queries, bench_chord);
criterion_main!(benches);
