#!/usr/bin/env bash
# heatmap-batch with MASK_FILE and ZONES_FILE (issue "Places"), on Ceph RGW or a file:// bucket:
# the sidecar, CSV and scene are uploaded before the JPEG, the sidecar passes the JSON Schema,
# the CSV's totals match the sidecar's, `pending` ignores the new suffixes, and a bad zones or
# mask file stops the run before any clip with one line naming it.
#
# Usage: test-batch-places.sh s3     (under tests/lib/with-s3-server --buckets NAME)
#        test-batch-places.sh file
set -euo pipefail

mode=${1:-}
[[ $mode == s3 || $mode == file ]] || { echo "usage: $0 s3|file" >&2; exit 2; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source_root=${SOURCE_ROOT:-$here/../..}
build_root=${BUILD_ROOT:-$source_root/build}
batch=$source_root/scripts/heatmap-batch
helper=$build_root/s3src-helper/s3src-helper
validate=$source_root/tests/lib/validate-sidecar
# shellcheck source-path=SCRIPTDIR source=../../scripts/lib/clips.sh
source "$source_root/scripts/lib/clips.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-batch-places.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export BUILD_DIR=$build_root TMPDIR=$tmp LOCK_FILE=$tmp/batch.lock
export GST_PLUGIN_PATH=$build_root/gst-heatmap:$build_root/s3src-helper
unset VIDEO_PREFIX MAX_VIDEOS_PER_RUN JOBS COLORMAP ALPHA DOWNSCALE USE_BACKGROUND S3_VIDEOS_PREFIX \
  S3_HEATMAPS_PREFIX CLEANUP_LOCAL_FILES HEATMAP_OPTIONS WORK_DIR MASK_FILE ZONES_FILE

# shellcheck source-path=SCRIPTDIR source=../lib/checks.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/checks.sh"

checks_bucket "$mode" "$tmp"
keys() { "$helper" ls "$S3_BUCKET/" --recursive | sort; }

mkdir -p "$tmp/clips"
clips_synthetic "$tmp/clips/c.mp4" 320 180 50 3
"$helper" put "$tmp/clips/c.mp4" "$S3_BUCKET/raw_videos/2025/10/20/13/clip_2025-10-20_13-30-00.mp4" >/dev/null
cat >"$tmp/zones.json" <<'JSON'
{"zones": [{"name": "left, half", "polygon": [[0,0],[0.5,0],[0.5,1],[0,1]]},
           {"name": "right", "polygon": [[0.5,0],[1,0],[1,1],[0.5,1]]}]}
JSON
echo '{"exclude": [{"name": "top", "polygon": [[0,0],[1,0],[1,0.25],[0,0.25]]}]}' >"$tmp/mask.json"
echo '{"zones": [{"name": "a", "polygon": [[0,0],[1,1]]}]}' >"$tmp/bad-zones.json"
printf '\x89PNG\r\n\x1a\nbroken' >"$tmp/bad-mask.png"
before=$(keys)

# --- bad files: one line naming the file, exit 2, nothing written -----------------------------------
rc=0
out=$(ZONES_FILE=$tmp/bad-zones.json "$batch" 2>&1) || rc=$?
check "bad zones file: exit 2" [ "$rc" = 2 ]
check "bad zones file: one line naming it and the problem" \
  [ "$out" = "heatmap-batch: $tmp/bad-zones.json: zones[0] (\"a\") has 2 points, a polygon needs at least 3" ]
rc=0
out=$(MASK_FILE=$tmp/bad-mask.png "$batch" 2>&1) || rc=$?
check "bad mask file: exit 2" [ "$rc" = 2 ]
one_line_with() { [[ $(wc -l <<<"$1") == 1 && $1 == *"$2"* ]]; }
check "bad mask file: one line naming it" one_line_with "$out" "$tmp/bad-mask.png: not a readable PNG"
rc=0
out=$(ZONES_FILE=$tmp/missing.json "$batch" 2>&1) || rc=$?
check "missing zones file: exit 2" [ "$rc" = 2 ]
check "missing zones file: named" one_line_with "$out" "ZONES_FILE is not a readable file: $tmp/missing.json"
check "bad files: bucket unchanged" [ "$(keys)" = "$before" ]

# --- a run with mask and zones from the .env ------------------------------------------------------
{
  echo "S3_BUCKET=$S3_BUCKET"
  echo "MASK_FILE=$tmp/mask.json"
  echo "ZONES_FILE=$tmp/zones.json"
  if [[ $mode == s3 ]]; then
    printf 'S3_ENDPOINT=%s\nS3_ACCESS_KEY=%s\nS3_SECRET_KEY="%s"\n' "$S3_ENDPOINT" "$S3_ACCESS_KEY" "$S3_SECRET_KEY"
  fi
} >"$tmp/places.env"
rc=0
"$batch" --env-file "$tmp/places.env" --verbose >"$tmp/run.log" 2>&1 || rc=$?
sed 's/^/  [run] /' "$tmp/run.log"
check "run: exit 0" [ "$rc" = 0 ]
stem=heatmaps/2025/10/20/13/clip_2025-10-20_13-30-00
check "run: JPEG, sidecar, CSV, PNG and scene uploaded" [ "$(keys | grep -F "$stem")" = "${stem}_heatmap.csv
${stem}_heatmap.jpg
${stem}_heatmap.json
${stem}_heatmap.png
${stem}_scene.jpg" ]
for suffix in _heatmap.json _heatmap.csv _scene.jpg _heatmap.png _heatmap.jpg; do
  "$helper" get "$S3_BUCKET/$stem$suffix" "$tmp/out$suffix"
done
check "sidecar: valid against the schema" "$validate" "$tmp/out_heatmap.json"
check "sidecar + CSV: mask, zones, start time, names, totals" /usr/bin/python3 - "$tmp/out_heatmap.json" "$tmp/out_heatmap.csv" <<'PY'
import csv, json, sys
d = json.load(open(sys.argv[1]))
assert d["start_utc"] == "2025-10-20T13:30:00Z", d["start_utc"]
assert d["settings"]["mask"] == "mask.json" and len(d["settings"]["mask_sha256"]) == 64
assert d["settings"]["zones"] == "zones.json"
assert abs(d["settings"]["mask_coverage"] - 0.75) < 0.02, d["settings"]["mask_coverage"]
assert d["files"] == {"jpeg": "clip_2025-10-20_13-30-00_heatmap.jpg",
                      "png": "clip_2025-10-20_13-30-00_heatmap.png",
                      "scene": "clip_2025-10-20_13-30-00_scene.jpg",
                      "csv": "clip_2025-10-20_13-30-00_heatmap.csv"}, d["files"]
assert [z["name"] for z in d["zones"]] == ["left, half", "right"]
rows = list(csv.DictReader(open(sys.argv[2], newline="")))
assert rows and list(rows[0])[:5] == ["time_utc", "zone", "activity", "peak", "active"]
for z in d["zones"]:
    mine = [r for r in rows if r["zone"] == z["name"]]
    assert len(mine) == len(z["series"]) >= 2, (len(mine), len(z["series"]))
    frames = sum(int(r["frames"]) for r in mine)
    mean = sum(float(r["activity"]) * int(r["frames"]) for r in mine) / frames
    active = sum(float(r["duration_s"]) for r in mine if r["active"] == "1")
    assert abs(mean - z["mean_activity"]) < 1e-7 and abs(active - z["active_seconds"]) < 1e-7
    assert mine[0]["time_utc"] == "2025-10-20T13:30:00Z"
assert sum(z["mean_activity"] for z in d["zones"]) > 0
PY
check "scene: a JPEG at processing size" /usr/bin/python3 -c '
import cv2, sys
i = cv2.imread(sys.argv[1]); assert i is not None and i.shape[:2] == (45, 80), None if i is None else i.shape
' "$tmp/out_scene.jpg"
# Masked rows (top quarter) count nothing.
check "counts: masked top quarter is exactly 0" /usr/bin/python3 -c '
import cv2, sys
c = cv2.imread(sys.argv[1], cv2.IMREAD_UNCHANGED); assert c.dtype.name == "uint16"
assert int(c[:11].max()) == 0 and int(c[12:].max()) > 0, (int(c[:11].max()), int(c[12:].max()))
' "$tmp/out_heatmap.png"

# --- pending ignores the new suffixes: nothing left to do, a second run does nothing -------------
pending=$("$helper" pending "$S3_BUCKET" 2>"$tmp/pending.err" || true)
check "pending: nothing left (sidecar, CSV and scene are not work)" [ -z "$pending" ]
check "pending: the clip counts as done" grep -q "0 clips without a heatmap.* 1 already done" "$tmp/pending.err"
after=$(keys)
"$batch" --env-file "$tmp/places.env" >"$tmp/run2.log" 2>&1 || true
check "second run: nothing changes" [ "$(keys)" = "$after" ]

if [[ $failures -gt 0 ]]; then
  echo "test-batch-places ($mode): $failures failure(s)" >&2
  exit 1
fi
echo "test-batch-places ($mode): all checks passed"
