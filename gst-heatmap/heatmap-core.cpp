// heatmap-core.cpp: background subtraction, per-pixel motion counts and heatmap rendering.
#include "heatmap-core.h"

#include <stdexcept>

namespace heatmap {

struct Accumulator::Impl {
  Settings settings;
  cv::Mat counts;
  cv::Mat background;
  std::uint64_t frames = 0;
};

Accumulator::Accumulator(const Settings &settings) : impl_(std::make_unique<Impl>()) {
  impl_->settings = settings;
}
Accumulator::~Accumulator() = default;

void Accumulator::reset() {
  impl_->counts.release();
  impl_->background.release();
  impl_->frames = 0;
}
void Accumulator::set_settings(const Settings &settings) { impl_->settings = settings; }
const Settings &Accumulator::settings() const { return impl_->settings; }
void Accumulator::add_frame(const FrameView &) { throw std::logic_error("not implemented yet"); }
void Accumulator::add_frame(const cv::Mat &) { throw std::logic_error("not implemented yet"); }
const cv::Mat &Accumulator::counts() const { return impl_->counts; }
cv::Mat Accumulator::background() const { return impl_->background; }
Stats Accumulator::stats() const { return Stats(); }

cv::Mat render(const cv::Mat &counts, const cv::Mat &, const RenderSettings &) {
  return cv::Mat(counts.size(), CV_8UC3, cv::Scalar::all(0));
}
bool write_jpeg(const std::string &path, const cv::Mat &, int, std::string *error) {
  if (error) *error = "cannot write " + path + ": not implemented yet";
  return false;
}
bool write_counts_png(const std::string &path, const cv::Mat &, std::string *error) {
  if (error) *error = "cannot write " + path + ": not implemented yet";
  return false;
}

}  // namespace heatmap
