//! `stemtrace._engine.PendingEvents`: the PENDING event of a publish (DESIGN §3), built natively in
//! the common case: ids that are plain text, no ETA, no chord, no retry's remembered parent, and
//! arguments that are flat lists and dicts of plain values within the size cap. Anything else gives
//! `None`, and the Python builder (`publish_event` in stemtrace/celery/events.py) builds the event.
//!
//! The Python builder is the reference: for every input this handles, it must write the same event
//! (tests/unit/test_capture_native.py compares them over generated messages). Native, because a
//! publishing process spent ~45k instructions per publish in the Python builder, more than the
//! rest of stemtrace's capture together (bench/producer/RESULTS.md).

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFrozenSet, PyInt, PyList, PyString, PyTuple};
use stemtrace_core::json::{write_int, write_str, Obj};
use stemtrace_core::now_micros;

/// Mirrors of stemtrace/celery/serialize.py's `MAX_ITEMS` and `MAX_REPR`, and the scrubber's mark.
const MAX_ITEMS: usize = 200;
const MAX_KEY: usize = 500;
const FILTERED: &str = "[Filtered]";
/// The header our `before_task_publish` handler stamps (stemtrace/celery/context.py `HEADER`).
const TRACE_HEADER: &str = "stemtrace_trace_id";

/// Not the common case: the Python builder takes it.
struct Unusual;

type Built<T> = Result<T, Unusual>;

#[pyclass(frozen, module = "stemtrace._engine")]
pub struct PendingEvents {
    max_size: usize,
    capture_args: bool,
    /// The scrubber's `is_sensitive(key)`: keyword arguments' keys are judged by the one rule.
    is_sensitive: Py<PyAny>,
}

#[pymethods]
impl PendingEvents {
    #[new]
    fn new(max_size: usize, capture_args: bool, is_sensitive: Py<PyAny>) -> Self {
        PendingEvents { max_size, capture_args, is_sensitive }
    }

    /// The event of one published message (Celery's protocol-2 `headers` and `body`), or `None`
    /// when it is not the common case. `filtered` holds the positions of the task's parameters
    /// whose names are sensitive.
    fn build<'py>(
        &self, py: Python<'py>, headers: &Bound<'py, PyAny>, body: &Bound<'py, PyAny>, routing_key: &Bound<'py, PyAny>,
        queue: &Bound<'py, PyAny>, filtered: &Bound<'py, PyFrozenSet>,
    ) -> Option<Bound<'py, PyBytes>> {
        let mut out = Vec::with_capacity(512);
        self.write(py, &mut out, headers, body, routing_key, queue, filtered).ok().map(|()| PyBytes::new(py, &out))
    }
}

impl PendingEvents {
    #[allow(clippy::too_many_arguments)]
    fn write<'py>(
        &self, py: Python<'py>, out: &mut Vec<u8>, headers: &Bound<'py, PyAny>, body: &Bound<'py, PyAny>,
        routing_key: &Bound<'py, PyAny>, queue: &Bound<'py, PyAny>, filtered: &Bound<'py, PyFrozenSet>,
    ) -> Built<()> {
        let headers = headers.cast::<PyDict>().map_err(|_| Unusual)?;
        let get = |key: &Bound<'py, PyString>| headers.get_item(key).ok().flatten();
        let (id, parent, root) = (get(intern!(py, "id")), get(intern!(py, "parent_id")), get(intern!(py, "root_id")));
        let (name, group, trace) = (get(intern!(py, "task")), get(intern!(py, "group")), get(intern!(py, TRACE_HEADER)));
        let task_id = text(id.as_ref())?.filter(|id| !id.is_empty()).ok_or(Unusual)?;
        let parts = body.cast::<PyTuple>().map_err(|_| Unusual)?;
        if parts.len() != 3 || get(intern!(py, "eta")).is_some_and(|eta| !eta.is_none()) {
            return Err(Unusual);
        }
        let embed = parts.get_item(2).map_err(|_| Unusual)?;
        if !embed.is_none() {
            let embed = embed.cast::<PyDict>().map_err(|_| Unusual)?;
            if embed.get_item(intern!(py, "chord")).ok().flatten().is_some_and(|chord| chord.is_truthy().unwrap_or(true)) {
                return Err(Unusual);
            }
        }
        let parent_id = text(parent.as_ref())?;
        if parent_id == Some(task_id) {
            return Err(Unusual); // a retry: the real parent is in our own header
        }
        let root_id = text(root.as_ref())?;
        let retries = match get(intern!(py, "retries")) {
            Some(n) if n.is_exact_instance_of::<PyInt>() => n.extract::<i64>().map_err(|_| Unusual)?,
            n if n.as_ref().is_none_or(|n| !n.is_truthy().unwrap_or(true)) => 0,
            _ => return Err(Unusual),
        };
        let trace_id = match trace.as_ref().filter(|t| !t.is_none()) {
            None => root_id.filter(|r| !r.is_empty()).unwrap_or(task_id),
            header => text(header)?.ok_or(Unusual)?,
        };

        let mut event = Obj::new(out);
        event.str("task_id", task_id).opt_str("name", text(name.as_ref())?).int("retries", retries);
        event.str("trace_id", trace_id).opt_str("parent_id", parent_id).opt_str("root_id", root_id);
        if group.as_ref().is_some_and(|g| !g.is_none()) {
            event.opt_str("group_id", text(group.as_ref())?);
        }
        if !queue.is_none() {
            event.opt_str("queue", text(Some(queue))?);
        }
        if !routing_key.is_none() {
            event.opt_str("routing_key", text(Some(routing_key))?);
        }
        event.str("state", "PENDING").ts("timestamp", now_micros());
        if self.capture_args {
            let args = parts.get_item(0).map_err(|_| Unusual)?;
            if !args.is_none() {
                self.write_args(event.key("args"), &args, filtered)?;
            }
            let kwargs = parts.get_item(1).map_err(|_| Unusual)?;
            if !kwargs.is_none() {
                self.write_kwargs(py, event.key("kwargs"), &kwargs)?;
            }
        }
        event.finish();
        Ok(())
    }

    /// The `args` member's value: a list or tuple of plain values, the sensitive positions filtered.
    fn write_args(&self, out: &mut Vec<u8>, args: &Bound<'_, PyAny>, filtered: &Bound<'_, PyFrozenSet>) -> Built<()> {
        if let Ok(tuple) = args.cast_exact::<PyTuple>() {
            self.write_items(out, tuple.iter(), filtered)
        } else if let Ok(list) = args.cast_exact::<PyList>() {
            self.write_items(out, list.iter(), filtered)
        } else {
            Err(Unusual)
        }
    }

    fn write_items<'py>(
        &self, out: &mut Vec<u8>, items: impl ExactSizeIterator<Item = Bound<'py, PyAny>>, filtered: &Bound<'py, PyFrozenSet>,
    ) -> Built<()> {
        if items.len() > MAX_ITEMS {
            return Err(Unusual);
        }
        let start = out.len();
        out.push(b'[');
        for (i, item) in items.enumerate() {
            if i > 0 {
                out.push(b',');
            }
            if !filtered.is_empty() && filtered.contains(i).unwrap_or(false) {
                write_str(out, FILTERED);
            } else {
                self.plain(out, &item)?;
            }
        }
        out.push(b']');
        self.within_cap(out.len() - start)
    }

    /// The `kwargs` member's value: a dict of plain values under text keys, sensitive keys filtered.
    fn write_kwargs(&self, py: Python<'_>, out: &mut Vec<u8>, kwargs: &Bound<'_, PyAny>) -> Built<()> {
        let dict = kwargs.cast_exact::<PyDict>().map_err(|_| Unusual)?;
        if dict.len() > MAX_ITEMS {
            return Err(Unusual);
        }
        let start = out.len();
        out.push(b'{');
        for (i, (key, value)) in dict.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let key_text = key.cast_exact::<PyString>().map_err(|_| Unusual)?;
            let name = key_text.to_str().map_err(|_| Unusual)?;
            if name.chars().count() > MAX_KEY.min(self.max_size) {
                return Err(Unusual);
            }
            write_str(out, name);
            out.push(b':');
            let sensitive = self.is_sensitive.call1(py, (key,)).and_then(|s| s.is_truthy(py)).map_err(|_| Unusual)?;
            if sensitive {
                write_str(out, FILTERED);
            } else {
                self.plain(out, &value)?;
            }
        }
        out.push(b'}');
        self.within_cap(out.len() - start)
    }

    /// A value the Python builder keeps as it is: None, a bool, an int within 64 bits, or text of at
    /// most `max_size` characters. (Floats go to the Python builder: orjson writes them its own way.)
    fn plain(&self, out: &mut Vec<u8>, value: &Bound<'_, PyAny>) -> Built<()> {
        if value.is_none() {
            out.extend_from_slice(b"null");
        } else if let Ok(flag) = value.cast::<PyBool>() {
            out.extend_from_slice(if flag.is_true() { b"true" } else { b"false" });
        } else if value.is_exact_instance_of::<PyInt>() {
            match value.extract::<i64>() {
                Ok(n) if n != i64::MIN => write_int(out, n),
                _ => return Err(Unusual),
            }
        } else if value.is_exact_instance_of::<PyString>() {
            let s = value.cast::<PyString>().map_err(|_| Unusual)?.to_str().map_err(|_| Unusual)?;
            if s.len() > self.max_size && s.chars().count() > self.max_size {
                return Err(Unusual);
            }
            write_str(out, s);
        } else {
            return Err(Unusual);
        }
        Ok(())
    }

    /// Over the size cap, a field becomes a truncation note: the Python builder writes those.
    fn within_cap(&self, written: usize) -> Built<()> {
        if written > self.max_size {
            Err(Unusual)
        } else {
            Ok(())
        }
    }
}

/// A header's text: `None` for missing or None; anything but exact `str` is unusual.
fn text<'a>(value: Option<&'a Bound<'_, PyAny>>) -> Built<Option<&'a str>> {
    match value {
        None => Ok(None),
        Some(v) if v.is_none() => Ok(None),
        Some(v) if v.is_exact_instance_of::<PyString>() => v.cast::<PyString>().map_err(|_| Unusual)?.to_str().map(Some).map_err(|_| Unusual),
        Some(_) => Err(Unusual),
    }
}
