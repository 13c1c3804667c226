# checks.sh: sourced by the end-to-end test scripts. One line per check ("ok: ..." or
# "FAIL: ..." on stderr); `failures` counts the failed ones for the script's exit status.
# shellcheck shell=bash

failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }
check() { # description command... (ok when the command succeeds)
  local what=$1
  shift
  if "$@"; then ok "$what"; else fail "$what"; fi
}

# checks_bucket MODE DIR: exports S3_BUCKET for the test's mode: s3 = the first bucket that
# tests/lib/with-s3-server created, file = a folder bucket DIR/bucket (and no S3 settings).
checks_bucket() {
  if [[ $1 == s3 ]]; then
    : "${S3_ENDPOINT:?run me under tests/lib/with-s3-server}"
    export S3_BUCKET="s3://${S3_TEST_BUCKETS%% *}"
  else
    mkdir -p "$2/bucket"
    export S3_BUCKET="file://$2/bucket"
    unset S3_ENDPOINT S3_ACCESS_KEY S3_SECRET_KEY
  fi
}
