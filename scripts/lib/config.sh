# shellcheck shell=bash
# scripts/lib/config.sh: .env parsing (never sourcing), precedence and validation for the drivers.
#
# Sourced by scripts/heatmap-batch and the migration tool. Stable API:
#   config_register NAME DEFAULT   add a caller-specific variable before config_load
#   config_load ENV_FILE_OR_EMPTY  parse the file (data only: nothing in it is ever executed),
#                                  then set every known variable: environment > .env > default.
#                                  Returns 2 (one error line per problem) on an unreadable file or
#                                  a malformed line; unknown keys only warn.
#   config_validate                one error line per bad value on stderr, returns 2 if any;
#                                  normalises booleans to true/false, S3_BUCKET to s3://name or
#                                  file:///abs/path, and prefixes to end in "/".
#   config_is_local                true when S3_BUCKET (after config_validate) is a file:// folder
#   config_lock_file               prints LOCK_FILE, or the default lock of S3_BUCKET shared by
#                                  every tool that writes to the bucket (after config_validate),
#                                  in a private folder: /run/lock/gst-heatmap as root, else
#                                  $XDG_RUNTIME_DIR/gst-heatmap, else ~/.cache/gst-heatmap
#   config_lock_acquire TOOL       opens that file without following symlinks and takes the lock
#                                  (flock, no waiting); sets CONFIG_LOCK_FD. Returns 0, or
#                                  CONFIG_EXIT_LOCKED (75) with one line when another run holds
#                                  it, or 2 with one line when the file is unsafe or unusable
#   config_print                   the effective settings, secrets masked (for --verbose)
# Precedence (docs/configuration.md is the one place that defines it; the C++ parser
# s3src-helper/s3/dotenv.h follows it): flags (applied by the caller after config_load) >
# process environment > .env file > defaults. A variable set in the environment wins even when
# empty. S3_* connection settings also accept their AWS_* names: inside one source the S3_* name
# wins; across sources the environment wins, so AWS_REGION in the environment beats S3_REGION in
# .env. Every S3_* value is exported and the AWS_* aliases are removed from the environment, so
# s3src-helper and the s3src element see exactly the values chosen here.
# No message ever shows the value of a secret or the text of a malformed line.

# Name -> default. Order of CONFIG_VARS is the order of config_print.
declare -gA CONFIG_DEFAULTS=()
declare -ga CONFIG_VARS=()
# Values read from the .env file (name -> value), and where (name -> file:line).
declare -gA CONFIG_FILE_VALUES=()
declare -gA CONFIG_FILE_WHERE=()

config_register() {
  local name=$1 default=${2-}
  if [[ ! -v "CONFIG_DEFAULTS[$name]" ]]; then
    CONFIG_VARS+=("$name")
  fi
  CONFIG_DEFAULTS[$name]=$default
}

config_register S3_ENDPOINT ""
config_register S3_BUCKET ""
config_register S3_REGION "us-east-1"
config_register S3_ACCESS_KEY ""
config_register S3_SECRET_KEY ""
config_register S3_SESSION_TOKEN ""
config_register S3_VIDEOS_PREFIX "raw_videos/"
config_register S3_HEATMAPS_PREFIX "heatmaps/"
config_register VIDEO_PREFIX ""
config_register MAX_VIDEOS_PER_RUN "10"
config_register USE_BACKGROUND "true"
config_register DOWNSCALE "0.25"
config_register CLEANUP_LOCAL_FILES "true"
config_register COLORMAP "jet"
config_register ALPHA ""
config_register HEATMAP_OPTIONS ""
config_register MASK_FILE ""
config_register ZONES_FILE ""
config_register JOBS ""
config_register PIPELINE_TIMEOUT "1800"
config_register WORK_DIR ""
config_register LOCK_FILE ""
config_register S3_FORCE_PATH_STYLE ""
config_register S3_VERIFY_TLS ""
# heatmap-batch (owner: job): rollups after the clips, and the time limit of the listing/rollups.
config_register ROLLUPS "hour,day,week,month"
config_register ROLLUP_RESAMPLE "false"
config_register LIST_TIMEOUT "600"

# Connection variables and their AWS aliases, most specific first (the C++ side, s3::Config and
# s3/dotenv.cpp, reads the same groups in the same order).
declare -gA CONFIG_ALIASES=(
  [S3_ENDPOINT]="AWS_ENDPOINT_URL_S3 AWS_ENDPOINT_URL"
  [S3_REGION]="AWS_REGION AWS_DEFAULT_REGION"
  [S3_ACCESS_KEY]=AWS_ACCESS_KEY_ID
  [S3_SECRET_KEY]=AWS_SECRET_ACCESS_KEY
  [S3_SESSION_TOKEN]=AWS_SESSION_TOKEN
)
# Never printed.
declare -gA CONFIG_SECRETS=([S3_SECRET_KEY]=1 [S3_SESSION_TOKEN]=1 [AWS_SECRET_ACCESS_KEY]=1
  [AWS_SESSION_TOKEN]=1)
# Exit status of a tool that finds the bucket's lock held by another run (EX_TEMPFAIL: try later).
# shellcheck disable=SC2034  # used by the tools that source this file
CONFIG_EXIT_LOCKED=75
CONFIG_LOCK_FD=""

# Colormap nicks of the heatmap element (OpenCV's colormaps).
CONFIG_COLORMAPS="autumn bone jet winter rainbow ocean summer spring cool hsv pink hot parula magma inferno plasma viridis cividis twilight twilight-shifted turbo deepgreen"

config__err() { printf '%s\n' "$*" >&2; }

# Parses one value (the text after "="). Sets config__value; returns 1 with config__why on error.
config__parse_value() {
  local raw=$1 rest quote ch i n
  config__value=""
  config__why=""
  # Leading blanks before the value are not part of it.
  raw=${raw#"${raw%%[![:blank:]]*}"}
  quote=${raw:0:1}
  if [[ $quote == '"' || $quote == "'" ]]; then
    n=${#raw}
    i=1
    while ((i < n)); do
      ch=${raw:i:1}
      if [[ $ch == "$quote" ]]; then
        break
      fi
      if [[ $quote == '"' && $ch == "\\" && $((i + 1)) -lt $n ]]; then
        # Only \" \\ \n \t \$ are escapes inside double quotes; nothing is expanded.
        case ${raw:i+1:1} in
          '"' | "\\" | '$') config__value+=${raw:i+1:1}; i=$((i + 2)); continue ;;
          n) config__value+=$'\n'; i=$((i + 2)); continue ;;
          t) config__value+=$'\t'; i=$((i + 2)); continue ;;
        esac
      fi
      config__value+=$ch
      i=$((i + 1))
    done
    if ((i >= n)); then
      config__why="unterminated $quote quote"
      return 1
    fi
    rest=${raw:i+1}
    rest=${rest#"${rest%%[![:blank:]]*}"}
    if [[ -n $rest && $rest != '#'* ]]; then
      config__why="unexpected text after the closing quote (not shown)"
      return 1
    fi
    return 0
  fi
  # Unquoted: a "#" starts a comment only at the start or after a blank (so a#b stays a#b);
  # the first such "#" ends the value.
  if [[ $raw == '#'* ]]; then
    raw=""
  fi
  raw=${raw%%[[:blank:]]#*}
  raw=${raw%"${raw##*[![:blank:]]}"}
  config__value=$raw
}

# Reads the file into CONFIG_FILE_VALUES. Returns 2 on errors (all reported).
# Bytes, not characters: the C locale makes the patterns and ${#x} agree with the C++ parser
# (s3src-helper/s3/dotenv.cpp) on any input, valid UTF-8 or not. Every key is stored (unknown
# ones only warn), so that tests can compare both parsers.
config__parse_file() {
  local file=$1 line lineno=0 status=0 key body
  local LC_ALL=C
  if [[ ! -f $file || ! -r $file ]]; then
    config__err "config: cannot read env file: $file"
    return 2
  fi
  # bash's read drops NUL bytes silently; a file with any is not a settings file. (read -d ''
  # succeeds only when it met a NUL.)
  if IFS= read -r -d '' _ <"$file"; then
    config__err "config: $file: contains NUL bytes (not a text file)"
    return 2
  fi
  while IFS= read -r line || [[ -n $line ]]; do
    lineno=$((lineno + 1))
    line=${line%$'\r'}
    line=${line#"${line%%[![:blank:]]*}"}
    [[ -z $line || $line == '#'* ]] && continue
    if [[ $line =~ ^export[[:blank:]]+(.*)$ ]]; then
      line=${BASH_REMATCH[1]}
    fi
    if [[ ! $line =~ ^([A-Za-z_][A-Za-z0-9_]*)[[:blank:]]*=(.*)$ ]]; then
      # The line may be a secret pasted without its key: only a known setting name is shown.
      key=""
      if [[ $line =~ ^([A-Za-z_][A-Za-z0-9_]*) ]] && config__is_known "${BASH_REMATCH[1]}"; then
        key="${BASH_REMATCH[1]}: "
      fi
      config__err "config: $file:$lineno: ${key}expected KEY=value (the line is not shown: it may hold a secret)"
      status=2
      continue
    fi
    key=${BASH_REMATCH[1]}
    body=${BASH_REMATCH[2]}
    if ! config__parse_value "$body"; then
      config__err "config: $file:$lineno: $key: $config__why"
      status=2
      continue
    fi
    if ! config__is_known "$key"; then
      config__err "config: warning: $file:$lineno: unknown setting $key (ignored)"
    fi
    CONFIG_FILE_VALUES[$key]=$config__value
    CONFIG_FILE_WHERE[$key]="$file:$lineno"
  done <"$file"
  return "$status"
}

config__is_alias() {
  local k
  for k in "${!CONFIG_ALIASES[@]}"; do
    [[ " ${CONFIG_ALIASES[$k]} " == *" $1 "* ]] && return 0
  done
  return 1
}

config__is_known() { [[ -v "CONFIG_DEFAULTS[$1]" ]] || config__is_alias "$1"; }

config_load() {
  local file=${1-} name alias
  CONFIG_FILE_VALUES=()
  CONFIG_FILE_WHERE=()
  if [[ -n $file ]]; then
    config__parse_file "$file" || return 2
  fi
  for name in "${CONFIG_VARS[@]}"; do
    config__resolve "$name"
  done
  # Every S3_* setting is exported: the C++ tools read the connection ones from the environment,
  # and only these (the aliases could otherwise disagree with what was chosen here).
  for name in "${CONFIG_VARS[@]}"; do
    # shellcheck disable=SC2163  # exporting the variable named by $name
    [[ $name == S3_* ]] && export "$name"
    for alias in ${CONFIG_ALIASES[$name]-}; do
      unset "$alias"
    done
  done
  return 0
}

# Sets variable $1 from the first of: its name in the environment, its aliases there, its name
# in the file, its aliases there, its default.
config__resolve() {
  local name=$1 alias
  [[ -v $name ]] && return 0 # set in the environment (or by the caller), even empty: it wins
  for alias in ${CONFIG_ALIASES[$name]-}; do
    if [[ -v $alias ]]; then
      printf -v "$name" '%s' "${!alias}"
      return 0
    fi
  done
  if [[ -v "CONFIG_FILE_VALUES[$name]" ]]; then
    printf -v "$name" '%s' "${CONFIG_FILE_VALUES[$name]}"
    return 0
  fi
  for alias in ${CONFIG_ALIASES[$name]-}; do
    if [[ -v "CONFIG_FILE_VALUES[$alias]" ]]; then
      printf -v "$name" '%s' "${CONFIG_FILE_VALUES[$alias]}"
      return 0
    fi
  done
  printf -v "$name" '%s' "${CONFIG_DEFAULTS[$name]}"
}

# Where a value came from, for messages: "(from .env:3)" or "".
config__origin() {
  local name=$1
  if [[ -v "CONFIG_FILE_WHERE[$name]" && ${!name} == "${CONFIG_FILE_VALUES[$name]}" ]]; then
    printf ' (from %s)' "${CONFIG_FILE_WHERE[$name]}"
  fi
}

# Normalises a boolean variable in place; returns 1 if it is not one.
config__bool() {
  local name=$1 v
  v=${!name,,}
  case $v in
    true | yes | on | 1) printf -v "$name" true ;;
    false | no | off | 0) printf -v "$name" false ;;
    *) return 1 ;;
  esac
}

# Checks that variable $1 is a whole decimal number in $2..$3 and rewrites it without leading
# zeros, so that bash arithmetic later never reads "08" as a bad octal number. Length is checked
# before any arithmetic: a 30-digit value must not wrap around.
config__uint() {
  local name=$1 min=$2 max=$3 v
  v=${!name}
  [[ $v =~ ^[0-9]+$ ]] || return 1
  v=${v#"${v%%[!0]*}"}
  v=${v:-0}
  ((${#v} <= ${#max})) || return 1
  ((10#$v >= min && 10#$v <= max)) || return 1
  printf -v "$name" '%d' "$((10#$v))"
}

# A decimal number (no sign, no exponent).
config__is_number() { [[ $1 =~ ^([0-9]+(\.[0-9]*)?|\.[0-9]+)$ ]]; }

# awk compares decimals exactly enough for range checks.
config__num_test() { awk -v x="$1" "BEGIN { exit !($2) }"; }

config_validate() {
  local bad=0 name v path
  for name in USE_BACKGROUND CLEANUP_LOCAL_FILES ROLLUP_RESAMPLE; do
    if ! config__bool "$name"; then
      config__err "$name must be true or false: got '${!name}'$(config__origin "$name")"
      bad=1
    fi
  done

  if ! config__is_number "$DOWNSCALE" || ! config__num_test "$DOWNSCALE" 'x > 0 && x <= 1'; then
    config__err "DOWNSCALE must be in (0,1]: got ${DOWNSCALE:-(empty)}$(config__origin DOWNSCALE)"
    bad=1
  elif config__num_test "$DOWNSCALE" 'x < 0.01'; then
    config__err "DOWNSCALE must be at least 0.01 (the heatmap element's limit): got $DOWNSCALE$(config__origin DOWNSCALE)"
    bad=1
  fi
  if [[ -n $ALPHA ]] && { ! config__is_number "$ALPHA" || ! config__num_test "$ALPHA" 'x >= 0 && x <= 1'; }; then
    config__err "ALPHA must be in [0,1] (or empty for the element's default): got $ALPHA$(config__origin ALPHA)"
    bad=1
  fi
  if ! config__uint MAX_VIDEOS_PER_RUN 0 1000000; then
    config__err "MAX_VIDEOS_PER_RUN must be a whole number in 0..1000000 (0 = no limit): got ${MAX_VIDEOS_PER_RUN:-(empty)}$(config__origin MAX_VIDEOS_PER_RUN)"
    bad=1
  fi
  if [[ -n $JOBS ]] && ! config__uint JOBS 1 256; then
    config__err "JOBS must be a whole number in 1..256 (or empty for the number of cores): got $JOBS$(config__origin JOBS)"
    bad=1
  fi
  for name in MASK_FILE ZONES_FILE; do
    v=${!name}
    if [[ -n $v && ! (-f $v && -r $v) ]]; then
      config__err "$name is not a readable file: $v$(config__origin "$name")"
      bad=1
    fi
  done
  if ! config__uint PIPELINE_TIMEOUT 1 604800; then
    config__err "PIPELINE_TIMEOUT must be a whole number of seconds in 1..604800: got ${PIPELINE_TIMEOUT:-(empty)}$(config__origin PIPELINE_TIMEOUT)"
    bad=1
  fi
  for name in S3_FORCE_PATH_STYLE S3_VERIFY_TLS; do
    if [[ -n ${!name} ]] && ! config__bool "$name"; then
      config__err "$name must be true or false (or empty for the default): got '${!name}'$(config__origin "$name")"
      bad=1
    fi
  done
  v=${COLORMAP,,}
  v=${v//_/-}
  if [[ " $CONFIG_COLORMAPS " != *" $v "* ]]; then
    config__err "COLORMAP must be one of: $CONFIG_COLORMAPS: got '$COLORMAP'$(config__origin COLORMAP)"
    bad=1
  else
    COLORMAP=$v
  fi

  for name in S3_VIDEOS_PREFIX S3_HEATMAPS_PREFIX VIDEO_PREFIX; do
    v=${!name}
    if [[ $v == /* ]]; then
      config__err "$name must not start with '/' (keys are relative to the bucket): got $v$(config__origin "$name")"
      bad=1
    elif [[ $v == *$'\n'* || $v == *$'\t'* ]]; then
      config__err "$name must not contain tabs or newlines$(config__origin "$name")"
      bad=1
    fi
  done
  for name in S3_VIDEOS_PREFIX S3_HEATMAPS_PREFIX; do
    v=${!name}
    if [[ -n $v && $v != */ ]]; then
      printf -v "$name" '%s/' "$v"
    fi
  done
  if [[ -z $S3_HEATMAPS_PREFIX ]]; then
    config__err "S3_HEATMAPS_PREFIX must not be empty (heatmaps would be mixed with the videos)"
    bad=1
  elif [[ $S3_HEATMAPS_PREFIX == "$S3_VIDEOS_PREFIX" ]]; then
    config__err "S3_HEATMAPS_PREFIX must differ from S3_VIDEOS_PREFIX: both are $S3_VIDEOS_PREFIX"
    bad=1
  fi

  if [[ $S3_ENDPOINT == *://*@* ]]; then
    # user:password@host would put a credential in every log line that names the endpoint.
    config__err "S3_ENDPOINT must not contain user information (user:password@): use S3_ACCESS_KEY and S3_SECRET_KEY$(config__origin S3_ENDPOINT)"
    bad=1
  elif [[ -n $S3_ENDPOINT && ! $S3_ENDPOINT =~ ^https?://[^/[:space:]]+/?$ ]]; then
    config__err "S3_ENDPOINT must look like http(s)://host[:port]: got $S3_ENDPOINT$(config__origin S3_ENDPOINT)"
    bad=1
  fi
  if [[ ! $S3_REGION =~ ^[a-z0-9-]+$ ]]; then
    config__err "S3_REGION must be a region name such as us-east-1 or auto: got '${S3_REGION}'$(config__origin S3_REGION)"
    bad=1
  fi

  v=$S3_BUCKET
  if [[ -z $v ]]; then
    config__err "S3_BUCKET is not set: use s3://bucket-name, file:///path/to/folder or a folder path"
    bad=1
  elif [[ $v == s3://* ]]; then
    v=${v#s3://}
    v=${v%/}
    if [[ ! $v =~ ^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$ ]]; then
      config__err "S3_BUCKET must be s3://bucket-name (3-63 of a-z 0-9 . -, no key path): got $S3_BUCKET$(config__origin S3_BUCKET)"
      bad=1
    else
      S3_BUCKET="s3://$v"
      if [[ -z $S3_ACCESS_KEY || -z $S3_SECRET_KEY ]]; then
        config__err "missing credentials for $S3_BUCKET: set S3_ACCESS_KEY and S3_SECRET_KEY (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
        bad=1
      fi
    fi
  elif [[ $v == *://* && $v != file://* ]]; then
    config__err "S3_BUCKET must be s3://bucket-name, file:///path or a folder path: got $S3_BUCKET$(config__origin S3_BUCKET)"
    bad=1
  else
    if [[ $v == file://* ]]; then
      path=${v#file://}
      if [[ $path != /* ]]; then
        config__err "S3_BUCKET file:// URL must have an absolute path (file:///path): got $S3_BUCKET"
        bad=1
        path=""
      fi
    else
      path=$v
    fi
    if [[ -n $path ]]; then
      if [[ ! -d $path ]]; then
        config__err "S3_BUCKET folder does not exist: $path$(config__origin S3_BUCKET)"
        bad=1
      else
        path=$(cd "$path" && pwd -P)
        S3_BUCKET="file://$path"
      fi
    fi
  fi
  ((bad == 0)) || return 2
  return 0
}

config_is_local() { [[ $S3_BUCKET == file://* ]]; }

# The private folder of the default lock files: /run/lock/gst-heatmap as root, else
# $XDG_RUNTIME_DIR/gst-heatmap, else ~/.cache/gst-heatmap. Created 0700; refused (return 2, one
# line) when it is a symlink, someone else's, or open to others, since anyone who can write
# there can squat or redirect the lock.
config__lock_dir() {
  local base dir uid
  uid=$(id -u)
  if ((uid == 0)); then
    base=/run/lock
  elif [[ ${XDG_RUNTIME_DIR-} == /* && -d $XDG_RUNTIME_DIR && ! -L $XDG_RUNTIME_DIR && -O $XDG_RUNTIME_DIR ]]; then
    base=$XDG_RUNTIME_DIR
  elif [[ ${HOME-} == /* && -d $HOME ]]; then
    base=$HOME/.cache
    mkdir -p -- "$base" 2>/dev/null || true
  else
    config__err "config: no folder for the lock file (HOME is not set): set LOCK_FILE"
    return 2
  fi
  dir=$base/gst-heatmap
  mkdir -m 700 -- "$dir" 2>/dev/null || true
  if [[ -L $dir || ! -d $dir || ! -O $dir ]]; then
    config__err "config: the lock folder $dir is not a folder of user $uid (symlink or someone else's): remove it or set LOCK_FILE"
    return 2
  fi
  if [[ $(stat -c %a -- "$dir") != 700 ]] && ! chmod 700 -- "$dir"; then
    config__err "config: cannot make the lock folder $dir private (chmod 700)"
    return 2
  fi
  printf '%s\n' "$dir"
}

config_lock_file() {
  local id dir
  if [[ -n $LOCK_FILE ]]; then
    printf '%s\n' "$LOCK_FILE"
    return
  fi
  dir=$(config__lock_dir) || return 2
  id=$(printf '%s' "$S3_BUCKET" | cksum | cut -d' ' -f1)
  printf '%s\n' "$dir/heatmap-batch-$id.lock"
}

config_lock_acquire() {
  local tool=$1 file fd opened named uid
  file=$(config_lock_file) || return 2
  uid=$(id -u)
  if [[ -L $file ]]; then
    config__err "$tool: the lock file $file is a symbolic link; not following it (remove it or set LOCK_FILE)"
    return 2
  fi
  if [[ -e $file && ! -f $file ]]; then
    config__err "$tool: the lock file $file is not a regular file"
    return 2
  fi
  if ! { exec {fd}>>"$file"; } 2>/dev/null; then
    config__err "$tool: cannot open the lock file $file"
    return 2
  fi
  # bash cannot open with O_NOFOLLOW: check after the fact that what was opened is the file
  # at that name itself (lstat), not something a symlink swapped in meanwhile pointed to.
  opened=$(stat -L -c '%d:%i:%u' "/proc/self/fd/$fd" 2>/dev/null || true)
  named=$(stat -c '%d:%i:%u' -- "$file" 2>/dev/null || true)
  if [[ -z $opened || $opened != "$named" ]]; then
    exec {fd}>&-
    config__err "$tool: the lock file $file changed while it was opened (symlink race?); not using it"
    return 2
  fi
  if [[ ${opened##*:} != "$uid" && ${opened##*:} != 0 ]]; then
    exec {fd}>&-
    config__err "$tool: the lock file $file belongs to user ${opened##*:}, who could hold it forever: remove it or set LOCK_FILE"
    return 2
  fi
  if ! flock -n "$fd"; then
    exec {fd}>&-
    config__err "$tool: another run on $S3_BUCKET is in progress (lock $file held); exiting with status $CONFIG_EXIT_LOCKED"
    return "$CONFIG_EXIT_LOCKED"
  fi
  # shellcheck disable=SC2034  # for the caller (the lock lives as long as this descriptor)
  CONFIG_LOCK_FD=$fd
}

config_print() {
  local name
  for name in "${CONFIG_VARS[@]}"; do
    if [[ -v "CONFIG_SECRETS[$name]" && -n ${!name} ]]; then
      printf '%s=(set, hidden)\n' "$name"
    else
      printf '%s=%s\n' "$name" "${!name}"
    fi
  done
}
