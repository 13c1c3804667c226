// core-microbench.cpp: per-frame cost of the heatmap core on 1080p I420 (not a test; prints ms).
//
// Built by meson with everything else (bench/meson.build; not a test): build/bench/core-microbench.
// Usage: core-microbench VIDEO [FRAMES] [THREADS] [METHODS] [MAX_INPUT_PIXELS]
// Decodes VIDEO with cv::VideoCapture, scales each frame to 1920x1080 I420 outside the timed
// region, then times the core's stages (the same calls Accumulator makes: downscale to the
// processing size, model, opening, count) and the whole Accumulator::add_frame,
// threaded and not, for the scene model (the default), MOG2 and KNN at the default settings,
// as median wall ms per frame and as process CPU ms per frame (all threads, OpenCV's pool
// included). METHODS: a comma-separated subset of scene,mog2,knn (default: all three).
// THREADS (default: leave OpenCV's default) is passed to cv::setNumThreads. MAX_INPUT_PIXELS
// (default: the element's, 1280x720's area, so 1080p is processed at 320x180; 0: 480x270, the
// quarter of 1080p) is the max-input-pixels setting.
#include "heatmap-core.h"
#include "scene-model.h"

#include <opencv2/imgproc.hpp>
#include <opencv2/video/background_segm.hpp>
#include <opencv2/videoio.hpp>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// CPU time of the whole process (every thread, OpenCV's pool included), in ms.
double process_cpu_ms() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

double median(std::vector<double> v) {
  if (v.empty()) {
    return 0;
  }
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char **argv) {
  if (argc < 2 || std::string(argv[1]) == "--help") {
    std::fprintf(stderr, "usage: %s VIDEO [FRAMES] [THREADS] [scene,mog2,knn] [MAX_INPUT_PIXELS]\n",
                 argv[0]);
    return argc < 2 ? 2 : 0;
  }
  const int want = argc > 2 ? std::atoi(argv[2]) : 500;
  if (argc > 3) {
    cv::setNumThreads(std::atoi(argv[3]));
  }
  std::printf("opencv threads: %d\n", cv::getNumThreads());

  // A 1080p I420 frame costs 3 MB; keep at most `want` of them, looping the clip if short.
  std::vector<cv::Mat> frames;
  cv::VideoCapture cap(argv[1]);
  if (!cap.isOpened()) {
    std::fprintf(stderr, "cannot open %s\n", argv[1]);
    return 1;
  }
  cv::Mat bgr, big, i420;
  while (static_cast<int>(frames.size()) < want) {
    if (!cap.read(bgr)) {
      if (frames.empty()) {
        std::fprintf(stderr, "no frames in %s\n", argv[1]);
        return 1;
      }
      cap.open(argv[1]);
      continue;
    }
    cv::resize(bgr, big, cv::Size(1920, 1080), 0, 0, cv::INTER_LINEAR);
    cv::cvtColor(big, i420, cv::COLOR_BGR2YUV_I420);
    frames.push_back(i420.clone());
  }
  std::printf("frames: %zu at 1920x1080 I420\n", frames.size());

  auto view_of = [](const cv::Mat &m) {
    heatmap::FrameView v;
    v.format = heatmap::PixelFormat::kI420;
    v.width = 1920;
    v.height = 1080;
    v.planes[0] = {m.data, 1920};
    v.planes[1] = {m.data + 1920 * 1080, 960};
    v.planes[2] = {m.data + 1920 * 1080 + 960 * 540, 960};
    return v;
  };

  const std::string wanted = argc > 4 ? argv[4] : "scene,mog2,knn";
  const long max_input_pixels =
      argc > 5 ? std::atol(argv[5]) : heatmap::Settings().max_input_pixels;
  const cv::Size size =
      heatmap::processing_size(1920, 1080, heatmap::Settings().downscale, max_input_pixels);
  std::printf("processing size: %dx%d\n", size.width, size.height);
  for (heatmap::Method method :
       {heatmap::Method::kScene, heatmap::Method::kMog2, heatmap::Method::kKnn}) {
    const bool knn = method == heatmap::Method::kKnn;
    const bool scene = method == heatmap::Method::kScene;
    const char *name = scene ? "scene" : knn ? "KNN " : "MOG2";
    if (wanted.find(scene ? "scene" : knn ? "knn" : "mog2") == std::string::npos) {
      continue;
    }
    heatmap::Settings s;
    s.method = method;
    s.max_input_pixels = max_input_pixels;
    if (knn) {
      s.var_threshold = 400;
    }
    // Stages, replayed with the calls the core makes.
    cv::Ptr<cv::BackgroundSubtractor> model;
    if (knn) {
      model = cv::createBackgroundSubtractorKNN(s.history, s.var_threshold, true);
    } else if (!scene) {
      model = cv::createBackgroundSubtractorMOG2(s.history, s.var_threshold, true);
    }
    heatmap::SceneModel scene_model;
    scene_model.start(s.history, s.var_threshold, s.detect_shadows);
    heatmap::FrameScaler scaler;
    cv::Mat kernel = cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(3, 3));
    cv::Mat grey, u, v, mask, eroded, opened, counts(size, CV_16UC1, cv::Scalar(0));
    std::vector<double> t_resize, t_model, t_open, t_count, t_total;
    // The scene model hands out its masks through a callback (the first ones late, after its
    // look-ahead): the opening and the count are timed there.
    auto sink = [&](const cv::Mat &m, bool counted) {
      auto t0 = Clock::now();
      cv::erode(m, eroded, kernel);
      cv::dilate(eroded, opened, kernel);
      t_open.push_back(ms_since(t0));
      t0 = Clock::now();
      if (counted) {
        heatmap::count_foreground(opened, false, counts);
      }
      t_count.push_back(ms_since(t0));
    };
    const double cpu0 = process_cpu_ms();
    for (const cv::Mat &f : frames) {
      auto t0 = Clock::now();
      if (scene) {
        const heatmap::FrameView view = view_of(f);
        scaler.luma(view, size, grey);
        scaler.chroma(view, size, u, v);
      } else {
        heatmap::downscale_plane(cv::Mat(1080, 1920, CV_8UC1, f.data), grey, size);
      }
      t_resize.push_back(ms_since(t0));
      t0 = Clock::now();
      if (scene) {
        const std::size_t before = t_open.size();
        scene_model.apply(grey, u, v, -1, sink);
        double inner = 0;
        for (std::size_t i = before; i < t_open.size(); ++i) {
          inner += t_open[i] + t_count[i];
        }
        t_model.push_back(ms_since(t0) - inner);
        continue;
      }
      model->apply(grey, mask, -1);
      t_model.push_back(ms_since(t0));
      sink(mask, true);
    }
    const double cpu_stages = process_cpu_ms() - cpu0;
    std::vector<double> t_caller;
    heatmap::Settings threaded = s;
    threaded.threaded = true;
    heatmap::Accumulator tacc(threaded);
    const double cpu1 = process_cpu_ms();
    const auto w1 = Clock::now();
    for (const cv::Mat &f : frames) {
      const auto t0 = Clock::now();
      tacc.add_frame(view_of(f));
      t_caller.push_back(ms_since(t0));
    }
    const heatmap::Stats tst = tacc.stats();
    const double wall_threaded = ms_since(w1);
    const double cpu_threaded = process_cpu_ms() - cpu1;
    s.threaded = false;
    heatmap::Accumulator acc(s);
    const double cpu2 = process_cpu_ms();
    for (const cv::Mat &f : frames) {
      const auto t0 = Clock::now();
      acc.add_frame(view_of(f));
      t_total.push_back(ms_since(t0));
    }
    const heatmap::Stats st = acc.stats();
    const double cpu_unthreaded = process_cpu_ms() - cpu2;
    const double n = static_cast<double>(frames.size());
    std::printf(
        "%s CPU ms/frame (all threads): stages %.3f  threaded add_frame %.3f (wall %.3f)  "
        "unthreaded add_frame %.3f\n",
        name, cpu_stages / n, cpu_threaded / n, wall_threaded / n, cpu_unthreaded / n);
    // KNN draws on OpenCV's per-thread RNG, so only MOG2 is bit-reproducible across threads.
    if (!knn && tacc.counts().size() == acc.counts().size() &&
        cv::norm(tacc.counts(), acc.counts(), cv::NORM_INF) != 0) {
      cv::Mat d;
      cv::absdiff(tacc.counts(), acc.counts(), d);
      std::fprintf(stderr, "threaded and unthreaded counts differ at %d pixels (max %g)\n",
                   cv::countNonZero(d), cv::norm(d, cv::NORM_INF));
      return 1;
    }
    std::printf("%s threaded: median caller ms/frame %.3f (frames %llu, max %u, coverage %.3f)\n",
                name, median(t_caller), static_cast<unsigned long long>(tst.frames_processed),
                tst.max_count, tst.motion_coverage);
    std::printf(
        "%s median ms/frame: resize %.3f  model %.3f  opening %.3f  count %.3f  | "
        "add_frame %.3f (mean %.3f)  coverage %.3f max %u\n",
        name, median(t_resize), median(t_model), median(t_open), median(t_count), median(t_total),
        [&] {
          double sum = 0;
          for (double t : t_total)
            sum += t;
          return sum / t_total.size();
        }(),
        st.motion_coverage, st.max_count);
  }
  return 0;
}
