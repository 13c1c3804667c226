#!/usr/bin/env bash
# Unit test of scripts/lib/config.sh: .env parsing, precedence, injection safety and validation.
# shellcheck disable=SC2016  # the single-quoted bash -c programs and literals are meant unexpanded
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source_root=${SOURCE_ROOT:-$here/../..}
lib=$source_root/scripts/lib/config.sh
tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-config.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
expect_eq() { # what expected actual
  if [[ $2 != "$3" ]]; then fail "$1: expected [$2], got [$3]"; else echo "ok: $1"; fi
}
expect_contains() { # what needle haystack
  if [[ $3 != *"$2"* ]]; then fail "$1: expected to contain [$2], got [$3]"; else echo "ok: $1"; fi
}

# Runs config_load (+ optional validate) in a clean environment and prints NAME=value lines
# (stdout) and messages (stderr). Extra VAR=value arguments become the process environment.
run_cfg() { # env_file validate(0/1) [VAR=value...]
  local file=$1 validate=$2
  shift 2
  env -i PATH=/usr/bin:/bin HOME="$tmp/home" "$@" bash -c '
    set -euo pipefail
    source "$1"
    config_load "$2"
    if [ "$3" = 1 ]; then config_validate; fi
    for n in "${CONFIG_VARS[@]}"; do printf "%s=%s\n" "$n" "${!n}"; done
    printf "EXPORTED=%s\n" "$(env | grep -c "^S3_" || true)"
  ' _ "$lib" "$file" "$validate"
}
value_of() { # name output
  local line
  while IFS= read -r line; do
    if [[ $line == "$1="* ]]; then printf '%s' "${line#"$1="}"; return; fi
  done <<<"$2"
}

mkdir -p "$tmp/home" "$tmp/bucket"

# --- parsing: quotes, comments, export, blanks, CRLF -------------------------------------------
cat >"$tmp/a.env" <<'EOF'
# a full-line comment

export S3_BUCKET="s3://my-bucket"   # inline comment after quotes
S3_ACCESS_KEY='AK # inside single quotes'
S3_SECRET_KEY=abc#def
   DOWNSCALE = 0.5   # spaces around = and an inline comment
COLORMAP="vir\"idis"
S3_REGION=eu-west-1
VIDEO_PREFIX='2025/10/$HOME/'
MAX_VIDEOS_PER_RUN=3
EOF
printf 'ALPHA=0.25\r\n' >>"$tmp/a.env"
printf 'S3_HEATMAPS_PREFIX=maps/' >>"$tmp/a.env" # no final newline
out=$(run_cfg "$tmp/a.env" 0 2>"$tmp/err")
expect_eq "double quotes + export + inline comment" "s3://my-bucket" "$(value_of S3_BUCKET "$out")"
expect_eq "single quotes keep # literally" "AK # inside single quotes" "$(value_of S3_ACCESS_KEY "$out")"
expect_eq "# without a blank before it is data" "abc#def" "$(value_of S3_SECRET_KEY "$out")"
expect_eq "blanks around = and comment" "0.5" "$(value_of DOWNSCALE "$out")"
expect_eq "escaped quote in double quotes" 'vir"idis' "$(value_of COLORMAP "$out")"
expect_eq "no variable expansion" '2025/10/$HOME/' "$(value_of VIDEO_PREFIX "$out")"
expect_eq "CRLF line ending stripped" "0.25" "$(value_of ALPHA "$out")"
expect_eq "last line without newline" "maps/" "$(value_of S3_HEATMAPS_PREFIX "$out")"
expect_eq "defaults fill the rest" "raw_videos/" "$(value_of S3_VIDEOS_PREFIX "$out")"
expect_eq "default CLEANUP_LOCAL_FILES" "true" "$(value_of CLEANUP_LOCAL_FILES "$out")"
expect_eq "S3_* variables are exported" "8" "$(value_of EXPORTED "$out")"
expect_eq "no warnings for a clean file" "" "$(cat "$tmp/err")"

# --- injection attempts are data ------------------------------------------------------------------
marker=$tmp/pwned
cat >"$tmp/evil.env" <<EOF
X=\$(touch $marker)
S3_BUCKET=\$(touch $marker)
S3_REGION=\`touch $marker\`
VIDEO_PREFIX="\$(touch $marker)"
COLORMAP=jet; touch $marker
EOF
out=$(run_cfg "$tmp/evil.env" 0 2>"$tmp/err")
if [[ -e $marker ]]; then fail "a command in the .env file ran"; else echo "ok: nothing in the file was executed"; fi
expect_eq "command substitution kept as data" "\$(touch $marker)" "$(value_of S3_BUCKET "$out")"
expect_eq "backticks kept as data" "\`touch $marker\`" "$(value_of S3_REGION "$out")"
expect_eq "quoted substitution kept as data" "\$(touch $marker)" "$(value_of VIDEO_PREFIX "$out")"
expect_eq "semicolon is data" "jet; touch $marker" "$(value_of COLORMAP "$out")"
expect_contains "unknown key warns" "unknown setting X" "$(cat "$tmp/err")"
# and validation then rejects the nonsense values instead of running them
if run_cfg "$tmp/evil.env" 1 >/dev/null 2>"$tmp/err"; then fail "evil values validated"; fi
expect_contains "evil bucket rejected" "S3_BUCKET" "$(cat "$tmp/err")"
[[ ! -e $marker ]] || fail "validation executed something"

# --- malformed lines are errors naming file and line ---------------------------------------------
printf 'S3_BUCKET=/x\nthis is not an assignment\nALPHA="unterminated\n' >"$tmp/bad.env"
if run_cfg "$tmp/bad.env" 0 >/dev/null 2>"$tmp/err"; then fail "malformed file accepted"; fi
expect_contains "malformed line reported" "bad.env:2: expected KEY=value" "$(cat "$tmp/err")"
expect_contains "unterminated quote reported" "bad.env:3: ALPHA: unterminated" "$(cat "$tmp/err")"
if run_cfg "$tmp/missing.env" 0 >/dev/null 2>"$tmp/err"; then fail "missing file accepted"; fi
expect_contains "missing file reported" "cannot read env file" "$(cat "$tmp/err")"

# --- precedence: environment > .env > default; flags are applied later by the caller -------------
printf 'DOWNSCALE=0.5\nMAX_VIDEOS_PER_RUN=7\nAWS_REGION=from-file-alias\n' >"$tmp/p.env"
out=$(run_cfg "$tmp/p.env" 0 DOWNSCALE=0.125 2>/dev/null)
expect_eq "environment beats .env" "0.125" "$(value_of DOWNSCALE "$out")"
expect_eq ".env beats default" "7" "$(value_of MAX_VIDEOS_PER_RUN "$out")"
expect_eq "AWS alias in .env used" "from-file-alias" "$(value_of S3_REGION "$out")"
out=$(run_cfg "$tmp/p.env" 0 AWS_REGION=env-alias 2>/dev/null)
expect_eq "AWS alias in environment beats .env" "env-alias" "$(value_of S3_REGION "$out")"
out=$(run_cfg "$tmp/p.env" 0 AWS_REGION=env-alias S3_REGION=env-s3 2>/dev/null)
expect_eq "S3_ name beats AWS_ alias" "env-s3" "$(value_of S3_REGION "$out")"
out=$(run_cfg "" 0 2>/dev/null)
expect_eq "no file: default" "0.25" "$(value_of DOWNSCALE "$out")"
printf 'S3_BUCKET=%s\nDOWNSCALE=0.5\n' "$tmp/bucket" >"$tmp/f.env"
out=$(env -i PATH=/usr/bin:/bin DOWNSCALE=0.3 bash -c 'set -euo pipefail; source "$1"; config_load "$2"
  DOWNSCALE=0.75; config_validate; echo "$DOWNSCALE"' _ "$lib" "$tmp/f.env")
expect_eq "flag beats environment and .env" "0.75" "$out"

# --- validation: one clear line per problem --------------------------------------------------------
cat >"$tmp/v.env" <<EOF
S3_BUCKET=s3://my-bucket
DOWNSCALE=2
ALPHA=1.5
MAX_VIDEOS_PER_RUN=ten
USE_BACKGROUND=maybe
COLORMAP=rainbowish
JOBS=0
EOF
if run_cfg "$tmp/v.env" 1 >/dev/null 2>"$tmp/err"; then fail "invalid values accepted"; fi
err=$(cat "$tmp/err")
expect_contains "DOWNSCALE message" "DOWNSCALE must be in (0,1]: got 2" "$err"
expect_contains "ALPHA message" "ALPHA must be in [0,1]" "$err"
expect_contains "MAX_VIDEOS_PER_RUN message" "MAX_VIDEOS_PER_RUN must be a whole number" "$err"
expect_contains "USE_BACKGROUND message" "USE_BACKGROUND must be true or false: got 'maybe'" "$err"
expect_contains "COLORMAP message" "COLORMAP must be one of" "$err"
expect_contains "JOBS message" "JOBS must be a whole number in 1..256" "$err"
expect_contains "missing credentials for s3://" "missing credentials for s3://my-bucket" "$err"
expect_eq "one line per problem" "7" "$(grep -c . "$tmp/err")"
for bad in 0 -1 1.5 abc ""; do
  if run_cfg "" 1 S3_BUCKET="$tmp/bucket" DOWNSCALE="$bad" >/dev/null 2>"$tmp/err"; then
    fail "DOWNSCALE=$bad accepted"
  else
    expect_contains "DOWNSCALE=$bad rejected" "DOWNSCALE must be in (0,1]" "$(cat "$tmp/err")"
  fi
done

# credentials present: s3:// is fine; AWS names count as credentials
out=$(run_cfg "" 1 S3_BUCKET=s3://my-bucket/ AWS_ACCESS_KEY_ID=a AWS_SECRET_ACCESS_KEY=b)
expect_eq "trailing slash removed from s3 bucket" "s3://my-bucket" "$(value_of S3_BUCKET "$out")"
expect_eq "AWS credentials mapped" "a" "$(value_of S3_ACCESS_KEY "$out")"
if run_cfg "" 1 S3_BUCKET=s3://my-bucket S3_ACCESS_KEY=a >/dev/null 2>"$tmp/err"; then
  fail "missing secret accepted"
fi
expect_contains "missing secret is a credential error" "missing credentials" "$(cat "$tmp/err")"

# local buckets: plain path and file:// become file:///abs; no credentials needed
out=$(cd "$tmp" && run_cfg "" 1 S3_BUCKET=bucket USE_BACKGROUND=No S3_VIDEOS_PREFIX=vids)
expect_eq "relative path becomes file://" "file://$(cd "$tmp/bucket" && pwd -P)" "$(value_of S3_BUCKET "$out")"
expect_eq "boolean normalised" "false" "$(value_of USE_BACKGROUND "$out")"
expect_eq "prefix gets a trailing slash" "vids/" "$(value_of S3_VIDEOS_PREFIX "$out")"
out=$(run_cfg "" 1 S3_BUCKET="file://$tmp/bucket")
expect_eq "file:// kept" "file://$(cd "$tmp/bucket" && pwd -P)" "$(value_of S3_BUCKET "$out")"
if run_cfg "" 1 S3_BUCKET="$tmp/nope" >/dev/null 2>"$tmp/err"; then fail "missing folder accepted"; fi
expect_contains "missing folder named" "S3_BUCKET folder does not exist: $tmp/nope" "$(cat "$tmp/err")"
if run_cfg "" 1 >/dev/null 2>"$tmp/err"; then fail "unset bucket accepted"; fi
expect_contains "unset bucket" "S3_BUCKET is not set" "$(cat "$tmp/err")"
if run_cfg "" 1 S3_BUCKET=http://x/y >/dev/null 2>"$tmp/err"; then fail "http bucket accepted"; fi
expect_contains "wrong scheme" "S3_BUCKET must be s3://bucket-name" "$(cat "$tmp/err")"
# the secret never appears in messages
if run_cfg "" 1 S3_BUCKET=s3://Bad_Name S3_ACCESS_KEY=a S3_SECRET_KEY=supersecret123 \
  DOWNSCALE=9 >"$tmp/out" 2>"$tmp/err"; then fail "bad bucket name accepted"; fi
if grep -q supersecret123 "$tmp/err"; then fail "secret in an error message"; else echo "ok: secret not in messages"; fi
out=$(env -i PATH=/usr/bin:/bin S3_SECRET_KEY=supersecret123 bash -c 'source "$1"; config_load ""; config_print' _ "$lib")
if [[ $out == *supersecret123* ]]; then fail "config_print shows the secret"; else echo "ok: config_print hides the secret"; fi

# --- the lock file: LOCK_FILE, else one per bucket -------------------------------------------------------
lock_of() { env -i PATH=/usr/bin:/bin "$@" bash -c 'source "$1"; config_load ""; config_lock_file' _ "$lib"; }
a=$(lock_of S3_BUCKET=s3://bucket-a XDG_RUNTIME_DIR=/run/x)
b=$(lock_of S3_BUCKET=s3://bucket-b XDG_RUNTIME_DIR=/run/x)
if [[ $a == /run/x/heatmap-batch-*.lock && $b == /run/x/heatmap-batch-*.lock && $a != "$b" ]]; then
  echo "ok: one default lock per bucket"
else
  fail "default lock files: [$a] [$b]"
fi
expect_eq "same bucket, same lock" "$a" "$(lock_of S3_BUCKET=s3://bucket-a XDG_RUNTIME_DIR=/run/x)"
expect_eq "LOCK_FILE wins" "/tmp/my.lock" "$(lock_of S3_BUCKET=s3://bucket-a LOCK_FILE=/tmp/my.lock)"

# --- .env.example documents every setting and parses cleanly ---------------------------------------
example=$source_root/.env.example
out=$(run_cfg "$example" 0 2>"$tmp/err")
expect_eq ".env.example parses without warnings" "" "$(cat "$tmp/err")"
expect_eq ".env.example default MAX_VIDEOS_PER_RUN" "10" "$(value_of MAX_VIDEOS_PER_RUN "$out")"
names=$(env -i PATH=/usr/bin:/bin bash -c 'source "$1"; printf "%s\n" "${CONFIG_VARS[@]}"' _ "$lib")
while IFS= read -r name; do
  if ! grep -q "^$name=" "$example"; then fail ".env.example does not document $name"; fi
done <<<"$names"
echo "ok: .env.example documents all $(grep -c . <<<"$names") settings"

if ((failures > 0)); then
  echo "$failures failure(s)" >&2
  exit 1
fi
echo "all config tests passed"
