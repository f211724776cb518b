"""A Celery app configured only through Celery's own broker settings, as Celery documents them: a ``rediss://``
or ``amqps://`` URL with ``broker_use_ssl`` (``STEMTRACE_TEST_CA`` names the CA), or a ``sentinel://`` URL with
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
    # Celery passes these on as they are: redis-py's names for Redis, py-amqp's for RabbitMQ.
    names = ("cert_reqs", "ca_certs") if app.conf.broker_url.startswith("amqp") else ("ssl_cert_reqs", "ssl_ca_certs")
    app.conf.broker_use_ssl = dict(zip(names, (ssl.CERT_REQUIRED, os.environ["STEMTRACE_TEST_CA"]), strict=True))
if os.environ.get("STEMTRACE_TEST_MASTER"):
    app.conf.broker_transport_options = {"master_name": os.environ["STEMTRACE_TEST_MASTER"]}
stemtrace.init(app)


@app.task(name="broker_app.add")
def add(x: int, y: int) -> int:
    return x + y
