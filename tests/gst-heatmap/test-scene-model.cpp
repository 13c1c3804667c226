// test-scene-model.cpp: unit tests of the stabiliser and the scene model on synthesised frames.
#include "scene-model.h"
#include "stabiliser.h"

#include <glib.h>
#include <opencv2/imgproc.hpp>

#include <cmath>
#include <algorithm>
#include <cstdint>
#include <vector>

namespace {

using heatmap::SceneModel;
using heatmap::Stabiliser;

constexpr int kW = 160, kH = 90;

// A world larger than the frame: a textured floor (blobs and grain), so a shift is visible.
cv::Mat textured_world(std::uint64_t seed, double grain) {
  cv::RNG rng(seed);
  cv::Mat coarse(kH / 6 + 4, kW / 6 + 4, CV_32F);
  rng.fill(coarse, cv::RNG::UNIFORM, 70, 170);
  cv::Mat world;
  cv::resize(coarse, world, cv::Size(kW + 40, kH + 40), 0, 0, cv::INTER_CUBIC);
  cv::Mat noise(world.size(), CV_32F);
  rng.fill(noise, cv::RNG::NORMAL, 0, grain);
  return world + noise;
}

// The camera's view of `world` moved by d (frame(x) = world(x + 20 - d)), plus sensor noise.
cv::Mat view(const cv::Mat &world, cv::Point2d d, cv::RNG &rng, double noise = 1.5) {
  const cv::Matx23d m(1, 0, 20 - d.x, 0, 1, 20 - d.y);
  cv::Mat f, n(cv::Size(kW, kH), CV_32F);
  cv::warpAffine(world, f, m, cv::Size(kW, kH), cv::INTER_LINEAR | cv::WARP_INVERSE_MAP);
  rng.fill(n, cv::RNG::NORMAL, 0, noise);
  cv::Mat out;
  cv::Mat(f + n).convertTo(out, CV_8U);
  return out;
}

struct Person {
  cv::Point2d at, step;
  double value;
};

// Dark "people" (ellipses) drawn into a frame.
void draw(cv::Mat &frame, const std::vector<Person> &people, int t) {
  for (const Person &p : people) {
    const cv::Point c(cvRound(p.at.x + t * p.step.x), cvRound(p.at.y + t * p.step.y));
    cv::ellipse(frame, c, cv::Size(3, 5), 0, 0, 360, cv::Scalar(p.value), cv::FILLED);
  }
}

std::vector<Person> crowd(int n, cv::Point2d step, std::uint64_t seed) {
  cv::RNG rng(seed);
  std::vector<Person> people;
  for (int i = 0; i < n; ++i) {
    people.push_back({{rng.uniform(10.0, kW - 10.0), rng.uniform(-60.0, kH - 10.0)},
                      step,
                      rng.uniform(20.0, 60.0)});
  }
  return people;
}

void test_stabiliser_finds_a_shift_of_a_textured_floor() {
  const cv::Mat world = textured_world(1, 8);
  cv::RNG rng(2);
  Stabiliser s;
  s.set_reference(view(world, {0, 0}, rng));
  for (const cv::Point2d d : {cv::Point2d(2.5, -1.5), cv::Point2d(-3.2, 2.0), cv::Point2d(1, 0)}) {
    const cv::Point2d e = s.estimate(view(world, d, rng));
    g_test_message("true (%.2f, %.2f) estimated (%.2f, %.2f)", d.x, d.y, e.x, e.y);
    g_assert_cmpfloat(std::hypot(e.x - d.x, e.y - d.y), <, 0.35);
  }
}

void test_stabiliser_no_shift_for_a_fixed_camera() {
  const cv::Mat world = textured_world(3, 8);
  cv::RNG rng(4);
  Stabiliser s;
  s.set_reference(view(world, {0, 0}, rng));
  for (int t = 0; t < 20; ++t) {
    const cv::Point2d e = s.estimate(view(world, {0, 0}, rng, 3.0));
    g_assert_cmpfloat(std::hypot(e.x, e.y), <, 0.2);
  }
}

// The real-clip failure: a plain floor, a crowd walking the same way. The people are most of the
// texture, so the correlation peak follows them; a fixed camera must still read as fixed.
void test_scene_fixed_camera_crowd_walking_one_way() {
  const cv::Mat world = textured_world(5, 1.0) * 0.2 + 150;  // pale, almost plain floor
  std::vector<Person> people = crowd(40, {0, 1.0}, 6);
  cv::RNG rng(7);
  SceneModel m;
  m.start(500, 16, true);
  const cv::Mat none;
  int frames = 0;
  for (int t = 0; t < 150; ++t) {
    cv::Mat f = view(world, {0, 0}, rng);
    draw(f, people, t);
    m.apply(f, none, none, -1, [&](const cv::Mat &, bool) { ++frames; });
  }
  m.flush([&](const cv::Mat &, bool) { ++frames; });
  g_assert_cmpint(frames, ==, 150);
  g_test_message("camera-shift %.2f", m.events().camera_shift);
  g_assert_cmpfloat(m.events().camera_shift, <, 0.5);
  g_assert_false(m.events().camera_moved);
}

// Camera knocked once: the shift is found, reported as a lasting move, and the floor does not
// light up as motion after the knock.
void test_scene_bump_is_compensated() {
  const cv::Mat world = textured_world(8, 8);
  cv::RNG rng(9);
  SceneModel m;
  m.start(500, 16, true);
  const cv::Mat none;
  double late_share = 0;
  int t = 0;
  auto sink = [&](const cv::Mat &mask, bool) {
    if (t >= 80) {
      late_share = std::max(late_share, cv::countNonZero(mask == 255) / double(mask.total()));
    }
  };
  for (; t < 120; ++t) {
    m.apply(view(world, t < 60 ? cv::Point2d(0, 0) : cv::Point2d(3.0, -2.0), rng), none, none, -1,
            sink);
  }
  g_test_message("camera-shift %.2f, foreground share after the knock %.4f",
                 m.events().camera_shift, late_share);
  g_assert_true(m.events().camera_moved);
  g_assert_cmpfloat(std::fabs(m.events().camera_shift - std::hypot(3.0, 2.0)), <, 0.5);
  g_assert_cmpfloat(late_share, <, 0.01);
}

// Someone standing during the whole look-ahead who then walks off leaves a ghost in the learned
// scene; it must go within a few frames instead of counting as motion for seconds.
void test_scene_ghost_of_a_look_ahead_stander_goes_quickly() {
  const cv::Mat world = textured_world(10, 4);
  cv::RNG rng(11);
  SceneModel m;
  m.start(500, 16, true);
  const cv::Mat none;
  const cv::Rect spot(70, 35, 14, 20);
  int t = 0;
  std::vector<cv::Mat> masks;
  auto sink = [&](const cv::Mat &mask, bool) { masks.push_back(mask.clone()); };
  for (; t < 100; ++t) {
    cv::Mat f = view(world, {0, 0}, rng);
    if (t < 40) {
      f(spot).setTo(35);
    }
    m.apply(f, none, none, -1, sink);
  }
  g_assert_cmpuint(masks.size(), ==, 100);
  // Pixel-frames of ghost in the 60 frames after the stander left (a ghost that stayed: the
  // whole spot, 60 times), and what is left 25 frames on.
  const int spot_area = spot.area();
  int ghost = 0, left = 0;
  for (int i = 40; i < 100; ++i) {
    const int n = cv::countNonZero(masks[i](spot) == 255);
    ghost += n;
    left = i >= 65 ? std::max(left, n) : left;
  }
  g_test_message("ghost pixel-frames %d of %d, most left after 25 frames %d of %d", ghost,
                 60 * spot_area, left, spot_area);
  g_assert_cmpint(ghost, <=, 60 * spot_area / 5);
  g_assert_cmpint(left, <=, spot_area / 50);
}

}  // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/scene-model/stabiliser/finds-a-shift-of-a-textured-floor",
                  test_stabiliser_finds_a_shift_of_a_textured_floor);
  g_test_add_func("/scene-model/stabiliser/no-shift-for-a-fixed-camera",
                  test_stabiliser_no_shift_for_a_fixed_camera);
  g_test_add_func("/scene-model/fixed-camera-crowd-walking-one-way",
                  test_scene_fixed_camera_crowd_walking_one_way);
  g_test_add_func("/scene-model/bump-is-compensated", test_scene_bump_is_compensated);
  g_test_add_func("/scene-model/ghost-of-a-look-ahead-stander-goes-quickly",
                  test_scene_ghost_of_a_look_ahead_stander_goes_quickly);
  return g_test_run();
}
