// scene-model.h: the default motion model: colour (Y, U, V) background at processing size,
// compensated for camera movement and for global lighting changes, with shadow suppression.
#pragma once

#include "lighting.h"
#include "scene-settle.h"
#include "stabiliser.h"

#include <opencv2/core.hpp>

#include <cstdint>
#include <functional>
#include <vector>

namespace heatmap {

// What the scene model saw of the camera and the lights; posted with the heatmap.
struct SceneEvents {
  unsigned lighting_events = 0;  // sudden global lighting changes (each one re-learned)
  double camera_shift = 0.0;     // largest compensated camera offset, processing pixels
  bool camera_moved = false;     // the camera stayed shifted (>= kMovedShift) for a second
};

// A per-pixel Gaussian on luma and on chroma (single mode: a fixed camera over a floor), with
//  - look-ahead start: the first kWarmup frames are kept, aligned to the first one, and the
//    scene starts as their per-pixel median (people walk out of it), then they are classified
//    like every later frame, so no frame is lost and no ghost is left where people stood;
//  - camera: every frame is moved back by the offset the Stabiliser measures against the
//    scene, so jitter is removed and a knocked camera keeps counting on the same floor;
//  - lighting: each frame's gain, luma offset and white balance against the scene are removed
//    before the comparison (exposure and white-balance hunting); a sudden change of gain, or
//    a flood of foreground that no crowd makes, is a lighting event: those frames are not
//    counted and the scene is re-learned at once;
//  - classification: one Mahalanobis distance over luma and chroma against var-threshold;
//    chroma is left out where a colour channel is near saturation (seen or predicted);
//  - ghosts: a pixel foreground for a while that the scene of a background neighbour
//    explains takes that neighbour's scene (so a start with people standing, who then leave,
//    clears in a few frames, while people themselves, walking or paused, stay whole);
//  - shadows: darker than the scene by a ratio in [kShadowLow, kShadowHigh] with the chroma
//    of the scene scaled by that ratio (within a tolerance that shrinks with it as well):
//    marked kShadowValue (127), not motion by default.
// Masks use MOG2's values (0, 127, 255). Not thread-safe.
class SceneModel {
 public:
  static constexpr int kWarmup = 24;

  // Called with the mask of each frame, in order, and whether the frame counts (false on
  // lighting-event frames; the mask is then all zero).
  using MaskSink = std::function<void(const cv::Mat &mask, bool counts)>;

  void start(int history, double var_threshold, bool detect_shadows);
  // Which pixels count (CV_8U at processing size, 0 = masked; empty = all, the default): masked
  // pixels are still modelled but left out of every global estimate (camera offset, lighting
  // gain and the foreground share that flags a lighting event), so a TV screen or a revolving
  // door in the mask cannot pass for a camera knock or a light switch. Kept across start().
  void set_counted(const cv::Mat &counted);
  void release();
  bool empty() const { return !started_; }
  // Feeds one frame (CV_8U at processing size; u and v empty for grey sources) learning at
  // `rate` (-1: automatic, 1/history). Masks come out through `sink`, possibly later (the
  // first kWarmup frames come out together once the scene is known).
  void apply(const cv::Mat &y, const cv::Mat &u, const cv::Mat &v, double rate,
             const MaskSink &sink);
  // Classifies the frames still held back for the start (a stream shorter than kWarmup).
  void flush(const MaskSink &sink);
  // The latest frame's mask (0, 127, 255); empty before the first classified frame.
  const cv::Mat &mask() const { return mask_; }
  // The learned scene: Y, U, V means (CV_8U each; U and V empty for grey sources).
  void background(cv::Mat &y, cv::Mat &u, cv::Mat &v) const;
  const SceneEvents &events() const { return events_; }

 private:
  struct Held {
    cv::Mat y, u, v;
    double rate;
  };
  void initialise();
  // The scene's means (and, with `spreads`, its spreads) from the held frames, each taken to
  // the scene's lighting by its matrix on (Y, U - 128, V - 128) first.
  void learn_look_ahead(const std::vector<cv::Matx33f> &to_scene, bool colour, bool spreads);
  // learn_look_ahead when every matrix is the identity (a steady camera): the same floats, found
  // on the bytes, many pixels at once.
  void learn_look_ahead_bytes(bool colour, bool spreads);
  void classify(const cv::Mat &y, const cv::Mat &u, const cv::Mat &v, double rate,
                const MaskSink &sink);
  // Takes the frame back to the scene's white balance (into wb_y_, wb_u_, wb_v_) when its
  // colour channels' gains differ; false (nothing done) when they do not.
  bool white_balance(const cv::Mat &y, const cv::Mat &u, const cv::Mat &v, const cv::Mat &use);
  // Shadow candidates whose darkening is not smooth become motion.
  void settle_shadows();
  // Foreground pixels that the scene of a background neighbour explains take that neighbour's
  // scene and become background; returns how many did.
  std::size_t settle_ghosts(const cv::Mat &ay, const cv::Mat &au, const cv::Mat &av,
                            const Photometric &p);
  void camera(const cv::Mat &y, const cv::Mat &u, const cv::Mat &v, cv::Mat &ay, cv::Mat &au,
              cv::Mat &av);

  int history_ = 500;
  double threshold_ = 16.0;
  bool shadows_ = true;
  bool started_ = false;
  bool colour_ = false;
  std::vector<Held> held_;  // look-ahead frames (already aligned to the first)
  cv::Mat my_, mu_, mv_;    // scene means, CV_32F
  cv::Mat vy_, vc_;         // variances of luma and of one chroma channel, CV_32F
  cv::Mat mask_;
  cv::Mat counted_;  // CV_8U: 0 where the user's mask excludes the pixel; empty: all count
  cv::Mat ignored_;  // scratch: moving or excluded, for the stabiliser
  cv::Mat use_;      // scratch: where the lighting is measured
  PhotometricScratch photometric_scratch_;
  cv::Mat ratio_;  // CV_32F: frame / predicted luma (shadow smoothness), rows with candidates
  std::vector<float> ratio_row_;  // the row being classified's ratios
  cv::Mat streak_;                // CV_16U: frames each pixel has been foreground in a row
  cv::Mat valid_;                 // CV_8U: 255 where the aligned frame has pixels
  cv::Mat fresh_;     // CV_8U: frames left for a pixel that took a neighbour's scene to settle
  cv::Mat borrowed_;  // CV_32S read as uint32: the frame (frames_ + 1, wrapping) in which a pixel
                      // last took a neighbour's scene in the ghost pass; 0: never
  // Per row of the latest frame: whether it holds shadow candidates, and possible ghosts.
  std::vector<std::uint8_t> shadow_rows_, ghost_rows_;
  std::vector<std::uint8_t> settled_rows_;  // rows where the ghost pass settled a pixel
  scene::ShadowScratch shadow_scratch_;
  bool all_valid_ = true;
  cv::Mat ay_, au_, av_;        // aligned frame
  cv::Mat wb_y_, wb_u_, wb_v_;  // the frame at the scene's white balance
  Stabiliser stabiliser_;
  std::uint64_t frames_ = 0;  // classified frames since the start
  // frames_ when the scene was last learned whole (the look-ahead, the re-learn after a lighting
  // event): pixels foreground without a break since then may be ghosts of what stood there.
  std::uint64_t learned_at_ = kWarmup;
  double gain_ = 1.0;      // gain of the last frame that was not a lighting event
  double offset_ = 0.0;    // luma offset of the latest frame (frame ~ gain * scene + offset)
  double coverage_ = 0.0;  // running mean of the foreground share
  bool in_event_ = false;
  int relearn_ = 0;              // frames left in a re-learn after a lighting event
  cv::Point2d drift_{0.0, 0.0};  // running mean of the camera offset
  int moved_frames_ = 0;
  SceneEvents events_;
};

}  // namespace heatmap
