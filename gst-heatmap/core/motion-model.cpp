// motion-model.cpp: the OpenCV background subtractors and the opening of their masks.
#include "motion-model.h"

#include <opencv2/imgproc.hpp>

namespace heatmap {

std::uint64_t warmup_frames(Method method) {
  switch (method) {
    case Method::kKnn:
      return 4;
    case Method::kScene:
      return 0;
    default:
      return 1;
  }
}

void MotionModel::start(Method method, int history, double var_threshold, bool detect_shadows) {
  method_ = method;
  model_.release();
  scene_.release();
  if (method == Method::kScene) {
    scene_.start(history, var_threshold, detect_shadows);
  } else if (method == Method::kKnn) {
    model_ = cv::createBackgroundSubtractorKNN(history, var_threshold, detect_shadows);
  } else {
    model_ = cv::createBackgroundSubtractorMOG2(history, var_threshold, detect_shadows);
  }
  warmup_ = warmup_frames(method);
}

void MotionModel::release() {
  model_.release();
  scene_.release();
}

void MotionModel::apply(const cv::Mat &grey, double rate) {
  model_->apply(grey, mask_, rate);
}

const cv::Mat &MotionModel::open(const cv::Mat &mask, int kernel) {
  if (kernel <= 0) {
    return mask;
  }
  if (kernel_size_ != kernel) {
    kernel_ = cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(kernel, kernel));
    kernel_size_ = kernel;
  }
  cv::erode(mask, eroded_, kernel_);
  cv::dilate(eroded_, opened_, kernel_);
  return opened_;
}

void MotionModel::background_image(cv::Mat &out) const {
  if (model_.empty()) {
    out.release();
    return;
  }
  model_->getBackgroundImage(out);
}

}  // namespace heatmap
