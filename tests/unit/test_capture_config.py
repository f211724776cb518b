"""Configuration: defaults, environment, Celery's broker URL, and errors that say what to change."""

from __future__ import annotations

import dataclasses

import pytest
from celery import Celery

from stemtrace.config import StemtraceConfig, build_config, redact_url
from stemtrace.errors import ConfigurationError


def app(broker: str | None) -> Celery:
    return Celery("cfg", broker=broker, set_as_current=False)


def test_defaults_come_from_celery_broker() -> None:
    cfg = build_config(app("redis://broker:6379/2"), env={})
    assert cfg.transport_url == "redis://broker:6379/2"
    assert (cfg.prefix, cfg.ttl, cfg.stream_key) == ("stemtrace", 86400, "stemtrace:events")
    assert cfg.capture_args and cfg.capture_result and cfg.scrub_sensitive_data and not cfg.capture_output


def test_env_overrides_defaults_and_arguments_override_env() -> None:
    env = {"STEMTRACE_TRANSPORT_URL": "redis://env:1/0", "STEMTRACE_PREFIX": "envp", "STEMTRACE_TTL": "60"}
    cfg = build_config(app("redis://broker/0"), env=env)
    assert (cfg.transport_url, cfg.prefix, cfg.ttl) == ("redis://env:1/0", "envp", 60)
    cfg = build_config(app("redis://broker/0"), env=env, transport_url="memory://", prefix="argp", ttl=5)
    assert (cfg.transport_url, cfg.prefix, cfg.ttl) == ("memory://", "argp", 5)


def test_broker_url_env_alias() -> None:
    cfg = build_config(None, env={"STEMTRACE_BROKER_URL": "rediss://h:6380/0"})
    assert cfg.transport_url == "rediss://h:6380/0"


def test_celery_broker_use_ssl_goes_into_the_url() -> None:
    """Celery keeps Redis TLS options beside the URL; they travel in its query, where redis-py and the server read
    them (``test_tls_redis`` runs a worker configured this way)."""
    import ssl

    tls = app("redis://:pw@cache:6380/1")
    tls.conf.broker_use_ssl = {"ssl_cert_reqs": ssl.CERT_REQUIRED, "ssl_ca_certs": "/etc/ca dir/ca.pem", "other": 1}
    cfg = build_config(tls, env={})
    assert cfg.transport_url == "rediss://:pw@cache:6380/1?ssl_cert_reqs=required&ssl_ca_certs=%2Fetc%2Fca+dir%2Fca.pem"
    tls = app("rediss://cache:6380/1?ssl_cert_reqs=optional")  # what the URL says wins
    tls.conf.broker_use_ssl = {"ssl_cert_reqs": ssl.CERT_NONE, "ssl_certfile": "c.pem", "ssl_keyfile": "k.pem"}
    cfg = build_config(tls, env={})
    assert cfg.transport_url == "rediss://cache:6380/1?ssl_cert_reqs=optional&ssl_certfile=c.pem&ssl_keyfile=k.pem"
    rabbit = app("pyamqp://guest@rabbit//")  # py-amqp's names for the same options
    rabbit.conf.broker_use_ssl = {"cert_reqs": ssl.CERT_REQUIRED, "ca_certs": "/ca.pem"}
    assert (
        build_config(rabbit, env={}).transport_url
        == "amqps://guest@rabbit//?ssl_cert_reqs=required&ssl_ca_certs=%2Fca.pem"
    )
    plain = app("redis://cache/0")
    plain.conf.broker_use_ssl = {"ssl_cert_reqs": ssl.CERT_NONE}
    cfg = build_config(plain, env={"STEMTRACE_TRANSPORT_URL": "redis://events/0"})
    assert cfg.transport_url == "redis://events/0"  # a URL of its own is taken as written


def test_celery_sentinel_broker_keeps_every_sentinel_and_gains_the_master_name() -> None:
    """``test_sentinel`` runs a worker configured this way against a real sentinel."""
    from stemtrace.transport.redis import SentinelUrl

    ha = app("sentinel://:pw@s1:26379;sentinel://:pw@s2:26380/2")
    ha.conf.broker_transport_options = {"master_name": "cluster1", "sentinel_kwargs": {"password": "s p"}}
    cfg = build_config(ha, env={})
    assert (
        cfg.transport_url
        == "sentinel://:pw@s1:26379;sentinel://:pw@s2:26380/2?master_name=cluster1&sentinel_password=s+p"
    )
    assert SentinelUrl.parse(cfg.transport_url) == SentinelUrl(
        sentinels=[("s1", 26379), ("s2", 26380)], master_name="cluster1", username=None, password="pw", db=2,
        sentinel_password="s p",
    )  # fmt: skip
    assert redact_url(cfg.transport_url).count(":***@") == 2
    with pytest.raises(ConfigurationError, match=r"add \?master_name="):
        build_config(app("sentinel://s1:26379"), env={})


def test_celery_spellings_are_normalised() -> None:
    assert build_config(app("redis+socket:///tmp/r.sock"), env={}).transport_url == "unix:///tmp/r.sock"
    assert build_config(app("redis://a/0;redis://b/0"), env={}).transport_url == "redis://a/0"
    assert build_config(app("pyamqp://guest@rabbit//"), env={}).transport_url == "amqp://guest@rabbit//"


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"transport_url": "sqs://key:pw@queue"}, "STEMTRACE_TRANSPORT_URL"),
        ({"transport_url": "kafka://x"}, "redis://"),
        ({"transport_url": "redis://h/0", "ttl": -1}, "ttl must be >= 1"),
        ({"transport_url": "redis://h/0", "ttl": 0}, "ttl"),
        ({"transport_url": "redis://h/0", "max_data_size": 1}, "max_data_size"),
        ({"transport_url": "redis://h/0", "buffer_size": 0}, "buffer_size"),
        ({"transport_url": "redis://h/0", "prefix": "has space"}, "prefix"),
        ({"transport_url": "redis://h/0", "bogus_option": 1}, "unknown stemtrace option"),
        ({}, "nothing to connect to"),
    ],
)
def test_bad_configuration_raises_with_a_hint(kwargs: dict, needle: str) -> None:
    with pytest.raises(ConfigurationError, match=needle):
        build_config(None, env={}, **kwargs)


def test_error_message_hides_password() -> None:
    with pytest.raises(ConfigurationError) as err:
        build_config(None, env={}, transport_url="sqs://user:hunter2@queue")
    assert "hunter2" not in str(err.value)
    assert redact_url("redis://:pw@h:1/0") == "redis://:***@h:1/0"


def test_bad_ttl_in_env() -> None:
    with pytest.raises(ConfigurationError, match="STEMTRACE_TTL"):
        build_config(None, env={"STEMTRACE_TTL": "a day", "STEMTRACE_TRANSPORT_URL": "memory://"})


def test_config_is_frozen_and_key_sets_are_frozensets() -> None:
    cfg = build_config(None, env={}, transport_url="memory://", additional_sensitive_keys=["x"], safe_keys="token")
    assert cfg.additional_sensitive_keys == frozenset({"x"}) and cfg.safe_keys == frozenset({"token"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.ttl = 3  # type: ignore[misc]
    assert isinstance(cfg, StemtraceConfig)


def test_init_returns_config_and_is_idempotent() -> None:
    import stemtrace

    try:
        cfg = stemtrace.init(app("memory://"), ttl=10)
        assert stemtrace.is_initialized() and stemtrace.get_config() is cfg and cfg.ttl == 10
        assert stemtrace.get_transport() is not None
        cfg2 = stemtrace.init(app("memory://"), prefix="other")
        assert stemtrace.get_config() is cfg2
        with pytest.raises(ConfigurationError):
            stemtrace.init(app("memory://"), ttl=-5)
        assert stemtrace.get_config() is cfg2  # a failed init leaves the working one in place
    finally:
        from stemtrace.celery import shutdown

        shutdown()
    assert not stemtrace.is_initialized()


def test_every_field_has_an_environment_variable() -> None:
    env = {
        "STEMTRACE_TRANSPORT_URL": "memory://",
        "STEMTRACE_CAPTURE_ARGS": "false",
        "STEMTRACE_CAPTURE_OUTPUT": "yes",
        "STEMTRACE_BUFFER_SIZE": "50",
        "STEMTRACE_HEARTBEAT_INTERVAL": "0.5",
        "STEMTRACE_ADDITIONAL_SENSITIVE_KEYS": "iban, customer_email",
    }
    cfg = build_config(None, env=env)
    assert not cfg.capture_args and cfg.capture_output and cfg.buffer_size == 50 and cfg.heartbeat_interval == 0.5
    assert cfg.additional_sensitive_keys == frozenset({"iban", "customer_email"})
    assert build_config(None, env=env, buffer_size=7, capture_args=True).buffer_size == 7
    with pytest.raises(ConfigurationError, match="STEMTRACE_CAPTURE_ARGS"):
        build_config(None, env={**env, "STEMTRACE_CAPTURE_ARGS": "maybe"})
