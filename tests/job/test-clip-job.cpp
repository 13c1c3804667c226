// test-clip-job.cpp: the per-clip job on a file:// bucket: results, uploads, settings checks and
// the child-process runner (with the test-only crashing decoder).
#include <glib.h>
#include <glib/gstdio.h>
#include <gst/gst.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <string>

#include "clip-job.h"

using heatmap_job::JobResult;
using heatmap_job::JobSettings;
using Status = JobResult::Status;

namespace {

std::string g_root;  // the bucket folder
std::string g_clip;  // a real H.264 MP4 made once

// g_assert_cmpstr keeps the pointer past the statement, so temporaries go through a named copy.
void assert_str(const std::string &actual, const char *expected) {
  g_assert_cmpstr(actual.c_str(), ==, expected);
}

std::string read_file(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_file(const std::string &path, const std::string &data) {
  gchar *dir = g_path_get_dirname(path.c_str());
  g_mkdir_with_parents(dir, 0755);
  g_free(dir);
  std::ofstream(path, std::ios::binary) << data;
}

void make_clip(const std::string &path, const char *encode =
                                            "x264enc speed-preset=ultrafast ! "
                                            "h264parse ! mp4mux") {
  std::string desc =
      "videotestsrc num-buffers=40 pattern=ball ! video/x-raw,width=160,height=120,framerate=25/1 "
      "! " +
      std::string(encode) + " ! filesink location=" + path;
  GError *error = nullptr;
  GstElement *pipeline = gst_parse_launch(desc.c_str(), &error);
  g_assert_no_error(error);
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstBus *bus = gst_element_get_bus(pipeline);
  GstMessage *msg = gst_bus_timed_pop_filtered(
      bus, 60 * GST_SECOND, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  g_assert_nonnull(msg);
  g_assert_cmpint(GST_MESSAGE_TYPE(msg), ==, GST_MESSAGE_EOS);
  gst_message_unref(msg);
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
}

JobSettings settings() {
  JobSettings s;
  s.bucket = "file://" + g_root;
  s.properties = {{"downscale", "0.5"}};
  s.pipeline_timeout_s = 60;
  s.work_dir = g_root + "/../work";
  return s;
}

std::string put_video(const std::string &key, const std::string &data) {
  write_file(g_root + "/" + key, data);
  return key;
}

void test_result_line() {
  JobResult r;
  r.status = Status::kTransient;
  r.frames = 42;
  r.seconds = 1.5;
  r.fps = 28;
  r.message = "two\nlines\tand a tab";
  std::string line = heatmap_job::format_result_line(r);
  assert_str(line, "transient\t42\t1.50\t28.0\ttwo lines and a tab");
  JobResult back;
  g_assert_true(heatmap_job::parse_result_line(line, &back));
  g_assert_true(back.status == Status::kTransient);
  g_assert_cmpuint(back.frames, ==, 42);
  assert_str(back.message, "two lines and a tab");
  g_assert_false(heatmap_job::parse_result_line("ok\t1\t2\t3\tx", &back));
  g_assert_false(heatmap_job::parse_result_line("done 1 2 3", &back));
  g_assert_cmpint(heatmap_job::exit_code_for(Status::kAlreadyDone), ==, 3);
}

void test_settings_from_environment() {
  std::map<std::string, std::string> env = {{"S3_BUCKET", "file:///x"},
                                            {"S3_HEATMAPS_PREFIX", "maps"},
                                            {"DOWNSCALE", "0.5"},
                                            {"COLORMAP", "viridis"},
                                            {"HEATMAP_OPTIONS", "frame-step=2  blur=1.5"},
                                            {"PIPELINE_TIMEOUT", "90"},
                                            {"CLEANUP_LOCAL_FILES", "false"}};
  auto lookup = [&](const char *name) -> const char * {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  JobSettings s = heatmap_job::settings_from_environment(lookup);
  assert_str(s.bucket, "file:///x");
  assert_str(s.videos_prefix, "raw_videos/");
  assert_str(s.heatmaps_prefix, "maps/");
  g_assert_cmpint(s.pipeline_timeout_s, ==, 90);
  g_assert_true(s.keep_local);
  g_assert_cmpuint(s.properties.size(), ==, 4);
  assert_str(s.properties[0].first, "downscale");
  assert_str(s.properties[2].first + "=" + s.properties[2].second, "frame-step=2");
  assert_str(s.properties[3].first + "=" + s.properties[3].second, "blur=1.5");
  env["PIPELINE_TIMEOUT"] = "08x";
  bool thrown = false;
  try {
    heatmap_job::settings_from_environment(lookup);
  } catch (const heatmap_job::SettingsError &) {
    thrown = true;
  }
  g_assert_true(thrown);
}

// Each bad property is refused up front with a message naming it.
void test_check_settings() {
  heatmap_job::check_settings(settings());
  const std::pair<const char *, const char *> bad[] = {{"downscale", "5"},
                                                       {"downscale", "abc"},
                                                       {"colormap", "nope"},
                                                       {"no-such-property", "1"},
                                                       {"location", "/tmp/x"},
                                                       {"raw-location", "/tmp/x"},
                                                       {"name", "x"},
                                                       {"frame-step", "-1"},
                                                       {"metadata-location", "/x"}};
  for (const auto &[name, value] : bad) {
    JobSettings s = settings();
    s.properties.emplace_back(name, value);
    bool thrown = false;
    try {
      heatmap_job::check_settings(s);
    } catch (const heatmap_job::SettingsError &e) {
      thrown = true;
      g_assert_nonnull(std::strstr(e.what(), name));
    }
    if (!thrown)
      g_error("%s=%s was accepted", name, value);
  }
}

// A key full of pipeline syntax, quotes, backslashes, spaces and a newline: a real heatmap, the
// JPEG uploaded last, nothing but the two outputs written, the private folder gone.
void test_hostile_key_done_then_already_done() {
  const std::string key =
      put_video("raw_videos/2025/10/20/13/a\" ! tee name=t ! filesink location=.env \\ x\ny.mp4",
                read_file(g_clip));
  JobSettings s = settings();
  JobResult r = heatmap_job::run_clip_job(s, key);
  if (r.status != Status::kDone)
    g_error("not done: %s", r.message.c_str());
  g_assert_cmpuint(r.frames, ==, 40);
  // PNG, sidecar, scene, then the JPEG (no CSV without zones).
  g_assert_cmpuint(r.uploaded.size(), ==, 4);
  const std::string stem =
      "heatmaps/2025/10/20/13/a\" ! tee name=t ! filesink location=.env \\ x\ny";
  assert_str(r.uploaded.back(), (stem + "_heatmap.jpg").c_str());
  assert_str(r.uploaded.front(), (stem + "_heatmap.png").c_str());
  assert_str(r.uploaded[1], (stem + "_heatmap.json").c_str());
  assert_str(r.uploaded[2], (stem + "_scene.jpg").c_str());
  const std::string jpeg = read_file(g_root + "/" + stem + "_heatmap.jpg");
  g_assert_cmpuint(jpeg.size(), >, 100);
  g_assert_cmpint(static_cast<unsigned char>(jpeg[0]), ==, 0xff);
  // Nothing left in the work folder.
  GDir *dir = g_dir_open((g_root + "/../work").c_str(), 0, nullptr);
  g_assert_nonnull(dir);
  g_assert_null(g_dir_read_name(dir));
  g_dir_close(dir);

  struct stat before;
  g_assert_cmpint(stat((g_root + "/" + stem + "_heatmap.jpg").c_str(), &before), ==, 0);
  JobResult again = heatmap_job::run_clip_job(s, key);
  g_assert_true(again.status == Status::kAlreadyDone);
  g_assert_cmpuint(again.uploaded.size(), ==, 0);
  s.force = true;
  JobResult forced = heatmap_job::run_clip_job(s, key);
  g_assert_true(forced.status == Status::kDone);
}

// A PNG left by an attempt that died before its JPEG is replaced; the clip then completes.
void test_leftover_png_is_replaced() {
  const std::string key = put_video("raw_videos/2025/10/20/14/clip.mp4", read_file(g_clip));
  const std::string png = g_root + "/heatmaps/2025/10/20/14/clip_heatmap.png";
  write_file(png, "half-written leftover");
  JobResult r = heatmap_job::run_clip_job(settings(), key);
  if (r.status != Status::kDone)
    g_error("not done: %s", r.message.c_str());
  const std::string magic = read_file(png).substr(1, 3);  // g_assert_cmpstr needs it to live
  g_assert_cmpstr(magic.c_str(), ==, "PNG");
}

void test_permanent_failures() {
  struct Case {
    std::string key;
    std::string data;
    const char *message_part;
  };
  const Case cases[] = {
      {"raw_videos/2025/10/20/15/empty.mp4", "", "0 bytes"},
      {"raw_videos/2025/10/20/15/notes.txt", "text", "not a video key"},
  };
  for (const Case &c : cases) {
    put_video(c.key, c.data);
    JobResult r = heatmap_job::run_clip_job(settings(), c.key);
    g_assert_true(r.status == Status::kPermanent);
    if (r.message.find(c.message_part) == std::string::npos)
      g_error("%s: '%s' lacks '%s'", c.key.c_str(), r.message.c_str(), c.message_part);
  }
  // Random bytes: typefind either refuses them ("element: reason") or finds a container with no
  // video in it. Fixed seeds, so a run is repeatable; both reasons are permanent and named.
  for (guint32 seed = 1; seed <= 6; seed++) {
    GRand *rand = g_rand_new_with_seed(seed);
    std::string noise(5000, '\0');
    for (char &c : noise)
      c = static_cast<char>(g_rand_int_range(rand, 0, 256));
    g_rand_free(rand);
    const std::string key =
        put_video("raw_videos/2025/10/20/15/noise" + std::to_string(seed) + ".mp4", noise);
    JobResult r = heatmap_job::run_clip_job(settings(), key);
    g_assert_true(r.status == Status::kPermanent);
    if (r.message.find(": ") == std::string::npos &&
        r.message.find("no video stream") == std::string::npos)
      g_error("%s: '%s' names no reason", key.c_str(), r.message.c_str());
  }
  JobResult gone = heatmap_job::run_clip_job(settings(), "raw_videos/2025/10/20/15/missing.mp4");
  g_assert_true(gone.status == Status::kPermanent);
  // A name whose heatmap would exceed NAME_MAX on a folder bucket: refused with the reason.
  const std::string long_key =
      put_video("raw_videos/2025/10/20/15/" + std::string(245, 'y') + ".mp4", read_file(g_clip));
  JobResult too_long = heatmap_job::run_clip_job(settings(), long_key);
  g_assert_true(too_long.status == Status::kPermanent);
  g_assert_nonnull(std::strstr(too_long.message.c_str(), "255"));
}

// A folder bucket's video that is a symlink is never read (issue 13, defect 4), whether it leads
// out of the folder or not; the real file beside it is.
void test_symlink_out_of_the_bucket() {
  const std::string outside = g_root + "/../outside.mp4";
  write_file(outside, read_file(g_clip));
  g_mkdir_with_parents((g_root + "/raw_videos/2025/10/20/17").c_str(), 0755);
  const std::string out_key = "raw_videos/2025/10/20/17/out.mp4";
  g_assert_cmpint(symlink(outside.c_str(), (g_root + "/" + out_key).c_str()), ==, 0);
  JobResult r = heatmap_job::run_clip_job(settings(), out_key);
  g_assert_true(r.status == Status::kPermanent);
  if (r.message.find("symlink") == std::string::npos &&
      r.message.find("symbolic link") == std::string::npos)
    g_error("no symlink reason: %s", r.message.c_str());
  g_assert_false(g_file_test((g_root + "/heatmaps/2025/10/20/17/out_heatmap.png").c_str(),
                             G_FILE_TEST_EXISTS));
  put_video("raw_videos/2025/10/20/17/real.mp4", read_file(g_clip));
  const std::string in_key = "raw_videos/2025/10/20/17/in.mp4";
  g_assert_cmpint(symlink("real.mp4", (g_root + "/" + in_key).c_str()), ==, 0);
  // A link that stays inside is refused too: the S3 library's folder backend follows no link at
  // all, so listing, HEAD, GET and PUT agree (the listing never shows it as a clip either).
  JobResult in = heatmap_job::run_clip_job(settings(), in_key);
  if (in.status != Status::kPermanent)
    g_error("symlink inside the bucket was not refused: %s", in.message.c_str());
  JobResult real = heatmap_job::run_clip_job(settings(), "raw_videos/2025/10/20/17/real.mp4");
  g_assert_true(real.status == Status::kDone);
}

// An AVI (MJPEG) from a folder bucket, read through the checked descriptor: every frame
// reaches the heatmap.
void test_avi_from_a_folder_bucket() {
  const std::string avi = g_root + "/../clip.avi";
  make_clip(avi, "jpegenc ! avimux");
  const std::string key = put_video("raw_videos/2025/10/20/18/clip.avi", read_file(avi));
  JobResult r = heatmap_job::run_clip_job(settings(), key);
  if (r.status != Status::kDone)
    g_error("AVI not done: %s", r.message.c_str());
  g_assert_cmpuint(r.frames, ==, 40);
}

// The child runner: a good clip is done through heatmap-job; a decoder that raises SIGSEGV ends
// only the child, reported as a crash (the test's own process lives on).
void test_child_runner() {
  const char *job = std::getenv("HEATMAP_JOB");
  g_assert_nonnull(job);
  const std::string key = put_video("raw_videos/2025/10/20/16/clip.mp4", read_file(g_clip));
  JobResult r = heatmap_job::run_clip_job_in_child(settings(), key, job);
  if (r.status != Status::kDone)
    g_error("child not done: %s", r.message.c_str());
  g_assert_cmpuint(r.frames, ==, 40);
  const std::string crash = put_video("raw_videos/2025/10/20/16/crash.mp4",
                                      "GST-HEATMAP-CRASH-TEST\n" + std::string(4000, 'x'));
  JobResult c = heatmap_job::run_clip_job_in_child(settings(), crash, job);
  g_assert_true(c.status == Status::kPermanent);
  if (c.message.find("crashed") == std::string::npos)
    g_error("no crash reported: %s", c.message.c_str());
}

}  // namespace

int main(int argc, char **argv) {
  gst_init(&argc, &argv);
  g_test_init(&argc, &argv, nullptr);
  gchar *tmp = g_dir_make_tmp("test-clip-job-XXXXXX", nullptr);
  g_assert_nonnull(tmp);
  g_root = std::string(tmp) + "/bucket";
  g_mkdir_with_parents(g_root.c_str(), 0755);
  g_mkdir_with_parents((std::string(tmp) + "/work").c_str(), 0755);
  g_clip = std::string(tmp) + "/clip.mp4";
  make_clip(g_clip);
  g_test_add_func("/clip-job/result-line", test_result_line);
  g_test_add_func("/clip-job/settings-from-environment", test_settings_from_environment);
  g_test_add_func("/clip-job/check-settings", test_check_settings);
  g_test_add_func("/clip-job/hostile-key-done-then-already-done",
                  test_hostile_key_done_then_already_done);
  g_test_add_func("/clip-job/leftover-png-is-replaced", test_leftover_png_is_replaced);
  g_test_add_func("/clip-job/permanent-failures", test_permanent_failures);
  g_test_add_func("/clip-job/symlink-out-of-the-bucket", test_symlink_out_of_the_bucket);
  g_test_add_func("/clip-job/avi-from-a-folder-bucket", test_avi_from_a_folder_bucket);
  g_test_add_func("/clip-job/child-runner", test_child_runner);
  int rc = g_test_run();
  gchar *argv_rm[] = {const_cast<gchar *>("rm"), const_cast<gchar *>("-rf"), tmp, nullptr};
  g_spawn_sync(nullptr, argv_rm, nullptr, G_SPAWN_SEARCH_PATH, nullptr, nullptr, nullptr, nullptr,
               nullptr, nullptr);
  g_free(tmp);
  return rc;
}
