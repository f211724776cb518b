"""A Celery app configured only through Celery's own broker settings, as Celery documents them: a
``rediss://`` URL with ``broker_use_ssl`` (``STEMTRACE_TEST_CA`` names the CA), or a ``sentinel://`` URL with
``broker_transport_options={"master_name": …}`` (``STEMTRACE_TEST_MASTER``). ``stemtrace.init(app)`` is told
nothing else: it must find the broker from them, as ``stemtrace server -A`` must."""

from __future__ import annotations

import os
import ssl

from celery import Celery

import stemtrace

app = Celery("broker_app", broker=os.environ["CELERY_BROKER_URL"])
app.conf.update(
    task_ignore_result=True,
    task_default_queue=os.environ.get("CELERY_TASK_DEFAULT_QUEUE", "celery"),
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)
if os.environ.get("STEMTRACE_TEST_CA"):
    app.conf.broker_use_ssl = {"ssl_cert_reqs": ssl.CERT_REQUIRED, "ssl_ca_certs": os.environ["STEMTRACE_TEST_CA"]}
if os.environ.get("STEMTRACE_TEST_MASTER"):
    app.conf.broker_transport_options = {"master_name": os.environ["STEMTRACE_TEST_MASTER"]}
stemtrace.init(app)


@app.task(name="broker_app.add")
def add(x: int, y: int) -> int:
    return x + y
