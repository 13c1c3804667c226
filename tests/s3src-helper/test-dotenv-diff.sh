#!/usr/bin/env bash
# Differential test: scripts/lib/config.sh and the C++ parser (s3src-helper/s3/dotenv.cpp) read
# a corpus of tricky .env files, hand-written and generated, identically: same values (bytes),
# same error lines (file, line, key; never a value), same status.
# Usage: test-dotenv-diff.sh DOTENV_DUMP [GENERATED_FILES]
# shellcheck disable=SC2016,SC1003  # literal $ and backslashes are the point here
set -euo pipefail

dump=$1
generated=${2:-400}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source_root=${SOURCE_ROOT:-$here/../..}
lib=$source_root/scripts/lib/config.sh
tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-dotenv-diff.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/corpus"

# --- hand-written corpus ---------------------------------------------------------------------------
n=0
add() { n=$((n + 1)); printf '%b' "$1" >"$tmp/corpus/hand-$n.env"; }
add 'A=1\nB=2\n'
add 'export S3_BUCKET="s3://b"   # c\nexport\tX=tab\nexportY=1\nexport =1\n'
add "Q='a # b'\nR=\"x\\\\\"y\"\nS=\"\\\\n\\\\t\\\\\$\\\\\\\\\\\\q\"\n"
add 'A=one #first # second\nB=a#b\nC= lead and trail  \t\nD=#x\nE=\nF= # only comment\n'
add 'A="unterminated\nB=\x27also\nC="ok"trailing\nD="ok"  # fine\nE="ok"#fine\n'
add 'S3_SECRET_KEY wJalr/K7MDENG+bPxRfiCY\nwJalrXUtnFEMI/K7MDENG\nDOWNSCALE 0.5\n9A=1\n=novalue\n'
add 'A=1\r\nB="2"\r\nC=3\r\r\nD=4 \r\n'
add 'A=last line without newline'
add '   \n\t\n# comment\n   # indented comment\nA = spaced = equals\n'
add 'A=$(touch /tmp/pwned)\nB=`id`\nC="$(id)"\nD=${HOME}\nE=a;b|c&d\n'
add 'A="\\\\"\nB="\\\\\\\\"\nC="a\\\\\nD=\x27\x27\nE=""\nF="\x27"\nG=\x27"\x27\n'
add 'UTF=caf\xc3\xa9\nBAD=\xff\xfe\nKEY\xc3\xa9=1\nQ="\xff"\n'
add 'A=1\nA=2\nA="3"\n'
add 'S3_REGION=x\nAWS_REGION=y\nAWS_DEFAULT_REGION=z\nAWS_SECRET_ACCESS_KEY=\x27s\x27\n'
add 'A="x" y\nB=\x27x\x27\t# c\nC="a"b"\nD="\\\\"x"\n'
add 'A=\v\fvt\nB=x\v\n'
: >"$tmp/corpus/empty.env"
printf 'A=1\0B=2\n' >"$tmp/corpus/nul.env"

# --- generated corpus: lines glued from the fragments that matter to the grammar -------------------
frags=('A' 'S3_SECRET_KEY' 'x_1' '9' '=' '=' ' ' $'\t' '#' ' #' '"' "'" '\' '\"' '\\' '\n' '$' 'export '
  'export' $'\r' 'v' 'é' $'\xff' '(' '`' ';' '  ' '==' '"#"' "'#'")
RANDOM=13
for ((f = 0; f < generated; f++)); do
  lines=$((RANDOM % 6 + 1))
  text=""
  for ((l = 0; l < lines; l++)); do
    # most lines start like an assignment, so that values get exercised
    if ((RANDOM % 4 != 0)); then line="${frags[RANDOM % 3]}="; else line=""; fi
    parts=$((RANDOM % 7))
    for ((p = 0; p < parts; p++)); do line+=${frags[RANDOM % ${#frags[@]}]}; done
    text+=$line$'\n'
  done
  if ((RANDOM % 5 == 0)); then text=${text%$'\n'}; fi
  printf '%s' "$text" >"$tmp/corpus/gen-$f.env"
done

# --- both parsers ------------------------------------------------------------------------------------
files=("$tmp"/corpus/*.env)
env -i PATH=/usr/bin:/bin bash -c 'source "$1"; printf "%s\n" "${CONFIG_VARS[@]}"' _ "$lib" >"$tmp/known"
# Every output line carries its file name; both outputs are sorted before the comparison (so the
# bash side needs no process per file: the machine running the tests may be busy).
env -i PATH=/usr/bin:/bin TMP="$tmp" bash -c '
  source "$1"; shift
  hex() { # sets h to the bytes of $1 in hex (the C locale makes ${v:i:1} one byte)
    local LC_ALL=C v=$1 i
    h=""
    for ((i = 0; i < ${#v}; i++)); do printf -v h "%s%02x" "$h" "'\''${v:i:1}"; done
  }
  for f in "$@"; do
    CONFIG_FILE_VALUES=()
    status=0
    config__parse_file "$f" 2>"$TMP/err" || status=$?
    printf "%s status %s\n" "$f" "$status"
    while IFS= read -r line; do
      [[ $line == "config: warning: "* ]] || printf "%s %s\n" "$f" "$line"
    done <"$TMP/err"
    for k in "${!CONFIG_FILE_VALUES[@]}"; do
      hex "${CONFIG_FILE_VALUES[$k]}"
      printf "%s %s %s\n" "$f" "$k" "$h"
    done
  done' _ "$lib" "${files[@]}" | LC_ALL=C sort >"$tmp/bash.out"
"$dump" "$tmp/known" "${files[@]}" | LC_ALL=C sort >"$tmp/cpp.out"

if ! diff -u "$tmp/bash.out" "$tmp/cpp.out" >"$tmp/diff"; then
  head -n 60 "$tmp/diff" >&2
  echo "FAIL: config.sh and the C++ parser disagree (first lines of the diff above)" >&2
  exit 1
fi
entries=$(grep -vc -e ' status [0-9]$' -e ' config: ' "$tmp/cpp.out" || true)
errors=$(grep -c ' config: ' "$tmp/cpp.out" || true)
echo "ok: both parsers agree on ${#files[@]} files ($entries settings, $errors error lines)"
