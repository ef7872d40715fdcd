#!/usr/bin/env bash
# The benchmark: Cableway side by side with Node ws, Socket.IO, Rails Action Cable and a raw
# floor on this machine. Never run by CI (CI runs one N=100 smoke pass: bench/tests/loadgen_smoke.rs).
#
#   bash bench/run.sh quick     # N=1k, pinned ×3 + whole-box ×1, < 5 min
#   bash bench/run.sh full      # N=1k/5k/10k pinned ×5, whole-box N=5k ×3, two-node N=5k, < 30 min
#   bash bench/run.sh two-node  # N=1k split over two nodes on one Redis vs one embedded node, < 3 min
#   bash bench/run.sh two-node --ns 2000   # another N
#   bash bench/run.sh full --peers ws,floor --reps 3   # any `bench` option (see bench/src/bin/bench.rs)
#
# Installs what is missing first (npm packages of bench/peers/node; Debian ruby-actioncable,
# puma, ruby-redis, redis-server with apt-get), builds cableway and the harness with --release,
# then runs `bench`, which writes target/bench/<quick|full|two-node>.{md,json} (plus timestamped copies,
# server logs and the profile) under the repository's ./target/bench.
# Everything binds 127.0.0.1; every process the bench starts is stopped by pid when its run ends.
set -euo pipefail
cd "$(dirname "$0")/.."

kind="${1:-}"
case "$kind" in
  quick|full|two-node) shift ;;
  *) echo "usage: bash bench/run.sh quick|full|two-node [bench options]" >&2; exit 2 ;;
esac

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cableway-target}"
export CARGO_TERM_COLOR=never

echo "== peers"
need_apt=()
command -v node >/dev/null && command -v npm >/dev/null || need_apt+=(nodejs npm)
command -v puma >/dev/null || need_apt+=(puma)
dpkg-query -W -f='${Status}' ruby-actioncable 2>/dev/null | grep -q "install ok installed" || need_apt+=(ruby-actioncable)
dpkg-query -W -f='${Status}' ruby-redis 2>/dev/null | grep -q "install ok installed" || need_apt+=(ruby-redis)
command -v redis-server >/dev/null || need_apt+=(redis-server)
command -v taskset >/dev/null || need_apt+=(util-linux)
command -v perf >/dev/null || need_apt+=(linux-perf)
if [ "${#need_apt[@]}" -gt 0 ]; then
  echo "installing with apt-get: ${need_apt[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi
(cd bench/peers/node && npm ci --no-audit --no-fund --loglevel=error)

echo "== building (release)"
cargo build --release --locked -p cableway
cargo build --release --locked -p cableway-bench --bin loadgen --bin rawfloor --bin bench

echo "== bench $kind"
CABLEWAY_BIN="$CARGO_TARGET_DIR/release/cableway" exec "$CARGO_TARGET_DIR/release/bench" "$kind" "$@"
