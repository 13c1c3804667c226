#!/usr/bin/env bash
# Runs test-s3-rgw with every library log line printed, then greps all of it for the secret key.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: test-s3-rgw.sh TEST_BINARY [ARGS...]
Run under tests/lib/with-s3-server (it sets S3_SECRET_KEY). Runs the binary with
S3_TEST_VERBOSE=1 so that every S3 log line reaches stderr, shows the output, and fails if
the secret key (or a request signature) appears anywhere in it.
USAGE
}

if [ $# -lt 1 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
  usage
  [ $# -ge 1 ] && exit 0
  exit 2
fi
: "${S3_SECRET_KEY:?run me through tests/lib/with-s3-server}"

out=$(mktemp "${TMPDIR:-/tmp}/test-s3-rgw.XXXXXX")
trap 'rm -f "$out"' EXIT
status=0
S3_TEST_VERBOSE=1 "$@" >"$out" 2>&1 || status=$?
# The output is long (a line per request): keep the log readable.
grep -v '^s3: PUT .*/many/' "$out" || true
if grep -qF -- "$S3_SECRET_KEY" "$out"; then
  echo "test-s3-rgw.sh: the secret key appears in the test's output" >&2
  exit 1
fi
if grep -E 'Signature=[0-9a-f]{64}' "$out" >&2; then
  echo "test-s3-rgw.sh: a request signature appears in the test's output" >&2
  exit 1
fi
lines=$(grep -c '^s3: ' "$out" || true)
if [ "$lines" -lt 100 ]; then
  echo "test-s3-rgw.sh: only $lines log lines: the library's logging did not reach the output" >&2
  exit 1
fi
echo "test-s3-rgw.sh: $lines log lines, no secret and no signature in them"
exit "$status"
