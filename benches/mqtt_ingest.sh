#!/usr/bin/env bash
# End-to-end MQTT ingest: `floorwatch run --headless` vs `mosquitto_sub` on the
# same stream in the same run.
#
#   cargo build --release && bash benches/mqtt_ingest.sh [QOS...] [--runs N] [--single-topic]
#
# A Mosquitto of the benchmark's own (generated config, ephemeral port,
# unlimited queues so the broker itself drops nothing) receives 200,000 JSON
# messages for 100 sensors (topics bench/s00..bench/s99, 2,000 each) from 100
# parallel `mosquitto_pub -l`. floorwatch (pattern `bench/+`, JSON pointers) and
# `mosquitto_sub -C 200000 > /dev/null` are both subscribed before the first
# publish. Rate = 200,000 / (time the subscriber is done − time the first
# publisher started): mosquitto_sub is done when it exits; floorwatch when its
# status line (every 50 ms) shows 200,000 rows stored in the history file.
# CPU seconds and peak RSS come from /usr/bin/time -v. The row count and the
# sum of values in the file are checked after every run.
#
# --single-topic: the same 200,000 readings as factory-monitor JSON
# (`{"timestamp":"…Z","sensor_id":"temp-042","sensor_type":"temperature",
# "location":{"zone":"zone-a"},"value":…,"unit":"°C","alert_level":"normal",
# "quality":1.0}`) from ONE `mosquitto_pub -l` to ONE topic, the sensor taken
# from `/sensor_id`: the stream a busy single-topic gateway sends, where the
# publishers are no longer the limit.
set -euo pipefail
cd "$(dirname "$0")/.."

QOS_LIST=()
RUNS=3
SHAPE=topics
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) RUNS="$2"; shift 2 ;;
    --single-topic) SHAPE=single; shift ;;
    *) QOS_LIST+=("$1"); shift ;;
  esac
done
[ ${#QOS_LIST[@]} -gt 0 ] || QOS_LIST=(0 1)

BIN=target/release/floorwatch
SENSORS=100
PER_SENSOR=2000
TOTAL=$((SENSORS * PER_SENSOR))
WORK=$(mktemp -d /tmp/floorwatch-mqtt-bench.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }

# Payload files: message i of sensor k is value i at ts = BASE + i*100 + k ms (unique per sensor).
python3 - "$WORK" "$SENSORS" "$PER_SENSOR" <<'EOF'
import sys, datetime
work, sensors, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
base = 1759406400000
for k in range(sensors):
    with open(f"{work}/s{k:02d}.jsonl", "w") as f:
        for i in range(per):
            f.write(f'{{"ts":{base + i * 100 + k},"value":{i}.5,"unit":"kW","quality":1}}\n')
# The single-topic stream: every sensor once per step, in arrival order.
with open(f"{work}/all.jsonl", "w") as f:
    for i in range(per):
        for k in range(sensors):
            ts = datetime.datetime.fromtimestamp((base + i * 100 + k) / 1000, datetime.timezone.utc)
            stamp = ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"
            f.write(f'{{"timestamp":"{stamp}","sensor_id":"temp-{k:03d}","sensor_type":"temperature",'
                    f'"location":{{"zone":"zone-{k % 4}"}},"value":{i}.5,"unit":"°C",'
                    f'"alert_level":"normal","quality":1.0}}\n')
EOF
EXPECTED_SUM=$(python3 -c "print($SENSORS * sum(i + 0.5 for i in range($PER_SENSOR)))")

one_run() {
  local qos=$1 run=$2
  local dir="$WORK/q$qos-r$run"; mkdir -p "$dir"
  local port; port=$(free_port)
  cat > "$dir/mosquitto.conf" <<EOF
listener $port 127.0.0.1
allow_anonymous true
persistence false
max_queued_messages 0
sys_interval 1
user root
EOF
  mosquitto -c "$dir/mosquitto.conf" 2>"$dir/mosquitto.log" &
  local broker=$!
  for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.05; done

  cat > "$dir/bench.toml" <<EOF
[ui]
status_every = "50ms"
[[mqtt]]
name = "bench"
url = "mqtt://127.0.0.1:$port"
client_id = "floorwatch-bench-q$qos-r$run"
qos = $qos
EOF
  if [ "$SHAPE" = single ]; then
    cat >> "$dir/bench.toml" <<EOF
[[mqtt_pattern]]
broker = "bench"
topic = "bench/all"
id = "{id}"
id_path = "/sensor_id"
value = "/value"
time = "/timestamp"
unit_path = "/unit"
quality = "/quality"
EOF
  else
    cat >> "$dir/bench.toml" <<EOF
[[mqtt_pattern]]
broker = "bench"
topic = "bench/+"
id = "{1}"
value = "/value"
time = "/ts"
time_format = "ms"
unit_path = "/unit"
quality = "/quality"
EOF
  fi
  FLOORWATCH_DATA_DIR="$dir" /usr/bin/time -v -o "$dir/fw.time" \
    "$BIN" run --headless --config "$dir/bench.toml" --db "$dir/history.sqlite" 2>"$dir/fw.log" &
  local fw=$!
  for _ in $(seq 200); do grep -q "subscribed to 1 of 1" "$dir/fw.log" 2>/dev/null && break; sleep 0.05; done

  /usr/bin/time -v -o "$dir/sub.time" \
    mosquitto_sub -h 127.0.0.1 -p "$port" -q "$qos" -t 'bench/+' -C "$TOTAL" -W 300 >/dev/null &
  local sub=$!
  # mosquitto_sub has no readiness signal: wait until the broker counts two subscriptions.
  for _ in $(seq 200); do
    [ "$(mosquitto_sub -h 127.0.0.1 -p "$port" -t '$SYS/broker/subscriptions/count' -C 1 -W 5 2>/dev/null || echo 0)" -ge 2 ] && break
    sleep 0.1
  done

  local t0; t0=$(now)
  if [ "$SHAPE" = single ]; then
    # stdin stays open after the last line: mosquitto_pub 2.0 disconnects at EOF
    # without sending what is still queued at QoS 1 (3,400 of 200,000 arrive).
    ( cat "$WORK/all.jsonl"; sleep 600 & echo $! > "$dir/keep-open.pid"; wait ) |
      mosquitto_pub -h 127.0.0.1 -p "$port" -q "$qos" -t "bench/all" -l &
  else
    for k in $(seq -f %02g 0 $((SENSORS - 1))); do
      mosquitto_pub -h 127.0.0.1 -p "$port" -q "$qos" -t "bench/s$k" -l < "$WORK/s$k.jsonl" &
    done
  fi
  wait "$sub" || echo "mosquitto_sub did not receive $TOTAL messages within 300 s" >&2
  local t_sub; t_sub=$(now)
  local done_line=""
  for _ in $(seq 1200); do
    done_line=$(grep -m1 -E "stored=$TOTAL( |$)" "$dir/fw.log" || true)
    [ -n "$done_line" ] && break
    sleep 0.05
  done
  [ -n "$done_line" ] || { echo "floorwatch did not store $TOTAL rows; last: $(grep stored= "$dir/fw.log" | tail -1)" >&2; }
  # Signal floorwatch itself (the child of /usr/bin/time), which then reports.
  pkill -TERM -P "$fw"; wait "$fw" || true
  if [ -f "$dir/keep-open.pid" ]; then kill "$(cat "$dir/keep-open.pid")" 2>/dev/null || true; fi
  kill -TERM "$broker"; wait "$broker" || true
  # tracing's timestamp (UTC) on the status line that first showed every row stored.
  local t_fw; t_fw=$(date -d "$(echo "$done_line" | cut -d' ' -f1)" +%s.%N)
  local rows sum
  rows=$(sqlite3 "$dir/history.sqlite" "SELECT count(*) FROM readings")
  sum=$(sqlite3 "$dir/history.sqlite" "SELECT sum(value) FROM readings")
  python3 - "$SHAPE" "$qos" "$run" "$t0" "$t_sub" "$t_fw" "$rows" "$sum" "$EXPECTED_SUM" "$dir" "$TOTAL" <<'EOF'
import sys, re
shape, qos, run, t0, t_sub, t_fw, rows, total_sum, expected_sum, d, total = sys.argv[1:]
t0, t_sub, t_fw = float(t0), float(t_sub), float(t_fw)
def timing(path):
    text = open(path).read()
    cpu = float(re.search(r"User time \(seconds\): ([\d.]+)", text)[1]) + float(re.search(r"System time \(seconds\): ([\d.]+)", text)[1])
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)[1]) / 1024
    return cpu, rss
fw_cpu, fw_rss = timing(f"{d}/fw.time")
sub_cpu, sub_rss = timing(f"{d}/sub.time")
total = int(total)
fw_rate, sub_rate = total / (t_fw - t0), total / (t_sub - t0)
ok = int(rows) == total and abs(float(total_sum) - float(expected_sum)) < 1e-6
print(f"shape={shape} qos={qos} run={run} floorwatch={fw_rate:,.0f}/s mosquitto_sub={sub_rate:,.0f}/s ratio={fw_rate/sub_rate:.2f} "
      f"fw_cpu={fw_cpu:.2f}s fw_rss={fw_rss:.1f}MiB sub_cpu={sub_cpu:.2f}s sub_rss={sub_rss:.1f}MiB rows={rows} sum_ok={ok}")
EOF
}

for qos in "${QOS_LIST[@]}"; do
  for run in $(seq "$RUNS"); do
    one_run "$qos" "$run"
  done
done
