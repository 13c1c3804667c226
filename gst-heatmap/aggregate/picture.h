// picture.h: readable pictures of occupancy maps and of their differences: the map over the
// scene, a title band and a colour bar with its scale in % of time. OpenCV only.
#pragma once

#include <opencv2/core.hpp>

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace heatmap::aggregate {

// --scale auto|fixed:F. auto: the top of the colour bar is the map's highest (smoothed)
// occupancy rounded up (nice_ceiling); fixed: F, a fraction in (0, 1] ("0.05") or a percentage
// ("5%"), so that maps of different periods share one scale.
struct Scale {
  bool fixed = false;
  double top = 0;  // fixed: the occupancy at the top of the bar
  // Throws std::invalid_argument naming the text when it is neither form.
  static Scale parse(const std::string &text);
  std::string str() const;  // "auto" or "fixed:0.05"
};

struct RenderOptions {
  Scale scale;
  int colormap = 2;     // cv::ColormapTypes, 2 = JET (as the clip heatmaps)
  double alpha = 0.65;  // strength of the colour at the top of the scale
  double blur = 1.5;    // Gaussian sigma in map pixels, 0 = off
  int min_width = 960;  // the map is enlarged (whole factors) to at least this width
};

// Round value at or above v (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 x 10^k, at most 1); 0.01 for v <= 0.
double nice_ceiling(double v);

// The occupancy (CV_32FC1, fraction of time) at which the colour bar tops out.
double scale_top(const cv::Mat &occupancy, const RenderOptions &options);

// The aggregate picture: title lines on top, the map over the scene (BGR, any size; empty =
// a neutral grey), a colour bar from 0 to `top` in % of time below.
cv::Mat render_occupancy(const cv::Mat &occupancy, const cv::Mat &scene, double top,
                         const std::vector<std::string> &title, const RenderOptions &options);

// The comparison picture: delta = occupancy(B) - occupancy(A) in a diverging scale (blue = less
// than A, red = more) from -top to +top percentage points, over the scene, with a legend.
cv::Mat render_delta(const cv::Mat &delta, const cv::Mat &scene, double top,
                     const std::vector<std::string> &title, const RenderOptions &options);

// "0.5%", "12%", "0.02%": a percentage with as few digits as say it.
std::string percent_text(double fraction);

// A colormap name ("jet", "turbo", "inferno", ...) as a cv::ColormapTypes value; -1 if unknown.
int colormap_from_name(const std::string &name);

}  // namespace heatmap::aggregate
