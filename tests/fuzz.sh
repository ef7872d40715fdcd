#!/usr/bin/env bash
# Builds the fuzz targets of fuzz/ on the stable toolchain (cargo-fuzz, no sanitizer) and
# runs each for FUZZ_SECONDS (30 by default) from a copy of its committed seed corpus, so
# the repository is never written to. A crash, a failed assertion or an input that runs over
# 10 s fails this script; libFuzzer then leaves the input under fuzz/artifacts/<target>/
# (gitignored) to reproduce with `cargo fuzz run -s none <target> <file>`.
# tests/run.sh calls it after the cargo tests.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cableway-target}"
export CARGO_TERM_COLOR=never
# Instrumented builds share nothing with the ordinary ones: a directory of their own.
FUZZ_TARGET_DIR="$CARGO_TARGET_DIR/fuzz"
SECONDS_PER_TARGET="${FUZZ_SECONDS:-30}"

if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install --locked cargo-fuzz
fi

# `-s none`: no AddressSanitizer, so no nightly flags; without `--build-std` (its default
# is off for `-s none` on stable) std is the prebuilt one. Still libFuzzer with coverage.
echo "== building the fuzz targets ($(cargo fuzz --version))"
cargo fuzz build -s none --target-dir "$FUZZ_TARGET_DIR"
# cargo fuzz has no --locked: a lock it had to change means fuzz/Cargo.lock is stale.
git diff --exit-code --stat -- fuzz/Cargo.lock || { echo "fuzz/Cargo.lock changed in the build: commit it" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failed=()
for target in $(cargo fuzz list); do
  corpus="$work/$target"
  mkdir -p "$corpus"
  cp fuzz/corpus/"$target"/* "$corpus"/
  echo "== fuzzing $target for ${SECONDS_PER_TARGET}s ($(ls "$corpus" | wc -l) seeds)"
  if cargo fuzz run -s none --target-dir "$FUZZ_TARGET_DIR" "$target" "$corpus" -- \
      -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      >"$work/$target.log" 2>&1; then
    grep -E '^(Done|stat::number_of_executed_units)' "$work/$target.log" || true
  else
    tail -n 60 "$work/$target.log"
    failed+=("$target")
  fi
done

if [ "${#failed[@]}" -ne 0 ]; then
  echo "fuzzing failed: ${failed[*]} (inputs under fuzz/artifacts/)" >&2
  exit 1
fi
echo "== fuzzing: every target ran ${SECONDS_PER_TARGET}s without a crash or a timeout"
