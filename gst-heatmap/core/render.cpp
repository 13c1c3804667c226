// render.cpp: heatmap rendering (smoothing, colormap, blending over the background).
#include "render.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>

namespace heatmap {

namespace {

// Opacity of the heat at a normalised (0..1) smoothed count: exactly 0 without motion, so
// the scene shows unchanged there; small counts (noise, the blur's tails, someone crossing
// once) stay nearly transparent, and the overlay reaches full strength at kHeatKnee of the
// maximum, so walkways stand out over a clean picture.
constexpr float kHeatKnee = 0.5f;
float heat_weight(float norm) {
  if (norm <= 0.f) {
    return 0.f;
  }
  const float t = std::min(1.f, norm / kHeatKnee);
  return t * std::sqrt(t);
}

// Smoothed counts divided by their maximum (CV_32FC1, 0..1) and their colours.
void normalised_heat(const cv::Mat &counts, const RenderSettings &settings, cv::Mat *heat,
                     cv::Mat *coloured) {
  if (counts.empty() || counts.type() != CV_16UC1) {
    throw std::invalid_argument("heatmap: render() needs non-empty CV_16UC1 counts");
  }
  counts.convertTo(*heat, CV_32F);
  if (settings.blur > 0) {
    cv::GaussianBlur(*heat, *heat, cv::Size(0, 0), settings.blur, settings.blur,
                     cv::BORDER_REPLICATE);
  }
  double max = 0;
  cv::minMaxLoc(*heat, nullptr, &max);
  if (max > 0) {
    *heat *= 1.0 / max;
  }
  cv::Mat index;
  heat->convertTo(index, CV_8U, 255.0);
  cv::applyColorMap(index, *coloured, settings.colormap);
}

}  // namespace

void heat_layer(const cv::Mat &counts, const RenderSettings &settings, cv::Mat *colour,
                cv::Mat *weight) {
  cv::Mat heat;
  normalised_heat(counts, settings, &heat, colour);
  const float alpha = static_cast<float>(std::clamp(settings.alpha, 0.0, 1.0));
  weight->create(heat.size(), CV_32FC1);
  for (int y = 0; y < heat.rows; ++y) {
    const float *h = heat.ptr<float>(y);
    float *w = weight->ptr<float>(y);
    for (int x = 0; x < heat.cols; ++x) {
      w[x] = alpha * heat_weight(h[x]);
    }
  }
}

cv::Mat render(const cv::Mat &counts, const cv::Mat &background, const RenderSettings &settings) {
  cv::Mat heat, coloured;
  normalised_heat(counts, settings, &heat, &coloured);

  if (!settings.use_background || background.empty()) {
    return coloured;
  }
  cv::Mat bg;
  if (background.type() == CV_8UC1) {
    cv::cvtColor(background, bg, cv::COLOR_GRAY2BGR);
  } else if (background.type() == CV_8UC3) {
    bg = background;
  } else {
    throw std::invalid_argument("heatmap: render() needs a CV_8UC1 or CV_8UC3 background");
  }
  if (bg.size() != counts.size()) {
    cv::resize(bg, bg, counts.size(), 0, 0, cv::INTER_AREA);
  }

  const float alpha = static_cast<float>(std::clamp(settings.alpha, 0.0, 1.0));
  cv::Mat out(counts.size(), CV_8UC3);
  for (int y = 0; y < out.rows; ++y) {
    const float *h = heat.ptr<float>(y);
    const std::uint8_t *b = bg.ptr<std::uint8_t>(y);
    const std::uint8_t *c = coloured.ptr<std::uint8_t>(y);
    std::uint8_t *o = out.ptr<std::uint8_t>(y);
    for (int x = 0; x < out.cols; ++x) {
      const float w = alpha * heat_weight(h[x]);
      for (int ch = 0; ch < 3; ++ch) {
        const int i = 3 * x + ch;
        // w == 0 gives b exactly: no wash over parts of the scene without motion.
        o[i] = cv::saturate_cast<std::uint8_t>(b[i] + (c[i] - b[i]) * w);
      }
    }
  }
  return out;
}

}  // namespace heatmap
