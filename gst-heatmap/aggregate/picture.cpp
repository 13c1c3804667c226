// picture.cpp: aggregate and comparison pictures with a title band and a colour bar.
#include "picture.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <utility>

namespace heatmap::aggregate {
namespace {

constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;
const cv::Scalar kBand(32, 32, 32);
const cv::Scalar kText(235, 235, 235);

// Puts text at org, shrunk until it fits max_width.
void put_text(cv::Mat &img, const std::string &text, cv::Point org, int max_width, double scale) {
  int base = 0;
  cv::Size size = cv::getTextSize(text, kFont, scale, 1, &base);
  while (size.width > max_width && scale > 0.3) {
    scale *= 0.92;
    size = cv::getTextSize(text, kFont, scale, 1, &base);
  }
  cv::putText(img, text, org, kFont, scale, kText, 1, cv::LINE_AA);
}

int enlargement(cv::Size size, const RenderOptions &o) {
  return std::max(1, static_cast<int>(std::ceil(static_cast<double>(o.min_width) / size.width)));
}

// A desaturated, slightly darkened scene at `size` so that the colours of the map stand out;
// a neutral grey when there is none.
cv::Mat backdrop(const cv::Mat &scene, cv::Size size) {
  if (scene.empty())
    return cv::Mat(size, CV_8UC3, cv::Scalar(110, 110, 110));
  cv::Mat grey, bgr;
  if (scene.channels() == 3)
    cv::cvtColor(scene, grey, cv::COLOR_BGR2GRAY);
  else
    grey = scene;
  cv::resize(grey, grey, size, 0, 0, cv::INTER_LINEAR);
  grey.convertTo(grey, CV_8U, 0.8, 10);
  cv::cvtColor(grey, bgr, cv::COLOR_GRAY2BGR);
  return bgr;
}

cv::Mat smooth_and_enlarge(const cv::Mat &map, const RenderOptions &o, cv::Size out_size) {
  cv::Mat m = map.clone();
  if (o.blur > 0)
    cv::GaussianBlur(m, m, cv::Size(), o.blur);
  cv::resize(m, m, out_size, 0, 0, cv::INTER_LINEAR);
  return m;
}

// How strongly a normalised value n in [0, 1] colours its pixel: nothing at 0, rising steeply
// so that faint motion shows, full at half the scale.
float weight_of(float n) {
  return std::min(1.0f, std::pow(n / 0.5f, 0.8f));
}

cv::Vec3b diverging_colour(float t) {
  // Blue (less) - white - red (more), as in ColorBrewer's RdBu.
  const cv::Vec3f blue(172, 102, 33), white(247, 247, 247), red(43, 24, 178);
  float a = std::min(1.0f, std::fabs(t));
  cv::Vec3f c = t < 0 ? white * (1 - a) + blue * a : white * (1 - a) + red * a;
  return cv::Vec3b(cv::saturate_cast<uchar>(c[0]), cv::saturate_cast<uchar>(c[1]),
                   cv::saturate_cast<uchar>(c[2]));
}

cv::Mat title_band(const std::vector<std::string> &lines, int width) {
  const int line_h = 26;
  cv::Mat band(static_cast<int>(lines.size()) * line_h + 10, width, CV_8UC3, kBand);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    put_text(band, lines[i], cv::Point(10, 24 + static_cast<int>(i) * line_h), width - 20,
             i == 0 ? 0.65 : 0.55);
  }
  return band;
}

// Tick labels and their positions (fractions of the bar) for a bar from lo to hi.
cv::Mat colour_bar_band(int width, const std::vector<std::pair<double, std::string>> &ticks,
                        const std::string &caption,
                        const std::function<cv::Vec3b(double)> &colour) {
  cv::Mat band(64, width, CV_8UC3, kBand);
  int x0 = 20, x1 = width - 20, y0 = 8, y1 = 26;
  for (int x = x0; x < x1; ++x) {
    cv::Vec3b c = colour(static_cast<double>(x - x0) / (x1 - x0 - 1));
    cv::line(band, cv::Point(x, y0), cv::Point(x, y1), cv::Scalar(c[0], c[1], c[2]));
  }
  cv::rectangle(band, cv::Point(x0 - 1, y0 - 1), cv::Point(x1, y1 + 1), kText, 1);
  for (const auto &[pos, label] : ticks) {
    int x = x0 + static_cast<int>(std::lround(pos * (x1 - x0 - 1)));
    cv::line(band, cv::Point(x, y1), cv::Point(x, y1 + 4), kText);
    int base = 0;
    cv::Size s = cv::getTextSize(label, kFont, 0.45, 1, &base);
    int tx = std::clamp(x - s.width / 2, 2, width - s.width - 2);
    cv::putText(band, label, cv::Point(tx, y1 + 18), kFont, 0.45, kText, 1, cv::LINE_AA);
  }
  put_text(band, caption, cv::Point(x0, 60), width - 40, 0.45);
  return band;
}

cv::Mat stack(const cv::Mat &top, const cv::Mat &middle, const cv::Mat &bottom) {
  cv::Mat out;
  cv::vconcat(std::vector<cv::Mat>{top, middle, bottom}, out);
  return out;
}

}  // namespace

Scale Scale::parse(const std::string &text) {
  Scale s;
  if (text == "auto")
    return s;
  const std::string prefix = "fixed:";
  if (text.compare(0, prefix.size(), prefix) == 0 && text.size() > prefix.size()) {
    std::string value = text.substr(prefix.size());
    bool percent = !value.empty() && value.back() == '%';
    if (percent)
      value.pop_back();
    char *end = nullptr;
    double v = std::strtod(value.c_str(), &end);
    if (!value.empty() && end != nullptr && *end == '\0' && std::isfinite(v)) {
      if (percent)
        v /= 100;
      if (v > 0 && v <= 1) {
        s.fixed = true;
        s.top = v;
        return s;
      }
    }
  }
  throw std::invalid_argument(
      "--scale wants auto or fixed:F with F a fraction in (0, 1] or a "
      "percentage (fixed:0.05, fixed:5%): got '" +
      text + "'");
}

std::string Scale::str() const {
  if (!fixed)
    return "auto";
  char buf[48];
  std::snprintf(buf, sizeof buf, "fixed:%.6g", top);
  return buf;
}

double nice_ceiling(double v) {
  if (!(v > 0))
    return 0.01;
  double p = std::pow(10.0, std::floor(std::log10(v)));
  for (double m : {1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0}) {
    if (m * p >= v * (1 - 1e-9))
      return std::min(1.0, m * p);
  }
  return std::min(1.0, 10 * p);
}

double scale_top(const cv::Mat &occupancy, const RenderOptions &options) {
  if (options.scale.fixed)
    return options.scale.top;
  cv::Mat m = occupancy;
  if (options.blur > 0)
    cv::GaussianBlur(occupancy, m, cv::Size(), options.blur);
  double max = 0;
  cv::minMaxLoc(m, nullptr, &max);
  return nice_ceiling(max);
}

std::string percent_text(double fraction) {
  double p = fraction * 100;
  char buf[32];
  if (p == 0)
    return "0%";
  double a = std::fabs(p);
  int decimals = a >= 10 ? 0 : a >= 1 ? 1 : a >= 0.1 ? 2 : 3;
  std::snprintf(buf, sizeof buf, "%.*f", decimals, p);
  std::string s = buf;
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0')
      s.pop_back();
    if (s.back() == '.')
      s.pop_back();
  }
  return s + "%";
}

int colormap_from_name(const std::string &name) {
  static const std::pair<const char *, int> kMaps[] = {
      {"autumn", cv::COLORMAP_AUTUMN},     {"bone", cv::COLORMAP_BONE},
      {"jet", cv::COLORMAP_JET},           {"winter", cv::COLORMAP_WINTER},
      {"rainbow", cv::COLORMAP_RAINBOW},   {"ocean", cv::COLORMAP_OCEAN},
      {"summer", cv::COLORMAP_SUMMER},     {"spring", cv::COLORMAP_SPRING},
      {"cool", cv::COLORMAP_COOL},         {"hsv", cv::COLORMAP_HSV},
      {"pink", cv::COLORMAP_PINK},         {"hot", cv::COLORMAP_HOT},
      {"parula", cv::COLORMAP_PARULA},     {"magma", cv::COLORMAP_MAGMA},
      {"inferno", cv::COLORMAP_INFERNO},   {"plasma", cv::COLORMAP_PLASMA},
      {"viridis", cv::COLORMAP_VIRIDIS},   {"cividis", cv::COLORMAP_CIVIDIS},
      {"twilight", cv::COLORMAP_TWILIGHT}, {"turbo", cv::COLORMAP_TURBO},
  };
  for (const auto &[n, v] : kMaps) {
    if (name == n)
      return v;
  }
  return -1;
}

cv::Mat render_occupancy(const cv::Mat &occupancy, const cv::Mat &scene, double top,
                         const std::vector<std::string> &title, const RenderOptions &options) {
  CV_Assert(occupancy.type() == CV_32FC1 && !occupancy.empty() && top > 0);
  int k = enlargement(occupancy.size(), options);
  cv::Size out_size(occupancy.cols * k, occupancy.rows * k);
  cv::Mat occ = smooth_and_enlarge(occupancy, options, out_size);
  cv::Mat norm;
  occ.convertTo(norm, CV_32F, 1.0 / top);
  cv::min(norm, 1.0, norm);
  cv::max(norm, 0.0, norm);
  cv::Mat idx, colours;
  norm.convertTo(idx, CV_8U, 255.0);
  cv::applyColorMap(idx, colours, options.colormap);
  cv::Mat map = backdrop(scene, out_size);
  for (int y = 0; y < map.rows; ++y) {
    const float *n = norm.ptr<float>(y);
    const cv::Vec3b *c = colours.ptr<cv::Vec3b>(y);
    cv::Vec3b *m = map.ptr<cv::Vec3b>(y);
    for (int x = 0; x < map.cols; ++x) {
      float w = static_cast<float>(options.alpha) * weight_of(n[x]);
      for (int ch = 0; ch < 3; ++ch)
        m[x][ch] = cv::saturate_cast<uchar>(m[x][ch] * (1 - w) + c[x][ch] * w);
    }
  }
  // The bar shows the colours as they look at full strength over a mid-grey floor.
  cv::Mat lut(1, 256, CV_8UC1);
  for (int i = 0; i < 256; ++i)
    lut.at<uchar>(i) = static_cast<uchar>(i);
  cv::Mat lut_colours;
  cv::applyColorMap(lut, lut_colours, options.colormap);
  auto colour = [&](double t) {
    int i = std::clamp(static_cast<int>(std::lround(t * 255)), 0, 255);
    return lut_colours.at<cv::Vec3b>(0, i);
  };
  std::vector<std::pair<double, std::string>> ticks;
  for (int i = 0; i <= 4; ++i)
    ticks.emplace_back(i / 4.0, percent_text(top * i / 4.0) + (i == 4 ? "+" : ""));
  std::string caption = "share of the observed time with motion (scale " +
                        std::string(options.scale.fixed ? "fixed" : "auto") + ", top " +
                        percent_text(top) + ")";
  return stack(title_band(title, map.cols), map, colour_bar_band(map.cols, ticks, caption, colour));
}

cv::Mat render_delta(const cv::Mat &delta, const cv::Mat &scene, double top,
                     const std::vector<std::string> &title, const RenderOptions &options) {
  CV_Assert(delta.type() == CV_32FC1 && !delta.empty() && top > 0);
  int k = enlargement(delta.size(), options);
  cv::Size out_size(delta.cols * k, delta.rows * k);
  cv::Mat d = smooth_and_enlarge(delta, options, out_size);
  cv::Mat map = backdrop(scene, out_size);
  for (int y = 0; y < map.rows; ++y) {
    const float *v = d.ptr<float>(y);
    cv::Vec3b *m = map.ptr<cv::Vec3b>(y);
    for (int x = 0; x < map.cols; ++x) {
      float t = std::clamp(v[x] / static_cast<float>(top), -1.0f, 1.0f);
      // Differences under 5% of the scale leave the scene as it is (no white wash near zero).
      float a = std::max(0.0f, std::fabs(t) - 0.05f) / 0.95f;
      float w = static_cast<float>(options.alpha) * weight_of(a);
      cv::Vec3b c = diverging_colour(t);
      for (int ch = 0; ch < 3; ++ch)
        m[x][ch] = cv::saturate_cast<uchar>(m[x][ch] * (1 - w) + c[ch] * w);
    }
  }
  auto colour = [](double pos) { return diverging_colour(static_cast<float>(pos * 2 - 1)); };
  auto pp = [](double fraction) {
    std::string s = percent_text(fraction);
    s.pop_back();  // percentage points
    return (fraction > 0 ? "+" : "") + s + " pp";
  };
  std::vector<std::pair<double, std::string>> ticks = {{0.0, pp(-top) + " (less than A)"},
                                                       {0.25, pp(-top / 2)},
                                                       {0.5, "0"},
                                                       {0.75, pp(top / 2)},
                                                       {1.0, pp(top) + " (more than A)"}};
  std::string caption =
      "B - A: difference in the share of observed time with motion, percentage points";
  return stack(title_band(title, map.cols), map, colour_bar_band(map.cols, ticks, caption, colour));
}

}  // namespace heatmap::aggregate
