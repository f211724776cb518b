#!/usr/bin/env bash
# Idempotent setup of the peers the comparison runs against — all OUTSIDE the repo, never in our .venv:
#   - /work/peers-venv   (PEERS_VENV): stemtrace 0.4.5 + celery + redis, made by bench/peers/setup.sh;
#   - /work/compare-venv (COMPARE_VENV): Flower + the harness's own needs (redis, httpx, orjson, matplotlib);
#   - wrk (Debian package) for HTTP latency.
set -euo pipefail
cd "$(dirname "$0")/../.."
PEERS_VENV="${PEERS_VENV:-/work/peers-venv}" bash bench/peers/setup.sh
COMPARE_VENV="${COMPARE_VENV:-/work/compare-venv}"
PY="${PYTHON:-python3}"
if [ ! -x "$COMPARE_VENV/bin/python" ]; then
    "$PY" -m venv "$COMPARE_VENV"
fi
if ! "$COMPARE_VENV/bin/python" -c "import flower, celery, redis, httpx, orjson, matplotlib" 2>/dev/null; then
    "$COMPARE_VENV/bin/pip" install --quiet --upgrade pip
    "$COMPARE_VENV/bin/pip" install --quiet "flower>=2.0" celery redis httpx orjson matplotlib
fi
"$COMPARE_VENV/bin/python" -c "import importlib.metadata as m; print('compare venv ready:', '$COMPARE_VENV', 'flower', m.version('flower'))"
if ! command -v wrk >/dev/null; then
    if [ "$(id -u)" = 0 ]; then apt-get install -y -q wrk >/dev/null; else echo "install wrk: sudo apt-get install wrk" >&2; fi
fi
