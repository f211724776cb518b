"""Producer configuration: one frozen :class:`StemtraceConfig`, built from arguments, environment and Celery.

Precedence, highest first: an explicit argument to :func:`build_config` (``stemtrace.init``), then the
``STEMTRACE_*`` environment variables, then Celery's own ``broker_url`` (with its ``broker_use_ssl`` and a
sentinel's ``master_name``), then the defaults below.

Environment variables read here: ``STEMTRACE_TRANSPORT_URL`` (or ``STEMTRACE_BROKER_URL``),
``STEMTRACE_PREFIX``, ``STEMTRACE_TTL``, and ``STEMTRACE_<FIELD>`` for every other field
(``STEMTRACE_CAPTURE_ARGS=false``, ``STEMTRACE_BUFFER_SIZE=1000``,
``STEMTRACE_ADDITIONAL_SENSITIVE_KEYS=iban,customer_email``, ...).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import MISSING, dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from stemtrace.errors import ConfigurationError

SUPPORTED_SCHEMES = ("redis", "rediss", "unix", "sentinel", "amqp", "amqps", "pyamqp", "memory")

# Celery spells some broker URLs its own way; these map onto what our transports understand.
_CELERY_ALIASES = {"redis+socket": "unix", "socket": "unix", "pyamqp": "amqp"}

DEFAULT_PREFIX = "stemtrace"
DEFAULT_TTL = 86_400
DEFAULT_MAX_DATA_SIZE = 10_000
DEFAULT_BUFFER_SIZE = 10_000
DEFAULT_MAX_STREAM_LENGTH = 1_000_000

_PREFIX_RE = re.compile(r"^[A-Za-z0-9_.:{}\-]+$")


@dataclass(frozen=True)
class StemtraceConfig:
    """Everything the producer needs; immutable once built (``dataclasses.replace`` makes a changed copy)."""

    transport_url: str
    prefix: str = DEFAULT_PREFIX
    ttl: int = DEFAULT_TTL
    capture_args: bool = True
    capture_result: bool = True
    scrub_sensitive_data: bool = True
    additional_sensitive_keys: frozenset[str] = field(default_factory=frozenset)
    safe_keys: frozenset[str] = field(default_factory=frozenset)
    max_data_size: int = DEFAULT_MAX_DATA_SIZE
    capture_output: bool = False
    buffer_size: int = DEFAULT_BUFFER_SIZE
    max_stream_length: int = DEFAULT_MAX_STREAM_LENGTH
    heartbeat_interval: float = 30.0
    flush_timeout: float = 2.0

    @property
    def stream_key(self) -> str:
        """The Redis Stream every event goes to (RabbitMQ: see ``stemtrace.transport.amqp``)."""
        return f"{self.prefix}:events"

    @property
    def scheme(self) -> str:
        return urlsplit(self.transport_url).scheme.lower()

    def __post_init__(self) -> None:
        _validate(self)


def redact_url(url: str) -> str:
    """The URL with its password replaced by ``***``, for messages and logs (each URL of a ``;`` list)."""
    if ";" in url:
        return ";".join(redact_url(part) for part in url.split(";"))
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable url>"
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[-1]}"))


def normalize_transport_url(url: str) -> str:
    """Map Celery's spellings (``redis+socket://``) onto ours and take the first of a failover list (a list of
    sentinels is kept whole: each of them can name the master)."""
    url = url.strip()
    if ";" in url and not url.lower().startswith("sentinel://"):  # Celery failover list: "redis://a;redis://b"
        url = url.split(";", 1)[0].strip()
    scheme, sep, rest = url.partition("://")
    if sep and scheme.lower() in _CELERY_ALIASES:
        return f"{_CELERY_ALIASES[scheme.lower()]}://{rest}"
    return url


def _validate(cfg: StemtraceConfig) -> None:
    url = cfg.transport_url
    if not isinstance(url, str) or not url.strip():
        raise ConfigurationError(
            "stemtrace has nothing to connect to: pass transport_url='redis://host:6379/0' to stemtrace.init(), "
            "set STEMTRACE_TRANSPORT_URL, or configure Celery's broker_url"
        )
    scheme, sep, _ = url.partition("://")
    if not sep or scheme.lower() not in SUPPORTED_SCHEMES:
        raise ConfigurationError(
            f"stemtrace cannot send events to {redact_url(url)!r}: the transport URL must start with one of "
            f"{', '.join(s + '://' for s in SUPPORTED_SCHEMES)}. If your Celery broker is neither Redis nor "
            "RabbitMQ, pass transport_url='redis://…' to stemtrace.init() or set STEMTRACE_TRANSPORT_URL"
        )
    if scheme.lower() == "sentinel" and "master_name=" not in url:
        raise ConfigurationError(
            f"{redact_url(url)!r} does not name the master: add ?master_name=… to the URL (from Celery's broker_url, "
            "set broker_transport_options={'master_name': …})"
        )
    if not isinstance(cfg.prefix, str) or not _PREFIX_RE.match(cfg.prefix):
        raise ConfigurationError(
            f"prefix {cfg.prefix!r} is not usable in Redis keys and RabbitMQ names: use letters, digits and '_-.:' only"
        )
    _check_int("ttl", cfg.ttl, minimum=1, hint="seconds events are kept, e.g. 86400 for a day")
    _check_int("max_data_size", cfg.max_data_size, minimum=64, hint="bytes per captured field, e.g. 10000")
    _check_int("buffer_size", cfg.buffer_size, minimum=1, hint="events held while the broker is unreachable")
    _check_int("max_stream_length", cfg.max_stream_length, minimum=1, hint="approximate MAXLEN of the stream")
    if not cfg.heartbeat_interval > 0:
        raise ConfigurationError(f"heartbeat_interval must be > 0 seconds, got {cfg.heartbeat_interval!r}")
    if not cfg.flush_timeout >= 0:
        raise ConfigurationError(f"flush_timeout must be >= 0 seconds, got {cfg.flush_timeout!r}")


def _check_int(name: str, value: Any, *, minimum: int, hint: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigurationError(f"{name} must be an integer ({hint}), got {value!r}")
    if value < minimum:
        raise ConfigurationError(f"{name} must be >= {minimum} ({hint}), got {value}")


def _env_int(env: Mapping[str, str], name: str) -> int | None:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return None
    try:
        return int(raw.strip())
    except ValueError:
        raise ConfigurationError(f"environment variable {name}={raw!r} must be an integer") from None


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _env_value(env: Mapping[str, str], field_name: str, default: Any) -> Any:
    """``STEMTRACE_<FIELD>`` parsed like the field's default (bool, int, float, set of keys)."""
    name = f"STEMTRACE_{field_name.upper()}"
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return None
    raw = raw.strip()
    if isinstance(default, bool):
        if raw.lower() in _TRUE | _FALSE:
            return raw.lower() in _TRUE
        raise ConfigurationError(f"environment variable {name}={raw!r} must be true or false")
    if isinstance(default, int):
        return _env_int(env, name)
    if isinstance(default, float):
        try:
            return float(raw)
        except ValueError:
            raise ConfigurationError(f"environment variable {name}={raw!r} must be a number") from None
    if isinstance(default, frozenset):
        return frozenset(k.strip() for k in raw.split(",") if k.strip())
    return raw


def celery_broker_url(app: Any) -> str | None:
    """The event URL a Celery app's broker settings give: ``broker_url`` (the first of a failover list), with
    ``broker_use_ssl`` and a sentinel's ``master_name`` written in; the server's ``--app`` reads it too."""
    if app is None:
        return None
    conf = getattr(app, "conf", None)
    url = None
    if conf is not None:
        url = conf.get("broker_url") or conf.get("broker_write_url")
    if isinstance(url, (list, tuple)):
        url = url[0] if url else None
    if not isinstance(url, str) or not url:
        return None
    url = normalize_transport_url(url)
    if conf is None:
        return url
    url = _with_broker_tls(url, conf.get("broker_use_ssl"))
    return _with_sentinel_master(url, conf.get("broker_transport_options"))


def _with_sentinel_master(url: str, options: Any) -> str:
    """A ``sentinel://`` broker URL with the master's name (and the sentinels' password) that Celery keeps in
    ``broker_transport_options`` written into its query."""
    if not url.lower().startswith("sentinel://") or not isinstance(options, Mapping):
        return url
    kwargs = options.get("sentinel_kwargs")
    extra = {"master_name": options.get("master_name"),
             "sentinel_password": kwargs.get("password") if isinstance(kwargs, Mapping) else None}  # fmt: skip
    head, sep, last = url.rpartition(";")
    parts = urlsplit(last)
    query = dict(parse_qsl(parts.query))
    query.update({k: str(v) for k, v in extra.items() if v and k not in query})
    return head + sep + urlunsplit(parts._replace(query=urlencode(query)))


_TLS_OPTIONS = ("ssl_cert_reqs", "ssl_ca_certs", "ssl_certfile", "ssl_keyfile")
_CERT_REQS = {0: "none", 1: "optional", 2: "required"}  # ssl.CERT_NONE, CERT_OPTIONAL, CERT_REQUIRED
_TLS_SCHEMES = {"redis": "rediss", "rediss": "rediss", "amqp": "amqps", "amqps": "amqps"}


def _with_broker_tls(url: str, use_ssl: Any) -> str:
    """A broker URL with Celery's ``broker_use_ssl`` written into its query, where our transports and the
    server's engine read TLS options: Celery keeps them beside the URL, and without them the events would go
    unencrypted or fail verification. Redis names them ``ssl_ca_certs`` …, RabbitMQ (py-amqp) ``ca_certs`` …;
    both are read, written the first way. Options the URL already has win."""
    parts = urlsplit(url)
    scheme = _TLS_SCHEMES.get(parts.scheme.lower())
    if not use_ssl or scheme is None:
        return url
    query = dict(parse_qsl(parts.query))
    for key in _TLS_OPTIONS if isinstance(use_ssl, Mapping) else ():
        value = use_ssl.get(key, use_ssl.get(key.removeprefix("ssl_")))
        if value is None or key in query:
            continue
        if key == "ssl_cert_reqs" and isinstance(value, int):  # ssl.VerifyMode
            value = _CERT_REQS.get(int(value), value)
        query[key] = str(value)
    return urlunsplit(parts._replace(scheme=scheme, query=urlencode(query)))


def _keys(value: Iterable[str] | str | None) -> frozenset[str]:
    if value is None:
        return frozenset()
    if isinstance(value, str):
        value = [value]
    return frozenset(str(v) for v in value)


def build_config(
    app: Any = None,
    *,
    env: Mapping[str, str] | None = None,
    transport_url: str | None = None,
    prefix: str | None = None,
    ttl: int | None = None,
    additional_sensitive_keys: Iterable[str] | None = None,
    safe_keys: Iterable[str] | None = None,
    **options: Any,
) -> StemtraceConfig:
    """Resolve arguments, environment and the Celery app into a validated :class:`StemtraceConfig`.

    ``options`` are the remaining :class:`StemtraceConfig` fields (``capture_args``, ``buffer_size``, …);
    an unknown name raises :class:`ConfigurationError`.
    """
    env = os.environ if env is None else env
    known = set(StemtraceConfig.__dataclass_fields__) - {"transport_url", "prefix", "ttl"}
    unknown = set(options) - known
    if unknown:
        raise ConfigurationError(
            f"unknown stemtrace option(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}"
        )
    url = (
        transport_url
        or env.get("STEMTRACE_TRANSPORT_URL")
        or env.get("STEMTRACE_BROKER_URL")
        or celery_broker_url(app)
        or ""
    )
    if prefix is None:
        prefix = env.get("STEMTRACE_PREFIX") or DEFAULT_PREFIX
    if ttl is None:
        ttl = _env_int(env, "STEMTRACE_TTL")
        ttl = DEFAULT_TTL if ttl is None else ttl
    options = {k: v for k, v in options.items() if v is not None}
    options["additional_sensitive_keys"] = additional_sensitive_keys
    options["safe_keys"] = safe_keys
    defaults = StemtraceConfig.__dataclass_fields__
    for name in known:
        if options.get(name) is None:
            field_default = defaults[name].default
            if field_default is MISSING:
                field_default = frozenset()
            value = _env_value(env, name, field_default)
            if value is None:
                options.pop(name, None)
            else:
                options[name] = value
    for name in ("additional_sensitive_keys", "safe_keys"):
        options[name] = _keys(options.get(name))
    return StemtraceConfig(
        transport_url=normalize_transport_url(url) if url else "",
        prefix=prefix,
        ttl=ttl,
        **options,
    )
