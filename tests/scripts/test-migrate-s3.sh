#!/usr/bin/env bash
# End-to-end test of scripts/migrate-s3-structure on a real S3 server (Ceph RGW): plan, apply,
# cleanup, reruns, injected copy/delete failures and SIGKILLs, checked object by object.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
main_bucket=mig-main
fault_bucket=mig-fault
if [[ -z ${S3_TEST_BUCKETS:-} ]]; then
  exec "${SOURCE_ROOT:-$here/../..}/tests/lib/with-s3-server" --buckets "$main_bucket $fault_bucket" \
    -- "${BASH_SOURCE[0]}" "$@"
fi
# shellcheck source=tests/scripts/test-migrate-lib.sh
source "$here/test-migrate-lib.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-migrate-s3.XXXXXX")
proxy_pid=""
kill_pid=""
# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
  if [[ -n $kill_pid ]]; then kill -KILL "$kill_pid" 2>/dev/null || true; fi
  if [[ -n $proxy_pid ]]; then kill -TERM "$proxy_pid" 2>/dev/null || true; fi
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

rgw_endpoint=$S3_ENDPOINT
export CHECK_ENDPOINT=$rgw_endpoint
: >"$tmp/empty.env"
mt_setup "$tmp"

# 1050 flat videos (more than one listing page under raw_videos/), 300 flat heatmaps, dated keys,
# unparsable names, one destination already copied and one conflicting destination.
mt gen "$tmp/fx" 1050 300 20251020
flat_videos=()
mapfile -t flat_videos < <(mt keys "$tmp/fx" migrate | grep '^raw_videos/')
multipart_key=${flat_videos[3]}
mt upload "$tmp/fx" "s3://$main_bucket" "$multipart_key"
mt upload "$tmp/fx" "s3://$fault_bucket" "$multipart_key"
n=$(mt count "$tmp/fx" migrate)
echo "fixture: $n objects to migrate, $(mt listing "s3://$main_bucket" | wc -l) objects per bucket"

# --- main bucket: dry run, apply, rerun, cleanup, rerun ------------------------------------------
export S3_BUCKET=s3://$main_bucket
check_dry_run "the listing (keys, sizes, ETags, dates) byte-identical"
expect_eq "left-alone keys listed" 10 "$(grep -c '^left alone ' "$tmp/dry.log")"
expect_contains "conflict named" "conflict" "$(grep -F "$(mt keys "$tmp/fx" conflict)" "$tmp/dry.log")"

run_migration "$tmp/apply.log" --env-file "$tmp/empty.env" --apply
expect_eq "apply exits 1 (the conflict)" 1 "$mig_status"
expect_eq "apply summary" "Summary: copied $n, verified $((n + 1)), deleted 0, skipped 40, left alone 10, conflicts 1, failed 0" "$(summary_line)"
expect_ok "apply: exactly the expected keys, every copy byte-identical to its original" \
  mt check "$tmp/fx" "$S3_BUCKET" applied
# RGW keeps the multipart ETag ("...-2") on the copy: only the contents can prove it.
expect_contains "the multipart original was verified by its contents" \
  "verified by comparing the contents" "$(grep -F " $multipart_key → " "$tmp/apply.log")"
mt listing "$S3_BUCKET" >"$tmp/list2"

run_migration "$tmp/apply2.log" --env-file "$tmp/empty.env" --apply
expect_eq "apply rerun summary" "Summary: copied 0, verified $((n + 1)), deleted 0, skipped 40, left alone 10, conflicts 1, failed 0" "$(summary_line)"
mt listing "$S3_BUCKET" >"$tmp/list3"
expect_ok "apply rerun changes nothing" cmp "$tmp/list2" "$tmp/list3"

run_migration "$tmp/cleanup.log" --env-file "$tmp/empty.env" --apply --cleanup
expect_eq "cleanup exits 1 (the conflict stays)" 1 "$mig_status"
expect_eq "cleanup summary" "Summary: copied 0, verified $((n + 1)), deleted $((n + 1)), skipped 40, left alone 10, conflicts 1, failed 0" "$(summary_line)"
expect_ok "cleanup removed exactly the verified originals" mt check "$tmp/fx" "$S3_BUCKET" cleaned
mt listing "$S3_BUCKET" >"$tmp/list4"

run_migration "$tmp/cleanup2.log" --env-file "$tmp/empty.env" --apply --cleanup --verbose
expect_eq "cleanup rerun summary" "Summary: copied 0, verified 0, deleted 0, skipped $((n + 41)), left alone 10, conflicts 1, failed 0" "$(summary_line)"
mt listing "$S3_BUCKET" >"$tmp/list5"
expect_ok "cleanup rerun changes nothing" cmp "$tmp/list4" "$tmp/list5"
expect_eq "verbose lists the dated keys" $((n + 41)) "$(grep -c '^dated ' "$tmp/cleanup2.log")"

# --- fault bucket: SIGKILLs and injected failures, then reruns -----------------------------------
export S3_BUCKET=s3://$fault_bucket
python3 "$source_root/tests/lib/fault-proxy.py" --upstream "$rgw_endpoint" --port-file "$tmp/port" \
  --control-file "$tmp/rules.json" 2>"$tmp/proxy.log" &
proxy_pid=$!
for _ in $(seq 100); do [[ -s $tmp/port ]] && break; sleep 0.1; done
proxy_endpoint=http://127.0.0.1:$(cat "$tmp/port")
set_rules() { printf '%s\n' "$1" >"$tmp/rules.tmp" && mv "$tmp/rules.tmp" "$tmp/rules.json"; }
regex_of() { printf '%s' "${1//./\\\\.}"; } # JSON-escaped regex for a plain key
present() {
  mt listing "$S3_BUCKET" | cut -f1 >"$tmp/keys"
  grep -qxF "$1" "$tmp/keys"
}
flat_heatmaps=()
mapfile -t flat_heatmaps < <(mt keys "$tmp/fx" migrate | grep '^heatmaps/')
order=()
mapfile -t order < <(mt keys "$tmp/fx" migrate)

# Kill 1: at an arbitrary point of a run with cleanup.
mt kill-after 300 "$tmp/kill1.log" "$migrate_script" --env-file "$tmp/empty.env" --apply --cleanup
done_lines=$(grep -c '^\[' "$tmp/kill1.log" || true)
expect_eq "kill 1 hit a running migration (no summary; $done_lines items done)" "" "$(grep '^Summary' "$tmp/kill1.log" || true)"
expect_ok "after kill 1: nothing lost or changed" mt check "$tmp/fx" "$S3_BUCKET" safe

# Kill 2: while the server-side copy of one clip is in flight (the proxy holds it 2.5 s and
# forwards it after the kill): its original must stay, the late copy is verified by the rerun.
victim=${flat_heatmaps[100]}
for i in "${!order[@]}"; do
  if [[ ${order[i]} == "$victim" ]]; then before_victim=${order[i - 1]}; fi
done
set_rules "{\"rules\": [{\"method\": \"PUT\", \"path\": \"^/$fault_bucket/$(regex_of "$(mt dest "$tmp/fx" "$victim")")\$\", \"action\": \"delay:2500\", \"count\": 1}]}"
: >"$tmp/kill2.log"
S3_ENDPOINT=$proxy_endpoint "$migrate_script" --env-file "$tmp/empty.env" --apply --cleanup \
  >"$tmp/kill2.log" 2>&1 &
kill_pid=$!
while ! grep -qF " $before_victim → " "$tmp/kill2.log" && kill -0 "$kill_pid" 2>/dev/null; do
  sleep 0.02
done
sleep 0.8
kill -KILL "$kill_pid" 2>/dev/null || true
wait "$kill_pid" 2>/dev/null || true
kill_pid=""
sleep 3
expect_eq "kill 2 hit the run before the delayed copy finished" "" "$(grep -F " $victim → " "$tmp/kill2.log" || true)"
expect_ok "after kill 2: nothing lost, the original of the in-flight copy kept" \
  mt check "$tmp/fx" "$S3_BUCKET" safe "$victim"
expect_ok "after kill 2: the copy landed after the kill (unverified until the rerun)" \
  present "$(mt dest "$tmp/fx" "$victim")"

# Failures: two copies refused (503, 500 past the retries), one copy executed but its answer cut
# (connection reset), one delete refused. None of the refused ones may go. RGW ignores
# If-None-Match on CopyObject, so copies here are a GET and a conditional PUT (MIGRATION.md):
# the PUT whose answer was cut is retried, meets its own object (412, same MD5) and counts as
# made, so that clip is verified and cleaned like any other.
fa=${flat_heatmaps[-10]} fb=${flat_heatmaps[-8]} fc=${flat_heatmaps[-6]} fd=${flat_heatmaps[-4]}
rule() { printf '{"method": "%s", "path": "%s", "action": "%s", "count": -1}' "$1" "$2" "$3"; }
set_rules "{\"rules\": [
  $(rule PUT "^/$fault_bucket/$(regex_of "$(mt dest "$tmp/fx" "$fa")")$" 503),
  $(rule PUT "^/$fault_bucket/$(regex_of "$(mt dest "$tmp/fx" "$fb")")$" 500),
  $(rule PUT "^/$fault_bucket/$(regex_of "$(mt dest "$tmp/fx" "$fc")")$" reset:0),
  $(rule DELETE "^/$fault_bucket/$(regex_of "$fd")$" 503)]}"
S3_ENDPOINT=$proxy_endpoint run_migration "$tmp/faults.log" --env-file "$tmp/empty.env" --apply --cleanup
expect_eq "run with faults exits 1" 1 "$mig_status"
expect_contains "run with faults counts 3 failures" "conflicts 1, failed 3" "$(summary_line)"
expect_eq "the 3 failures are the injected refusals" "$(printf '%s\n' "$fa" "$fb" "$fd" | sort)" \
  "$(grep '^\[[0-9/]*\] FAILED ' "$tmp/faults.log" | awk '{print $3}' | sort)"
expect_contains "the copy whose answer was cut is recognised as ours and cleaned" \
  "] moved $fc → " "$(grep -F " $fc → " "$tmp/faults.log")"
expect_contains "the copies went through a conditional PUT (RGW ignores it on CopyObject)" \
  "Copies: GET then PUT with If-None-Match" "$(cat "$tmp/faults.log")"
expect_ok "after faults: nothing lost, the 3 refused originals kept" \
  mt check "$tmp/fx" "$S3_BUCKET" safe "$fa" "$fb" "$fd"
if present "$(mt dest "$tmp/fx" "$fa")" || present "$(mt dest "$tmp/fx" "$fb")"; then
  fail "refused copies left a destination"
else
  ok "refused copies left no destination"
fi
expect_contains "the copy that landed after kill 2 was verified, not made again, then cleaned" \
  "] cleaned $victim → " "$(grep -F " $victim → " "$tmp/faults.log")"
set_rules '{"rules": []}'

run_migration "$tmp/final.log" --env-file "$tmp/empty.env" --apply --cleanup
expect_eq "rerun after faults exits 1 (only the conflict)" 1 "$mig_status"
expect_eq "rerun after faults summary" "Summary: copied 2, verified 3, deleted 3, skipped $((n + 41 - 3)), left alone 10, conflicts 1, failed 0" "$(summary_line)"
expect_ok "rerun after kills and faults completes the job exactly" mt check "$tmp/fx" "$S3_BUCKET" cleaned
mt listing "$S3_BUCKET" >"$tmp/list6"
run_migration "$tmp/final2.log" --env-file "$tmp/empty.env" --apply --cleanup
mt listing "$S3_BUCKET" >"$tmp/list7"
expect_ok "one more rerun changes nothing" cmp "$tmp/list6" "$tmp/list7"

if grep -rqF -- "$S3_SECRET_KEY" "$tmp"/*.log; then fail "the secret key appears in an output"; else ok "no secret in any output"; fi
finish
