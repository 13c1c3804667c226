// polygons.cpp: polygon lists from JSON (json-glib), validation and rasterisation.
#include "polygons.h"

#include <fcntl.h>
#include <glib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <json-glib/json-glib.h>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <set>

#include "one-line.h"

namespace heatmap {

namespace {

struct GObjectUnref {
  void operator()(gpointer p) const { g_object_unref(p); }
};

bool point_from(JsonNode *node, cv::Point2d *point, std::string *problem) {
  if (!JSON_NODE_HOLDS_ARRAY(node)) {
    *problem = "a point is not an [x, y] array";
    return false;
  }
  JsonArray *pair = json_node_get_array(node);
  if (json_array_get_length(pair) != 2) {
    *problem =
        "a point has " + std::to_string(json_array_get_length(pair)) + " coordinates instead of 2";
    return false;
  }
  double xy[2];
  for (guint i = 0; i < 2; ++i) {
    JsonNode *c = json_array_get_element(pair, i);
    if (!JSON_NODE_HOLDS_VALUE(c) || (json_node_get_value_type(c) != G_TYPE_DOUBLE &&
                                      json_node_get_value_type(c) != G_TYPE_INT64)) {
      *problem = "a coordinate is not a number";
      return false;
    }
    xy[i] = json_node_get_double(c);
    if (!std::isfinite(xy[i]) || xy[i] < 0.0 || xy[i] > 1.0) {
      char text[96];
      std::snprintf(text, sizeof text, "coordinate %g is out of range (0..1, normalised)", xy[i]);
      *problem = text;
      return false;
    }
  }
  *point = cv::Point2d(xy[0], xy[1]);
  return true;
}

}  // namespace

bool valid_name(const std::string &name, std::string *problem) {
  if (name.empty()) {
    *problem = "a name is empty";
    return false;
  }
  // Encoding and control characters first: later messages quote the name.
  if (!g_utf8_validate(name.data(), static_cast<gssize>(name.size()), nullptr)) {
    *problem = "a name is not valid UTF-8";
    return false;
  }
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) {
      *problem = "a name contains a control character";
      return false;
    }
  }
  if (name.size() > kMaxNameLength) {
    // Quote at most 20 bytes, cut at a character boundary.
    const char *start = name.c_str();
    const char *cut = start + 20;
    if (!g_utf8_validate(start, cut - start, nullptr))
      cut = g_utf8_find_prev_char(start, cut);
    *problem = "name \"" + std::string(start, cut) + "...\" is longer than " +
               std::to_string(kMaxNameLength) + " bytes";
    return false;
  }
  if (std::strchr("=+-@", name[0]) != nullptr) {
    *problem =
        "name \"" + name + "\" starts with '" + name[0] + "', which spreadsheets read as a formula";
    return false;
  }
  return true;
}

bool parse_polygon_list(const std::string &text, const std::string &key,
                        const PolygonListOptions &options, bool *present,
                        std::vector<NamedPolygon> *out, std::string *problem) {
  out->clear();
  *present = false;
  std::unique_ptr<JsonParser, GObjectUnref> parser(json_parser_new_immutable());
  GError *error = nullptr;
  if (!json_parser_load_from_data(parser.get(), text.data(), static_cast<gssize>(text.size()),
                                  &error)) {
    *problem =
        std::string("not valid JSON: ") + one_line(error ? error->message : "parse error", 200);
    g_clear_error(&error);
    return false;
  }
  JsonNode *root = json_parser_get_root(parser.get());
  if (root == nullptr || !JSON_NODE_HOLDS_OBJECT(root)) {
    *problem = "the top level is not a JSON object";
    return false;
  }
  JsonObject *object = json_node_get_object(root);
  JsonNode *list = json_object_get_member(object, key.c_str());
  if (list == nullptr) {
    return true;
  }
  *present = true;
  if (!JSON_NODE_HOLDS_ARRAY(list)) {
    *problem = "\"" + key + "\" is not an array";
    return false;
  }
  JsonArray *array = json_node_get_array(list);
  const guint n = json_array_get_length(array);
  if (n == 0 && !options.allow_empty) {
    *problem = "\"" + key + "\" is empty";
    return false;
  }
  if (n > kMaxPolygons) {
    *problem = "\"" + key + "\" has " + std::to_string(n) + " entries, more than " +
               std::to_string(kMaxPolygons);
    return false;
  }
  std::set<std::string> names;
  for (guint i = 0; i < n; ++i) {
    const std::string where = key + "[" + std::to_string(i) + "]";
    JsonNode *entry = json_array_get_element(array, i);
    if (!JSON_NODE_HOLDS_OBJECT(entry)) {
      *problem = where + " is not an object";
      return false;
    }
    JsonObject *zone = json_node_get_object(entry);
    NamedPolygon polygon;
    JsonNode *name = json_object_get_member(zone, "name");
    if (name != nullptr && !JSON_NODE_HOLDS_NULL(name)) {
      if (!JSON_NODE_HOLDS_VALUE(name) || json_node_get_value_type(name) != G_TYPE_STRING) {
        *problem = where + ": \"name\" is not a string";
        return false;
      }
      polygon.name = json_node_get_string(name);
    }
    const std::string label = polygon.name.empty() ? where : where + " (\"" + polygon.name + "\")";
    if (options.names_required || !polygon.name.empty()) {
      if (name == nullptr) {
        *problem = where + " has no \"name\"";
        return false;
      }
      std::string why;
      if (!valid_name(polygon.name, &why)) {
        *problem = where + ": " + why;
        return false;
      }
    }
    if (options.unique_names && !names.insert(polygon.name).second) {
      *problem = "duplicate name \"" + polygon.name + "\"";
      return false;
    }
    JsonNode *points = json_object_get_member(zone, "polygon");
    if (points == nullptr || !JSON_NODE_HOLDS_ARRAY(points)) {
      *problem = label + " has no \"polygon\" array";
      return false;
    }
    JsonArray *point_array = json_node_get_array(points);
    const guint n_points = json_array_get_length(point_array);
    if (n_points < 3) {
      *problem = label + " has " + std::to_string(n_points) +
                 (n_points == 1 ? " point" : " points") + ", a polygon needs at least 3";
      return false;
    }
    if (n_points > kMaxPolygonPoints) {
      *problem = label + " has " + std::to_string(n_points) + " points, more than " +
                 std::to_string(kMaxPolygonPoints);
      return false;
    }
    for (guint p = 0; p < n_points; ++p) {
      cv::Point2d point;
      std::string why;
      if (!point_from(json_array_get_element(point_array, p), &point, &why)) {
        *problem = label + " point " + std::to_string(p) + ": " + why;
        return false;
      }
      polygon.points.push_back(point);
    }
    out->push_back(std::move(polygon));
  }
  return true;
}

void fill_polygon(cv::Mat &raster, const std::vector<cv::Point2d> &points, std::uint8_t value) {
  // Scanline, even-odd rule, sampled at pixel centres: pixel (x, y) is inside when its centre
  // ((x + 0.5) / cols, (y + 0.5) / rows) is, with left/top edges inclusive and right/bottom
  // edges exclusive. So two zones sharing an edge never share a pixel (cv::fillPoly draws the
  // outline too, which would give both of them the pixels on it).
  CV_Assert(raster.type() == CV_8UC1);
  const std::size_t n = points.size();
  std::vector<double> crossings;
  for (int y = 0; y < raster.rows; ++y) {
    const double yc = (y + 0.5) / raster.rows;
    crossings.clear();
    for (std::size_t i = 0; i < n; ++i) {
      const cv::Point2d &a = points[i], &b = points[(i + 1) % n];
      // Half-open in y so that a vertex on the scanline is counted once.
      if ((a.y <= yc && yc < b.y) || (b.y <= yc && yc < a.y)) {
        crossings.push_back(a.x + (yc - a.y) * (b.x - a.x) / (b.y - a.y));
      }
    }
    std::sort(crossings.begin(), crossings.end());
    std::uint8_t *row = raster.ptr<std::uint8_t>(y);
    for (std::size_t k = 0; k + 1 < crossings.size(); k += 2) {
      // Pixels whose centre lies in [left, right).
      const int from = std::max(0, static_cast<int>(std::ceil(crossings[k] * raster.cols - 0.5)));
      const int to =
          std::min(raster.cols, static_cast<int>(std::ceil(crossings[k + 1] * raster.cols - 0.5)));
      for (int x = from; x < to; ++x) {
        row[x] = value;
      }
    }
  }
}

bool read_small_file(const std::string &path, std::size_t max_bytes, std::string *out,
                     std::string *problem) {
  // O_NONBLOCK: opening a FIFO (or a device) must not wait for a writer; such a path is
  // refused below, since only a regular file can be read whole and hashed.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    *problem = std::string("cannot open: ") + std::strerror(errno);
    return false;
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat info;
  if (::fstat(fd, &info) != 0) {
    *problem = std::string("cannot read: ") + std::strerror(errno);
    return false;
  }
  if (!S_ISREG(info.st_mode)) {
    *problem = S_ISDIR(info.st_mode) ? "is a folder, not a file" : "is not a regular file";
    return false;
  }
  const std::string too_large = "larger than " + std::to_string(max_bytes / (1024 * 1024)) + " MiB";
  if (static_cast<std::uintmax_t>(info.st_size) > max_bytes) {
    *problem = too_large;
    return false;
  }
  out->clear();
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      *problem = std::string("cannot read: ") + std::strerror(errno);
      return false;
    }
    if (n == 0) {
      return true;
    }
    out->append(buffer, static_cast<std::size_t>(n));
    if (out->size() > max_bytes) {  // the file grew while being read
      *problem = too_large;
      return false;
    }
  }
}

std::string sha256_hex(const std::string &bytes) {
  gchar *hex = g_compute_checksum_for_data(
      G_CHECKSUM_SHA256, reinterpret_cast<const guchar *>(bytes.data()), bytes.size());
  std::string result(hex);
  g_free(hex);
  return result;
}

}  // namespace heatmap
