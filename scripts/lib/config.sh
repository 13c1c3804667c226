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
#                                  every tool that writes to the bucket (after config_validate)
#   config_print                   the effective settings, secrets masked (for --verbose)
# Flags are applied by the caller after config_load, so they beat everything else.
# Variables set in the shell (normally: the process environment) win over the .env file, even
# when empty. S3_* connection values also accept the AWS_* names (S3_* wins); every S3_* value is
# exported so that s3src-helper and the s3src element see the same settings.

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
config_register JOBS ""
config_register PIPELINE_TIMEOUT "1800"
config_register WORK_DIR ""
config_register LOCK_FILE ""

# Connection variables and their AWS alias (the C++ side reads the same pairs).
declare -gA CONFIG_ALIASES=(
  [S3_ENDPOINT]=AWS_ENDPOINT_URL
  [S3_REGION]=AWS_REGION
  [S3_ACCESS_KEY]=AWS_ACCESS_KEY_ID
  [S3_SECRET_KEY]=AWS_SECRET_ACCESS_KEY
  [S3_SESSION_TOKEN]=AWS_SESSION_TOKEN
)
# Never printed.
declare -gA CONFIG_SECRETS=([S3_SECRET_KEY]=1 [S3_SESSION_TOKEN]=1)

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
      config__why="unexpected text after the closing quote: $rest"
      return 1
    fi
    return 0
  fi
  # Unquoted: a "#" starts a comment only at the start or after a blank (so a#b stays a#b).
  if [[ $raw == '#'* ]]; then
    raw=""
  elif [[ $raw =~ ^(.*[^[:blank:]])?[[:blank:]]+#.*$ ]]; then
    raw=${BASH_REMATCH[1]}
  fi
  raw=${raw%"${raw##*[![:blank:]]}"}
  config__value=$raw
}

# Reads the file into CONFIG_FILE_VALUES. Returns 2 on errors (all reported).
config__parse_file() {
  local file=$1 line lineno=0 status=0 key body
  if [[ ! -f $file || ! -r $file ]]; then
    config__err "config: cannot read env file: $file"
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
      config__err "config: $file:$lineno: expected KEY=value, got: $line"
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
    if [[ ! -v "CONFIG_DEFAULTS[$key]" ]] && ! config__is_alias "$key"; then
      config__err "config: warning: $file:$lineno: unknown setting $key (ignored)"
      continue
    fi
    CONFIG_FILE_VALUES[$key]=$config__value
    CONFIG_FILE_WHERE[$key]="$file:$lineno"
  done <"$file"
  return "$status"
}

config__is_alias() {
  local k
  for k in "${!CONFIG_ALIASES[@]}"; do
    [[ ${CONFIG_ALIASES[$k]} == "$1" ]] && return 0
  done
  return 1
}

config_load() {
  local file=${1-} name alias
  CONFIG_FILE_VALUES=()
  CONFIG_FILE_WHERE=()
  if [[ -n $file ]]; then
    config__parse_file "$file" || return 2
  fi
  for name in "${CONFIG_VARS[@]}"; do
    alias=${CONFIG_ALIASES[$name]-}
    if [[ -v $name ]]; then
      : # already set in the environment (or by the caller): it wins
    elif [[ -n $alias && -v $alias ]]; then
      printf -v "$name" '%s' "${!alias}"
    elif [[ -v "CONFIG_FILE_VALUES[$name]" ]]; then
      printf -v "$name" '%s' "${CONFIG_FILE_VALUES[$name]}"
    elif [[ -n $alias && -v "CONFIG_FILE_VALUES[$alias]" ]]; then
      printf -v "$name" '%s' "${CONFIG_FILE_VALUES[$alias]}"
    else
      printf -v "$name" '%s' "${CONFIG_DEFAULTS[$name]}"
    fi
  done
  # Every S3_* setting is exported: the C++ tools read the connection ones from the environment.
  for name in "${CONFIG_VARS[@]}"; do
    # shellcheck disable=SC2163  # exporting the variable named by $name
    [[ $name == S3_* ]] && export "$name"
  done
  return 0
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

# A decimal number (no sign, no exponent).
config__is_number() { [[ $1 =~ ^([0-9]+(\.[0-9]*)?|\.[0-9]+)$ ]]; }

# awk compares decimals exactly enough for range checks.
config__num_test() { awk -v x="$1" "BEGIN { exit !($2) }"; }

config_validate() {
  local bad=0 name v path
  for name in USE_BACKGROUND CLEANUP_LOCAL_FILES; do
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
  if [[ ! $MAX_VIDEOS_PER_RUN =~ ^[0-9]+$ ]] || ((10#$MAX_VIDEOS_PER_RUN > 1000000)); then
    config__err "MAX_VIDEOS_PER_RUN must be a whole number >= 0 (0 = no limit): got ${MAX_VIDEOS_PER_RUN:-(empty)}$(config__origin MAX_VIDEOS_PER_RUN)"
    bad=1
  else
    MAX_VIDEOS_PER_RUN=$((10#$MAX_VIDEOS_PER_RUN))
  fi
  if [[ -n $JOBS ]] && { [[ ! $JOBS =~ ^[0-9]+$ ]] || ((10#$JOBS < 1 || 10#$JOBS > 256)); }; then
    config__err "JOBS must be a whole number in 1..256 (or empty for the number of cores): got $JOBS$(config__origin JOBS)"
    bad=1
  fi
  if [[ ! $PIPELINE_TIMEOUT =~ ^[0-9]+$ ]] || ((10#$PIPELINE_TIMEOUT < 1)); then
    config__err "PIPELINE_TIMEOUT must be a whole number of seconds >= 1: got ${PIPELINE_TIMEOUT:-(empty)}$(config__origin PIPELINE_TIMEOUT)"
    bad=1
  fi
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

  if [[ -n $S3_ENDPOINT && ! $S3_ENDPOINT =~ ^https?://[^/[:space:]]+/?$ ]]; then
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

config_lock_file() {
  local id
  if [[ -n $LOCK_FILE ]]; then
    printf '%s\n' "$LOCK_FILE"
    return
  fi
  id=$(printf '%s' "$S3_BUCKET" | cksum | cut -d' ' -f1)
  printf '%s\n' "${XDG_RUNTIME_DIR:-/tmp}/heatmap-batch-$id.lock"
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
