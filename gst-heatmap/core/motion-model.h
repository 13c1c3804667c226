// motion-model.h: how motion is decided: the background subtractor and the mask's clean-up.
#pragma once

#include <opencv2/core.hpp>
#include <opencv2/video/background_segm.hpp>

#include "scene-model.h"

#include <cstdint>

namespace heatmap {

// kScene: the colour scene model with camera and lighting compensation (scene-model.h);
// kMog2 / kKnn: OpenCV's subtractors on the small luma frame.
enum class Method { kMog2, kKnn, kScene };

// MOG2 and KNN mark shadows with this value in the foreground mask.
constexpr std::uint8_t kShadowValue = 127;

// Frames the model needs before its mask means anything: MOG2 marks the whole first frame as
// foreground, KNN the first four (its sample sets are still filling). The scene model holds its
// first frames back until it knows the scene, then classifies them too: none.
std::uint64_t warmup_frames(Method method);

// One background subtractor at processing size, plus the morphological opening of its mask.
// For kScene the work is the SceneModel's (scene()); apply() and mask() are for MOG2/KNN.
// Not thread-safe; used by one thread at a time.
class MotionModel {
 public:
  // (Re)creates the subtractor; forgets everything learned.
  void start(Method method, int history, double var_threshold, bool detect_shadows);
  void release();
  bool empty() const { return method_ == Method::kScene ? scene_.empty() : model_.empty(); }
  Method method() const { return method_; }
  SceneModel &scene() { return scene_; }
  const SceneModel &scene() const { return scene_; }
  // Frames after start() whose masks mean nothing (see warmup_frames()).
  std::uint64_t warmup() const { return warmup_; }

  // Classifies `grey` (CV_8UC1) and learns from it at `rate` (-1: automatic). The mask
  // (0, kShadowValue, 255) is then in mask().
  void apply(const cv::Mat &grey, double rate);
  const cv::Mat &mask() const { return mask_; }
  // mask() after a morphological opening with an elliptic kernel of `kernel` pixels (0: mask()
  // itself). The opening keeps the values 0, kShadowValue and 255 (erosion and dilation pick
  // existing values).
  const cv::Mat &opened(int kernel) { return open(mask_, kernel); }
  // The same opening of any mask (the result lives until the next call).
  const cv::Mat &open(const cv::Mat &mask, int kernel);
  // The subtractor's own background image (may be empty, BGR or grey).
  void background_image(cv::Mat &out) const;

 private:
  Method method_ = Method::kMog2;
  cv::Ptr<cv::BackgroundSubtractor> model_;
  SceneModel scene_;
  std::uint64_t warmup_ = 1;
  cv::Mat kernel_;
  int kernel_size_ = 0;
  cv::Mat mask_;    // subtractor output
  cv::Mat eroded_;  // opening scratch
  cv::Mat opened_;
};

}  // namespace heatmap
