"""The native engine (Rust, crate stemtrace-py). Users never import this directly.

Every query returns ready JSON as ``bytes`` and runs with the GIL released.
Timestamps passed in are seconds since the epoch (UTC).
"""

from collections.abc import Sequence

__version__: str

class Engine:
    """Consumer + graph store + queries.

    ``transport_url`` is a ``redis://`` / ``rediss://`` / ``unix://`` URL whose stream
    ``{prefix}:events`` the consumer follows once :meth:`start` is called, an ``amqp://`` /
    ``amqps://`` / ``pyamqp://`` URL whose queue bound to the exchange ``{prefix}.events`` it follows
    (docs/brokers.md; ``ttl`` seconds is the retention of a queue it creates), or ``memory://`` /
    ``None`` for an engine fed only through :meth:`ingest`.
    """

    def __init__(
        self,
        transport_url: str | None = None,
        prefix: str = "stemtrace",
        max_tasks: int = 1_000_000,
        ttl: int = 86_400,
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
        """JSON ``{tasks, total, total_exact, limit, offset}``, newest first (API.md's ``GET /api/tasks``).

        ``total_exact`` is false only for a ``search`` that filled its page: the payload scan stops
        there, and ``total`` counts the matches seen so far (a lower bound)."""
    def get_task(self, task_id: str) -> bytes | None:
        """JSON ``{task, children}`` or None for an unknown id."""
    def task_children(self, task_id: str, compact: bool = False) -> bytes | None:
        """JSON list of the task's children, or None for an unknown id."""
    def list_graphs(
        self, *, limit: int = 50, offset: int = 0, from_ts: float | None = None, to_ts: float | None = None
    ) -> bytes:
        """JSON ``{graphs, total, limit, offset}``: root flows, newest first."""
    def get_graph(self, root_id: str) -> bytes | None:
        """JSON ``{root_id, nodes}``: the node and everything below it, or None for an unknown id.

        A CHORD node's ``chord_id`` names the node drawn after the box (the body's first task, or
        ``group:<id>`` when the body is itself a chord); ``chord_callback_id`` is the callback the
        headers carry (with a chain body, the chain's last task). ``members`` lists every task
        inside the box, including the earlier steps of a group's chains."""
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
