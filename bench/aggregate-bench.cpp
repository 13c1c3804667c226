// aggregate-bench.cpp: rollups of a month of hourly clips on a bucket (run by
// bench/aggregate-bench under a throw-away RGW): wall time, and objects read per rollup, against
// a flat aggregate of the same month's clips in the same invocation.
#include <glib.h>
#include <glib/gstdio.h>

#include <opencv2/core.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "heatmap-core.h"
#include "rollup.h"

namespace {

namespace agg = heatmap::aggregate;
namespace ru = s3::rollups;

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string read_file(const std::string &path) {
  gchar *data = nullptr;
  gsize len = 0;
  g_assert_true(g_file_get_contents(path.c_str(), &data, &len, nullptr));
  std::string out(data, len);
  g_free(data);
  return out;
}

}  // namespace

int main(int argc, char **argv) {
  int days = 30, width = 480, height = 270, frames = 1500, threads = 4;
  std::string bucket_url;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--days" && i + 1 < argc)
      days = std::atoi(argv[++i]);
    else if (a == "--bucket" && i + 1 < argc)
      bucket_url = argv[++i];
    else if (a == "--size" && i + 1 < argc)
      std::sscanf(argv[++i], "%dx%d", &width, &height);
    else {
      std::fprintf(stderr,
                   "usage: aggregate-bench-tool [--days N (1-31)] [--size WxH] [--bucket URL]\n");
      return 2;
    }
  }
  if (days < 1 || days > 31 || width < 8 || height < 8)
    return 2;
  if (bucket_url.empty()) {
    const char *b = g_getenv("S3_TEST_BUCKETS");
    if (b == nullptr)
      return 2;
    std::string name = b;
    bucket_url = "s3://" + name.substr(0, name.find(' '));
  }
  auto bucket = s3::open_bucket(s3::Url::parse_bucket(bucket_url), s3::Config::from_environment());
  agg::Layout layout{"raw_videos/", "bench/heatmaps/"};

  // Eight distinct counts PNGs (sparse random motion), reused round robin.
  gchar *tmp = g_dir_make_tmp("aggregate-bench-XXXXXX", nullptr);
  std::string dir = tmp;
  g_free(tmp);
  std::vector<std::string> pngs;
  cv::RNG rng(42);
  for (int k = 0; k < 8; ++k) {
    cv::Mat counts = cv::Mat::zeros(height, width, CV_16UC1);
    for (int y = 0; y < height; ++y)
      for (int x = 0; x < width; ++x)
        if (rng.uniform(0, 6) == 0)
          counts.at<std::uint16_t>(y, x) = static_cast<std::uint16_t>(rng.uniform(0, frames / 4));
    std::string path = dir + "/c.png", error;
    g_assert_true(heatmap::write_counts_png(path, counts, &error));
    pngs.push_back(read_file(path));
  }
  g_remove((dir + "/c.png").c_str());

  std::printf("aggregate-bench: %d days x 24 hourly clips at %dx%d on %s\n", days, width, height,
              bucket_url.c_str());
  double t0 = now_s();
  std::atomic<int> next{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (int i = next++; i < days * 24; i = next++) {
        int d = i / 24 + 1, h = i % 24;
        char stem[128], start[32];
        std::snprintf(stem, sizeof stem, "%s2025/11/%02d/%02d/clip_2025-11-%02d_%02d-00-00",
                      layout.heatmaps_prefix.c_str(), d, h, d, h);
        std::snprintf(start, sizeof start, "2025-11-%02dT%02d:00:00Z", d, h);
        std::string json =
            std::string(
                "{\"format\": \"gst-heatmap.heatmap\", \"version\": 1, \"kind\": "
                "\"clip\", \"start_utc\": \"") +
            start + "\", \"duration_s\": 60.0, \"frames_processed\": " + std::to_string(frames) +
            ", \"fps\": 25.0, \"width\": " + std::to_string(width) +
            ", \"height\": " + std::to_string(height) + ", \"zones\": []}";
        bucket->put_data(std::string(stem) + "_heatmap.png", pngs[i % pngs.size()]);
        bucket->put_data(std::string(stem) + "_heatmap.json", json);
        bucket->put_data(std::string(stem) + "_heatmap.jpg", "done");
      }
    });
  }
  for (auto &t : pool)
    t.join();
  std::printf("  uploaded %d clips (3 objects each) in %.1f s\n", days * 24, now_s() - t0);

  agg::Options options;
  options.name = "bench";
  double t1 = now_s();
  std::vector<ru::Period> periods = agg::all_periods(*bucket, layout);
  agg::RollupStats st = agg::update_rollups(*bucket, layout, periods, options);
  double first = now_s() - t1;
  std::printf(
      "  first run: %zu rollups written, %zu failed, %.1f s wall (%zu lists, %zu gets, "
      "%zu puts)\n",
      st.written, st.failed, first, st.requests.lists, st.requests.gets, st.requests.puts);
  struct PerKind {
    std::size_t n = 0, max_lists = 0, max_gets = 0, lists = 0, gets = 0;
    double secs = 0, max_secs = 0;
  };
  std::map<int, PerKind> per;
  for (const auto &r : st.results) {
    PerKind &k = per[static_cast<int>(r.period.kind)];
    ++k.n;
    k.lists += r.requests.lists;
    k.gets += r.requests.gets;
    k.max_lists = std::max(k.max_lists, r.requests.lists);
    k.max_gets = std::max(k.max_gets, r.requests.gets);
    k.secs += r.seconds;
    k.max_secs = std::max(k.max_secs, r.seconds);
  }
  std::printf("  %-6s %6s %12s %12s %14s %10s\n", "kind", "count", "gets/rollup", "lists/rollup",
              "mean s/rollup", "max s");
  for (const auto &[kind, k] : per) {
    std::printf("  %-6s %6zu %6.1f (max %zu) %6.1f (max %zu) %14.3f %10.3f\n",
                ru::kind_name(static_cast<ru::Kind>(kind)), k.n, static_cast<double>(k.gets) / k.n,
                k.max_gets, static_cast<double>(k.lists) / k.n, k.max_lists, k.secs / k.n,
                k.max_secs);
  }
  double t2 = now_s();
  agg::RollupStats again = agg::update_rollups(*bucket, layout, periods, options);
  std::printf(
      "  second run (nothing changed): %zu written, %zu unchanged, %.1f s wall (%zu gets)\n",
      again.written, again.unchanged, now_s() - t2, again.requests.gets);

  // Baseline in the same invocation: the month straight from its clips (no hierarchy).
  double t3 = now_s();
  std::size_t clips =
      agg::aggregate_prefix(*bucket, layout.heatmaps_prefix + "2025/11/", dir + "/flat", options);
  double flat = now_s() - t3;
  const PerKind &month = per[static_cast<int>(ru::Kind::kMonth)];
  std::printf(
      "  baseline: flat month from its %zu clips: %.1f s, %zu gets; month rollup from "
      "days: %.2f s, %zu gets (%.0fx fewer objects read)\n",
      clips, flat, clips * 2, month.secs, month.gets,
      static_cast<double>(clips * 2) / std::max<std::size_t>(1, month.gets));
  for (const char *f : {"/flat.png", "/flat.jpg", "/flat.json"})
    g_remove((dir + f).c_str());
  g_rmdir(dir.c_str());
  return st.failed == 0 ? 0 : 1;
}
