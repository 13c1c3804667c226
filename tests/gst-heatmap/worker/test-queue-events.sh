#!/usr/bin/env bash
# Event path: Ceph RGW bucket notifications -> RabbitMQ -> 2 heatmap-worker processes.
# Uploading 6 clips gives 6 heatmaps and their hour/day/week/month rollups with no batch run; objects that are not clips, or lie
# outside the videos prefix, give none. Run under tests/lib/with-s3-server --buckets NAME.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source_root=${SOURCE_ROOT:-$here/../../..}
build_root=${BUILD_ROOT:-$source_root/build}
shared=${SHARED_DIR:-$source_root/../shared}
helper=$build_root/s3src-helper/s3src-helper
worker=$build_root/gst-heatmap/worker/heatmap-worker
: "${S3_ENDPOINT:?run me under tests/lib/with-s3-server}"
# shellcheck source-path=SCRIPTDIR source=../../../scripts/lib/clips.sh
source "$source_root/scripts/lib/clips.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-queue-events.XXXXXX")
# shellcheck source-path=SCRIPTDIR source=queue-test-lib.sh
source "$here/queue-test-lib.sh"
pids=()
# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  broker_stop
  rm -rf "$tmp"
}
trap cleanup EXIT

# shellcheck source-path=SCRIPTDIR source=../../lib/checks.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../lib/checks.sh"

bucket=${S3_TEST_BUCKETS%% *}
export S3_BUCKET="s3://$bucket" AMQP_QUEUE=events-clips AMQP_EXCHANGE=events
export DOWNSCALE=0.5 HEATMAP_OPTIONS="" WORK_DIR=$tmp
export GST_PLUGIN_PATH=$build_root/gst-heatmap:$build_root/s3src-helper
unset S3_VIDEOS_PREFIX S3_HEATMAPS_PREFIX VIDEO_PREFIX JOBS

broker_start
export AMQP_URL=$BROKER_URL
echo "broker on port $AMQP_PORT"

mkdir -p "$tmp/clips"
for s in 0 1 2 3 4 5; do clips_synthetic "$tmp/clips/c$s.mp4" 160 96 40 "$s"; done

# Two workers, one job each, separate work folders: competing consumers. Heartbeats every 2 s:
# a worker that stops sending them while it sleeps is dropped by the broker within ~4 s.
for w in 1 2; do
  mkdir -p "$tmp/w$w"
  AMQP_HEARTBEAT=2 WORK_DIR=$tmp/w$w "$worker" --jobs 1 >"$tmp/w$w.out" 2>"$tmp/w$w.err" &
  pids+=($!)
done
connected() { grep -q "connected to" "$tmp/w1.err" && grep -q "connected to" "$tmp/w2.err"; }
wait_for 120 connected || { cat "$tmp"/w*.err >&2; echo "FAIL: workers did not connect" >&2; exit 1; }
ok "2 workers connected and declared the topology"

# The bucket publishes ObjectCreated events under raw_videos/ to the workers' exchange.
"$helper" notify-setup "$S3_BUCKET" --amqp-url "amqp://127.0.0.1:$AMQP_PORT" \
  --exchange "$AMQP_EXCHANGE" --topic events-topic >"$tmp/notify.out" 2>&1 ||
  { cat "$tmp/notify.out" >&2; exit 1; }
check "notify-setup: ObjectCreated under raw_videos/" \
  grep -q "s3:ObjectCreated:\* under 'raw_videos/'" "$tmp/notify.out"

keys=()
for s in 0 1 2 3 4 5; do
  key="raw_videos/2025/10/2$((s / 3))/1$s/clip_2025-10-2$((s / 3))_1$s-00-00.mp4"
  keys+=("$key")
  "$helper" put "$tmp/clips/c$s.mp4" "$S3_BUCKET/$key" >/dev/null
done
echo "camera notes" >"$tmp/notes.txt"
"$helper" put "$tmp/notes.txt" "$S3_BUCKET/raw_videos/2025/10/20/10/notes.txt" >/dev/null
"$helper" put "$tmp/clips/c0.mp4" "$S3_BUCKET/elsewhere/2025/10/20/10/clip_2025-10-20_10-00-00.mp4" >/dev/null
upload_done=$SECONDS

heatmap_of() { # video key -> jpeg key
  local k=${1#raw_videos/}
  printf 'heatmaps/%s_heatmap.jpg' "${k%.*}"
}
all_done() {
  local k
  for k in "${keys[@]}"; do
    "$helper" head "$S3_BUCKET/$(heatmap_of "$k")" >/dev/null 2>&1 || return 1
  done
}
if wait_for 400 all_done; then
  ok "6 uploads -> 6 heatmaps in $((SECONDS - upload_done)) s, no batch run"
else
  fail "not every clip got its heatmap"
  cat "$tmp"/w*.out "$tmp"/w*.err >&2
fi

ok_lines=$(cat "$tmp"/w*.out | grep -c ' ok raw_videos/' || true)
check "6 'ok' log lines, one per clip (got $ok_lines)" test "$ok_lines" = 6
for w in 1 2; do
  n=$(grep -c ' ok raw_videos/' "$tmp/w$w.out" || true)
  check "worker $w rendered some clips ($n)" test "$n" -ge 1
done
check "non-video object acked and ignored" \
  grep -q ' ignored raw_videos/2025/10/20/10/notes.txt - not a video' "$tmp/w1.out" "$tmp/w2.out"
if grep -q 'elsewhere/' "$tmp"/w*.out; then fail "an object outside the prefix was delivered"; else
  ok "nothing delivered for an upload outside raw_videos/"; fi
"$helper" ls "$S3_BUCKET/heatmaps/" --recursive >"$tmp/heatmaps.txt"
n=$(grep -c '/clip_[^/]*_heatmap.jpg' "$tmp/heatmaps.txt" || true)
check "exactly 6 clip heatmap JPEGs in the bucket (got $n)" test "$n" = 6

# Idle for 3 heartbeat intervals and more: each worker kept its one connection all along.
sleep 7
for w in 1 2; do
  n=$(grep -c 'connected to' "$tmp/w$w.err" || true)
  check "worker $w kept its connection with 2 s heartbeats, busy and idle (connections: $n)" \
    bash -c "test $n = 1 && ! grep -q 'reconnecting' $tmp/w$w.err"
done

# The broker thread sleeps until a delivery, a finished clip or a signal wakes it (no timer):
# over each worker's life (start, idle, its clips, rollups) its main thread went to sleep a few
# times a second at most (the heartbeat slice and the events); polling every 5 ms while clips
# run and every 100 ms idle made that >= 10 a second.
for i in 0 1; do
  pid=${pids[i]}
  sleeps=$(awk '/^voluntary_ctxt_switches/ {print $2}' "/proc/$pid/task/$pid/status")
  life=$(ps -o etimes= -p "$pid" | tr -d ' ')
  check "worker $((i + 1))'s broker thread sleeps until woken ($sleeps sleeps in $life s)" \
    test "$sleeps" -le $((4 * life + 30))
done

# SIGTERM: both exit 0; nothing is left in the queue, nothing unacknowledged.
for i in 0 1; do kill -TERM "${pids[i]}"; done
for i in 0 1; do
  rc=0
  wait "${pids[i]}" || rc=$?
  check "worker $((i + 1)) exits 0 on SIGTERM (status $rc)" test "$rc" = 0
done
pids=()
counts=$(queue_counts "$AMQP_QUEUE")
check "queue empty, nothing unacked (ready/unacked: $counts)" test "$counts" = "0 0"

# Rollups, as heatmap-batch makes them: the two workers finished clips of the same days, week
# and month at about the same time (competing writers); after SIGTERM every rollup holds all
# of its clips. Clips: 2025-10-20 hours 10-12, 2025-10-21 hours 13-15 (ISO week 2025-W43).
rollup_clips() { # KEY -> the rollup sidecar's clip count (empty when missing)
  "$helper" get "$S3_BUCKET/$1" - 2>/dev/null |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["clips"])' 2>/dev/null || true
}
for spec in "2025/10/20/10/hour_heatmap.json 1" "2025/10/21/15/hour_heatmap.json 1" \
  "2025/10/20/day_heatmap.json 3" "2025/10/21/day_heatmap.json 3" \
  "weeks/2025-W43_heatmap.json 6" "2025/10/month_heatmap.json 6"; do
  key=heatmaps/${spec% *} want=${spec#* }
  got=$(rollup_clips "$key")
  check "rollup $key holds $want clip(s) (got ${got:-none})" test "$got" = "$want"
done
"$helper" ls "$S3_BUCKET/heatmaps/" --recursive >"$tmp/rollups.txt"
n=$(grep -c '_heatmap.jpg' "$tmp/rollups.txt" | tr -d ' ')
check "rollup JPEGs beside the clips' (6 clips + 6 hours + 2 days + week + month = 16, got $n)" \
  test "$n" = 16
check "one 'rollups:' log line per pass, no failure" \
  bash -c "grep -q 'rollups: written' $tmp/w1.out $tmp/w2.out && ! grep -q 'FAILED' $tmp/w1.out $tmp/w2.out"

# Secrets: neither the S3 secret nor the broker password appears in any log.
if grep -rqF -e "$S3_SECRET_KEY" "$tmp"/*.out "$tmp"/*.err; then fail "S3 secret in a log"; else
  ok "no S3 secret in the logs"; fi

((failures == 0)) || { echo "$failures failure(s)" >&2; exit 1; }
echo "all event-path checks passed"
