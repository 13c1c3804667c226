#!/usr/bin/env bash
# Runs a test command, shows its output, and fails if the S3 secret key or a signature is in it.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: test-s3src-nosecret.sh COMMAND [ARGS...]

Runs COMMAND with stdout and stderr captured (and shown afterwards), exits with
its status, or 1 if the output contains $S3_SECRET_KEY or a SigV4 signature.
USAGE
}
case "${1:-}" in
  -h | --help | "") usage; exit 0 ;;
esac
: "${S3_SECRET_KEY:?run under tests/lib/with-s3-server}"

out=$(mktemp "${TMPDIR:-/tmp}/nosecret.XXXXXX")
trap 'rm -f "$out"' EXIT
status=0
"$@" >"$out" 2>&1 || status=$?
cat "$out"
if grep -qF -- "$S3_SECRET_KEY" "$out"; then
  echo "test-s3src-nosecret.sh: the secret key appears in the output of $1" >&2
  exit 1
fi
if grep -qE 'Signature=[0-9a-f]{64}' "$out"; then
  echo "test-s3src-nosecret.sh: a request signature appears in the output of $1" >&2
  exit 1
fi
exit "$status"
