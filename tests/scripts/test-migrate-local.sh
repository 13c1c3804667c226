#!/usr/bin/env bash
# End-to-end test of scripts/migrate-s3-structure on a file:// bucket (a local folder): plan,
# apply and cleanup each interrupted by SIGKILL and finished by a rerun, reruns change nothing.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/scripts/test-migrate-lib.sh
source "$here/test-migrate-lib.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-migrate-local.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# A local bucket needs no credentials; make sure none leak in from the caller.
unset S3_ENDPOINT S3_ACCESS_KEY S3_SECRET_KEY AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
: >"$tmp/empty.env"
mt_setup "$tmp"
mt gen "$tmp/fx" 1050 300 20251021
cp -a "$tmp/fx/tree" "$tmp/bucket"
export S3_BUCKET=file://$tmp/bucket
n=$(mt count "$tmp/fx" migrate)

# Runs the migration with extra flags and SIGKILLs it after `lines` items (see mt kill-after).
kill_after() { # lines log args...
  local lines=$1 log=$2
  shift 2
  mt kill-after "$lines" "$log" "$migrate_script" --env-file "$tmp/empty.env" "$@"
  expect_eq "SIGKILL after $lines items hit a running migration" "" "$(grep '^Summary' "$log" || true)"
}

check_dry_run "every file as it was (names, sizes, inodes, mtimes)"

# The name filter plans exactly the flat names that start with it (videos and heatmaps).
mt keys "$tmp/fx" migrate >"$tmp/migrate-keys"
want=$(grep -c -e '^raw_videos/clip_2024-03-' -e '^heatmaps/clip_2024-03-' "$tmp/migrate-keys" || true)
"$build_root/s3src-helper/s3src-helper" migrate "$S3_BUCKET" --prefix clip_2024-03- >"$tmp/prefix.log" 2>&1 || true
expect_eq "--prefix clip_2024-03- plans exactly its $want clips" "$want" "$(grep -c '^copy ' "$tmp/prefix.log" || true)"
expect_eq "--prefix plans nothing else" 0 "$(grep '^copy ' "$tmp/prefix.log" | grep -vc ' [a-z_]*/clip_2024-03-[^ ]* → ' || true)"

kill_after 400 "$tmp/kill-apply.log" --apply
expect_ok "after a SIGKILL during --apply: nothing lost or changed" mt check "$tmp/fx" "$S3_BUCKET" safe
run_migration "$tmp/apply.log" --env-file "$tmp/empty.env" --apply
expect_eq "apply exits 1 (the conflict)" 1 "$mig_status"
expect_contains "apply finishes what the killed run left" "verified $((n + 1)), deleted 0, skipped 40, left alone 10, conflicts 1, failed 0" "$(summary_line)"
expect_ok "apply: exactly the expected files, every copy byte-identical" mt check "$tmp/fx" "$S3_BUCKET" applied
mt listing "$S3_BUCKET" >"$tmp/list2"
run_migration "$tmp/apply2.log" --env-file "$tmp/empty.env" --apply
expect_eq "apply rerun summary" "Summary: copied 0, verified $((n + 1)), deleted 0, skipped 40, left alone 10, conflicts 1, failed 0" "$(summary_line)"
mt listing "$S3_BUCKET" >"$tmp/list3"
expect_ok "apply rerun rewrites nothing" cmp "$tmp/list2" "$tmp/list3"

kill_after 500 "$tmp/kill-cleanup.log" --apply --cleanup
expect_ok "after a SIGKILL during --cleanup: nothing lost or changed" mt check "$tmp/fx" "$S3_BUCKET" safe
run_migration "$tmp/cleanup.log" --env-file "$tmp/empty.env" --apply --cleanup
expect_eq "cleanup exits 1 (the conflict stays)" 1 "$mig_status"
expect_contains "cleanup finishes" "Summary: copied 0, verified " "$(summary_line)"
expect_contains "cleanup without failures" "conflicts 1, failed 0" "$(summary_line)"
expect_ok "cleanup removed exactly the verified originals" mt check "$tmp/fx" "$S3_BUCKET" cleaned
mt listing "$S3_BUCKET" >"$tmp/list4"
run_migration "$tmp/cleanup2.log" --env-file "$tmp/empty.env" --apply --cleanup
expect_eq "cleanup rerun summary" "Summary: copied 0, verified 0, deleted 0, skipped $((n + 41)), left alone 10, conflicts 1, failed 0" "$(summary_line)"
mt listing "$S3_BUCKET" >"$tmp/list5"
expect_ok "cleanup rerun changes nothing" cmp "$tmp/list4" "$tmp/list5"

# Usage errors are exit 2 and touch nothing.
run_migration "$tmp/usage.log" --env-file "$tmp/empty.env" --cleanup
expect_eq "--cleanup without --apply is a usage error" 2 "$mig_status"
run_migration "$tmp/usage2.log" --env-file "$tmp/empty.env" --bogus
expect_eq "an unknown flag is a usage error" 2 "$mig_status"
S3_BUCKET=$tmp/missing run_migration "$tmp/usage3.log" --env-file "$tmp/empty.env" --apply
expect_eq "a missing bucket folder is a configuration error" 2 "$mig_status"
helper=$build_root/s3src-helper/s3src-helper
helper_status() { # expected what args...
  local expected=$1 what=$2 status=0
  shift 2
  "$helper" migrate "$@" >"$tmp/helper.log" 2>&1 || status=$?
  expect_eq "s3src-helper migrate: $what" "$expected" "$status"
}
helper_status 0 "--help" --help
helper_status 2 "--cleanup without --apply" "$S3_BUCKET" --cleanup
helper_status 2 "no BUCKET_URL" --apply
helper_status 2 "two BUCKET_URLs" "$S3_BUCKET" "$S3_BUCKET"
helper_status 2 "the same prefix for both areas" "$S3_BUCKET" --videos-prefix media --heatmaps-prefix media/
helper_status 2 "a prefix where the dated folders go" "$S3_BUCKET" --videos-prefix media/ --heatmaps-prefix media/2025/
helper_status 2 "--prefix without a value" "$S3_BUCKET" --prefix
helper_status 1 "a missing bucket folder" "file://$tmp/missing" --apply
expect_contains "a missing bucket folder is named" "$tmp/missing" "$(cat "$tmp/helper.log")"
mt listing "$S3_BUCKET" >"$tmp/list6"
expect_ok "usage errors change nothing" cmp "$tmp/list4" "$tmp/list6"
finish
