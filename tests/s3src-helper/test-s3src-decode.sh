#!/usr/bin/env bash
# uridecodebin/playbin on s3:// decode exactly the frames of the local file; pipelines/s3-*.pipeline run.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: tests/lib/with-s3-server --buckets clips tests/s3src-helper/test-s3src-decode.sh

Remuxes the sample clip into a fast-start MP4 and one with the moov atom at the
end, uploads them (one under a key with spaces and UTF-8), and checks that
uridecodebin and playbin on s3:// URIs give the same per-frame checksums as
the local files. Runs pipelines/s3-*.pipeline against the server, and checks
that no output (including GST_DEBUG=*:6) contains the secret key.
Needs BUILD_ROOT, SOURCE_ROOT and SHARED_DIR (set by meson).
USAGE
}
case "${1:-}" in
  -h | --help) usage; exit 0 ;;
esac

: "${BUILD_ROOT:?run from meson test}" "${SOURCE_ROOT:?run from meson test}"
: "${SHARED_DIR:?run from meson test}" "${S3_SECRET_KEY:?run under tests/lib/with-s3-server}"
helper=$BUILD_ROOT/s3src-helper/s3src-helper
clip=$SHARED_DIR/data/videos/concourse-overhead-720p25.avi
bucket=${S3_TEST_BUCKETS%% *}
work=$(mktemp -d "${TMPDIR:-/tmp}/test-s3src-decode.XXXXXX")
trap 'rm -rf "$work"' EXIT
log=$work/all-output.log
: >"$log"
failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# quiet CMD...: runs CMD with its output appended to the log; returns its status.
quiet() {
  local status=0
  "$@" >>"$log" 2>&1 || status=$?
  return "$status"
}

# An s3:// URI with the key percent-escaped, as GStreamer URIs want it.
s3_uri() {
  python3 -c 'import sys, urllib.parse; print("s3://" + sys.argv[1] + "/" + urllib.parse.quote(sys.argv[2], safe="/"))' "$1" "$2"
}

# Offset of the first top-level atom of a type in an MP4.
atom_offset() {
  python3 - "$1" "$2" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
pos = 0
while pos + 8 <= len(data):
    size, kind = struct.unpack(">I4s", data[pos:pos + 8])
    if size == 1:
        size = struct.unpack(">Q", data[pos + 8:pos + 16])[0]
    if kind.decode("latin-1") == sys.argv[2]:
        print(pos)
        sys.exit(0)
    if size < 8:
        break
    pos += size
print(-1)
PY
}

# Per-frame checksums (timestamp + SHA1 of the I420 frame) of a URI through a decoding element.
checksums() {
  local element=$1 uri=$2 out=$3
  local sink="videoconvert ! video/x-raw,format=I420 ! checksumsink"
  if [ "$element" = playbin ]; then
    timeout 300 gst-launch-1.0 -f -q playbin uri="$uri" video-sink="$sink" audio-sink=fakesink \
      >"$out" 2>>"$log"
  else
    # shellcheck disable=SC2086  # $sink is a pipeline fragment
    timeout 300 gst-launch-1.0 -f -q uridecodebin uri="$uri" ! $sink >"$out" 2>>"$log"
  fi
}

echo "# making the clips"
# The AVI's H.264 has no PTS for mp4mux: re-encode 5 s once, then remux it both ways.
quiet gst-launch-1.0 -f -q filesrc location="$clip" ! avidemux ! h264parse ! avdec_h264 ! \
  identity eos-after=125 ! videoconvert ! video/x-raw,format=I420 ! \
  x264enc speed-preset=veryfast bitrate=3000 key-int-max=50 ! h264parse ! mp4mux ! \
  filesink location="$work/encoded.mp4"
for layout in fast:true moov-end:false; do
  quiet gst-launch-1.0 -f -q filesrc location="$work/encoded.mp4" ! qtdemux ! h264parse ! \
    mp4mux faststart="${layout#*:}" ! filesink location="$work/${layout%%:*}.mp4"
done
moov=$(atom_offset "$work/moov-end.mp4" moov)
mdat=$(atom_offset "$work/moov-end.mp4" mdat)
[ "$moov" -gt "$mdat" ] || { echo "moov-end.mp4 does not have moov after mdat ($moov, $mdat)" >&2; exit 1; }
[ "$(atom_offset "$work/fast.mp4" moov)" -lt "$(atom_offset "$work/fast.mp4" mdat)" ] ||
  { echo "fast.mp4 is not fast-start" >&2; exit 1; }

odd_key='clips/caméra 東京 entrée +=%.mp4'
quiet "$helper" put "$work/fast.mp4" "s3://$bucket/clips/fast.mp4"
quiet "$helper" put "$work/moov-end.mp4" "s3://$bucket/clips/moov-end.mp4"
quiet "$helper" put "$work/moov-end.mp4" "s3://$bucket/$odd_key"

compare() {
  local name=$1 element=$2 local_file=$3 uri=$4
  checksums uridecodebin "file://$local_file" "$work/$name.local" || fail "$name: local decode failed"
  if ! checksums "$element" "$uri" "$work/$name.s3"; then
    fail "$name: decoding $uri with $element failed: $(tail -n 3 "$log")"
    return
  fi
  local frames
  frames=$(wc -l <"$work/$name.local")
  [ "$frames" -ge 100 ] || fail "$name: only $frames frames decoded locally"
  if cmp -s "$work/$name.local" "$work/$name.s3"; then
    echo "ok: $name: $frames frames identical"
  else
    fail "$name: frames from $uri differ from the local file ($(wc -l <"$work/$name.s3") vs $frames)"
  fi
}

echo "# decoding"
compare fast uridecodebin "$work/fast.mp4" "$(s3_uri "$bucket" clips/fast.mp4)"
compare moov-end uridecodebin "$work/moov-end.mp4" "$(s3_uri "$bucket" clips/moov-end.mp4)"
compare odd-key uridecodebin "$work/moov-end.mp4" "$(s3_uri "$bucket" "$odd_key")"
compare playbin playbin "$work/moov-end.mp4" "$(s3_uri "$bucket" clips/moov-end.mp4)"

# gst-play-1.0 resolves s3:// through the same URI handler.
if quiet timeout 120 gst-play-1.0 -q --no-interactive --videosink=fakesink --audiosink=fakesink \
  "$(s3_uri "$bucket" clips/fast.mp4)"; then
  echo "ok: gst-play-1.0"
else
  fail "gst-play-1.0 on an s3:// URI"
fi

echo "# pipelines/s3-*.pipeline"
shopt -u patsub_replacement 2>/dev/null || true # a '&' in a value must stay a '&'
found=0
for file in "$SOURCE_ROOT"/pipelines/s3-*.pipeline; do
  [ -e "$file" ] || continue
  # Live camera lines need the RTSP test camera: rtsp-camera-s3 (test-rtsp-camera.sh) runs them.
  # shellcheck disable=SC2016  # the placeholder is literal text
  if grep -q '${RTSP_URL}' "$file"; then continue; fi
  found=$((found + 1))
  out_dir=$work/out-$(basename "$file" .pipeline)
  mkdir -p "$out_dir"
  description=$(grep -v '^[[:space:]]*#' "$file" | tr '\n' ' ')
  # shellcheck disable=SC2016  # the placeholders are literal text
  description=${description//'${S3_CLIP_URI}'/$(s3_uri "$bucket" "$odd_key")}
  # shellcheck disable=SC2016
  description=${description//'${OUT_DIR}'/$out_dir}
  # gst-launch-1.0 wants the description as separate words (it escapes spaces in an argument).
  read -ra words <<<"$description"
  if quiet timeout 300 gst-launch-1.0 -f -q -e "${words[@]}"; then
    echo "ok: $(basename "$file")"
  else
    fail "$(basename "$file") failed: $(tail -n 3 "$log")"
  fi
done
[ "$found" -ge 2 ] || fail "expected at least 2 pipelines/s3-*.pipeline files, found $found"
[ -s "$work/out-s3-heatmap/heatmap.jpg" ] || fail "s3-heatmap.pipeline wrote no heatmap.jpg"

echo "# GST_DEBUG=*:6 run"
GST_DEBUG='*:6' timeout 300 gst-launch-1.0 -f -q s3src location="$(s3_uri "$bucket" clips/moov-end.mp4)" ! \
  qtdemux ! fakesink >"$work/debug.log" 2>&1 || fail "the GST_DEBUG=*:6 run failed"
grep -q 's3src' "$work/debug.log" || fail "the GST_DEBUG run logged nothing from s3src"
if grep -qF -- "$S3_SECRET_KEY" "$work/debug.log"; then
  fail "the secret key appears in GST_DEBUG=*:6 output"
fi
if grep -qE 'Signature=[0-9a-f]{64}' "$work/debug.log" "$log"; then
  fail "a request signature appears in the output"
fi
if grep -qF -- "$S3_SECRET_KEY" "$log"; then
  fail "the secret key appears in some test output"
fi

if [ "$failures" != 0 ]; then
  echo "test-s3src-decode.sh: $failures failure(s)" >&2
  exit 1
fi
echo "test-s3src-decode.sh: all checks passed"
