//! `stemtrace._engine`: converts arguments, releases the GIL around every engine call, and maps
//! engine errors to Python exceptions. No logic lives here.

// pyo3 converts arguments into owned values; borrowing them instead buys nothing here.
#![allow(clippy::needless_pass_by_value)]

mod capture;
mod sender;

use std::sync::Arc;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use stemtrace_core::query::{parse_states, TaskFilter};
use stemtrace_core::time::{from_epoch_seconds, Micros};
use stemtrace_core::{Engine as CoreEngine, EngineConfig, Error};

fn to_py(err: Error) -> PyErr {
    match err {
        Error::InvalidUrl { .. } | Error::InvalidParameter { .. } => PyValueError::new_err(err.to_string()),
    }
}

fn bytes<'py>(py: Python<'py>, data: &[u8]) -> Bound<'py, PyBytes> {
    PyBytes::new(py, data)
}

fn micros(ts: Option<f64>, name: &'static str) -> PyResult<Option<Micros>> {
    ts.map(|t| from_epoch_seconds(t).ok_or_else(|| PyValueError::new_err(format!("{name}: not a valid time"))))
        .transpose()
}

fn window(start_ts: f64, end_ts: f64) -> PyResult<(Micros, Micros)> {
    match (micros(Some(start_ts), "start_ts")?, micros(Some(end_ts), "end_ts")?) {
        (Some(start), Some(end)) if start <= end => Ok((start, end)),
        _ => Err(PyValueError::new_err("start_ts must not be after end_ts")),
    }
}

/// The engine: consumer + graph store + queries answering JSON bytes.
#[pyclass(frozen, module = "stemtrace._engine")]
struct Engine {
    inner: Arc<CoreEngine>,
}

#[pymethods]
impl Engine {
    #[new]
    #[pyo3(signature = (transport_url=None, prefix="stemtrace", max_tasks=1_000_000, ttl=86_400))]
    fn new(transport_url: Option<&str>, prefix: &str, max_tasks: usize, ttl: u64) -> PyResult<Self> {
        let config = EngineConfig::new(transport_url, prefix, max_tasks).map_err(to_py)?.with_ttl(ttl);
        Ok(Engine { inner: Arc::new(CoreEngine::new(config)) })
    }

    #[getter]
    fn transport_url(&self) -> Option<String> {
        self.inner.config.transport_url.clone()
    }

    #[getter]
    fn prefix(&self) -> String {
        self.inner.config.prefix.clone()
    }

    fn start(&self, py: Python<'_>) {
        let runtime = pyo3_async_runtimes::tokio::get_runtime().handle().clone();
        py.detach(|| self.inner.start(&runtime));
    }

    fn stop(&self, py: Python<'_>) {
        let runtime = pyo3_async_runtimes::tokio::get_runtime().handle().clone();
        py.detach(|| self.inner.stop(&runtime));
    }

    fn ingest(&self, py: Python<'_>, events: Vec<Vec<u8>>) -> usize {
        py.detach(|| self.inner.ingest(events.iter().map(Vec::as_slice)))
    }

    /// A counter bumped after every applied batch (live views compare it to know something changed).
    #[getter]
    fn version(&self) -> u64 {
        self.inner.version.load(std::sync::atomic::Ordering::Acquire)
    }

    /// `(seq, gap, [update JSON])`: task updates after `since` (see the core's `Engine::changes`).
    #[pyo3(signature = (since, flow=None, coalesce=true, max=1000))]
    fn changes<'py>(
        &self,
        py: Python<'py>,
        since: u64,
        flow: Option<&str>,
        coalesce: bool,
        max: usize,
    ) -> (u64, bool, Vec<Bound<'py, PyBytes>>) {
        let c = py.detach(|| self.inner.changes(since, flow, coalesce, max));
        (c.next, c.gap, c.items.iter().map(|i| bytes(py, i)).collect())
    }

    fn health<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        let out = py.detach(|| self.inner.health());
        bytes(py, &out)
    }

    #[pyo3(signature = (*, limit=100, offset=0, states=None, name=None, name_exact=None, hostname=None, queue=None,
                        exception_type=None, trace_id=None, search=None, from_ts=None, to_ts=None, compact=false))]
    #[allow(clippy::too_many_arguments)]
    fn list_tasks<'py>(
        &self,
        py: Python<'py>,
        limit: usize,
        offset: usize,
        states: Option<Vec<String>>,
        name: Option<String>,
        name_exact: Option<String>,
        hostname: Option<String>,
        queue: Option<String>,
        exception_type: Option<String>,
        trace_id: Option<String>,
        search: Option<String>,
        from_ts: Option<f64>,
        to_ts: Option<f64>,
        compact: bool,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let states = parse_states(states.iter().flatten().map(String::as_str))
            .map_err(|e| PyValueError::new_err(format!("state: {e}")))?;
        let filter = TaskFilter {
            limit,
            offset,
            states,
            name,
            name_exact,
            hostname,
            queue,
            exception_type,
            trace_id,
            search,
            from: micros(from_ts, "from_ts")?,
            to: micros(to_ts, "to_ts")?,
            compact,
        };
        let out = py.detach(|| self.inner.list_tasks(&filter));
        Ok(bytes(py, &out))
    }

    fn get_task<'py>(&self, py: Python<'py>, task_id: &str) -> Option<Bound<'py, PyBytes>> {
        py.detach(|| self.inner.get_task(task_id)).map(|b| bytes(py, &b))
    }

    #[pyo3(signature = (task_id, compact=false))]
    fn task_children<'py>(&self, py: Python<'py>, task_id: &str, compact: bool) -> Option<Bound<'py, PyBytes>> {
        py.detach(|| self.inner.task_children(task_id, compact)).map(|b| bytes(py, &b))
    }

    #[pyo3(signature = (*, limit=50, offset=0, from_ts=None, to_ts=None))]
    fn list_graphs<'py>(
        &self,
        py: Python<'py>,
        limit: usize,
        offset: usize,
        from_ts: Option<f64>,
        to_ts: Option<f64>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let (from, to) = (micros(from_ts, "from_ts")?, micros(to_ts, "to_ts")?);
        let out = py.detach(|| self.inner.list_graphs(limit, offset, from, to));
        Ok(bytes(py, &out))
    }

    fn get_graph<'py>(&self, py: Python<'py>, root_id: &str) -> Option<Bound<'py, PyBytes>> {
        py.detach(|| self.inner.get_graph(root_id)).map(|b| bytes(py, &b))
    }

    /// Runs, failures and rates in `[start_ts, end_ts]` against the window before it.
    fn overview<'py>(&self, py: Python<'py>, start_ts: f64, end_ts: f64) -> PyResult<Bound<'py, PyBytes>> {
        let (start, end) = window(start_ts, end_ts)?;
        let out = py.detach(|| self.inner.overview(start, end));
        Ok(bytes(py, &out))
    }

    /// Tasks per bucket of `bucket_seconds` by state.
    fn timeseries<'py>(
        &self,
        py: Python<'py>,
        start_ts: f64,
        end_ts: f64,
        bucket_seconds: u32,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let (start, end) = window(start_ts, end_ts)?;
        let bucket = Micros::from(bucket_seconds.max(1)) * 1_000_000;
        let out = py.detach(|| self.inner.timeseries(start, end, bucket));
        Ok(bytes(py, &out))
    }

    /// Failed tasks grouped by exception type.
    fn failures<'py>(&self, py: Python<'py>, start_ts: f64, end_ts: f64) -> PyResult<Bound<'py, PyBytes>> {
        let (start, end) = window(start_ts, end_ts)?;
        let out = py.detach(|| self.inner.failures(start, end));
        Ok(bytes(py, &out))
    }

    #[pyo3(signature = (hostname=None))]
    fn workers<'py>(&self, py: Python<'py>, hostname: Option<&str>) -> Bound<'py, PyBytes> {
        let out = py.detach(|| self.inner.workers(hostname));
        bytes(py, &out)
    }

    #[pyo3(signature = (query=None, status=None))]
    fn registry<'py>(&self, py: Python<'py>, query: Option<&str>, status: Option<&str>) -> Bound<'py, PyBytes> {
        let out = py.detach(|| self.inner.registry(query, status));
        bytes(py, &out)
    }
}

#[pymodule]
fn _engine(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<Engine>()?;
    m.add_class::<sender::RedisSender>()?;
    m.add_class::<capture::PendingEvents>()?;
    Ok(())
}
