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
expect_eq "S3_* variables are exported" "10" "$(value_of EXPORTED "$out")"
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
if grep -q "this is not" "$tmp/err"; then fail "the malformed line was echoed"; fi
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
a=$(lock_of S3_BUCKET=s3://bucket-a HOME="$tmp/home")
b=$(lock_of S3_BUCKET=s3://bucket-b HOME="$tmp/home")
if [[ $a == */gst-heatmap/heatmap-batch-*.lock && ${b%/*} == "${a%/*}" && $a != "$b" ]]; then
  echo "ok: one default lock per bucket"
else
  fail "default lock files: [$a] [$b]"
fi
expect_eq "same bucket, same lock" "$a" "$(lock_of S3_BUCKET=s3://bucket-a HOME="$tmp/home")"
expect_eq "LOCK_FILE wins" "/tmp/my.lock" "$(lock_of S3_BUCKET=s3://bucket-a LOCK_FILE=/tmp/my.lock)"

# --- a lock that is held, squatted or redirected ------------------------------------------------------
acquire() { # env... ; prints nothing, exits with config_lock_acquire's status
  env -i PATH=/usr/bin:/bin HOME="$tmp/home" "$@" bash -c 'source "$1"; config_load ""
    config_lock_acquire test-tool; rc=$?; [[ $rc != 0 ]] || [[ -n $CONFIG_LOCK_FD ]] || rc=99; exit "$rc"' _ "$lib"
}
rm -rf "$tmp/home/.cache"
a=$(lock_of S3_BUCKET=s3://bucket-a HOME="$tmp/home")
if (($(id -u) == 0)); then
  expect_eq "root: lock in /run/lock/gst-heatmap" "/run/lock/gst-heatmap" "${a%/*}"
else
  expect_eq "no XDG_RUNTIME_DIR: lock in ~/.cache/gst-heatmap" "$tmp/home/.cache/gst-heatmap" "${a%/*}"
fi
expect_eq "lock folder is private (0700)" "700" "$(stat -c %a "${a%/*}")"
[[ $a != /tmp/* ]] || fail "default lock still in /tmp: $a"
mkdir -m 700 "$tmp/xdg"
if (($(id -u) != 0)); then
  expect_eq "XDG_RUNTIME_DIR used when private" "$tmp/xdg/gst-heatmap" \
    "$(dirname "$(lock_of S3_BUCKET=s3://bucket-a XDG_RUNTIME_DIR="$tmp/xdg")")"
fi
rc=0; acquire S3_BUCKET=s3://b LOCK_FILE="$tmp/ok.lock" || rc=$?
expect_eq "free lock acquired" "0" "$rc"
rc=0; flock "$tmp/ok.lock" env -i PATH=/usr/bin:/bin HOME="$tmp/home" S3_BUCKET=s3://b LOCK_FILE="$tmp/ok.lock" \
  bash -c 'source "$1"; config_load ""; config_lock_acquire test-tool' _ "$lib" 2>"$tmp/err" || rc=$?
expect_eq "held lock: distinct status 75" "75" "$rc"
expect_contains "held lock: logged" "test-tool: another run on s3://b is in progress (lock $tmp/ok.lock held)" "$(cat "$tmp/err")"
echo precious >"$tmp/victim"
ln -s "$tmp/victim" "$tmp/link.lock"
rc=0; acquire S3_BUCKET=s3://b LOCK_FILE="$tmp/link.lock" 2>"$tmp/err" || rc=$?
expect_eq "symlinked lock file refused" "2" "$rc"
expect_contains "symlink named" "is a symbolic link" "$(cat "$tmp/err")"
ln -s "$tmp/nowhere" "$tmp/dangling.lock"
rc=0; acquire S3_BUCKET=s3://b LOCK_FILE="$tmp/dangling.lock" 2>/dev/null || rc=$?
expect_eq "dangling symlink refused" "2" "$rc"
[[ ! -e $tmp/nowhere ]] || fail "a dangling symlink's target was created"
expect_eq "symlink target untouched" "precious" "$(cat "$tmp/victim")"
# the default folder replaced by a symlink (to a folder someone else controls) is refused too
if (($(id -u) != 0)); then
  rm -rf "$tmp/xdg2" && mkdir -m 700 "$tmp/xdg2" "$tmp/elsewhere"
  ln -s "$tmp/elsewhere" "$tmp/xdg2/gst-heatmap"
  rc=0; acquire S3_BUCKET=s3://b XDG_RUNTIME_DIR="$tmp/xdg2" 2>"$tmp/err" || rc=$?
  expect_eq "symlinked lock folder refused" "2" "$rc"
fi
# squatting: a lock file of another user (root can test this with a nobody-owned file)
if (($(id -u) == 0)); then
  touch "$tmp/squat.lock" && chown nobody "$tmp/squat.lock"
  rc=0; acquire S3_BUCKET=s3://b LOCK_FILE="$tmp/squat.lock" 2>"$tmp/err" || rc=$?
  expect_eq "another user's lock file refused" "2" "$rc"
  expect_contains "owner named" "belongs to user" "$(cat "$tmp/err")"
  mkdir -p /run/lock/gst-heatmap
  expect_eq "root's lock folder is root's" "0:700" "$(stat -c %u:%a /run/lock/gst-heatmap)"
fi

# --- numbers: no octal, no overflow, canonical values (JOBS=08 once disabled the job limit) ---------
out=$(run_cfg "" 1 S3_BUCKET="$tmp/bucket" JOBS=08 MAX_VIDEOS_PER_RUN=007 PIPELINE_TIMEOUT=0090)
expect_eq "JOBS=08 is eight" "8" "$(value_of JOBS "$out")"
expect_eq "MAX_VIDEOS_PER_RUN=007 is seven" "7" "$(value_of MAX_VIDEOS_PER_RUN "$out")"
expect_eq "PIPELINE_TIMEOUT=0090 is ninety" "90" "$(value_of PIPELINE_TIMEOUT "$out")"
out=$(env -i PATH=/usr/bin:/bin S3_BUCKET="$tmp/bucket" JOBS=09 bash -c 'set -euo pipefail; source "$1"
  config_load ""; config_validate; n=0; while ((n < JOBS)); do n=$((n + 1)); done; echo "$n"' _ "$lib")
expect_eq "JOBS=09 usable in bash arithmetic" "9" "$out"
for spec in JOBS=0 JOBS=257 JOBS=-1 JOBS=0x10 JOBS=1e2 "JOBS= 4" JOBS=99999999999999999999 \
  MAX_VIDEOS_PER_RUN=18446744073709551617 MAX_VIDEOS_PER_RUN=1000001 PIPELINE_TIMEOUT=0 \
  PIPELINE_TIMEOUT=99999999999999999999999 PIPELINE_TIMEOUT=1.5 MAX_VIDEOS_PER_RUN=+3; do
  if run_cfg "" 1 S3_BUCKET="$tmp/bucket" "$spec" >/dev/null 2>"$tmp/err"; then
    fail "$spec accepted"
  else
    expect_contains "$spec rejected" "${spec%%=*} must be a whole number" "$(cat "$tmp/err")"
  fi
done
for spec in S3_VERIFY_TLS=maybe S3_FORCE_PATH_STYLE=2; do
  if run_cfg "" 1 S3_BUCKET="$tmp/bucket" "$spec" >/dev/null 2>"$tmp/err"; then fail "$spec accepted"; fi
  expect_contains "$spec rejected" "${spec%%=*} must be true or false" "$(cat "$tmp/err")"
done
out=$(run_cfg "" 1 S3_BUCKET="$tmp/bucket" S3_VERIFY_TLS=No)
expect_eq "S3_VERIFY_TLS normalised" "false" "$(value_of S3_VERIFY_TLS "$out")"

# --- secrets never appear in messages, whatever is malformed ----------------------------------------
secret='wJalrXUtnFEMI/K7MDENG+bPxRfiCYzEXAMPLEKEY'
printf 'S3_BUCKET=s3://b\nS3_SECRET_KEY "%s"\n' "$secret" >"$tmp/s1.env"
printf 'S3_SECRET_KEY="%s" trailing%s\n' "$secret" "$secret" >"$tmp/s2.env"
printf 'S3_SECRET_KEY="%s\n' "$secret" >"$tmp/s3.env"
printf '%s\n' "$secret" >"$tmp/s4.env"
printf "AWS_SECRET_ACCESS_KEY='%s'x\n" "$secret" >"$tmp/s5.env"
printf 'S3_SESSION_TOKEN:%s\n' "$secret" >"$tmp/s6.env"
printf 'S3_ENDPOINT=https://AK:%s@rgw.example\nS3_BUCKET=s3://b\n' "$secret" >"$tmp/s7.env"
for f in s1 s2 s3 s4 s5 s6; do
  if run_cfg "$tmp/$f.env" 1 >"$tmp/out" 2>"$tmp/err"; then fail "$f.env accepted"; fi
  if grep -qF "${secret:5:10}" "$tmp/err" "$tmp/out"; then
    fail "$f.env: the secret was echoed: $(cat "$tmp/err")"
  else
    expect_contains "$f.env: error names file and line" "$f.env:" "$(cat "$tmp/err")"
  fi
done
run_cfg "$tmp/s1.env" 0 >/dev/null 2>"$tmp/err" || true
expect_contains "known key named, value not" "s1.env:2: S3_SECRET_KEY: expected KEY=value" "$(cat "$tmp/err")"
if run_cfg "$tmp/s7.env" 1 S3_ACCESS_KEY=a S3_SECRET_KEY=b >/dev/null 2>"$tmp/err"; then fail "endpoint with user info accepted"; fi
expect_contains "endpoint user info rejected" "S3_ENDPOINT must not contain user information" "$(cat "$tmp/err")"
if grep -qF "${secret:5:10}" "$tmp/err"; then fail "endpoint password echoed"; fi
# every validation error at once, with the secret set: still never shown
if run_cfg "" 1 S3_BUCKET=s3://x S3_SECRET_KEY="$secret" S3_SESSION_TOKEN="$secret" JOBS=x DOWNSCALE=x \
  ALPHA=x MAX_VIDEOS_PER_RUN=x PIPELINE_TIMEOUT=x COLORMAP=x S3_REGION=X S3_ENDPOINT=x \
  S3_VERIFY_TLS=x USE_BACKGROUND=x >"$tmp/out" 2>"$tmp/err"; then fail "all-bad accepted"; fi
if grep -qF "${secret:5:10}" "$tmp/err" "$tmp/out"; then fail "a validation message shows the secret"; else echo "ok: no validation message shows the secret"; fi

# --- AWS_* aliases: the environment beats the file, whatever the name; children see one value -------
printf 'S3_REGION=file-s3\nS3_ENDPOINT=http://file:1\nAWS_SECRET_ACCESS_KEY=file-aws\n' >"$tmp/alias.env"
out=$(run_cfg "$tmp/alias.env" 0 AWS_DEFAULT_REGION=env-default 2>/dev/null)
expect_eq "AWS_DEFAULT_REGION (env) beats S3_REGION (.env)" "env-default" "$(value_of S3_REGION "$out")"
out=$(run_cfg "$tmp/alias.env" 0 AWS_DEFAULT_REGION=env-default AWS_REGION=env-region 2>/dev/null)
expect_eq "AWS_REGION beats AWS_DEFAULT_REGION" "env-region" "$(value_of S3_REGION "$out")"
out=$(run_cfg "$tmp/alias.env" 0 AWS_ENDPOINT_URL_S3=http://s3only:2 AWS_ENDPOINT_URL=http://all:3 2>/dev/null)
expect_eq "AWS_ENDPOINT_URL_S3 beats AWS_ENDPOINT_URL" "http://s3only:2" "$(value_of S3_ENDPOINT "$out")"
out=$(run_cfg "$tmp/alias.env" 0 2>/dev/null)
expect_eq "S3_ name in .env used" "http://file:1" "$(value_of S3_ENDPOINT "$out")"
expect_eq "AWS_ name in .env used" "file-aws" "$(value_of S3_SECRET_KEY "$out")"
out=$(run_cfg "$tmp/alias.env" 0 S3_REGION= 2>/dev/null)
expect_eq "empty in the environment still wins" "" "$(value_of S3_REGION "$out")"
out=$(env -i PATH=/usr/bin:/bin AWS_REGION=env-region AWS_ACCESS_KEY_ID=ak bash -c 'source "$1"; config_load "$2"
  env | grep -E "^(AWS|S3)_(REGION|ACCESS_KEY|ACCESS_KEY_ID)=" | sort' _ "$lib" "$tmp/alias.env" 2>/dev/null)
expect_eq "children see S3_* only" $'S3_ACCESS_KEY=ak\nS3_REGION=env-region' "$out"

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
