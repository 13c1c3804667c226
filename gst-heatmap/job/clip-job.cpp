// clip-job.cpp: the per-clip job: pipeline built with the API, private work folder, uploads.
#include "clip-job.h"

#include <dirent.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gst/gst.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>
#include <sstream>

#include "s3-pending.h"
#include "one-line.h"
#include "places.h"
#include "sidecar.h"

namespace heatmap_job {
namespace {

using heatmap::one_line;

using Clock = std::chrono::steady_clock;
using Status = JobResult::Status;

// Local files of the job, fixed names in the private folder. Uploaded in this order: the JPEG,
// which marks the clip done, last.
struct Output {
  const char *local_name;
  const char *key_suffix;  // appended to the clip's stem (clip_..._heatmap.jpg -> clip_...)
  const char *content_type;
  const char *property;  // the heatmap property that names the file
  bool required;
};
constexpr Output kOutputs[] = {
    {"heatmap.png", "_heatmap.png", "image/png", "raw-location", true},
    {"heatmap.json", "_heatmap.json", "application/json", "metadata-location", false},
    {"heatmap.csv", "_heatmap.csv", "text/csv", "zones-csv-location", false},
    {"scene.jpg", "_scene.jpg", "image/jpeg", "scene-location", false},
    {"heatmap.jpg", "_heatmap.jpg", "image/jpeg", "location", true},
};
constexpr std::string_view kJpegSuffix = "_heatmap.jpg";

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

JobResult failure(Status status, const std::string &message) {
  JobResult r;
  r.status = status;
  r.message = one_line(message);
  return r;
}

// Failures of the S3 library: the clip's own fault only when the object is missing or refused
// as an argument; everything else (network, server, credentials, local disk) may pass.
Status classify(const s3::Error &e) {
  switch (e.kind()) {
    case s3::ErrorKind::kNotFound:
    case s3::ErrorKind::kNoSuchBucket:
    case s3::ErrorKind::kInvalidArgument:
    case s3::ErrorKind::kRangeNotSatisfiable:
      return Status::kPermanent;
    default:
      return Status::kTransient;
  }
}

// The private work folder: mode 0700 from mkdtemp, removed with its (flat) content.
class WorkDir {
 public:
  explicit WorkDir(const std::string &parent) {
    std::string base = parent;
    if (base.empty()) {
      const char *tmp = std::getenv("TMPDIR");
      base = tmp && *tmp ? tmp : "/tmp";
    }
    std::string templ = base + "/heatmap-job.XXXXXX";
    std::vector<char> buf(templ.begin(), templ.end());
    buf.push_back('\0');
    if (mkdtemp(buf.data()) == nullptr)
      throw s3::Error(s3::ErrorKind::kIo,
                      "cannot create a work folder in " + base + ": " + std::strerror(errno));
    path_ = buf.data();
  }
  WorkDir(const WorkDir &) = delete;
  WorkDir &operator=(const WorkDir &) = delete;
  ~WorkDir() {
    if (keep_)
      return;
    if (DIR *dir = opendir(path_.c_str())) {
      while (struct dirent *entry = readdir(dir)) {
        if (std::strcmp(entry->d_name, ".") != 0 && std::strcmp(entry->d_name, "..") != 0)
          unlinkat(dirfd(dir), entry->d_name, 0);
      }
      closedir(dir);
    }
    rmdir(path_.c_str());
  }
  const std::string &path() const { return path_; }
  std::string file(const char *name) const { return path_ + "/" + name; }
  void keep() { keep_ = true; }

 private:
  std::string path_;
  bool keep_ = false;
};

bool non_empty_file(const std::string &path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
}

// --- element properties ----------------------------------------------------------------------

bool names_a_file(const std::string &name) {
  return name == "name" || name == "location" || ends_with(name, "-location");
}

std::string range_of(GParamSpec *pspec) {
  char buf[128] = {};
  if (G_IS_PARAM_SPEC_DOUBLE(pspec)) {
    auto *p = G_PARAM_SPEC_DOUBLE(pspec);
    std::snprintf(buf, sizeof buf, " (%g..%g)", p->minimum, p->maximum);
  } else if (G_IS_PARAM_SPEC_INT(pspec)) {
    auto *p = G_PARAM_SPEC_INT(pspec);
    std::snprintf(buf, sizeof buf, " (%d..%d)", p->minimum, p->maximum);
  } else if (G_IS_PARAM_SPEC_UINT(pspec)) {
    auto *p = G_PARAM_SPEC_UINT(pspec);
    std::snprintf(buf, sizeof buf, " (%u..%u)", p->minimum, p->maximum);
  } else if (G_IS_PARAM_SPEC_ENUM(pspec)) {
    std::string nicks = " (one of:";
    GEnumClass *klass = G_PARAM_SPEC_ENUM(pspec)->enum_class;
    for (guint i = 0; i < klass->n_values; ++i)
      nicks += std::string(" ") + klass->values[i].value_nick;
    return nicks + ")";
  } else if (G_IS_PARAM_SPEC_BOOLEAN(pspec)) {
    return " (true or false)";
  }
  return buf;
}

// Sets one property from text with the element's own type and range; throws SettingsError.
void set_checked(GObject *object, const std::string &name, const std::string &value) {
  const char *element = G_OBJECT_TYPE_NAME(object);
  if (names_a_file(name))
    throw SettingsError("the heatmap property '" + name +
                        "' cannot be set: the job chooses its own files");
  GParamSpec *pspec = g_object_class_find_property(G_OBJECT_GET_CLASS(object), name.c_str());
  if (pspec == nullptr)
    throw SettingsError(std::string("the heatmap element (") + element + ") has no property '" +
                        name + "' (gst-inspect-1.0 heatmap lists them)");
  if (!(pspec->flags & G_PARAM_WRITABLE) || (pspec->flags & G_PARAM_CONSTRUCT_ONLY))
    throw SettingsError("the heatmap property '" + name + "' is read-only");
  GValue v = G_VALUE_INIT;
  g_value_init(&v, G_PARAM_SPEC_VALUE_TYPE(pspec));
  if (!gst_value_deserialize_with_pspec(&v, value.c_str(), pspec)) {
    g_value_unset(&v);
    throw SettingsError("bad value '" + one_line(value) + "' for the heatmap property '" + name +
                        "'" + range_of(pspec));
  }
  if (g_param_value_validate(pspec, &v)) {
    g_value_unset(&v);
    throw SettingsError("value '" + one_line(value) + "' of the heatmap property '" + name +
                        "' is out of range" + range_of(pspec));
  }
  g_object_set_property(object, name.c_str(), &v);
  g_value_unset(&v);
}

bool has_property(GstElement *element, const char *name) {
  return g_object_class_find_property(G_OBJECT_GET_CLASS(element), name) != nullptr;
}

struct ElementUnref {
  void operator()(GstElement *e) const { gst_object_unref(e); }
};
using ElementPtr = std::unique_ptr<GstElement, ElementUnref>;

GstElement *make(const char *factory, const char *name) {
  GstElement *e = gst_element_factory_make(factory, name);
  if (e == nullptr)
    throw SettingsError(std::string("the GStreamer element '") + factory +
                        "' is missing (GST_PLUGIN_PATH, or install its plugin)");
  return e;
}

// A heatmap element with the caller's properties, files in dir (nullptr: checks only).
ElementPtr make_heatmap(const JobSettings &settings, const WorkDir *dir) {
  ElementPtr heatmap(GST_ELEMENT(gst_object_ref_sink(make("heatmap", "heatmap"))));
  for (const auto &[name, value] : settings.properties)
    set_checked(G_OBJECT(heatmap.get()), name, value);
  auto set_file = [&](const char *property, const std::string &path) {
    if (!has_property(heatmap.get(), property))
      throw SettingsError(std::string("this heatmap element has no '") + property +
                          "' property (older plugin?)");
    g_object_set(heatmap.get(), property, path.c_str(), nullptr);
  };
  if (!settings.mask_file.empty())
    set_file("mask", settings.mask_file);
  if (!settings.zones_file.empty())
    set_file("zones", settings.zones_file);
  if (dir != nullptr) {
    for (const Output &out : kOutputs) {
      if (has_property(heatmap.get(), out.property))
        g_object_set(heatmap.get(), out.property, dir->file(out.local_name).c_str(), nullptr);
    }
  }
  return heatmap;
}

// --- the pipeline ------------------------------------------------------------------------------

struct PadState {
  GstElement *pipeline = nullptr;
  GstElement *convert = nullptr;
  std::mutex mutex;
  bool video_linked = false;
};

bool is_video_pad(GstPad *pad) {
  GstCaps *caps = gst_pad_get_current_caps(pad);
  if (caps == nullptr)
    caps = gst_pad_query_caps(pad, nullptr);
  bool video = false;
  if (caps != nullptr && gst_caps_get_size(caps) > 0)
    video = g_str_has_prefix(gst_structure_get_name(gst_caps_get_structure(caps, 0)), "video/");
  if (caps != nullptr)
    gst_caps_unref(caps);
  return video;
}

// The first video stream goes to the heatmap; audio, subtitles and further video streams end in
// a fakesink of their own so that they never stall the demuxer with not-linked.
void on_pad_added(GstElement *, GstPad *pad, gpointer data) {
  auto *state = static_cast<PadState *>(data);
  std::lock_guard<std::mutex> guard(state->mutex);
  if (!state->video_linked && is_video_pad(pad)) {
    GstPad *sink = gst_element_get_static_pad(state->convert, "sink");
    if (gst_pad_link(pad, sink) == GST_PAD_LINK_OK)
      state->video_linked = true;
    gst_object_unref(sink);
    if (state->video_linked)
      return;
  }
  GstElement *sink = gst_element_factory_make("fakesink", nullptr);
  if (sink == nullptr)
    return;
  g_object_set(sink, "sync", FALSE, "async", FALSE, nullptr);
  gst_bin_add(GST_BIN(state->pipeline), sink);
  GstPad *sinkpad = gst_element_get_static_pad(sink, "sink");
  gst_pad_link(pad, sinkpad);
  gst_object_unref(sinkpad);
  gst_element_sync_state_with_parent(sink);
}

void on_no_more_pads(GstElement *decodebin, gpointer data) {
  auto *state = static_cast<PadState *>(data);
  std::lock_guard<std::mutex> guard(state->mutex);
  if (!state->video_linked) {
    gst_element_post_message(
        decodebin, gst_message_new_application(GST_OBJECT(decodebin),
                                               gst_structure_new_empty("heatmap-job-no-video")));
  }
}

struct PipelineOutcome {
  Status status = Status::kPermanent;
  bool ok = false;
  std::string message;
  std::uint64_t frames = 0;
};

// "typefind: Could not determine type of stream." Transient: the source could not read
// (network, server, credentials) and local write errors; the rest is the clip's fault.
PipelineOutcome from_error(GstMessage *msg, GstElement *source, GstElement *heatmap) {
  GError *error = nullptr;
  gchar *debug = nullptr;
  gst_message_parse_error(msg, &error, &debug);
  PipelineOutcome out;
  out.message = std::string(GST_OBJECT_NAME(GST_MESSAGE_SRC(msg))) + ": " +
                (error != nullptr ? error->message : "unknown error");
  out.status = Status::kPermanent;
  if (error != nullptr && error->domain == GST_RESOURCE_ERROR) {
    const bool from_source = GST_MESSAGE_SRC(msg) == GST_OBJECT(source);
    const bool from_heatmap = GST_MESSAGE_SRC(msg) == GST_OBJECT(heatmap);
    if (from_heatmap || (from_source && error->code != GST_RESOURCE_ERROR_NOT_FOUND))
      out.status = Status::kTransient;
  }
  if (error != nullptr)
    g_error_free(error);
  g_free(debug);
  return out;
}

// file:// buckets: the clip is opened beneath the bucket folder (a symlink may not lead out of
// it) and filesrc reads that very file (through /proc/self/fd), so what is read is what was
// checked. Returns -1 with
// *error set.
int open_beneath(const std::string &root, const std::string &key, std::string *error) {
  const int dir = open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) {
    *error = "cannot open the bucket folder: " + std::string(std::strerror(errno));
    return -1;
  }
  struct open_how how = {};
  how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  int fd = static_cast<int>(syscall(SYS_openat2, dir, key.c_str(), &how, sizeof how));
  if (fd < 0 && errno == ENOSYS) {
    // Kernels before 5.6: no symlink at all on the way (stricter than RESOLVE_BENEATH).
    int cur = dup(dir);
    std::size_t start = 0;
    while (cur >= 0) {
      const std::size_t slash = key.find('/', start);
      const bool last = slash == std::string::npos;
      const std::string part = key.substr(start, last ? std::string::npos : slash - start);
      const int next = part == ".." ? (errno = EXDEV, -1)
                                    : openat(cur, part.c_str(),
                                             (last ? O_RDONLY | O_NOCTTY : O_PATH | O_DIRECTORY) |
                                                 O_NOFOLLOW | O_CLOEXEC);
      const int saved = errno;
      close(cur);
      errno = saved;
      cur = next;
      if (last) {
        fd = cur;
        break;
      }
      start = slash + 1;
    }
  }
  const int saved = errno;
  close(dir);
  struct stat st;
  if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
    close(fd);
    *error = "the clip is not a regular file";
    return -1;
  }
  if (fd < 0) {
    *error = saved == EXDEV || saved == ELOOP
                 ? "the clip is a symlink leading out of the bucket folder; not read"
                 : "cannot open the clip: " + std::string(std::strerror(saved));
  }
  return fd;
}

PipelineOutcome run_pipeline(const JobSettings &settings, const std::string &uri, int fd,
                             const WorkDir &dir) {
  ElementPtr pipeline(GST_ELEMENT(gst_object_ref_sink(gst_pipeline_new("heatmap-job"))));
  GError *uri_error = nullptr;
  GstElement *source = nullptr;
  if (fd >= 0) {
    // filesrc reopens the checked file through its descriptor (same inode, no path walk again)
    // and, unlike fdsrc, works in pull mode as before (a grey-then-colour MJPEG AVI gave fdsrc
    // no frames at all).
    source = make("filesrc", "source");
    const std::string path = "/proc/self/fd/" + std::to_string(fd);
    g_object_set(source, "location", path.c_str(), nullptr);
  } else {
    source = gst_element_make_from_uri(GST_URI_SRC, uri.c_str(), "source", &uri_error);
  }
  if (source == nullptr) {
    std::string why = uri_error != nullptr ? uri_error->message : "no source element";
    g_clear_error(&uri_error);
    PipelineOutcome out;
    out.status = Status::kTransient;  // a missing s3src plugin is the machine's fault
    out.message = "cannot read the clip: " + why;
    return out;
  }
  // s3src reads S3_* from the environment; the job's own settings (e.g. from a .env) win.
  const s3::Config &c = settings.s3;
  if (has_property(source, "secret-key")) {
    if (!c.endpoint.empty())
      g_object_set(source, "endpoint", c.endpoint.c_str(), nullptr);
    if (!c.region.empty())
      g_object_set(source, "region", c.region.c_str(), nullptr);
    if (!c.access_key.empty())
      g_object_set(source, "access-key", c.access_key.c_str(), nullptr);
    if (!c.secret_key.empty())
      g_object_set(source, "secret-key", c.secret_key.c_str(), nullptr);
    if (c.addressing == s3::Addressing::kPath && has_property(source, "force-path-style"))
      g_object_set(source, "force-path-style", TRUE, nullptr);
  }
  GstElement *decode = make("decodebin", "decode");
  // videoconvert is a passthrough when the decoder's format suits heatmap and converts the
  // formats heatmap does not take (10-bit or 4:4:4 H.264 from some cameras).
  GstElement *convert = make("videoconvert", "convert");
  ElementPtr heatmap = make_heatmap(settings, &dir);
  GstElement *sink = make("fakesink", "sink");
  g_object_set(sink, "sync", FALSE, nullptr);
  gst_bin_add_many(GST_BIN(pipeline.get()), source, decode, convert, heatmap.get(), sink, nullptr);
  if (!gst_element_link(source, decode) ||
      !gst_element_link_many(convert, heatmap.get(), sink, nullptr)) {
    PipelineOutcome out;
    out.message = "cannot link the pipeline elements";
    return out;
  }
  PadState pads;
  pads.pipeline = pipeline.get();
  pads.convert = convert;
  g_signal_connect(decode, "pad-added", G_CALLBACK(on_pad_added), &pads);
  g_signal_connect(decode, "no-more-pads", G_CALLBACK(on_no_more_pads), &pads);

  GstBus *bus = gst_element_get_bus(pipeline.get());
  PipelineOutcome out;
  std::string warning;
  bool have_heatmap = false;
  const auto deadline = Clock::now() + std::chrono::seconds(settings.pipeline_timeout_s);
  gst_element_set_state(pipeline.get(), GST_STATE_PLAYING);  // failures arrive on the bus
  for (bool running = true; running;) {
    const auto left = deadline - Clock::now();
    if (left <= Clock::duration::zero()) {
      out.status = Status::kTransient;
      out.message =
          "timed out after " + std::to_string(settings.pipeline_timeout_s) + "s (PIPELINE_TIMEOUT)";
      break;
    }
    const auto left_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
    GstMessage *msg = gst_bus_timed_pop_filtered(
        bus, static_cast<GstClockTime>(left_ns),
        static_cast<GstMessageType>(GST_MESSAGE_ERROR | GST_MESSAGE_EOS | GST_MESSAGE_ELEMENT |
                                    GST_MESSAGE_WARNING | GST_MESSAGE_APPLICATION));
    if (msg == nullptr)
      continue;
    switch (GST_MESSAGE_TYPE(msg)) {
      case GST_MESSAGE_ERROR:
        out = from_error(msg, source, heatmap.get());
        running = false;
        break;
      case GST_MESSAGE_EOS:
        running = false;
        out.ok = true;
        break;
      case GST_MESSAGE_WARNING:
        if (warning.empty()) {
          GError *error = nullptr;
          gst_message_parse_warning(msg, &error, nullptr);
          if (error != nullptr)
            warning = error->message;
          g_clear_error(&error);
        }
        break;
      case GST_MESSAGE_APPLICATION:
        if (gst_message_has_name(msg, "heatmap-job-no-video")) {
          out.message = "the clip has no video stream";
          running = false;
        }
        break;
      case GST_MESSAGE_ELEMENT:
        if (GST_MESSAGE_SRC(msg) == GST_OBJECT(heatmap.get()) &&
            gst_message_has_name(msg, "heatmap")) {
          guint64 frames = 0;
          if (gst_structure_get_uint64(gst_message_get_structure(msg), "frames-processed", &frames))
            out.frames = frames;
          have_heatmap = true;
        }
        break;
      default:
        break;
    }
    gst_message_unref(msg);
  }
  gst_element_set_state(pipeline.get(), GST_STATE_NULL);
  gst_object_unref(bus);
  if (out.ok && (!have_heatmap || !non_empty_file(dir.file("heatmap.jpg")) ||
                 !non_empty_file(dir.file("heatmap.png")))) {
    out.ok = false;
    out.status = Status::kPermanent;
    out.message = "no heatmap written (no video frames decoded?)" +
                  (warning.empty() ? std::string() : ": " + warning);
  }
  return out;
}

// The element only knows the private folder's fixed names: the sidecar must name the objects
// beside it ("files") and the clip it came from ("source"), so both are set here, and the clip's
// name (clip_YYYY-MM-DD_HH-MM-SS, stream time 0) gives the start time as it would have for the
// element; the zones CSV is rewritten with those times. Returns "" or a one-line error.
std::string patch_sidecar(const WorkDir &dir, const std::string &stem, const std::string &source) {
  const std::string path = dir.file("heatmap.json");
  std::string error;
  heatmap::Sidecar sidecar;
  std::ifstream in(path, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!heatmap::parse_sidecar(text, "heatmap.json", &sidecar, &error))
    return "the element wrote an unreadable sidecar: " + error;
  const std::string name = heatmap::base_name(stem);
  sidecar.source = heatmap::sanitize_source(source);
  sidecar.files.jpeg = name + "_heatmap.jpg";
  sidecar.files.png = name + "_heatmap.png";
  sidecar.files.scene.reset();
  sidecar.files.csv.reset();
  if (non_empty_file(dir.file("scene.jpg")))
    sidecar.files.scene = name + "_scene.jpg";
  if (non_empty_file(dir.file("heatmap.csv")))
    sidecar.files.csv = name + "_heatmap.csv";
  if (auto start = heatmap::clip_start_from_name(source)) {
    sidecar.start_utc_us = *start;
    sidecar.start_utc_source = "clip-name";
    if (sidecar.files.csv && !heatmap::write_zones_csv(dir.file("heatmap.csv"), sidecar, &error))
      return error;
  }
  if (!heatmap::write_sidecar(path, sidecar, &error))
    return error;
  return {};
}

// --- uploads -----------------------------------------------------------------------------------

enum class Put { kWritten, kExists };

Put put(s3::Bucket &bucket, const std::string &key, const std::string &path, const char *type,
        bool if_none_match) {
  s3::PutOptions options;
  options.content_type = type;
  options.if_none_match = if_none_match;
  try {
    bucket.put_file(key, path, options);
    return Put::kWritten;
  } catch (const s3::Error &e) {
    if (e.kind() == s3::ErrorKind::kPreconditionFailed && if_none_match)
      return Put::kExists;
    throw;
  }
}

bool exists(s3::Bucket &bucket, const std::string &key) {
  try {
    bucket.head(key);
    return true;
  } catch (const s3::Error &e) {
    if (e.kind() == s3::ErrorKind::kNotFound)
      return false;
    throw;
  }
}

// A folder bucket stores each key segment as a file name: more than NAME_MAX bytes can never be
// written, so say so once instead of failing on every run with ENAMETOOLONG.
std::string too_long_segment(const std::string &key) {
  std::size_t start = 0;
  while (start <= key.size()) {
    std::size_t end = key.find('/', start);
    if (end == std::string::npos)
      end = key.size();
    if (end - start > NAME_MAX)
      return key.substr(start, end - start);
    start = end + 1;
  }
  return {};
}

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

}  // namespace

const char *status_name(Status status) {
  switch (status) {
    case Status::kDone:
      return "done";
    case Status::kAlreadyDone:
      return "already-done";
    case Status::kTransient:
      return "transient";
    case Status::kPermanent:
      return "permanent";
  }
  return "permanent";
}

int exit_code_for(Status status) {
  switch (status) {
    case Status::kDone:
      return kExitDone;
    case Status::kAlreadyDone:
      return kExitAlreadyDone;
    case Status::kTransient:
      return kExitTransient;
    case Status::kPermanent:
      return kExitPermanent;
  }
  return kExitPermanent;
}

std::string format_result_line(const JobResult &r) {
  return std::string(status_name(r.status)) + "\t" + std::to_string(r.frames) + "\t" +
         fixed(r.seconds, 2) + "\t" + fixed(r.fps, 1) + "\t" + one_line(r.message);
}

bool parse_result_line(const std::string &line, JobResult *r) {
  std::vector<std::string> f;
  std::size_t start = 0;
  for (int i = 0; i < 4; ++i) {
    std::size_t tab = line.find('\t', start);
    if (tab == std::string::npos)
      return false;
    f.push_back(line.substr(start, tab - start));
    start = tab + 1;
  }
  std::string message = line.substr(start);
  while (!message.empty() && (message.back() == '\n' || message.back() == '\r'))
    message.pop_back();
  static const Status kAll[] = {Status::kDone, Status::kAlreadyDone, Status::kTransient,
                                Status::kPermanent};
  bool known = false;
  for (Status s : kAll) {
    if (f[0] == status_name(s)) {
      r->status = s;
      known = true;
    }
  }
  if (!known)
    return false;
  char *end = nullptr;
  r->frames = std::strtoull(f[1].c_str(), &end, 10);
  r->seconds = std::strtod(f[2].c_str(), &end);
  r->fps = std::strtod(f[3].c_str(), &end);
  r->message = message;
  return true;
}

void check_settings(const JobSettings &settings) {
  s3::Url url;
  try {
    url = s3::Url::parse_bucket(settings.bucket);
  } catch (const s3::Error &e) {
    throw SettingsError(std::string("bad bucket URL: ") + e.what());
  }
  if (!url.key.empty())
    throw SettingsError("the bucket URL names a key: " + settings.bucket);
  if (settings.heatmaps_prefix.empty() || settings.heatmaps_prefix == settings.videos_prefix)
    throw SettingsError("the heatmaps prefix must be non-empty and differ from the videos prefix");
  if (settings.pipeline_timeout_s < 1)
    throw SettingsError("the pipeline timeout must be at least 1 second");
  if (url.scheme == s3::Url::Scheme::kS3) {
    GstElementFactory *s3src = gst_element_factory_find("s3src");
    if (s3src == nullptr)
      throw SettingsError(
          "the GStreamer element 's3src' (s3:// URIs) is missing (GST_PLUGIN_PATH, or install it)");
    gst_object_unref(s3src);
  }
  make_heatmap(settings, nullptr);
  // The mask and zones files once here, so that a bad one stops the run before any clip with
  // the element's own one-line message (file name and problem). (places)
  heatmap::PlacesSettings places;
  places.mask_path = settings.mask_file;
  places.zones_path = settings.zones_file;
  heatmap::Places loaded;
  std::string error;
  if (!loaded.load(places, &error))
    throw SettingsError(error);
}

JobResult run_clip_job(const JobSettings &settings, const std::string &video_key) {
  const auto t0 = Clock::now();
  auto finish = [&](JobResult r) {
    r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    r.fps = r.seconds > 0 ? static_cast<double>(r.frames) / r.seconds : 0;
    return r;
  };
  check_settings(settings);
  s3::pending::Layout layout;
  layout.videos_prefix = settings.videos_prefix;
  layout.heatmaps_prefix = settings.heatmaps_prefix;
  const std::string jpeg_key = s3::pending::jpeg_key_for(layout, video_key);
  if (jpeg_key.empty())
    return finish(failure(Status::kPermanent, "not a video key under " + settings.videos_prefix +
                                                  " (.mp4 .mov .mkv .avi .ts)"));
  const std::string stem = jpeg_key.substr(0, jpeg_key.size() - kJpegSuffix.size());
  s3::Url object = s3::Url::parse_bucket(settings.bucket);
  const bool local = object.scheme == s3::Url::Scheme::kFile;
  if (local) {
    for (const Output &out : kOutputs) {
      std::string segment = too_long_segment(stem + out.key_suffix);
      if (!segment.empty())
        return finish(failure(Status::kPermanent,
                              "the heatmap file name would be " + std::to_string(segment.size()) +
                                  " bytes, over the folder bucket's limit of " +
                                  std::to_string(NAME_MAX) + " (shorten the clip name)"));
    }
  }

  std::unique_ptr<s3::Bucket> bucket;
  std::uint64_t frames = 0;
  try {
    bucket = s3::open_bucket(object, settings.s3);
    s3::ObjectInfo info;
    try {
      info = bucket->head(video_key);
    } catch (const s3::Error &e) {
      if (e.kind() == s3::ErrorKind::kNotFound)
        return finish(failure(Status::kPermanent, "the video is gone (deleted since listed?)"));
      throw;
    }
    if (info.size == 0)
      return finish(failure(Status::kPermanent, "empty object (0 bytes), not a video"));
    if (!settings.force && exists(*bucket, jpeg_key))
      return finish(failure(Status::kAlreadyDone, "the heatmap exists; not overwritten"));
  } catch (const s3::Error &e) {
    return finish(failure(classify(e), e.what()));
  }

  std::unique_ptr<WorkDir> dir;
  try {
    dir = std::make_unique<WorkDir>(settings.work_dir);
  } catch (const s3::Error &e) {
    return finish(failure(Status::kTransient, e.what()));
  }
  JobResult result;
  if (settings.keep_local) {
    dir->keep();
    result.local_dir = dir->path();
  }
  object.key = video_key;
  int fd = -1;
  if (local) {
    std::string error;
    fd = open_beneath(object.bucket, video_key, &error);
    if (fd < 0)
      return finish(failure(Status::kPermanent, error));
  }
  PipelineOutcome outcome = run_pipeline(settings, object.uri(), fd, *dir);
  if (fd >= 0)
    close(fd);
  result.frames = outcome.frames;
  frames = outcome.frames;
  if (!outcome.ok) {
    result.status = outcome.status;
    result.message = one_line(outcome.message);
    return finish(result);
  }

  if (non_empty_file(dir->file("heatmap.json"))) {
    s3::Url clip = object;
    std::string error = patch_sidecar(*dir, stem, clip.str());
    if (!error.empty()) {
      result.status = Status::kPermanent;
      result.message = one_line(error);
      return finish(result);
    }
  }

  // Every file the element wrote, the JPEG (the done marker) last. Without force each goes up
  // with If-None-Match: *; a 412 on the JPEG means another worker finished first (success), and
  // on another file a leftover of an attempt that died before its JPEG, which is replaced.
  try {
    for (const Output &out : kOutputs) {
      const std::string path = dir->file(out.local_name);
      if (!non_empty_file(path))
        continue;
      const std::string key = stem + out.key_suffix;
      const bool marker = ends_with(out.key_suffix, kJpegSuffix);
      if (put(*bucket, key, path, out.content_type, !settings.force) == Put::kExists) {
        if (marker || exists(*bucket, jpeg_key)) {
          result.status = Status::kAlreadyDone;
          result.message = "another run wrote the heatmap meanwhile; not overwritten";
          return finish(result);
        }
        put(*bucket, key, path, out.content_type, false);
      }
      result.uploaded.push_back(key);
    }
  } catch (const s3::Error &e) {
    result.status = classify(e) == Status::kPermanent && e.kind() != s3::ErrorKind::kNotFound
                        ? Status::kPermanent
                        : Status::kTransient;
    result.message = one_line(std::string("upload failed: ") + e.what());
    return finish(result);
  }
  result.status = Status::kDone;
  result.frames = frames;
  if (settings.keep_local)
    result.message = "local files kept in " + dir->path();
  return finish(result);
}

// --- settings from the environment
// ----------------------------------------------------------------

JobSettings settings_from_environment(const std::function<const char *(const char *)> &getenv_fn) {
  auto get = [&](const char *name) -> std::string {
    const char *v = getenv_fn(name);
    return v != nullptr ? v : "";
  };
  JobSettings s;
  try {
    s.s3 = s3::Config::from_environment(getenv_fn);
  } catch (const s3::Error &e) {
    throw SettingsError(e.what());
  }
  s.bucket = get("S3_BUCKET");
  auto prefix = [](std::string p, const char *fallback) {
    if (p.empty())
      p = fallback;
    if (!p.empty() && p.back() != '/')
      p += '/';
    return p;
  };
  if (getenv_fn("S3_VIDEOS_PREFIX") != nullptr)
    s.videos_prefix = get("S3_VIDEOS_PREFIX");
  if (!s.videos_prefix.empty() && s.videos_prefix.back() != '/')
    s.videos_prefix += '/';
  s.heatmaps_prefix = prefix(get("S3_HEATMAPS_PREFIX"), "heatmaps/");
  if (std::string t = get("PIPELINE_TIMEOUT"); !t.empty()) {
    char *end = nullptr;
    errno = 0;
    long v = std::strtol(t.c_str(), &end, 10);
    if (*end != '\0' || errno != 0 || v < 1 || v > 7 * 24 * 3600)
      throw SettingsError("PIPELINE_TIMEOUT must be a whole number of seconds >= 1: got " + t);
    s.pipeline_timeout_s = static_cast<int>(v);
  }
  s.work_dir = get("WORK_DIR");
  std::string cleanup = get("CLEANUP_LOCAL_FILES");
  for (char &c : cleanup)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (cleanup == "false" || cleanup == "no" || cleanup == "off" || cleanup == "0")
    s.keep_local = true;
  const std::pair<const char *, const char *> kProps[] = {{"DOWNSCALE", "downscale"},
                                                          {"USE_BACKGROUND", "use-background"},
                                                          {"COLORMAP", "colormap"},
                                                          {"ALPHA", "alpha"}};
  for (const auto &[var, prop] : kProps) {
    std::string v = get(var);
    if (!v.empty())
      s.properties.emplace_back(prop, v);
  }
  s.mask_file = get("MASK_FILE");
  s.zones_file = get("ZONES_FILE");
  std::istringstream options(get("HEATMAP_OPTIONS"));
  for (std::string word; options >> word;) {
    std::size_t eq = word.find('=');
    if (eq == std::string::npos || eq == 0)
      throw SettingsError("HEATMAP_OPTIONS must be space-separated property=value pairs: got '" +
                          one_line(word) + "'");
    s.properties.emplace_back(word.substr(0, eq), word.substr(eq + 1));
  }
  return s;
}

// --- a clip in a child process
// ---------------------------------------------------------------------

JobResult run_clip_job_in_child(const JobSettings &settings, const std::string &video_key,
                                const std::string &job_program, int upload_grace_s) {
  const auto t0 = Clock::now();
  std::vector<std::string> args = {job_program,
                                   "--bucket",
                                   settings.bucket,
                                   "--videos-prefix",
                                   settings.videos_prefix,
                                   "--heatmaps-prefix",
                                   settings.heatmaps_prefix,
                                   "--timeout",
                                   std::to_string(settings.pipeline_timeout_s),
                                   "--no-env-properties"};
  if (!settings.work_dir.empty())
    args.insert(args.end(), {"--work-dir", settings.work_dir});
  if (settings.force)
    args.push_back("--force");
  if (settings.keep_local)
    args.push_back("--keep");
  if (!settings.mask_file.empty())
    args.insert(args.end(), {"--mask", settings.mask_file});
  if (!settings.zones_file.empty())
    args.insert(args.end(), {"--zones", settings.zones_file});
  for (const auto &[name, value] : settings.properties)
    args.insert(args.end(), {"--set", name + "=" + value});
  args.insert(args.end(), {"--", video_key});

  // Credentials travel in the environment, never in argv.
  gchar **env = g_get_environ();
  const s3::Config &c = settings.s3;
  auto setenv_if = [&](const char *name, const std::string &value) {
    if (!value.empty())
      env = g_environ_setenv(env, name, value.c_str(), TRUE);
  };
  setenv_if("S3_ENDPOINT", c.endpoint);
  setenv_if("S3_REGION", c.region);
  setenv_if("S3_ACCESS_KEY", c.access_key);
  setenv_if("S3_SECRET_KEY", c.secret_key);
  setenv_if("S3_SESSION_TOKEN", c.session_token);
  if (c.addressing != s3::Addressing::kAuto)
    env = g_environ_setenv(env, "S3_FORCE_PATH_STYLE",
                           c.addressing == s3::Addressing::kPath ? "true" : "false", TRUE);
  env = g_environ_setenv(env, "S3_VERIFY_TLS", c.verify_tls ? "true" : "false", TRUE);
  env = g_environ_setenv(env, "GST_DEBUG_NO_COLOR", "1", TRUE);

  std::vector<gchar *> argv;
  for (std::string &a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  GPid pid = 0;
  gint out_fd = -1;
  GError *error = nullptr;
  const gboolean spawned = g_spawn_async_with_pipes(
      nullptr, argv.data(), env,
      static_cast<GSpawnFlags>(G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_CLOEXEC_PIPES),
      [](gpointer) { prctl(PR_SET_PDEATHSIG, SIGKILL); }, nullptr, &pid, nullptr, &out_fd, nullptr,
      &error);
  g_strfreev(env);
  if (!spawned) {
    JobResult r = failure(Status::kTransient, std::string("cannot start ") + job_program + ": " +
                                                  (error ? error->message : "?"));
    g_clear_error(&error);
    return r;
  }
  const auto deadline =
      t0 + std::chrono::seconds(settings.pipeline_timeout_s + std::max(upload_grace_s, 10));
  std::string output;
  bool killed = false;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      kill(pid, SIGKILL);
      killed = true;
      break;
    }
    struct pollfd pfd = {out_fd, POLLIN, 0};
    int n = poll(&pfd, 1, static_cast<int>(std::min<long long>(left.count(), 1000)));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      continue;
    char buf[4096];
    ssize_t got = read(out_fd, buf, sizeof buf);
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0)
      break;
    if (output.size() < 65536)
      output.append(buf, static_cast<std::size_t>(got));
  }
  close(out_fd);
  int wstatus = 0;
  while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  g_spawn_close_pid(pid);

  JobResult r;
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  std::string last;
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty())
      last = line;
  }
  if (killed) {
    r = failure(Status::kTransient,
                "killed after " +
                    std::to_string(settings.pipeline_timeout_s + std::max(upload_grace_s, 10)) +
                    "s (PIPELINE_TIMEOUT plus uploads)");
  } else if (WIFSIGNALED(wstatus)) {
    const int sig = WTERMSIG(wstatus);
    r = failure(sig == SIGKILL ? Status::kTransient : Status::kPermanent,
                std::string("the pipeline crashed (") + strsignal(sig) + ")");
  } else if (!parse_result_line(last, &r)) {
    r = failure(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == kExitUsage ? Status::kPermanent
                                                                         : Status::kTransient,
                job_program + " gave no result (exit status " +
                    std::to_string(WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1) + ")");
  }
  r.seconds = seconds;
  r.fps = seconds > 0 ? static_cast<double>(r.frames) / seconds : 0;
  return r;
}

}  // namespace heatmap_job
