// location-pattern.cpp: parsing and formatting of index/strftime location patterns.
#include "location-pattern.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <stdexcept>
#include <system_error>

namespace heatmap {

namespace {

constexpr char kTimeConversions[] = "aAbBCdDeFgGhHIjmMpRsSTuUVwWyYzZ";
constexpr int kMaxIndexWidth = 20;

std::invalid_argument bad_pattern(const std::string &pattern, const std::string &why) {
  return std::invalid_argument("location pattern \"" + pattern + "\": " + why);
}

struct tm utc_tm(std::int64_t utc_us, std::int64_t *seconds) {
  // Floor division, so times before 1970 still name the second they fall in.
  std::int64_t s = utc_us / 1000000;
  if (utc_us % 1000000 < 0)
    --s;
  *seconds = s;
  const std::time_t t = static_cast<std::time_t>(s);
  struct tm tm {};
  gmtime_r(&t, &tm);
  return tm;
}

}  // namespace

LocationPattern LocationPattern::parse(const std::string &pattern) {
  LocationPattern p;
  p.text_ = pattern;
  std::string literal;
  auto flush_literal = [&]() {
    if (!literal.empty()) {
      Piece piece;
      piece.text = literal;
      p.pieces_.push_back(std::move(piece));
      literal.clear();
    }
  };
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c != '%') {
      literal += c;
      continue;
    }
    if (i + 1 >= pattern.size())
      throw bad_pattern(pattern, "ends with a lone '%' (write %% for a literal percent sign)");
    std::size_t j = i + 1;
    if (pattern[j] == '%') {
      literal += '%';
      i = j;
      continue;
    }
    const bool zero = pattern[j] == '0';
    std::size_t digits_start = j;
    while (j < pattern.size() && pattern[j] >= '0' && pattern[j] <= '9')
      ++j;
    const std::size_t n_digits = j - digits_start;
    if (j >= pattern.size())
      throw bad_pattern(pattern, "conversion at offset " + std::to_string(i) + " is incomplete");
    const char conv = pattern[j];
    if (n_digits > 0) {
      if (conv != 'd')
        throw bad_pattern(pattern,
                          std::string("unknown conversion '%") + pattern.substr(i + 1, j - i) +
                              "' (the index is written %05d; strftime fields take no width)");
      const int width = std::stoi(pattern.substr(digits_start, n_digits));
      if (width > kMaxIndexWidth)
        throw bad_pattern(pattern, "index width " + std::to_string(width) + " is over " +
                                       std::to_string(kMaxIndexWidth));
      flush_literal();
      Piece piece;
      piece.kind = Piece::Kind::kIndex;
      piece.width = width;
      piece.zero = zero;
      p.pieces_.push_back(piece);
      p.has_index_ = true;
      i = j;
      continue;
    }
    if (std::strchr(kTimeConversions, conv) == nullptr || conv == '\0')
      throw bad_pattern(pattern, std::string("unknown conversion '%") + conv +
                                     "' (index: %05d; time: strftime letters such as %Y %m %d "
                                     "%H %M %S; literal percent: %%)");
    flush_literal();
    Piece piece;
    piece.kind = Piece::Kind::kTime;
    piece.text = std::string("%") + conv;
    p.pieces_.push_back(std::move(piece));
    p.has_time_ = true;
    i = j;
  }
  flush_literal();
  return p;
}

std::string LocationPattern::format(std::uint64_t index, std::int64_t utc_us) const {
  std::string out;
  std::int64_t seconds = 0;
  struct tm tm {};
  if (has_time_)
    tm = utc_tm(utc_us, &seconds);
  for (const Piece &piece : pieces_) {
    switch (piece.kind) {
      case Piece::Kind::kLiteral:
        out += piece.text;
        break;
      case Piece::Kind::kIndex: {
        char buf[64];
        std::snprintf(buf, sizeof buf, piece.zero ? "%0*llu" : "%*llu", piece.width,
                      static_cast<unsigned long long>(index));
        out += buf;
        break;
      }
      case Piece::Kind::kTime: {
        // glibc would say "GMT" and depends on TZ for %s; the time here is always UTC.
        if (piece.text == "%Z") {
          out += "UTC";
        } else if (piece.text == "%z") {
          out += "+0000";
        } else if (piece.text == "%s") {
          out += std::to_string(seconds);
        } else {
          char buf[128];
          const std::size_t n = std::strftime(buf, sizeof buf, piece.text.c_str(), &tm);
          out.append(buf, n);
        }
        break;
      }
    }
  }
  return out;
}

bool make_parent_dirs(const std::string &path, std::string *error) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (parent.empty())
    return true;
  std::error_code ec;
  std::filesystem::create_directories(parent, ec);
  if (ec) {
    if (error != nullptr)
      *error = "cannot create the folder \"" + parent.string() + "\": " + ec.message();
    return false;
  }
  return true;
}

std::string iso8601_utc(std::int64_t utc_us) {
  std::int64_t seconds = 0;
  const struct tm tm = utc_tm(utc_us, &seconds);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace heatmap
