#!/usr/bin/env bash
# The s3src-helper verbs on a real S3 server and on a local folder; run under with-s3-server.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: tests/lib/with-s3-server --buckets "cli-a cli-b" tests/s3src-helper/test-cli.sh

Runs every s3src-helper verb (ls, head, get, put, cp, rm, presign) on s3:// and
file:// roots and checks outputs, bytes, exit codes, one-line errors, and that
the secret key appears in no output. Needs BUILD_ROOT (set by meson).
USAGE
}
case "${1:-}" in
  -h | --help) usage; exit 0 ;;
esac

: "${BUILD_ROOT:?run from meson test, or set BUILD_ROOT}"
: "${S3_SECRET_KEY:?run under tests/lib/with-s3-server}"
helper=$BUILD_ROOT/s3src-helper/s3src-helper
work=$(mktemp -d "${TMPDIR:-/tmp}/test-cli.XXXXXX")
trap 'rm -rf "$work"' EXIT
log=$work/all-output.log # every byte any command printed, for the secret check
: >"$log"
failures=0

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# run CMD...: runs it, keeps stdout in $work/out and stderr in $work/err, sets $rc.
run() {
  set +e
  "$@" >"$work/out" 2>"$work/err"
  rc=$?
  set -e
  cat "$work/out" "$work/err" >>"$log"
}

expect_ok() {
  run "$@"
  if [ "$rc" != 0 ]; then
    fail "exit $rc from: $* ($(head -c 300 "$work/err"))"
  fi
}

# expect_exit CODE CMD...: exit CODE and exactly one stderr line starting with "s3src-helper: ".
expect_exit() {
  local code=$1
  shift
  run "$@"
  [ "$rc" = "$code" ] || fail "exit $rc (wanted $code) from: $*"
  [ "$(wc -l <"$work/err")" = 1 ] || fail "stderr is not one line for: $* ($(cat "$work/err"))"
  grep -q '^s3src-helper: ' "$work/err" || fail "stderr lacks the tool name for: $*"
}

expect_out() {
  local want=$1
  shift
  expect_ok "$@"
  if [ "$(cat "$work/out")" != "$want" ]; then
    fail "output of: $*"
    diff <(printf '%s\n' "$want") "$work/out" >&2 || true
  fi
}

h() { "$helper" "$@"; }

# --- local inputs ---
mkdir -p "$work/in" "$work/root"
printf 'hello text\n' >"$work/in/a.txt"
head -c 300000 /dev/urandom >"$work/in/b.mp4"
printf '{"k": 1}\n' >"$work/in/c.json"
head -c 1234 /dev/urandom >"$work/in/odd.bin"
odd='odd key +=%~é 東京.bin'

bucket=${S3_TEST_BUCKETS%% *}
other=${S3_TEST_BUCKETS##* }
[ "$bucket" != "$other" ] || { echo "test-cli.sh: needs two buckets" >&2; exit 1; }

for root in "s3://$bucket" "file://$work/root"; do
  echo "# root $root"
  expect_ok h put "$work/in/a.txt" "$root/a.txt"
  expect_ok h put "$work/in/b.mp4" "$root/dir/b.mp4"
  expect_ok h put "$work/in/c.json" "$root/dir/sub/"  # name appended
  expect_ok h put "$work/in/odd.bin" "$root/$odd"
  expect_ok h put --content-type text/x-custom "$work/in/a.txt" "$root/dir2/x"

  # ls: one level, prefixes as PRE, names relative to the prefix's folder
  expect_out "PRE dir/
PRE dir2/
a.txt
$odd" h ls "$root"
  expect_out "PRE dir/
PRE dir2/
a.txt
$odd" h ls "$root/"
  expect_out "PRE sub/
b.mp4" h ls "$root/dir/"
  expect_out "b.mp4" h ls "$root/dir/b"
  expect_out "a.txt
dir/b.mp4
dir/sub/c.json
dir2/x
$odd" h ls --recursive "$root"
  # --recursive shows keys in full: bucket-relative on S3, relative to the listed folder locally
  below=dir/
  [ "${root%%:*}" = file ] && below=
  expect_out "${below}b.mp4
${below}sub/c.json" h ls -r "$root/dir/"
  expect_ok h ls --long --recursive "$root/dir/"
  awk -F'\t' 'NF != 4 { exit 1 }' "$work/out" || fail "ls --long lines are not 4 tab-separated fields"
  [ "$(awk -F'\t' -v k="${below}b.mp4" '$4 == k { print $1 }' "$work/out")" = 300000 ] ||
    fail "ls --long size of dir/b.mp4 on $root"
  expect_ok h ls --long "$root"
  grep -q "^PRE	-	-	dir/\$" "$work/out" || fail "ls --long prefix line on $root"

  # head
  expect_ok h head "$root/dir/b.mp4"
  grep -qx 'size: 300000' "$work/out" || fail "head size on $root: $(cat "$work/out")"
  grep -q '^etag: .' "$work/out" || fail "head etag on $root"
  grep -q '^last-modified: .' "$work/out" || fail "head last-modified on $root"
  if [ "${root%%:*}" = s3 ]; then
    grep -qx 'content-type: video/mp4' "$work/out" || fail "guessed content type: $(cat "$work/out")"
    expect_ok h head "$root/dir2/x"
    grep -qx 'content-type: text/x-custom' "$work/out" || fail "--content-type not stored"
    expect_ok h head "$root/dir/sub/c.json"
    grep -qx 'content-type: application/json' "$work/out" || fail "json content type"
  fi

  # get to a file, to a folder and to stdout
  rm -f "$work/got"
  expect_ok h get "$root/dir/b.mp4" "$work/got"
  cmp -s "$work/got" "$work/in/b.mp4" || fail "get bytes differ on $root"
  mkdir -p "$work/gotdir"
  expect_ok h get "$root/$odd" "$work/gotdir"
  cmp -s "$work/gotdir/$odd" "$work/in/odd.bin" || fail "get into a folder, odd key, on $root"
  expect_ok h get "$root/dir/b.mp4" -
  cmp -s "$work/out" "$work/in/b.mp4" || fail "get - bytes differ on $root"

  # cp within the root (server-side on S3) and rm
  expect_ok h cp "$root/dir/b.mp4" "$root/copy/b copy.mp4"
  expect_ok h get "$root/copy/b copy.mp4" "$work/got2"
  cmp -s "$work/got2" "$work/in/b.mp4" || fail "cp within $root"
  expect_ok h rm "$root/copy/b copy.mp4"
  expect_exit 1 h head "$root/copy/b copy.mp4"
  expect_exit 1 h rm "$root/copy/b copy.mp4"

  # missing keys: exit 1, one line naming the object
  expect_exit 1 h get "$root/no/such key.mp4" "$work/never"
  grep -qF "no/such key.mp4" "$work/err" || fail "error does not name the key: $(cat "$work/err")"
  [ ! -e "$work/never" ] || fail "a failed get left a file behind"
  expect_exit 1 h head "$root/nope"
done

# --- cross-scheme and cross-bucket copies ---
echo "# cross copies"
expect_ok h cp "s3://$bucket/dir/b.mp4" "file://$work/x/fromS3.mp4"
cmp -s "$work/x/fromS3.mp4" "$work/in/b.mp4" || fail "cp s3 -> file"
expect_ok h cp "file://$work/in/odd.bin" "s3://$bucket/from file/$odd"
expect_ok h get "s3://$bucket/from file/$odd" "$work/got3"
cmp -s "$work/got3" "$work/in/odd.bin" || fail "cp file -> s3"
expect_ok h cp "s3://$bucket/dir/b.mp4" "s3://$other/"
expect_ok h head "s3://$other/b.mp4"
grep -qx 'size: 300000' "$work/out" || fail "cp s3 -> other bucket"
grep -qx 'content-type: video/mp4' "$work/out" || fail "cp to another bucket kept no content type"
expect_ok h cp "file://$work/in/a.txt" "file://$work/root/deep/er/a.txt"
cmp -s "$work/root/deep/er/a.txt" "$work/in/a.txt" || fail "cp file -> file"

# --- presign: curl without credentials gets the bytes; tampering is refused ---
echo "# presign"
for key in "dir/b.mp4" "$odd"; do
  expect_ok h presign "s3://$bucket/$key" --expires 600
  url=$(cat "$work/out")
  case "$url" in
    "$S3_ENDPOINT"/*X-Amz-Signature=*) ;;
    *) fail "presigned URL looks wrong: $url" ;;
  esac
  code=$(curl -sS -o "$work/curl" -w '%{http_code}' "$url")
  [ "$code" = 200 ] || fail "curl of presigned $key: HTTP $code"
  src=$work/in/b.mp4
  [ "$key" = "$odd" ] && src=$work/in/odd.bin
  cmp -s "$work/curl" "$src" || fail "presigned bytes differ for $key"
done
code=$(curl -sS -o /dev/null -w '%{http_code}' "${url/X-Amz-Expires=600/X-Amz-Expires=601}")
[ "$code" = 403 ] || fail "tampered presigned URL gave HTTP $code, not 403"
expect_ok h presign "s3://$bucket/a.txt"
grep -q 'X-Amz-Expires=3600' "$work/out" || fail "default expiry is not 3600"
expect_exit 2 h presign "s3://$bucket/a.txt" --expires 604801
expect_exit 2 h presign "s3://$bucket/a.txt" --expires 0
expect_exit 2 h presign "file://$work/in/a.txt"

# --- usage errors exit 2; --help everywhere ---
echo "# usage"
expect_exit 2 h
expect_exit 2 h frobnicate
expect_exit 2 h ls
expect_exit 2 h ls "s3://$bucket" --bogus
expect_exit 2 h get "s3://$bucket/a.txt"
expect_exit 2 h get "http://example.com/a" "$work/x1"
expect_exit 2 h head "s3://$bucket/"
expect_exit 2 h put "$work/in/a.txt"
expect_exit 2 h cp "s3://$bucket/a.txt"
expect_exit 2 h ls "s3://$bucket" --timeout nope
expect_exit 2 h ls "s3://$bucket" --retries 99
expect_exit 1 h put "$work/in/missing.txt" "s3://$bucket/m.txt"
expect_ok h --help
grep -q '^Usage: s3src-helper VERB' "$work/out" || fail "--help"
for verb in ls head get put cp rm presign; do
  expect_ok h "$verb" --help
  grep -q "^Usage: s3src-helper $verb" "$work/out" || fail "$verb --help"
  grep -q -- '--endpoint' "$work/out" || fail "$verb --help lacks the connection options"
done

# --- common flags override the environment ---
echo "# flags"
# (ls: a HEAD's 403 has no body to tell a bad signature from a denied access)
expect_exit 1 h ls "s3://$bucket/" --secret-key wrong-secret
grep -qi 'secret' "$work/err" || fail "wrong secret error does not point at the secret key: $(cat "$work/err")"
expect_ok env -u S3_ENDPOINT "$helper" head "s3://$bucket/a.txt" --endpoint "$S3_ENDPOINT"
expect_ok h ls "s3://$bucket" --verbose
[ -s "$work/err" ] || fail "--verbose logged nothing"
expect_exit 1 h ls "s3://no-such-bucket-cli"

# --- no secret anywhere ---
if grep -qF -- "$S3_SECRET_KEY" "$log"; then
  fail "the secret key appears in the tools' output"
fi
[ -s "$log" ] || fail "captured no output at all"

if [ "$failures" != 0 ]; then
  echo "test-cli.sh: $failures failure(s)" >&2
  exit 1
fi
echo "test-cli.sh: all checks passed"
