// background.cpp: sampling the stream's colour frames and taking their per-pixel median.
#include "background.h"

#include <algorithm>
#include <utility>

namespace heatmap {

bool SampleSchedule::take(std::uint64_t index) {
  if (index % stride_ != 0) {
    return false;
  }
  if (++taken_ == kBackgroundSamples) {
    // Mirrors SceneMedian::add(), which is about to drop every other sample.
    taken_ = kBackgroundSamples / 2;
    stride_ *= 2;
  }
  return true;
}

void SampleSchedule::reset() {
  stride_ = kBackgroundEvery;
  taken_ = 0;
}

void SceneMedian::add(std::uint64_t index, const cv::Mat &bgr, const cv::Mat &mask) {
  Sample sample{index, cv::Mat(), cv::Mat()};
  // Reuse the buffers of a dropped sample where possible, unless a share() still holds them.
  if (!spare_.empty()) {
    const Sample &spare = spare_.back();
    const auto alone = [](const cv::Mat &m) { return m.u != nullptr && m.u->refcount == 1; };
    if (alone(spare.bgr) && alone(spare.mask)) {
      sample.bgr = spare.bgr;
      sample.mask = spare.mask;
    }
    spare_.pop_back();
  }
  bgr.copyTo(sample.bgr);
  if (mask.empty()) {
    sample.mask.create(bgr.size(), CV_8UC1);
    sample.mask.setTo(0);  // the model knows nothing yet: take the frame as it is
  } else {
    mask.copyTo(sample.mask);
  }
  samples_.push_back(std::move(sample));
  if (samples_.size() == kBackgroundSamples) {
    const std::uint64_t stride = 2 * (samples_[1].index - samples_[0].index);
    std::vector<Sample> kept;
    for (Sample &s : samples_) {
      (s.index % stride == 0 ? kept : spare_).push_back(std::move(s));
    }
    samples_ = std::move(kept);
  }
}

SceneMedian SceneMedian::share() const {
  SceneMedian copy;
  copy.samples_ = samples_;
  return copy;
}

void SceneMedian::clear() {
  samples_.clear();
}

cv::Mat SceneMedian::median(cv::Size size) const {
  const std::size_t n = samples_.size();
  if (n == 0 || samples_[0].bgr.size() != size) {
    return cv::Mat();  // nothing to take a median of (render() then draws the colormap alone)
  }
  cv::Mat out(size, CV_8UC3);
  std::vector<std::uint8_t> v[3];
  std::vector<const std::uint8_t *> rows(n), masks(n);
  for (int y = 0; y < size.height; ++y) {
    for (std::size_t k = 0; k < n; ++k) {
      rows[k] = samples_[k].bgr.ptr<std::uint8_t>(y);
      masks[k] = samples_[k].mask.ptr<std::uint8_t>(y);
    }
    std::uint8_t *o = out.ptr<std::uint8_t>(y);
    for (int x = 0; x < size.width; ++x) {
      for (auto &c : v) {
        c.clear();
      }
      for (std::size_t k = 0; k < n; ++k) {
        if (masks[k][x] == 0) {
          for (int ch = 0; ch < 3; ++ch) {
            v[ch].push_back(rows[k][3 * x + ch]);
          }
        }
      }
      if (v[0].size() * 4 < n) {
        for (auto &c : v) {
          c.clear();
        }
        for (std::size_t k = 0; k < n; ++k) {
          for (int ch = 0; ch < 3; ++ch) {
            v[ch].push_back(rows[k][3 * x + ch]);
          }
        }
      }
      for (int ch = 0; ch < 3; ++ch) {
        auto mid = v[ch].begin() + v[ch].size() / 2;
        std::nth_element(v[ch].begin(), mid, v[ch].end());
        o[3 * x + ch] = *mid;
      }
    }
  }
  return out;
}

}  // namespace heatmap
