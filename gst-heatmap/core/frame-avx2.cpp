// frame-avx2.cpp: the box downscale's inner loops with 256-bit vectors (AVX2). Compiled on its
// own with -mavx2 (gst-heatmap/core/meson.build) and called only when the CPU has AVX2 (frame.cpp).
// Integer sums, and for 2x and 4x the same rounding as the scalar code, (sum + f * f / 2) >>
// log2(f * f): the same bytes.
#include "frame-avx2.h"

#include <immintrin.h>

namespace heatmap {
namespace detail {

namespace {

// Column-pair sums of bytes [x, x + 32) over the rows rows[0..f): maddubs adds neighbouring
// bytes into 16 bits, in order (at most 2 * 255 each, 16 * 510 over the rows).
inline __m256i pair_sums32(const std::uint8_t *const *rows, int f, int x) {
  const __m256i ones8 = _mm256_set1_epi8(1);
  __m256i s = _mm256_maddubs_epi16(
      _mm256_loadu_si256(reinterpret_cast<const __m256i *>(rows[0] + x)), ones8);
  for (int k = 1; k < f; ++k) {
    s = _mm256_add_epi16(
        s, _mm256_maddubs_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i *>(rows[k] + x)),
                                ones8));
  }
  return s;
}

}  // namespace

int box_downscale_row_avx2(const std::uint8_t *const rows[4], int f, std::uint8_t *out, int width) {
  int ox = 0;
  if (f == 4) {
    // 128 input columns -> 32 outputs. The four rows' column pairs (pair_sums32, at most
    // 8 * 255), then madd adds neighbouring pairs into 32 bits (the 4 x 4 block sums, at most
    // 16 * 255).
    const __m256i ones16 = _mm256_set1_epi16(1);
    const __m256i round = _mm256_set1_epi32(8);
    auto blocks = [&](int x) {
      // 8 block sums (32-bit), rounded and shifted.
      return _mm256_srli_epi32(
          _mm256_add_epi32(_mm256_madd_epi16(pair_sums32(rows, 4, x), ones16), round), 4);
    };
    for (; ox + 32 <= width; ox += 32) {
      const int x = ox * 4;
      // packs work within 128-bit halves: a = [b0 lo, b1 lo | b0 hi, b1 hi] and so on; the
      // final permute puts the 32 outputs back in order.
      const __m256i a = _mm256_packs_epi32(blocks(x), blocks(x + 32));
      const __m256i b = _mm256_packs_epi32(blocks(x + 64), blocks(x + 96));
      const __m256i p = _mm256_packus_epi16(a, b);
      const __m256i ordered =
          _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
      _mm256_storeu_si256(reinterpret_cast<__m256i *>(out + ox), ordered);
    }
  } else if (f == 2) {
    // 64 input columns -> 32 outputs: the two rows' column pairs are the 2 x 2 block sums.
    const __m256i round = _mm256_set1_epi16(2);
    auto blocks = [&](int x) {
      return _mm256_srli_epi16(_mm256_add_epi16(pair_sums32(rows, 2, x), round),
                               2);  // 16 block means
    };
    for (; ox + 32 <= width; ox += 32) {
      const int x = ox * 2;
      const __m256i p = _mm256_packus_epi16(blocks(x), blocks(x + 32));
      _mm256_storeu_si256(reinterpret_cast<__m256i *>(out + ox), _mm256_permute4x64_epi64(p, 0xD8));
    }
  }
  return ox;
}

int pair_sums_avx2(const std::uint8_t *const *rows, int f, int n, std::uint16_t *out) {
  int x = 0;
  for (; x + 32 <= n; x += 32) {
    _mm256_storeu_si256(reinterpret_cast<__m256i *>(out + x / 2), pair_sums32(rows, f, x));
  }
  return x;
}

int column_sums_avx2(const std::uint8_t *const *rows, int f, int n, std::uint16_t *out) {
  int x = 0;
  for (; x + 32 <= n; x += 32) {
    auto widened = [&](int k, int half) {
      return _mm256_cvtepu8_epi16(
          _mm_loadu_si128(reinterpret_cast<const __m128i *>(rows[k] + x + 16 * half)));
    };
    __m256i lo = widened(0, 0), hi = widened(0, 1);
    for (int k = 1; k < f; ++k) {
      lo = _mm256_add_epi16(lo, widened(k, 0));
      hi = _mm256_add_epi16(hi, widened(k, 1));
    }
    _mm256_storeu_si256(reinterpret_cast<__m256i *>(out + x), lo);
    _mm256_storeu_si256(reinterpret_cast<__m256i *>(out + x + 16), hi);
  }
  return x;
}

}  // namespace detail
}  // namespace heatmap
