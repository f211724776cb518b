"""The package version, read from the installed distribution (one number, set in Cargo.toml)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("stemtrace")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
