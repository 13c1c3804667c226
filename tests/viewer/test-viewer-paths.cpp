// test-viewer-paths.cpp: what heatmap-viewer serves, where it listens, and how it checks tokens.
#include <glib.h>

#include <cstdio>
#include <string>

#include "viewer-catalog.h"
#include "viewer-paths.h"

namespace {

int failures = 0;

void check(bool condition, const char *what) {
  if (!condition) {
    std::fprintf(stderr, "FAIL: %s\n", what);
    ++failures;
  }
}

std::string key_or_none(const viewer::Layout &layout, const char *rel) {
  auto key = viewer::object_key_for(layout, rel);
  return key ? *key : std::string("<none>");
}

void test_object_keys() {
  viewer::Layout layout;  // heatmaps/, raw_videos/
  check(key_or_none(layout, "2025/10/20/13/clip_2025-10-20_13-05-00_heatmap.jpg") ==
            "heatmaps/2025/10/20/13/clip_2025-10-20_13-05-00_heatmap.jpg",
        "a clip heatmap maps under the heatmaps prefix");
  check(
      key_or_none(layout, "weeks/2025-W43_heatmap.json") == "heatmaps/weeks/2025-W43_heatmap.json",
      "a week sidecar is served");
  check(
      key_or_none(layout, "2025/10/20/a%20b_heatmap.png") == "heatmaps/2025/10/20/a b_heatmap.png",
      "one level of percent-encoding is decoded");
  const char *refused[] = {
      "../raw_videos/2025/10/20/13/clip.mp4",  // traversal
      "..%2fraw_videos/x.jpg",                 // encoded slash
      "%2e%2e/raw_videos/x.jpg",               // encoded dots
      "%252e%252e/x.jpg",                      // double encoding stays a literal '%'
      "2025/./10/x.jpg",
      "2025//10/x.jpg",
      "/etc/passwd.jpg",
      "2025/10/20/13/clip.mp4",  // not a heatmap file type
      "2025/10/20/13/x.jpg%00.mp4",
      "2025/10/20/13/x%0a.jpg",
      "2025\\..\\x.jpg",
      "2025/10/x.jpg%",
      "2025/10/x.jpg%4",
      "2025/10/x%zz.jpg",
      "",
      "..",
      "x/..",
  };
  for (const char *rel : refused) {
    std::string what = std::string("refused: ") + rel;
    check(!viewer::object_key_for(layout, rel), what.c_str());
  }
  // A videos prefix inside the heatmaps prefix is still never served.
  viewer::Layout nested{"data/", "data/raw_videos/"};
  check(!viewer::object_key_for(nested, "raw_videos/2025/10/20/13/poster.jpg"),
        "videos nested under the heatmaps prefix stay private");
  check(viewer::object_key_for(nested, "heatmaps/x.jpg").has_value(),
        "other keys under a shared prefix are served");
  // A bucket-root layout (empty heatmaps prefix) still keeps the videos out.
  viewer::Layout root{"", "raw_videos/"};
  check(!viewer::object_key_for(root, "raw_videos/a.jpg"), "root layout: videos refused");
  check(viewer::object_key_for(root, "2025/10/20/13/x_heatmap.jpg").has_value(),
        "root layout: heatmaps served");
}

void test_static_names() {
  check(viewer::static_name_for("app.js").has_value(), "static app.js");
  check(viewer::static_name_for("lib/chart.js").has_value(), "static in a subfolder");
  check(!viewer::static_name_for("../meson.build"), "static traversal refused");
  check(!viewer::static_name_for("%2e%2e/x"), "static names are never decoded");
  check(!viewer::static_name_for(".hidden/../x"), "static dot segments refused");
}

void test_listen() {
  viewer::ListenAddress a;
  std::string error;
  check(
      viewer::parse_listen("127.0.0.1:8080", &a, &error) && a.host == "127.0.0.1" && a.port == 8080,
      "host:port");
  check(viewer::parse_listen("[::1]:9000", &a, &error) && a.host == "::1" && a.port == 9000,
        "[v6]:port");
  check(viewer::parse_listen("8081", &a, &error) && a.host == "127.0.0.1" && a.port == 8081,
        "port alone is loopback");
  check(!viewer::parse_listen("0.0.0.0:0", &a, &error), "port 0 refused");
  check(!viewer::parse_listen("0.0.0.0:99999", &a, &error), "port range");
  check(!viewer::parse_listen("host:80x", &a, &error) && error.find("--listen") == 0,
        "error names the flag");
  check(viewer::is_loopback_host("127.0.0.1") && viewer::is_loopback_host("127.5.6.7") &&
            viewer::is_loopback_host("::1") && viewer::is_loopback_host("localhost"),
        "loopback hosts");
  const char *public_hosts[] = {"0.0.0.0",     "::",         "192.168.1.2", "127.0.0.1.example.com",
                                "127.0.0.256", "1270.0.0.1", "127.0.0",     ""};
  for (const char *host : public_hosts) {
    std::string what = std::string("not loopback: ") + host;
    check(!viewer::is_loopback_host(host), what.c_str());
  }
}

void test_tokens() {
  check(viewer::authorized("", ""), "no token configured: open");
  check(viewer::authorized("Bearer s3cret", "s3cret"), "bearer");
  check(!viewer::authorized("Bearer s3cre", "s3cret"), "bearer prefix of the token refused");
  check(!viewer::authorized("Bearer s3cretX", "s3cret"), "bearer longer refused");
  check(!viewer::authorized("", "s3cret"), "missing header refused");
  gchar *basic = g_base64_encode(reinterpret_cast<const guchar *>("anyone:s3cret"), 13);
  check(viewer::authorized(std::string("Basic ") + basic, "s3cret"), "basic with any user");
  g_free(basic);
  gchar *wrong = g_base64_encode(reinterpret_cast<const guchar *>("s3cret:nope"), 11);
  check(!viewer::authorized(std::string("Basic ") + wrong, "s3cret"), "basic: the password counts");
  g_free(wrong);
  check(!viewer::authorized("Basic !!!", "s3cret"), "malformed basic refused");
}

void test_period_ids() {
  int y, m, d;
  check(viewer::parse_day_id("2024-02-29", &y, &m, &d), "leap day");
  check(!viewer::parse_day_id("2025-02-29", &y, &m, &d), "no 29 February in 2025");
  check(!viewer::parse_day_id("2025-13-01", &y, &m, &d), "month 13");
  check(!viewer::parse_day_id("2025-1-01", &y, &m, &d), "short month");
  check(viewer::parse_month_id("2025-12", &y, &m) && y == 2025 && m == 12, "month id");
  check(!viewer::parse_month_id("2025-00", &y, &m), "month 0");
}

}  // namespace

int main() {
  test_object_keys();
  test_static_names();
  test_listen();
  test_tokens();
  test_period_ids();
  if (failures) {
    std::fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  std::puts("viewer-paths: all checks passed");
  return 0;
}
