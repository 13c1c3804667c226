// scene-masks.cpp: the scene model's per-frame masks of a raw I420 stream (not a test; a tracing
// aid for the accuracy work). Writes, per frame, the model's mask (0, 127, 255) at processing
// size and whether the frame counts, as the element runs it at its defaults (downscale 0.25 of at
// most 1280x720's area, history 500, var-threshold 16, shadows detected; another downscale as the
// last argument).
//
// Built by meson with everything else (bench/meson.build): build/bench/scene-masks.
// Usage: scene-masks RAW.i420 WIDTH HEIGHT OUT.bin [DOWNSCALE (default 0.25)]
//   (RAW from: gst-launch-1.0 filesrc location=X.mp4 ! qtdemux ! h264parse ! avdec_h264 !
//    video/x-raw,format=I420 ! filesink location=RAW.i420)
// OUT.bin: per frame one byte (1 = counts) and the mask, rows of the processing width.
#include "accumulator.h"
#include "frame.h"
#include "scene-model.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

int main(int argc, char **argv) {
  if (argc != 5 && argc != 6) {
    std::fprintf(stderr, "usage: %s RAW.i420 WIDTH HEIGHT OUT.bin [DOWNSCALE]\n", argv[0]);
    return 2;
  }
  const int w = std::atoi(argv[2]), h = std::atoi(argv[3]);
  FILE *in = std::fopen(argv[1], "rb");
  FILE *out = std::fopen(argv[4], "wb");
  if (in == nullptr || out == nullptr) {
    std::fprintf(stderr, "cannot open input or output\n");
    return 1;
  }
  const std::size_t ysz = static_cast<std::size_t>(w) * h, csz = ysz / 4;
  std::vector<std::uint8_t> buf(ysz + 2 * csz);
  const heatmap::Settings defaults;  // the element's defaults, as the core has them
  const double downscale = argc == 6 ? std::atof(argv[5]) : defaults.downscale;
  const cv::Size size = heatmap::processing_size(w, h, downscale, defaults.max_input_pixels);
  heatmap::SceneModel model;
  model.start(defaults.history, defaults.var_threshold, defaults.detect_shadows);
  heatmap::FrameScaler scaler;
  cv::Mat grey, u, v;
  int frames = 0;
  // SCENE_MASKS_STATE=FILE: per frame the small frame (Y, U, V) and, after it, the scene's means
  // (Y, U, V; the frame again while the look-ahead holds frames back).
  FILE *bg = std::getenv("SCENE_MASKS_STATE") ? std::fopen(std::getenv("SCENE_MASKS_STATE"), "wb")
                                              : nullptr;
  const auto sink = [&](const cv::Mat &m, bool counts) {
    const std::uint8_t c = counts ? 1 : 0;
    std::fwrite(&c, 1, 1, out);
    for (int r = 0; r < m.rows; ++r) {
      std::fwrite(m.ptr<std::uint8_t>(r), 1, m.cols, out);
    }
  };
  while (std::fread(buf.data(), 1, buf.size(), in) == buf.size()) {
    heatmap::FrameView f;
    f.format = heatmap::PixelFormat::kI420;
    f.width = w;
    f.height = h;
    f.planes[0] = {buf.data(), static_cast<std::size_t>(w)};
    f.planes[1] = {buf.data() + ysz, static_cast<std::size_t>(w / 2)};
    f.planes[2] = {buf.data() + ysz + csz, static_cast<std::size_t>(w / 2)};
    scaler.luma(f, size, grey);
    scaler.chroma(f, size, u, v);
    model.apply(grey, u, v, -1.0, sink);
    if (bg != nullptr && !model.empty()) {
      cv::Mat by, bu, bv;
      model.background(by, bu, bv);
      for (const cv::Mat *p : {&grey, &u, &v, &by, &bu, &bv}) {
        for (int r = 0; r < size.height; ++r) {
          std::fwrite(p->empty() ? grey.ptr<std::uint8_t>(r) : p->ptr<std::uint8_t>(r), 1,
                      size.width, bg);
        }
      }
    }
    ++frames;
  }
  model.flush(sink);
  std::fprintf(stderr, "%d frames, %dx%d\n", frames, size.width, size.height);
  std::fclose(in);
  std::fclose(out);
  if (bg != nullptr) {
    std::fclose(bg);
  }
  return 0;
}
