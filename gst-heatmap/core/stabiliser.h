// stabiliser.h: global camera motion (translation) between a frame and the learned scene.
#pragma once

#include <opencv2/core.hpp>

namespace heatmap {

// Estimates how far the camera has moved from where the scene model was learned, by phase
// correlation of the small luma frame against the model's mean luma (our own, not
// cv::phaseCorrelate: the peak is searched near zero only, so the period of floor tiles cannot
// win, and the reference spectrum is computed once) (at most kWidth pixels
// wide, so that it costs well under a millisecond), and moves frames back into the model's
// coordinates. Phase correlation uses only the phase of the spectrum, so a global change of
// brightness does not disturb it, and people walking through are a small part of the energy.
class Stabiliser {
 public:
  static constexpr int kWidth = 160;

  // Forgets the reference.
  void reset();
  // Sets the reference (the scene's luma, CV_32F or CV_8U, processing size).
  void set_reference(const cv::Mat &luma);
  bool has_reference() const { return !ref_.empty(); }
  // Offset d of `luma` (CV_8U, processing size) against the reference, in processing pixels:
  // luma(x) ~ reference(x - d). (0, 0) without a reference or when the correlation is too weak
  // to trust (response < kMinResponse).
  cv::Point2d estimate(const cv::Mat &luma);
  // dst(x) = src(x + d) (bilinear): the frame moved back into the reference's coordinates.
  // Pixels that came from outside the frame are 0 in `valid` (CV_8U, 255 = inside), which is
  // left untouched when d is zero.
  static void align(const cv::Mat &src, cv::Mat &dst, cv::Point2d d);
  static void valid_area(cv::Size size, cv::Point2d d, cv::Mat &valid);

  static constexpr double kMinResponse = 0.08;
  // How much stronger than the peak near zero a peak elsewhere must be to be believed.
  static constexpr float kAwayFromZero = 3.0f;

 private:
  void shrink(const cv::Mat &src, cv::Mat &dst) const;
  // Windowed, zero-padded spectrum of a small CV_32F image.
  void spectrum(const cv::Mat &small, cv::Mat &out);
  double scale_ = 1.0;  // processing pixels per correlation pixel
  cv::Size small_;
  cv::Size padded_;  // DFT size
  cv::Mat ref_;      // spectrum of the reference (CV_32FC2 at padded_)
  cv::Mat window_;   // Hanning window at small_
  cv::Mat cur_, spec_, cross_, surface_, pad_;
};

}  // namespace heatmap
