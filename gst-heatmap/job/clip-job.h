// clip-job.h: the per-clip job (one video in, its heatmap files out) shared by heatmap-batch
// (through the heatmap-job tool) and heatmap-worker.
//
// The pipeline is built with the GStreamer API: a source made from the clip's percent-encoded URI
// (s3src for s3://, filesrc for file://) ! decodebin ! videoconvert ! heatmap ! fakesink.
// Element properties are set on the element object, never parsed from a pipeline description, and
// every local file has a fixed name inside a private mkdtemp folder, so nothing derived from an
// object key is ever pipeline text or a local path component.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "s3-client.h"

namespace heatmap_job {

struct JobSettings {
  std::string bucket;  // s3://bucket or file:///folder (a bucket URL, no key)
  s3::Config s3;       // connection settings (S3_* from the environment by default)
  std::string videos_prefix = "raw_videos/";
  std::string heatmaps_prefix = "heatmaps/";
  // heatmap element properties, applied in order with type and range checks
  // (e.g. {"downscale","0.25"}, {"colormap","jet"}). Properties naming files (location,
  // raw-location, *-location) and name are refused: the job chooses its files.
  std::vector<std::pair<std::string, std::string>> properties;
  std::string mask_file;          // local path for the element's `mask` property, "" = none
  std::string zones_file;         // local path for the element's `zones` property, "" = none
  int pipeline_timeout_s = 1800;  // the whole pipeline (decode + render), not the uploads
  bool force = false;             // redo a clip that has its JPEG, overwriting its files
  std::string work_dir;           // parent of the private folder; "" = $TMPDIR or /tmp
  bool keep_local = false;        // keep the private folder (JobResult::local_dir)
};

struct JobResult {
  enum class Status {
    kDone,         // rendered and uploaded, JPEG last
    kAlreadyDone,  // the JPEG exists (before we started, or another worker won the race: 412)
    kTransient,  // worth retrying: S3 5xx/timeouts/connection, pipeline timeout, local disk, crash
                 // by a signal such as SIGKILL (OOM)
    kPermanent,  // the clip itself is bad: not found, empty, not a video, corrupt, no frames
  };
  Status status = Status::kPermanent;
  std::string message;       // one line; never a secret, never the key (callers print the key)
  std::uint64_t frames = 0;  // frames-processed of the heatmap message
  double seconds = 0;        // wall time of the whole job
  double fps = 0;            // frames / seconds
  std::vector<std::string> uploaded;  // keys written, JPEG last
  std::string local_dir;              // the private folder when keep_local, else ""
};

// Settings that are wrong whatever the clip (unknown property, bad value, bad bucket URL).
class SettingsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Runs one clip in this process. Needs gst_init() (and the heatmap and, for s3://, s3src
// elements on the plugin path). Thread-safe: each call has its own pipeline and bus.
// Throws SettingsError for settings errors (check_settings() finds them up front); every
// per-clip failure is a JobResult.
JobResult run_clip_job(const JobSettings &settings, const std::string &video_key);

// Validates settings without touching the bucket: bucket URL, prefixes, every property against
// the heatmap element (exists, writable, value parses, in range). Throws SettingsError.
void check_settings(const JobSettings &settings);

// Runs one clip in a child process (the heatmap-job program, fork+exec), so that a crash inside
// a pipeline ends that child only. The child gets the settings in argv (no secrets) and the
// environment (S3 credentials); its result line is parsed back. A child that dies by a signal
// gives kPermanent (SIGKILL: kTransient); one that outlives pipeline_timeout_s plus
// upload_grace_s is killed (kTransient).
JobResult run_clip_job_in_child(const JobSettings &settings, const std::string &video_key,
                                const std::string &job_program, int upload_grace_s = 300);

// Settings from environment-style variables (the names of .env.example): S3_BUCKET,
// S3_VIDEOS_PREFIX, S3_HEATMAPS_PREFIX, PIPELINE_TIMEOUT, WORK_DIR, CLEANUP_LOCAL_FILES,
// DOWNSCALE, USE_BACKGROUND, COLORMAP, ALPHA, HEATMAP_OPTIONS (space-separated prop=value),
// and the S3 connection (s3::Config::from_environment). getenv_fn returns nullptr for unset
// names; pass a lookup over the .env parser to honour files. Throws SettingsError.
JobSettings settings_from_environment(const std::function<const char *(const char *)> &getenv_fn);

// The result line of heatmap-job, one line, tab-separated:
//   STATUS FRAMES SECONDS FPS MESSAGE      STATUS: done already-done transient permanent
std::string format_result_line(const JobResult &result);
bool parse_result_line(const std::string &line, JobResult *result);
const char *status_name(JobResult::Status status);

// heatmap-job exit codes.
constexpr int kExitDone = 0;
constexpr int kExitUsage = 2;
constexpr int kExitAlreadyDone = 3;
constexpr int kExitTransient = 4;
constexpr int kExitPermanent = 5;
int exit_code_for(JobResult::Status status);

}  // namespace heatmap_job
