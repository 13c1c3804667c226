// location-pattern.h: file and object names from a pattern with a window index and a UTC time.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace heatmap {

// A location such as "cam1/%Y/%m/%d/%H/heat-%05d.jpg", parsed once and formatted per window.
//
// Conversions:
//   %0Nd, %Nd  the window index, printf-style (zero- or space-padded to N digits), as
//              multifilesink's and splitmuxsink's patterns; a plain %d is NOT the index
//   %%         a literal '%'
//   %Y %m %d %H %M %S %j %F %T %s ... one strftime(3) conversion of the UTC time
//              (the letters aAbBCdDeFgGhHIjmMpRsSTuUVwWyYzZ; %z is +0000, %Z is UTC)
// Anything else after a '%' (a typo, a trailing '%') is refused, so that a misspelt pattern
// fails at start-up instead of writing every window over one file.
class LocationPattern {
 public:
  LocationPattern() = default;
  // Throws std::invalid_argument with a one-line message naming the pattern and the fault.
  static LocationPattern parse(const std::string &pattern);

  // True when formatting depends on the index or the time (one file per window or buffer).
  bool is_pattern() const { return has_index_ || has_time_; }
  bool has_index() const { return has_index_; }
  bool has_time() const { return has_time_; }
  const std::string &text() const { return text_; }

  // The name for window `index` starting at `utc_us` (microseconds since 1970-01-01 UTC).
  std::string format(std::uint64_t index, std::int64_t utc_us) const;

 private:
  struct Piece {
    enum class Kind { kLiteral, kIndex, kTime } kind = Kind::kLiteral;
    std::string text;   // literal text, or the strftime conversion ("%Y")
    int width = 0;      // index: minimum digits
    bool zero = false;  // index: pad with zeros instead of spaces
  };
  std::string text_;
  std::vector<Piece> pieces_;
  bool has_index_ = false;
  bool has_time_ = false;
};

// Creates the folders above `path` (not `path` itself) as needed. On failure returns false and
// sets *error to a one-line message naming the folder.
bool make_parent_dirs(const std::string &path, std::string *error);

// ISO 8601 UTC with second precision and a Z ("2026-11-30T15:00:00Z"); fractions are cut.
std::string iso8601_utc(std::int64_t utc_us);

}  // namespace heatmap
