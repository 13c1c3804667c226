# shellcheck shell=bash
# test-migrate-lib.sh: shared fixture, bucket snapshots and state checks for the migration tests.
#
# Sourced by test-migrate-s3.sh and test-migrate-local.sh. The checks use their own client
# (python3-botocore for s3://, plain files for file://) and their own name-to-date mapping, so
# they do not share a bug with the C++ code under test.

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source_root=${SOURCE_ROOT:-$here/../..}
build_root=${BUILD_ROOT:-$source_root/build}
migrate_script=$source_root/scripts/migrate-s3-structure
export BUILD_DIR=$build_root

failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}
ok() { echo "ok: $*"; }
expect_eq() { # what expected actual
  if [[ $2 != "$3" ]]; then fail "$1: expected [$2], got [$3]"; else ok "$1"; fi
}
expect_contains() { # what needle haystack
  if [[ $3 != *"$2"* ]]; then fail "$1: expected to contain [$2], got [${3:0:2000}]"; else ok "$1"; fi
}
# Runs a command that must succeed (a failing check prints why and counts as a failure).
expect_ok() { # what command...
  local what=$1
  shift
  if "$@"; then ok "$what"; else fail "$what"; fi
}
finish() {
  if ((failures > 0)); then
    echo "$failures check(s) failed" >&2
    exit 1
  fi
  echo "all checks passed"
}

# Runs the migration script; sets mig_out (stdout+stderr) and mig_status.
# shellcheck disable=SC2034  # read by the sourcing test
run_migration() { # log_file args...
  local log=$1
  shift
  mig_status=0
  "$migrate_script" "$@" >"$log" 2>&1 || mig_status=$?
  mig_out=$(cat "$log")
}

summary_line() { grep '^Summary: ' <<<"$mig_out" || true; }

# A dry run on $S3_BUCKET (fixture $tmp/fx with $n flat names) changes nothing (`what` says what
# the listing snapshot holds) and plans exactly the expected pairs and counts.
# shellcheck disable=SC2154  # tmp and n are set by the sourcing test
check_dry_run() { # what
  mt listing "$S3_BUCKET" >"$tmp/list0"
  run_migration "$tmp/dry.log" --env-file "$tmp/empty.env"
  expect_eq "dry run exits 1 (a conflict exists)" 1 "$mig_status"
  mt listing "$S3_BUCKET" >"$tmp/list1"
  expect_ok "dry run leaves $1" cmp "$tmp/list0" "$tmp/list1"
  grep '^copy ' "$tmp/dry.log" | sed 's/^copy  *//' | sort >"$tmp/plan-pairs"
  mt plan-pairs "$tmp/fx" | sort >"$tmp/want-pairs"
  expect_ok "dry run prints exactly the expected old → new pairs ($n)" cmp "$tmp/want-pairs" "$tmp/plan-pairs"
  expect_contains "plan counts" "Plan: $n to copy, 1 already copied, 0 to compare, 1 conflicts, 10 left alone, 40 already dated" "$mig_out"
}

# The python side: fixture generation, upload, snapshots, expected states.
mt_py=""
mt_setup() { # tmp_dir
  mt_py=$1/mt.py
  cat >"$mt_py" <<'PY'
import concurrent.futures as cf
import hashlib, json, os, random, re, sys
from datetime import datetime, timedelta

def s3_client():
    # botocore alone (Debian's python3-botocore, already a test dependency) is enough.
    import botocore.session
    from botocore.config import Config
    options = dict(s3={"addressing_style": "path"}, signature_version="s3v4",
                   retries={"max_attempts": 5, "mode": "standard"}, max_pool_connections=16)
    try:  # newer botocore adds CRC checksums by default; ask for the plain requests
        cfg = Config(request_checksum_calculation="when_required",
                     response_checksum_validation="when_required", **options)
    except TypeError:  # Debian 12's botocore 1.29 has neither option (nor the behaviour)
        cfg = Config(**options)
    return botocore.session.get_session().create_client("s3", endpoint_url=os.environ["CHECK_ENDPOINT"], region_name="us-east-1",
                        aws_access_key_id=os.environ["S3_ACCESS_KEY"],
                        aws_secret_access_key=os.environ["S3_SECRET_KEY"], config=cfg)

class Store:
    """A bucket as {key: (size, etag, mtime)} plus content digests."""
    def __init__(self, url):
        self.url = url
        if url.startswith("s3://"):
            self.bucket = url[5:]
            self.s3 = s3_client()
        else:
            self.root = url[7:] if url.startswith("file://") else url
            self.s3 = None

    def listing(self):
        out = {}
        if self.s3:
            pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket)
            n = 0
            for page in pages:
                n += 1
                for o in page.get("Contents", []):
                    out[o["Key"]] = (o["Size"], o["ETag"].strip('"'), o["LastModified"].isoformat())
            self.pages = n
        else:
            for d, _, files in os.walk(self.root):
                for f in files:
                    if f.startswith(".s3tmp-"):
                        # The local backend's partial write, cut by a SIGKILL: never a key (the
                        # backend hides these from listings), just litter.
                        print(f"  note: leftover temporary file {os.path.join(d, f)}", file=sys.stderr)
                        continue
                    p = os.path.join(d, f)
                    st = os.stat(p)
                    out[os.path.relpath(p, self.root)] = (st.st_size, st.st_ino, st.st_mtime_ns)
        return out

    def read(self, key):
        if self.s3:
            return self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        with open(os.path.join(self.root, key), "rb") as f:
            return f.read()

    def digests(self):
        keys = sorted(self.listing())
        with cf.ThreadPoolExecutor(8) as ex:
            sums = list(ex.map(lambda k: hashlib.sha256(self.read(k)).hexdigest(), keys))
        return dict(zip(keys, sums))

def dated(prefix, name):
    # Independent of the C++ parser: a regex and datetime's own calendar.
    m = re.fullmatch(r"clip_(\d{4})-(\d{2})-(\d{2})_(\d{2})-(\d{2})-(\d{2})(_heatmap)?(\.[A-Za-z0-9]+)+", name)
    t = datetime(*map(int, m.groups()[:6]))
    return f"{prefix}{t:%Y/%m/%d/%H}/{name}"

def gen(out_dir, n_videos, n_heatmaps, seed):
    rng = random.Random(seed)
    tree, entries = {}, []
    def add(key, kind, dest=None, data=None):
        if data is None:
            data = rng.randbytes(rng.randint(40, 3000))
        tree[key] = data
        entries.append({"key": key, "kind": kind, "dest": dest})
    base = datetime(2024, 1, 1)
    stamps = sorted(rng.sample(range(0, 2 * 365 * 24 * 3600, 7), n_videos + 60))
    times = [base + timedelta(seconds=s) for s in stamps]
    exts = ["mp4", "mkv", "MOV", "avi", "ts", "mp4"]
    names = [f"clip_{t:%Y-%m-%d_%H-%M-%S}" for t in times]
    for i in range(n_videos):
        name = f"{names[i]}.{exts[i % len(exts)]}"
        add(f"raw_videos/{name}", "migrate", dated("raw_videos/", name))
    for i in range(n_heatmaps):
        name = f"{names[i]}_heatmap.{'png' if i % 5 == 0 else 'jpg'}"
        add(f"heatmaps/{name}", "migrate", dated("heatmaps/", name))
    for i in range(n_videos, n_videos + 20):
        add(dated("raw_videos/", f"{names[i]}.mp4"), "dated")
        add(dated("heatmaps/", f"{names[i]}_heatmap.jpg"), "dated")
    # Copied by an earlier, interrupted run: same bytes at the destination.
    name = f"{names[n_videos + 30]}.mp4"
    data = rng.randbytes(777)
    add(f"raw_videos/{name}", "copied", dated("raw_videos/", name), data)
    add(dated("raw_videos/", name), "dest", None, data)
    # A destination that holds something else.
    name = f"{names[n_videos + 31]}.mp4"
    add(f"raw_videos/{name}", "conflict", dated("raw_videos/", name), rng.randbytes(500))
    add(dated("raw_videos/", name), "dest", None, rng.randbytes(501))
    for key in ["raw_videos/notes.txt", "raw_videos/CLIP_2025-10-20_13-57-04.mp4",
                "raw_videos/clip_2025-02-30_10-00-00.mp4", "raw_videos/clip_2025-10-20_24-00-00.mp4",
                "raw_videos/cam1/clip_2025-10-20_13-57-04.mp4",
                "raw_videos/2025/10/20/14/clip_2025-10-20_13-57-04.mp4",
                "raw_videos/clip_2025-10-20_13-57-04", "raw_videos/clip_2025-10-20_13-57-04_heatmap.jpg",
                "raw_videos/old clip 1.mp4", "heatmaps/clip_2025-10-20_13-57-04.mp4"]:
        add(key, "alone")
    add("other/clip_2025-10-20_13-57-04.mp4", "outside")
    os.makedirs(out_dir, exist_ok=True)
    for key, data in tree.items():
        p = os.path.join(out_dir, "tree", key)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
    sums = {k: hashlib.sha256(v).hexdigest() for k, v in tree.items()}
    for e in entries:
        e["sha"] = sums[e["key"]]
    # The order the tool works in: videos, then heatmaps, each by key (byte order).
    flat = [e for e in entries if e["kind"] in ("migrate", "copied", "conflict")]
    flat.sort(key=lambda e: (0 if e["key"].startswith("raw_videos/") else 1, e["key"].encode()))
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump({"entries": entries, "order": [e["key"] for e in flat]}, f)

def load(dir_):
    with open(os.path.join(dir_, "manifest.json")) as f:
        return json.load(f)

def expected(man, state):
    want = {e["key"]: e["sha"] for e in man["entries"]}
    if state in ("applied", "cleaned"):
        for e in man["entries"]:
            if e["kind"] == "migrate":
                want[e["dest"]] = e["sha"]
    if state == "cleaned":
        for e in man["entries"]:
            if e["kind"] in ("migrate", "copied"):
                del want[e["key"]]
    return want

def check(dir_, url, state, must_keep):
    man = load(dir_)
    got = Store(url).digests()
    problems = []
    if state == "safe":
        # After a fault or a kill: nothing lost, nothing corrupted, nothing foreign, and every
        # key that is not a flat original exactly as it was.
        allowed = set()
        for e in man["entries"]:
            allowed.add(e["key"])
            if e["kind"] in ("migrate", "copied"):
                src, dst = e["key"], e["dest"]
                allowed.add(dst)
                if got.get(dst) not in (None, e["sha"]):
                    problems.append(f"corrupt copy {dst}")
                if src not in got and got.get(dst) != e["sha"]:
                    problems.append(f"LOST {src}: original deleted without a verified copy")
                if src in got and got[src] != e["sha"]:
                    problems.append(f"original changed {src}")
            elif got.get(e["key"]) != e["sha"]:
                problems.append(f"{e['kind']} key changed or missing: {e['key']}")
        for k in got:
            if k not in allowed:
                problems.append(f"unexpected key {k}")
    else:
        want = expected(man, state)
        for k in sorted(set(want) | set(got)):
            if want.get(k) != got.get(k):
                problems.append(f"{k}: expected {want.get(k, 'absent')}, found {got.get(k, 'absent')}")
    for k in must_keep:
        e = next(e for e in man["entries"] if e["key"] == k)
        if got.get(k) != e["sha"]:
            problems.append(f"{k} must still hold its original bytes")
    for p in problems[:20]:
        print("  " + p, file=sys.stderr)
    if problems:
        print(f"  {len(problems)} problem(s) in state '{state}' of {url}", file=sys.stderr)
        sys.exit(1)

def kill_after(lines, log, cmd):
    """Runs cmd with its output through a 4 kB pipe and SIGKILLs it once `lines` progress lines
    (those starting with "[") have come out. Unlike polling a log file, this cannot miss the
    moment on a loaded machine: a command that runs ahead blocks on the full pipe."""
    import fcntl, signal, subprocess
    r, w = os.pipe()
    try:
        fcntl.fcntl(w, getattr(fcntl, "F_SETPIPE_SZ", 1031), 4096)
    except OSError:
        pass  # the default 64 kB still holds far fewer than the items left
    proc = subprocess.Popen(cmd, stdout=w, stderr=w)
    os.close(w)
    seen, rest = 0, b""
    with open(log, "wb") as out:
        while True:
            chunk = os.read(r, 512)
            if not chunk:
                break
            rest += chunk
            *whole, rest = rest.split(b"\n")
            for line in whole:
                out.write(line + b"\n")
                if line.startswith(b"[") and seen < lines:
                    seen += 1
                    if seen == lines:
                        proc.send_signal(signal.SIGKILL)
        out.write(rest)
    os.close(r)
    proc.wait()

def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "kill-after":  # LINES LOG COMMAND...
        kill_after(int(args[0]), args[1], args[2:])
        return
    if cmd == "gen":
        gen(args[0], int(args[1]), int(args[2]), int(args[3]))
    elif cmd == "upload":
        tree = os.path.join(args[0], "tree")
        st = Store(args[1])
        keys = [os.path.relpath(os.path.join(d, f), tree) for d, _, fs in os.walk(tree) for f in fs]
        def put(k):
            with open(os.path.join(tree, k), "rb") as f:
                st.s3.put_object(Bucket=st.bucket, Key=k, Body=f.read())
        with cf.ThreadPoolExecutor(8) as ex:
            list(ex.map(put, keys))
        if len(args) > 2:  # this key again as a real multipart upload (two parts)
            k = args[2]
            data = st.read(k)
            body = data * (5 * 1024 * 1024 // len(data) + 2)
            mpu = st.s3.create_multipart_upload(Bucket=st.bucket, Key=k)
            parts = []
            for n, chunk in enumerate([body[:5 * 1024 * 1024], body[5 * 1024 * 1024:]], 1):
                r = st.s3.upload_part(Bucket=st.bucket, Key=k, UploadId=mpu["UploadId"],
                                      PartNumber=n, Body=chunk)
                parts.append({"PartNumber": n, "ETag": r["ETag"]})
            st.s3.complete_multipart_upload(Bucket=st.bucket, Key=k, UploadId=mpu["UploadId"],
                                            MultipartUpload={"Parts": parts})
            man = load(args[0])
            for e in man["entries"]:
                if e["key"] == k:
                    e["sha"] = hashlib.sha256(body).hexdigest()
            with open(os.path.join(args[0], "manifest.json"), "w") as f:
                json.dump(man, f)
            print("multipart ETag:", st.s3.head_object(Bucket=st.bucket, Key=k)["ETag"])
    elif cmd == "listing":
        st = Store(args[0])
        lst = st.listing()
        for k in sorted(lst):
            print(k, *lst[k], sep="\t")
        if st.s3:
            print(f"# {st.pages} pages", file=sys.stderr)
    elif cmd == "check":
        check(args[0], args[1], args[2], args[3:])
    elif cmd == "plan-pairs":  # the old -> new pairs the tool must print, sorted
        for e in load(args[0])["entries"]:
            if e["kind"] == "migrate":
                print(f"{e['key']} \u2192 {e['dest']}")
    elif cmd == "keys":  # keys of one kind, in the tool's order when flat
        man = load(args[0])
        kinds = {e["key"]: e["kind"] for e in man["entries"]}
        src = man["order"] if args[1] in ("migrate", "copied", "conflict") else [e["key"] for e in man["entries"]]
        for k in src:
            if kinds[k] == args[1]:
                print(k)
    elif cmd == "dest":
        print(next(e["dest"] for e in load(args[0])["entries"] if e["key"] == args[1]))
    elif cmd == "count":
        print(sum(1 for e in load(args[0])["entries"] if e["kind"] == args[1]))
    else:
        sys.exit(f"unknown command {cmd}")

main()
PY
}
# Debian's interpreter: python3-botocore comes from scripts/install-deps, whatever python3 is on PATH.
mt() { /usr/bin/python3 "$mt_py" "$@"; }
