#!/usr/bin/env bash
# kill -9 at random moments during QoS 1 streams, through the release binary
# and a Mosquitto of the test's own (tests/it/no_loss.rs): every message must end
# in the history exactly once.
#
#   bash benches/kill_rounds.sh [STREAMS] [MESSAGES] [KILLS]
#
# Defaults: 5 streams of 40,000 messages, 5 kills in each (200,000 messages).
set -euo pipefail
cd "$(dirname "$0")/.."
streams=${1:-5}
messages=${2:-40000}
kills=${3:-5}
cargo test --release --test it --no-run >/dev/null 2>&1
total=0
for s in $(seq "$streams"); do
  out=$(FLOORWATCH_KILL_ROUNDS=$kills FLOORWATCH_KILL_MESSAGES=$messages \
    cargo test --release -q --test it no_loss::kill_9 -- --nocapture 2>&1) || {
    echo "$out"; echo "stream $s: FAILED"; exit 1; }
  echo "$out" | grep -E "^round|^kill rounds" | sed "s/^/stream $s: /"
  total=$((total + messages))
done
echo "all streams: $total/$total messages stored exactly once, $((streams * kills)) kills"
