// lighting.h: the global photometric change between a frame and the learned scene.
#pragma once

#include <opencv2/core.hpp>

#include <cstdint>
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
  std::vector<float> u, mu, v, mv;  // chroma samples, taken in the same pass as the ratios
  std::vector<std::uint16_t> bins;  // each sample's histogram bin (median)
};

// frame R, G, B ~ gain of that channel * scene R, G, B (BT.601 from Y and centred U, V): white
// balance as a camera applies it, one gain per colour channel (von Kries). On a coloured
// object it moves chroma by an amount that depends on the object's colour, which one global
// chroma offset cannot follow (a dark red shelf under a bluer white balance).
struct ChannelGains {
  double r = 1.0, g = 1.0, b = 1.0;
};

// Median ratio per channel over the same sparse grid as estimate_photometric, on pixels whose
// three channels (frame and scene) are all inside (20, 230); identity with too few of them.
ChannelGains estimate_channel_gains(const cv::Mat &y, const cv::Mat &u, const cv::Mat &v,
                                    const cv::Mat &my, const cv::Mat &mu, const cv::Mat &mv,
                                    const cv::Mat &use, PhotometricScratch *scratch = nullptr);

// frame luma ~ gain * scene luma + offset: the offset (a black level that moves, a brightness
// control, an additive drift) that a gain alone would spread over dark and bright parts of the
// scene unevenly. Fitted robustly: the gain from the medians of the darker and the brighter
// half of the samples, the offset as the median residual; 0 on a scene without the spread of
// brightness to tell the two apart, or with too few samples.
double estimate_luma_offset(const cv::Mat &y, const cv::Mat &my, const cv::Mat &use,
                            PhotometricScratch *scratch = nullptr);

// The 3x3 matrix taking a frame's (Y, U - 128, V - 128) to what it would be under the scene's
// white balance at luma gain `gain`: gain * C^-1 * diag(1 / gains) * C, C being YUV -> RGB.
cv::Matx33f white_balance_correction(const ChannelGains &gains, double gain);

// The 3x3 matrix taking a frame's (Y, U - 128, V - 128) to the scene's lighting (my, mu, mv
// as for estimate_photometric): one gain per colour channel (exposure and white balance
// together, estimate_channel_gains) for colour; the luma gain (estimate_photometric) for grey
// sources or when too few pixels tell the channels. For the look-ahead, whose frames can each
// be lit differently (a camera still settling its exposure and white balance).
cv::Matx33f lighting_to_scene(const cv::Mat &y, const cv::Mat &u, const cv::Mat &v,
                              const cv::Mat &my, const cv::Mat &mu, const cv::Mat &mv,
                              const cv::Mat &use, PhotometricScratch *scratch = nullptr);

// Median estimate over a sparse grid of the pixels where `use` (CV_8U, may be empty = all) is
// nonzero; pixels with clipped luma (frame or prediction near white or black) are left out.
// y/u/v are the frame (CV_8U; u and v may be empty), my/mu/mv the scene's means (CV_32F).
// With fewer than a few hundred usable pixels it returns the identity.
// `offset` is the frame's luma offset (estimate_luma_offset), taken off before the gain.
Photometric estimate_photometric(const cv::Mat &y, const cv::Mat &u, const cv::Mat &v,
                                 const cv::Mat &my, const cv::Mat &mu, const cv::Mat &mv,
                                 const cv::Mat &use, PhotometricScratch *scratch = nullptr,
                                 double offset = 0.0);

}  // namespace heatmap
