// background.h: the learned empty scene of a colour stream, a per-pixel median of samples.
#pragma once

#include <opencv2/core.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace heatmap {

// The colour background is the per-pixel median of small colour frames sampled across the
// stream. A sample costs a chroma resize and a conversion, so it is taken on every Nth
// processed frame only; when kBackgroundSamples are stored, every other one is dropped and N
// doubles, so the samples always span the whole stream in bounded memory (4 bytes per pixel
// per sample).
constexpr std::uint64_t kBackgroundEvery = 8;
constexpr std::size_t kBackgroundSamples = 16;

// Which frames become samples; kept by the thread that submits frames (it must know before
// the model runs whether to make the colour frame).
class SampleSchedule {
 public:
  // True when frame number `index` (0-based since the last reset) is to be sampled.
  bool take(std::uint64_t index);
  void reset();

 private:
  std::uint64_t stride_ = kBackgroundEvery;
  std::size_t taken_ = 0;
};

// The samples and their median; kept by the thread that runs the model.
class SceneMedian {
 public:
  // Stores the sample of frame `index` (BGR at processing size) with the subtractor's mask at
  // that frame (nonzero = moving or shadow; empty = the model knows nothing yet, all
  // background). Thins the samples out when there are kBackgroundSamples, mirroring
  // SampleSchedule.
  void add(std::uint64_t index, const cv::Mat &bgr, const cv::Mat &mask);
  void clear();
  std::size_t size() const { return samples_.size(); }
  // Per-pixel, per-channel median of the samples where the subtractor saw background; of all
  // samples where it rarely did (a spot where people stood all the time). Empty when there are
  // no samples of that size.
  cv::Mat median(cv::Size size) const;
  // A copy sharing the sample buffers (no pixels copied), whose median() can be taken later on
  // another thread: add() never reuses a buffer that a copy still holds.
  SceneMedian share() const;

 private:
  struct Sample {
    std::uint64_t index;
    cv::Mat bgr;   // CV_8UC3
    cv::Mat mask;  // subtractor's mask at that frame: nonzero = moving (or shadow)
  };
  std::vector<Sample> samples_;
  std::vector<Sample> spare_;  // buffers of thinned-out samples, reused by the next ones
};

}  // namespace heatmap
