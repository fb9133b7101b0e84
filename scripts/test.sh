#!/usr/bin/env bash
# The whole test suite. With no variables set it uses SQLite and an embedded Redis;
# DATABASE_URL / REDIS_URL point it at PostgreSQL and Redis (as .ci/run does).
# Browser tests need Debian's chromium: installed here when missing (as root).
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_env.sh
.venv/bin/python -m pip install -q -e '.[test]'
if [ ! -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "Installing Debian's chromium for the browser tests..."
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
  else
    echo "The browser tests need chromium: sudo apt-get install --no-install-recommends chromium" >&2
    exit 1
  fi
fi
exec .venv/bin/python -m pytest "$@"
