#!/usr/bin/env bash
# heatmap-worker's command line and settings errors (no broker needed): each is one line on
# stderr, exit status 2, and never repeats a password.
set -euo pipefail
worker=$(readlink -f "${1:?usage: test-worker-cli.sh HEATMAP_WORKER}")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-worker-cli.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
unset AMQP_URL AMQP_QUEUE AMQP_EXCHANGE MAX_ATTEMPTS RETRY_DELAY JOBS S3_BUCKET
export S3_BUCKET=file://$tmp
failures=0
expect() { # description status needle command... (stderr must hold needle, never "hunter2")
  local what=$1 want=$2 needle=$3 rc=0
  shift 3
  "$@" >"$tmp/out" 2>"$tmp/err" </dev/null || rc=$?
  if [[ $rc != "$want" ]] || ! grep -qF -- "$needle" "$tmp/err" "$tmp/out" || grep -q hunter2 "$tmp/err" "$tmp/out"; then
    echo "FAIL: $what (status $rc)"; cat "$tmp/err"; failures=$((failures + 1))
  else
    echo "ok: $what"
  fi
}
expect "--help" 0 "Usage: heatmap-worker" "$worker" --help
expect "a password on the command line is refused" 2 "never on the command line" \
  "$worker" --amqp-url amqp://u:hunter2@h/
expect "a malformed AMQP_URL is refused without echoing it" 2 "AMQP_URL" \
  env AMQP_URL='amqp://u:hunter2@:5672/' "$worker"
expect "an http:// AMQP_URL is refused" 2 "amqp:// or amqps://" env AMQP_URL=http://h/ "$worker"
expect "MAX_ATTEMPTS=0 is refused" 2 "MAX_ATTEMPTS" env MAX_ATTEMPTS=0 "$worker"
expect "ROLLUP_RESAMPLE=maybe is refused" 2 "ROLLUP_RESAMPLE must be true or false: got 'maybe'" \
  env ROLLUP_RESAMPLE=maybe "$worker"
expect "--jobs 0 is refused" 2 "--jobs" "$worker" --jobs 0
expect "--enqueue --force is refused" 2 "never overwrite" "$worker" --enqueue --force
expect "S3_BUCKET unset" 2 "S3_BUCKET" env -u S3_BUCKET "$worker"
expect "unknown option" 2 "unknown argument" "$worker" --frobnicate
expect "missing --env-file" 2 "cannot read" "$worker" --env-file "$tmp/nope.env"
printf 'AMQP_URL=amqp://u:hunter2@127.0.0.1:1/%%2f\nMAX_ATTEMPTS=abc\n' >"$tmp/bad.env"
expect "a bad value in the env file names the key, not the password" 2 "MAX_ATTEMPTS" \
  "$worker" --env-file "$tmp/bad.env"
((failures == 0)) || exit 1
