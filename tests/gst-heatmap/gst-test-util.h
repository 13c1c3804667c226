// gst-test-util.h: what the heatmap element's C++ tests share: owning pointers for GStreamer
// objects, a temporary folder, pipelines from test-owned descriptions, and file helpers.
#pragma once

#include <glib.h>
#include <gst/gst.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace test_util {

struct ElementUnref {
  void operator()(GstElement *e) const { gst_object_unref(e); }
};
using ElementPtr = std::unique_ptr<GstElement, ElementUnref>;

struct StructureFree {
  void operator()(GstStructure *s) const { gst_structure_free(s); }
};
using StructurePtr = std::unique_ptr<GstStructure, StructureFree>;

// A temporary folder, removed with everything in it at the end of the test.
class TempDir {
 public:
  explicit TempDir(const char *prefix = "heatmap-test") {
    gchar *dir = g_dir_make_tmp((std::string(prefix) + "-XXXXXX").c_str(), nullptr);
    if (dir == nullptr)
      g_error("cannot make a temporary folder");
    path_ = dir;
    g_free(dir);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;

  std::string file(const std::string &name) const {
    return (std::filesystem::path(path_) / name).string();
  }
  const std::string &path() const { return path_; }
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto &e : std::filesystem::directory_iterator(path_))
      names.push_back(e.path().filename().string());
    return names;
  }

 private:
  std::string path_;
};

// A pipeline from a description the test wrote itself (never from untrusted text).
inline ElementPtr parse(const std::string &description) {
  GError *error = nullptr;
  GstElement *pipeline = gst_parse_launch(description.c_str(), &error);
  if (error != nullptr)
    g_error("cannot build pipeline \"%s\": %s", description.c_str(), error->message);
  return ElementPtr(pipeline);
}

// The element called `name` in `pipeline`, which keeps it alive.
inline GstElement *by_name(GstElement *pipeline, const char *name) {
  GstElement *e = gst_bin_get_by_name(GST_BIN(pipeline), name);
  if (e == nullptr)
    g_error("no element \"%s\" in the pipeline", name);
  gst_object_unref(e);
  return e;
}

// The bytes of a file ("" when it cannot be read).
inline std::string read_file(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void write_file(const std::string &path, const std::string &text) {
  std::ofstream(path, std::ios::binary) << text;
}

}  // namespace test_util
