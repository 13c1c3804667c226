// lighting.h: the global photometric change between a frame and the learned scene.
#pragma once

#include <opencv2/core.hpp>

#include <vector>

namespace heatmap {

// frame ~ gain * scene in luma; (chroma - 128) ~ gain * (scene chroma - 128) + offset. The
// gain follows exposure and lights (a change of illumination multiplies light, and with it
// gamma-encoded luma); the chroma offsets follow white balance.
struct Photometric {
  double gain = 1.0;
  double du = 0.0;
  double dv = 0.0;
};

// Working memory of estimate_photometric, kept between frames by its caller.
struct PhotometricScratch {
  std::vector<float> ratio, eu, ev, bin;
};

// Median estimate over a sparse grid of the pixels where `use` (CV_8U, may be empty = all) is
// nonzero; pixels with clipped luma (frame or prediction near white or black) are left out.
// y/u/v are the frame (CV_8U; u and v may be empty), my/mu/mv the scene's means (CV_32F).
// With fewer than a few hundred usable pixels it returns the identity.
Photometric estimate_photometric(const cv::Mat &y, const cv::Mat &u, const cv::Mat &v,
                                 const cv::Mat &my, const cv::Mat &mu, const cv::Mat &mv,
                                 const cv::Mat &use, PhotometricScratch *scratch = nullptr);

}  // namespace heatmap
