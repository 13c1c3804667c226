// rollup.cpp: rollups in a bucket, prefix aggregates and comparisons (I/O around aggregate.h).
#include "rollup.h"

#include <glib.h>
#include <glib/gstdio.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <utility>

#include <opencv2/imgproc.hpp>

#include "heatmap-core.h"

namespace heatmap::aggregate {
namespace {

namespace ru = s3::rollups;
using s3::ObjectInfo;
using Kind = s3::rollups::Kind;

constexpr std::uint64_t kMaxJsonBytes = 32 << 20;
constexpr std::uint64_t kMaxPngBytes = 64 << 20;
constexpr std::int64_t kMaxSceneBytes = 16 << 20;

bool ends_with(const std::string &s, const std::string &suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Bucket calls, counted.
class Io {
 public:
  explicit Io(s3::Bucket &bucket) : bucket_(bucket) {}
  std::vector<ObjectInfo> list(const std::string &prefix) {
    std::vector<ObjectInfo> out;
    pages(prefix, "", &out, nullptr);
    return out;
  }
  // The sub-folders ("prefix" + "name/") directly below prefix: one delimiter listing.
  std::set<std::string> folders(const std::string &prefix) {
    std::vector<std::string> prefixes;
    pages(prefix, "/", nullptr, &prefixes);
    return std::set<std::string>(prefixes.begin(), prefixes.end());
  }
  // The object, refused above `limit` bytes (the listed size when known, else the body).
  std::string get(const std::string &key, std::uint64_t limit, std::uint64_t listed_size = 0) {
    if (listed_size > limit)
      throw InputError(key + ": " + std::to_string(listed_size) + " bytes is too large");
    std::string out;
    ++req.gets;
    bucket_.get(key, 0, -1, [&](const char *d, std::size_t n) {
      if (out.size() + n <= limit + 1)
        out.append(d, n);
    });
    if (out.size() > limit)
      throw InputError(key + ": object is too large");
    return out;
  }
  s3::ObjectInfo put_file(const std::string &key, const std::string &path, const char *type) {
    s3::PutOptions o;
    o.content_type = type;
    ++req.puts;
    return bucket_.put_file(key, path, o);
  }
  s3::ObjectInfo put_data(const std::string &key, const std::string &data, const char *type) {
    s3::PutOptions o;
    o.content_type = type;
    ++req.puts;
    return bucket_.put_data(key, data, o);
  }
  s3::Bucket &bucket() { return bucket_; }
  Requests req;

 private:
  // Every page of a listing, each counted as one request.
  void pages(const std::string &prefix, const std::string &delimiter,
             std::vector<ObjectInfo> *objects, std::vector<std::string> *prefixes) {
    std::string token;
    do {
      s3::ListPage page = bucket_.list_page(prefix, delimiter, token);
      ++req.lists;
      if (objects != nullptr)
        objects->insert(objects->end(), page.objects.begin(), page.objects.end());
      if (prefixes != nullptr)
        prefixes->insert(prefixes->end(), page.common_prefixes.begin(), page.common_prefixes.end());
      token = page.truncated ? page.next_token : "";
    } while (!token.empty());
  }
  s3::Bucket &bucket_;
};

// Errors that doom every further request: rethrown instead of failing one period.
bool fatal(const s3::Error &e) {
  switch (e.kind()) {
    case s3::ErrorKind::kNoSuchBucket:
    case s3::ErrorKind::kSignatureMismatch:
    case s3::ErrorKind::kClockSkew:
    case s3::ErrorKind::kUnreachable:
      return true;
    default:
      return false;
  }
}

struct TempDir {
  std::string path;
  TempDir() {
    gchar *p = g_dir_make_tmp("heatmap-aggregate-XXXXXX", nullptr);
    if (p == nullptr)
      throw InputError("cannot create a temporary folder");
    path = p;
    g_free(p);
  }
  ~TempDir() {
    for (const char *name : {"map.png", "map.jpg"})
      g_remove((path + "/" + name).c_str());
    g_rmdir(path.c_str());
  }
};

std::string read_file(const std::string &path) {
  gchar *data = nullptr;
  gsize len = 0;
  if (!g_file_get_contents(path.c_str(), &data, &len, nullptr))
    throw InputError("cannot read back " + path);
  std::string out(data, len);
  g_free(data);
  return out;
}

// A clip's outputs in one folder, from a listing.
struct ClipFiles {
  std::string stem;  // folder + "clip_..."
  std::optional<ObjectInfo> jpg, png, json, scene;
  bool done() const { return jpg && png && json; }
};

std::map<std::string, ClipFiles> group_clips(const std::vector<ObjectInfo> &objects) {
  static const std::pair<const char *, int> kSuffixes[] = {
      {"_heatmap.jpg", 0}, {"_heatmap.png", 1}, {"_heatmap.json", 2}, {"_scene.jpg", 3}};
  std::map<std::string, ClipFiles> clips;
  for (const ObjectInfo &o : objects) {
    std::size_t slash = o.key.rfind('/');
    std::string name = slash == std::string::npos ? o.key : o.key.substr(slash + 1);
    if (name.compare(0, 5, "clip_") != 0)
      continue;
    for (const auto &[suffix, which] : kSuffixes) {
      if (!ends_with(o.key, suffix))
        continue;
      std::string stem = o.key.substr(0, o.key.size() - std::string(suffix).size());
      ClipFiles &c = clips[stem];
      c.stem = stem;
      (which == 0 ? c.jpg : which == 1 ? c.png : which == 2 ? c.json : c.scene) = o;
      break;
    }
  }
  return clips;
}

// Start time of a clip from its name, "…/clip_2025-10-20_13-05-00" -> seconds; NaN if not.
double clip_start(const std::string &stem) {
  std::size_t slash = stem.rfind('/');
  std::string name = slash == std::string::npos ? stem : stem.substr(slash + 1);
  if (name.size() < 24)
    return NAN;
  std::string t = name.substr(5, 19);  // 2025-10-20_13-05-00
  t[10] = 'T';
  t[13] = ':';
  t[16] = ':';
  std::optional<double> v = ru::parse_iso8601(t + "Z");
  return v ? *v : NAN;
}

double bin_seconds(Kind kind) {
  switch (kind) {
    case Kind::kHour:
      return 60;
    case Kind::kDay:
      return 900;
    default:
      return 3600;
  }
}

std::string duration_text(double seconds) {
  char buf[48];
  if (seconds < 60)
    std::snprintf(buf, sizeof buf, "%.0f s", seconds);
  else if (seconds < 3600)
    std::snprintf(buf, sizeof buf, "%.0f min", seconds / 60);
  else
    std::snprintf(buf, sizeof buf, "%.1f h", seconds / 3600);
  return buf;
}

// "13:00-16:00, 18:00-19:00" for the observed hours of a day.
std::string hour_ranges(const std::vector<int> &hours) {
  std::string out;
  for (std::size_t i = 0; i < hours.size();) {
    std::size_t j = i;
    while (j + 1 < hours.size() && hours[j + 1] == hours[j] + 1)
      ++j;
    char buf[24];
    std::snprintf(buf, sizeof buf, "%02d:00-%02d:00", hours[i], hours[j] + 1);
    out += (out.empty() ? "" : ", ") + std::string(buf);
    i = j + 1;
  }
  return out;
}

std::string period_text(const Period &p) {
  switch (p.kind) {
    case Kind::kHour: {
      char buf[64];
      std::snprintf(buf, sizeof buf, "hour %04d-%02d-%02d %02d:00-%02d:00 UTC", p.year, p.month,
                    p.day, p.hour, p.hour + 1);
      return buf;
    }
    case Kind::kDay:
      return "day " + p.id() + " UTC";
    case Kind::kWeek: {
      std::vector<Period> days = ru::children(p);
      return "ISO week " + p.id() + " (" + days.front().id() + " to " + days.back().id() + ") UTC";
    }
    case Kind::kMonth:
      return "month " + p.id() + " UTC";
  }
  return p.id();
}

// Title lines: what, when, how much footage, and which hours had none.
std::vector<std::string> title_lines(const std::string &name, const std::string &what,
                                     const Sum &sum, double start, double end) {
  std::vector<std::string> lines;
  lines.push_back(name + "  |  " + what);
  std::string l2 = std::to_string(sum.clips()) + (sum.clips() == 1 ? " clip, " : " clips, ") +
                   duration_text(sum.seconds()) + " of footage";
  std::vector<int> hours;
  std::size_t total_hours = end > start ? static_cast<std::size_t>((end - start) / 3600) : 0;
  std::size_t observed = 0;
  for (const auto &[h, c] : sum.coverage()) {
    if (c.seconds <= 0 || (total_hours > 0 && (h < start || h >= end)))
      continue;
    ++observed;
    hours.push_back(static_cast<int>(((h % 86400) + 86400) % 86400 / 3600));
  }
  if (total_hours == 1) {
    l2 += " in this hour";
  } else if (total_hours == 24) {
    l2 += "; observed " + std::to_string(observed) + " of 24 h";
    if (!hours.empty())
      l2 += " (" + hour_ranges(hours) + ")";
    if (observed < 24)
      l2 += ", the other " + std::to_string(24 - observed) + " h unobserved";
  } else if (total_hours > 0) {
    l2 += "; observed " + std::to_string(observed) + " of " + std::to_string(total_hours) + " h, " +
          std::to_string(total_hours - observed) + " h unobserved";
  } else {
    l2 += "; " + std::to_string(observed) + " h observed";
  }
  lines.push_back(l2);
  return lines;
}

std::string fingerprint(const Options &o, const std::string &name) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "v1 scale=%s colormap=%d alpha=%.3f blur=%.3f resample=%d",
                o.render.scale.str().c_str(), o.render.colormap, o.render.alpha, o.render.blur,
                o.resample ? 1 : 0);
  return std::string(buf) + " name=" + name;
}

// One input of a rollup: the PNG and sidecar of a clip or of a child rollup.
struct Input {
  std::string label;
  ObjectInfo png, json;
  double start_fallback = NAN;
};

struct Loaded {
  Source source;
  cv::Mat png;
};

// Reads the inputs' sidecars, checks sizes, reads the PNGs and adds them up. Bad inputs go to
// `skipped`; mixed resolutions without resample throw InputError.
// coverage_hour (hours only): the clips count in the hour of their folder, whatever their
// sidecars' start says; NaN keeps the sources' own coverage.
Sum load_and_sum(Io &io, const std::vector<Input> &inputs, bool expect_aggregates, double bin,
                 bool resample, double coverage_hour, Sidecar *sc, std::vector<Source> *sources) {
  std::vector<std::pair<const Input *, Source>> parsed;
  for (const Input &in : inputs) {
    try {
      std::string json = io.get(in.json.key, kMaxJsonBytes, in.json.size);
      Source s = expect_aggregates ? parse_aggregate_sidecar(json, in.json.key)
                                   : parse_clip_sidecar(json, in.json.key, in.start_fallback);
      s.name = in.png.key;
      if (!std::isnan(coverage_hour)) {
        s.coverage.clear();
        s.coverage[static_cast<std::int64_t>(coverage_hour)] = HourCoverage{s.seconds, 1};
      }
      parsed.emplace_back(&in, std::move(s));
    } catch (const InputError &e) {
      sc->skipped.emplace_back(in.label, e.what());
    } catch (const s3::Error &e) {
      if (fatal(e) || e.kind() != s3::ErrorKind::kNotFound)
        throw;
      sc->skipped.emplace_back(in.label, "sidecar vanished since the listing");
    }
  }
  std::optional<cv::Size> target;
  if (!parsed.empty()) {
    const Source &newest = parsed.back().second;
    for (const auto &[in, s] : parsed) {
      if (s.width != newest.width || s.height != newest.height) {
        if (!resample) {
          const Source &first = parsed.front().second;
          const Source &other = (first.width != s.width || first.height != s.height) ? s : newest;
          throw InputError("mixed resolutions: " + first.name + " is " +
                           std::to_string(first.width) + "x" + std::to_string(first.height) +
                           " but " + other.name + " is " + std::to_string(other.width) + "x" +
                           std::to_string(other.height) +
                           " (a camera change, or heatmaps from before max-input-pixels? "
                           "--resample scales every source to the newest "
                           "one's size)");
        }
        target = cv::Size(newest.width, newest.height);
      }
    }
  }
  Sum sum(bin);
  for (auto &[in, s] : parsed) {
    try {
      std::string bytes = io.get(in->png.key, kMaxPngBytes, in->png.size);
      if (expect_aggregates && !s.png_md5.empty() && md5_hex(bytes) != s.png_md5)
        throw InputError(in->png.key + " does not match its sidecar (being rewritten?); rerun");
      cv::Mat png = decode_png16(bytes, in->png.key);
      bool resampled = target && png.size() != *target;
      sum.add(s, png, target);
      Sidecar::Input rec;
      rec.label = in->label;
      rec.png = ObjectRef{in->png.key, in->png.etag};
      rec.json = ObjectRef{in->json.key, in->json.etag};
      rec.seconds = s.seconds;
      rec.frames = s.frames;
      rec.resampled = resampled;
      sc->inputs.push_back(rec);
      if (sources != nullptr)
        sources->push_back(std::move(s));
    } catch (const InputError &e) {
      if (expect_aggregates && std::string(e.what()).find("rerun") != std::string::npos)
        throw;
      sc->skipped.emplace_back(in->label, e.what());
    } catch (const s3::Error &e) {
      if (fatal(e) || e.kind() != s3::ErrorKind::kNotFound)
        throw;
      sc->skipped.emplace_back(in->label, "PNG vanished since the listing");
    }
  }
  return sum;
}

// Renders and writes stem.{png,jpg,json}: to the bucket (io set) or to local files.
void write_outputs(Io *io, const std::string &stem, Sidecar &sc, const Sum &sum,
                   const cv::Mat &scene, const std::vector<std::string> &title,
                   const Options &options) {
  cv::Mat occ = sum.occupancy();
  sc.scale_top = scale_top(occ, options.render);
  sc.scale_mode = options.render.scale.fixed ? "fixed" : "auto";
  sc.title = title.front() + " - " + title.back();
  cv::Mat picture = render_occupancy(occ, scene, sc.scale_top, title, options.render);
  std::optional<TempDir> tmp;
  std::string png_path = stem + ".png", jpg_path = stem + ".jpg";
  if (io != nullptr) {
    tmp.emplace();
    png_path = tmp->path + "/map.png";
    jpg_path = tmp->path + "/map.jpg";
  }
  std::string error;
  if (!write_counts_png(png_path, sum.occupancy16(), &error) ||
      !write_jpeg(jpg_path, picture, options.jpeg_quality, &error)) {
    throw InputError(error);
  }
  sc.png_md5 = md5_hex(read_file(png_path));
  sc.png_key = stem + ".png";
  sc.jpeg_key = stem + ".jpg";
  std::string json = to_json(sc, sum);
  if (io != nullptr) {
    io->put_file(stem + ".png", png_path, "image/png");
    io->put_file(stem + ".jpg", jpg_path, "image/jpeg");
    io->put_data(stem + ".json", json, "application/json");
    return;
  }
  GError *gerr = nullptr;
  if (!g_file_set_contents((stem + ".json").c_str(), json.data(), static_cast<gssize>(json.size()),
                           &gerr)) {
    std::string why = gerr != nullptr ? gerr->message : "unknown error";
    g_clear_error(&gerr);
    throw InputError("cannot write " + stem + ".json: " + why);
  }
}

// The newest scene image among candidates (newest first); empty when none can be read.
cv::Mat read_scene(Io &io, const std::vector<ObjectRef> &newest_first,
                   std::optional<ObjectRef> *used) {
  for (const ObjectRef &ref : newest_first) {
    try {
      std::string bytes = io.get(ref.key, kMaxSceneBytes);
      std::string error;
      cv::Mat scene = decode_scene(bytes, &error);
      if (!scene.empty()) {
        *used = ref;
        return scene;
      }
    } catch (const s3::Error &e) {
      if (fatal(e))
        throw;
    } catch (const InputError &) {
    }
  }
  return {};
}

std::string log_line(const RollupResult &r) {
  static const char *kStatus[] = {"written", "unchanged", "empty", "FAILED"};
  char buf[160];
  std::snprintf(buf, sizeof buf, "%s %s %s: %zu sources, %zu lists, %zu gets, %zu puts, %.2f s",
                kStatus[static_cast<int>(r.status)], ru::kind_name(r.period.kind),
                r.period.id().c_str(), r.sources, r.requests.lists, r.requests.gets,
                r.requests.puts, r.seconds);
  std::string line = buf;
  if (!r.message.empty())
    line += " - " + r.message;
  return line;
}

RollupResult update_one(s3::Bucket &bucket, const Layout &layout, const Period &p,
                        const Options &options, const std::string &name) {
  RollupResult result;
  result.period = p;
  Io io(bucket);
  const std::string stem = ru::stem_key(layout.heatmaps_prefix, p);
  std::vector<Input> inputs;
  std::optional<ObjectInfo> own_json;
  std::vector<ObjectRef> scenes;  // newest first (hours: from the listing)
  if (p.kind == Kind::kHour) {
    std::vector<ObjectInfo> objects = io.list(ru::hour_folder(layout.heatmaps_prefix, p));
    for (const ObjectInfo &o : objects) {
      if (o.key == stem + ".json")
        own_json = o;
    }
    for (const auto &[clip_stem, c] : group_clips(objects)) {
      if (!c.done())
        continue;  // still being processed: its JPEG goes up last
      std::size_t slash = clip_stem.rfind('/');
      Input in;
      in.label = clip_stem.substr(slash + 1);
      in.png = *c.png;
      in.json = *c.json;
      in.start_fallback = clip_start(clip_stem);
      inputs.push_back(in);
      if (c.scene)
        scenes.insert(scenes.begin(), ObjectRef{c.scene->key, c.scene->etag});
    }
  } else {
    for (const ObjectInfo &o : io.list(stem + "."))
      if (o.key == stem + ".json")
        own_json = o;
    // A child's files sit in its own folder (.../DD/HH/hour_heatmap.*, .../MM/DD/day_heatmap.*):
    // one delimiter listing of the folder above says which of them exist, so a day costs one
    // listing per hour that has clips instead of 24, a month one per day instead of 31.
    std::map<std::string, std::set<std::string>> existing;  // folder above -> its sub-folders
    for (const Period &child : ru::children(p)) {
      std::string child_stem = ru::stem_key(layout.heatmaps_prefix, child);
      const std::string child_folder = child_stem.substr(0, child_stem.rfind('/') + 1);
      const std::string above =
          child_folder.substr(0, child_folder.rfind('/', child_folder.size() - 2) + 1);
      auto known = existing.find(above);
      if (known == existing.end())
        known = existing.emplace(above, io.folders(above)).first;
      if (known->second.count(child_folder) == 0)
        continue;
      std::optional<ObjectInfo> png, json;
      for (const ObjectInfo &o : io.list(child_stem + ".")) {
        if (o.key == child_stem + ".png")
          png = o;
        else if (o.key == child_stem + ".json")
          json = o;
      }
      if (png && json) {
        Input in;
        in.label = child.id();
        in.png = *png;
        in.json = *json;
        inputs.push_back(in);
      }
    }
  }
  result.sources = inputs.size();
  if (inputs.empty()) {
    result.status = RollupResult::Status::kEmpty;
    result.message = "no sources";
    result.requests = io.req;
    return result;
  }

  // Unchanged sources (and scene, and rendering settings): nothing to do.
  const std::string print = fingerprint(options, name);
  if (own_json && !options.force) {
    std::optional<Recorded> rec;
    try {
      rec = read_recorded(io.get(own_json->key, kMaxJsonBytes, own_json->size));
    } catch (const InputError &) {
    }
    if (rec && rec->render_fingerprint == print && rec->inputs.size() == inputs.size() &&
        (p.kind != Kind::kHour ||
         rec->scene == (scenes.empty() ? std::nullopt : std::optional(scenes.front())))) {
      bool same = true;
      for (std::size_t i = 0; i < inputs.size() && same; ++i) {
        same = rec->inputs[i].first == ObjectRef{inputs[i].png.key, inputs[i].png.etag} &&
               rec->inputs[i].second == ObjectRef{inputs[i].json.key, inputs[i].json.etag};
      }
      if (same) {
        result.status = RollupResult::Status::kUnchanged;
        result.requests = io.req;
        return result;
      }
    }
  }

  Sidecar sc;
  sc.kind = ru::kind_name(p.kind);
  sc.period_id = p.id();
  sc.period_start = static_cast<double>(p.start());
  sc.period_end = static_cast<double>(p.end());
  sc.source_prefix =
      bucket.url().str() + (bucket.url().str().back() == '/' ? "" : "/") + layout.heatmaps_prefix;
  sc.render_fingerprint = print;
  std::vector<Source> sources;
  Sum sum = load_and_sum(io, inputs, p.kind != Kind::kHour, bin_seconds(p.kind), options.resample,
                         p.kind == Kind::kHour ? sc.period_start : NAN, &sc, &sources);
  if (p.kind != Kind::kHour) {
    for (auto it = sources.rbegin(); it != sources.rend(); ++it)
      if (it->scene)
        scenes.push_back(*it->scene);
  }
  if (sum.empty()) {
    result.status = RollupResult::Status::kFailed;
    result.message =
        "no usable source: " + sc.skipped.front().first + ": " + sc.skipped.front().second;
    result.requests = io.req;
    return result;
  }
  cv::Mat scene = read_scene(io, scenes, &sc.scene);
  std::vector<std::string> title =
      title_lines(name, period_text(p), sum, sc.period_start, sc.period_end);
  if (!options.dry_run)
    write_outputs(&io, stem, sc, sum, scene, title, options);
  result.status = RollupResult::Status::kWritten;
  if (!sc.skipped.empty())
    result.message = std::to_string(sc.skipped.size()) +
                     " source(s) skipped, first: " + sc.skipped.front().first + ": " +
                     sc.skipped.front().second;
  if (options.dry_run)
    result.message += std::string(result.message.empty() ? "" : "; ") + "dry run: not written";
  result.requests = io.req;
  return result;
}

std::string default_name(const s3::Bucket &bucket, const Layout &layout) {
  const s3::Url &url = bucket.url();
  std::string base = url.scheme == s3::Url::Scheme::kS3 ? url.bucket : url.bucket;
  std::size_t slash = base.find_last_of('/', base.size() > 1 ? base.size() - 2 : 0);
  if (url.scheme == s3::Url::Scheme::kFile && slash != std::string::npos)
    base = base.substr(slash + 1);
  std::string prefix = layout.heatmaps_prefix;
  while (!prefix.empty() && prefix.back() == '/')
    prefix.pop_back();
  return prefix.empty() ? base : base + "/" + prefix;
}

using Side = LoadedMap;

}  // namespace

LoadedMap load_map(const std::string &text, const s3::Config &config) {
  Side side;
  side.ref = text;
  std::string url_text = text;
  if (text.rfind("s3://", 0) != 0 && text.rfind("file://", 0) != 0) {
    gchar *abs = g_canonicalize_filename(text.c_str(), nullptr);
    url_text = std::string("file://") + abs;
    g_free(abs);
  }
  s3::Url url = s3::Url::parse(url_text);
  std::string stem = url.key;
  for (const char *ext : {".json", ".png", ".jpg"}) {
    if (ends_with(stem, ext)) {
      stem.resize(stem.size() - std::string(ext).size());
      break;
    }
  }
  s3::Url bucket_url = url;
  bucket_url.key.clear();
  std::unique_ptr<s3::Bucket> bucket = s3::open_bucket(bucket_url, config);
  Io io(*bucket);
  std::string json = io.get(stem + ".json", kMaxJsonBytes);
  side.source = parse_sidecar(json, text, clip_start(stem));
  side.source.name = text;
  cv::Mat png = decode_png16(io.get(stem + ".png", kMaxPngBytes), stem + ".png");
  side.occupancy = occupancy_of(side.source, png);
  if (side.source.scene) {
    std::string key = side.source.scene->key;
    if (side.source.is_aggregate) {
      // Scene keys are relative to the bucket the aggregate was written to; a local path may
      // name it from further up, so the part of our key before its recorded PNG key is the root.
      std::string recorded = side.source.png_key;
      if (!recorded.empty() && ends_with(stem + ".png", recorded))
        key = (stem + ".png").substr(0, stem.size() + 4 - recorded.size()) + key;
    } else {
      std::size_t slash = stem.rfind('/');
      key = (slash == std::string::npos ? "" : stem.substr(0, slash + 1)) + key;
    }
    std::optional<ObjectRef> used;
    side.scene = read_scene(io, {ObjectRef{key, ""}}, &used);
  }
  return side;
}

namespace {

std::string side_label(const Side &s) {
  if (!s.source.period_id.empty())
    return s.source.period_id;
  std::size_t slash = s.ref.rfind('/');
  return slash == std::string::npos ? s.ref : s.ref.substr(slash + 1);
}

}  // namespace

void compare(const std::string &a_text, const std::string &b_text, const std::string &out_stem,
             const s3::Config &config, const Options &options) {
  compare(load_map(a_text, config), load_map(b_text, config), out_stem, options);
}

void compare(LoadedMap a, LoadedMap b, const std::string &out_stem, const Options &options) {
  const std::string &a_text = a.ref;
  const std::string &b_text = b.ref;
  Comparison c;
  if (a.occupancy.size() != b.occupancy.size()) {
    if (!options.resample) {
      throw InputError("mixed resolutions: " + a_text + " is " + std::to_string(a.occupancy.cols) +
                       "x" + std::to_string(a.occupancy.rows) + " but " + b_text + " is " +
                       std::to_string(b.occupancy.cols) + "x" + std::to_string(b.occupancy.rows) +
                       " (a camera change, or heatmaps from before max-input-pixels? --resample "
                       "scales A to B's size)");
    }
    cv::resize(a.occupancy, a.occupancy, b.occupancy.size(), 0, 0, cv::INTER_AREA);
    c.resampled = true;
  }
  cv::Mat delta = b.occupancy - a.occupancy;
  c.a_ref = a_text;
  c.b_ref = b_text;
  c.a = &a.source;
  c.b = &b.source;
  c.a_mean = cv::mean(a.occupancy)[0];
  c.b_mean = cv::mean(b.occupancy)[0];
  double lo = 0, hi = 0;
  cv::minMaxLoc(delta, &lo, &hi);
  c.max_increase = std::max(0.0, hi);
  c.max_decrease = std::min(0.0, lo);
  if (options.render.scale.fixed) {
    c.top = options.render.scale.top;
  } else {
    cv::Mat smooth = delta;
    if (options.render.blur > 0)
      cv::GaussianBlur(delta, smooth, cv::Size(), options.render.blur);
    double slo = 0, shi = 0;
    cv::minMaxLoc(smooth, &slo, &shi);
    c.top = nice_ceiling(std::max(std::fabs(slo), std::fabs(shi)));
  }
  c.scale_mode = options.render.scale.fixed ? "fixed" : "auto";
  std::vector<std::string> title;
  title.push_back("compare  B: " + side_label(b) + "  vs  A: " + side_label(a));
  char buf[200];
  std::snprintf(
      buf, sizeof buf, "A: %llu clip(s), %s; B: %llu clip(s), %s; mean %s -> %s",
      static_cast<unsigned long long>(a.source.clips), duration_text(a.source.seconds).c_str(),
      static_cast<unsigned long long>(b.source.clips), duration_text(b.source.seconds).c_str(),
      percent_text(c.a_mean).c_str(), percent_text(c.b_mean).c_str());
  title.push_back(buf);
  const cv::Mat &scene = !b.scene.empty() ? b.scene : a.scene;
  cv::Mat picture = render_delta(delta, scene, c.top, title, options.render);
  std::string error;
  if (!write_jpeg(out_stem + ".jpg", picture, options.jpeg_quality, &error))
    throw InputError(error);
  std::string json = comparison_to_json(c);
  GError *gerr = nullptr;
  if (!g_file_set_contents((out_stem + ".json").c_str(), json.data(),
                           static_cast<gssize>(json.size()), &gerr)) {
    std::string why = gerr != nullptr ? gerr->message : "unknown error";
    g_clear_error(&gerr);
    throw InputError("cannot write " + out_stem + ".json: " + why);
  }
}

std::string RollupStats::summary() const {
  return "rollups: written " + std::to_string(written) + ", unchanged " +
         std::to_string(unchanged) + ", empty " + std::to_string(empty) + ", failed " +
         std::to_string(failed);
}

std::vector<Period> periods_touched_by(const std::vector<std::string> &clip_keys,
                                       const Layout &layout, const s3::rollups::Kinds &kinds) {
  return ru::periods_touched_by(clip_keys, layout.videos_prefix, layout.heatmaps_prefix, kinds);
}

RollupStats update_rollups(s3::Bucket &bucket, const Layout &layout,
                           const std::vector<Period> &periods, const Options &options) {
  RollupStats stats;
  const std::string name = options.name.empty() ? default_name(bucket, layout) : options.name;
  for (const Period &p : periods) {
    auto t0 = std::chrono::steady_clock::now();
    RollupResult r;
    try {
      r = update_one(bucket, layout, p, options, name);
    } catch (const InputError &e) {
      r.period = p;
      r.status = RollupResult::Status::kFailed;
      r.message = e.what();
    } catch (const s3::Error &e) {
      if (fatal(e))
        throw;
      r.period = p;
      r.status = RollupResult::Status::kFailed;
      r.message = e.what();
    } catch (const cv::Exception &e) {
      r.period = p;
      r.status = RollupResult::Status::kFailed;
      r.message = std::string("image processing failed: ") + e.what();
    }
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    switch (r.status) {
      case RollupResult::Status::kWritten:
        ++stats.written;
        break;
      case RollupResult::Status::kUnchanged:
        ++stats.unchanged;
        break;
      case RollupResult::Status::kEmpty:
        ++stats.empty;
        break;
      case RollupResult::Status::kFailed:
        ++stats.failed;
        break;
    }
    stats.requests += r.requests;
    if (options.log)
      options.log(log_line(r));
    stats.results.push_back(std::move(r));
  }
  return stats;
}

std::vector<Period> all_periods(s3::Bucket &bucket, const Layout &layout,
                                const s3::rollups::Kinds &kinds) {
  std::vector<ObjectInfo> objects;
  bucket.list_all(layout.heatmaps_prefix, "", &objects);
  std::vector<std::string> keys;
  for (const ObjectInfo &o : objects)
    keys.push_back(o.key);
  return periods_touched_by(keys, layout, kinds);
}

std::size_t aggregate_prefix(s3::Bucket &bucket, const std::string &prefix,
                             const std::string &out_stem, const Options &options) {
  Io io(bucket);
  std::vector<Input> inputs;
  std::vector<ObjectRef> scenes;
  for (const auto &[stem, c] : group_clips(io.list(prefix))) {
    if (!c.done())
      continue;
    Input in;
    in.label = stem;
    in.png = *c.png;
    in.json = *c.json;
    in.start_fallback = clip_start(stem);
    inputs.push_back(in);
    if (c.scene)
      scenes.insert(scenes.begin(), ObjectRef{c.scene->key, c.scene->etag});
  }
  if (inputs.empty())
    throw InputError("no finished clip heatmap (JPEG, PNG and JSON) under " + bucket.url().str() +
                     " " + prefix);
  Sidecar sc;
  sc.kind = "prefix";
  sc.period_id = prefix;
  sc.source_prefix = bucket.url().str() + " " + prefix;
  sc.render_fingerprint = fingerprint(options, options.name);
  Sum sum = load_and_sum(io, inputs, false, 3600, options.resample, NAN, &sc, nullptr);
  if (sum.empty())
    throw InputError("no usable clip under " + prefix + ": " + sc.skipped.front().first + ": " +
                     sc.skipped.front().second);
  cv::Mat scene = read_scene(io, scenes, &sc.scene);
  std::string name = options.name.empty() ? bucket.url().str() : options.name;
  std::vector<std::string> title = title_lines(name, "prefix " + prefix, sum, 0, 0);
  write_outputs(nullptr, out_stem, sc, sum, scene, title, options);
  return sum.clips();
}

}  // namespace heatmap::aggregate
