// s3-migrate.cpp: flat-to-dated bucket migration: parsing, mapping, planning and the executor.
#include "s3-migrate.h"

#include <glib.h>
#include <glib/gstdio.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <unordered_map>
#include <unordered_set>

namespace s3::migrate {
namespace {

constexpr std::string_view kClipPrefix = "clip_";
constexpr std::string_view kHeatmapSuffix = "_heatmap";
// "YYYY-MM-DD_HH-MM-SS"
constexpr std::size_t kStampLength = 19;

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_alnum(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// Reads exactly `width` ASCII digits (no sign, no spaces).
std::optional<int> read_number(std::string_view text, std::size_t pos, std::size_t width) {
  if (pos + width > text.size()) {
    return std::nullopt;
  }
  int value = 0;
  for (std::size_t i = pos; i < pos + width; ++i) {
    if (!is_digit(text[i])) {
      return std::nullopt;
    }
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

bool is_leap_year(int year) {
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int days_in_month(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && is_leap_year(year) ? 29 : kDays[month - 1];
}

std::optional<ClipTime> parse_stamp(std::string_view s) {
  if (s.size() != kStampLength || s[4] != '-' || s[7] != '-' || s[10] != '_' || s[13] != '-' ||
      s[16] != '-') {
    return std::nullopt;
  }
  auto year = read_number(s, 0, 4), month = read_number(s, 5, 2), day = read_number(s, 8, 2);
  auto hour = read_number(s, 11, 2), minute = read_number(s, 14, 2), second = read_number(s, 17, 2);
  if (!year || !month || !day || !hour || !minute || !second) {
    return std::nullopt;
  }
  if (*year < 1000 || *month < 1 || *month > 12 || *day < 1 ||
      *day > days_in_month(*year, *month) || *hour > 23 || *minute > 59 || *second > 59) {
    return std::nullopt;
  }
  return ClipTime{*year, *month, *day, *hour, *minute, *second};
}

// ".mp4", ".tar.gz": dot-separated non-empty runs of ASCII letters and digits.
bool is_extension(std::string_view ext) {
  if (ext.size() < 2 || ext[0] != '.') {
    return false;
  }
  bool run_empty = true;
  for (std::size_t i = 1; i < ext.size(); ++i) {
    if (ext[i] == '.') {
      if (run_empty) {
        return false;
      }
      run_empty = true;
    } else if (is_alnum(ext[i])) {
      run_empty = false;
    } else {
      return false;
    }
  }
  return !run_empty;
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

std::vector<std::string_view> split_slashes(std::string_view text) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (;;) {
    std::size_t slash = text.find('/', start);
    if (slash == std::string_view::npos) {
      parts.push_back(text.substr(start));
      return parts;
    }
    parts.push_back(text.substr(start, slash - start));
    start = slash + 1;
  }
}

// A plain S3 ETag is the hex MD5 of the content; only two of those prove equal bytes. Multipart
// ETags ("<md5 of md5s>-N") depend on the part sizes, other forms on the server.
bool is_plain_md5_etag(const std::string &etag) {
  if (etag.size() != 32) {
    return false;
  }
  for (char c : etag) {
    if (!is_digit(c) && !((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

// Failures after which every further request would fail the same way.
bool is_fatal(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kNoSuchBucket:
    case ErrorKind::kSignatureMismatch:
    case ErrorKind::kClockSkew:
    case ErrorKind::kUnreachable:
    case ErrorKind::kCancelled:
      return true;
    default:
      return false;
  }
}

std::optional<ObjectInfo> head_if_exists(Bucket &bucket, const std::string &key) {
  try {
    return bucket.head(key);
  } catch (const Error &e) {
    if (e.kind() == ErrorKind::kNotFound) {
      return std::nullopt;
    }
    throw;
  }
}

std::string describe(const ObjectInfo &info) {
  return std::to_string(info.size) + " bytes, ETag " + (info.etag.empty() ? "(none)" : info.etag);
}

struct ChecksumFree {
  void operator()(GChecksum *checksum) const { g_checksum_free(checksum); }
};
using ChecksumPtr = std::unique_ptr<GChecksum, ChecksumFree>;

std::string sha256_of(Bucket &bucket, const std::string &key, std::uint64_t *length) {
  ChecksumPtr checksum(g_checksum_new(G_CHECKSUM_SHA256));
  *length = 0;
  bucket.get(key, 0, -1, [&](const char *data, std::size_t size) {
    g_checksum_update(checksum.get(), reinterpret_cast<const guchar *>(data),
                      static_cast<gssize>(size));
    *length += size;
  });
  return g_checksum_get_string(checksum.get());
}

// Creates dest_key from key unless it exists (then returns false: the caller verifies what is
// there). Never overwrites.
bool copy_if_absent(Bucket &bucket, const Item &item, const ObjectInfo &source, CopyMethod method) {
  CopyOptions conditional;
  conditional.if_none_match = true;
  try {
    if (method != CopyMethod::kStream || bucket.url().scheme == Url::Scheme::kFile) {
      bucket.copy(item.key, item.dest_key, conditional);
      return true;
    }
    // A private folder (0700) holds the bytes between the GET and the PUT.
    GError *error = nullptr;
    char *dir = g_dir_make_tmp("gst-heatmap-migrate-XXXXXX", &error);
    if (!dir) {
      std::string message = error->message;
      g_error_free(error);
      throw Error(ErrorKind::kIo, "cannot make a temporary folder for the copy: " + message);
    }
    std::unique_ptr<char, decltype(&g_free)> dir_owner(dir, g_free);
    const std::string path = std::string(dir) + "/object";
    struct Remove {
      const std::string &path;
      const char *dir;
      ~Remove() {
        g_unlink(path.c_str());
        g_rmdir(dir);
      }
    } remove{path, dir};
    bucket.get_to_file(item.key, path);
    PutOptions put;
    put.content_type = source.content_type;
    put.if_none_match = true;
    bucket.put_file(item.dest_key, path, put);
    return true;
  } catch (const Error &e) {
    if (e.kind() == ErrorKind::kPreconditionFailed) {
      return false;
    }
    throw;
  }
}

// Copies (when needed), verifies, and (with cleanup) deletes one flat original. Fills *out as it
// goes so that a copy made before an exception is still reported.
void process_flat(Bucket &bucket, const Item &item, const ApplyOptions &options,
                  CopyMethod *copy_method, ItemResult *out) {
  ItemResult &result = *out;
  // The listing may be minutes old: decide on fresh records of both objects.
  std::optional<ObjectInfo> source = head_if_exists(bucket, item.key);
  if (!source) {
    result.message = "the original " + item.key + " is gone since the listing (another run?)";
    return;
  }
  std::optional<ObjectInfo> dest = head_if_exists(bucket, item.dest_key);
  if (!dest) {
    // Conditional: a destination written since the HEAD makes the copy fail with 412, and is
    // then verified (or reported as a conflict) like one that was there from the start.
    if (*copy_method == CopyMethod::kAuto) {
      *copy_method = probe_copy_method(bucket, item.key.substr(0, item.key.rfind('/') + 1));
    }
    result.copied = copy_if_absent(bucket, item, *source, *copy_method);
    dest = head_if_exists(bucket, item.dest_key);
    if (!dest) {
      result.message = "the copy " + item.dest_key + " does not exist after the copy succeeded";
      return;
    }
  }

  // A file:// ETag is a cache in an extended attribute that anyone who can write the folder can
  // forge: before a delete there, only the bytes themselves count (issue 13, defect 6).
  const bool local = bucket.url().scheme == Url::Scheme::kFile;
  const bool hash_before_delete = options.cleanup && local;
  std::string original_digest;  // SHA-256 of the original's bytes, when they were hashed
  std::uint64_t original_length = 0;
  bool same = false;
  Match match = compare_info(*source, *dest);
  if (match == Match::kSame && hash_before_delete) {
    match = Match::kNeedsContent;
  }
  switch (match) {
    case Match::kSame:
      same = true;
      break;
    case Match::kDifferent:
      break;
    case Match::kNeedsContent: {
      std::uint64_t dest_length = 0;
      original_digest = sha256_of(bucket, item.key, &original_length);
      same = original_length == source->size &&
             sha256_of(bucket, item.dest_key, &dest_length) == original_digest &&
             dest_length == original_length;
      result.compared_content = true;
      break;
    }
  }
  if (!same) {
    std::string detail = "original " + describe(*source) + "; destination " + describe(*dest);
    if (result.copied) {
      result.message = "the copy does not match its original (" + detail + "); original kept";
    } else {
      result.status = ItemResult::Status::kConflict;
      result.message = "the destination already exists with different content (" + detail + ")";
    }
    return;
  }
  result.status = ItemResult::Status::kVerified;

  if (options.cleanup) {
    // Last look right before the delete: the bytes removed must be the bytes just verified.
    // On a local folder the size and the (forgeable, cached) ETag cannot tell a same-size
    // rewrite: hash the original again.
    std::optional<ObjectInfo> again = head_if_exists(bucket, item.key);
    bool unchanged = again && again->size == source->size && again->etag == source->etag;
    if (unchanged && local) {
      std::uint64_t length = 0;
      unchanged =
          sha256_of(bucket, item.key, &length) == original_digest && length == original_length;
    }
    if (!unchanged) {
      result.status = ItemResult::Status::kFailed;
      result.message = "the original changed while its copy was verified; not deleted";
      return;
    }
    bucket.remove(item.key);
    result.deleted = true;
  }
}

}  // namespace

std::optional<ClipTime> parse_clip_name(std::string_view name, Area area) {
  if (!starts_with(name, kClipPrefix) || name.size() < kClipPrefix.size() + kStampLength) {
    return std::nullopt;
  }
  std::optional<ClipTime> time = parse_stamp(name.substr(kClipPrefix.size(), kStampLength));
  if (!time) {
    return std::nullopt;
  }
  std::string_view rest = name.substr(kClipPrefix.size() + kStampLength);
  if (area == Area::kHeatmaps) {
    if (!starts_with(rest, kHeatmapSuffix)) {
      return std::nullopt;
    }
    rest.remove_prefix(kHeatmapSuffix.size());
  }
  if (!is_extension(rest)) {
    return std::nullopt;
  }
  return time;
}

const char *copy_method_name(CopyMethod method) {
  switch (method) {
    case CopyMethod::kAuto:
      return "auto";
    case CopyMethod::kServer:
      return "server-side copy with If-None-Match: *";
    case CopyMethod::kStream:
      return "GET then PUT with If-None-Match: * (the server ignores it on CopyObject)";
  }
  return "?";
}

CopyMethod probe_copy_method(Bucket &bucket, const std::string &folder) {
  if (bucket.url().scheme == Url::Scheme::kFile) {
    return CopyMethod::kServer;
  }
  const std::string base = folder + ".gst-heatmap-copy-probe-" + std::to_string(g_random_int()) +
                           std::to_string(g_random_int());
  const std::string a = base + "-a", b = base + "-b";
  CopyMethod method = CopyMethod::kStream;
  try {
    bucket.put_data(a, "a");
    bucket.put_data(b, "b");
    CopyOptions conditional;
    conditional.if_none_match = true;
    try {
      bucket.copy(a, b, conditional);
    } catch (const Error &e) {
      if (e.kind() != ErrorKind::kPreconditionFailed) {
        throw;
      }
      method = CopyMethod::kServer;
    }
  } catch (const Error &e) {
    if (is_fatal(e.kind())) {
      throw;
    }
  }
  for (const std::string &key : {a, b}) {
    try {
      bucket.remove(key);
    } catch (const Error &) {
      // A probe object left behind is harmless (not a clip name: never migrated or processed).
    }
  }
  return method;
}

std::string dated_folder(const ClipTime &t) {
  char folder[32];
  std::snprintf(folder, sizeof folder, "%04d/%02d/%02d/%02d/", t.year, t.month, t.day, t.hour);
  return folder;
}

Layout Layout::normalized() const {
  Layout layout = *this;
  for (std::string *prefix : {&layout.videos_prefix, &layout.heatmaps_prefix}) {
    if (!prefix->empty() && prefix->back() != '/') {
      prefix->push_back('/');
    }
  }
  const std::string &v = layout.videos_prefix, &h = layout.heatmaps_prefix;
  if (v == h) {
    throw Error(ErrorKind::kInvalidArgument,
                "the videos and heatmaps prefixes are the same folder ('" + v +
                    "'); heatmaps need their own folder, e.g. heatmaps/");
  }
  const std::string &outer = v.size() < h.size() ? v : h, &inner = v.size() < h.size() ? h : v;
  if (starts_with(inner, outer) && is_digit(inner[outer.size()])) {
    throw Error(ErrorKind::kInvalidArgument, "the prefix '" + inner +
                                                 "' lies where the dated folders of '" + outer +
                                                 "' go (YYYY/...); use separate folders");
  }
  return layout;
}

KeyClass classify_key(std::string_view key, std::string_view area_prefix, Area area) {
  KeyClass result;
  if (!starts_with(key, area_prefix)) {
    result.reason = "outside the prefix";
    return result;
  }
  std::string_view rest = key.substr(area_prefix.size());
  std::vector<std::string_view> parts = split_slashes(rest);
  std::string_view name = parts.back();
  std::optional<ClipTime> time = parse_clip_name(name, area);
  if (!time) {
    result.reason = name.empty() ? "a folder marker, not a clip"
                    : area == Area::kVideos
                        ? "not a clip name, clip_YYYY-MM-DD_HH-MM-SS.EXT"
                        : "not a heatmap name, clip_YYYY-MM-DD_HH-MM-SS_heatmap.EXT";
    return result;
  }
  std::string dated = std::string(area_prefix) + dated_folder(*time) + std::string(name);
  if (parts.size() == 1) {
    result.kind = KeyClass::Kind::kFlat;
    result.dated_key = std::move(dated);
  } else if (key == dated) {
    result.kind = KeyClass::Kind::kDated;
    result.dated_key = std::move(dated);
  } else {
    // Moving it would drop its folders and could collide with a flat clip of the same name.
    result.reason =
        "in a folder that is neither the flat nor the dated layout (expected " + dated + ")";
  }
  return result;
}

const char *action_name(Action action) {
  switch (action) {
    case Action::kCopy:
      return "copy";
    case Action::kCopied:
      return "copied";
    case Action::kCheck:
      return "check";
    case Action::kConflict:
      return "conflict";
    case Action::kDated:
      return "dated";
    case Action::kLeftAlone:
      return "left alone";
  }
  return "?";
}

std::size_t Plan::count(Action action) const {
  std::size_t n = 0;
  for (const Item &item : items) {
    n += item.action == action ? 1 : 0;
  }
  return n;
}

Match compare_info(const ObjectInfo &a, const ObjectInfo &b) {
  if (a.size != b.size) {
    return Match::kDifferent;
  }
  if (is_plain_md5_etag(a.etag) && is_plain_md5_etag(b.etag) &&
      g_ascii_strcasecmp(a.etag.c_str(), b.etag.c_str()) == 0) {
    return Match::kSame;
  }
  // Multipart ETags, other forms (SSE-KMS, local backends) or differing ETags over the same size
  // (encryption makes ETags differ for equal bytes): only the bytes can tell.
  return Match::kNeedsContent;
}

bool same_content(Bucket &bucket, const std::string &key_a, const std::string &key_b) {
  std::uint64_t length_a = 0, length_b = 0;
  std::string digest_a = sha256_of(bucket, key_a, &length_a);
  std::string digest_b = sha256_of(bucket, key_b, &length_b);
  return length_a == length_b && digest_a == digest_b;
}

Plan make_plan(const Layout &layout, const std::vector<ObjectInfo> &video_objects,
               const std::vector<ObjectInfo> &heatmap_objects) {
  Plan plan;
  // A prefix nested in the other one belongs to its own area only.
  auto nested_in = [](const std::string &outer, const std::string &inner) {
    return inner.size() > outer.size() && starts_with(inner, outer) ? inner : std::string();
  };
  auto add_area = [&](const std::vector<ObjectInfo> &objects, const std::string &prefix, Area area,
                      const std::string &exclude) {
    std::vector<const ObjectInfo *> sorted;
    sorted.reserve(objects.size());
    std::unordered_map<std::string, const ObjectInfo *> by_key;
    for (const ObjectInfo &object : objects) {
      sorted.push_back(&object);
      by_key.emplace(object.key, &object);
    }
    std::sort(sorted.begin(), sorted.end(),
              [](const ObjectInfo *a, const ObjectInfo *b) { return a->key < b->key; });

    // Destinations of flat clips are reported with their original, not again as "dated".
    std::unordered_set<std::string> destinations;
    std::vector<Item> items;
    for (const ObjectInfo *object : sorted) {
      if (!starts_with(object->key, prefix) ||
          (!exclude.empty() && starts_with(object->key, exclude)) ||
          !starts_with(std::string_view(object->key).substr(prefix.size()), layout.name_prefix)) {
        continue;
      }
      KeyClass kc = classify_key(object->key, prefix, area);
      Item item;
      item.area = area;
      item.key = object->key;
      item.source = *object;
      switch (kc.kind) {
        case KeyClass::Kind::kLeftAlone:
          item.action = Action::kLeftAlone;
          item.reason = kc.reason;
          break;
        case KeyClass::Kind::kDated:
          item.action = Action::kDated;
          break;
        case KeyClass::Kind::kFlat: {
          item.dest_key = kc.dated_key;
          destinations.insert(item.dest_key);
          auto existing = by_key.find(item.dest_key);
          if (existing == by_key.end()) {
            item.action = Action::kCopy;
            break;
          }
          item.dest = *existing->second;
          switch (compare_info(item.source, item.dest)) {
            case Match::kSame:
              item.action = Action::kCopied;
              break;
            case Match::kNeedsContent:
              item.action = Action::kCheck;
              break;
            case Match::kDifferent:
              item.action = Action::kConflict;
              item.reason = "the destination already exists with different content (original " +
                            describe(item.source) + "; destination " + describe(item.dest) + ")";
              break;
          }
          break;
        }
      }
      items.push_back(std::move(item));
    }
    for (Item &item : items) {
      if (item.action == Action::kDated && destinations.count(item.key) != 0) {
        continue;
      }
      plan.items.push_back(std::move(item));
    }
  };
  add_area(video_objects, layout.videos_prefix, Area::kVideos,
           nested_in(layout.videos_prefix, layout.heatmaps_prefix));
  add_area(heatmap_objects, layout.heatmaps_prefix, Area::kHeatmaps,
           nested_in(layout.heatmaps_prefix, layout.videos_prefix));
  return plan;
}

Plan plan_bucket(Bucket &bucket, const Layout &layout) {
  std::vector<ObjectInfo> videos, heatmaps;
  // The whole area is listed even with a name prefix: destinations live in the dated folders.
  bucket.list_all(layout.videos_prefix, "", &videos);
  bucket.list_all(layout.heatmaps_prefix, "", &heatmaps);
  return make_plan(layout, videos, heatmaps);
}

Summary summarize_plan(const Plan &plan) {
  Summary summary;
  summary.verified = plan.count(Action::kCopied);
  summary.skipped = plan.count(Action::kDated);
  summary.left_alone = plan.count(Action::kLeftAlone);
  summary.conflicts = plan.count(Action::kConflict);
  return summary;
}

Summary apply_plan(Bucket &bucket, const Plan &plan, const ApplyOptions &options,
                   const Progress &progress) {
  Summary summary;
  std::size_t total = 0;
  for (const Item &item : plan.items) {
    switch (item.action) {
      case Action::kCopy:
      case Action::kCopied:
      case Action::kCheck:
      case Action::kConflict:
        ++total;
        break;
      case Action::kDated:
        ++summary.skipped;
        break;
      case Action::kLeftAlone:
        ++summary.left_alone;
        break;
    }
  }

  summary.copy_method = options.copy_method;
  std::size_t index = 0;
  for (const Item &item : plan.items) {
    if (item.action == Action::kDated || item.action == Action::kLeftAlone) {
      continue;
    }
    ItemResult result;
    if (item.dest_key.empty() || item.dest_key == item.key) {
      result.message = "internal error: no distinct destination for " + item.key;
    } else if (item.action == Action::kConflict) {
      result.status = ItemResult::Status::kConflict;
      result.message = item.reason;
    } else {
      try {
        process_flat(bucket, item, options, &summary.copy_method, &result);
      } catch (const Error &e) {
        if (is_fatal(e.kind())) {
          summary.aborted = e.what();
          return summary;
        }
        // A copy made before the failure still counts (its HEAD or delete failed).
        result.status = ItemResult::Status::kFailed;
        result.message = e.what();
      }
    }
    summary.copied += result.copied ? 1 : 0;
    summary.deleted += result.deleted ? 1 : 0;
    switch (result.status) {
      case ItemResult::Status::kVerified:
        ++summary.verified;
        break;
      case ItemResult::Status::kConflict:
        ++summary.conflicts;
        break;
      case ItemResult::Status::kFailed:
        ++summary.failed;
        break;
    }
    if (progress) {
      progress(item, index, total, result);
    }
    ++index;
  }
  return summary;
}

}  // namespace s3::migrate
