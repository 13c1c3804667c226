// s3-migrate.h: flat-to-dated bucket migration (clip names, key mapping, plan,
// copy/verify/cleanup).
#pragma once

// The migration moves `raw_videos/clip_2025-10-20_13-57-04.mp4` to
// `raw_videos/2025/10/20/13/clip_2025-10-20_13-57-04.mp4` (and heatmaps likewise). Buckets may
// hold the only copy of the footage, so the executor follows one rule: an original is deleted
// only right after its destination was verified to hold the same bytes (HEAD size and ETag, or
// a full content comparison when ETags cannot prove it), and nothing else is ever deleted or
// overwritten. Every step is restartable: a rerun re-plans from a fresh listing.

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "s3-client.h"

namespace s3::migrate {

// Which naming scheme a prefix holds.
enum class Area {
  kVideos,    // clip_YYYY-MM-DD_HH-MM-SS.EXT
  kHeatmaps,  // clip_YYYY-MM-DD_HH-MM-SS_heatmap.EXT
};

struct ClipTime {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
};

// Parses a file name (no folder). EXT is one or more dot-separated ASCII letter/digit runs
// (".mp4", ".MKV", ".tar.gz"); "clip_" and "_heatmap" are lower case. The date and time must be
// real: year 1000-9999, month 1-12, day within the month (leap years), hour 0-23, minute and
// second 0-59. Anything else is not a clip name (nullopt).
std::optional<ClipTime> parse_clip_name(std::string_view name, Area area);

// "YYYY/MM/DD/HH/" for t.
std::string dated_folder(const ClipTime &t);

// Where the two areas live. Prefixes get a trailing '/' added when missing.
struct Layout {
  std::string videos_prefix = "raw_videos/";
  std::string heatmaps_prefix = "heatmaps/";
  // Only keys whose part after the area prefix starts with this ("clip_2025-10-" migrates
  // October 2025); empty = everything.
  std::string name_prefix;

  // Adds the trailing slashes. One prefix may contain the other (videos "" and heatmaps
  // "heatmaps/": the outer area then skips the inner one). Throws Error(kInvalidArgument) when
  // they are the same folder, or when the inner one could hold the outer one's dated folders
  // (it starts with a digit after the outer prefix, e.g. "media/" and "media/2025/").
  Layout normalized() const;
};

// What a single key is, from its name alone.
struct KeyClass {
  enum class Kind {
    kFlat,       // a clip directly under the area prefix: migrate to dated_key
    kDated,      // already at its dated key
    kLeftAlone,  // anything else: never touched
  };
  Kind kind = Kind::kLeftAlone;
  std::string dated_key;  // kFlat: the destination; kDated: the key itself
  std::string reason;     // kLeftAlone: why, for the user
};
KeyClass classify_key(std::string_view key, std::string_view area_prefix, Area area);

// What the plan says about one key.
enum class Action {
  kCopy,       // flat, destination absent: copy, verify, (cleanup) delete original
  kCopied,     // flat, destination listed with the same size and plain ETag: verify, (cleanup)
  kCheck,      // flat, destination listed with the same size but ETags that cannot prove the
               // content (multipart, other form, different): compare contents when applying
  kConflict,   // flat, destination listed with a different size: touch nothing
  kDated,      // already dated: skipped
  kLeftAlone,  // not a clip name or not in either layout: untouched
};
const char *action_name(Action action);

struct Item {
  Action action = Action::kLeftAlone;
  Area area = Area::kVideos;
  std::string key;       // the listed key (the original, for flat items)
  std::string dest_key;  // flat items only
  ObjectInfo source;     // as listed
  ObjectInfo dest;       // as listed (kCopied, kCheck, kConflict)
  std::string reason;    // kLeftAlone, kConflict
};

struct Plan {
  std::vector<Item> items;  // videos first, then heatmaps; key order within each
  std::size_t count(Action action) const;
};

// Builds the plan from the listings of the two prefixes (each complete, in any order).
// `layout` must be normalized.
Plan make_plan(const Layout &layout, const std::vector<ObjectInfo> &video_objects,
               const std::vector<ObjectInfo> &heatmap_objects);

// Lists both prefixes (paginated) and builds the plan.
Plan plan_bucket(Bucket &bucket, const Layout &layout);

// Whether two HEAD/listing records prove equal content.
enum class Match {
  kSame,          // same size and the same plain (MD5) ETag
  kDifferent,     // different sizes
  kNeedsContent,  // same size, but the ETags cannot decide (multipart, other form, differ)
};
Match compare_info(const ObjectInfo &a, const ObjectInfo &b);

// Streams both objects and compares their SHA-256 digests and lengths.
bool same_content(Bucket &bucket, const std::string &key_a, const std::string &key_b);

// How a copy is made create-if-absent, so that a destination written by someone else between
// the HEAD and the copy is never overwritten (issue 13, defect 10).
enum class CopyMethod {
  kAuto,    // file:// and servers that honour it (probe_copy_method): kServer; others: kStream
  kServer,  // one server-side copy with If-None-Match: * (file://: linked into place, atomic)
  kStream,  // GET into a private temporary file, then PUT with If-None-Match: *: the bytes pass
            // through this machine, but RGW and AWS honour If-None-Match on a PUT
};
const char *copy_method_name(CopyMethod method);

// Whether the server honours If-None-Match: * on CopyObject (AWS does; Ceph RGW 16 ignores it
// and overwrites). Writes two small objects "<folder>.gst-heatmap-copy-probe-*" (folder: e.g.
// "raw_videos/", where the flat clips are), copies one onto the other conditionally, and deletes
// both: kServer when the server answered 412, kStream when it copied. file:// buckets: kServer
// without a probe. A probe that cannot write (a policy, a read-only key) answers kStream, the
// choice that never overwrites.
CopyMethod probe_copy_method(Bucket &bucket, const std::string &folder);

struct ApplyOptions {
  bool cleanup = false;  // delete each original right after its copy was verified
  CopyMethod copy_method = CopyMethod::kAuto;  // kAuto: probe_copy_method() before the 1st copy
};

// What happened to one flat item.
struct ItemResult {
  enum class Status {
    kVerified,  // destination verified (copied now or earlier)
    kConflict,  // destination holds other content: nothing changed
    kFailed,    // an operation failed or a fresh copy did not verify: original kept
  };
  Status status = Status::kFailed;
  bool copied = false;            // a copy was made in this run
  bool deleted = false;           // the original was deleted in this run
  bool compared_content = false;  // ETags could not decide: both objects were streamed
  std::string message;            // why, for kConflict/kFailed
};

struct Summary {
  std::size_t copied = 0;      // server-side copies made in this run
  std::size_t verified = 0;    // destinations verified identical to their originals
  std::size_t deleted = 0;     // originals deleted (each right after its verification)
  std::size_t skipped = 0;     // already dated
  std::size_t left_alone = 0;  // not clip names / not in either layout
  std::size_t conflicts = 0;
  std::size_t failed = 0;
  CopyMethod copy_method = CopyMethod::kAuto;  // how copies were made (kAuto: none was needed)
  std::string aborted;  // non-empty: the run stopped early (bad credentials, server gone...)
};

// Called after each flat item: its index among the flat items (0-based), their number, result.
using Progress =
    std::function<void(const Item &, std::size_t index, std::size_t total, const ItemResult &)>;

// Runs the plan. Per-item failures are counted and the run goes on; errors that doom every
// further request (no bucket, bad keys, clock skew, unreachable) stop it (Summary::aborted).
Summary apply_plan(Bucket &bucket, const Plan &plan, const ApplyOptions &options,
                   const Progress &progress = {});

// Dry-run counterpart: the counts a plan implies without touching anything.
Summary summarize_plan(const Plan &plan);

}  // namespace s3::migrate
