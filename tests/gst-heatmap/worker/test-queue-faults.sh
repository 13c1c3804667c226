#!/usr/bin/env bash
# Faults: 3 heatmap-worker processes (separate work folders, no shared lock) fed by
# `heatmap-batch --enqueue` over 20 clips (2 corrupt) while one worker is killed with -9
# mid-pipeline, rabbitmq-server restarts and S3 answers a burst of 503s (fault proxy).
# Afterwards: every good clip has exactly one heatmap, written by exactly one successful PUT
# (none overwritten), the same per-clip files as heatmap-batch makes of the same clips in a
# second bucket, no message is left ready or unacked, the corrupt clips are in the dead-letter
# queue with reasons, and neither the broker password nor the S3 secret is in any log or argv.
# Run under tests/lib/with-s3-server --buckets "A B".
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source_root=${SOURCE_ROOT:-$here/../../..}
build_root=${BUILD_ROOT:-$source_root/build}
shared=${SHARED_DIR:-$source_root/../shared}
helper=$build_root/s3src-helper/s3src-helper
worker=$build_root/gst-heatmap/worker/heatmap-worker
batch=$source_root/scripts/heatmap-batch
: "${S3_ENDPOINT:?run me under tests/lib/with-s3-server}"
# shellcheck source-path=SCRIPTDIR source=../../../scripts/lib/clips.sh
source "$source_root/scripts/lib/clips.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-queue-faults.XXXXXX")
# shellcheck source-path=SCRIPTDIR source=queue-test-lib.sh
source "$here/queue-test-lib.sh"
declare -A wpid=()
proxy_pid=""
# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
  local pid
  for pid in "${wpid[@]}" $proxy_pid; do kill -KILL "$pid" 2>/dev/null || true; done
  broker_stop
  rm -rf "$tmp"
}
trap cleanup EXIT

# shellcheck source-path=SCRIPTDIR source=../../lib/checks.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../lib/checks.sh"

read -r bucket_a bucket_b <<<"$S3_TEST_BUCKETS"
export AMQP_QUEUE=faults-clips AMQP_EXCHANGE=faults MAX_ATTEMPTS=6 RETRY_DELAY=1 RETRY_DELAY_MAX=4
export DOWNSCALE=0.5 HEATMAP_OPTIONS="" MAX_VIDEOS_PER_RUN=0 BUILD_DIR=$build_root
export GST_PLUGIN_PATH=$build_root/gst-heatmap:$build_root/s3src-helper
unset S3_VIDEOS_PREFIX S3_HEATMAPS_PREFIX VIDEO_PREFIX JOBS WORK_DIR

broker_start
# A real user with a password (guest/guest proves nothing about redaction).
amqp_password="pw-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
broker__ctl add_user heatmap "$amqp_password" >/dev/null
broker__ctl set_permissions -p / heatmap '.*' '.*' '.*' >/dev/null
export AMQP_URL="amqp://heatmap:$amqp_password@127.0.0.1:$AMQP_PORT/%2f"

# --- the clips: 18 good ones and 2 corrupt ones, in both buckets --------------------------------
mkdir -p "$tmp/clips"
keys=()
for i in $(seq 0 19); do
  h=$((10 + i / 4)) m=$(((i % 4) * 15))
  key=$(printf 'raw_videos/2025/10/20/%02d/clip_2025-10-20_%02d-%02d-00.mp4' "$h" "$h" "$m")
  keys+=("$key")
  if ((i == 5 || i == 14)); then
    head -c 30000 /dev/urandom >"$tmp/clips/$i.mp4"
  else
    clips_synthetic "$tmp/clips/$i.mp4" 128 72 30 "$i"
  fi
  for b in "$bucket_a" "$bucket_b"; do "$helper" put "$tmp/clips/$i.mp4" "s3://$b/$key" >/dev/null; done
done
ok "20 clips in s3://$bucket_a and s3://$bucket_b"

# --- reference: heatmap-batch on bucket A ---------------------------------------------------------
S3_BUCKET=s3://$bucket_a LOCK_FILE=$tmp/batch.lock WORK_DIR=$tmp "$batch" --jobs 2 \
  >"$tmp/batch.out" 2>"$tmp/batch.err" || true
check "heatmap-batch reports 18 processed, 2 failed" grep -q 'processed 18, failed 2' "$tmp/batch.out"

# --- the queue path on bucket B, S3 through the fault proxy ---------------------------------------
python3 "$source_root/tests/lib/fault-proxy.py" --upstream "$S3_ENDPOINT" --port-file "$tmp/proxy.port" \
  --stats-file "$tmp/proxy.json" --log-size 100000 --exit-with-parent 2>"$tmp/proxy.err" &
proxy_pid=$!
wait_for 30 test -s "$tmp/proxy.port" || { echo "FAIL: fault proxy did not start" >&2; exit 1; }
proxy="http://127.0.0.1:$(cat "$tmp/proxy.port")"
export S3_BUCKET=s3://$bucket_b

start_worker() { # N
  mkdir -p "$tmp/w$1"
  S3_ENDPOINT=$proxy WORK_DIR=$tmp/w$1 "$worker" --jobs 1 >>"$tmp/w$1.out" 2>>"$tmp/w$1.err" &
  wpid[$1]=$!
}
for w in 1 2 3; do start_worker "$w"; done
connected() { grep -q "connected to" "$tmp/w1.err" && grep -q "connected to" "$tmp/w2.err" &&
  grep -q "connected to" "$tmp/w3.err"; }
wait_for 120 connected || { cat "$tmp"/w*.err >&2; echo "FAIL: workers did not connect" >&2; exit 1; }

LOCK_FILE=$tmp/batch.lock "$batch" --enqueue >"$tmp/enqueue.out" 2>"$tmp/enqueue.err" ||
  fail "heatmap-batch --enqueue: $(cat "$tmp/enqueue.err")"
check "--enqueue published 20 clips" grep -q '^enqueued 20 clip(s)' "$tmp/enqueue.out"

done_count() { cat "$tmp"/w*.out 2>/dev/null | grep -cE ' (ok|skipped) raw_videos/' || true; }
at_least() { (($(done_count) >= $1)); }

# Fault 1: kill -9 a worker while its clip's pipeline runs, then start it again (systemd would).
wait_for 300 at_least 2 || fail "no clip finished"
victim=""
busy() {
  local w
  for w in 1 2 3; do
    if pgrep -P "${wpid[$w]}" heatmap-job >/dev/null; then victim=$w; return 0; fi
  done
  return 1
}
if wait_for 120 busy; then
  child=$(pgrep -P "${wpid[$victim]}" heatmap-job | head -n 1)
  # Argv of the worker and its job child: no secret on a command line.
  if grep -qaF -e "$amqp_password" -e "$S3_SECRET_KEY" "/proc/${wpid[$victim]}/cmdline" "/proc/$child/cmdline"; then
    fail "a secret in a command line"
  else
    ok "no secret in the worker's or the job's argv"
  fi
  kill -KILL "${wpid[$victim]}"
  wait "${wpid[$victim]}" 2>/dev/null || true
  ok "killed worker $victim (-9) while clip job $child ran"
  sleep 2
  start_worker "$victim"
else
  fail "never saw a clip job running"
fi

# Fault 2: restart the broker mid-run; the workers reconnect.
wait_for 300 at_least 6 || fail "fewer than 6 clips done before the broker restart"
broker_restart
ok "rabbitmq-server restarted"

# Fault 3: a burst of 503s from S3 (HEADs, GETs and PUTs of the next clips).
arm_burst() {
  curl -sf -X POST "$proxy/__fault-proxy__/rules" --data-binary \
    '{"rules": [{"method": "*", "path": "^/'"$bucket_b"'/", "action": "503", "count": 30}]}' >/dev/null
}
check "503 burst armed (the next 30 requests)" arm_burst

heatmap_of() { local k=${1#raw_videos/}; printf 'heatmaps/%s_heatmap.jpg' "${k%.*}"; }
good_done() {
  local i
  for i in $(seq 0 19); do
    ((i == 5 || i == 14)) && continue
    "$helper" head "$S3_BUCKET/$(heatmap_of "${keys[i]}")" >/dev/null 2>&1 || return 1
  done
}
dead_count() { "$worker" --list-dead 2>/dev/null | grep -c '^attempts=' || true; }
two_dead() { [[ $(dead_count) == 2 ]]; }
check "all 18 good clips have a heatmap" wait_for 600 good_done
wait_for 120 two_dead || true
# Idle: nothing ready or unacked in the work queue nor waiting in a retry queue (a retried
# message sits there between two deliveries, when the work queue alone looks empty).
idle() { [[ $(pending_counts "$AMQP_QUEUE") == "0 0" ]]; }
wait_for 120 idle || true
check "work and retry queues: nothing ready, nothing unacked ($(pending_counts "$AMQP_QUEUE"))" idle

"$worker" --list-dead >"$tmp/dead.txt" 2>/dev/null || true
check "2 messages in the dead-letter queue" test "$(grep -c '^attempts=' "$tmp/dead.txt")" = 2
for i in 5 14; do
  check "corrupt ${keys[i]} dead-lettered with a reason" \
    grep -qE "^attempts=[0-9]+	key=${keys[i]}	reason=permanent: .+" "$tmp/dead.txt"
done

# Exactly one successful PUT per heatmap JPEG: nothing was written twice (412s are fine).
"$helper" ls "$S3_BUCKET/heatmaps/" --recursive >"$tmp/b.ls"
python3 - "$tmp/proxy.json" "$bucket_b" <<'PY' || fail "a heatmap JPEG was PUT (2xx) more or less than once"
import json, re, sys
stats = json.load(open(sys.argv[1]))
puts = {}
for line in stats["log"]:
    m = re.match(r"PUT (/%s/heatmaps/\S+/clip_[^/\s]+_heatmap\.jpg)\S* (\d+)" % re.escape(sys.argv[2]), line)
    if m and m.group(2).startswith("2"):
        puts[m.group(1)] = puts.get(m.group(1), 0) + 1
bad = {k: n for k, n in puts.items() if n != 1}
print("ok: %d heatmap JPEGs, each stored by exactly one successful PUT" % len(puts) if not bad and len(puts) == 18
      else "FAIL: PUT counts %s (%d keys)" % (bad, len(puts)))
sys.exit(0 if not bad and len(puts) == 18 else 1)
PY

# Same end state as heatmap-batch: the same per-clip files, the same raw counts (PNG ETags).
"$helper" ls "s3://$bucket_a/heatmaps/" --recursive --long >"$tmp/a.long"
"$helper" ls "$S3_BUCKET/heatmaps/" --recursive --long >"$tmp/b.long"
# (clip outputs only: rollups are rewritten as clips arrive, and the workers' may still be
# catching up here)
per_clip() { awk -F'\t' '$4 ~ /\/clip_[^\/]*_heatmap\.(jpg|png|json)$/ { print $4 }' "$1" | sort; }
png_etags() { awk -F'\t' '$4 ~ /\/clip_[^\/]*_heatmap\.png$/ { print $4, $3 }' "$1" | sort; }
check "the same per-clip heatmap files as heatmap-batch ($(per_clip "$tmp/a.long" | wc -l))" \
  diff <(per_clip "$tmp/a.long") <(per_clip "$tmp/b.long")
check "the same raw counts as heatmap-batch (PNG ETags)" \
  diff <(png_etags "$tmp/a.long") <(png_etags "$tmp/b.long")

# Stop: SIGTERM, exit 0.
for w in 1 2 3; do kill -TERM "${wpid[$w]}"; done
for w in 1 2 3; do
  rc=0
  wait "${wpid[$w]}" || rc=$?
  check "worker $w exits 0 on SIGTERM" test "$rc" = 0
done
wpid=()
# After the workers' last requests: on a fast run the clips are done when the burst is armed,
# and the burst then meets their rollups, which may run up to the SIGTERM.
check "the proxy did inject 503s" python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["faults"] >= 10 else 1)' "$tmp/proxy.json"
check "the workers reconnected after the restart" grep -q 'reconnecting' "$tmp/w1.err" "$tmp/w2.err" "$tmp/w3.err"

if grep -rqaF -e "$amqp_password" -e "$S3_SECRET_KEY" "$tmp"/*.out "$tmp"/*.err; then
  fail "a secret in a log"
else
  ok "neither the AMQP password nor the S3 secret in any log"
fi
echo "--- summary lines:"; grep -hE ' (retry|FAILED) ' "$tmp"/w*.out | head -n 8 || true

((failures == 0)) || { echo "$failures failure(s)" >&2; exit 1; }
echo "all fault checks passed"
