// viewer-compare.cpp: comparisons for the viewer, on top of heatmap-aggregate's library.
#include "viewer-compare.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <mutex>
#include <regex>
#include <vector>

#include "heatmap-core.h"
#include "rollup.h"
#include "viewer-json.h"

namespace viewer {

namespace agg = heatmap::aggregate;

namespace {

constexpr std::size_t kMaxCachedJson = 4 << 20;

// A private temporary folder, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    GError *error = nullptr;
    gchar *dir = g_dir_make_tmp("heatmap-viewer-XXXXXX", &error);
    if (!dir) {
      std::string why = error->message;
      g_error_free(error);
      throw s3::Error(s3::ErrorKind::kIo, "cannot make a temporary folder: " + why);
    }
    path_ = dir;
    g_free(dir);
  }
  ~TempDir() {
    if (GDir *d = g_dir_open(path_.c_str(), 0, nullptr)) {
      while (const char *name = g_dir_read_name(d))
        g_unlink((path_ + "/" + name).c_str());
      g_dir_close(d);
    }
    g_rmdir(path_.c_str());
  }
  const std::string &path() const { return path_; }

 private:
  std::string path_;
};

std::string etag_of(s3::Bucket &bucket, const std::string &key, const std::string &period) {
  try {
    return bucket.head(key).etag;
  } catch (const s3::Error &e) {
    if (e.kind() == s3::ErrorKind::kNotFound)
      throw NoSuchPeriod("no heatmap for " + period + " (" + key + " is missing)");
    throw;
  }
}

std::string object_url(const s3::Bucket &bucket, const std::string &key) {
  s3::Url url = bucket.url();
  url.key = key;
  return url.str();
}

// The cached comparison when it was made from exactly these inputs.
std::string cached(s3::Bucket &bucket, const std::string &key, const std::string &sources) {
  std::string text;
  try {
    bucket.get(key, 0, static_cast<std::int64_t>(kMaxCachedJson),
               [&](const char *p, std::size_t n) { text.append(p, n); });
  } catch (const s3::Error &e) {
    if (e.kind() == s3::ErrorKind::kNotFound)
      return {};
    throw;
  }
  JsonNode *root = parse_object(text);
  if (!root)
    return {};
  JsonObject *obj = json_node_get_object(root);
  bool same = json_object_has_member(obj, "sources") &&
              to_text(json_object_get_member(obj, "sources")) == sources;
  json_node_unref(root);
  return same ? text : std::string();
}

void put_jpeg(s3::Bucket &bucket, const std::string &key, const std::string &path) {
  s3::PutOptions options;
  options.content_type = "image/jpeg";
  bucket.put_file(key, path, options);
}

// Renders are CPU-heavy: one at a time, so a burst of requests cannot starve the server.
std::mutex render_mutex;

}  // namespace

std::string rollup_stem(const Layout &layout, const std::string &id) {
  static const std::regex hour(R"((\d{4})-(\d{2})-(\d{2})T(\d{2}))");
  static const std::regex day(R"((\d{4})-(\d{2})-(\d{2}))");
  static const std::regex week(R"(\d{4}-W\d{2})");
  static const std::regex month(R"((\d{4})-(\d{2}))");
  std::smatch m;
  if (std::regex_match(id, m, hour) && std::stoi(m[4]) < 24)
    return layout.heatmaps_prefix + m[1].str() + "/" + m[2].str() + "/" + m[3].str() + "/" +
           m[4].str() + "/hour_heatmap";
  if (std::regex_match(id, m, day))
    return layout.heatmaps_prefix + m[1].str() + "/" + m[2].str() + "/" + m[3].str() +
           "/day_heatmap";
  if (std::regex_match(id, week))
    return layout.heatmaps_prefix + "weeks/" + id + "_heatmap";
  if (std::regex_match(id, m, month))
    return layout.heatmaps_prefix + m[1].str() + "/" + m[2].str() + "/month_heatmap";
  return {};
}

std::string compare_json(s3::Bucket &bucket, const s3::Config &config, const Layout &layout,
                         const std::string &a, const std::string &b) {
  const std::string stem_a = rollup_stem(layout, a), stem_b = rollup_stem(layout, b);
  if (stem_a.empty() || stem_b.empty())
    throw NoSuchPeriod("not a period id: use 2025-10-20T13, 2025-10-20, 2025-W43 or 2025-10");

  // What the comparison is made of; a change in any of them renders it again.
  GPtr<JsonBuilder> sb(json_builder_new());
  json_builder_begin_object(sb.get());
  for (const auto &[name, key, period] :
       {std::tuple{"a_json", stem_a + ".json", a}, std::tuple{"a_png", stem_a + ".png", a},
        std::tuple{"b_json", stem_b + ".json", b}, std::tuple{"b_png", stem_b + ".png", b}}) {
    json_builder_set_member_name(sb.get(), name);
    json_builder_add_string_value(sb.get(), etag_of(bucket, key, period).c_str());
  }
  json_builder_end_object(sb.get());
  JsonNode *sources_node = json_builder_get_root(sb.get());
  const std::string sources = to_text(sources_node);

  const std::string out = layout.heatmaps_prefix + "compare/" + a + "_vs_" + b;
  std::lock_guard<std::mutex> lock(render_mutex);
  if (std::string hit = cached(bucket, out + ".json", sources); !hit.empty()) {
    json_node_unref(sources_node);
    return hit;
  }

  agg::LoadedMap map_a = agg::load_map(object_url(bucket, stem_a + ".json"), config);
  agg::LoadedMap map_b = agg::load_map(object_url(bucket, stem_b + ".json"), config);
  map_a.ref = a;
  map_b.ref = b;
  agg::Options options;
  options.resample = true;  // a camera replaced between the periods still compares
  const double top = std::max(agg::scale_top(map_a.occupancy, options.render),
                              agg::scale_top(map_b.occupancy, options.render));
  TempDir tmp;
  std::string error;
  for (const auto &[side, map] : {std::pair{"a", &map_a}, std::pair{"b", &map_b}}) {
    char line[160];
    std::snprintf(line, sizeof line, "%s: %s, %llu clips, %.1f h observed", side, map->ref.c_str(),
                  static_cast<unsigned long long>(map->source.clips), map->source.seconds / 3600.0);
    std::vector<std::string> title{line, "colour scale shared with the other period"};
    cv::Mat picture = agg::render_occupancy(map->occupancy, map->scene, top, title, options.render);
    const std::string path = tmp.path() + "/" + side + ".jpg";
    if (!heatmap::write_jpeg(path, picture, 90, &error))
      throw s3::Error(s3::ErrorKind::kIo, error);
  }
  agg::compare(std::move(map_a), std::move(map_b), tmp.path() + "/diff", options);

  gchar *diff_json = nullptr;
  gsize diff_len = 0;
  if (!g_file_get_contents((tmp.path() + "/diff.json").c_str(), &diff_json, &diff_len, nullptr))
    throw s3::Error(s3::ErrorKind::kIo, "the comparison wrote no JSON");
  JsonNode *comparison = parse_object(std::string(diff_json, diff_len));
  g_free(diff_json);
  if (!comparison)
    throw s3::Error(s3::ErrorKind::kIo, "the comparison JSON does not parse");

  put_jpeg(bucket, out + "_a.jpg", tmp.path() + "/a.jpg");
  put_jpeg(bucket, out + "_b.jpg", tmp.path() + "/b.jpg");
  put_jpeg(bucket, out + "_diff.jpg", tmp.path() + "/diff.jpg");

  const std::size_t rel = layout.heatmaps_prefix.size();
  JsonObject *cmp = json_node_get_object(comparison);
  GPtr<JsonBuilder> jb(json_builder_new());
  json_builder_begin_object(jb.get());
  auto str = [&](const char *name, const std::string &value) {
    json_builder_set_member_name(jb.get(), name);
    json_builder_add_string_value(jb.get(), value.c_str());
  };
  str("a", a);
  str("b", b);
  str("a_jpeg", (out + "_a.jpg").substr(rel));
  str("b_jpeg", (out + "_b.jpg").substr(rel));
  str("diff_jpeg", (out + "_diff.jpg").substr(rel));
  json_builder_set_member_name(jb.get(), "scale_top");
  json_builder_add_double_value(jb.get(), top);
  json_builder_set_member_name(jb.get(), "resampled");
  json_builder_add_boolean_value(
      jb.get(), json_object_get_boolean_member_with_default(cmp, "resampled", FALSE));
  json_builder_set_member_name(jb.get(), "zones");
  json_builder_begin_array(jb.get());
  if (json_object_has_member(cmp, "zones")) {
    JsonArray *zones = json_object_get_array_member(cmp, "zones");
    for (guint i = 0; i < json_array_get_length(zones); ++i) {
      JsonObject *z = json_array_get_object_element(zones, i);
      json_builder_begin_object(jb.get());
      for (const auto &[to, from] :
           {std::pair{"name", "name"}, std::pair{"a", "a_mean_activity"},
            std::pair{"b", "b_mean_activity"}, std::pair{"delta", "delta_mean_activity"}}) {
        json_builder_set_member_name(jb.get(), to);
        json_builder_add_value(jb.get(), json_node_copy(json_object_get_member(z, from)));
      }
      json_builder_end_object(jb.get());
    }
  }
  json_builder_end_array(jb.get());
  json_builder_set_member_name(jb.get(), "comparison");
  json_builder_add_value(jb.get(), comparison);
  json_builder_set_member_name(jb.get(), "sources");
  json_builder_add_value(jb.get(), sources_node);
  json_builder_end_object(jb.get());
  JsonNode *root = json_builder_get_root(jb.get());
  std::string text = to_text(root);
  json_node_unref(root);

  // The JSON last: it is what marks the cached comparison complete.
  s3::PutOptions options_json;
  options_json.content_type = "application/json";
  bucket.put_data(out + ".json", text, options_json);
  return text;
}

}  // namespace viewer
