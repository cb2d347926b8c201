#!/usr/bin/env bash
# End-to-end CSV import benchmark: `floorwatch import` of a generated long CSV
# (default 5,000,000 rows, and a fifth of it to show peak RSS does not grow
# with the file) and of the UCI file, against `sqlite3`'s `.import` of the same
# files into an equivalent table with the same primary-key index, in the same
# run; median wall time of RUNS runs (default 3, fresh database each), largest
# peak RSS (GNU time), load average before and after.
#
#   RUNS=3 bash benches/csv_import_e2e.sh [ROWS]
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-5000000}
RUNS=${RUNS:-3}
[ -n "${SKIP_BUILD:-}" ] || cargo build --release --quiet --bin floorwatch --example gen_long_csv
BIN=target/release/floorwatch
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

measure() { # label rows db cmd... -> "| label | rows | median s | rows/s | peak RSS MiB |"
  local label=$1 rows=$2 db=$3; shift 3
  : > "$work/runs"
  for _ in $(seq "$RUNS"); do
    rm -f "$db" "$db-wal" "$db-shm"
    /usr/bin/time -f "%e %M" -o "$work/time" "$@" > /dev/null
    cat "$work/time" >> "$work/runs"
  done
  sort -n "$work/runs" | awk -v l="$label" -v r="$rows" -v n="$RUNS" '
    { s[NR] = $1; if ($2 > k) k = $2 }
    END { m = s[int((n + 1) / 2)]; printf "| %s | %d | %.2f s | %.0f | %.0f MiB |\n", l, r, m, r / m, k / 1024 }'
}

long_table() { # sqlite3 script for the long file
  printf '%s\n' "PRAGMA journal_mode=WAL;" "PRAGMA synchronous=NORMAL;" \
    "CREATE TABLE readings(timestamp TEXT NOT NULL, sensor TEXT NOT NULL, value REAL NOT NULL, PRIMARY KEY (sensor, timestamp)) WITHOUT ROWID;" \
    ".import --csv --skip 1 $1 readings"
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); $RUNS runs each, median wall"
echo "| run | rows | wall (median) | rows/s | peak RSS |"
echo "| --- | --- | --- | --- | --- |"
small=$((ROWS / 5))
target/release/examples/gen_long_csv "$small" "$work/small.csv"
target/release/examples/gen_long_csv "$ROWS" "$work/long.csv"
measure "floorwatch import, long CSV ($(du -h "$work/small.csv" | cut -f1))" "$small" "$work/fw-small.sqlite" \
  "$BIN" import --db "$work/fw-small.sqlite" "$work/small.csv"
measure "floorwatch import, long CSV ($(du -h "$work/long.csv" | cut -f1))" "$ROWS" "$work/fw.sqlite" \
  "$BIN" import --db "$work/fw.sqlite" "$work/long.csv"
long_table "$work/long.csv" > "$work/long.sql"
measure "sqlite3 .import, same file, PK (sensor, timestamp)" "$ROWS" "$work/sq.sqlite" \
  sh -c "sqlite3 '$work/sq.sqlite' < '$work/long.sql'"

uci=${FLOORWATCH_SHARED_DATA:-../shared/data}/household_power_consumption_2006-12.txt
if [ -f "$uci" ]; then
  rows=$(($(wc -l < "$uci") - 1))
  measure "floorwatch import, UCI file (7 sensors per row)" "$rows" "$work/fw-uci.sqlite" \
    "$BIN" import --db "$work/fw-uci.sqlite" "$uci"
  printf '%s\n' "PRAGMA journal_mode=WAL;" "PRAGMA synchronous=NORMAL;" \
    "CREATE TABLE power(Date TEXT, Time TEXT, Global_active_power REAL, Global_reactive_power REAL, Voltage REAL, Global_intensity REAL, Sub_metering_1 REAL, Sub_metering_2 REAL, Sub_metering_3 REAL, PRIMARY KEY (Date, Time)) WITHOUT ROWID;" \
    ".separator ;" ".import --skip 1 $uci power" > "$work/uci.sql"
  measure "sqlite3 .import, UCI file (wide table, PK (Date, Time))" "$rows" "$work/sq-uci.sqlite" \
    sh -c "sqlite3 '$work/sq-uci.sqlite' < '$work/uci.sql'"
else
  echo "skipped: $uci is not present" >&2
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
