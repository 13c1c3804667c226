// viewer-catalog.cpp: months, days and clips with heatmaps, from bucket listings, as JSON.
#include "viewer-catalog.h"

#include <glib.h>
#include <json-glib/json-glib.h>

#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include "viewer-json.h"

namespace viewer {

namespace {

// Rollup sidecars are small; anything larger is not ours and is ignored.
constexpr std::size_t kMaxSidecarBytes = 4 << 20;

std::string to_json(JsonBuilder *builder) {
  JsonNode *root = json_builder_get_root(builder);
  std::string out = to_text(root);
  json_node_unref(root);
  return out;
}

bool all_digits(const std::string &s, std::size_t n) {
  if (s.size() != n)
    return false;
  for (char c : s)
    if (!g_ascii_isdigit(c))
      return false;
  return true;
}

// Last path segment of a common prefix ("heatmaps/2025/10/" -> "10").
std::string last_segment(const std::string &prefix) {
  std::string p = prefix;
  if (!p.empty() && p.back() == '/')
    p.pop_back();
  std::size_t slash = p.rfind('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

bool has_object(const std::vector<s3::ObjectInfo> &objects, const std::string &key) {
  for (const s3::ObjectInfo &o : objects)
    if (o.key == key)
      return true;
  return false;
}

// Reads a small JSON object; nothing when it is missing, too large or not JSON.
JsonNode *read_json(s3::Bucket &bucket, const std::string &key) {
  std::string data;
  try {
    bucket.get(key, 0, static_cast<std::int64_t>(kMaxSidecarBytes) + 1,
               [&](const char *p, std::size_t n) { data.append(p, n); });
  } catch (const s3::Error &) {
    return nullptr;
  }
  if (data.size() > kMaxSidecarBytes)
    return nullptr;
  return parse_object(data);
}

int days_in_month(int year, int month) {
  return g_date_get_days_in_month(static_cast<GDateMonth>(month), static_cast<GDateYear>(year));
}

}  // namespace

bool parse_month_id(const std::string &id, int *year, int *month) {
  if (id.size() != 7 || id[4] != '-' || !all_digits(id.substr(0, 4), 4) ||
      !all_digits(id.substr(5, 2), 2))
    return false;
  *year = std::stoi(id.substr(0, 4));
  *month = std::stoi(id.substr(5, 2));
  return *year >= 1970 && *month >= 1 && *month <= 12;
}

bool parse_day_id(const std::string &id, int *year, int *month, int *day) {
  if (id.size() != 10 || id[7] != '-' || !parse_month_id(id.substr(0, 7), year, month) ||
      !all_digits(id.substr(8, 2), 2))
    return false;
  *day = std::stoi(id.substr(8, 2));
  return *day >= 1 && *day <= days_in_month(*year, *month);
}

std::string months_json(s3::Bucket &bucket, const Layout &layout) {
  std::vector<s3::ObjectInfo> objects;
  std::vector<std::string> years;
  bucket.list_all(layout.heatmaps_prefix, "/", &objects, &years);
  std::vector<std::string> months;
  for (const std::string &year_prefix : years) {
    std::string year = last_segment(year_prefix);
    if (!all_digits(year, 4))
      continue;
    std::vector<s3::ObjectInfo> year_objects;
    std::vector<std::string> month_prefixes;
    bucket.list_all(year_prefix, "/", &year_objects, &month_prefixes);
    for (const std::string &mp : month_prefixes) {
      std::string m = last_segment(mp);
      int y = 0, mo = 0;
      if (all_digits(m, 2) && parse_month_id(year + "-" + m, &y, &mo))
        months.push_back(year + "-" + m);
    }
  }
  std::vector<s3::ObjectInfo> week_objects;
  bucket.list_all(layout.heatmaps_prefix + "weeks/", "/", &week_objects);
  std::set<std::string> weeks;
  const std::string suffix = "_heatmap.json";
  for (const s3::ObjectInfo &o : week_objects) {
    std::string name = last_segment(o.key);
    // YYYY-Www_heatmap.json
    if (name.size() == 8 + suffix.size() && name.compare(8, std::string::npos, suffix) == 0 &&
        all_digits(name.substr(0, 4), 4) && name[4] == '-' && name[5] == 'W' &&
        all_digits(name.substr(6, 2), 2))
      weeks.insert(name.substr(0, 8));
  }

  GPtr<JsonBuilder> b(json_builder_new());
  json_builder_begin_object(b.get());
  json_builder_set_member_name(b.get(), "months");
  json_builder_begin_array(b.get());
  for (const std::string &m : months)
    json_builder_add_string_value(b.get(), m.c_str());
  json_builder_end_array(b.get());
  json_builder_set_member_name(b.get(), "weeks");
  json_builder_begin_array(b.get());
  for (const std::string &w : weeks)
    json_builder_add_string_value(b.get(), w.c_str());
  json_builder_end_array(b.get());
  json_builder_end_object(b.get());
  return to_json(b.get());
}

std::string month_json(s3::Bucket &bucket, const Layout &layout, int year, int month) {
  char ym[32];
  std::snprintf(ym, sizeof ym, "%04d/%02d/", year, month);
  const std::string month_prefix = layout.heatmaps_prefix + ym;
  std::vector<s3::ObjectInfo> objects;
  std::vector<std::string> day_prefixes;
  bucket.list_all(month_prefix, "/", &objects, &day_prefixes);

  GPtr<JsonBuilder> b(json_builder_new());
  json_builder_begin_object(b.get());
  char id[32];
  std::snprintf(id, sizeof id, "%04d-%02d", year, month);
  json_builder_set_member_name(b.get(), "month");
  json_builder_add_string_value(b.get(), id);
  json_builder_set_member_name(b.get(), "has_map");
  json_builder_add_boolean_value(b.get(), has_object(objects, month_prefix + "month_heatmap.jpg"));
  json_builder_set_member_name(b.get(), "days");
  json_builder_begin_array(b.get());
  for (const std::string &dp : day_prefixes) {
    std::string dd = last_segment(dp);
    int y = 0, m = 0, d = 0;
    char day_id[40];
    std::snprintf(day_id, sizeof day_id, "%04d-%02d-%s", year, month, dd.c_str());
    if (!all_digits(dd, 2) || !parse_day_id(day_id, &y, &m, &d))
      continue;
    std::vector<s3::ObjectInfo> day_objects;
    std::vector<std::string> hour_prefixes;
    bucket.list_all(dp, "/", &day_objects, &hour_prefixes);
    bool has_map = has_object(day_objects, dp + "day_heatmap.jpg");
    std::int64_t hours_observed = 0;
    double seconds = -1;
    if (has_object(day_objects, dp + "day_heatmap.json")) {
      if (JsonNode *node = read_json(bucket, dp + "day_heatmap.json")) {
        JsonObject *obj = json_node_get_object(node);
        seconds = number_member(obj, "seconds_observed").value_or(-1);
        if (json_object_has_member(obj, "coverage")) {
          JsonNode *cov = json_object_get_member(obj, "coverage");
          if (JSON_NODE_HOLDS_OBJECT(cov)) {
            JsonObject *c = json_node_get_object(cov);
            if (json_object_has_member(c, "hours") &&
                JSON_NODE_HOLDS_ARRAY(json_object_get_member(c, "hours")))
              hours_observed = json_array_get_length(json_object_get_array_member(c, "hours"));
          }
        }
        json_node_unref(node);
      }
    }
    if (hours_observed == 0) {
      for (const std::string &hp : hour_prefixes)
        if (all_digits(last_segment(hp), 2))
          ++hours_observed;
    }
    json_builder_begin_object(b.get());
    json_builder_set_member_name(b.get(), "day");
    json_builder_add_string_value(b.get(), day_id);
    json_builder_set_member_name(b.get(), "has_map");
    json_builder_add_boolean_value(b.get(), has_map);
    json_builder_set_member_name(b.get(), "hours_observed");
    json_builder_add_int_value(b.get(), hours_observed);
    json_builder_set_member_name(b.get(), "seconds_observed");
    if (seconds >= 0)
      json_builder_add_double_value(b.get(), seconds);
    else
      json_builder_add_null_value(b.get());
    json_builder_set_member_name(b.get(), "partial");
    json_builder_add_boolean_value(b.get(),
                                   seconds >= 0 ? seconds < 0.95 * 86400.0 : hours_observed < 24);
    json_builder_end_object(b.get());
  }
  json_builder_end_array(b.get());
  json_builder_end_object(b.get());
  return to_json(b.get());
}

std::string day_json(s3::Bucket &bucket, const Layout &layout, int year, int month, int day) {
  char ymd[32];
  std::snprintf(ymd, sizeof ymd, "%04d/%02d/%02d/", year, month, day);
  const std::string day_prefix = layout.heatmaps_prefix + ymd;
  std::vector<s3::ObjectInfo> objects;
  bucket.list_all(day_prefix, "", &objects);
  std::set<std::string> keys;
  for (const s3::ObjectInfo &o : objects)
    keys.insert(o.key);
  auto rel = [&](const std::string &key) { return key.substr(layout.heatmaps_prefix.size()); };

  // clip stem -> outputs, per hour
  std::map<int, std::map<std::string, std::string>> clips;  // hour -> stem -> jpeg rel
  for (const std::string &key : keys) {
    std::string tail = key.substr(day_prefix.size());  // HH/name
    if (tail.size() < 4 || tail[2] != '/' || !all_digits(tail.substr(0, 2), 2))
      continue;
    int hour = std::stoi(tail.substr(0, 2));
    std::string name = tail.substr(3);
    const std::string jpeg_suffix = "_heatmap.jpg";
    if (hour > 23 || name.find('/') != std::string::npos || name == "hour_heatmap.jpg" ||
        name.size() <= jpeg_suffix.size() ||
        name.compare(name.size() - jpeg_suffix.size(), std::string::npos, jpeg_suffix) != 0)
      continue;
    clips[hour][name.substr(0, name.size() - jpeg_suffix.size())] = rel(key);
  }

  GPtr<JsonBuilder> b(json_builder_new());
  json_builder_begin_object(b.get());
  char id[32];
  std::snprintf(id, sizeof id, "%04d-%02d-%02d", year, month, day);
  json_builder_set_member_name(b.get(), "day");
  json_builder_add_string_value(b.get(), id);
  json_builder_set_member_name(b.get(), "has_map");
  json_builder_add_boolean_value(b.get(), keys.count(day_prefix + "day_heatmap.jpg") > 0);
  json_builder_set_member_name(b.get(), "hours");
  json_builder_begin_array(b.get());
  for (int h = 0; h < 24; ++h) {
    char hh[16];
    std::snprintf(hh, sizeof hh, "%02d/", h);
    const std::string hour_prefix = day_prefix + hh;
    json_builder_begin_object(b.get());
    json_builder_set_member_name(b.get(), "hour");
    json_builder_add_int_value(b.get(), h);
    json_builder_set_member_name(b.get(), "has_map");
    json_builder_add_boolean_value(b.get(), keys.count(hour_prefix + "hour_heatmap.jpg") > 0);
    json_builder_set_member_name(b.get(), "clips");
    json_builder_begin_array(b.get());
    for (const auto &[stem, jpeg] : clips[h]) {
      json_builder_begin_object(b.get());
      json_builder_set_member_name(b.get(), "name");
      json_builder_add_string_value(b.get(), stem.c_str());
      json_builder_set_member_name(b.get(), "jpeg");
      json_builder_add_string_value(b.get(), jpeg.c_str());
      // clip_X_heatmap.{json,png,csv} and clip_X_scene.jpg, when present.
      struct Extra {
        const char *member;
        std::string key;
      };
      std::string base = stem;  // clip_X
      const Extra extras[] = {
          {"json", hour_prefix + stem + "_heatmap.json"},
          {"png", hour_prefix + stem + "_heatmap.png"},
          {"csv", hour_prefix + stem + "_heatmap.csv"},
          {"scene", hour_prefix + base + "_scene.jpg"},
      };
      for (const Extra &e : extras) {
        json_builder_set_member_name(b.get(), e.member);
        if (keys.count(e.key))
          json_builder_add_string_value(b.get(), rel(e.key).c_str());
        else
          json_builder_add_null_value(b.get());
      }
      json_builder_end_object(b.get());
    }
    json_builder_end_array(b.get());
    json_builder_end_object(b.get());
  }
  json_builder_end_array(b.get());
  json_builder_end_object(b.get());
  return to_json(b.get());
}

}  // namespace viewer
