//! `stemtrace._engine.RedisSender`: the library's Redis sender (`stemtrace_core::sender`) for
//! `stemtrace.transport.redis`. Pushing copies the event and returns; the rest runs without the GIL.

use std::time::Duration;

use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use stemtrace_core::sender::{Options, Sender};

fn seconds(value: f64, name: &str) -> PyResult<Duration> {
    Duration::try_from_secs_f64(value).map_err(|_| PyValueError::new_err(format!("{name}: not a valid duration")))
}

#[pyclass(frozen, module = "stemtrace._engine")]
pub struct RedisSender {
    inner: Sender,
}

#[pymethods]
impl RedisSender {
    #[new]
    #[allow(clippy::too_many_arguments)] // the transport's settings, each named at the call
    #[pyo3(signature = (url, stream_key, *, max_len, ttl, trim_interval, buffer_size, buffer_bytes, batch_size,
                        batch_bytes, linger, timeout))]
    fn new(
        url: String, stream_key: String, max_len: u64, ttl: f64, trim_interval: f64, buffer_size: usize,
        buffer_bytes: usize, batch_size: usize, batch_bytes: usize, linger: f64, timeout: f64,
    ) -> PyResult<Self> {
        let options = Options {
            url,
            stream_key,
            max_len,
            ttl: seconds(ttl, "ttl")?,
            trim_interval: seconds(trim_interval, "trim_interval")?,
            buffer_size: buffer_size.max(1),
            buffer_bytes,
            batch_size: batch_size.max(1),
            batch_bytes,
            linger: seconds(linger, "linger")?,
            timeout: seconds(timeout, "timeout")?,
        };
        // Warnings go to the logger the Python transports use, at most one per 30 s; none once
        // the interpreter is finalizing.
        let logger: Py<PyAny> = Python::attach(|py| -> PyResult<_> {
            Ok(py.import("logging")?.call_method1("getLogger", ("stemtrace.transport",))?.unbind())
        })?;
        let warn = Box::new(move |message: String| {
            Python::try_attach(|py| {
                let _ = logger.call_method1(py, "warning", (message,));
            });
        });
        let inner = Sender::start(options, warn).map_err(|e| PyOSError::new_err(e.to_string()))?;
        Ok(RedisSender { inner })
    }

    /// Buffer one event (JSON bytes).
    fn push(&self, data: &[u8]) {
        self.inner.push(data);
    }

    /// `(sent, dropped, errors, buffered)`.
    fn stats(&self) -> (u64, u64, u64, usize) {
        let s = self.inner.stats();
        (s.sent, s.dropped, s.errors, s.buffered)
    }

    fn flush(&self, py: Python<'_>, timeout: f64) -> PyResult<bool> {
        let timeout = seconds(timeout.max(0.0), "timeout")?;
        Ok(py.detach(|| self.inner.flush(timeout)))
    }

    fn close(&self, py: Python<'_>, timeout: f64) -> PyResult<bool> {
        let timeout = seconds(timeout.max(0.0), "timeout")?;
        Ok(py.detach(|| self.inner.close(timeout)))
    }
}
