#!/usr/bin/env bash
# Runs every Cableway test on a fresh machine, installing what the tests need first:
# the npm packages of tests/node (TypeScript, the official ActionCable clients,
# playwright-core) and server/debug-ui (esbuild, ajv), and, when they are missing,
# redis-server, openssl (a TLS-only Redis for the multi-node tests), chromium and Rails'
# ActionCable (ruby-actioncable, ruby-redis) from apt.
# CI calls this through .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

# A target dir outside the clone survives fresh clones, so CI can reuse earlier builds.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cableway-target}"
export CARGO_TERM_COLOR=never

echo "== installing test dependencies"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm
fi
(cd tests/node && npm ci --no-audit --no-fund --loglevel=error)
if ! command -v redis-server >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server
fi
# The debug page: its build tools (esbuild, ajv, tsc) for the bundle freshness check, and
# Debian's Chromium for the browser test (driven by playwright-core from tests/node).
(cd server/debug-ui && npm ci --no-audit --no-fund --loglevel=error)
if [ ! -x /usr/bin/chromium ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi
# The multi-node tests make a CA and a certificate for a TLS-only Redis (rediss://).
if ! command -v openssl >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl
fi

# The Rails test (tests/tests/rails_broadcasts.rs) broadcasts with Rails' own ActionCable
# and its Redis adapter: Debian's ruby-actioncable (6.1) and ruby-redis.
if ! ruby -e 'require "action_cable"; require "redis"' >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ruby ruby-actioncable ruby-redis
fi

# kosoku (PyPI) runs the Autobahn WebSocket suite (tests/tests/autobahn.rs), from a venv
# outside the clone, like the target dir.
KOSOKU_VENV="${CABLEWAY_KOSOKU_VENV:-$HOME/.cache/cableway-kosoku-venv}"
if [ ! -x "$KOSOKU_VENV/bin/kosoku" ]; then
  command -v python3 >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv; }
  python3 -m venv "$KOSOKU_VENV" && "$KOSOKU_VENV/bin/pip" install -q kosoku==0.1.0
fi
export CABLEWAY_KOSOKU_VENV="$KOSOKU_VENV"

echo "== building"
cargo build --workspace --all-targets --locked

echo "== schema set and generated/ are in sync"
"$CARGO_TARGET_DIR/debug/cableway" check --schema schema --out generated

echo "== schema compatible with the latest release lock"
"$CARGO_TARGET_DIR/debug/cableway" compat --schema schema --against "$(ls schema/lock/*.json | sort -V | tail -1)"

echo "== debug page bundle is what server/debug-ui builds to"
(cd server/debug-ui && npm run --silent check)

echo "== generated TypeScript under tsc --strict"
# The generated package builds with the dev dependencies tests/node installs (TypeScript,
# @types/react): link them where `npm install` in generated/ts would put them (gitignored).
[ -e generated/ts/node_modules ] || ln -s ../../tests/node/node_modules generated/ts/node_modules
(cd tests/node && npx tsc -p ../../generated/ts --noEmit)

echo "== tests"
cargo test --workspace --locked

echo "== fuzz targets (30 s each)"
bash tests/fuzz.sh
