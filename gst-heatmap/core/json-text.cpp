// json-text.cpp: json-glib's generator, then the shortest round-trip text for each double.
#include "json-text.h"

#include <glib.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>

namespace heatmap {

namespace {

struct GObjectUnref {
  void operator()(gpointer p) const { g_object_unref(p); }
};

bool is_number_char(char c) {
  return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

}  // namespace

std::string shortest_double(double v) {
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  if (!std::isfinite(v)) {
    g_ascii_dtostr(buf, sizeof buf, v);
    return buf;
  }
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    // A whole number: all its digits, never "1e+01" for 10 (%g's shortest form of it).
    g_ascii_formatd(buf, sizeof buf, "%.0f", v);
    return std::string(buf) + ".0";
  }
  for (int digits = 1; digits <= 17; ++digits) {
    char format[8];
    g_snprintf(format, sizeof format, "%%.%dg", digits);
    g_ascii_formatd(buf, sizeof buf, format, v);
    if (g_ascii_strtod(buf, nullptr) == v)
      break;
  }
  std::string out = buf;
  if (out.find_first_of(".eE") == std::string::npos)
    out += ".0";
  return out;
}

std::string json_text(JsonNode *root, bool pretty) {
  std::unique_ptr<JsonGenerator, GObjectUnref> generator(json_generator_new());
  json_generator_set_root(generator.get(), root);
  json_generator_set_pretty(generator.get(), pretty ? TRUE : FALSE);
  json_generator_set_indent(generator.get(), 1);
  gchar *raw = json_generator_to_data(generator.get(), nullptr);
  const std::string text = raw != nullptr ? raw : "";
  g_free(raw);

  // Copy strings as they are; rewrite number tokens that are doubles (a '.' or an exponent:
  // json-glib writes integers without either).
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const char c = text[i];
    if (c == '"') {
      std::size_t j = i + 1;
      while (j < text.size() && text[j] != '"')
        j += text[j] == '\\' ? 2 : 1;
      j = std::min(j + 1, text.size());
      out.append(text, i, j - i);
      i = j;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      std::size_t j = i;
      while (j < text.size() && is_number_char(text[j]))
        ++j;
      const std::string token = text.substr(i, j - i);
      if (token.find_first_of(".eE") != std::string::npos) {
        char *end = nullptr;
        const double v = g_ascii_strtod(token.c_str(), &end);
        out += end == token.c_str() + token.size() ? shortest_double(v) : token;
      } else {
        out += token;
      }
      i = j;
    } else {
      out += c;
      ++i;
    }
  }
  return out;
}

}  // namespace heatmap
