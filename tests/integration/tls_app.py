"""A Celery app whose broker is a TLS-only Redis, configured as Celery documents it: a ``rediss://`` URL and
``broker_use_ssl``. ``stemtrace.init(app)`` is told nothing else: it must find the TLS options itself."""

from __future__ import annotations

import os
import ssl

from celery import Celery

import stemtrace

app = Celery("tls_app", broker=os.environ["CELERY_BROKER_URL"])
app.conf.update(
    broker_use_ssl={"ssl_cert_reqs": ssl.CERT_REQUIRED, "ssl_ca_certs": os.environ["STEMTRACE_TEST_CA"]},
    task_ignore_result=True,
    task_default_queue=os.environ.get("CELERY_TASK_DEFAULT_QUEUE", "celery"),
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)
stemtrace.init(app)


@app.task(name="tls_app.add")
def add(x: int, y: int) -> int:
    return x + y
