// fuzz-util.h: checks the fuzz targets share.
#pragma once

#include <string>

// An error a reader of untrusted text gives: "LABEL: <problem>", a non-empty problem, and no
// control character anywhere (one line, nothing a terminal would interpret).
inline bool one_clean_line(const std::string &error, const std::string &label) {
  const std::string prefix = label + ": ";
  if (error.rfind(prefix, 0) != 0 || error.size() == prefix.size())
    return false;
  for (unsigned char c : error)
    if (c < 0x20 || c == 0x7f)
      return false;
  return true;
}
