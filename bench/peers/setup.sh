#!/usr/bin/env bash
# Create (idempotently) a virtualenv holding the pure-Python stemtrace 0.4.5 — the "peer" whose wire format
# we must stay compatible with. It lives OUTSIDE the repo and never touches our own .venv.
#   PEERS_VENV=/path bash bench/peers/setup.sh   (default /work/peers-venv)
set -euo pipefail
PEERS_VENV="${PEERS_VENV:-/work/peers-venv}"
PEER_VERSION="${PEER_VERSION:-0.4.5}"
PY="${PYTHON:-python3}"

if [ ! -x "$PEERS_VENV/bin/python" ]; then
    "$PY" -m venv "$PEERS_VENV"
fi
if "$PEERS_VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('stemtrace') != '$PEER_VERSION')" \
    2>/dev/null && "$PEERS_VENV/bin/python" -c "import celery, redis, packaging" 2>/dev/null; then
    echo "peer venv ready: $PEERS_VENV (stemtrace $PEER_VERSION)"
    exit 0
fi
"$PEERS_VENV/bin/pip" install --quiet --upgrade pip
"$PEERS_VENV/bin/pip" install --quiet "stemtrace==$PEER_VERSION" celery redis packaging
"$PEERS_VENV/bin/python" -c "import importlib.metadata as m; print('peer venv ready:', '$PEERS_VENV', 'stemtrace', m.version('stemtrace'))"
