#!/usr/bin/env bash
# End-to-end test of heatmap-viewer: a bucket filled by heatmap-batch (clip maps, sidecars, zones
# and rollups), the server's confinement and tokens, and the page in a real browser (Debian's
# chromium, driven by puppeteer-core from npm). Screenshots go to BUILD_ROOT/test-artifacts/.
#
# Usage: test-viewer.sh s3 [--no-browser]    (under tests/lib/with-s3-server)
#        test-viewer.sh file [--no-browser]
# --no-browser stops after the server's confinement and token checks (for a machine without
# Chromium; the registered tests always run the browser).
set -euo pipefail

mode=${1:-}
[[ $mode == s3 || $mode == file ]] || { echo "usage: $0 s3|file [--no-browser]" >&2; exit 2; }
browser=1
[[ ${2:-} == --no-browser ]] && browser=0

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source_root=${SOURCE_ROOT:-$here/../..}
build_root=${BUILD_ROOT:-$source_root/build}
helper=$build_root/s3src-helper/s3src-helper
viewer=$build_root/gst-heatmap/viewer/heatmap-viewer
artifacts=$build_root/test-artifacts/viewer-$mode
# shellcheck source-path=SCRIPTDIR source=../../scripts/lib/clips.sh
source "$source_root/scripts/lib/clips.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-viewer.XXXXXX")
viewer_pid=""
cleanup() {
  if [[ -n $viewer_pid ]]; then kill "$viewer_pid" 2>/dev/null || true; wait "$viewer_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
export BUILD_DIR=$build_root TMPDIR=$tmp LOCK_FILE=$tmp/batch.lock
export GST_PLUGIN_PATH=$build_root/gst-heatmap:$build_root/s3src-helper
unset VIDEO_PREFIX MAX_VIDEOS_PER_RUN S3_VIDEOS_PREFIX S3_HEATMAPS_PREFIX HEATMAP_OPTIONS VIEWER_TOKEN

# shellcheck source-path=SCRIPTDIR source=../lib/checks.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/checks.sh"

checks_bucket "$mode" "$tmp"

# --- the browser driver (npm, cached in the build folder) ------------------------------------------
node_dir=$build_root/tests/viewer/node
if ((browser)) && { ! cmp -s "$here/package-lock.json" "$node_dir/package-lock.json" ||
  [[ ! -d $node_dir/node_modules/puppeteer-core ]]; }; then
  mkdir -p "$node_dir"
  cp "$here/package.json" "$here/package-lock.json" "$node_dir/"
  npm ci --prefix "$node_dir" --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null
fi
cp "$here/browser-checks.mjs" "$node_dir/"

# --- the bucket: clips on two days, heatmaps, zones and rollups by heatmap-batch ----------------------
mkdir -p "$tmp/clips"
clips_synthetic "$tmp/clips/a.mp4" 320 180 50 0
clips_synthetic "$tmp/clips/b.mp4" 320 180 50 1
clips_synthetic "$tmp/clips/c.mp4" 320 180 50 2
put() { "$helper" put "$1" "$S3_BUCKET/$2" >/dev/null; }
put "$tmp/clips/a.mp4" raw_videos/2025/10/20/09/clip_2025-10-20_09-05-00.mp4
put "$tmp/clips/b.mp4" raw_videos/2025/10/20/09/clip_2025-10-20_09-35-00.mp4
put "$tmp/clips/c.mp4" raw_videos/2025/10/20/13/clip_2025-10-20_13-10-00.mp4
put "$tmp/clips/a.mp4" raw_videos/2025/10/21/10/clip_2025-10-21_10-00-00.mp4
# A video-side object with a heatmap-like name: never served.
printf 'private' >"$tmp/poster.jpg"
put "$tmp/poster.jpg" raw_videos/2025/10/20/09/poster.jpg
cat >"$tmp/zones.json" <<'JSON'
{"zones": [{"name": "left", "polygon": [[0, 0], [0.5, 0], [0.5, 1], [0, 1]]},
           {"name": "right", "polygon": [[0.5, 0], [1, 0], [1, 1], [0.5, 1]]}]}
JSON
ZONES_FILE=$tmp/zones.json DOWNSCALE=0.5 MAX_VIDEOS_PER_RUN=0 "$source_root/scripts/heatmap-batch" \
  >"$tmp/batch.log" 2>&1 || { sed 's/^/  [batch] /' "$tmp/batch.log"; fail "heatmap-batch"; exit 1; }
sed 's/^/  [batch] /' "$tmp/batch.log"
# Rollups of every period (the batch updates the periods it touched; this also covers a batch run
# with ROLLUPS=none, and proves a rerun changes nothing).
"$build_root/gst-heatmap/aggregate/heatmap-aggregate" rollup "$S3_BUCKET" --all --quiet \
  >"$tmp/rollup.log" 2>&1 || { cat "$tmp/rollup.log"; fail "heatmap-aggregate rollup --all"; exit 1; }
sed 's/^/  [rollup] /' "$tmp/rollup.log"

# --- the server -----------------------------------------------------------------------------------
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
base="http://127.0.0.1:$port/"
"$viewer" --listen "127.0.0.1:$port" >"$tmp/viewer.log" 2>&1 &
viewer_pid=$!
for _ in $(seq 100); do curl -fs -o /dev/null "$base" && break; sleep 0.1; done
check "viewer answers on loopback" curl -fs -o /dev/null "$base"

status() { curl -s -o "$tmp/body" -w '%{http_code}' --path-as-is "$@"; }
check "index page" [ "$(status "$base")" = 200 ]
for path in "file/../raw_videos/2025/10/20/09/poster.jpg" "file/..%2fraw_videos/2025/10/20/09/poster.jpg" \
  "file/%2e%2e/raw_videos/2025/10/20/09/poster.jpg" "file/%252e%252e/raw_videos/2025/10/20/09/poster.jpg" \
  "file/2025/10/20/09/..%2F..%2F..%2F..%2F..%2Fraw_videos/2025/10/20/09/poster.jpg" \
  "static/../../meson.build" "static/%2e%2e/viewer-paths.cpp" "file/..\\raw_videos/x.jpg" \
  "file/raw_videos/2025/10/20/09/clip_2025-10-20_09-05-00.mp4" "../raw_videos/2025/10/20/09/poster.jpg"; do
  check "traversal $path: 404" [ "$(status "$base$path")" = 404 ]
done
check "videos are never served (an absolute key is refused too)" \
  [ "$(status "${base}file/%2Fraw_videos/2025/10/20/09/clip_2025-10-20_09-05-00.mp4")" = 404 ]
check "POST is refused" [ "$(status -X POST "${base}api/months")" = 405 ]
check "months API lists 2025-10" grep -q '"2025-10"' <(curl -fs "${base}api/months")
# A day sidecar from the bucket with members of the wrong types: the month view still answers,
# reads what it can from the listing, and json-glib logs no CRITICAL.
printf '{"seconds_observed": {"a": [1]}, "coverage": {"hours": 7}}' >"$tmp/odd-day.json"
put "$tmp/odd-day.json" heatmaps/2025/09/03/day_heatmap.json
put "$tmp/poster.jpg" heatmaps/2025/09/03/day_heatmap.jpg
check "a day sidecar of the wrong types: month API answers" \
  grep -q '"day":"2025-09-03","has_map":true,"hours_observed":0,"seconds_observed":null' \
  <(curl -fs "${base}api/month/2025-09")
check "a day sidecar of the wrong types: no json-glib CRITICAL" \
  bash -c "! grep -q CRITICAL '$tmp/viewer.log'"

rc=0
VIEWER_TOKEN="" "$viewer" --listen "0.0.0.0:$(free_port)" >"$tmp/refuse.log" 2>&1 || rc=$?
check "non-loopback listen without VIEWER_TOKEN: refuses to start (exit 2)" [ "$rc" = 2 ]
check "non-loopback refusal says why" grep -q "without VIEWER_TOKEN" "$tmp/refuse.log"

token="tok-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
tport=$(free_port)
VIEWER_TOKEN=$token "$viewer" --listen "127.0.0.1:$tport" >"$tmp/viewer-token.log" 2>&1 &
tpid=$!
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$tport/" && break; sleep 0.1; done
check "token: no credentials gives 401" [ "$(status "http://127.0.0.1:$tport/api/months")" = 401 ]
check "token: a wrong token gives 401" [ "$(status -H "Authorization: Bearer x$token" "http://127.0.0.1:$tport/api/months")" = 401 ]
check "token: bearer works" [ "$(status -H "Authorization: Bearer $token" "http://127.0.0.1:$tport/api/months")" = 200 ]
check "token: basic auth (any user) works" [ "$(status -u "me:$token" "http://127.0.0.1:$tport/api/months")" = 200 ]
kill "$tpid"; wait "$tpid" 2>/dev/null || true
check "token never logged" bash -c "! grep -qF -- '$token' '$tmp/viewer-token.log'"

if ((browser == 0)); then
  kill "$viewer_pid"; wait "$viewer_pid" 2>/dev/null || true
  viewer_pid=""
  check "one log line per request" [ "$(grep -c ' GET \| HEAD \| POST ' "$tmp/viewer.log")" -ge 15 ]
  if [[ $mode == s3 ]]; then
    check "the secret key is in no log or response" \
      bash -c "! grep -rqF -- \"\$S3_SECRET_KEY\" '$tmp/viewer.log' '$tmp/body' '$tmp/batch.log'"
  fi
  if ((failures)); then echo "test-viewer ($mode): $failures failure(s)" >&2; exit 1; fi
  echo "test-viewer ($mode, no browser): all checks passed"
  exit 0
fi

# --- expectations from the bucket itself, then the browser -----------------------------------------
get() { "$helper" get "$S3_BUCKET/heatmaps/$1" "$2" >/dev/null 2>&1; }
mkdir -p "$tmp/expect"
for h in 09 13; do get "2025/10/20/$h/hour_heatmap.json" "$tmp/expect/hour-$h.json"; done
get 2025/10/20/day_heatmap.jpg "$tmp/expect/day.jpg"
get 2025/10/20/09/clip_2025-10-20_09-05-00_heatmap.json "$tmp/expect/clip.json"
python3 - "$tmp/expect" >"$tmp/expect.json" <<'PY'
import json, struct, sys, pathlib
d = pathlib.Path(sys.argv[1])
def jpeg_size(path):
    data = path.read_bytes(); i = 2
    while i < len(data):
        marker, length = data[i + 1], struct.unpack(">H", data[i + 2:i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            h, w = struct.unpack(">HH", data[i + 5:i + 9]); return [w, h]
        i += 2 + length
    raise SystemExit("no JPEG frame header")
zones = {}
for h in ("09", "13"):
    for z in json.loads((d / f"hour-{h}.json").read_text()).get("zones", []):
        zones.setdefault(z["name"], {})[str(int(h))] = z["mean_activity"]
clip = json.loads((d / "clip.json").read_text())
print(json.dumps({
    "month": "2025-10", "days": ["2025-10-20", "2025-10-21"],
    "partial_days": ["2025-10-20", "2025-10-21"],
    "day": "2025-10-20", "next_day": "2025-10-21", "hours_with_map": [9, 13],
    "day_map_size": jpeg_size(d / "day.jpg"), "zones": zones,
    "clip": "2025/10/20/09/clip_2025-10-20_09-05-00", "clip_frames": clip["frames_processed"],
    "clips_in_hour": 2,
    "compare": ["2025-10-20", "2025-10-21"], "week": "2025-W43"}))
PY
if VIEWER_URL=$base EXPECT=$tmp/expect.json ARTIFACTS=$artifacts node "$node_dir/browser-checks.mjs" \
  >"$tmp/browser.log" 2>&1; then
  ok "browser checks"
else
  fail "browser checks"
fi
sed 's/^/  [browser] /' "$tmp/browser.log"
failures=$((failures + $(grep -c '^FAIL' "$tmp/browser.log" || true)))

kill "$viewer_pid"; wait "$viewer_pid" 2>/dev/null || true
viewer_pid=""
sed 's/^/  [viewer] /' "$tmp/viewer.log" | tail -n 40
check "one log line per request" [ "$(grep -c ' GET \| HEAD \| POST ' "$tmp/viewer.log")" -ge 20 ]
if [[ $mode == s3 ]]; then
  check "the secret key is in no log or response" \
    bash -c "! grep -rqF -- \"\$S3_SECRET_KEY\" '$tmp/viewer.log' '$tmp/browser.log' '$tmp/body' '$tmp/batch.log'"
fi
echo "screenshots: $artifacts"
if ((failures)); then
  echo "test-viewer ($mode): $failures failure(s)" >&2
  exit 1
fi
echo "test-viewer ($mode): all checks passed"
