"""``import stemtrace`` in a worker must stay light and start nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

PROBE = """
import sys, threading
import stemtrace, stemtrace.celery, stemtrace.config, stemtrace.transport
from stemtrace import init, trace, StemtraceConfig
heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('fastapi', 'uvicorn', 'starlette')
               or m.startswith('stemtrace.server') or m == 'stemtrace._engine')
print('HEAVY', heavy)
print('THREADS', threading.active_count())
"""


def test_import_pulls_in_no_server_and_starts_no_thread() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=REPO, capture_output=True, text=True, timeout=60,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "HEAVY []" in out.stdout
    assert "THREADS 1" in out.stdout


def test_init_starts_no_thread_until_first_event() -> None:
    probe = (
        "import threading, celery, stemtrace\n"
        "stemtrace.init(celery.Celery(broker='redis://127.0.0.1:1/0'))\n"
        "print('THREADS', threading.active_count())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=60,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "THREADS 1" in out.stdout
