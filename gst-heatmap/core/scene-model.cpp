// scene-model.cpp: the YUV scene model (look-ahead start, camera and lighting compensation,
// classification with shadow suppression, selective learning, lighting events).
#include "scene-model.h"

#include "byte-rank.h"
#include "motion-model.h"
#include "scene-classify.h"
#include "scene-settle.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <array>
#include <cmath>

namespace heatmap {

namespace {

using namespace scene;  // the per-pixel constants (scene-classify.h)

// Foreground pixels learn this much slower than background ones: a person who stops for a
// few seconds stays foreground, something left for good fades in after ~4 histories.
constexpr float kForegroundSlowdown = 4.0f;
constexpr int kMinAbsorb = 25;
// A neighbour's scene explains a foreground pixel only within a spread this tight (a busy
// start leaves wide spreads where people walked; they must not swallow people), and a pixel
// that takes a neighbour's scene takes at most this spread: handing a wide spread on, pixel
// by pixel, spread it over whole regions walked through at the start, which then took in
// dark or muted people as background (measured: a tenth of a frame at 24 levels).
constexpr float kGhostVarY = 6.0f * 6.0f;
constexpr float kGhostVarC = 4.0f * 4.0f;
// Wider neighbours witness only for a pixel foreground without a break since the look-ahead,
// once it has been so for this many frames: a person who stood (or a shadow that lay) through
// most of the look-ahead and then left is a ghost ringed by wide spreads (its edges moved while
// the scene was learned), with the tight floor beyond reach of the 8 neighbours. Anywhere else
// a wide neighbour's mean is part person and takes in dark or muted people who linger
// (measured: pause 0.875 -> 0.922, crowded 0.878 -> 0.926 when refused). The streak keeps
// people crossing during the look-ahead whole (with 10 frames their pixels took a wide rim's
// part-person scene and became ghosts when they left; with 24 a start-up shadow's ghost
// counted too long: false heat 0.048 on the small shadows scene).
constexpr std::uint16_t kStartupGhostStreak = 16;
// A scene that a pixel took from a neighbour in the ghost pass (within the last history frames)
// is handed on again only to a pixel that it explains as the background test does (one distance
// over luma and chroma within the threshold), except to a start-up ghost, whose floor may be
// crossed ring by ring. The first ring of a ghost is found loosely (luma within the threshold and
// chroma within twice it, each on its own: a pixel's own floor differs from its neighbour's by the
// floor's texture), but along a chain that evidence weakens: the blurred edge of a paused person
// (part floor) matched a floor neighbour, took its scene, settled onto the person's edge (within
// kFreshSlack thresholds, at kFreshRate), and then witnessed loosely for the next pixel inwards
// (in the same frame, too, from the backward pass); the person was eaten edge by edge within a
// second of stopping (pause seed 2: 1052 of the 2268 pixel-frames of a walker's pause missed as
// background).
// A pixel that took a neighbour's scene settles on its own floor for this many frames (within
// kFreshSlack times the threshold it is background and learns at kFreshRate).
constexpr std::uint8_t kFreshFrames = 8;
// A pixel that took a neighbour's scene in an earlier frame is no witness for this many frames
// after (in the pass that settles it, it is: one pass crosses a plain ghost). A paused or slow
// person's edge pixel that matched a patch of floor settles towards the person (kFreshRate)
// and, witnessing in the next frame already, handed the person's colour on to the next pixel
// inwards: the person was eaten a ring a frame (traced: crowded seed 2, a walker paused for 89
// frames, 1381 of its pixel-frames; shadows seed 1, walkers crossing at 0.4-1.1 px a frame).
// Refused for all kFreshFrames, a look-ahead stander's ghost on a textured floor, which needs
// that chain to cross its gradient, stayed for seconds; two frames slow a person's chain
// three-fold and leave the ghost's as quick (with the backward pass below).
constexpr std::uint8_t kFreshNoWitness = 2;
// A frame-to-frame change of global gain above this is a light switched, not exposure drift.
constexpr double kLightStep = 0.10;
// Foreground over this share of the frame, and well above the recent share, is a lighting
// change that the global gain did not capture (lights in part of the scene).
constexpr double kFlood = 0.40;
constexpr int kRelearnFrames = 4;
// Colour channel gains further apart than this (relative to their mean) are a white balance
// change: the frame is corrected channel by channel before the comparison.
constexpr double kWhiteBalanceStep = 0.02;
// A fitted luma offset under this (levels) is taken as none.
constexpr double kMinLumaOffset = 3.0;
// Camera offsets under this are not worth a warp (processing pixels).
constexpr double kMinShift = 0.2;
constexpr double kMovedShift = 1.0;
constexpr int kMovedFrames = 25;

float median_of(std::vector<float> &v, std::size_t k) {
  std::nth_element(v.begin(), v.begin() + k, v.end());
  return v[k];
}

// A scene's spread from the median absolute deviation of the look-ahead (robust to people passing
// up to half of the time), and the variances it gives: luma's, and chroma's (one for U and V:
// the larger of U's and V's).
float spread_sigma(float mad) {
  return 1.4826f * mad;
}
float luma_variance(float sigma) {
  const float s = std::clamp(sigma, kMinSigmaY, kMaxSigma);
  return s * s;
}
float u_variance(float sigma) {
  const float s = std::clamp(sigma, kMinSigmaC, kMaxSigma);
  return s * s;
}
float v_variance(float sigma) {
  return std::min(sigma * sigma, kMaxSigma * kMaxSigma);
}

// Whether a lighting correction moves no level by as much as half a level (8-bit rounding).
bool negligible(const cv::Matx33f &t) {
  for (int r = 0; r < 3; ++r) {
    const float moved = std::fabs(t(r, 0) - (r == 0)) * 255.f +
                        std::fabs(t(r, 1) - (r == 1)) * 128.f +
                        std::fabs(t(r, 2) - (r == 2)) * 128.f;
    if (moved >= 0.5f) {
      return false;
    }
  }
  return true;
}

}  // namespace

void SceneModel::start(int history, double var_threshold, bool detect_shadows) {
  release();
  history_ = std::max(1, history);
  threshold_ = var_threshold > 0 ? var_threshold : 16.0;
  shadows_ = detect_shadows;
  started_ = true;
}

void SceneModel::release() {
  started_ = false;
  held_.clear();
  my_.release();
  mu_.release();
  mv_.release();
  vy_.release();
  vc_.release();
  mask_.release();
  streak_.release();
  fresh_.release();
  borrowed_.release();
  stabiliser_.reset();
  frames_ = 0;
  learned_at_ = kWarmup;
  gain_ = 1.0;
  coverage_ = 0.0;
  in_event_ = false;
  relearn_ = 0;
  drift_ = {0.0, 0.0};
  moved_frames_ = 0;
  events_ = SceneEvents();
}

void SceneModel::set_counted(const cv::Mat &counted) {
  CV_Assert(counted.empty() || counted.type() == CV_8UC1);
  counted_ =
      cv::countNonZero(counted) == static_cast<int>(counted.total()) ? cv::Mat() : counted.clone();
}

void SceneModel::camera(const cv::Mat &y, const cv::Mat &u, const cv::Mat &v, cv::Mat &ay,
                        cv::Mat &au, cv::Mat &av) {
  // Masked pixels are left out of the verdict as moving ones are.
  const cv::Mat *moving = &mask_;
  if (!counted_.empty() && counted_.size() == y.size()) {
    if (mask_.empty()) {
      cv::compare(counted_, 0, ignored_, cv::CMP_EQ);
    } else {
      cv::Mat excluded;
      cv::compare(counted_, 0, excluded, cv::CMP_EQ);
      cv::bitwise_or(mask_, excluded, ignored_);
    }
    moving = &ignored_;
  }
  const cv::Point2d d = stabiliser_.estimate(y, *moving);
  const double shift = std::hypot(d.x, d.y);
  events_.camera_shift = std::max(events_.camera_shift, shift);
  drift_ = 0.96 * drift_ + 0.04 * d;
  moved_frames_ = std::hypot(drift_.x, drift_.y) >= kMovedShift ? moved_frames_ + 1 : 0;
  if (moved_frames_ >= kMovedFrames) {
    events_.camera_moved = true;
  }
  if (shift < kMinShift) {
    ay = y, au = u, av = v;
    all_valid_ = true;
    return;
  }
  Stabiliser::align(y, ay, d);
  if (!u.empty()) {
    Stabiliser::align(u, au, d);
    Stabiliser::align(v, av, d);
  }
  Stabiliser::valid_area(y.size(), d, valid_);
  all_valid_ = false;
}

void SceneModel::apply(const cv::Mat &y, const cv::Mat &u, const cv::Mat &v, double rate,
                       const MaskSink &sink) {
  colour_ = !u.empty() && !v.empty();
  if (my_.empty()) {
    // Look-ahead start: hold the frames (aligned to the first) until the scene is known.
    if (held_.empty()) {
      stabiliser_.set_reference(y);
    }
    Held h;
    cv::Mat ay, au, av;
    camera(y, colour_ ? u : cv::Mat(), colour_ ? v : cv::Mat(), ay, au, av);
    h.y = ay.clone();
    h.u = colour_ ? au.clone() : cv::Mat();
    h.v = colour_ ? av.clone() : cv::Mat();
    h.rate = rate;
    held_.push_back(std::move(h));
    if (static_cast<int>(held_.size()) >= kWarmup) {
      flush(sink);
    }
    return;
  }
  cv::Mat ay, au, av;
  camera(y, colour_ ? u : cv::Mat(), colour_ ? v : cv::Mat(), ay, au, av);
  classify(ay, au, av, rate, sink);
}

void SceneModel::flush(const MaskSink &sink) {
  if (held_.empty()) {
    return;
  }
  initialise();
  std::vector<Held> held = std::move(held_);
  held_.clear();
  for (const Held &h : held) {
    all_valid_ = true;  // held frames were aligned with replicated borders
    classify(h.y, h.u, h.v, h.rate, sink);
  }
}

void SceneModel::initialise() {
  const cv::Size size = held_.front().y.size();
  const std::size_t n = held_.size();
  my_.create(size, CV_32F);
  vy_.create(size, CV_32F);
  // Colour only when every held frame has chroma: a grey<->colour caps change during the
  // look-ahead must never make the median read a missing plane.
  const bool colour = std::all_of(held_.begin(), held_.end(),
                                  [](const Held &h) { return !h.u.empty() && !h.v.empty(); });
  if (colour) {
    mu_.create(size, CV_32F);
    mv_.create(size, CV_32F);
    vc_.create(size, CV_32F);
  }
  // The scene is the per-pixel median of the held frames, its spread their median absolute
  // deviation. Lighting that moves during the look-ahead (auto-exposure, white balance hunting,
  // a switch) would widen every spread by its swing, blind for hundreds of frames to people
  // near the floor's colour: so each held frame is first taken to the lighting of a provisional
  // median (to_scene), then the median and the spread are taken again.
  std::vector<cv::Matx33f> to_scene(n, cv::Matx33f::eye());
  learn_look_ahead(to_scene, colour, false);
  bool lit = false;
  for (std::size_t k = 0; k < n; ++k) {
    to_scene[k] = lighting_to_scene(held_[k].y, colour ? held_[k].u : cv::Mat(),
                                    colour ? held_[k].v : cv::Mat(), my_, colour ? mu_ : cv::Mat(),
                                    colour ? mv_ : cv::Mat(), cv::Mat(), &photometric_scratch_);
    lit = lit || !negligible(to_scene[k]);
  }
  if (!lit) {
    to_scene.assign(n, cv::Matx33f::eye());
  }
  learn_look_ahead(to_scene, colour, true);
  stabiliser_.set_reference(my_);
}

void SceneModel::learn_look_ahead(const std::vector<cv::Matx33f> &to_scene, bool colour,
                                  bool spreads) {
  const cv::Size size = held_.front().y.size();
  const std::size_t n = held_.size();
  if (n <= static_cast<std::size_t>(kMaxRankPlanes) &&
      std::all_of(to_scene.begin(), to_scene.end(),
                  [](const cv::Matx33f &t) { return t == cv::Matx33f::eye(); })) {
    learn_look_ahead_bytes(colour, spreads);
    return;
  }
  std::vector<float> s[3];
  for (auto &v : s) {
    v.resize(n);
  }
  const std::size_t q2 = n / 2;
  for (int r = 0; r < size.height; ++r) {
    float *m[3] = {my_.ptr<float>(r), colour ? mu_.ptr<float>(r) : nullptr,
                   colour ? mv_.ptr<float>(r) : nullptr};
    float *vy = vy_.ptr<float>(r);
    float *vc = colour ? vc_.ptr<float>(r) : nullptr;
    for (int c = 0; c < size.width; ++c) {
      for (std::size_t k = 0; k < n; ++k) {
        const Held &h = held_[k];
        const float y = h.y.ptr<std::uint8_t>(r)[c];
        if (!colour) {
          s[0][k] = to_scene[k](0, 0) * y;
          continue;
        }
        const float u = h.u.ptr<std::uint8_t>(r)[c] - 128.f,
                    v = h.v.ptr<std::uint8_t>(r)[c] - 128.f;
        const cv::Matx33f &t = to_scene[k];
        s[0][k] = t(0, 0) * y + t(0, 1) * u + t(0, 2) * v;
        s[1][k] = t(1, 0) * y + t(1, 1) * u + t(1, 2) * v + 128.f;
        s[2][k] = t(2, 0) * y + t(2, 1) * u + t(2, 2) * v + 128.f;
      }
      for (int ch = 0; ch < (colour ? 3 : 1); ++ch) {
        std::vector<float> &x = s[ch];
        const float med = median_of(x, q2);
        m[ch][c] = med;
        if (!spreads) {
          continue;
        }
        for (std::size_t k = 0; k < n; ++k) {
          x[k] = std::fabs(x[k] - med);
        }
        const float sigma = spread_sigma(median_of(x, q2));
        if (ch == 0) {
          vy[c] = luma_variance(sigma);
        } else if (ch == 1) {
          vc[c] = u_variance(sigma);
        } else {
          vc[c] = std::max(vc[c], v_variance(sigma));
        }
      }
    }
  }
}

void SceneModel::learn_look_ahead_bytes(bool colour, bool spreads) {
  // The samples are the bytes themselves: so are their median and their median absolute
  // deviation, found exactly on the bytes (select_rank_bytes). The floats are then those the
  // general path makes of the same values: a byte's float, and the variances of each spread
  // by the same functions (tabled by spread).
  const cv::Size size = held_.front().y.size();
  const int n = static_cast<int>(held_.size());
  const int channels = colour ? 3 : 1;
  std::array<std::array<float, 256>, 3> variance;
  if (spreads) {
    for (int d = 0; d < 256; ++d) {
      const float sigma = spread_sigma(static_cast<float>(d));
      variance[0][d] = luma_variance(sigma);
      variance[1][d] = u_variance(sigma);
      variance[2][d] = v_variance(sigma);
    }
  }
  std::vector<const std::uint8_t *> rows(held_.size());
  std::vector<std::uint8_t> med(3 * static_cast<std::size_t>(size.width));
  std::vector<std::uint8_t> mad(med.size());
  for (int r = 0; r < size.height; ++r) {
    for (int ch = 0; ch < channels; ++ch) {
      for (int k = 0; k < n; ++k) {
        const Held &h = held_[k];
        rows[k] = (ch == 0 ? h.y : ch == 1 ? h.u : h.v).ptr<std::uint8_t>(r);
      }
      select_rank_bytes(rows.data(), n, n / 2, size.width, &med[ch * size.width],
                        spreads ? &mad[ch * size.width] : nullptr);
    }
    for (int ch = 0; ch < channels; ++ch) {
      float *m = (ch == 0 ? my_ : ch == 1 ? mu_ : mv_).ptr<float>(r);
      const std::uint8_t *from = &med[ch * size.width];
      for (int c = 0; c < size.width; ++c) {
        m[c] = from[c];
      }
    }
    if (!spreads) {
      continue;
    }
    float *vy = vy_.ptr<float>(r);
    for (int c = 0; c < size.width; ++c) {
      vy[c] = variance[0][mad[c]];
    }
    if (colour) {
      float *vc = vc_.ptr<float>(r);
      const std::uint8_t *du = &mad[size.width], *dv = &mad[2 * size.width];
      for (int c = 0; c < size.width; ++c) {
        vc[c] = std::max(variance[1][du[c]], variance[2][dv[c]]);
      }
    }
  }
}

bool SceneModel::white_balance(const cv::Mat &y, const cv::Mat &u, const cv::Mat &v,
                               const cv::Mat &use) {
  const ChannelGains k = estimate_channel_gains(y, u, v, my_, mu_, mv_, use, &photometric_scratch_);
  const double mean = (k.r + k.g + k.b) / 3.0;
  if (std::max({std::fabs(k.r / mean - 1.0), std::fabs(k.g / mean - 1.0),
                std::fabs(k.b / mean - 1.0)}) < kWhiteBalanceStep) {
    return false;  // one gain for all channels: the luma gain alone follows it
  }
  // To the scene's white balance at the frame's luma gain (a grey pixel keeps its luma).
  const cv::Matx33f m = white_balance_correction(k, 0.299 * k.r + 0.587 * k.g + 0.114 * k.b);
  wb_y_.create(y.size(), CV_8UC1);
  wb_u_.create(y.size(), CV_8UC1);
  wb_v_.create(y.size(), CV_8UC1);
  for (int r = 0; r < y.rows; ++r) {
    const std::uint8_t *py = y.ptr<std::uint8_t>(r), *pu = u.ptr<std::uint8_t>(r),
                       *pv = v.ptr<std::uint8_t>(r);
    std::uint8_t *oy = wb_y_.ptr<std::uint8_t>(r), *ou = wb_u_.ptr<std::uint8_t>(r),
                 *ov = wb_v_.ptr<std::uint8_t>(r);
    for (int c = 0; c < y.cols; ++c) {
      const float fy = py[c], fu = pu[c] - 128.f, fv = pv[c] - 128.f;
      oy[c] = cv::saturate_cast<std::uint8_t>(m(0, 0) * fy + m(0, 1) * fu + m(0, 2) * fv);
      ou[c] = cv::saturate_cast<std::uint8_t>(m(1, 0) * fy + m(1, 1) * fu + m(1, 2) * fv + 128.f);
      ov[c] = cv::saturate_cast<std::uint8_t>(m(2, 0) * fy + m(2, 1) * fu + m(2, 2) * fv + 128.f);
    }
  }
  return true;
}

void SceneModel::classify(const cv::Mat &frame_y, const cv::Mat &frame_u, const cv::Mat &frame_v,
                          double rate, const MaskSink &sink) {
  const cv::Size size = frame_y.size();
  const bool colour = !frame_u.empty() && !mu_.empty();
  // Lighting, measured on what was background last time (and inside the frame).
  // (use_ keeps its buffer between frames: a fresh 130 kB a frame costs page faults.)
  cv::Mat use;
  if (!mask_.empty()) {
    cv::compare(mask_, 0, use_, cv::CMP_EQ);
    if (!all_valid_) {
      cv::bitwise_and(use_, valid_, use_);
    }
    use = use_;
  } else if (!all_valid_) {
    use = valid_;
  }
  const bool masking = !counted_.empty() && counted_.size() == size;
  if (masking) {
    if (use.empty()) {
      use = counted_;
    } else {
      cv::bitwise_and(use, counted_, use_);
      use = use_;
    }
  }
  // A white balance that moved the colour channels apart: the frame is taken back to the
  // scene's white balance first (see white_balance), then compared as usual.
  const bool balanced = colour && white_balance(frame_y, frame_u, frame_v, use);
  const cv::Mat &fy = balanced ? wb_y_ : frame_y;
  const cv::Mat &au = balanced ? wb_u_ : frame_u;
  const cv::Mat &av = balanced ? wb_v_ : frame_v;
  // An additive change of brightness (a black level, a brightness control) is fitted apart
  // from the gain, so that the gain, and the chroma prediction that scales with it, stay true.
  // Offsets under kMinLumaOffset are taken as none (noise moving every pixel's prediction).
  double offset = estimate_luma_offset(fy, my_, use, &photometric_scratch_);
  offset = std::fabs(offset) >= kMinLumaOffset ? offset : 0.0;
  const Photometric p = estimate_photometric(fy, colour ? au : cv::Mat(), colour ? av : cv::Mat(),
                                             my_, mu_, mv_, use, &photometric_scratch_, offset);
  const bool sudden = frames_ > 0 && std::fabs(p.gain / gain_ - 1.0) > kLightStep;

  const float g = static_cast<float>(p.gain), ig = 1.0f / g;
  const float du = static_cast<float>(p.du), dv = static_cast<float>(p.dv);
  mask_.create(size, CV_8UC1);
  if (streak_.size() != size) {
    streak_ = cv::Mat::zeros(size, CV_16UC1);
    fresh_ = cv::Mat::zeros(size, CV_8UC1);
    borrowed_ = cv::Mat::zeros(size, CV_32SC1);
  }
  if (ratio_.size() != size) {
    ratio_ = cv::Mat::zeros(size, CV_32F);
  }
  ratio_row_.resize(static_cast<std::size_t>(size.width));
  scene::ClassifyParams cp;
  cp.gain = g;
  cp.offset = static_cast<float>(offset);
  cp.du = du;
  cp.dv = dv;
  cp.threshold = static_cast<float>(threshold_);
  cp.rate = static_cast<float>(rate < 0 ? 1.0 / history_ : std::min(rate, 1.0));
  cp.fg_rate = cp.rate / kForegroundSlowdown;
  cp.absorb = std::max(kMinAbsorb, history_ / 6);
  cp.shadows = shadows_;
  // Rows holding shadow candidates and possible ghosts: the passes after this one visit only
  // those (most rows of a quiet scene hold neither).
  shadow_rows_.assign(size.height, 0);
  ghost_rows_.assign(size.height, 0);
  std::size_t moving = 0, inside = 0, candidates = 0;
  for (int r = 0; r < size.height; ++r) {
    scene::ClassifyRow row;
    row.y = fy.ptr<std::uint8_t>(r);
    row.u = colour ? au.ptr<std::uint8_t>(r) : nullptr;
    row.v = colour ? av.ptr<std::uint8_t>(r) : nullptr;
    row.valid = all_valid_ ? nullptr : valid_.ptr<std::uint8_t>(r);
    row.counted = masking ? counted_.ptr<std::uint8_t>(r) : nullptr;
    row.my = my_.ptr<float>(r);
    row.vy = vy_.ptr<float>(r);
    row.mu = colour ? mu_.ptr<float>(r) : nullptr;
    row.mv = colour ? mv_.ptr<float>(r) : nullptr;
    row.vc = colour ? vc_.ptr<float>(r) : nullptr;
    row.streak = streak_.ptr<std::uint16_t>(r);
    row.fresh = fresh_.ptr<std::uint8_t>(r);
    row.mask = mask_.ptr<std::uint8_t>(r);
    // The ratios go to a row kept in the cache, and on to ratio_ only for rows with shadow
    // candidates, the only ones settle_shadows() reads (a shadow's neighbours it averages are
    // candidates too): 0.5 MB less written a frame at 480x270.
    row.ratio = ratio_row_.data();
    scene::ClassifyTally t;
    scene::classify_row(row, cp, size.width, t);
    if (t.candidates > 0) {
      std::copy(ratio_row_.begin(), ratio_row_.end(), ratio_.ptr<float>(r));
    }
    inside += t.inside;
    moving += t.moving;
    candidates += t.candidates;
    shadow_rows_[r] = t.candidates > 0;
    ghost_rows_[r] = t.lasting > 0;
  }
  if (candidates > 0) {
    settle_shadows();
  }
  offset_ = offset;
  if (moving > 0) {
    // (Ghosts may lie in masked pixels, which `moving` left out.)
    moving -=
        std::min(moving, settle_ghosts(fy, colour ? au : cv::Mat(), colour ? av : cv::Mat(), p));
  }
  const double share = inside > 0 ? static_cast<double>(moving) / inside : 0.0;
  const bool flood = share > kFlood && share > 3.0 * coverage_ + 0.1;
  ++frames_;
  if (sudden || flood) {
    if (!in_event_) {
      ++events_.lighting_events;
    }
    in_event_ = true;
    // Re-learn on a switch the gain explains too: the gain is one number for the whole
    // frame, and parts of the scene (a shelf in its own light, a clipped patch) follow the
    // switch otherwise; with the scene's own spreads they would light up for a few frames.
    relearn_ = kRelearnFrames;
  }
  gain_ = p.gain;
  if (sudden || relearn_ > 0) {
    // The scene re-learns at once: it jumps halfway to this frame (in the scene's own
    // lighting) on each of a few frames. None of those frames counts.
    if (relearn_ > 0) {
      --relearn_;
      learned_at_ = frames_;
      cv::Mat obs;
      fy.convertTo(obs, CV_32F, ig, -offset * ig);
      cv::addWeighted(my_, 0.5, obs, 0.5, 0.0, my_);
      if (colour) {
        au.convertTo(obs, CV_32F, ig, 128.0 - (128.0 + du) * ig);
        cv::addWeighted(mu_, 0.5, obs, 0.5, 0.0, mu_);
        av.convertTo(obs, CV_32F, ig, 128.0 - (128.0 + dv) * ig);
        cv::addWeighted(mv_, 0.5, obs, 0.5, 0.0, mv_);
      }
    }
    mask_.setTo(0);
    sink(mask_, false);
    return;
  }
  in_event_ = false;
  coverage_ = 0.95 * coverage_ + 0.05 * share;
  sink(mask_, true);
}

std::size_t SceneModel::settle_ghosts(const cv::Mat &ay, const cv::Mat &au, const cv::Mat &av,
                                      const Photometric &p) {
  // A ghost (the scene learned with someone in it, who left) shows the floor, which the
  // scene of the pixels around it knows: it is eaten from its edges inwards, in raster order
  // and then in reverse, so that one frame can cross a plain ghost from both sides. A person's
  // pixels do not match the floor around them, so people are left whole, whether walking or
  // not.
  const int w = mask_.cols, h = mask_.rows;
  const bool colour = !au.empty() && !mu_.empty();
  const float g = static_cast<float>(p.gain), g2 = g * g;
  const float du = static_cast<float>(p.du), dv = static_cast<float>(p.dv);
  const float b = static_cast<float>(offset_);
  const float k = static_cast<float>(threshold_), kc = 2.0f * k;
  // This frame's stamp for borrowed_ (0: never took a neighbour's scene).
  const std::uint32_t stamp = static_cast<std::uint32_t>(frames_) + 1;
  const auto history = static_cast<std::uint32_t>(history_);
  // Neighbour j of scene::neighbours_equal's bits, as (dy, dx).
  static constexpr int kDy[8] = {-1, -1, -1, 0, 0, 1, 1, 1};
  static constexpr int kDx[8] = {-1, 0, 1, -1, 1, -1, 0, 1};
  // One candidate pixel (motion, foreground for kGhostStreak frames; the callers test that)
  // and its background neighbours now (mask 0; scene::neighbours_equal's bits): whether it took
  // a neighbour's scene. Only those neighbours can witness (inside a blob none); they are tried
  // in raster order, as the best match keeps the first of equals.
  auto settle = [&](int r, int c, unsigned around) {
    if (around == 0) {
      return false;
    }
    std::uint8_t *out = mask_.ptr<std::uint8_t>(r);
    std::uint16_t *st = streak_.ptr<std::uint16_t>(r);
    const float fy = std::min<float>(ay.ptr<std::uint8_t>(r)[c], kClip);
    const float fu = colour ? au.ptr<std::uint8_t>(r)[c] - 128.f : 0.f;
    const float fv = colour ? av.ptr<std::uint8_t>(r)[c] - 128.f : 0.f;
    // Foreground without a break since the scene was last learned whole (the look-ahead, or
    // the re-learn after a lighting event): possibly learned with someone in it.
    const bool startup =
        st[c] >= kStartupGhostStreak && static_cast<std::uint64_t>(st[c]) + learned_at_ >= frames_;
    int best_r = -1, best_c = -1;
    float best = 1e30f;
    for (; around != 0; around &= around - 1) {
      const int j = __builtin_ctz(around);
      const int rr = r + kDy[j], x = c + kDx[j];
      if (!all_valid_ && valid_.ptr<std::uint8_t>(rr)[x] == 0) {
        continue;
      }
      const float vy = vy_.ptr<float>(rr)[x];
      const float vc = colour ? vc_.ptr<float>(rr)[x] : 0.f;
      if (!startup && (vy > kGhostVarY || (colour && vc > kGhostVarC))) {
        continue;
      }
      const std::uint8_t fr = fresh_.ptr<std::uint8_t>(rr)[x];
      if (fr < kFreshFrames && fr >= kFreshFrames - kFreshNoWitness) {
        continue;
      }
      // A scene taken in the ghost pass lately is handed on strictly.
      const std::uint32_t lent = borrowed_.ptr<std::uint32_t>(rr)[x];
      const bool strict = !startup && lent != 0 && stamp - lent < history;
      const float ry = fy - std::min(g * my_.ptr<float>(rr)[x] + b, kClip);
      // (n / d > 1 exactly when n > d, for the positive spreads: no division for a refusal.)
      const float num_y = ry * ry, den_y = k * g2 * std::min(vy, kGhostVarY);
      if (num_y > den_y) {
        continue;
      }
      float e = num_y / den_y;
      if (colour) {
        const float eu = fu - (g * (mu_.ptr<float>(rr)[x] - 128.f) + du);
        const float ev = fv - (g * (mv_.ptr<float>(rr)[x] - 128.f) + dv);
        const float num_c = eu * eu + ev * ev;
        const float den_c = (strict ? k : kc) * g2 * std::min(vc, kGhostVarC);
        if (num_c > den_c) {
          continue;
        }
        e += num_c / den_c;
      }
      if (strict && e > 1.f) {
        continue;
      }
      if (e < best) {
        best = e, best_r = rr, best_c = x;
      }
    }
    if (best_r < 0) {
      return false;
    }
    // The neighbour's scene, not what is seen now: the next pixel inwards is checked
    // against the floor, never against a colour taken from a person. On a textured floor
    // the neighbour's mean is not quite this pixel's: it settles in the next frames (fresh).
    my_.ptr<float>(r)[c] = my_.ptr<float>(best_r)[best_c];
    vy_.ptr<float>(r)[c] = std::min(vy_.ptr<float>(best_r)[best_c], kGhostVarY);
    if (colour) {
      mu_.ptr<float>(r)[c] = mu_.ptr<float>(best_r)[best_c];
      mv_.ptr<float>(r)[c] = mv_.ptr<float>(best_r)[best_c];
      vc_.ptr<float>(r)[c] = std::min(vc_.ptr<float>(best_r)[best_c], kGhostVarC);
    }
    fresh_.ptr<std::uint8_t>(r)[c] = kFreshFrames;
    borrowed_.ptr<std::uint32_t>(r)[c] = stamp;
    out[c] = 0;
    st[c] = 0;
    settled_rows_[r] = 1;
    return true;
  };
  // A row's candidates, 16 at a time (bit i: column c + i), and one at a time past the last 16.
  // (out, st: the row's mask and streaks.)
  auto candidates = [w](const std::uint8_t *out, const std::uint16_t *st, int c) {
    return c + 16 <= w ? scene::ghost_candidates16(out + c, st + c)
                       : scene::ghost_candidates(out + c, st + c, w - c);
  };
  settled_rows_.assign(h, 0);
  std::size_t settled = 0;
  // Per 16 pixels inside the frame, the neighbours of all of them at once (nb). A pixel that
  // settles changes only itself: out of the candidates (the 16 bits stay true) and background,
  // for its neighbours, of which only the next one in the pass is still to come in these 16
  // (its left neighbour, bit 3; backwards its right one, bit 4, which is also fresh).
  alignas(16) std::uint8_t nb[16], near[16];
  for (int r = 0; r < h; ++r) {
    if (!ghost_rows_[r]) {
      continue;  // no pixel foreground for kGhostStreak frames here
    }
    const std::uint8_t *out = mask_.ptr<std::uint8_t>(r);
    const std::uint16_t *st = streak_.ptr<std::uint16_t>(r);
    for (int c = 0; c < w; c += 16) {
      unsigned bits = candidates(out, st, c);
      if (bits == 0) {
        continue;
      }
      const bool inside = r > 0 && r + 1 < h && c > 0 && c + 16 < w;
      if (inside) {
        scene::neighbours_equal16(mask_, r, c, 0, nb);
      }
      int last = -2;  // the latest pixel of these 16 that settled
      for (; bits != 0; bits &= bits - 1) {
        const int i = __builtin_ctz(bits);
        const unsigned around =
            inside ? nb[i] | (last == i - 1 ? 8u : 0u) : scene::neighbours_equal(mask_, r, c + i);
        if (around != 0 && settle(r, c + i, around)) {
          ++settled;
          last = i;
        }
      }
    }
  }
  if (settled == 0) {
    return 0;
  }
  // And backwards (bottom to top, right to left): a ghost is eaten from both sides in one
  // frame, from the pixels this frame settled too. (Alone, with settled pixels witnessing
  // in the next frame, it lost shadows seed 2 0.974 -> 0.952; with kFreshNoWitness it keeps
  // the stander's ghost as quick as before.)
  // A candidate the forward pass left has the same witnesses now unless a neighbour settled in
  // this frame (fresh_ is kFreshFrames only there, or outside the frame, where it witnesses
  // nothing): only those are tried again, which gives the same result as trying all.
  for (int r = h - 1; r >= 0; --r) {
    if (!ghost_rows_[r] || !(settled_rows_[r] || (r > 0 && settled_rows_[r - 1]) ||
                             (r + 1 < h && settled_rows_[r + 1]))) {
      continue;
    }
    const std::uint8_t *out = mask_.ptr<std::uint8_t>(r);
    const std::uint16_t *st = streak_.ptr<std::uint16_t>(r);
    for (int c = (w - 1) & ~15; c >= 0; c -= 16) {
      unsigned bits = candidates(out, st, c);
      if (bits == 0) {
        continue;
      }
      const bool inside = r > 0 && r + 1 < h && c > 0 && c + 16 < w;
      if (inside) {
        // The first pixel of these 16 to settle is near a settled one now: none, none settles.
        if ((scene::neighbours_equal16(fresh_, r, c, kFreshFrames, near) & bits) == 0) {
          continue;
        }
        scene::neighbours_equal16(mask_, r, c, 0, nb);
      }
      int last = -2;
      while (bits != 0) {
        const int i = 31 - __builtin_clz(bits);
        bits &= ~(1u << i);
        const bool right = last == i + 1;
        if (inside ? near[i] == 0 && !right
                   : scene::neighbours_equal(fresh_, r, c + i, kFreshFrames) == 0) {
          continue;
        }
        const unsigned around =
            inside ? nb[i] | (right ? 16u : 0u) : scene::neighbours_equal(mask_, r, c + i);
        if (settle(r, c + i, around)) {
          ++settled;
          last = i;
        }
      }
    }
  }
  return settled;
}

void SceneModel::settle_shadows() {
  scene::settle_textured_shadows(mask_, ratio_, shadow_rows_, shadow_scratch_);
}

void SceneModel::background(cv::Mat &y, cv::Mat &u, cv::Mat &v) const {
  my_.convertTo(y, CV_8U);
  if (!mu_.empty()) {
    mu_.convertTo(u, CV_8U);
    mv_.convertTo(v, CV_8U);
  } else {
    u.release();
    v.release();
  }
}

}  // namespace heatmap
