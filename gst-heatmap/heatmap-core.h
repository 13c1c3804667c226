// heatmap-core.h: motion accumulation and heatmap rendering, free of GObject/GStreamer.
#pragma once

#include <opencv2/core.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace heatmap {

enum class Method { kMog2, kKnn };

// Pixel layouts the accumulator reads directly, without a full-resolution colour conversion.
enum class PixelFormat {
  kGray8,  // 1 plane
  kI420,   // 3 planes: Y, U, V (chroma subsampled 2x2)
  kYV12,   // 3 planes: Y, V, U
  kNV12,   // 2 planes: Y, interleaved UV (2x2)
  kNV21,   // 2 planes: Y, interleaved VU (2x2)
  kY42B,   // 3 planes, chroma subsampled 2x1
  kY444,   // 3 planes, no subsampling
  kBGR,    // packed 3 bytes
  kRGB,
  kBGRx,  // packed 4 bytes (also BGRA)
  kRGBx,  // packed 4 bytes (also RGBA)
  kxRGB,  // packed 4 bytes (also ARGB)
  kxBGR,  // packed 4 bytes (also ABGR)
};

// How YUV maps to RGB when a colour background image is needed.
enum class YuvMatrix { kBt601, kBt709 };

// One plane of a frame: pointer to the first byte and bytes per row.
struct Plane {
  const std::uint8_t *data = nullptr;
  std::size_t stride = 0;
};

struct FrameView {
  PixelFormat format = PixelFormat::kGray8;
  int width = 0;  // full-resolution size
  int height = 0;
  Plane planes[3];
  YuvMatrix matrix = YuvMatrix::kBt601;
  bool full_range = false;  // YUV: 0..255 (JPEG) instead of 16..235
};

struct Settings {
  double downscale = 0.25;  // (0, 1]: processing size = round(size * downscale), at least 1
  Method method = Method::kMog2;
  int history = 500;            // frames the background model remembers
  double var_threshold = 16.0;  // MOG2 varThreshold / KNN dist2Threshold (KNN default is 400)
  bool detect_shadows = true;
  bool keep_shadows = false;    // count shadow pixels (127 in the mask) as motion
  double learning_rate = -1.0;  // -1: automatic (1/history), else [0, 1]
  int open_kernel = 3;          // morphological opening size in processing pixels, 0 = off
  // Run the model on a worker thread owned by the Accumulator, so that add_frame() only costs
  // the caller the downscale (the streaming thread goes back to the decoder sooner). Results are
  // identical either way for MOG2: frames are processed in order (at most 3 queued; add_frame
  // waits when the model falls behind, it never drops a frame) and every query (counts(),
  // background(), stats(), reset()) first waits for the queued frames. A failure on the worker
  // is rethrown by the next call. OpenCV's own thread pool is left as the application set it
  // (cv::setNumThreads is process-wide): measured, it neither saves nor costs CPU here.
  // (KNN draws on OpenCV's per-thread RNG, so its counts can differ slightly from run to run
  // when threaded is false and the calling thread has used that RNG before.)
  bool threaded = true;
};

struct RenderSettings {
  bool use_background = true;  // blend over the scene; false: colormap alone
  double alpha = 0.6;          // [0, 1]: strength of the heat overlay at the hottest pixels
  int colormap = 2;            // cv::ColormapTypes value, 2 = cv::COLORMAP_JET
  double blur = 3.0;           // Gaussian sigma in output pixels, 0 = off
};

// Summary of an accumulation, as posted in the element's `heatmap` message.
struct Stats {
  std::uint64_t frames_processed = 0;
  int width = 0;  // processing (and output) size
  int height = 0;
  std::uint16_t max_count = 0;
  double motion_coverage = 0.0;  // fraction of pixels with count > 0
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
  // Feeds a cv::Mat: CV_8UC1 (grey), CV_8UC3 (BGR) or CV_8UC4 (BGRx).
  void add_frame(const cv::Mat &frame);

  // Raw counts, CV_16UC1 at processing size; empty before the first frame.
  const cv::Mat &counts() const;
  // The scene without the moving things, at processing size (CV_8UC3 BGR, or CV_8UC1 for
  // grey sources); empty before the first frame.
  // The model runs on luma only, so for colour sources this is the per-pixel median of small
  // colour frames sampled across the stream (every 8th processed frame, thinned to at most 16
  // spread over the whole stream), taken over the samples in which the subtractor classed the
  // pixel as background (over all samples where that was under a quarter of them). With one
  // sample, i.e. until the 8th frame, that is the first frame. For GRAY8 sources it is the
  // subtractor's own getBackgroundImage() (the first frame until the model has one).
  cv::Mat background() const;
  Stats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Adds 1 to `counts` (CV_16UC1, saturating at 65535) wherever `mask` (CV_8UC1, same size, a
// subtractor mask: 0, 127 = shadow, 255) shows motion; shadows count only with keep_shadows.
// The accumulator's own counting step, public so that aggregations can use it too.
void count_foreground(const cv::Mat &mask, bool keep_shadows, cv::Mat &counts);

// Downscales one 8-bit plane to `size` as cv::resize(INTER_AREA) does (mean over each source
// area), with a faster path for exact 2x and 4x reductions; `scratch` is reusable working
// memory. The accumulator's luma downscale, public for benchmarks and tests.
void downscale_plane(const cv::Mat &src, cv::Mat &dst, cv::Size size,
                     std::vector<std::uint16_t> &scratch);

// Renders counts (CV_16UC1) into a BGR heatmap of the same size: the counts are smoothed
// (Gaussian, sigma = blur, in float), divided by their maximum and coloured with the colormap;
// each pixel is blended over the background with weight alpha * f(n), n the normalised smoothed
// count, f(0) = 0 and f rising as (n/0.5)^1.5 to 1 at half the maximum. So pixels with no
// motion (and none within the blur's reach) show the background exactly, faint motion barely
// tints it and walkways stand out. A grey background is expanded to BGR; one of another size
// is resized to the counts'. An empty background renders the colormap alone, as does
// settings.use_background == false. All-zero counts give the background unchanged (or the
// colormap's zero colour without one).
cv::Mat render(const cv::Mat &counts, const cv::Mat &background, const RenderSettings &settings);

// Atomic writers: write to a temporary file beside `path`, then rename. On failure they return
// false, leave nothing behind, and set *error to a one-line message naming the path.
bool write_jpeg(const std::string &path, const cv::Mat &bgr, int quality, std::string *error);
bool write_counts_png(const std::string &path, const cv::Mat &counts, std::string *error);

}  // namespace heatmap
