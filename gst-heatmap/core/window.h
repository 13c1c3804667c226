// window.h: what a periodic heatmap covers: everything so far, each interval, or recent motion.
#pragma once

#include <opencv2/core.hpp>

#include <cstdint>

namespace heatmap {

enum class WindowMode {
  kCumulative,  // every frame since the stream started (the EOS-only behaviour)
  kReset,       // each interval on its own: the windows add up to the cumulative map
  kDecay,       // exponentially fading: a frame `half_life` seconds old weighs half
};

// Per-pixel motion over a window of stream time, fed with count increments taken from the
// accumulator (heatmap::Accumulator counts the motion; a Window only decides what to keep).
//
// cumulative and reset keep exact 32-bit totals; map() saturates them at 65535 for the 16-bit
// PNG (the accumulator's own limit), so they stay exact integers up to there.
//
// decay keeps D = sum over frames of motion * 2^-(age / half_life) and the same sum W over
// frames with motion 1, and map() is 65535 * D / W, rounded: the exponentially weighted share
// of recent frames in which the pixel moved, 65535 = moved in every frame. Ages are measured
// from the time each increment was added (add()'s t_s), so the caller adds often (at least
// every half_life / 64) for the weights to follow the formula within about 1%.
class Window {
 public:
  explicit Window(WindowMode mode = WindowMode::kCumulative, double half_life_s = 60.0);

  WindowMode mode() const { return mode_; }
  double half_life() const { return half_life_; }

  // Adds `delta` (CV_16UC1: frames in which each pixel moved) counted over `frames` processed
  // frames, at stream time t_s (seconds, non-decreasing). A delta of another size than before
  // starts the window afresh (the accumulator restarted at a new frame size).
  void add(const cv::Mat &delta, std::uint64_t frames, double t_s);

  // The window's map, CV_16UC1 (see the class comment); empty before the first add().
  // (decay: D and W age by the same factor, so the map only changes when frames are added.)
  cv::Mat map() const;
  // Processed frames the map covers (decay: all frames added since the start).
  std::uint64_t frames() const { return frames_; }
  // decay: W, the weighted number of frames at the last add (frames() for the others).
  double weight() const { return weight_; }

  // Ends an interval: reset mode forgets the totals (the size is kept); others keep going.
  void end_interval();
  // Forgets everything (a new stream or a flush).
  void clear();

 private:
  WindowMode mode_;
  double half_life_;
  cv::Mat totals_;  // CV_32SC1 (cumulative, reset) or CV_32FC1 (decay, D)
  std::uint64_t frames_ = 0;
  double weight_ = 0;  // decay: W
  double last_t_ = 0;  // decay: time of the last add
};

}  // namespace heatmap
