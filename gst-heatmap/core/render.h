// render.h: turning motion counts into a coloured heatmap over the scene.
#pragma once

#include <opencv2/core.hpp>

namespace heatmap {

struct RenderSettings {
  bool use_background = true;  // blend over the scene; false: colormap alone
  double alpha = 0.6;          // [0, 1]: strength of the heat overlay at the hottest pixels
  int colormap = 2;            // cv::ColormapTypes value, 2 = cv::COLORMAP_JET
  double blur = 3.0;           // Gaussian sigma in output pixels, 0 = off
};

// Renders counts (CV_16UC1) into a BGR heatmap of the same size: the counts are smoothed
// (Gaussian, sigma = blur, in float), divided by their maximum and coloured with the colormap;
// each pixel is blended over the background with weight alpha * f(n), n the normalised smoothed
// count, f(0) = 0 and f rising as (n/0.5)^1.5 to 1 at half the maximum. So pixels with no
// motion (and none within the blur's reach) show the background exactly, faint motion barely
// tints it and walkways stand out. A grey background is expanded to BGR; one of another size
// is resized to the counts'. An empty background renders the colormap alone, as does
// settings.use_background == false. All-zero counts give the background unchanged (or the
// colormap's zero colour without one).
cv::Mat render(const cv::Mat &counts, const cv::Mat &background, const RenderSettings &settings);
// The two halves of render() without the scene: the coloured heat (CV_8UC3) and the opacity
// render() gives it at each pixel (CV_32FC1, alpha * f(n), 0 where there is no heat), for
// drawing the heat over something else (the live overlay on full-size frames, overlay.h).
void heat_layer(const cv::Mat &counts, const RenderSettings &settings, cv::Mat *colour,
                cv::Mat *weight);

}  // namespace heatmap
