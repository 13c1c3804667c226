// one-line.h: error messages are one line, whatever text they quote (a key's newline, a
// server's tab, a raw newline json-glib quotes back from a hostile file).
#pragma once

#include <string>
#include <string_view>

namespace heatmap {

// Control characters become spaces, trailing spaces go, and the text is cut to `limit` bytes
// (at a UTF-8 character boundary, so a valid message stays valid).
inline std::string one_line(std::string_view text, std::size_t limit = 1000) {
  if (text.size() > limit) {
    std::size_t cut = limit;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80)
      --cut;
    text = text.substr(0, cut);
  }
  std::string out(text);
  for (char &c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      c = ' ';
  }
  while (!out.empty() && out.back() == ' ')
    out.pop_back();
  return out;
}

}  // namespace heatmap
