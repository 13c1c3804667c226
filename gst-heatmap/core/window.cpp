// window.cpp: cumulative, reset and exponentially decaying motion windows.
#include "window.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace heatmap {

namespace {

double decay_factor(double dt, double half_life) {
  return dt <= 0 ? 1.0 : std::exp2(-dt / half_life);
}

}  // namespace

Window::Window(WindowMode mode, double half_life_s) : mode_(mode), half_life_(half_life_s) {
  if (mode == WindowMode::kDecay && !(half_life_s > 0))
    throw std::invalid_argument("heatmap: a decay window needs a half-life above 0 s");
}

void Window::add(const cv::Mat &delta, std::uint64_t frames, double t_s) {
  if (delta.empty())
    return;
  if (delta.type() != CV_16UC1)
    throw std::invalid_argument("heatmap: Window::add needs CV_16UC1 counts");
  const int type = mode_ == WindowMode::kDecay ? CV_32FC1 : CV_32SC1;
  if (totals_.size() != delta.size()) {
    totals_ = cv::Mat::zeros(delta.size(), type);
    frames_ = 0;
    weight_ = 0;
    last_t_ = t_s;
  }
  frames_ += frames;
  if (mode_ == WindowMode::kDecay) {
    const double f = decay_factor(t_s - last_t_, half_life_);
    cv::Mat d;
    delta.convertTo(d, CV_32F);
    cv::scaleAdd(totals_, f, d, totals_);  // totals = totals * f + delta
    weight_ = weight_ * f + static_cast<double>(frames);
    last_t_ = std::max(last_t_, t_s);
    return;
  }
  cv::Mat d;
  delta.convertTo(d, CV_32S);
  totals_ += d;
  weight_ = static_cast<double>(frames_);
}

cv::Mat Window::map() const {
  if (totals_.empty())
    return cv::Mat();
  cv::Mat out;
  if (mode_ == WindowMode::kDecay) {
    if (weight_ <= 0)
      return cv::Mat::zeros(totals_.size(), CV_16UC1);
    totals_.convertTo(out, CV_16U, 65535.0 / weight_);  // rounds and saturates
    return out;
  }
  totals_.convertTo(out, CV_16U);  // saturates at 65535
  return out;
}

void Window::end_interval() {
  if (mode_ == WindowMode::kReset && !totals_.empty()) {
    totals_.setTo(0);
    frames_ = 0;
    weight_ = 0;
  }
}

void Window::clear() {
  totals_.release();
  frames_ = 0;
  weight_ = 0;
  last_t_ = 0;
}

}  // namespace heatmap
