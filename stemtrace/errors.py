"""The exceptions stemtrace raises. The engine's errors map onto these too."""


class StemtraceError(Exception):
    """Base class of every error stemtrace raises on purpose."""


class ConfigurationError(StemtraceError, ValueError):
    """The configuration given cannot work; the message says what to change."""


class EngineError(StemtraceError):
    """The Rust engine refused an operation (bad URL, not started, ...)."""
