#!/usr/bin/env bash
# Every S3 verb against a hostile endpoint (tests/lib/fault-proxy.py in front of a real RGW).
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: tests/lib/with-s3-server --buckets hostile tests/s3src-helper/test-s3-hostile.sh

Puts tests/lib/fault-proxy.py between the client and a real Ceph RGW and makes
it a hostile server: replies trickled at 2 bytes/s, endless bodies, a 110 kB
listing with an entity bomb, 206 replies for the wrong offset or with a wrong
total, a resumed GET answered from byte 0, replies cut short behind a lying
Content-Length. Every s3src-helper verb (ls, head, get, put, cp, rm, pending)
and the s3src element must then fail by themselves within their deadline, with
one error line, without writing wrong bytes, and without printing the secret.
Needs BUILD_ROOT and SOURCE_ROOT (set by meson).
USAGE
}
case "${1:-}" in
  -h | --help) usage; exit 0 ;;
esac

: "${BUILD_ROOT:?run from meson test}" "${SOURCE_ROOT:?run from meson test}"
: "${S3_SECRET_KEY:?run under tests/lib/with-s3-server}"
helper=$BUILD_ROOT/s3src-helper/s3src-helper
bucket=${S3_TEST_BUCKETS%% *}
work=$(mktemp -d "${TMPDIR:-/tmp}/test-s3-hostile.XXXXXX")
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

python3 "$SOURCE_ROOT/tests/lib/fault-proxy.py" --upstream "$S3_ENDPOINT" \
  --port-file "$work/port" --stall-seconds 600 --exit-with-parent >>"$log" 2>&1 &
proxy_pid=$!
for _ in $(seq 100); do
  [ -s "$work/port" ] && break
  sleep 0.1
done
[ -s "$work/port" ] || { echo "fault proxy did not start" >&2; exit 1; }
proxy=http://127.0.0.1:$(cat "$work/port")
rules() {
  curl -sS -f -X POST "$proxy/__fault-proxy__/reset" >>"$log"
  curl -sS -f -X POST --data "{\"rules\": [$1]}" "$proxy/__fault-proxy__/rules" >>"$log"
}
rule() { printf '{"method": "%s", "path": "%s", "action": "%s", "count": %s}' "$@"; }

# The objects, put straight to the server.
head -c 102400 /dev/urandom >"$work/obj.bin"
printf 'small\n' >"$work/small.txt"
"$helper" put "$work/obj.bin" "s3://$bucket/obj.bin" >>"$log" 2>&1
for k in raw_videos/2025/10/20/13/clip_2025-10-20_13-05-00.mp4 \
  raw_videos/2025/10/20/13/clip_2025-10-20_13-06-00.mp4; do
  "$helper" put "$work/small.txt" "s3://$bucket/$k" >>"$log" 2>&1
done

timeout_s=3
retries=1
# hostile WHAT LIMIT_S HELPER_ARGS...: the verb exits non-zero by itself within LIMIT_S seconds
# with exactly one stderr line naming the tool; $err holds that line.
hostile() {
  local what=$1 limit=$2
  shift 2
  local start end rc
  start=$(date +%s%N)
  set +e
  # 2 GB of address space: an expanded entity bomb or an unbounded body cannot fit.
  (ulimit -v 2000000 && timeout $((limit + 30)) "$helper" "$@" --endpoint "$proxy" \
    --timeout "$timeout_s" --retries "$retries") >"$work/out" 2>"$work/err"
  rc=$?
  set -e
  end=$(date +%s%N)
  cat "$work/out" "$work/err" >>"$log"
  err=$(head -c 400 "$work/err")
  local ms=$(((end - start) / 1000000))
  if [ "$rc" = 0 ]; then
    fail "$what: exit 0, expected a failure"
  elif [ "$rc" = 124 ]; then
    fail "$what: still running after $((limit + 30)) s"
  elif [ "$ms" -gt $((limit * 1000)) ]; then
    fail "$what: took $ms ms, over its $limit s deadline"
  elif [ "$(wc -l <"$work/err")" != 1 ] || ! grep -q '^s3src-helper: ' "$work/err"; then
    fail "$what: stderr is not one 's3src-helper: ' line: $err"
  else
    echo "ok: $what: exit $rc after $ms ms: $err"
  fi
}
expect_in_error() {
  grep -qiE -- "$2" "$work/err" || fail "$1: the error does not say /$2/: $err"
}

# Deadlines: a request without a streamed body ends within --timeout, retries included; a
# streamed one fails after --timeout under 1 KiB/s on each of its 1 + --retries attempts.
bounded=$((timeout_s + 3))
streamed=$(((retries + 1) * timeout_s + 4))

echo "# trickle: 2 bytes/s"
rules "$(rule GET "^/$bucket(/)?\\\\?" trickle:2 -1)"
hostile "ls, listing trickled" "$bounded" ls "s3://$bucket/"
expect_in_error "ls" "within $timeout_s s"
hostile "pending, listing trickled" "$bounded" pending "s3://$bucket"
rules "$(rule HEAD "^/$bucket/obj.bin" trickle:2 -1)"
hostile "head, reply trickled" "$bounded" head "s3://$bucket/obj.bin"
rules "$(rule GET "^/$bucket/obj.bin" trickle:2 -1)"
hostile "get, body trickled" "$streamed" get "s3://$bucket/obj.bin" "$work/got.bin"
expect_in_error "get" "bytes/s"
[ ! -e "$work/got.bin" ] || fail "get, body trickled: left $work/got.bin behind"
rules "$(rule PUT "^/$bucket/put.bin" trickle:2 -1)"
hostile "put, reply trickled" "$streamed" put "$work/obj.bin" "s3://$bucket/put.bin"
rules "$(rule PUT "^/$bucket/copy.bin" trickle:2 -1)"
hostile "cp (server-side copy), reply trickled" "$bounded" cp "s3://$bucket/obj.bin" \
  "s3://$bucket/copy.bin"
# (the server deletes the key before the reply is trickled: not the object the rest uses)
"$helper" put "$work/small.txt" "s3://$bucket/victim.txt" >>"$log" 2>&1
rules "$(rule DELETE "^/$bucket/victim.txt" trickle:2 -1)"
hostile "rm, reply trickled" "$bounded" rm "s3://$bucket/victim.txt"

echo "# endless bodies"
rules "$(rule GET "^/$bucket(/)?\\\\?" huge:200 -1)"
hostile "ls, endless listing" "$bounded" ls "s3://$bucket/"
expect_in_error "ls, endless listing" "larger than 16 MiB"
rules "$(rule GET "^/$bucket/obj.bin" huge:500 -1)"
hostile "get, endless error body" "$bounded" get "s3://$bucket/obj.bin" "$work/got.bin"
expect_in_error "get, endless error body" "larger than 1 MiB"
rules "$(rule PUT "^/$bucket/copy.bin" huge:200 -1)"
hostile "cp, endless copy result" "$bounded" cp "s3://$bucket/obj.bin" "s3://$bucket/copy.bin"

echo "# entity bomb: 50 kB entity referenced 20,000 times"
rules "$(rule GET "^/$bucket(/)?\\\\?" bomb -1)"
hostile "ls, entity bomb" "$bounded" ls "s3://$bucket/"
expect_in_error "ls, entity bomb" "DTD"
hostile "pending, entity bomb" "$bounded" pending "s3://$bucket"
rules "$(rule PUT "^/$bucket/copy.bin" bomb -1)"
hostile "cp, entity bomb as copy result" "$bounded" cp "s3://$bucket/obj.bin" \
  "s3://$bucket/copy.bin"

echo "# ranges"
get_fails() { # get_fails WHAT PATTERN: get fails, mentions PATTERN, writes nothing
  rm -f "$work/got.bin"
  hostile "$1" "$streamed" get "s3://$bucket/obj.bin" "$work/got.bin"
  expect_in_error "$1" "$2"
  [ ! -e "$work/got.bin" ] || fail "$1: wrote $(stat -c %s "$work/got.bin") bytes to the output"
}
rules "$(rule GET "^/$bucket/obj.bin" range-start:7 -1)"
get_fails "get, 206 for another offset" "bytes from 7"
rules "$(rule GET "^/$bucket/obj.bin" reset:51200 1), $(rule GET "^/$bucket/obj.bin" range-total:5 -1)"
get_fails "get, resumed 206 with another total" "size changed"
rules "$(rule GET "^/$bucket/obj.bin" truncate:51200 -1)"
get_fails "get, Content-Length cut short" "Content-Length"
# The issue's recipe: a resumed GET answered with the object from byte 0 once wrote 153,600
# bytes of a 102,400-byte object and exited 0.
rules ""
"$helper" get "s3://$bucket/obj.bin" "$work/warm.bin" --endpoint "$proxy" >>"$log" 2>&1
cmp -s "$work/warm.bin" "$work/obj.bin" || fail "a clean get through the proxy differs"
rules "$(rule GET "^/$bucket/obj.bin" reset:51200 1), $(rule GET "^/$bucket/obj.bin" stale206 -1)"
get_fails "get, resumed GET answered from byte 0" "bytes from 0"
rm -f "$work/got.bin"
rules "$(rule GET "^/$bucket/obj.bin" reset:51200 1), $(rule GET "^/$bucket/obj.bin" stale206 -1)"
hostile "get to stdout, resumed GET answered from byte 0" "$streamed" get \
  "s3://$bucket/obj.bin" -
out_size=$(stat -c %s "$work/out")
[ "$out_size" -le 102400 ] || fail "get to stdout wrote $out_size bytes of a 102400-byte object"
rules "$(rule GET "^/$bucket/obj.bin" reset:51200 1), $(rule GET "^/$bucket/obj.bin" stale206 1)"
run_ok() { "$helper" "$@" --endpoint "$proxy" --retries 2 >>"$log" 2>&1; }
# One bad 206 is retried once; the next reply is right, so the bytes are exact.
if run_ok get "s3://$bucket/obj.bin" "$work/got.bin" && cmp -s "$work/got.bin" "$work/obj.bin"; then
  echo "ok: one bad 206 retried, bytes exact"
else
  fail "get after one bad 206: not the object's bytes"
fi

echo "# s3src"
# launch WHAT LIMIT PROPS...: s3src from the proxy into a file; must fail by itself in LIMIT s
# (plus 6 s for gst-launch-1.0 to start and for s3src's HEAD).
launch() {
  local what=$1 limit=$2
  shift 2
  local start end rc ms
  start=$(date +%s%N)
  set +e
  timeout $((limit + 30)) gst-launch-1.0 -f -q s3src endpoint="$proxy" \
    location="s3://$bucket/obj.bin" timeout="$timeout_s" retries="$retries" "$@" ! \
    filesink location="$work/src.bin" >"$work/out" 2>"$work/err"
  rc=$?
  set -e
  end=$(date +%s%N)
  ms=$(((end - start) / 1000000))
  cat "$work/out" "$work/err" >>"$log"
  if [ "$rc" = 0 ]; then
    fail "s3src, $what: succeeded"
  elif [ "$rc" = 124 ] || [ "$ms" -gt $(((limit + 6) * 1000)) ]; then
    fail "s3src, $what: took $ms ms (limit $limit s)"
  elif ! grep -q 'GstS3Src' "$work/err"; then
    fail "s3src, $what: no s3src error: $(head -c 300 "$work/err")"
  else
    echo "ok: s3src, $what: $ms ms: $(grep -m1 -o 'GstS3Src.*' "$work/err" | head -c 200)"
  fi
}
rules "$(rule GET "^/$bucket/obj.bin" trickle:2 -1)"
launch "body trickled" "$streamed"
rules "$(rule GET "^/$bucket/obj.bin" range-start:7 -1)"
launch "206 for another offset" "$streamed"
rules "$(rule GET "^/$bucket/obj.bin" truncate:51200 -1)"
launch "Content-Length cut short" "$streamed"
rules "$(rule GET "^/$bucket/obj.bin" reset:51200 1), $(rule GET "^/$bucket/obj.bin" stale206 -1)"
launch "resumed GET answered from byte 0" "$streamed"
if [ -e "$work/src.bin" ] && [ "$(stat -c %s "$work/src.bin")" -gt 102400 ]; then
  fail "s3src wrote $(stat -c %s "$work/src.bin") bytes of a 102400-byte object"
fi

if grep -qF -- "$S3_SECRET_KEY" "$log"; then
  fail "the secret key appears in some output"
fi
if [ "$failures" != 0 ]; then
  echo "test-s3-hostile.sh: $failures failure(s)" >&2
  exit 1
fi
echo "test-s3-hostile.sh: all checks passed"
