// mask.cpp: mask files (PNG via image-io's decoder, JSON polygons) and their rasters.
#include "mask.h"

#include "image-io.h"

#include <opencv2/imgproc.hpp>

namespace heatmap {

namespace {

bool decode_png_grey(const std::string &bytes, cv::Mat *out, std::string *problem) {
  std::string why;
  if (!decode_png_to_grey(reinterpret_cast<const std::uint8_t *>(bytes.data()), bytes.size(),
                          kMaxMaskSide, out, &why)) {
    *problem = "not a readable PNG: " + why;
    return false;
  }
  return true;
}

}  // namespace

bool Mask::from_bytes(const std::string &bytes, const std::string &label, Mask *mask,
                      std::string *error) {
  Mask result;
  std::string problem;
  if (is_png(reinterpret_cast<const std::uint8_t *>(bytes.data()), bytes.size())) {
    if (!decode_png_grey(bytes, &result.image_, &problem)) {
      *error = label + ": " + problem;
      return false;
    }
    double max_value = 0;
    cv::minMaxLoc(result.image_, nullptr, &max_value);
    if (max_value < 128) {
      *error = label +
               ": the mask is black everywhere, so nothing would be counted (white = "
               "counted, black = ignored)";
      return false;
    }
  } else {
    const std::size_t first = bytes.find_first_not_of(" \t\r\n");
    if (first == std::string::npos || (bytes[first] != '{' && bytes[first] != '[')) {
      *error = label + ": neither a PNG image nor a JSON polygon file";
      return false;
    }
    PolygonListOptions options;
    options.allow_empty = true;
    bool has_exclude = false;
    if (!parse_polygon_list(bytes, "include", options, &result.has_include_, &result.include_,
                            &problem) ||
        !parse_polygon_list(bytes, "exclude", options, &has_exclude, &result.exclude_, &problem)) {
      *error = label + ": " + problem;
      return false;
    }
    if (!result.has_include_ && !has_exclude) {
      *error = label +
               ": no \"include\" or \"exclude\" polygon list (expected {\"exclude\": "
               "[{\"polygon\": [[x,y],...]}]})";
      return false;
    }
    if (cv::countNonZero(result.raster(cv::Size(1024, 1024))) == 0) {
      *error = label + ": the polygons leave nothing to count";
      return false;
    }
  }
  result.sha256_ = sha256_hex(bytes);
  *mask = std::move(result);
  return true;
}

bool Mask::load(const std::string &path, Mask *mask, std::string *error) {
  std::string bytes, problem;
  if (!read_small_file(path, kMaxMaskFileBytes, &bytes, &problem)) {
    *error = path + ": " + problem;
    return false;
  }
  return from_bytes(bytes, path, mask, error);
}

cv::Mat Mask::raster(cv::Size size) const {
  if (empty() || size.empty()) {
    return cv::Mat();
  }
  cv::Mat out;
  if (!image_.empty()) {
    cv::Mat scaled;
    if (image_.size() == size) {
      scaled = image_;
    } else {
      cv::resize(image_, scaled, size, 0, 0,
                 size.area() < image_.size().area() ? cv::INTER_AREA : cv::INTER_LINEAR);
    }
    cv::threshold(scaled, out, 127, 255, cv::THRESH_BINARY);
    return out;
  }
  out = cv::Mat(size, CV_8UC1, cv::Scalar(has_include_ ? 0 : 255));
  for (const NamedPolygon &p : include_) {
    fill_polygon(out, p.points, 255);
  }
  for (const NamedPolygon &p : exclude_) {
    fill_polygon(out, p.points, 0);
  }
  return out;
}

void shade_masked(cv::Mat &bgr, const cv::Mat &counted) {
  if (counted.empty()) {
    return;
  }
  CV_Assert(bgr.type() == CV_8UC3 && counted.type() == CV_8UC1 && bgr.size() == counted.size());
  for (int y = 0; y < bgr.rows; ++y) {
    cv::Vec3b *row = bgr.ptr<cv::Vec3b>(y);
    const std::uint8_t *c = counted.ptr<std::uint8_t>(y);
    for (int x = 0; x < bgr.cols; ++x) {
      if (c[x] != 0) {
        continue;
      }
      // Rec. 601 luma, darkened to 60% and lifted a little so black stays distinguishable.
      const int luma = (29 * row[x][0] + 150 * row[x][1] + 77 * row[x][2]) >> 8;
      const auto grey = static_cast<std::uint8_t>(24 + luma * 3 / 5);
      row[x] = cv::Vec3b(grey, grey, grey);
    }
  }
}

}  // namespace heatmap
