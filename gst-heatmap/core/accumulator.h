// accumulator.h: per-pixel motion counts of a stream, the model run on a worker thread.
#pragma once

#include "background.h"
#include "frame.h"
#include "mask.h"
#include "motion-model.h"

#include <opencv2/core.hpp>

#include <cstdint>
#include <functional>
#include <memory>

namespace heatmap {

struct Settings {
  double downscale = 0.25;  // (0, 1]: processing size = round(size * downscale), at least 1
  // A larger picture is taken, in effect, to this area first (frame.h, processing_size): at
  // the defaults 1080p and 4K are processed at 320x180, as 720p is. 0: no limit.
  long max_input_pixels = kDefaultMaxInputPixels;
  Method method = Method::kScene;
  int history = 500;            // frames the background model remembers
  double var_threshold = 16.0;  // MOG2 varThreshold / KNN dist2Threshold (KNN default is 400)
  bool detect_shadows = true;
  bool keep_shadows = false;    // count shadow pixels (127 in the mask) as motion
  double learning_rate = -1.0;  // -1: automatic (1/history), else [0, 1]
  int open_kernel = 3;          // morphological opening size in processing pixels, 0 = off
  // Run the model on a worker thread owned by the Accumulator, so that add_frame() only costs
  // the caller the downscale (the streaming thread goes back to the decoder sooner). Results are
  // identical either way for MOG2: frames are processed in order (queue_bytes of them queued at
  // most; add_frame waits when the model falls behind, it never drops a frame) and every query
  // (counts(), background(), stats(), reset()) first waits for the queued frames. A failure on the
  // worker is rethrown by the next call. OpenCV's own thread pool is left as the application set it
  // (cv::setNumThreads is process-wide): measured, it neither saves nor costs CPU here. (KNN draws
  // on OpenCV's per-thread RNG, so its counts can differ slightly from run to run when threaded is
  // false and the calling thread has used that RNG before.)
  bool threaded = true;
  // How much add_frame() may queue for the worker: this many bytes of small frames (Y, U and V
  // at processing size), at least 3 frames and at most 16 (16 at 480x270 by default). A file's
  // decoder then runs on while the model catches up (the model's cost per frame is uneven: the
  // look-ahead, a search for the camera), where a shallow queue would stall it at every
  // hiccup. A live stream wants 0 (3 frames), so that its map never lags. From the next frame.
  std::size_t queue_bytes = std::size_t{6} << 20;
};

// Summary of an accumulation, as posted in the element's `heatmap` message.
struct Stats {
  std::uint64_t frames_processed = 0;
  int width = 0;  // processing (and output) size
  int height = 0;
  std::uint16_t max_count = 0;
  double motion_coverage = 0.0;  // fraction of pixels with count > 0
  // From the scene model (method kScene; zero/false for MOG2 and KNN):
  unsigned lighting_events = 0;  // sudden global lighting changes re-learned (frames not counted)
  double camera_shift = 0.0;     // largest compensated camera offset, processing pixels
  bool camera_moved = false;     // the camera stayed shifted: the map may be smeared
};

// Accumulates, per pixel at processing resolution, the number of processed frames in which the
// pixel was foreground (saturating at 65535). Not thread-safe; one instance per stream.
class Accumulator {
 public:
  explicit Accumulator(const Settings &settings = Settings());
  ~Accumulator();
  Accumulator(const Accumulator &) = delete;
  Accumulator &operator=(const Accumulator &) = delete;

  // Forgets everything (model, counts, background); the next frame starts afresh, at any size.
  void reset();
  // Changes settings; model settings take effect after the next reset(). (Precisely: method,
  // history, var_threshold, detect_shadows and downscale are fixed when the model is created
  // at the first frame after a reset; learning_rate, keep_shadows and open_kernel apply from
  // the next frame.)
  void set_settings(const Settings &settings);
  const Settings &settings() const;

  // Feeds one full-resolution frame. A frame of a different size than the previous ones
  // resets the accumulator first. Throws std::invalid_argument on a malformed view.
  // The first frames after a reset only seed the model (MOG2 marks all of the first frame as
  // moving, KNN the first four), so they count in frames_processed but never in the counts;
  // they are learned at the automatic rate whatever learning_rate says.
  void add_frame(const FrameView &frame);
  // The same with a caller's tag (e.g. the frame's stream time), handed to the motion observer.
  void add_frame(const FrameView &frame, std::int64_t tag);
  // Like add_frame(), but never waits for a busy model: when the worker still has 3 frames or
  // more to do (add_frame would queue more, a live picture must not lag), the frame is dropped (not
  // counted, not in frames_processed) and false is returned, before any work is spent on it. A live
  // camera prefers a slightly sparser heatmap to a stalled picture. A frame of a new size or
  // grey/colour kind, which restarts the model, is dropped the same way while the model still has
  // any frame or task to finish (the restart would wait for them); the first one that finds it idle
  // restarts it (after 25 such frames in a row the next one waits instead, so the restart always
  // comes).
  bool try_add_frame(const FrameView &frame, std::int64_t tag);
  // Feeds a cv::Mat: CV_8UC1 (grey), CV_8UC3 (BGR) or CV_8UC4 (BGRx).
  void add_frame(const cv::Mat &frame, std::int64_t tag = -1);

  // Which pixels count: masked pixels (0 in mask.raster()) never count and are excluded from
  // the model's global estimates. Applies from the next model start (first frame after a
  // reset or a change of frame size), like downscale. An empty Mask counts everything.
  void set_mask(const Mask &mask);
  // The mask at processing size (CV_8UC1, 255 = counted), empty without a mask or before the
  // first frame.
  cv::Mat mask() const;

  // Called for every processed frame, in order, on the thread that runs the model (the
  // worker, when threaded), with the frame's tag and its counted motion: CV_8UC1 at processing
  // size, 255 where the frame adds to the counts, else 0 (all 0 while the model warms up).
  // The Mat is only valid during the call. Queries (counts(), stats(), ...) wait for queued
  // frames, so after one of them every frame given so far has been observed.
  using MotionObserver = std::function<void(std::int64_t tag, const cv::Mat &motion)>;
  void set_motion_observer(MotionObserver observer);

  // Raw counts, CV_16UC1 at processing size; empty before the first frame.
  const cv::Mat &counts() const;
  // The scene without the moving things, at processing size (CV_8UC3 BGR, or CV_8UC1 for
  // grey sources); empty before the first frame.
  // With the scene model (the default) it is the model's own Y, U, V means, in BGR. MOG2 and
  // KNN run on luma only, so for colour sources it is then the per-pixel median of small
  // colour frames sampled across the stream (every 8th processed frame, thinned to at most 16
  // spread over the whole stream), taken over the samples in which the subtractor classed the
  // pixel as background (over all samples where that was under a quarter of them). With one
  // sample, i.e. until the 8th frame, that is the first frame. For GRAY8 sources it is the
  // subtractor's own getBackgroundImage() (the first frame until the model has one).
  cv::Mat background() const;
  Stats stats() const;
  // Frames handed to add_frame() that the model has not finished yet (0 when not threaded).
  // Queries wait for them; a live caller that can choose its moment (the overlay refresh)
  // asks when this is 0, so the query costs it no wait.
  int frames_queued() const;
  // Returns the counts added since the previous take_counts() (or reset) and zeroes them
  // (the scene model's held frames are classified first: asking settles its look-ahead early),
  // leaving the model and the background alone: periodic windows (window.h) take their
  // increments this way, so counts never saturate on a stream that runs for months. Empty
  // before the first frame.
  cv::Mat take_counts();

  // The learned scene at one moment, taken cheaply (the scene model's 8-bit means, or the
  // colour samples shared, not copied) and made into the picture later, on any thread:
  // picture() is what background() returned at that moment.
  class SceneCapture {
   public:
    cv::Mat picture() const;
    bool empty() const { return ready_.empty() && y_.empty() && !samples_; }

   private:
    friend class Accumulator;
    cv::Mat ready_;      // grey sources: the subtractor's image or the first frame
    cv::Mat y_, u_, v_;  // the scene model's means (u_, v_ empty for grey sources)
    YuvMatrix matrix_ = YuvMatrix::kBt601;
    bool full_range_ = false;
    std::shared_ptr<const SceneMedian> samples_;  // MOG2/KNN colour: median taken in picture()
    cv::Size size_;
  };

  // The model between two frames, as a task posted with post() sees it (on the model's thread).
  class State {
   public:
    cv::Mat take_counts();       // as Accumulator::take_counts()
    Stats stats() const;         // as Accumulator::stats()
    SceneCapture scene() const;  // background(), to be made into a picture later

   private:
    friend class Accumulator;
    explicit State(Accumulator &a) : a_(a) {}
    Accumulator &a_;
  };
  using Task = std::function<void(State &)>;
  // Runs `task` on the model's thread once the frames given so far are processed, in order
  // with later frames and tasks, and returns at once: a live caller ends a window this way
  // without waiting for a busy model. Not threaded: runs it now. Queries and reset() wait for
  // the posted tasks too; a task that throws is rethrown by the next call, like a frame's
  // failure.
  void post(Task task);
  // Waits until every frame and task given so far is done; rethrows a failure.
  void wait_idle();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Adds 1 to `counts` (CV_16UC1, saturating at 65535) wherever `mask` (CV_8UC1, same size, a
// subtractor mask: 0, 127 = shadow, 255) shows motion; shadows count only with keep_shadows.
// The accumulator's own counting step, public so that aggregations can use it too.
void count_foreground(const cv::Mat &mask, bool keep_shadows, cv::Mat &counts);

}  // namespace heatmap
