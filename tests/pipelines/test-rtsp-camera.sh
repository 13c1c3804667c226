#!/usr/bin/env bash
# Runs pipelines/s3-rtsp-camera.pipeline against the looping RTSP test camera and RGW, then checks
# the bucket: one JPEG per window under cameras/cam1/YYYY/MM/DD/HH/HHMMSS_heatmap.jpg.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: test-rtsp-camera.sh [--help]

Run under tests/lib/with-s3-server (S3_ENDPOINT, S3_TEST_BUCKETS set). Uses
tests/pipelines/run-pipelines, which starts the RTSP test server; windows of
INTERVAL=2 seconds stand in for hours.
USAGE
}
case "${1:-}" in
  -h | --help) usage; exit 0 ;;
esac
: "${S3_TEST_BUCKETS:?run under tests/lib/with-s3-server}"

top=${SOURCE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
build=${BUILD_ROOT:-$top/build}
helper=$build/s3src-helper/s3src-helper
bucket=${S3_TEST_BUCKETS%% *}
work=$(mktemp -d "${TMPDIR:-/tmp}/rtsp-camera.XXXXXX")
trap 'rm -rf "$work"' EXIT

export INTERVAL=2
export S3_MAPS="s3://$bucket/cameras/cam1"
"$top/tests/pipelines/run-pipelines" "$top/pipelines/s3-rtsp-camera.pipeline"

"$helper" ls "s3://$bucket/cameras/cam1/" --recursive >"$work/keys"
cat "$work/keys"
mapfile -t keys < <(grep -oE 'cameras/cam1/[0-9]{4}/[0-9]{2}/[0-9]{2}/[0-9]{2}/[0-9]{6}_heatmap\.jpg' "$work/keys")
# 12 s of camera in 2 s windows (minus start-up): at least 3 maps.
if [ "${#keys[@]}" -lt 3 ]; then
  echo "test-rtsp-camera: expected at least 3 dated heatmaps in the bucket, found ${#keys[@]}" >&2
  exit 1
fi
for key in "${keys[@]}"; do
  "$helper" get "s3://$bucket/$key" "$work/map.jpg" >/dev/null
  gst-launch-1.0 -f -q filesrc location="$work/map.jpg" ! jpegdec ! fakesink >/dev/null
done
# The key's hour is the window's UTC start: within the last hour or so.
hour_now=$(date -u +%Y/%m/%d/%H)
hour_before=$(date -u -d '-1 hour' +%Y/%m/%d/%H)
case "${keys[0]}" in
  "cameras/cam1/$hour_now/"* | "cameras/cam1/$hour_before/"*) ;;
  *) echo "test-rtsp-camera: ${keys[0]} is not dated now ($hour_now)" >&2; exit 1 ;;
esac
echo "ok: ${#keys[@]} heatmaps from the RTSP camera in s3://$bucket/cameras/cam1/"
