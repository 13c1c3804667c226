// gsts3src.cpp: the s3src element, reading s3:// objects as a seekable byte stream for any
// pipeline.
/**
 * SECTION:element-s3src
 * @title: s3src
 *
 * Reads an object from S3-compatible storage (AWS S3, Cloudflare R2, MinIO, Ceph RGW) given as
 * `s3://bucket/key`. It registers the `s3` URI scheme, so uridecodebin, playbin and
 * gst-play-1.0 accept s3:// URIs directly.
 *
 * The endpoint, region and credentials come from the environment (S3_ENDPOINT / AWS_ENDPOINT_URL,
 * S3_REGION / AWS_REGION, S3_ACCESS_KEY / AWS_ACCESS_KEY_ID, S3_SECRET_KEY /
 * AWS_SECRET_ACCESS_KEY, S3_SESSION_TOKEN / AWS_SESSION_TOKEN); properties override them.
 *
 * The source is seekable: the size comes from one HEAD request, data is read sequentially through
 * one streaming ranged GET with read-ahead, and only a jump (a seek, or a demuxer reading a `moov`
 * atom at the end of the file) opens a new range. Failures are posted as GST_RESOURCE_ERROR
 * NOT_FOUND (no such key or bucket), NOT_AUTHORIZED (bad keys, denied, clock skew) or READ.
 *
 * ## Example launch line
 * |[
 * S3_ENDPOINT=http://127.0.0.1:9000 S3_ACCESS_KEY=... S3_SECRET_KEY=... \
 *   gst-launch-1.0 uridecodebin uri=s3://clips/cam1/2024-05-01.mp4 ! videoconvert ! autovideosink
 * gst-launch-1.0 s3src location=s3://clips/cam1/a.mp4 ! qtdemux ! h264parse ! avdec_h264 ! fakesink
 * ]|
 * Keys with spaces or other reserved characters are written percent-escaped in the URI, e.g.
 * `s3://clips/my%20clip.mp4`. Prefer the environment over the secret-key property on command
 * lines: a command line is visible to other users of the machine.
 */
#include "gsts3src.h"

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <algorithm>
#include <cstring>
#include <new>
#include <utility>

GST_DEBUG_CATEGORY_STATIC(gst_s3_src_debug);
#define GST_CAT_DEFAULT gst_s3_src_debug

#define DEFAULT_READ_AHEAD (4 * 1024 * 1024)
#define MIN_READ_AHEAD (64 * 1024)
#define MAX_READ_AHEAD (1024 * 1024 * 1024)
// Larger than basesrc's 4 KiB so that push mode does not spend its time per buffer.
#define DEFAULT_BLOCKSIZE (128 * 1024)

// A forward jump up to this far is read and dropped from the open GET: cheaper than a new request.
static constexpr std::uint64_t kMaxSkip = 1024 * 1024;
// How many of the most recent bytes are kept for re-reads (qtdemux reads an atom header, then
// the whole atom from the same offset).
static constexpr std::size_t kRecentMax = 64 * 1024;

enum {
  PROP_0,
  PROP_URI,
  PROP_LOCATION,
  PROP_READ_AHEAD,
  PROP_CONNECTION,  // endpoint, region, ... (gsts3connection.h): kGstS3ConnectionProps ids
};

static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);

static void gst_s3_src_uri_handler_init(gpointer g_iface, gpointer iface_data);

#define gst_s3_src_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE(GstS3Src, gst_s3_src, GST_TYPE_BASE_SRC,
                        G_IMPLEMENT_INTERFACE(GST_TYPE_URI_HANDLER, gst_s3_src_uri_handler_init));
GST_ELEMENT_REGISTER_DEFINE(s3src, "s3src", GST_RANK_PRIMARY, GST_TYPE_S3_SRC);

namespace {

// Posts an s3::Error as a GStreamer resource error whose code says what the user can fix.
void post_error(GstS3Src *self, const s3::Error &e, bool opening) {
  const std::string where =
      self->state.url.bucket.empty() ? std::string("s3src") : self->state.url.str();
  gst_s3_post_error(GST_ELEMENT(self), gst_s3_src_debug, e,
                    opening ? GST_RESOURCE_ERROR_OPEN_READ : GST_RESOURCE_ERROR_READ, e.what(),
                    where);
}

// Validates a GStreamer URI (s3://bucket/key with percent-escapes) and returns it parsed.
bool parse_s3_uri(const gchar *uri, s3::Url *out, GError **error) {
  try {
    s3::Url url = s3::Url::parse_uri(uri);
    if (url.scheme != s3::Url::Scheme::kS3 || url.bucket.empty() || url.key.empty())
      throw s3::Error(s3::ErrorKind::kInvalidArgument,
                      std::string("not an s3://bucket/key URI: ") + uri);
    *out = std::move(url);
    return true;
  } catch (const s3::Error &e) {
    g_set_error(error, GST_URI_ERROR, GST_URI_ERROR_BAD_URI, "%s", e.what());
    return false;
  }
}

gboolean set_uri(GstS3Src *self, const gchar *uri, GError **error) {
  GstState state;
  GST_OBJECT_LOCK(self);
  state = GST_STATE(self);
  GST_OBJECT_UNLOCK(self);
  if (state != GST_STATE_READY && state != GST_STATE_NULL) {
    g_set_error(error, GST_URI_ERROR, GST_URI_ERROR_BAD_STATE,
                "Changing the URI of s3src while it is running is not supported");
    return FALSE;
  }
  s3::Url parsed;
  if (uri != nullptr && !parse_s3_uri(uri, &parsed, error))
    return FALSE;
  GST_OBJECT_LOCK(self);
  self->settings.uri = uri != nullptr ? uri : "";
  GST_OBJECT_UNLOCK(self);
  g_object_notify(G_OBJECT(self), "uri");
  g_object_notify(G_OBJECT(self), "location");
  return TRUE;
}

// Drops the open GETs; a destructor may wait for its transfer to stop, so call it unlocked.
void drop_readers(GstS3Src *self) {
  std::unique_ptr<s3::Reader> old, spare;
  {
    std::lock_guard<std::mutex> guard(self->state.lock);
    old = std::move(self->state.reader);
    spare = std::move(self->state.spare);
  }
}

// Makes the spare GET (and its re-read window) the current one and the current one the spare.
void swap_streams(GstS3SrcState *st) {
  std::lock_guard<std::mutex> guard(st->lock);
  std::swap(st->reader, st->spare);
  std::swap(st->recent, st->spare_recent);
  std::swap(st->recent_offset, st->spare_recent_offset);
}

bool in_window(const std::string &window, std::uint64_t window_offset, std::uint64_t offset) {
  return offset >= window_offset && offset < window_offset + window.size();
}

// Copies the tail of what was just handed out into the re-read window.
void remember(GstS3SrcState *st, std::uint64_t offset, const guint8 *data, std::size_t len) {
  if (len >= kRecentMax || st->recent_offset + st->recent.size() != offset) {
    std::size_t keep = std::min(len, kRecentMax);
    st->recent.assign(reinterpret_cast<const char *>(data) + (len - keep), keep);
    st->recent_offset = offset + (len - keep);
    return;
  }
  st->recent.append(reinterpret_cast<const char *>(data), len);
  if (st->recent.size() > kRecentMax) {
    std::size_t cut = st->recent.size() - kRecentMax;
    st->recent.erase(0, cut);
    st->recent_offset += cut;
  }
}

// Moves reader to offset if it is there or a little ahead (reading and dropping the gap).
bool advance_to(GstS3Src *self, s3::Reader *reader, std::uint64_t offset) {
  if (reader->offset() == offset)
    return true;
  if (offset < reader->offset() || offset - reader->offset() > kMaxSkip)
    return false;
  GST_LOG_OBJECT(self, "skipping %" G_GUINT64_FORMAT " bytes in an open GET",
                 offset - reader->offset());
  char scratch[16 * 1024];
  while (reader->offset() < offset) {
    std::size_t want = static_cast<std::size_t>(
        std::min<std::uint64_t>(sizeof scratch, offset - reader->offset()));
    if (reader->read(scratch, want) == 0)
      break;
  }
  return reader->offset() == offset;
}

// Returns a reader positioned at offset: the open GET when the offset is at or a little ahead of
// it, else the spare GET kept from before the last jump (a demuxer that jumped to a moov at the
// end comes back to where it left off), else a new GET. nullptr with *flow set when flushing.
s3::Reader *reader_at(GstS3Src *self, std::uint64_t offset, std::uint64_t read_ahead,
                      GstFlowReturn *flow) {
  GstS3SrcState *st = &self->state;
  s3::Reader *current = nullptr;
  s3::Reader *spare = nullptr;
  {
    std::lock_guard<std::mutex> guard(st->lock);
    if (st->flushing) {
      *flow = GST_FLOW_FLUSHING;
      return nullptr;
    }
    current = st->reader.get();
    spare = st->spare.get();
  }
  if (current != nullptr && advance_to(self, current, offset))
    return current;
  if (spare != nullptr && advance_to(self, spare, offset)) {
    GST_DEBUG_OBJECT(self, "back to the earlier GET at offset %" G_GUINT64_FORMAT, offset);
    swap_streams(st);
    return spare;
  }

  std::unique_ptr<s3::Reader> dropped;
  {
    std::lock_guard<std::mutex> guard(st->lock);
    dropped = std::move(st->spare);
    st->spare = std::move(st->reader);
    st->spare_recent = std::move(st->recent);
    st->spare_recent_offset = st->recent_offset;
    st->recent.clear();
    st->recent_offset = 0;
  }
  dropped.reset();
  st->requests++;
  GST_INFO_OBJECT(self, "opening GET #%u of %s at offset %" G_GUINT64_FORMAT, st->requests,
                  st->url.str().c_str(), offset);
  // Opened outside the lock so that unlock() never waits for a connect.
  std::unique_ptr<s3::Reader> fresh =
      st->bucket->open_reader(st->url.key, offset, static_cast<std::int64_t>(st->size - offset),
                              static_cast<std::size_t>(read_ahead));
  std::lock_guard<std::mutex> guard(st->lock);
  st->reader = std::move(fresh);
  if (st->flushing) {
    st->reader->cancel();
    *flow = GST_FLOW_FLUSHING;
    return nullptr;
  }
  return st->reader.get();
}

}  // namespace

static void gst_s3_src_set_property(GObject *object, guint prop_id, const GValue *value,
                                    GParamSpec *pspec) {
  GstS3Src *self = GST_S3_SRC(object);
  switch (prop_id) {
    case PROP_URI:
    case PROP_LOCATION: {
      GError *error = nullptr;
      if (!set_uri(self, g_value_get_string(value), &error)) {
        GST_WARNING_OBJECT(self, "%s", error->message);
        // Kept as given so that start() fails with this reason instead of "no URI set".
        if (g_error_matches(error, GST_URI_ERROR, GST_URI_ERROR_BAD_URI)) {
          GST_OBJECT_LOCK(self);
          self->settings.uri = g_value_get_string(value);
          GST_OBJECT_UNLOCK(self);
        }
        g_error_free(error);
      }
      return;
    }
    default:
      break;
  }
  GST_OBJECT_LOCK(self);
  GstS3SrcSettings &s = self->settings;
  switch (prop_id) {
    case PROP_READ_AHEAD:
      s.read_ahead = g_value_get_uint64(value);
      break;
    default:
      if (!gst_s3_connection_set_property(&s.connection, PROP_CONNECTION, prop_id, value))
        G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_s3_src_get_property(GObject *object, guint prop_id, GValue *value,
                                    GParamSpec *pspec) {
  GstS3Src *self = GST_S3_SRC(object);
  GST_OBJECT_LOCK(self);
  const GstS3SrcSettings &s = self->settings;
  auto opt = [](const std::string &v) { return v.empty() ? nullptr : v.c_str(); };
  switch (prop_id) {
    case PROP_URI:
    case PROP_LOCATION:
      g_value_set_string(value, opt(s.uri));
      break;
    case PROP_READ_AHEAD:
      g_value_set_uint64(value, s.read_ahead);
      break;
    default:  // secret-key is write-only: never read back
      if (!gst_s3_connection_get_property(s.connection, PROP_CONNECTION, prop_id, value))
        G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK(self);
}

static gboolean gst_s3_src_start(GstBaseSrc *base) {
  GstS3Src *self = GST_S3_SRC(base);
  GstS3SrcSettings s;
  GST_OBJECT_LOCK(self);
  s = self->settings;
  GST_OBJECT_UNLOCK(self);

  GstS3SrcState *st = &self->state;
  st->url = s3::Url();
  if (s.uri.empty()) {
    GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND,
                      ("No object to read: set the uri or location property to s3://bucket/key"),
                      (nullptr));
    return FALSE;
  }
  GError *uri_error = nullptr;
  if (!parse_s3_uri(s.uri.c_str(), &st->url, &uri_error)) {
    GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND, ("%s", uri_error->message), (nullptr));
    g_error_free(uri_error);
    return FALSE;
  }
  try {
    s3::Config config = gst_s3_connection_config(s.connection);

    s3::Url bucket_url;
    bucket_url.scheme = s3::Url::Scheme::kS3;
    bucket_url.bucket = st->url.bucket;
    st->bucket = s3::open_bucket(bucket_url, config);
    s3::ObjectInfo info = st->bucket->head(st->url.key);
    st->size = info.size;
    GST_INFO_OBJECT(self, "%s: %" G_GUINT64_FORMAT " bytes, ETag %s, type %s",
                    st->url.str().c_str(), st->size, info.etag.c_str(), info.content_type.c_str());
  } catch (const s3::Error &e) {
    post_error(self, e, true);
    st->bucket.reset();
    return FALSE;
  } catch (const std::exception &e) {
    GST_ELEMENT_ERROR(self, RESOURCE, OPEN_READ, ("%s", e.what()), (nullptr));
    st->bucket.reset();
    return FALSE;
  }
  st->recent.clear();
  st->recent_offset = 0;
  st->spare_recent.clear();
  st->spare_recent_offset = 0;
  st->requests = 0;
  {
    std::lock_guard<std::mutex> guard(st->lock);
    st->flushing = false;
  }
  return TRUE;
}

static gboolean gst_s3_src_stop(GstBaseSrc *base) {
  GstS3Src *self = GST_S3_SRC(base);
  drop_readers(self);
  GST_DEBUG_OBJECT(self, "stopped after %u GET requests", self->state.requests);
  self->state.bucket.reset();
  self->state.recent.clear();
  self->state.recent.shrink_to_fit();
  self->state.spare_recent.clear();
  self->state.spare_recent.shrink_to_fit();
  return TRUE;
}

static gboolean gst_s3_src_get_size(GstBaseSrc *base, guint64 *size) {
  GstS3Src *self = GST_S3_SRC(base);
  if (!self->state.bucket)
    return FALSE;
  *size = self->state.size;
  return TRUE;
}

static gboolean gst_s3_src_is_seekable(GstBaseSrc *) {
  return TRUE;
}

static gboolean gst_s3_src_unlock(GstBaseSrc *base) {
  GstS3Src *self = GST_S3_SRC(base);
  std::lock_guard<std::mutex> guard(self->state.lock);
  GST_DEBUG_OBJECT(self, "unlock: cancelling the open GET");
  self->state.flushing = true;
  if (self->state.reader)
    self->state.reader->cancel();
  if (self->state.spare)
    self->state.spare->cancel();
  return TRUE;
}

static gboolean gst_s3_src_unlock_stop(GstBaseSrc *base) {
  GstS3Src *self = GST_S3_SRC(base);
  std::unique_ptr<s3::Reader> cancelled, spare;
  {
    std::lock_guard<std::mutex> guard(self->state.lock);
    self->state.flushing = false;
    // A cancelled reader stays cancelled: the next create() opens a new GET where it is needed.
    cancelled = std::move(self->state.reader);
    spare = std::move(self->state.spare);
  }
  return TRUE;
}

static GstFlowReturn gst_s3_src_create(GstBaseSrc *base, guint64 offset, guint length,
                                       GstBuffer **out) {
  GstS3Src *self = GST_S3_SRC(base);
  GstS3SrcState *st = &self->state;
  GST_LOG_OBJECT(self, "create: %u bytes at %" G_GUINT64_FORMAT, length, offset);
  if (offset >= st->size)
    return GST_FLOW_EOS;
  const std::size_t size =
      static_cast<std::size_t>(std::min<std::uint64_t>(length, st->size - offset));
  std::uint64_t read_ahead;
  GST_OBJECT_LOCK(self);
  read_ahead = self->settings.read_ahead;
  GST_OBJECT_UNLOCK(self);

  GstBuffer *buf = gst_buffer_new_allocate(nullptr, size, nullptr);
  if (buf == nullptr) {
    GST_ELEMENT_ERROR(self, RESOURCE, READ, ("Could not allocate %zu bytes", size), (nullptr));
    return GST_FLOW_ERROR;
  }
  std::unique_ptr<GstBuffer, decltype(&gst_buffer_unref)> owned(buf, gst_buffer_unref);
  GstMapInfo map;
  if (!gst_buffer_map(buf, &map, GST_MAP_WRITE)) {
    GST_ELEMENT_ERROR(self, RESOURCE, READ, ("Could not map a buffer"), (nullptr));
    return GST_FLOW_ERROR;
  }
  auto unmap = [buf](GstMapInfo *m) { gst_buffer_unmap(buf, m); };
  std::unique_ptr<GstMapInfo, decltype(unmap)> mapped(&map, unmap);

  std::size_t filled = 0;
  if (!in_window(st->recent, st->recent_offset, offset) &&
      in_window(st->spare_recent, st->spare_recent_offset, offset)) {
    GST_DEBUG_OBJECT(self, "back to the earlier GET's window at %" G_GUINT64_FORMAT, offset);
    swap_streams(st);
  }
  if (in_window(st->recent, st->recent_offset, offset)) {
    filled = std::min<std::size_t>(size, st->recent_offset + st->recent.size() - offset);
    std::memcpy(map.data, st->recent.data() + (offset - st->recent_offset), filled);
  }
  try {
    while (filled < size) {
      GstFlowReturn flow = GST_FLOW_OK;
      s3::Reader *reader = reader_at(self, offset + filled, read_ahead, &flow);
      if (reader == nullptr)
        return flow;
      std::size_t n = reader->read(map.data + filled, size - filled);
      if (n == 0) {
        GST_ELEMENT_ERROR(self, RESOURCE, READ,
                          ("%s ended at byte %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
                           ": the object was changed or truncated while reading",
                           st->url.str().c_str(), offset + filled, st->size),
                          (nullptr));
        return GST_FLOW_ERROR;
      }
      filled += n;
    }
  } catch (const s3::Error &e) {
    if (e.kind() == s3::ErrorKind::kCancelled) {
      GST_DEBUG_OBJECT(self, "read cancelled at %" G_GUINT64_FORMAT, offset + filled);
      return GST_FLOW_FLUSHING;
    }
    post_error(self, e, false);
    return GST_FLOW_ERROR;
  } catch (const std::exception &e) {
    GST_ELEMENT_ERROR(self, RESOURCE, READ, ("%s", e.what()), (nullptr));
    return GST_FLOW_ERROR;
  }
  remember(st, offset, map.data, size);
  mapped.reset();
  GST_BUFFER_OFFSET(buf) = offset;
  GST_BUFFER_OFFSET_END(buf) = offset + size;
  *out = owned.release();
  return GST_FLOW_OK;
}

static gboolean gst_s3_src_query(GstBaseSrc *base, GstQuery *query) {
  GstS3Src *self = GST_S3_SRC(base);
  if (GST_QUERY_TYPE(query) == GST_QUERY_URI) {
    GST_OBJECT_LOCK(self);
    gst_query_set_uri(query, self->settings.uri.c_str());
    GST_OBJECT_UNLOCK(self);
    return TRUE;
  }
  if (GST_QUERY_TYPE(query) == GST_QUERY_SCHEDULING) {
    // basesrc would start() and stop() the element to learn this, costing a second HEAD request
    // during activation; an S3 object is always randomly accessible.
    gst_query_set_scheduling(query, GST_SCHEDULING_FLAG_SEEKABLE, 1, -1, 0);
    gst_query_add_scheduling_mode(query, GST_PAD_MODE_PUSH);
    gst_query_add_scheduling_mode(query, GST_PAD_MODE_PULL);
    return TRUE;
  }
  return GST_BASE_SRC_CLASS(parent_class)->query(base, query);
}

static void gst_s3_src_finalize(GObject *object) {
  GstS3Src *self = GST_S3_SRC(object);
  self->state.~GstS3SrcState();
  self->settings.~GstS3SrcSettings();
  G_OBJECT_CLASS(parent_class)->finalize(object);
}

static void gst_s3_src_init(GstS3Src *self) {
  new (&self->settings) GstS3SrcSettings();
  new (&self->state) GstS3SrcState();
  self->settings.read_ahead = DEFAULT_READ_AHEAD;
  gst_base_src_set_blocksize(GST_BASE_SRC(self), DEFAULT_BLOCKSIZE);
}

static void gst_s3_src_class_init(GstS3SrcClass *klass) {
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
  GstBaseSrcClass *basesrc_class = GST_BASE_SRC_CLASS(klass);

  GST_DEBUG_CATEGORY_INIT(gst_s3_src_debug, "s3src", 0, "S3 source and its S3 client");
  gst_s3_connection_route_log(gst_s3_src_debug);

  gobject_class->set_property = gst_s3_src_set_property;
  gobject_class->get_property = gst_s3_src_get_property;
  gobject_class->finalize = gst_s3_src_finalize;

  const auto rw = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                           GST_PARAM_MUTABLE_READY);
  g_object_class_install_property(
      gobject_class, PROP_URI,
      g_param_spec_string("uri", "URI",
                          "Object to read, as s3://bucket/key with reserved characters of the key "
                          "percent-escaped (s3://b/my%20clip.mp4)",
                          nullptr, rw));
  g_object_class_install_property(
      gobject_class, PROP_LOCATION,
      g_param_spec_string("location", "Location", "Same as uri", nullptr, rw));
  gst_s3_connection_install_properties(
      gobject_class, PROP_CONNECTION,
      "Seconds a connect may take, and a transfer may average under 1 KiB/s (a stalled or "
      "trickling server), before the request fails and is retried",
      "Extra attempts, with exponential backoff, after 5xx, throttling, timeouts and dropped "
      "connections; a dropped GET resumes at its offset");
  g_object_class_install_property(
      gobject_class, PROP_READ_AHEAD,
      g_param_spec_uint64("read-ahead", "Read-ahead",
                          "Bytes buffered ahead of the reader by the streaming GET", MIN_READ_AHEAD,
                          MAX_READ_AHEAD, DEFAULT_READ_AHEAD, rw));

  gst_element_class_add_static_pad_template(element_class, &src_template);
  gst_element_class_set_static_metadata(
      element_class, "S3 source", "Source/Network",
      "Reads an object from S3-compatible storage (s3://bucket/key)",
      "gst-heatmap developers <gst-heatmap@example.invalid>");

  basesrc_class->start = GST_DEBUG_FUNCPTR(gst_s3_src_start);
  basesrc_class->stop = GST_DEBUG_FUNCPTR(gst_s3_src_stop);
  basesrc_class->get_size = GST_DEBUG_FUNCPTR(gst_s3_src_get_size);
  basesrc_class->is_seekable = GST_DEBUG_FUNCPTR(gst_s3_src_is_seekable);
  basesrc_class->unlock = GST_DEBUG_FUNCPTR(gst_s3_src_unlock);
  basesrc_class->unlock_stop = GST_DEBUG_FUNCPTR(gst_s3_src_unlock_stop);
  basesrc_class->create = GST_DEBUG_FUNCPTR(gst_s3_src_create);
  basesrc_class->query = GST_DEBUG_FUNCPTR(gst_s3_src_query);
}

// --- GstURIHandler ---

static GstURIType gst_s3_src_uri_get_type(GType) {
  return GST_URI_SRC;
}

static const gchar *const *gst_s3_src_uri_get_protocols(GType) {
  static const gchar *const protocols[] = {"s3", nullptr};
  return protocols;
}

static gchar *gst_s3_src_uri_get_uri(GstURIHandler *handler) {
  GstS3Src *self = GST_S3_SRC(handler);
  GST_OBJECT_LOCK(self);
  gchar *uri = self->settings.uri.empty() ? nullptr : g_strdup(self->settings.uri.c_str());
  GST_OBJECT_UNLOCK(self);
  return uri;
}

static gboolean gst_s3_src_uri_set_uri(GstURIHandler *handler, const gchar *uri, GError **error) {
  return set_uri(GST_S3_SRC(handler), uri, error);
}

static void gst_s3_src_uri_handler_init(gpointer g_iface, gpointer) {
  GstURIHandlerInterface *iface = static_cast<GstURIHandlerInterface *>(g_iface);
  iface->get_type = gst_s3_src_uri_get_type;
  iface->get_protocols = gst_s3_src_uri_get_protocols;
  iface->get_uri = gst_s3_src_uri_get_uri;
  iface->set_uri = gst_s3_src_uri_set_uri;
}
