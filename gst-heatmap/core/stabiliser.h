// stabiliser.h: global camera motion (translation) between a frame and the learned scene.
#pragma once

#include <opencv2/core.hpp>

#include <cstdint>
#include <vector>

namespace heatmap {

// cv::resize(src, dst, size, 0, 0, cv::INTER_AREA) to the bit, faster for an 8-bit plane reduced
// by a whole factor of 3 or more both ways (the stabiliser's shrinks: 480x270 -> 160x90);
// anything else goes to cv::resize. `sums` is scratch kept by the caller.
void area_shrink(const cv::Mat &src, cv::Mat &dst, cv::Size size, std::vector<int> &sums);

// Estimates how far the camera has moved from where the scene model was learned, by phase
// correlation of the small luma frame against the model's mean luma (our own, not
// cv::phaseCorrelate: the peak is searched near zero only, so the period of floor tiles cannot
// win, and the reference spectrum is computed once) (at most kWidth pixels
// wide, so that it costs well under a millisecond), and moves frames back into the model's
// coordinates. Phase correlation uses only the phase of the spectrum, so a global change of
// brightness does not disturb it. But on a plain floor people are most of the texture, and a
// crowd walking one way pulls the peak its way: so a peak is only a candidate, and a shift is
// believed only when moving the reference by it explains the frame clearly better than not
// moving it (or than the shift believed last), measured as a truncated absolute residual in
// which people cost the same at every shift.
class Stabiliser {
 public:
  static constexpr int kWidth = 160;

  // Forgets the reference.
  void reset();
  // Sets the reference (the scene's luma, CV_32F or CV_8U, processing size).
  void set_reference(const cv::Mat &luma);
  bool has_reference() const { return !ref_.empty(); }
  // Offset d of `luma` (CV_8U, processing size) against the reference, in processing pixels:
  // luma(x) ~ reference(x - d). (0, 0) without a reference, or when no shift explains the frame
  // clearly better than none. `moving` (CV_8U, processing size, may be empty): pixels that
  // were not background lately (nonzero), left out of that verdict so that people walking
  // the same way cannot pass for the camera.
  cv::Point2d estimate(const cv::Mat &luma, const cv::Mat &moving = cv::Mat());
  // dst(x) = src(x + d) (bilinear): the frame moved back into the reference's coordinates.
  // Pixels that came from outside the frame are 0 in `valid` (CV_8U, 255 = inside), which is
  // left untouched when d is zero.
  static void align(const cv::Mat &src, cv::Mat &dst, cv::Point2d d);
  static void valid_area(cv::Size size, cv::Point2d d, cv::Mat &valid);
  // How many estimates ran the phase correlation (the others found the camera still).
  std::uint64_t searches() const { return searches_; }

  static constexpr double kMinResponse = 0.08;
  // A shift must lower the residual to this share of the residual at zero...
  static constexpr double kMinImprovement = 0.85;
  // ...and by at least this many 8-bit levels per pixel (a plain floor explains nothing).
  static constexpr double kMinDrop = 0.4;
  // Differences are truncated here: a person costs the same wherever the reference is.
  static constexpr float kTruncate = 24.0f;
  // After this many frames in a row without a believed shift, the camera counts as still: the
  // phase correlation (two DFTs, most of the cost) then runs on every kSearchEvery-th frame, or
  // when the residual at zero rises by kMinDrop from one frame to the next.
  static constexpr int kStillFrames = 25;
  static constexpr int kSearchEvery = 8;

 private:
  void shrink(const cv::Mat &src, cv::Mat &dst);
  // Windowed, zero-padded spectrum of a small CV_32F image (packed CCS, CV_32F).
  void spectrum(const cv::Mat &small, cv::Mat &out);
  // Mean truncated |cur_ - gain * reference(x - d)| over the inner part of the small frame,
  // d in correlation pixels.
  double residual(cv::Point2d d);
  // The phase correlation's candidate shift (correlation pixels) of cur_ against the reference;
  // NaN when its peak is too weak to trust.
  cv::Point2d find_peak();
  // Keeps the phase of each frequency of cross_ (packed), weighted by weight_.
  void normalise_cross();
  double scale_ = 1.0;  // processing pixels per correlation pixel
  cv::Size small_;
  cv::Size padded_;             // DFT size
  cv::Mat ref_;                 // spectrum of the reference (packed CCS, CV_32F at padded_)
  cv::Mat ref_small_;           // the reference itself at small_ (CV_32F)
  cv::Rect inner_;              // where residuals are measured (a search radius from the edges)
  cv::Point2d last_{0.0, 0.0};  // the shift believed last, correlation pixels
  int still_ = 0;               // frames in a row without a believed shift
  double last_zero_ = 0.0;      // the residual at zero of the frame before
  std::uint64_t searches_ = 0;
  double gain_ = 1.0;  // mean(frame) / mean(reference) of the current frame
  cv::Mat window_;     // Hanning window at small_
  cv::Mat weight_;     // low-frequency weight of the cross-power spectrum, at padded_
  cv::Mat cur_, spec_, cross_, surface_, pad_, moved_, diff_;
  cv::Mat shrunk_, moving_;  // scratch kept between frames
  std::vector<int> sums_;
  cv::Mat use_;  // CV_8U at small_ (inner part): 255 where the residual is measured
};

}  // namespace heatmap
