"""The native engine (Rust, crate stemtrace-py). Users never import this directly.

Every query returns ready JSON as ``bytes`` and runs with the GIL released.
Timestamps passed in are seconds since the epoch (UTC).
"""

from collections.abc import Sequence

__version__: str

class Engine:
    """Consumer + graph store + queries.

    ``transport_url`` is a ``redis://`` / ``rediss://`` / ``unix://`` URL whose stream
    ``{prefix}:events`` the consumer follows once :meth:`start` is called, or ``memory://`` /
    ``None`` for an engine fed only through :meth:`ingest`.
    """

    def __init__(
        self, transport_url: str | None = None, prefix: str = "stemtrace", max_tasks: int = 1_000_000
    ) -> None: ...
    @property
    def transport_url(self) -> str | None: ...
    @property
    def prefix(self) -> str: ...
    def start(self) -> None:
        """Start the consumer on the process's tokio runtime; idempotent; never blocks on the broker."""
    def stop(self) -> None:
        """Stop the consumer and wait for it to finish; idempotent."""
    def ingest(self, events: Sequence[bytes]) -> int:
        """Decode and apply raw JSON events (the stream's ``data`` field); returns how many were applied."""
    @property
    def version(self) -> int:
        """Bumped after every applied batch; compare it to know whether anything changed."""
    def changes(
        self, since: int, flow: str | None = None, coalesce: bool = True, max: int = 1000
    ) -> tuple[int, bool, list[bytes]]:
        """``(seq, gap, updates)``: task updates (JSON objects in the wire event's shape) after position
        ``since``, only those of ``flow``'s flow when given, the latest per task when ``coalesce``, at most
        ``max``. ``gap`` is true when updates were missed (refetch); ``seq`` is the next ``since``."""
    def health(self) -> bytes:
        """JSON: consumer state, lag, last error, counts of ingested, duplicate and skipped events, node count."""
    def list_tasks(
        self,
        *,
        limit: int = 100,
        offset: int = 0,
        states: Sequence[str] | None = None,
        name: str | None = None,
        name_exact: str | None = None,
        hostname: str | None = None,
        queue: str | None = None,
        exception_type: str | None = None,
        trace_id: str | None = None,
        search: str | None = None,
        from_ts: float | None = None,
        to_ts: float | None = None,
        compact: bool = False,
    ) -> bytes:
        """JSON ``{tasks, total, limit, offset}``, newest first (API.md's ``GET /api/tasks``)."""
    def get_task(self, task_id: str) -> bytes | None:
        """JSON ``{task, children}`` or None for an unknown id."""
    def task_children(self, task_id: str, compact: bool = False) -> bytes | None:
        """JSON list of the task's children, or None for an unknown id."""
    def list_graphs(
        self, *, limit: int = 50, offset: int = 0, from_ts: float | None = None, to_ts: float | None = None
    ) -> bytes:
        """JSON ``{graphs, total, limit, offset}``: root flows, newest first."""
    def get_graph(self, root_id: str) -> bytes | None:
        """JSON ``{root_id, nodes}``: the node and everything below it, or None for an unknown id."""
    def overview(self, start_ts: float, end_ts: float) -> bytes:
        """JSON: runs, failures, runs per minute and failure rate in the window and the one before it."""
    def timeseries(self, start_ts: float, end_ts: float, bucket_seconds: int) -> bytes:
        """JSON ``{window, bucket_seconds, starts, counts: {STATE: [int]}}``."""
    def failures(self, start_ts: float, end_ts: float) -> bytes:
        """JSON ``{window, group_by, total, groups}``: failed tasks grouped by exception type."""
    def workers(self, hostname: str | None = None) -> bytes:
        """JSON ``{workers, total}``."""
    def registry(self, query: str | None = None, status: str | None = None) -> bytes:
        """JSON ``{tasks, total}``: every task name seen or registered."""
