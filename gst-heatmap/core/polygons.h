// polygons.h: named polygons in normalised coordinates, read from JSON and rasterised, shared by
// the zones and the polygon masks.
#pragma once

#include <opencv2/core.hpp>

#include <string>
#include <vector>

namespace heatmap {

// x right, y down, both 0..1 of the picture, so a file survives a change of resolution.
struct NamedPolygon {
  std::string name;  // may be empty where names are optional
  std::vector<cv::Point2d> points;
};

// Limits that keep a hostile file from costing much; documented in docs/metadata.md.
constexpr std::size_t kMaxPolygons = 64;
constexpr std::size_t kMaxPolygonPoints = 1000;
constexpr std::size_t kMaxNameLength = 64;

struct PolygonListOptions {
  bool names_required = false;  // every entry needs a valid "name"
  bool unique_names = false;    // no two entries with the same name
  bool allow_empty = false;     // an empty array is fine
};

// Parses the JSON object `text` and the array of {"name": ..., "polygon": [[x,y],...]} under
// `key`. Returns false with *problem set to one line (no file name; the caller adds it) when the
// text is not JSON, the top level is not an object, `key` holds something else than such an
// array, a polygon has fewer than 3 points, a point is not two numbers in 0..1, a name is
// invalid (see valid_name) or repeated, or a limit is exceeded. A missing key sets *present to
// false and returns true with an empty list.
bool parse_polygon_list(const std::string &text, const std::string &key,
                        const PolygonListOptions &options, bool *present,
                        std::vector<NamedPolygon> *out, std::string *problem);

// Names appear in the CSV: non-empty, at most kMaxNameLength bytes of valid UTF-8, no control
// characters, not starting with = + - @ (spreadsheet formulas). *problem says why not.
bool valid_name(const std::string &name, std::string *problem);

// Fills, in `raster` (CV_8UC1, already sized), the pixels whose centre lies inside the polygon
// (even-odd rule; left and top edges inclusive, right and bottom exclusive) with `value`.
// Point (0,0) is the picture's top-left corner and (1,1) its bottom-right corner.
void fill_polygon(cv::Mat &raster, const std::vector<cv::Point2d> &points, std::uint8_t value);

// Reads a whole file (at most max_bytes) into *out; false with a one-line *problem otherwise.
bool read_small_file(const std::string &path, std::size_t max_bytes, std::string *out,
                     std::string *problem);

// Lower-case hex SHA-256 of `bytes` (GLib's GChecksum, an implementation detail).
std::string sha256_hex(const std::string &bytes);

}  // namespace heatmap
