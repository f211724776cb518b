#!/usr/bin/env bash
# Install what the test suites need from Debian when it is missing: redis-server (the tests also start
# private ones: restarts, TLS), openssl (the TLS tests' certificates), rabbitmq-server (the tests use the
# one on 127.0.0.1:5672 when it answers, and start private nodes: restarts, TLS) and chromium (the
# browser tests).
# Fails with a clear message where installing is impossible; never lets a suite be skipped.
set -euo pipefail

need=()
if ! command -v redis-server >/dev/null; then need+=(redis-server); fi
if ! command -v openssl >/dev/null; then need+=(openssl); fi
if [[ ! -x /usr/lib/rabbitmq/bin/rabbitmq-server ]] && ! command -v rabbitmq-server >/dev/null; then
  need+=(rabbitmq-server)
fi
if [[ ! -x /usr/bin/chromium ]]; then need+=(chromium); fi
[[ ${#need[@]} -eq 0 ]] && exit 0

echo "installing from Debian: ${need[*]}"
if ! command -v apt-get >/dev/null; then
  echo "error: ${need[*]} missing and apt-get is not available; install them yourself" >&2; exit 1
fi
sudo=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "error: need root (or sudo) to install ${need[*]}" >&2; exit 1; }
  sudo="sudo"
fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
