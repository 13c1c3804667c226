// viewer-paths.h: what heatmap-viewer may serve and where it listens; pure rules, unit-tested
// alone.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace viewer {

// The bucket layout the viewer is confined to.
struct Layout {
  std::string heatmaps_prefix = "heatmaps/";  // every object served lies under it
  std::string videos_prefix = "raw_videos/";  // never served, even when nested in the above
};

// Maps the part of a request path after "/file/" (still percent-encoded, as it arrived) to a
// bucket key, or nothing when it must not be served. Allowed: one percent-decoding pass, UTF-8
// without control characters, '\\' or a second level of '%' escapes; no empty, "." or ".."
// segment; a name ending in .jpg, .png, .json or .csv; the key lies under the heatmaps prefix and
// not under the videos prefix. Everything else is a plain 404 for the caller, whatever the reason.
std::optional<std::string> object_key_for(const Layout &layout, std::string_view encoded_rel);

// Content-Type for a served name (by its extension); application/octet-stream when unknown.
const char *content_type_for(std::string_view name);

// "--listen" value: HOST:PORT, [V6]:PORT or PORT alone (127.0.0.1 implied).
struct ListenAddress {
  std::string host;
  int port = 0;
};
// Returns false and sets *error (one line) on a malformed value.
bool parse_listen(std::string_view text, ListenAddress *out, std::string *error);
// Whether a host only reaches this machine: 127.0.0.0/8, ::1, localhost.
bool is_loopback_host(std::string_view host);

// Constant-time comparison of a presented credential with the configured token.
bool token_equals(std::string_view presented, std::string_view token);
// Checks an Authorization header value: "Bearer TOKEN", or "Basic base64(user:TOKEN)" with any
// user name (so a browser's own login prompt works). Empty token: everything is accepted.
bool authorized(std::string_view authorization_header, std::string_view token);

// A static asset name under the page's folder (e.g. "app.js", "lib/chart.js"): only
// [A-Za-z0-9._-] segments, no "." or ".." segment. Returns the relative path or nothing.
std::optional<std::string> static_name_for(std::string_view path);

}  // namespace viewer
