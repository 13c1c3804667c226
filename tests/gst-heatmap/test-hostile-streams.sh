#!/usr/bin/env bash
# Hostile streams (issue 13): truncated and bit-flipped copies of the real clip through
# `decodebin ! heatmap` (gst-launch-1.0) and through the per-clip job (heatmap-job on a file://
# bucket). Each run must end by itself (no crash, no hang past its time limit); the job must
# print exactly one result line per clip, a failure with a reason, and lose nothing: the video
# keeps its bytes and a failed clip leaves no heatmap in the bucket.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: test-hostile-streams.sh [--help]
Run by meson (suite e2e); needs BUILD_ROOT (the build folder) and SHARED_DIR (../shared), or
their defaults beside this checkout. Prints one line per variant and run.
USAGE
}
case "${1:-}" in
  -h | --help) usage; exit 0 ;;
esac

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source_root=${SOURCE_ROOT:-$here/../..}
build_root=${BUILD_ROOT:-$source_root/build}
shared=${SHARED_DIR:-$source_root/../shared}
clip=$shared/data/videos/concourse-overhead-720p25.avi
job=$build_root/gst-heatmap/job/heatmap-job
if [[ ! -r $clip ]]; then
  echo "test-hostile-streams: $clip is missing; skipped" >&2
  exit 77
fi
export GST_PLUGIN_PATH=$build_root/gst-heatmap:$build_root/s3src-helper GST_DEBUG_NO_COLOR=1
limit=90 # seconds per run; the clip decodes in a few seconds

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-hostile-streams.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }

size=$(stat -c %s "$clip")
# Overwrites the byte at each offset of $2.. in file $1 with its bits inverted.
flip() {
  local file=$1 offset byte
  shift
  for offset in "$@"; do
    byte=$(od -An -tu1 -j "$offset" -N1 "$file" | tr -d ' ')
    printf '%b' "\\0$(printf '%03o' $((255 - byte)))" |
      dd of="$file" bs=1 seek="$offset" conv=notrunc status=none
  done
}
variants=()
add_truncated() { # name bytes
  head -c "$2" "$clip" >"$tmp/$1.avi"
  variants+=("$1")
}
add_flipped() { # name offsets...
  local name=$1
  shift
  cp "$clip" "$tmp/$name.avi"
  chmod u+w "$tmp/$name.avi"
  flip "$tmp/$name.avi" "$@"
  variants+=("$name")
}
add_truncated cut-1k 1024
add_truncated cut-7pct $((size * 7 / 100))
add_truncated cut-60pct $((size * 60 / 100))
add_truncated cut-last-byte $((size - 1))
# Fixed pseudo-random offsets: the same variants every run.
RANDOM=1313
header=() body=() every=()
for _ in $(seq 12); do header+=($((RANDOM % 4096))); done
for _ in $(seq 60); do body+=($(((RANDOM * 32768 + RANDOM) % size))); done
for ((o = 70000; o < size; o += 65536)); do every+=("$o"); done
add_flipped flip-header "${header[@]}"
add_flipped flip-60-random "${body[@]}"
add_flipped flip-every-64k "${every[@]}"
cp "$clip" "$tmp/zero-block.avi"
chmod u+w "$tmp/zero-block.avi"
dd if=/dev/zero of="$tmp/zero-block.avi" bs=65536 seek=20 count=1 conv=notrunc status=none
variants+=(zero-block)

# --- decodebin ! heatmap ---------------------------------------------------------------------
for v in "${variants[@]}"; do
  status=0
  # -f: no crash handler (it would spin); the paths are ours, fixed names in a private folder.
  timeout -k 5 "$limit" gst-launch-1.0 -f -q filesrc location="$tmp/$v.avi" ! decodebin ! \
    videoconvert ! heatmap location="$tmp/$v-launch.jpg" ! fakesink >"$tmp/$v-launch.log" 2>&1 ||
    status=$?
  case $status in
    0) ok "decodebin ! heatmap: $v: played to the end" ;;
    1) ok "decodebin ! heatmap: $v: refused with an error: $(grep -m1 '^ERROR' "$tmp/$v-launch.log" || echo '?')" ;;
    124 | 137) fail "decodebin ! heatmap: $v: still running after $limit s (hang)" ;;
    *) fail "decodebin ! heatmap: $v: exit $status (a crash?): $(tail -n 3 "$tmp/$v-launch.log")" ;;
  esac
done

# --- the per-clip job, one clip per process, on a file:// bucket -----------------------------------
mkdir -p "$tmp/bucket/raw_videos/2025/01/01/00"
i=0
for v in "${variants[@]}"; do
  key=$(printf 'raw_videos/2025/01/01/00/clip_2025-01-01_00-00-%02d.mp4' "$i")
  i=$((i + 1))
  cp "$tmp/$v.avi" "$tmp/bucket/$key"
  before=$(sha256sum <"$tmp/bucket/$key")
  status=0
  timeout -k 5 $((limit + 30)) "$job" --bucket "file://$tmp/bucket" --timeout "$limit" \
    --work-dir "$tmp" --no-env-properties -- "$key" >"$tmp/$v-job.out" 2>"$tmp/$v-job.err" ||
    status=$?
  lines=$(wc -l <"$tmp/$v-job.out")
  line=$(head -n 1 "$tmp/$v-job.out")
  jpeg=$tmp/bucket/heatmaps/2025/01/01/00/$(basename "$key" .mp4)_heatmap.jpg
  [[ $(sha256sum <"$tmp/bucket/$key") == "$before" ]] || fail "job: $v: the video changed"
  case $status in
    0)
      [[ -s $jpeg ]] || fail "job: $v: done but no heatmap in the bucket"
      ok "job: $v: done: $line" ;;
    5)
      reason=$(cut -f5 <<<"$line")
      if [[ $lines != 1 || -z $reason || $line != permanent* ]]; then
        fail "job: $v: a failure must print one line with a reason, got $lines: $(cat "$tmp/$v-job.out")"
      elif [[ -e $jpeg ]]; then
        fail "job: $v: failed but left $jpeg"
      else
        ok "job: $v: failed with one line: $reason"
      fi ;;
    124 | 137) fail "job: $v: still running after $((limit + 30)) s (hang)" ;;
    *) fail "job: $v: exit $status (crash or transient): $line $(tail -n 2 "$tmp/$v-job.err")" ;;
  esac
done

if ((failures > 0)); then
  echo "$failures check(s) failed" >&2
  exit 1
fi
echo "all ${#variants[@]} hostile variants handled by both (no crash, no hang, nothing lost)"
