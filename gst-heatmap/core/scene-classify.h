// scene-classify.h: how the scene model decides, per pixel, whether it moved, and how it learns
// (one row at a time; vectorised with OpenCV's universal intrinsics, with a scalar twin).
#pragma once

#include <cstddef>
#include <cstdint>

namespace heatmap {
namespace scene {

// Noise floors (standard deviations, 8-bit levels) below which a pixel's learned spread is
// never trusted: H.264 at surveillance bitrates moves flat areas by a level or so even after
// the area mean to processing size (measured there on the ground-truth scenes: 0.5 levels
// typical, 1 at the 90th percentile). They were 3 and 2: lower floors see people closer to the
// floor's colour, once white balance and additive brightness changes are compensated.
constexpr float kMinSigmaY = 2.5f;
constexpr float kMinSigmaC = 1.5f;
constexpr float kMaxSigma = 24.0f;
// The spreads learn only from pixels within this share of the threshold (MOG2's 9 of 16:
// varThresholdGen against varThreshold). Learning from everything under the threshold lets a
// spread grow by up to 15 times the rate a frame (a person's edge, a passing shadow's soft
// rim just under the threshold), and a wider spread takes in more of the next person: a
// region walked through often ends at the widest spread, blind to dark or muted people.
constexpr float kSpreadShare = 9.0f / 16.0f;
// Luma above this is treated as clipped (BT.601 video range tops out at 235).
constexpr float kClip = 232.0f;
// A colour channel (R, G or B from Y and centred U, V, BT.601) at or above this is saturated.
constexpr float kSaturated = 245.0f;
// A shadow: darker than the scene by a ratio a in [kShadowLow, kShadowHigh], with the chroma
// of the scene darkened by a, as MOG2 judges it (its Tb * var * a^2): the scene darkened by a
// (chroma means and spreads alike) explains the pixel's chroma within kShadowShare times the
// background test's threshold. A shadow that halves the light halves the floor's chroma and its
// variations; with the full-light spread and twice the threshold (before session 12), dark
// people of a colour near the floor's passed for shadows and went uncounted. The share is
// measured: 1 (the background test itself) finds most people (bench shadows 0.963) but takes a
// shadow's edge for motion on small frames, where the codec's chroma noise does not darken with
// the light (heatmap-scenes false heat: shadows 0.039 -> 0.046, shake 0.034 -> 0.040); 1.5 keeps
// them at 0.040 and 0.036 (bench seeds 1-3: shadows 0.922 -> 0.952, plain 0.969 -> 0.981, every
// kind at least as good).
constexpr float kShadowShare = 1.5f;
constexpr float kShadowLow = 0.45f;
constexpr float kShadowHigh = 0.92f;
// A pixel that took a neighbour's scene settles on its own floor: within kFreshSlack times the
// threshold it is background and learns at kFreshRate. With 4 (before session 12) it also
// settled onto a paused person whose edge had matched a patch of floor, then witnessed for the
// next pixel inwards with the person's colour, and the person was eaten edge by edge (bench
// seeds 1-3 with 2: shadows 0.952 -> 0.963, chroma 0.949 -> 0.950, shake 0.954 -> 0.957;
// heatmap-scenes pause 0.872 -> 0.916; a look-ahead stander's ghost still goes as quickly).
constexpr float kFreshSlack = 2.0f;
constexpr float kFreshRate = 0.3f;
// Something foreground for longer than the absorb streak joins the scene at this rate.
constexpr float kAbsorbRate = 0.2f;
// Only pixels foreground for this many frames in a row can be ghosts.
constexpr int kGhostStreak = 10;
// Mask values: background, shadow (MOG2's), motion.
constexpr std::uint8_t kBackground = 0;
constexpr std::uint8_t kShadow = 127;
constexpr std::uint8_t kMotion = 255;

// Per-frame constants of the decision and of learning.
struct ClassifyParams {
  float gain = 1.f;    // global luma gain of the frame against the scene (g)
  float offset = 0.f;  // and its luma offset: frame luma ~ g * scene luma + offset
  float du = 0.f;      // white-balance offsets of the centred chroma
  float dv = 0.f;
  float threshold = 16.f;   // squared Mahalanobis distance above which a pixel moved
  float rate = 0.002f;      // learning rate of background pixels
  float fg_rate = 0.0005f;  // learning rate of foreground pixels
  int absorb = 83;          // streak after which foreground joins the scene at kAbsorbRate
  bool shadows = true;      // mark shadow candidates (kShadow) instead of motion
};

// One row of the frame and of the model's state. u, v, mu, mv, vc are null for grey sources;
// valid (0 = no pixel here after the camera was compensated) and counted (0 = masked out by
// the user) may be null (all pixels).
struct ClassifyRow {
  const std::uint8_t *y = nullptr, *u = nullptr, *v = nullptr;
  const std::uint8_t *valid = nullptr;
  const std::uint8_t *counted = nullptr;
  float *my = nullptr, *vy = nullptr;                 // scene luma mean and variance
  float *mu = nullptr, *mv = nullptr, *vc = nullptr;  // chroma means, one chroma variance
  std::uint16_t *streak = nullptr;                    // frames foreground in a row
  std::uint8_t *fresh = nullptr;  // frames left to settle after taking a neighbour's scene
  std::uint8_t *mask = nullptr;   // out: kBackground, kShadow or kMotion
  float *ratio = nullptr;         // out: frame / predicted luma (1 where undefined)
};

// What a row held.
struct ClassifyTally {
  std::size_t inside = 0;      // valid and counted pixels
  std::size_t moving = 0;      // ... of them marked kMotion
  std::size_t candidates = 0;  // valid pixels marked kShadow
  std::size_t lasting = 0;     // valid foreground pixels (kMotion or kShadow) with a streak of
                               // at least kGhostStreak: possible ghosts
};

// Which code classifies: the scalar twin, the build's baseline vectors (SSE2 on x86-64, NEON on
// arm64), or the widest the CPU has (AVX2 where the build made that variant and the CPU runs
// it; else the baseline). All three give the same bits.
enum class Simd { kNone, kBaseline, kWidest };

// Classifies pixels [0, width) of a row and updates the model there (see SceneModel for what
// the decision is). The scalar twin is kept for the row's tail, for builds without SIMD, and
// for the test that holds the vectorised paths equal to it.
void classify_row(const ClassifyRow &row, const ClassifyParams &p, int width, ClassifyTally &tally,
                  Simd simd = Simd::kWidest);
// Whether Simd::kWidest runs the AVX2 variant here.
bool classify_has_avx2();

}  // namespace scene
}  // namespace heatmap
