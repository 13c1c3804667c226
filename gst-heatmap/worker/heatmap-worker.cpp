// heatmap-worker.cpp: renders the heatmaps of clips named by RabbitMQ messages (S3 events or
// jobs from heatmap-batch --enqueue); --enqueue publishes a bucket's pending clips.
#include <gst/gst.h>
#include <limits.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "amqp-client.h"
#include "clip-job.h"
#include "dotenv.h"
#include "enqueue.h"
#include "job-message.h"
#include "picture.h"
#include "rollup-queue.h"
#include "worker.h"

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

namespace {

using namespace heatmap_worker;

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

const char kHelp[] =
    "Usage: heatmap-worker [--jobs J] [--env-file F] [--queue Q] [--exchange X]\n"
    "                      [--max-attempts N] [--retry-delay S] [--exit-when-idle S]\n"
    "                      [--in-process] [--no-rollups] [--help] [--version]\n"
    "       heatmap-worker --enqueue [--date-prefix P] [--max-videos N]\n"
    "                      [--env-file F] [--queue Q] [--exchange X]\n"
    "       heatmap-worker --list-dead [--env-file F] [--queue Q]\n"
    "\n"
    "Consumes clip jobs from the RabbitMQ queue AMQP_QUEUE and renders each clip exactly as\n"
    "heatmap-batch does (the same per-clip job: pipeline, uploads, JPEG last). A message is\n"
    "an S3 event notification ({\"Records\":[{\"s3\":{\"object\":{\"key\":...}}}]}, keys\n"
    "URL-decoded) or a plain job {\"bucket\":\"...\",\"key\":\"...\"}. Keys outside\n"
    "S3_VIDEOS_PREFIX or not videos are acknowledged and ignored.\n"
    "\n"
    "Acknowledgement: a message is acked only after the clip's JPEG is uploaded, or when the\n"
    "JPEG already exists (redelivery never writes twice). Transient failures (S3 5xx,\n"
    "timeouts, a killed pipeline) wait in <queue>.retry.<n> for RETRY_DELAY * 2^(n-1)\n"
    "seconds and run again; after MAX_ATTEMPTS failed runs, and at once for permanent\n"
    "failures (corrupt clip, not a video), the message goes to the dead-letter queue\n"
    "<queue>.dead with the reason in its x-heatmap-reason header.\n"
    "The worker declares its exchange, queue, retry queues and dead-letter queue.\n"
    "\n"
    "Rollups: after its clips the worker brings the hour, day, ISO week and month heatmaps\n"
    "they touch up to date, as heatmap-batch does (the same library calls as\n"
    "heatmap-aggregate rollup; ROLLUPS, default hour,day,week,month; none or --no-rollups:\n"
    "off; ROLLUP_RESAMPLE=true scales sources of different sizes to the newest instead of\n"
    "failing), on a thread of its own once no clip runs (at the latest 60 s after a clip), one\n"
    "log line per pass; a period it wrote is checked again 10 s later in case another worker\n"
    "wrote it at the same time.\n"
    "\n"
    "--list-dead prints the dead-letter queue, one message a line (attempts, key, reason),\n"
    "and leaves it unchanged.\n"
    "\n"
    "--enqueue lists the bucket like heatmap-batch (videos without a heatmap, oldest first,\n"
    "at most --max-videos) and publishes one persistent message per clip with publisher\n"
    "confirms, then exits.\n"
    "\n"
    "Options (they beat the environment, which beats the .env file):\n"
    "  --jobs J            clip jobs at once = prefetch count (JOBS, default: cores)\n"
    "  --env-file F        settings file (parsed, never executed; default .env in the\n"
    "                      current folder when it exists)\n"
    "  --queue Q           work queue (AMQP_QUEUE, default heatmap-clips)\n"
    "  --exchange X        topic exchange bound to the queue with '#' (AMQP_EXCHANGE,\n"
    "                      default heatmap); S3 notifications publish there\n"
    "  --max-attempts N    runs of a message before it is dead-lettered (MAX_ATTEMPTS, 5)\n"
    "  --retry-delay S     wait before the 2nd run, doubling (RETRY_DELAY, 10; cap\n"
    "                      RETRY_DELAY_MAX, 600)\n"
    "  --exit-when-idle S  exit 0 once nothing arrived for S seconds and no job runs\n"
    "  --no-rollups        no rollups (ROLLUPS=none)\n"
    "  --in-process        run clips in this process instead of one heatmap-job child per\n"
    "                      clip (a crashing pipeline then ends the whole worker)\n"
    "  --date-prefix P     --enqueue: only videos under S3_VIDEOS_PREFIX + P (VIDEO_PREFIX)\n"
    "  --max-videos N      --enqueue: at most N clips, 0 = all (MAX_VIDEOS_PER_RUN, 10)\n"
    "  --force             refused with --enqueue: workers never overwrite a heatmap (run\n"
    "                      heatmap-batch --force to redo clips)\n"
    "\n"
    "Settings from the environment / .env: AMQP_URL (amqp://user:password@host:port/vhost\n"
    "or amqps://..., default amqp://guest:guest@127.0.0.1:5672/%2f; the password is never\n"
    "logged, never pass it on a command line), AMQP_HEARTBEAT (seconds, default 30),\n"
    "AMQP_CACERT (PEM file for amqps://), AMQP_TLS_VERIFY (default true), and every\n"
    "heatmap-batch setting of .env.example (S3_BUCKET, S3_*, prefixes, DOWNSCALE, ...).\n"
    "\n"
    "Output: one line per clip on stdout (ok / skipped / retry / FAILED / ignored, key,\n"
    "frames, seconds, fps, reason); connection events on stderr. SIGTERM or SIGINT: stop\n"
    "taking messages, finish the running clips, ack them, exit 0 (a second signal exits at\n"
    "once; the unacked messages return to the queue). Exit status: 0 stopped cleanly,\n"
    "1 --enqueue failed, 2 usage or configuration error.\n";

std::atomic<bool> g_stop{false};
volatile sig_atomic_t g_signals = 0;
const Wakeup *g_wakeup = nullptr;  // set before the handler is installed

void on_signal(int) {
  g_signals = g_signals + 1;
  if (g_signals >= 2)
    _exit(128 + SIGTERM);
  g_stop = true;
  if (g_wakeup != nullptr)
    g_wakeup->notify();  // one write(2): async-signal-safe
}

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Settings: flags > process environment > .env > defaults (s3::Settings, as every tool).
class Settings {
 public:
  void load(const std::string &env_file) {
    try {
      settings_ = s3::Settings::load(env_file);
    } catch (const s3::Error &e) {
      throw UsageError(e.what());
    }
    getenv_ = settings_.getenv();
  }
  const char *get(const char *name) const { return getenv_(name); }
  std::string str(const char *name, const std::string &fallback = "") const {
    const char *v = get(name);
    return v != nullptr && v[0] != '\0' ? v : fallback;
  }
  const s3::Settings::Getenv &getenv() const { return getenv_; }

 private:
  s3::Settings settings_;
  s3::Settings::Getenv getenv_;
};

long parse_int(const std::string &what, const std::string &text, long lo, long hi) {
  char *end = nullptr;
  errno = 0;
  long v = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno != 0 || v < lo || v > hi)
    throw UsageError(what + " wants a whole number in " + std::to_string(lo) + ".." +
                     std::to_string(hi) + ": got '" + printable(text, 40) + "'");
  return v;
}

bool parse_bool(const std::string &what, const std::string &text) {
  std::string t = text;
  for (char &c : t)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (t == "true" || t == "1" || t == "yes" || t == "on")
    return true;
  if (t == "false" || t == "0" || t == "no" || t == "off")
    return false;
  throw UsageError(what + " must be true or false: got '" + printable(text, 40) + "'");
}

// heatmap-job next to this program (installed) or in the build tree (../job/heatmap-job).
std::string find_job_program() {
  if (const char *v = std::getenv("HEATMAP_JOB_PROGRAM"))
    return v;
  char self[PATH_MAX] = {};
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0)
    return "heatmap-job";
  std::string dir(self, static_cast<std::size_t>(n));
  dir.resize(dir.rfind('/'));
  for (const std::string &candidate : {dir + "/heatmap-job", dir + "/../job/heatmap-job"})
    if (access(candidate.c_str(), X_OK) == 0)
      return candidate;
  return "heatmap-job";
}

struct Flags {
  std::map<std::string, std::string> values;  // --name -> value
  bool enqueue = false, list_dead = false, force = false, in_process = false, env_file_set = false,
       no_rollups = false;
  std::string env_file;
};

Flags parse_flags(int argc, char **argv) {
  static const char *kValued[] = {"--jobs",         "--queue",       "--exchange",
                                  "--max-attempts", "--retry-delay", "--exit-when-idle",
                                  "--date-prefix",  "--max-videos",  "--env-file"};
  Flags f;
  for (int i = 1; i < argc; i++) {
    std::string arg = argv[i];
    std::string value;
    bool inline_value = false;
    if (arg.rfind("--", 0) == 0 && arg.find('=') != std::string::npos) {
      value = arg.substr(arg.find('=') + 1);
      arg = arg.substr(0, arg.find('='));
      inline_value = true;
    }
    if (arg == "-j")
      arg = "--jobs";
    bool valued = false;
    for (const char *v : kValued)
      valued = valued || arg == v;
    if (valued) {
      if (!inline_value) {
        if (i + 1 >= argc)
          throw UsageError(arg + " needs a value");
        value = argv[++i];
      }
      if (arg == "--env-file") {
        f.env_file = value;
        f.env_file_set = true;
      } else {
        f.values[arg] = value;
      }
      continue;
    }
    if (inline_value)
      throw UsageError(arg + " takes no value");
    if (arg == "--enqueue")
      f.enqueue = true;
    else if (arg == "--list-dead")
      f.list_dead = true;
    else if (arg == "--force")
      f.force = true;
    else if (arg == "--in-process")
      f.in_process = true;
    else if (arg == "--no-rollups")
      f.no_rollups = true;
    else if (arg == "--amqp-url")
      throw UsageError(
          "the AMQP URL carries a password: set AMQP_URL in the environment or "
          "the .env file, never on the command line");
    else
      throw UsageError("unknown argument " + printable(arg, 80));
  }
  return f;
}

int run(int argc, char **argv) {
  Flags flags = parse_flags(argc, argv);
  Settings settings;
  if (flags.env_file_set && access(flags.env_file.c_str(), R_OK) != 0)
    throw UsageError("cannot read the settings file " + flags.env_file + " (--env-file)");
  settings.load(flags.env_file_set ? flags.env_file : access(".env", R_OK) == 0 ? ".env" : "");
  auto flag_or = [&](const char *flag, const char *var, const std::string &fallback) {
    auto it = flags.values.find(flag);
    return it != flags.values.end() ? it->second : settings.str(var, fallback);
  };

  AmqpEndpoint endpoint;
  try {
    endpoint =
        AmqpEndpoint::parse(settings.str("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2f"));
  } catch (const AmqpError &e) {
    throw UsageError(e.what());
  }
  ConnectOptions connect;
  connect.heartbeat_s =
      static_cast<int>(parse_int("AMQP_HEARTBEAT", settings.str("AMQP_HEARTBEAT", "30"), 0, 3600));
  connect.tls_cacert = settings.str("AMQP_CACERT");
  connect.tls_verify = parse_bool("AMQP_TLS_VERIFY", settings.str("AMQP_TLS_VERIFY", "true"));
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  connect.connection_name = std::string(flags.enqueue ? "heatmap-enqueue@" : "heatmap-worker@") +
                            host + ":" + std::to_string(getpid());
  Topology topology;
  topology.queue = flag_or("--queue", "AMQP_QUEUE", "heatmap-clips");
  topology.exchange = flag_or("--exchange", "AMQP_EXCHANGE", "heatmap");
  topology.dead_queue = settings.str("AMQP_DEAD_LETTER_QUEUE");
  if (topology.queue.size() > 200 || topology.exchange.size() > 200)
    throw UsageError("AMQP_QUEUE and AMQP_EXCHANGE must be at most 200 bytes");

  if (flags.list_dead) {
    try {
      AmqpConnection conn(endpoint, connect);
      std::vector<Delivery> dead = conn.peek(topology.dead(), 100000);
      for (const Delivery &d : dead) {
        auto header = [&](const char *name) {
          auto it = d.headers.find(name);
          return it == d.headers.end() ? std::string("-") : printable(it->second, 400);
        };
        std::printf("attempts=%d\tkey=%s\treason=%s\n", d.attempts, header(kKeyHeader).c_str(),
                    header(kReasonHeader).c_str());
      }
      std::fprintf(stderr, "heatmap-worker: %zu message(s) in '%s'\n", dead.size(),
                   topology.dead().c_str());
      return kExitOk;
    } catch (const AmqpError &err) {
      std::fprintf(stderr, "heatmap-worker: --list-dead: %s\n", err.what());
      return kExitFailure;
    }
  }

  heatmap_job::JobSettings job;
  try {
    job = heatmap_job::settings_from_environment(settings.getenv());
  } catch (const heatmap_job::SettingsError &e) {
    throw UsageError(e.what());
  }
  if (job.bucket.empty())
    throw UsageError("S3_BUCKET is not set (s3://bucket or file:///folder)");

  if (flags.force)
    throw UsageError(
        "--force cannot go through the queue: workers never overwrite a heatmap (an existing "
        "JPEG counts as done); redo clips with heatmap-batch --force");
  if (flags.enqueue) {
    EnqueueOptions e;
    e.bucket_url = job.bucket;
    e.s3 = job.s3;
    e.layout.videos_prefix = job.videos_prefix;
    e.layout.heatmaps_prefix = job.heatmaps_prefix;
    e.date_prefix = flag_or("--date-prefix", "VIDEO_PREFIX", "");
    e.max_clips = static_cast<std::size_t>(parse_int(
        "--max-videos", flag_or("--max-videos", "MAX_VIDEOS_PER_RUN", "10"), 0, 100000000));
    e.endpoint = endpoint;
    e.connect = connect;
    e.topology = topology;
    try {
      EnqueueReport r = enqueue_pending(e);
      std::printf(
          "enqueued %zu clip(s) to exchange '%s' (queue '%s' on %s); %zu without a heatmap, "
          "%zu already done\n",
          r.published, topology.exchange.c_str(), topology.queue.c_str(),
          endpoint.display().c_str(), r.pending_total, r.done);
      return kExitOk;
    } catch (const s3::Error &err) {
      std::fprintf(stderr, "heatmap-worker: --enqueue: cannot list %s: %s\n", job.bucket.c_str(),
                   err.what());
    } catch (const AmqpError &err) {
      std::fprintf(stderr, "heatmap-worker: --enqueue: %s\n", err.what());
    }
    return kExitFailure;
  }

  // Only the worker needs GStreamer (checking the element settings, --in-process clips):
  // --enqueue and --list-dead start without loading the plugin registry.
  gst_init(nullptr, nullptr);
  WorkerOptions w;
  w.endpoint = endpoint;
  w.connect = connect;
  w.topology = topology;
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  w.jobs = static_cast<int>(parse_int(
      "--jobs", flag_or("--jobs", "JOBS", std::to_string(cores > 0 ? cores : 1)), 1, 256));
  w.retry.max_attempts = static_cast<int>(
      parse_int("MAX_ATTEMPTS", flag_or("--max-attempts", "MAX_ATTEMPTS", "5"), 1, 100));
  w.retry.retry_delay_s = static_cast<int>(
      parse_int("RETRY_DELAY", flag_or("--retry-delay", "RETRY_DELAY", "10"), 1, 86400));
  w.retry.retry_delay_max_s = static_cast<int>(parse_int(
      "RETRY_DELAY_MAX",
      settings.str("RETRY_DELAY_MAX", std::to_string(std::max(600, w.retry.retry_delay_s))), 1,
      86400));
  if (std::string bad = check_policy(w.retry); !bad.empty())
    throw UsageError(bad);
  if (auto it = flags.values.find("--exit-when-idle"); it != flags.values.end())
    w.exit_when_idle_s = static_cast<double>(parse_int("--exit-when-idle", it->second, 1, 86400));
  s3::Url bucket_url;
  try {
    bucket_url = s3::Url::parse_bucket(job.bucket);
    heatmap_job::check_settings(job);
  } catch (const std::exception &e) {
    throw UsageError(e.what());
  }
  w.bucket_name = bucket_name_of(bucket_url);

  s3::pending::Layout layout;
  layout.videos_prefix = job.videos_prefix;
  layout.heatmaps_prefix = job.heatmaps_prefix;
  ClipFilter filter = [layout](const std::string &key) -> std::string {
    if (s3::pending::jpeg_key_for(layout, key).empty())
      return "not a video under '" + layout.videos_prefix + "'";
    return {};
  };
  RollupSettings rollup;
  rollup.bucket_url = job.bucket;
  rollup.s3 = job.s3;
  rollup.layout.videos_prefix = job.videos_prefix;
  rollup.layout.heatmaps_prefix = job.heatmaps_prefix;
  try {
    rollup.kinds =
        s3::rollups::parse_kinds(flags.no_rollups ? "none" : settings.str("ROLLUPS", "all"));
  } catch (const std::invalid_argument &e) {
    throw UsageError(std::string("ROLLUPS: ") + e.what());
  }
  rollup.options.resample = parse_bool("ROLLUP_RESAMPLE", settings.str("ROLLUP_RESAMPLE", "false"));
  const std::string colormap = settings.str("COLORMAP", "jet");
  rollup.options.render.colormap = heatmap::aggregate::colormap_from_name(colormap);
  if (rollup.options.render.colormap < 0)
    throw UsageError("COLORMAP: unknown colormap '" + printable(colormap, 40) + "'");
  RollupQueue rollups(rollup, [](const std::string &line) { log_line(stdout, line); });

  std::string job_program = find_job_program();
  bool in_process = flags.in_process;
  ClipRunner runner = [job, job_program, in_process, &rollups](const std::string &key) {
    heatmap_job::JobResult r;
    rollups.clip_started();
    try {
      r = in_process ? heatmap_job::run_clip_job(job, key)
                     : heatmap_job::run_clip_job_in_child(job, key, job_program);
    } catch (...) {
      rollups.clip_finished("");
      throw;
    }
    rollups.clip_finished(r.status == heatmap_job::JobResult::Status::kDone ? key : "");
    return r;
  };

  static const Wakeup wakeup;  // outlives the signal handler's use of it
  g_wakeup = &wakeup;
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  std::fprintf(stderr, "heatmap-worker %s: bucket %s, queue '%s' on %s, %d job(s), %s\n", VERSION,
               bucket_url.str().c_str(), topology.queue.c_str(), endpoint.display().c_str(), w.jobs,
               in_process ? "clips in this process" : ("clips in " + job_program).c_str());
  const int status = run_worker(w, runner, filter, g_stop, wakeup);
  rollups.finish();  // the rollups of the last clips, before exiting
  return status;
}

}  // namespace

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      std::fputs(kHelp, stdout);
      return kExitOk;
    }
    if (std::strcmp(argv[i], "--version") == 0) {
      std::printf("heatmap-worker %s\n", VERSION);
      return kExitOk;
    }
  }
  try {
    return run(argc, argv);
  } catch (const UsageError &e) {
    std::fprintf(stderr, "heatmap-worker: %s (see --help)\n", e.what());
    return kExitUsage;
  }
}
