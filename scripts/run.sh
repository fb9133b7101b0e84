#!/usr/bin/env bash
# Factory in one command: environment, install, migrations, demo organisation, then web +
# worker (+ an embedded Redis unless REDIS_URL is set) on http://127.0.0.1:5000.
# Ctrl-C stops everything it started. Extra arguments go to `factory-app serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_env.sh
.venv/bin/python -m pip install -q -e '.[local]'
.venv/bin/factory-app seed-demo
exec .venv/bin/factory-app serve "$@"
