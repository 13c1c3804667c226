// heatmap-job.cpp: the heatmap-job tool: renders and uploads one clip's heatmap (the per-clip job
// of heatmap-batch, run once per clip in its own process).
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <gst/gst.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "clip-job.h"

namespace {

const char kHelp[] =
    "Usage: heatmap-job [OPTIONS] [--] VIDEO_KEY\n"
    "       heatmap-job [OPTIONS] --check\n"
    "\n"
    "Renders the heatmap of one clip and uploads it next to the clip's dated path:\n"
    "  raw_videos/2025/10/20/13/clip.mp4 -> heatmaps/2025/10/20/13/clip_heatmap.png, then\n"
    "  ..._heatmap.jpg last (the JPEG marks the clip done), plus any sidecar files the element\n"
    "  writes (_heatmap.json, _heatmap.csv, _scene.jpg).\n"
    "The pipeline is built with the GStreamer API from the clip's percent-encoded URI:\n"
    "  s3src|filesrc ! decodebin ! videoconvert ! heatmap ! fakesink\n"
    "Local files have fixed names in a private folder; the key never becomes pipeline text.\n"
    "Existing heatmaps are never overwritten (If-None-Match: *) unless --force.\n"
    "\n"
    "Settings come from the environment (as heatmap-batch's .env names them): S3_BUCKET,\n"
    "S3_VIDEOS_PREFIX, S3_HEATMAPS_PREFIX, PIPELINE_TIMEOUT, WORK_DIR, CLEANUP_LOCAL_FILES,\n"
    "DOWNSCALE, USE_BACKGROUND, COLORMAP, ALPHA, HEATMAP_OPTIONS and the S3_* connection\n"
    "settings; options beat them.\n"
    "\n"
    "Options:\n"
    "  --bucket URL            s3://bucket or file:///folder (S3_BUCKET)\n"
    "  --videos-prefix P       (S3_VIDEOS_PREFIX, default raw_videos/)\n"
    "  --heatmaps-prefix P     (S3_HEATMAPS_PREFIX, default heatmaps/)\n"
    "  --set PROPERTY=VALUE    a heatmap element property, checked against the element's type\n"
    "                          and range; repeatable, one per argument\n"
    "  --mask FILE, --zones FILE   the element's mask / zones files\n"
    "  --timeout SECONDS       pipeline time limit (PIPELINE_TIMEOUT, default 1800)\n"
    "  --work-dir DIR          where the private folder goes (WORK_DIR, default $TMPDIR)\n"
    "  --keep                  keep the local files (CLEANUP_LOCAL_FILES=false)\n"
    "  --force                 redo a clip that has a heatmap, overwriting it\n"
    "  --no-env-properties     ignore DOWNSCALE, USE_BACKGROUND, COLORMAP, ALPHA and\n"
    "                          HEATMAP_OPTIONS in the environment\n"
    "  --check                 only validate the settings (no clip, no network)\n"
    "  --help                  this text\n"
    "\n"
    "Output: one tab-separated line on stdout\n"
    "  STATUS FRAMES SECONDS FPS MESSAGE   (STATUS: done already-done transient permanent)\n"
    "Exit status: 0 done, 3 already done (heatmap exists), 4 transient failure (retry later:\n"
    "S3 errors, timeouts), 5 permanent failure (the clip: missing, empty, not a video, corrupt),\n"
    "2 usage or settings error. A crash in the pipeline ends the process at once (no handler).\n";

[[noreturn]] void usage_error(const std::string &message) {
  std::fprintf(stderr, "heatmap-job: %s (see --help)\n", message.c_str());
  std::exit(heatmap_job::kExitUsage);
}

int parse_seconds(const std::string &text) {
  char *end = nullptr;
  long v = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || v < 1 || v > 7 * 24 * 3600)
    usage_error("--timeout wants a whole number of seconds >= 1: got '" + text + "'");
  return static_cast<int>(v);
}

// The default action for crash signals, whatever the parent left: a crashed pipeline must end
// the process at once instead of spinning in a handler while holding a batch slot.
// No core file either: a clip that crashes the decoder would leave one per run.
void default_crash_signals() {
  for (int sig : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT})
    signal(sig, SIG_DFL);
  struct rlimit no_core = {0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
}

}  // namespace

int main(int argc, char **argv) {
  default_crash_signals();
  std::vector<std::string> args(argv + 1, argv + argc);
  for (const std::string &a : args) {
    if (a == "--")
      break;
    if (a == "--help" || a == "-h") {
      std::fputs(kHelp, stdout);
      return 0;
    }
  }
  bool env_properties = true;
  for (const std::string &a : args) {
    if (a == "--")
      break;
    if (a == "--no-env-properties")
      env_properties = false;
  }
  heatmap_job::JobSettings settings;
  try {
    settings =
        heatmap_job::settings_from_environment([env_properties](const char *name) -> const char * {
          static const char *const kPropertyVars[] = {"DOWNSCALE", "USE_BACKGROUND", "COLORMAP",
                                                      "ALPHA", "HEATMAP_OPTIONS"};
          if (!env_properties) {
            for (const char *v : kPropertyVars) {
              if (std::string(v) == name)
                return nullptr;
            }
          }
          return std::getenv(name);
        });
  } catch (const heatmap_job::SettingsError &e) {
    usage_error(e.what());
  }

  bool check = false;
  std::string key;
  bool have_key = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string &a = args[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= args.size())
        usage_error(a + " needs a value");
      return args[++i];
    };
    if (a == "--bucket") {
      settings.bucket = value();
    } else if (a == "--videos-prefix") {
      settings.videos_prefix = value();
    } else if (a == "--heatmaps-prefix") {
      settings.heatmaps_prefix = value();
    } else if (a == "--set") {
      std::string pair = value();
      std::size_t eq = pair.find('=');
      if (eq == std::string::npos || eq == 0)
        usage_error("--set wants PROPERTY=VALUE: got '" + pair + "'");
      settings.properties.emplace_back(pair.substr(0, eq), pair.substr(eq + 1));
    } else if (a == "--mask") {
      settings.mask_file = value();
    } else if (a == "--zones") {
      settings.zones_file = value();
    } else if (a == "--timeout") {
      settings.pipeline_timeout_s = parse_seconds(value());
    } else if (a == "--work-dir") {
      settings.work_dir = value();
    } else if (a == "--keep") {
      settings.keep_local = true;
    } else if (a == "--force") {
      settings.force = true;
    } else if (a == "--no-env-properties") {
    } else if (a == "--check") {
      check = true;
    } else if (a == "--") {
      if (i + 2 != args.size())
        usage_error("expects exactly one VIDEO_KEY after --");
      key = args[++i];
      have_key = true;
    } else if (!a.empty() && a[0] == '-') {
      usage_error("unknown option " + a);
    } else {
      if (have_key)
        usage_error("expects one VIDEO_KEY");
      key = a;
      have_key = true;
    }
  }
  if (settings.bucket.empty())
    usage_error("no bucket: set S3_BUCKET or --bucket");
  if (!check && !have_key)
    usage_error("expects a VIDEO_KEY");

  gst_init(nullptr, nullptr);
  try {
    heatmap_job::check_settings(settings);
  } catch (const heatmap_job::SettingsError &e) {
    std::fprintf(stderr, "heatmap-job: %s\n", e.what());
    return heatmap_job::kExitUsage;
  }
  if (check)
    return 0;

  // A last resort beyond the pipeline's own limit: uploads and a pipeline that will not stop
  // cannot hold the caller's slot for ever.
  const int limit_s = settings.pipeline_timeout_s + 300;
  std::thread([limit_s]() {
    std::this_thread::sleep_for(std::chrono::seconds(limit_s));
    std::string line = "transient\t0\t" + std::to_string(limit_s) + ".00\t0.0\tgave up after " +
                       std::to_string(limit_s) + "s (PIPELINE_TIMEOUT plus 300s for uploads)\n";
    ssize_t ignored = write(STDOUT_FILENO, line.data(), line.size());
    (void)ignored;
    _exit(heatmap_job::kExitTransient);
  }).detach();

  heatmap_job::JobResult result;
  try {
    result = heatmap_job::run_clip_job(settings, key);
  } catch (const heatmap_job::SettingsError &e) {
    std::fprintf(stderr, "heatmap-job: %s\n", e.what());
    return heatmap_job::kExitUsage;
  }
  std::printf("%s\n", heatmap_job::format_result_line(result).c_str());
  std::fflush(stdout);
  return heatmap_job::exit_code_for(result.status);
}
