// viewer-paths.cpp: the viewer's confinement rules (keys, static names, listen address, tokens).
#include "viewer-paths.h"

#include <glib.h>

#include <cstring>
#include <memory>

namespace viewer {

namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

// One strict decoding pass: a '%' must start a valid escape.
std::optional<std::string> percent_decode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size())
      return std::nullopt;
    int hi = hex_value(in[i + 1]);
    int lo = hex_value(in[i + 2]);
    if (hi < 0 || lo < 0)
      return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

bool segments_ok(std::string_view path, bool strict_ascii) {
  if (path.empty())
    return false;
  std::size_t start = 0;
  while (true) {
    std::size_t end = path.find('/', start);
    std::string_view seg =
        path.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (seg.empty() || seg == "." || seg == "..")
      return false;
    for (char c : seg) {
      unsigned char u = static_cast<unsigned char>(c);
      if (strict_ascii) {
        if (!(g_ascii_isalnum(c) || c == '.' || c == '_' || c == '-'))
          return false;
      } else if (u < 0x20 || u == 0x7f || c == '\\' || c == '%') {
        return false;
      }
    }
    if (end == std::string_view::npos)
      return true;
    start = end + 1;
  }
}

}  // namespace

std::optional<std::string> object_key_for(const Layout &layout, std::string_view encoded_rel) {
  std::optional<std::string> rel = percent_decode(encoded_rel);
  if (!rel || !g_utf8_validate(rel->data(), static_cast<gssize>(rel->size()), nullptr) ||
      !segments_ok(*rel, false))
    return std::nullopt;
  if (!(ends_with(*rel, ".jpg") || ends_with(*rel, ".png") || ends_with(*rel, ".json") ||
        ends_with(*rel, ".csv")))
    return std::nullopt;
  std::string key = layout.heatmaps_prefix + *rel;
  if (!starts_with(key, layout.heatmaps_prefix))
    return std::nullopt;
  if (!layout.videos_prefix.empty() && starts_with(key, layout.videos_prefix))
    return std::nullopt;
  return key;
}

const char *content_type_for(std::string_view name) {
  struct Type {
    const char *ext;
    const char *type;
  };
  static const Type kTypes[] = {
      {".jpg", "image/jpeg"},
      {".png", "image/png"},
      {".json", "application/json"},
      {".csv", "text/csv; charset=utf-8"},
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".ico", "image/x-icon"},
  };
  for (const Type &t : kTypes)
    if (ends_with(name, t.ext))
      return t.type;
  return "application/octet-stream";
}

bool parse_listen(std::string_view text, ListenAddress *out, std::string *error) {
  std::string host = "127.0.0.1";
  std::string_view port_text = text;
  if (!text.empty() && text.front() == '[') {
    std::size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      *error = "--listen: expected [IPv6]:PORT, got '" + std::string(text) + "'";
      return false;
    }
    host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
  } else if (std::size_t colon = text.rfind(':'); colon != std::string_view::npos) {
    host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
  }
  if (host.empty() || port_text.empty() || port_text.size() > 5) {
    *error = "--listen: expected HOST:PORT, got '" + std::string(text) + "'";
    return false;
  }
  int port = 0;
  for (char c : port_text) {
    if (!g_ascii_isdigit(c)) {
      *error = "--listen: the port must be a number 1-65535, got '" + std::string(port_text) + "'";
      return false;
    }
    port = port * 10 + (c - '0');
  }
  if (port < 1 || port > 65535) {
    *error = "--listen: the port must be a number 1-65535, got '" + std::string(port_text) + "'";
    return false;
  }
  out->host = host;
  out->port = port;
  return true;
}

bool is_loopback_host(std::string_view host) {
  if (host == "localhost" || host == "::1")
    return true;
  // 127.0.0.0/8 written as a dotted quad.
  if (!starts_with(host, "127."))
    return false;
  int parts = 0, value = -1;
  for (std::size_t i = 0; i <= host.size(); ++i) {
    if (i == host.size() || host[i] == '.') {
      if (value < 0 || value > 255)
        return false;
      ++parts;
      value = -1;
    } else if (g_ascii_isdigit(host[i])) {
      value = (value < 0 ? 0 : value * 10) + (host[i] - '0');
      if (value > 255)
        return false;
    } else {
      return false;
    }
  }
  return parts == 4;
}

bool token_equals(std::string_view presented, std::string_view token) {
  // Compare over the token's length whatever the presented length, so timing says nothing.
  unsigned char diff = presented.size() == token.size() ? 0 : 1;
  for (std::size_t i = 0; i < token.size(); ++i) {
    unsigned char p = i < presented.size() ? static_cast<unsigned char>(presented[i]) : 0;
    diff |= static_cast<unsigned char>(p ^ static_cast<unsigned char>(token[i]));
  }
  return diff == 0;
}

bool authorized(std::string_view header, std::string_view token) {
  if (token.empty())
    return true;
  if (g_ascii_strncasecmp(header.data(), "Bearer ", 7) == 0 && header.size() > 7)
    return token_equals(header.substr(7), token);
  if (header.size() > 6 && g_ascii_strncasecmp(header.data(), "Basic ", 6) == 0) {
    std::string b64(header.substr(6));
    gsize len = 0;
    std::unique_ptr<guchar, decltype(&g_free)> raw(g_base64_decode(b64.c_str(), &len), g_free);
    std::string_view creds(reinterpret_cast<const char *>(raw.get()), len);
    std::size_t colon = creds.find(':');
    if (colon == std::string_view::npos)
      return false;
    return token_equals(creds.substr(colon + 1), token);
  }
  return false;
}

std::optional<std::string> static_name_for(std::string_view path) {
  if (!segments_ok(path, true))
    return std::nullopt;
  return std::string(path);
}

}  // namespace viewer
