// heatmap-core.cpp: background subtraction, per-pixel motion counts and heatmap rendering.
#include "heatmap-core.h"

#include <opencv2/core/hal/intrin.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/video/background_segm.hpp>

#include <fcntl.h>
#include <jpeglib.h>
#include <png.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <fstream>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace heatmap {

namespace {

// MOG2 and KNN mark shadows with this value in the foreground mask.
constexpr std::uint8_t kShadowValue = 127;

// The colour background is the per-pixel median of small colour frames sampled across the stream.
// A sample costs a chroma resize and a conversion, so it is taken on every Nth processed frame
// only; when kBackgroundSamples are stored, every other one is dropped and N doubles, so the
// samples always span the whole stream in bounded memory (4 bytes per pixel per sample).
constexpr std::uint64_t kBackgroundEvery = 8;
constexpr std::size_t kBackgroundSamples = 16;

int planes_for(PixelFormat format) {
  switch (format) {
    case PixelFormat::kGray8:
      return 1;
    case PixelFormat::kI420:
    case PixelFormat::kYV12:
    case PixelFormat::kY42B:
    case PixelFormat::kY444:
      return 3;
    case PixelFormat::kNV12:
    case PixelFormat::kNV21:
      return 2;
    default:
      return 1;
  }
}

bool is_packed(PixelFormat format) {
  switch (format) {
    case PixelFormat::kBGR:
    case PixelFormat::kRGB:
    case PixelFormat::kBGRx:
    case PixelFormat::kRGBx:
    case PixelFormat::kxRGB:
    case PixelFormat::kxBGR:
      return true;
    default:
      return false;
  }
}

int packed_channels(PixelFormat format) {
  return (format == PixelFormat::kBGR || format == PixelFormat::kRGB) ? 3 : 4;
}

// Byte offsets of B, G and R inside one packed pixel.
void packed_bgr_offsets(PixelFormat format, int offsets[3]) {
  switch (format) {
    case PixelFormat::kRGB:
    case PixelFormat::kRGBx:
      offsets[0] = 2, offsets[1] = 1, offsets[2] = 0;
      break;
    case PixelFormat::kxRGB:
      offsets[0] = 3, offsets[1] = 2, offsets[2] = 1;
      break;
    case PixelFormat::kxBGR:
      offsets[0] = 1, offsets[1] = 2, offsets[2] = 3;
      break;
    default:  // BGR, BGRx
      offsets[0] = 0, offsets[1] = 1, offsets[2] = 2;
      break;
  }
}

// Chroma plane size (in chroma samples) of a planar/semi-planar YUV format.
cv::Size chroma_size(PixelFormat format, int width, int height) {
  switch (format) {
    case PixelFormat::kY42B:
      return {(width + 1) / 2, height};
    case PixelFormat::kY444:
      return {width, height};
    default:  // 4:2:0
      return {(width + 1) / 2, (height + 1) / 2};
  }
}

// A read-only cv::Mat header over caller memory; OpenCV wants a non-const pointer.
cv::Mat wrap(const Plane &plane, int rows, int cols, int type) {
  return cv::Mat(rows, cols, type, const_cast<std::uint8_t *>(plane.data), plane.stride);
}

void validate(const FrameView &frame) {
  if (frame.width <= 0 || frame.height <= 0) {
    throw std::invalid_argument("heatmap: frame size " + std::to_string(frame.width) + "x" +
                                std::to_string(frame.height) + " is not positive");
  }
  const int n = planes_for(frame.format);
  for (int i = 0; i < n; ++i) {
    std::size_t row_bytes;
    if (i == 0) {
      row_bytes = static_cast<std::size_t>(frame.width) *
                  (is_packed(frame.format) ? packed_channels(frame.format) : 1);
    } else {
      const cv::Size c = chroma_size(frame.format, frame.width, frame.height);
      const bool interleaved =
          frame.format == PixelFormat::kNV12 || frame.format == PixelFormat::kNV21;
      row_bytes = static_cast<std::size_t>(c.width) * (interleaved ? 2 : 1);
    }
    if (frame.planes[i].data == nullptr) {
      throw std::invalid_argument("heatmap: frame plane " + std::to_string(i) + " is null");
    }
    if (frame.planes[i].stride < row_bytes) {
      throw std::invalid_argument("heatmap: frame plane " + std::to_string(i) + " stride " +
                                  std::to_string(frame.planes[i].stride) + " is below the " +
                                  std::to_string(row_bytes) + " bytes of one row");
    }
  }
}

// 3x4 matrix taking (Y, U, V, 1) to (B, G, R) for cv::transform.
cv::Matx34f yuv_to_bgr_matrix(YuvMatrix matrix, bool full_range) {
  const double kr = matrix == YuvMatrix::kBt709 ? 0.2126 : 0.299;
  const double kb = matrix == YuvMatrix::kBt709 ? 0.0722 : 0.114;
  const double kg = 1.0 - kr - kb;
  const double ys = full_range ? 1.0 : 255.0 / 219.0;
  const double cs = full_range ? 1.0 : 255.0 / 224.0;
  const double y0 = full_range ? 0.0 : 16.0;
  const double rv = cs * 2.0 * (1.0 - kr);
  const double bu = cs * 2.0 * (1.0 - kb);
  const double gu = -cs * 2.0 * (1.0 - kb) * kb / kg;
  const double gv = -cs * 2.0 * (1.0 - kr) * kr / kg;
  // Row = ys*Y + a*U + b*V + offset, offset folding in the -16 and -128 biases.
  auto row = [&](double a, double b) {
    return cv::Vec4f(static_cast<float>(ys), static_cast<float>(a), static_cast<float>(b),
                     static_cast<float>(-ys * y0 - 128.0 * (a + b)));
  };
  const cv::Vec4f b = row(bu, 0.0), g = row(gu, gv), r = row(0.0, rv);
  return cv::Matx34f(b[0], b[1], b[2], b[3], g[0], g[1], g[2], g[3], r[0], r[1], r[2], r[3]);
}

}  // namespace

void count_foreground(const cv::Mat &mask, bool keep_shadows, cv::Mat &counts) {
  CV_Assert(mask.type() == CV_8UC1 && counts.type() == CV_16UC1 && mask.size() == counts.size());
  // After an opening the mask still holds only 0, 127 and 255 (erosion and dilation pick
  // existing values), so one threshold both drops shadows and tests for motion.
  const std::uint8_t threshold = keep_shadows ? kShadowValue : 255;
  for (int y = 0; y < mask.rows; ++y) {
    const std::uint8_t *m = mask.ptr<std::uint8_t>(y);
    std::uint16_t *c = counts.ptr<std::uint16_t>(y);
    int x = 0;
#if CV_SIMD128
    // 16 pixels at a time: compare gives 0xFF where moving; widened and masked to 1, a
    // saturating 16-bit add counts it (the ceiling of 65535 comes free).
    const cv::v_uint8x16 limit = cv::v_setall_u8(threshold);
    const cv::v_uint16x8 one = cv::v_setall_u16(1);
    for (; x + 16 <= mask.cols; x += 16) {
      cv::v_uint16x8 lo, hi;
      cv::v_expand(cv::v_load(m + x) >= limit, lo, hi);
      cv::v_store(c + x, cv::v_load(c + x) + (lo & one));
      cv::v_store(c + x + 8, cv::v_load(c + x + 8) + (hi & one));
    }
#endif
    for (; x < mask.cols; ++x) {
      c[x] = static_cast<std::uint16_t>(c[x] + ((m[x] >= threshold) & (c[x] != 0xFFFF)));
    }
  }
}

namespace {

// Box-filter downscale of one 8-bit plane by an integer factor f in both directions (f = 2 or 4),
// when the output is exactly the input / f: the same filter as INTER_AREA (mean of each f x f
// block, rounded), about 4x faster than cv::resize for the 1080p -> 480x270 default, which
// matters because it runs on the streaming thread for every frame.
bool box_downscale(const cv::Mat &src, cv::Mat &dst, cv::Size size,
                   std::vector<std::uint16_t> &sum) {
  if (src.type() != CV_8UC1) {
    return false;
  }
  int f = 0;
  for (int k : {2, 4}) {
    if (size.width * k == src.cols && size.height * k == src.rows) {
      f = k;
    }
  }
  if (f == 0) {
    return false;
  }
  dst.create(size, CV_8UC1);
  const int w = src.cols;
  sum.resize(static_cast<std::size_t>(w) + 32);
  for (int oy = 0; oy < size.height; ++oy) {
    std::uint16_t *acc = sum.data();
    // Vertical: add f input rows into 16-bit sums.
    {
      const std::uint8_t *r[4] = {src.ptr<std::uint8_t>(oy * f), src.ptr<std::uint8_t>(oy * f + 1),
                                  nullptr, nullptr};
      if (f == 4) {
        r[2] = src.ptr<std::uint8_t>(oy * f + 2);
        r[3] = src.ptr<std::uint8_t>(oy * f + 3);
      }
      int x = 0;
#if CV_SIMD128
      for (; x + 16 <= w; x += 16) {
        cv::v_uint16x8 lo, hi, l, h;
        cv::v_expand(cv::v_load(r[0] + x), lo, hi);
        for (int k = 1; k < f; ++k) {
          cv::v_expand(cv::v_load(r[k] + x), l, h);
          lo += l;
          hi += h;
        }
        cv::v_store(acc + x, lo);
        cv::v_store(acc + x + 8, hi);
      }
#endif
      for (; x < w; ++x) {
        unsigned v = 0;
        for (int k = 0; k < f; ++k) {
          v += r[k][x];
        }
        acc[x] = static_cast<std::uint16_t>(v);
      }
    }
    // Horizontal: add f neighbouring sums, divide by f*f with rounding.
    std::uint8_t *out = dst.ptr<std::uint8_t>(oy);
    int ox = 0;
#if CV_SIMD128
    if (f == 4) {
      for (; ox + 8 <= size.width; ox += 8) {
        cv::v_uint16x8 a, b, c, d;
        cv::v_load_deinterleave(acc + 4 * ox, a, b, c, d);
        cv::v_rshr_pack_store<4>(out + ox, a + b + c + d);
      }
    } else {
      for (; ox + 8 <= size.width; ox += 8) {
        cv::v_uint16x8 a, b;
        cv::v_load_deinterleave(acc + 2 * ox, a, b);
        cv::v_rshr_pack_store<2>(out + ox, a + b);
      }
    }
#endif
    const unsigned half = static_cast<unsigned>(f * f / 2);
    const int shift = f == 4 ? 4 : 2;
    for (; ox < size.width; ++ox) {
      unsigned v = 0;
      for (int k = 0; k < f; ++k) {
        v += acc[ox * f + k];
      }
      out[ox] = static_cast<std::uint8_t>((v + half) >> shift);
    }
  }
  return true;
}

}  // namespace

void downscale_plane(const cv::Mat &src, cv::Mat &dst, cv::Size size,
                     std::vector<std::uint16_t> &scratch) {
  if (!box_downscale(src, dst, size, scratch)) {
    cv::resize(src, dst, size, 0, 0, cv::INTER_AREA);
  }
}

namespace {

// Frames the model needs before its mask means anything: MOG2 marks the whole first frame as
// foreground, KNN the first four (its sample sets are still filling).
std::uint64_t warmup_frames(Method method) {
  return method == Method::kKnn ? 4 : 1;
}

}  // namespace

struct Accumulator::Impl {
  // One downscaled frame on its way from the caller's thread to the model.
  struct Job {
    cv::Mat grey;
    cv::Mat colour;  // BGR, only on the frames that refresh the colour background
    bool has_colour = false;
    std::uint64_t index = 0;
    double rate = -1.0;
    bool keep_shadows = false;
    int open_kernel = 0;
  };
  static constexpr int kQueue = 3;

  Settings settings;

  // Caller-thread state.
  int in_width = 0;
  int in_height = 0;
  cv::Size size;
  std::uint64_t submitted = 0;
  bool colour = false;
  cv::Mat first_frame;  // fallback background (grey sources)
  std::uint64_t sample_stride = kBackgroundEvery;
  std::size_t samples_taken = 0;
  cv::Mat packed;     // processing-size packed RGB frame (packed sources only)
  cv::Mat chroma[2];  // processing-size chroma planes (or one interleaved plane)
  cv::Mat yuv;        // processing-size Y, U, V interleaved
  std::vector<std::uint16_t> scratch;

  // Model state: touched only by whoever runs process_job() (the worker, when threaded; the
  // caller may touch it only after drain()).
  cv::Ptr<cv::BackgroundSubtractor> model;
  std::uint64_t warmup = 1;
  cv::Mat kernel;
  int kernel_size = 0;
  cv::Mat counts;
  cv::Mat mask;    // subtractor output
  cv::Mat eroded;  // opening scratch
  cv::Mat opened;
  struct Sample {
    std::uint64_t index;
    cv::Mat bgr;   // CV_8UC3
    cv::Mat mask;  // subtractor's mask at that frame: nonzero = moving (or shadow)
  };
  std::vector<Sample> samples;
  std::vector<Sample> spare;  // buffers of thinned-out samples, reused by the next ones

  // The queue between the two, a ring of preallocated jobs.
  Job jobs[kQueue];
  int head = 0;     // next job for the model
  int pending = 0;  // jobs queued or being processed
  bool stopping = false;
  std::exception_ptr failure;
  std::mutex lock;
  std::condition_variable job_added;
  std::condition_variable job_done;
  std::thread worker;

  ~Impl() {
    if (worker.joinable()) {
      {
        std::lock_guard<std::mutex> guard(lock);
        stopping = true;
      }
      job_added.notify_all();
      worker.join();
    }
  }

  void work() {
    std::unique_lock<std::mutex> guard(lock);
    for (;;) {
      job_added.wait(guard, [this] { return stopping || pending > 0; });
      if (pending == 0) {
        return;  // stopping, nothing left
      }
      Job &job = jobs[head];
      guard.unlock();
      std::exception_ptr error;
      try {
        process_job(job);
      } catch (...) {
        error = std::current_exception();
      }
      guard.lock();
      if (error && !failure) {
        failure = error;
      }
      head = (head + 1) % kQueue;
      --pending;
      job_done.notify_all();
    }
  }

  // Waits until the model has taken every submitted frame; rethrows a failure of the worker.
  void drain() {
    std::unique_lock<std::mutex> guard(lock);
    job_done.wait(guard, [this] { return pending == 0; });
    if (failure) {
      std::exception_ptr error = failure;
      failure = nullptr;
      std::rethrow_exception(error);
    }
  }

  // Returns the job to fill next, waiting while the queue is full.
  Job &free_job() {
    std::unique_lock<std::mutex> guard(lock);
    job_done.wait(guard, [this] { return pending < kQueue; });
    if (failure) {
      std::exception_ptr error = failure;
      failure = nullptr;
      std::rethrow_exception(error);
    }
    return jobs[(head + pending) % kQueue];
  }

  void submit(Job &job) {
    if (!settings.threaded) {
      drain();  // threaded may just have been switched off: keep the order
      process_job(job);
      return;
    }
    if (!worker.joinable()) {
      worker = std::thread([this] { work(); });
    }
    {
      std::lock_guard<std::mutex> guard(lock);
      ++pending;
    }
    job_added.notify_one();
  }

  void start(int width, int height) {
    drain();
    in_width = width;
    in_height = height;
    const double d = std::clamp(settings.downscale, 1e-6, 1.0);
    size = cv::Size(std::max(1, static_cast<int>(std::lround(width * d))),
                    std::max(1, static_cast<int>(std::lround(height * d))));
    if (settings.method == Method::kKnn) {
      model = cv::createBackgroundSubtractorKNN(settings.history, settings.var_threshold,
                                                settings.detect_shadows);
    } else {
      model = cv::createBackgroundSubtractorMOG2(settings.history, settings.var_threshold,
                                                 settings.detect_shadows);
    }
    warmup = warmup_frames(settings.method);
    counts.create(size, CV_16UC1);
    counts.setTo(0);
    submitted = 0;
    samples.clear();
    sample_stride = kBackgroundEvery;
    samples_taken = 0;
    first_frame.release();
  }

  void clear() {
    drain();
    in_width = in_height = 0;
    size = cv::Size();
    model.release();
    counts.release();
    samples.clear();
    sample_stride = kBackgroundEvery;
    samples_taken = 0;
    first_frame.release();
    submitted = 0;
  }

  // Makes `grey` at processing size (and for packed sources `packed`).
  void downscale_luma(const FrameView &f, cv::Mat &grey) {
    if (is_packed(f.format)) {
      const int cn = packed_channels(f.format);
      cv::resize(wrap(f.planes[0], f.height, f.width, CV_8UC(cn)), packed, size, 0, 0,
                 cv::INTER_AREA);
      int off[3];
      packed_bgr_offsets(f.format, off);
      // BT.601 luma weights, as cv::cvtColor(COLOR_BGR2GRAY) uses.
      cv::Matx<float, 1, 4> w(0.f, 0.f, 0.f, 0.f);
      w(0, off[0]) = 0.114f;
      w(0, off[1]) = 0.587f;
      w(0, off[2]) = 0.299f;
      cv::transform(packed, grey, cv::Mat(w).colRange(0, cn));
    } else {
      downscale_plane(wrap(f.planes[0], f.height, f.width, CV_8UC1), grey, size, scratch);
    }
  }

  // Makes `bgr`, the processing-size frame in colour; needs downscale_luma() first.
  void downscale_colour(const FrameView &f, const cv::Mat &grey, cv::Mat &bgr) {
    bgr.create(size, CV_8UC3);
    if (is_packed(f.format)) {
      int off[3];
      packed_bgr_offsets(f.format, off);
      const int pairs[] = {off[0], 0, off[1], 1, off[2], 2};
      cv::mixChannels(&packed, 1, &bgr, 1, pairs, 3);
      return;
    }
    const cv::Size c = chroma_size(f.format, f.width, f.height);
    yuv.create(size, CV_8UC3);
    if (f.format == PixelFormat::kNV12 || f.format == PixelFormat::kNV21) {
      cv::resize(wrap(f.planes[1], c.height, c.width, CV_8UC2), chroma[0], size, 0, 0,
                 cv::INTER_AREA);
      const bool vu = f.format == PixelFormat::kNV21;
      const cv::Mat src[] = {grey, chroma[0]};
      const int pairs[] = {0, 0, 1, vu ? 2 : 1, 2, vu ? 1 : 2};
      cv::mixChannels(src, 2, &yuv, 1, pairs, 3);
    } else {
      const bool vu = f.format == PixelFormat::kYV12;
      downscale_plane(wrap(f.planes[vu ? 2 : 1], c.height, c.width, CV_8UC1), chroma[0], size,
                      scratch);
      downscale_plane(wrap(f.planes[vu ? 1 : 2], c.height, c.width, CV_8UC1), chroma[1], size,
                      scratch);
      const cv::Mat src[] = {grey, chroma[0], chroma[1]};
      cv::merge(src, 3, yuv);
    }
    cv::transform(yuv, bgr, yuv_to_bgr_matrix(f.matrix, f.full_range));
  }

  // Stores a background sample; thins the samples out when there are enough.
  void add_background_sample(const Job &job) {
    Sample sample{job.index, cv::Mat(), cv::Mat()};
    // Reuse the buffers of a dropped sample where possible.
    if (!spare.empty()) {
      sample.bgr = spare.back().bgr;
      sample.mask = spare.back().mask;
      spare.pop_back();
    }
    job.colour.copyTo(sample.bgr);
    if (job.index < warmup) {
      sample.mask.create(size, CV_8UC1);
      sample.mask.setTo(0);  // the model knows nothing yet: take the frame as it is
    } else {
      mask.copyTo(sample.mask);
    }
    samples.push_back(std::move(sample));
    if (samples.size() == kBackgroundSamples) {
      const std::uint64_t stride = 2 * (samples[1].index - samples[0].index);
      std::vector<Sample> kept;
      for (Sample &s : samples) {
        (s.index % stride == 0 ? kept : spare).push_back(std::move(s));
      }
      samples = std::move(kept);
    }
  }

  // Per-pixel, per-channel median of the samples where the subtractor saw background; of all
  // samples where it rarely did (a spot where people stood all the time).
  cv::Mat median_background() const {
    cv::Mat out(size, CV_8UC3);
    const std::size_t n = samples.size();
    std::vector<std::uint8_t> v[3];
    std::vector<const std::uint8_t *> rows(n), masks(n);
    for (int y = 0; y < size.height; ++y) {
      for (std::size_t k = 0; k < n; ++k) {
        rows[k] = samples[k].bgr.ptr<std::uint8_t>(y);
        masks[k] = samples[k].mask.ptr<std::uint8_t>(y);
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

  void process_job(Job &job) {
    // While warming up the model learns at the automatic rate whatever the setting: with a
    // fixed small rate KNN would take thousands of frames to fill its samples.
    model->apply(job.grey, mask, job.index < warmup ? -1.0 : job.rate);
    if (job.index >= warmup) {
      const cv::Mat *fg = &mask;
      if (job.open_kernel > 0) {
        if (kernel_size != job.open_kernel) {
          kernel = cv::getStructuringElement(cv::MORPH_ELLIPSE,
                                             cv::Size(job.open_kernel, job.open_kernel));
          kernel_size = job.open_kernel;
        }
        cv::erode(mask, eroded, kernel);
        cv::dilate(eroded, opened, kernel);
        fg = &opened;
      }
      count_foreground(*fg, job.keep_shadows, counts);
    }
    if (job.has_colour) {
      add_background_sample(job);
    }
  }

  void add(const FrameView &f) {
    validate(f);
    if (model.empty() || f.width != in_width || f.height != in_height) {
      start(f.width, f.height);
    }
    Job &job = free_job();
    downscale_luma(f, job.grey);
    colour = f.format != PixelFormat::kGray8;
    job.has_colour = colour && submitted % sample_stride == 0;
    if (job.has_colour && ++samples_taken == kBackgroundSamples) {
      // Mirrors add_background_sample(), which is about to drop every other sample.
      samples_taken = kBackgroundSamples / 2;
      sample_stride *= 2;
    }
    if (job.has_colour) {
      downscale_colour(f, job.grey, job.colour);
    }
    if (submitted == 0 && !colour) {
      job.grey.copyTo(first_frame);
    }
    job.index = submitted;
    job.rate = settings.learning_rate < 0 ? -1.0 : std::min(settings.learning_rate, 1.0);
    job.keep_shadows = settings.keep_shadows;
    job.open_kernel = settings.open_kernel;
    ++submitted;
    submit(job);
  }
};

Accumulator::Accumulator(const Settings &settings) : impl_(std::make_unique<Impl>()) {
  impl_->settings = settings;
}

Accumulator::~Accumulator() = default;

void Accumulator::reset() {
  impl_->clear();
}

void Accumulator::set_settings(const Settings &settings) {
  impl_->settings = settings;
}

const Settings &Accumulator::settings() const {
  return impl_->settings;
}

void Accumulator::add_frame(const FrameView &frame) {
  impl_->add(frame);
}

void Accumulator::add_frame(const cv::Mat &frame) {
  if (frame.empty() || frame.dims != 2 || frame.depth() != CV_8U) {
    throw std::invalid_argument("heatmap: a cv::Mat frame must be a non-empty 8-bit image");
  }
  FrameView view;
  switch (frame.channels()) {
    case 1:
      view.format = PixelFormat::kGray8;
      break;
    case 3:
      view.format = PixelFormat::kBGR;
      break;
    case 4:
      view.format = PixelFormat::kBGRx;
      break;
    default:
      throw std::invalid_argument("heatmap: a cv::Mat frame must have 1, 3 or 4 channels, not " +
                                  std::to_string(frame.channels()));
  }
  view.width = frame.cols;
  view.height = frame.rows;
  view.planes[0].data = frame.data;
  view.planes[0].stride = frame.step[0];
  impl_->add(view);
}

const cv::Mat &Accumulator::counts() const {
  impl_->drain();
  return impl_->counts;
}

cv::Mat Accumulator::background() const {
  impl_->drain();
  const Impl &d = *impl_;
  if (d.submitted == 0) {
    return cv::Mat();
  }
  if (d.colour) {
    return d.median_background();
  }
  cv::Mat out;
  if (d.submitted > 1) {
    d.model->getBackgroundImage(out);
  }
  if (out.empty() || out.size() != d.size) {
    return d.first_frame.clone();
  }
  if (out.channels() == 3) {
    cv::cvtColor(out, out, cv::COLOR_BGR2GRAY);
  }
  return out;
}

Stats Accumulator::stats() const {
  impl_->drain();
  const Impl &d = *impl_;
  Stats s;
  s.frames_processed = d.submitted;
  if (d.counts.empty()) {
    return s;
  }
  s.width = d.size.width;
  s.height = d.size.height;
  double max = 0;
  cv::minMaxLoc(d.counts, nullptr, &max);
  s.max_count = static_cast<std::uint16_t>(max);
  s.motion_coverage = static_cast<double>(cv::countNonZero(d.counts)) / d.counts.total();
  return s;
}

namespace {

// Opacity of the heat at a normalised (0..1) smoothed count: exactly 0 without motion, so
// the scene shows unchanged there; small counts (noise, the blur's tails, someone crossing
// once) stay nearly transparent, and the overlay reaches full strength at kHeatKnee of the
// maximum, so walkways stand out over a clean picture.
constexpr float kHeatKnee = 0.5f;
float heat_weight(float norm) {
  if (norm <= 0.f) {
    return 0.f;
  }
  const float t = std::min(1.f, norm / kHeatKnee);
  return t * std::sqrt(t);
}

}  // namespace

cv::Mat render(const cv::Mat &counts, const cv::Mat &background, const RenderSettings &settings) {
  if (counts.empty() || counts.type() != CV_16UC1) {
    throw std::invalid_argument("heatmap: render() needs non-empty CV_16UC1 counts");
  }
  cv::Mat heat;
  counts.convertTo(heat, CV_32F);
  if (settings.blur > 0) {
    cv::GaussianBlur(heat, heat, cv::Size(0, 0), settings.blur, settings.blur,
                     cv::BORDER_REPLICATE);
  }
  double max = 0;
  cv::minMaxLoc(heat, nullptr, &max);
  if (max > 0) {
    heat *= 1.0 / max;
  }

  cv::Mat index;
  heat.convertTo(index, CV_8U, 255.0);
  cv::Mat coloured;
  cv::applyColorMap(index, coloured, settings.colormap);

  if (!settings.use_background || background.empty()) {
    return coloured;
  }
  cv::Mat bg;
  if (background.type() == CV_8UC1) {
    cv::cvtColor(background, bg, cv::COLOR_GRAY2BGR);
  } else if (background.type() == CV_8UC3) {
    bg = background;
  } else {
    throw std::invalid_argument("heatmap: render() needs a CV_8UC1 or CV_8UC3 background");
  }
  if (bg.size() != counts.size()) {
    cv::resize(bg, bg, counts.size(), 0, 0, cv::INTER_AREA);
  }

  const float alpha = static_cast<float>(std::clamp(settings.alpha, 0.0, 1.0));
  cv::Mat out(counts.size(), CV_8UC3);
  for (int y = 0; y < out.rows; ++y) {
    const float *h = heat.ptr<float>(y);
    const std::uint8_t *b = bg.ptr<std::uint8_t>(y);
    const std::uint8_t *c = coloured.ptr<std::uint8_t>(y);
    std::uint8_t *o = out.ptr<std::uint8_t>(y);
    for (int x = 0; x < out.cols; ++x) {
      const float w = alpha * heat_weight(h[x]);
      for (int ch = 0; ch < 3; ++ch) {
        const int i = 3 * x + ch;
        // w == 0 gives b exactly: no wash over parts of the scene without motion.
        o[i] = cv::saturate_cast<std::uint8_t>(b[i] + (c[i] - b[i]) * w);
      }
    }
  }
  return out;
}

namespace {

mode_t file_mode_from_umask() {
  // umask() can only be read by changing it, which races with other threads; Linux reports it
  // in /proc instead.
  mode_t mask = 022;
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Umask:", 0) == 0) {
      mask = static_cast<mode_t>(std::strtoul(line.c_str() + 6, nullptr, 8));
      break;
    }
  }
  return 0666 & ~mask;
}

bool fail(std::string *error, const std::string &path, const std::string &what, int err) {
  if (error != nullptr) {
    *error = "cannot write \"" + path + "\": " + what + ": " + std::strerror(err);
  }
  return false;
}

bool write_atomically(const std::string &path, const std::uint8_t *bytes, std::size_t length,
                      std::string *error) {
  if (path.empty()) {
    if (error != nullptr) {
      *error = "cannot write a file with an empty path";
    }
    return false;
  }
  std::string tmp = path + ".tmp-XXXXXX";
  const int fd = mkstemp(tmp.data());
  if (fd < 0) {
    return fail(error, path, "cannot create a temporary file beside it", errno);
  }
  auto abandon = [&](const char *what) {
    const int err = errno;
    close(fd);
    unlink(tmp.c_str());
    return fail(error, path, what, err);
  };
  if (fchmod(fd, file_mode_from_umask()) != 0) {
    return abandon("cannot set permissions");
  }
  std::size_t done = 0;
  while (done < length) {
    const ssize_t n = write(fd, bytes + done, length - done);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return abandon("write failed");
    }
    done += static_cast<std::size_t>(n);
  }
  if (fsync(fd) != 0) {
    return abandon("fsync failed");
  }
  if (close(fd) != 0) {
    const int err = errno;
    unlink(tmp.c_str());
    return fail(error, path, "close failed", err);
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    unlink(tmp.c_str());
    return fail(error, path, "rename failed", err);
  }
  return true;
}

// Encoders. libjpeg and libpng are used directly rather than cv::imencode: OpenCV's imgcodecs
// module drags in GDAL, GDCM, OpenEXR and ~130 other libraries, ~37 MiB of resident memory in
// a GStreamer process, for two small images written once at end-of-stream.
// Both libraries report errors by longjmp, so the functions below keep no C++ objects with
// destructors alive across the setjmp.

struct JpegError {
  jpeg_error_mgr mgr;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void jpeg_fail(j_common_ptr cinfo) {
  auto *err = reinterpret_cast<JpegError *>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

// Returns an empty string on success, else libjpeg's reason. *out is malloc'ed by libjpeg.
std::string jpeg_encode(const cv::Mat &image, int quality, unsigned char **out,
                        unsigned long *out_size) {
  jpeg_compress_struct cinfo;
  JpegError err;
  cinfo.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = jpeg_fail;
  err.message[0] = '\0';
  if (setjmp(err.jump)) {
    jpeg_destroy_compress(&cinfo);
    return err.message[0] != '\0' ? err.message : "JPEG encoder failed";
  }
  jpeg_create_compress(&cinfo);
  jpeg_mem_dest(&cinfo, out, out_size);
  cinfo.image_width = static_cast<JDIMENSION>(image.cols);
  cinfo.image_height = static_cast<JDIMENSION>(image.rows);
  cinfo.input_components = image.channels();
  cinfo.in_color_space = image.channels() == 3 ? JCS_EXT_BGR : JCS_GRAYSCALE;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, quality, TRUE);
  jpeg_start_compress(&cinfo, TRUE);
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row =
        const_cast<JSAMPROW>(image.ptr<std::uint8_t>(static_cast<int>(cinfo.next_scanline)));
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  return std::string();
}

void png_append(png_structp png, png_bytep data, png_size_t length) {
  auto *bytes = static_cast<std::vector<std::uint8_t> *>(png_get_io_ptr(png));
  bytes->insert(bytes->end(), data, data + length);
}

void png_fail(png_structp png, png_const_charp message) {
  auto *reason = static_cast<char *>(png_get_error_ptr(png));
  std::snprintf(reason, 256, "%s", message);
  png_longjmp(png, 1);
}

void png_warn(png_structp, png_const_charp) {}

// 16-bit greyscale PNG of `counts` into *bytes; empty string on success, else the reason.
std::string png_encode_counts(const cv::Mat &counts, std::vector<std::uint8_t> *bytes) {
  char reason[256] = "";
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, reason, png_fail, png_warn);
  if (png == nullptr) {
    return "cannot initialise the PNG encoder";
  }
  png_infop info = png_create_info_struct(png);
  if (info == nullptr || setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, info != nullptr ? &info : nullptr);
    return reason[0] != '\0' ? reason : "PNG encoder failed";
  }
  png_set_write_fn(png, bytes, png_append, nullptr);
  png_set_IHDR(png, info, static_cast<png_uint_32>(counts.cols),
               static_cast<png_uint_32>(counts.rows), 16, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_set_compression_level(png, 6);
  png_write_info(png, info);
  png_set_swap(png);  // PNG stores 16-bit samples big-endian; ours are host (little) order
  for (int y = 0; y < counts.rows; ++y) {
    png_write_row(png, reinterpret_cast<png_const_bytep>(counts.ptr<std::uint16_t>(y)));
  }
  png_write_end(png, info);
  png_destroy_write_struct(&png, &info);
  return std::string();
}

}  // namespace

bool write_jpeg(const std::string &path, const cv::Mat &bgr, int quality, std::string *error) {
  if (bgr.empty() || bgr.dims != 2 || bgr.depth() != CV_8U ||
      (bgr.channels() != 3 && bgr.channels() != 1)) {
    if (error != nullptr) {
      *error = "cannot write \"" + path + "\": the image is not 8-bit BGR or grey";
    }
    return false;
  }
  unsigned char *data = nullptr;
  unsigned long size = 0;
  const std::string why = jpeg_encode(bgr, std::clamp(quality, 1, 100), &data, &size);
  std::unique_ptr<unsigned char, decltype(&std::free)> owned(data, &std::free);
  if (!why.empty()) {
    if (error != nullptr) {
      *error = "cannot write \"" + path + "\": " + why;
    }
    return false;
  }
  return write_atomically(path, data, size, error);
}

bool write_counts_png(const std::string &path, const cv::Mat &counts, std::string *error) {
  if (counts.empty() || counts.dims != 2 || counts.type() != CV_16UC1) {
    if (error != nullptr) {
      *error = "cannot write \"" + path + "\": the counts are not a non-empty CV_16UC1 image";
    }
    return false;
  }
  std::vector<std::uint8_t> bytes;
  const std::string why = png_encode_counts(counts, &bytes);
  if (!why.empty()) {
    if (error != nullptr) {
      *error = "cannot write \"" + path + "\": " + why;
    }
    return false;
  }
  return write_atomically(path, bytes.data(), bytes.size(), error);
}

}  // namespace heatmap
