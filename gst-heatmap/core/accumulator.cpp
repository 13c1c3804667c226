// accumulator.cpp: the Accumulator (frame queue, worker thread, counts) and count_foreground.
#include "accumulator.h"

#include "background.h"
#include "serial-worker.h"

#include <opencv2/core/hal/intrin.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#ifdef __linux__
#include <pthread.h>
#include <sched.h>
#endif

namespace heatmap {

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

struct Accumulator::Impl {
  // One downscaled frame on its way from the caller's thread to the model.
  struct Job {
    cv::Mat grey;
    cv::Mat colour;  // BGR, only on the frames that refresh the colour background
    cv::Mat u, v;    // chroma at processing size (scene model, colour sources)
    bool has_colour = false;
    bool colour_source = false;  // the frame was colour (background() of the model's side)
    YuvMatrix matrix = YuvMatrix::kBt601;
    bool full_range = false;
    std::uint64_t index = 0;
    std::uint64_t sample_index = 0;  // frames since the background restarted (see family_start)
    double rate = -1.0;
    bool keep_shadows = false;
    int open_kernel = 0;
    std::int64_t tag = -1;
  };
  // The queue between the caller and the model: Settings::queue_bytes of small frames (Y, U, V
  // at processing size, so a larger picture queues fewer), at least kLiveQueue frames and at most
  // kMaxQueue. Jobs are made only when the queue first grows that deep, and the one freed last
  // is filled next (its buffers are still in the cache): a model that keeps up costs no more
  // memory than a shallow queue. try_add_frame() (live video) calls the model busy at
  // kLiveQueue frames whatever the depth: a live picture must not lag behind.
  static constexpr int kLiveQueue = 3;
  static constexpr int kMaxQueue = 16;
  int queue_depth() const {
    // (MOG2's jobs, grey and now and then a BGR sample, weigh about as much as Y, U and V.)
    const std::size_t job_bytes = 3 * static_cast<std::size_t>(std::max(size.area(), 1));
    return static_cast<int>(
        std::clamp<std::size_t>(settings.queue_bytes / job_bytes, kLiveQueue, kMaxQueue));
  }
  // try_add_frame(): frames of a new size or kind skipped in a row while the model is busy.
  static constexpr int kRestartSkips = 25;
  int restart_skips = 0;

  Settings settings;
  Mask mask_source;
  MotionObserver observer;

  // Caller-thread state.
  int in_width = 0;
  int in_height = 0;
  cv::Size size;
  std::uint64_t submitted = 0;
  bool colour = false;
  YuvMatrix matrix = YuvMatrix::kBt601;  // of the latest frame, for the scene model's background
  bool full_range = false;
  // The frame at which the background of the current kind (grey or colour) began: a caps
  // change from grey to colour (or back) at the same size keeps the counts but starts the
  // background afresh, from frames of the new kind only.
  std::uint64_t family_start = 0;
  cv::Mat first_frame;  // fallback background (grey sources)
  SampleSchedule schedule;
  FrameScaler scaler;

  // Model state: touched only by whoever runs process_job() (the worker, when threaded; the
  // caller may touch it only after drain()).
  MotionModel model;
  cv::Mat counts;
  cv::Mat mask;    // processing size, 255 = counted; empty: everything counts
  cv::Mat masked;  // the opened motion mask with the masked pixels cleared
  cv::Mat motion;  // what the observer gets
  SceneMedian samples;
  // What background() and stats() need, as of the last processed frame (the caller-thread
  // fields above change with every frame given, while a posted task reads these).
  std::uint64_t frames_done = 0;
  bool done_colour = false;
  YuvMatrix done_matrix = YuvMatrix::kBt601;
  bool done_full_range = false;

  // The queue between the two: jobs made so far, those queued or being processed (in order),
  // and the free ones (the last freed at the back).
  std::vector<std::unique_ptr<Job>> jobs;
  std::deque<Job *> queued;
  std::vector<Job *> spare;
  int pending = 0;  // jobs queued or being processed
  // Tasks posted between frames: each runs once the model has processed `after` frames (all
  // the frames given before it), before the next frame. The front one stays queued while it
  // runs, so an empty deque means none is running.
  struct Posted {
    std::uint64_t after;
    Task run;
  };
  std::deque<Posted> tasks;
  std::uint64_t enqueued = 0;   // frames handed to the worker so far
  std::uint64_t processed = 0;  // frames the worker has finished
  Accumulator *owner = nullptr;
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
      job_added.wait(guard, [this] { return stopping || pending > 0 || !tasks.empty(); });
      if (!tasks.empty() && tasks.front().after <= processed) {
        Task task = std::move(tasks.front().run);
        guard.unlock();
        std::exception_ptr error;
        try {
          State state(*owner);
          task(state);
        } catch (...) {
          error = std::current_exception();
        }
        guard.lock();
        if (error && !failure) {
          failure = error;
        }
        tasks.pop_front();
        job_done.notify_all();
        continue;
      }
      if (pending == 0) {
        return;  // stopping, nothing left (a task waits only for frames still queued)
      }
      Job &job = *queued.front();
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
      queued.pop_front();
      spare.push_back(&job);
      --pending;
      ++processed;
      job_done.notify_all();
    }
  }

  // Waits until the model has taken every submitted frame and posted task; rethrows a failure
  // of the worker.
  void drain() {
    std::unique_lock<std::mutex> guard(lock);
    job_done.wait(guard, [this] { return pending == 0 && tasks.empty(); });
    if (failure) {
      std::exception_ptr error = failure;
      failure = nullptr;
      std::rethrow_exception(error);
    }
  }

  // Returns the job to fill next, waiting while the queue is full.
  Job &free_job() {
    const int depth = queue_depth();
    std::unique_lock<std::mutex> guard(lock);
    job_done.wait(guard, [this, depth] { return pending < depth; });
    if (failure) {
      std::exception_ptr error = failure;
      failure = nullptr;
      std::rethrow_exception(error);
    }
    if (spare.empty()) {
      jobs.push_back(std::make_unique<Job>());
      spare.push_back(jobs.back().get());
    }
    return *spare.back();  // submit() takes it off the spare list
  }

  void submit(Job &job) {
    if (!settings.threaded) {
      drain();  // threaded may just have been switched off: keep the order
      process_job(job);
      return;
    }
    start_worker();
    {
      std::lock_guard<std::mutex> guard(lock);
      // (The worker may have freed another job since free_job(): find this one.)
      spare.erase(std::find(spare.begin(), spare.end(), &job));
      queued.push_back(&job);
      ++pending;
      ++enqueued;
    }
    job_added.notify_one();
  }

  void start_worker() {
    if (!worker.joinable()) {
      worker = std::thread([this] {
        run_in_background();
        work();
      });
    }
  }

  // The model is CPU-bound throughput work that only has to keep up on average (the queue
  // takes up its uneven cost): as SCHED_BATCH it never preempts the thread that just woke it,
  // and kModelNice steps of nice below its creator it yields the CPU at once to a decoder's
  // threads when they wake. Measured on two cores (bench/heatmap-bench, 1080p): the decoder
  // leaves about 0.3 of a core idle in short gaps, and at the same nice the model held the CPU
  // when a decoder thread woke (wall 1.28-1.32 x decode); at nice +10 it runs in the gaps
  // (1.12-1.14 x), for the same CPU. On a machine busy with other work a file simply takes
  // longer, and a live stream skips frames rather than lag (try_add_frame). Best effort: a
  // failure leaves the policy alone.
  static constexpr int kModelNice = 10;
  static void run_in_background() {
#ifdef __linux__
    sched_param param{};
    param.sched_priority = 0;
    pthread_setschedparam(pthread_self(), SCHED_BATCH, &param);
#endif
    lower_this_thread_priority(kModelNice);
  }

  void post(Task task) {
    if (!settings.threaded) {
      drain();
      State state(*owner);
      task(state);
      return;
    }
    start_worker();
    {
      std::lock_guard<std::mutex> guard(lock);
      tasks.push_back(Posted{enqueued, std::move(task)});
    }
    job_added.notify_one();
  }

  // True when the model has kLiveQueue frames or more still to do (a live caller skips).
  bool busy() {
    std::lock_guard<std::mutex> guard(lock);
    return pending >= kLiveQueue;
  }

  // True when the model has no frame or task left (a drain() would not wait).
  bool idle() {
    std::lock_guard<std::mutex> guard(lock);
    return pending == 0 && tasks.empty();
  }

  void start(int width, int height) {
    drain();
    in_width = width;
    in_height = height;
    size = processing_size(width, height, settings.downscale, settings.max_input_pixels);
    model.start(settings.method, settings.history, settings.var_threshold, settings.detect_shadows);
    counts.create(size, CV_16UC1);
    counts.setTo(0);
    mask = mask_source.raster(size);
    if (settings.method == Method::kScene) {
      model.scene().set_counted(mask);  // its global estimates skip the masked pixels
    }
    submitted = 0;
    family_start = 0;
    samples.clear();
    scene_tags.clear();
    schedule.reset();
    first_frame.release();
    frames_done = 0;
  }

  // Grey <-> colour at the same size: the model (luma) and the counts go on; the background
  // samples of the other kind are dropped, and sampling restarts at this frame.
  void restart_background() {
    drain();
    if (model.method() == Method::kScene && !model.empty()) {
      // The scene model's background is its model: it starts again from frames of the new
      // kind (after classifying what it still holds), the counts go on.
      settle();
      model.start(Method::kScene, settings.history, settings.var_threshold,
                  settings.detect_shadows);
    }
    samples.clear();
    schedule.reset();
    first_frame.release();
    family_start = submitted;
  }

  void clear() {
    drain();
    in_width = in_height = 0;
    size = cv::Size();
    model.release();
    counts.release();
    mask.release();
    samples.clear();
    scene_tags.clear();
    schedule.reset();
    first_frame.release();
    submitted = 0;
    family_start = 0;
    frames_done = 0;
  }

  // Counts one classified frame (its opened mask `fg`, or nothing when !counted) and tells
  // the observer.
  void count_frame(const cv::Mat *fg, bool counted, bool keep_shadows, std::int64_t tag) {
    if (counted) {
      if (!mask.empty()) {
        // 0/127/255 AND 0/255 keeps the subtractor's values where the mask counts.
        cv::bitwise_and(*fg, mask, masked);
        fg = &masked;
      }
      count_foreground(*fg, keep_shadows, counts);
      if (observer) {
        cv::compare(*fg, keep_shadows ? kShadowValue : 255, motion, cv::CMP_GE);
      }
    } else if (observer) {
      motion.create(size, CV_8UC1);
      motion.setTo(0);
    }
    if (observer) {
      observer(tag, motion);
    }
  }

  // The scene model's masks come out in frame order, some later than their frames (its
  // look-ahead start): their tags wait here.
  std::deque<std::int64_t> scene_tags;
  void count_mask(const cv::Mat &m, bool counted, bool keep_shadows, int open_kernel) {
    std::int64_t tag = -1;
    if (!scene_tags.empty()) {
      tag = scene_tags.front();
      scene_tags.pop_front();
    }
    count_frame(&model.open(m, open_kernel), counted, keep_shadows, tag);
  }

  // drain(), then lets the scene model classify the frames it still holds back (a stream
  // shorter than its look-ahead), so that queries see every frame.
  void settle() {
    drain();
    settle_now();
  }
  // The same on the model's thread (a task), where nothing is queued ahead.
  void settle_now() {
    if (model.method() == Method::kScene && !model.empty()) {
      const bool keep = settings.keep_shadows;
      const int open = settings.open_kernel;
      model.scene().flush(
          [&](const cv::Mat &m, bool counted) { count_mask(m, counted, keep, open); });
    }
  }

  void process_job(Job &job) {
    ++frames_done;
    done_colour = job.colour_source;
    done_matrix = job.matrix;
    done_full_range = job.full_range;
    if (model.method() == Method::kScene) {
      scene_tags.push_back(job.tag);
      model.scene().apply(job.grey, job.u, job.v, job.rate, [&](const cv::Mat &m, bool counted) {
        count_mask(m, counted, job.keep_shadows, job.open_kernel);
      });
      return;
    }
    // While warming up the model learns at the automatic rate whatever the setting: with a
    // fixed small rate KNN would take thousands of frames to fill its samples.
    const bool warming = job.index < model.warmup();
    model.apply(job.grey, warming ? -1.0 : job.rate);
    count_frame(warming ? nullptr : &model.opened(job.open_kernel), !warming, job.keep_shadows,
                job.tag);
    if (job.has_colour) {
      // While warming up the model knows nothing yet: an empty mask takes the frame as it is.
      samples.add(job.sample_index, job.colour, warming ? cv::Mat() : model.mask());
    }
  }

  void add(const FrameView &f, std::int64_t tag) {
    validate(f);
    if (model.empty() || f.width != in_width || f.height != in_height) {
      start(f.width, f.height);
    }
    const bool is_colour = f.format != PixelFormat::kGray8;
    if (submitted > 0 && is_colour != colour) {
      restart_background();
    }
    colour = is_colour;
    Job &job = free_job();
    scaler.luma(f, size, job.grey);
    // Packed RGB is turned into full-range BT.601 Y, U, V here (FrameScaler), whatever the
    // view says: the scene model's background goes back to BGR the same way.
    matrix = is_packed(f.format) ? YuvMatrix::kBt601 : f.matrix;
    full_range = is_packed(f.format) || f.full_range;
    if (model.method() == Method::kScene) {
      scaler.chroma(f, size, job.u, job.v);
    }
    job.sample_index = submitted - family_start;
    // The scene model learns the colour scene itself: no samples needed. Otherwise sample 0 of
    // a kind is always taken, so a colour background never lacks samples.
    job.has_colour = colour && model.method() != Method::kScene && schedule.take(job.sample_index);
    if (job.has_colour) {
      scaler.colour(f, size, job.grey, job.colour);
    }
    if (job.sample_index == 0 && !colour) {
      job.grey.copyTo(first_frame);
    }
    job.index = submitted;
    job.colour_source = colour;
    job.matrix = matrix;
    job.full_range = full_range;
    job.rate = settings.learning_rate < 0 ? -1.0 : std::min(settings.learning_rate, 1.0);
    job.keep_shadows = settings.keep_shadows;
    job.open_kernel = settings.open_kernel;
    job.tag = tag;
    ++submitted;
    submit(job);
  }
};

Accumulator::Accumulator(const Settings &settings) : impl_(std::make_unique<Impl>()) {
  impl_->settings = settings;
  impl_->owner = this;
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
  impl_->add(frame, -1);
}

void Accumulator::add_frame(const FrameView &frame, std::int64_t tag) {
  impl_->add(frame, tag);
}

void Accumulator::set_mask(const Mask &mask) {
  impl_->drain();
  impl_->mask_source = mask;
}

cv::Mat Accumulator::mask() const {
  impl_->drain();
  return impl_->mask;
}

void Accumulator::set_motion_observer(MotionObserver observer) {
  impl_->drain();
  impl_->observer = std::move(observer);
}

void Accumulator::add_frame(const cv::Mat &frame, std::int64_t tag) {
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
  impl_->add(view, tag);
}

int Accumulator::frames_queued() const {
  std::lock_guard<std::mutex> guard(impl_->lock);
  return impl_->pending;
}

bool Accumulator::try_add_frame(const FrameView &frame, std::int64_t tag) {
  const Impl &d = *impl_;
  const bool same_stream = !d.model.empty() && frame.width == d.in_width &&
                           frame.height == d.in_height &&
                           (frame.format != PixelFormat::kGray8) == d.colour;
  // Only this thread adds frames and the worker only takes them: a queue with room now still
  // has room in add(), and an idle model stays idle. A new size or kind restarts the model
  // (or its background) in add(), after draining it: that frame is skipped while the model
  // still has work, so the restart does not wait; but at most kRestartSkips in a row, so that
  // a caller posting a task before every frame (short decay steps) still gets its restart.
  if (d.settings.threaded && !d.model.empty()) {
    if (same_stream) {
      impl_->restart_skips = 0;
      if (impl_->busy())
        return false;
    } else if (impl_->restart_skips < Impl::kRestartSkips && !impl_->idle()) {
      ++impl_->restart_skips;
      return false;
    }
  }
  impl_->add(frame, tag);
  return true;
}

void Accumulator::post(Task task) {
  impl_->post(std::move(task));
}

void Accumulator::wait_idle() {
  impl_->drain();
}

cv::Mat Accumulator::take_counts() {
  // The scene model's held frames (its look-ahead) are classified first, so that a window
  // holds every frame given in it, and the last one at the end of a short stream too.
  impl_->settle();
  State state(*this);
  return state.take_counts();
}

const cv::Mat &Accumulator::counts() const {
  impl_->settle();
  return impl_->counts;
}

cv::Mat Accumulator::background() const {
  impl_->settle();
  State state(const_cast<Accumulator &>(*this));
  return state.scene().picture();
}

Stats Accumulator::stats() const {
  impl_->settle();
  State state(const_cast<Accumulator &>(*this));
  return state.stats();
}

cv::Mat Accumulator::State::take_counts() {
  Impl &d = *a_.impl_;
  d.settle_now();
  cv::Mat out = d.counts.clone();
  if (!d.counts.empty()) {
    d.counts.setTo(0);
  }
  return out;
}

Stats Accumulator::State::stats() const {
  Impl &d = *a_.impl_;
  d.settle_now();
  Stats s;
  s.frames_processed = d.frames_done;
  if (d.counts.empty()) {
    return s;
  }
  s.width = d.size.width;
  s.height = d.size.height;
  double max = 0;
  cv::minMaxLoc(d.counts, nullptr, &max);
  s.max_count = static_cast<std::uint16_t>(max);
  s.motion_coverage = static_cast<double>(cv::countNonZero(d.counts)) / d.counts.total();
  if (d.model.method() == Method::kScene) {
    const SceneEvents &e = d.model.scene().events();
    s.lighting_events = e.lighting_events;
    s.camera_shift = e.camera_shift;
    s.camera_moved = e.camera_moved;
  }
  return s;
}

Accumulator::SceneCapture Accumulator::State::scene() const {
  Impl &d = *a_.impl_;
  d.settle_now();
  SceneCapture c;
  if (d.frames_done == 0) {
    return c;
  }
  if (d.model.method() == Method::kScene) {
    d.model.scene().background(c.y_, c.u_, c.v_);
    c.matrix_ = d.done_matrix;
    c.full_range_ = d.done_full_range;
    return c;
  }
  if (d.done_colour) {
    c.samples_ = std::make_shared<const SceneMedian>(d.samples.share());
    c.size_ = d.size;
    return c;
  }
  cv::Mat out;
  if (d.frames_done > 1) {
    d.model.background_image(out);
  }
  if (out.empty() || out.size() != d.size) {
    c.ready_ = d.first_frame.clone();
    return c;
  }
  if (out.channels() == 3) {
    cv::cvtColor(out, out, cv::COLOR_BGR2GRAY);
  }
  c.ready_ = out;
  return c;
}

cv::Mat Accumulator::SceneCapture::picture() const {
  if (samples_) {
    return samples_->median(size_);
  }
  if (y_.empty()) {
    return ready_;
  }
  if (u_.empty()) {
    return y_;
  }
  cv::Mat yuv, bgr;
  const cv::Mat planes[] = {y_, u_, v_};
  cv::merge(planes, 3, yuv);
  cv::transform(yuv, bgr, yuv_to_bgr_matrix(matrix_, full_range_));
  return bgr;
}

}  // namespace heatmap
