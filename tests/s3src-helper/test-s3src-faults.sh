#!/usr/bin/env bash
# s3src through tests/lib/fault-proxy.py: retried faults give exact bytes; dead servers give errors.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: tests/lib/with-s3-server --buckets faults tests/s3src-helper/test-s3src-faults.sh

Puts a fault-injecting proxy between s3src and the S3 server and checks that
transient 503s and reset connections are retried with the bytes delivered
exact, that a server killed mid-stream, a stalled server and an interrupted
pipeline end with an error (or a clean stop) instead of a hang, and that
demuxing a moov-at-end MP4 takes at most 3 requests. No output may contain
the secret key. Needs BUILD_ROOT and SOURCE_ROOT (set by meson).
USAGE
}
case "${1:-}" in
  -h | --help) usage; exit 0 ;;
esac

: "${BUILD_ROOT:?run from meson test}" "${SOURCE_ROOT:?run from meson test}"
: "${SHARED_DIR:?run from meson test}" "${S3_SECRET_KEY:?run under tests/lib/with-s3-server}"
helper=$BUILD_ROOT/s3src-helper/s3src-helper
bucket=${S3_TEST_BUCKETS%% *}
work=$(mktemp -d "${TMPDIR:-/tmp}/test-s3src-faults.XXXXXX")
proxy_pid=
cleanup() {
  if [ -n "$proxy_pid" ]; then kill "$proxy_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
log=$work/all-output.log
: >"$log"
failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

start_proxy() {
  rm -f "$work/port"
  python3 "$SOURCE_ROOT/tests/lib/fault-proxy.py" --upstream "$S3_ENDPOINT" \
    --port-file "$work/port" --stall-seconds 600 >>"$log" 2>&1 &
  proxy_pid=$!
  for _ in $(seq 100); do
    [ -s "$work/port" ] && break
    sleep 0.1
  done
  [ -s "$work/port" ] || { echo "fault proxy did not start" >&2; exit 1; }
  proxy=http://127.0.0.1:$(cat "$work/port")
}
rules() { curl -sS -f -X POST --data "$1" "$proxy/__fault-proxy__/rules" >>"$log"; }
reset_proxy() { curl -sS -f -X POST "$proxy/__fault-proxy__/reset" >>"$log"; }
stat_of() {
  curl -sS -f "$proxy/__fault-proxy__/stats" |
    python3 -c 'import json, sys; s = json.load(sys.stdin); print(eval(sys.argv[1], {}, s))' "$1"
}

# launch SECONDS ARGS...: gst-launch-1.0 under `timeout`; sets $rc; stderr in $work/err.
launch() {
  local limit=$1
  shift
  set +e
  timeout "$limit" gst-launch-1.0 -f -q "$@" >"$work/out" 2>"$work/err"
  rc=$?
  set -e
  cat "$work/out" "$work/err" >>"$log"
}

# The pipeline failed by itself with an error from s3src (not killed by `timeout`).
expect_s3src_error() {
  local what=$1
  if [ "$rc" = 124 ]; then
    fail "$what: hung until the test's timeout"
  elif [ "$rc" = 0 ]; then
    fail "$what: succeeded, expected an error"
  elif ! grep -q 'GstS3Src' "$work/err"; then
    fail "$what: failed without an s3src error: $(head -c 400 "$work/err")"
  else
    echo "ok: $what: $(grep -m1 -o 'GstS3Src.*' "$work/err" | head -c 200)"
  fi
}

head -c $((24 * 1024 * 1024 + 4321)) /dev/urandom >"$work/blob.bin"
"$helper" put "$work/blob.bin" "s3://$bucket/blob.bin" >>"$log" 2>&1
uri=s3://$bucket/blob.bin
start_proxy

fetch() { # fetch SECONDS [PROPS...]: the blob through the proxy into $work/got
  local limit=$1
  shift
  rm -f "$work/got"
  launch "$limit" s3src endpoint="$proxy" location="$uri" "$@" ! filesink location="$work/got"
}

echo "# transient 503s on HEAD and GET"
rules '{"rules": [{"method": "HEAD", "path": "^/'"$bucket"'/blob", "action": "503", "count": 2},
                  {"method": "GET", "path": "^/'"$bucket"'/blob", "action": "503", "count": 3}]}'
fetch 300 retries=4
if [ "$rc" = 0 ] && cmp -s "$work/got" "$work/blob.bin"; then
  echo "ok: 503s retried, bytes exact"
else
  fail "503s: exit $rc, $(head -c 300 "$work/err")"
fi
[ "$(stat_of faults)" = 5 ] || fail "503s: the proxy injected $(stat_of faults) faults, not 5"

echo "# connections reset mid-body"
reset_proxy
rules '{"rules": [{"method": "GET", "path": "^/'"$bucket"'/blob", "action": "reset:3000000", "count": 2},
                  {"method": "GET", "path": "^/'"$bucket"'/blob", "action": "close:7000000", "count": 1}]}'
fetch 300 retries=4
if [ "$rc" = 0 ] && cmp -s "$work/got" "$work/blob.bin"; then
  echo "ok: resets resumed, bytes exact"
else
  fail "resets: exit $rc, $(head -c 300 "$work/err")"
fi
[ "$(stat_of faults)" = 3 ] || fail "resets: $(stat_of faults) faults injected, not 3"
gets=$(stat_of 'by_method.get("GET", 0)')
[ "$gets" -ge 4 ] || fail "resets: only $gets GETs, so nothing was resumed"

echo "# a server that keeps dropping the connection: error once the retries are spent"
# (reset:0: no progress at all; a reset after some bytes is progress and keeps being resumed)
reset_proxy
rules '{"rules": [{"method": "GET", "path": "^/'"$bucket"'/blob", "action": "reset:0", "count": -1}]}'
fetch 120 retries=2 timeout=10
expect_s3src_error "connection dropped every time"

echo "# a stalled server: error after the timeout, not a hang"
reset_proxy
rules '{"rules": [{"method": "GET", "path": "^/'"$bucket"'/blob", "action": "stall", "count": -1}]}'
fetch 120 retries=1 timeout=3
expect_s3src_error "stalled server"

echo "# an interrupted pipeline stops while a read is stalled (unlock cancels the GET)"
set +e
timeout 60 gst-launch-1.0 -f -q s3src endpoint="$proxy" location="$uri" retries=0 timeout=600 ! \
  fakesink >"$work/out" 2>"$work/err" &
launch_pid=$!
sleep 3
kill -INT "$launch_pid"
wait "$launch_pid"
rc=$?
set -e
cat "$work/out" "$work/err" >>"$log"
if [ "$rc" = 124 ]; then
  fail "SIGINT during a stalled read: the pipeline did not stop"
else
  echo "ok: interrupted during a stalled read, exit $rc"
fi

echo "# the server killed mid-stream"
reset_proxy
# A slow consumer (50 ms per 128 KiB buffer: about 10 s for the blob) keeps the GET open.
set +e
timeout 120 gst-launch-1.0 -f -q s3src endpoint="$proxy" location="$uri" retries=2 timeout=5 \
  read-ahead=65536 ! queue max-size-bytes=65536 ! identity sleep-time=50000 ! fakesink \
  >"$work/out" 2>"$work/err" &
launch_pid=$!
sleep 3
kill -KILL "$proxy_pid"
wait "$proxy_pid" 2>/dev/null
proxy_pid=
wait "$launch_pid"
rc=$?
set -e
cat "$work/out" "$work/err" >>"$log"
expect_s3src_error "proxy killed mid-stream"

echo "# requests to demux a moov-at-end MP4"
start_proxy
# 10 s of noise at 4 Mbit/s: an mdat of ~5 MB, so reaching the moov is a real jump (beyond
# what s3src skips inside an open GET).
gst-launch-1.0 -f -q videotestsrc num-buffers=250 pattern=snow ! \
  video/x-raw,width=640,height=360,framerate=25/1 ! x264enc speed-preset=ultrafast bitrate=4000 ! \
  h264parse ! mp4mux faststart=false ! filesink location="$work/moov-end.mp4" >>"$log" 2>&1
[ "$(stat -c %s "$work/moov-end.mp4")" -gt 4000000 ] || fail "moov-end.mp4 came out too small"
"$helper" put "$work/moov-end.mp4" "s3://$bucket/moov-end.mp4" >>"$log" 2>&1
launch 300 s3src endpoint="$proxy" location="s3://$bucket/moov-end.mp4" ! qtdemux ! fakesink
[ "$rc" = 0 ] || fail "demux through the proxy: exit $rc $(head -c 300 "$work/err")"
requests=$(stat_of requests)
echo "demuxing moov-end.mp4 took $requests requests: $(stat_of 'log')"
# HEAD, GET from 0, GET of the moov; the demuxer's way back to the samples reuses the first GET.
[ "$requests" -le 3 ] || fail "demuxing a moov-at-end MP4 took $requests requests (> 3)"
[ "$(stat_of 'by_method.get("HEAD", 0)')" = 1 ] || fail "demuxing made more than one HEAD request"

if grep -qF -- "$S3_SECRET_KEY" "$log"; then
  fail "the secret key appears in some output"
fi
if [ "$failures" != 0 ]; then
  echo "test-s3src-faults.sh: $failures failure(s)" >&2
  exit 1
fi
echo "test-s3src-faults.sh: all checks passed"
