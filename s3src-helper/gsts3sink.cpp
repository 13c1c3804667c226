// gsts3sink.cpp: the s3sink element, writing buffers or whole streams to S3-compatible storage.
/**
 * SECTION:element-s3sink
 * @title: s3sink
 *
 * Writes to S3-compatible storage (AWS S3, Cloudflare R2, MinIO, Ceph RGW).
 *
 * With a pattern in the key of #GstS3Sink:location, every buffer becomes one object, like
 * multifilesink: `%05d` is a running index (from #GstS3Sink:index) and strftime fields
 * (`%Y/%m/%d/%H`, ...) are the buffer's UTC wall clock: its GstReferenceTimestampMeta
 * (timestamp/x-unix or timestamp/x-ntp, as the heatmap element's image pad and rtspsrc attach),
 * else the time the buffer reached the sink. Without a pattern the whole stream becomes one
 * object, streamed as it comes: a multipart upload of #GstS3Sink:part-size parts (memory stays
 * at one part whatever the stream's length; a stream shorter than one part is a single PUT),
 * completed at end-of-stream. A stream that ends in an error or is stopped before
 * end-of-stream is aborted (AbortMultipartUpload): it leaves no object and no pending upload.
 *
 * Nothing is overwritten unless #GstS3Sink:overwrite is true: uploads carry
 * `If-None-Match: *`, and a key that exists already stops the pipeline with an error naming it.
 * Connection settings, timeouts, retries and error reporting are those of s3src: endpoint,
 * region and keys come from the environment (S3_ENDPOINT / AWS_ENDPOINT_URL, S3_REGION /
 * AWS_REGION, S3_ACCESS_KEY / AWS_ACCESS_KEY_ID, S3_SECRET_KEY / AWS_SECRET_ACCESS_KEY)
 * unless the properties say otherwise; failures are GST_RESOURCE_ERROR NOT_FOUND (no such
 * bucket), NOT_AUTHORIZED (bad keys, denied, clock skew) or WRITE, and name the object.
 * After each object it posts an element message `s3sink` with `key`, `size`, `etag` and
 * `index`.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 videotestsrc is-live=true ! video/x-raw,framerate=1/1 ! jpegenc ! \
 *     s3sink location=s3://snaps/cam1/%Y/%m/%d/img-%05d.jpg
 * ]| One JPEG object per second under dated keys.
 * |[
 * gst-launch-1.0 -e videotestsrc num-buffers=250 ! x264enc ! mp4mux ! \
 *     s3sink location=s3://clips/test.mp4
 * ]| One MP4 object, written at end-of-stream.
 * |[
 * gst-launch-1.0 rtspsrc location=rtsp://cam/stream ! rtph264depay ! h264parse ! avdec_h264 ! \
 *     heatmap name=h interval=3600 window=reset ! fakesink \
 *     h.image ! queue ! s3sink location=s3://maps/cam1/%Y/%m/%d/%H/heatmap.jpg
 * ]| Hourly heatmaps of a camera straight into a bucket.
 */
#include "gsts3sink.h"

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <algorithm>
#include <cstring>
#include <new>
#include <stdexcept>
#include <utility>

GST_DEBUG_CATEGORY_STATIC(gst_s3_sink_debug);
#define GST_CAT_DEFAULT gst_s3_sink_debug

#define DEFAULT_OVERWRITE FALSE
#define DEFAULT_INDEX 0
#define DEFAULT_PART_SIZE (8u << 20)

enum {
  PROP_0,
  PROP_URI,
  PROP_LOCATION,
  PROP_CONTENT_TYPE,
  PROP_OVERWRITE,
  PROP_INDEX,
  PROP_PART_SIZE,
  PROP_CONNECTION,  // endpoint, region, ... (gsts3connection.h): kGstS3ConnectionProps ids
};

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);

static void gst_s3_sink_uri_handler_init(gpointer g_iface, gpointer iface_data);

#define gst_s3_sink_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE(GstS3Sink, gst_s3_sink, GST_TYPE_BASE_SINK,
                        G_IMPLEMENT_INTERFACE(GST_TYPE_URI_HANDLER, gst_s3_sink_uri_handler_init));
GST_ELEMENT_REGISTER_DEFINE(s3sink, "s3sink", GST_RANK_PRIMARY, GST_TYPE_S3_SINK);

namespace {

std::string object_url(const GstS3SinkState &st, const std::string &key) {
  return "s3://" + st.bucket_name + "/" + key;
}

// Posts an s3::Error as a resource error naming the object; the code says what the user can fix.
void post_error(GstS3Sink *self, const s3::Error &e, const std::string &object) {
  const std::string text =
      e.kind() == s3::ErrorKind::kPreconditionFailed
          ? object +
                " exists already and overwrite is false: nothing was replaced (set "
                "overwrite=true to replace objects)."
          : "Could not write " + object + ": " + e.what();
  gst_s3_post_error(GST_ELEMENT(self), gst_s3_sink_debug, e, GST_RESOURCE_ERROR_WRITE, text,
                    object);
}

// s3://bucket/key with the key taken literally (its '%' start patterns, not escapes).
bool parse_location(const std::string &text, s3::Url *url, heatmap::LocationPattern *pattern,
                    std::string *error) {
  try {
    s3::Url parsed = s3::Url::parse(text);
    if (parsed.scheme != s3::Url::Scheme::kS3 || parsed.bucket.empty() || parsed.key.empty())
      throw std::invalid_argument("not an s3://bucket/key location: " + text);
    *pattern = heatmap::LocationPattern::parse(parsed.key);
    *url = std::move(parsed);
    return true;
  } catch (const std::exception &e) {
    *error = e.what();
    return false;
  }
}

// Wall clock of a buffer in microseconds since 1970 UTC: its reference timestamp, else now.
gint64 buffer_utc_us(GstBuffer *buffer) {
  static GstCaps *unix_caps = gst_caps_new_empty_simple("timestamp/x-unix");
  static GstCaps *ntp_caps = gst_caps_new_empty_simple("timestamp/x-ntp");
  GstReferenceTimestampMeta *meta = gst_buffer_get_reference_timestamp_meta(buffer, unix_caps);
  if (meta != NULL && GST_CLOCK_TIME_IS_VALID(meta->timestamp))
    return static_cast<gint64>(meta->timestamp / 1000);
  meta = gst_buffer_get_reference_timestamp_meta(buffer, ntp_caps);
  if (meta != NULL && GST_CLOCK_TIME_IS_VALID(meta->timestamp))
    return static_cast<gint64>(meta->timestamp / 1000) -
           G_GINT64_CONSTANT(2208988800) * G_USEC_PER_SEC;
  return g_get_real_time();
}

// A Content-Type for common caps; anything else is application/octet-stream.
std::string content_type_of(GstCaps *caps) {
  if (caps == NULL || gst_caps_is_empty(caps) || gst_caps_is_any(caps))
    return std::string();
  const gchar *name = gst_structure_get_name(gst_caps_get_structure(caps, 0));
  const std::string n = name;
  if (n == "video/quicktime")
    return "video/mp4";
  if (n == "video/mpegts")
    return "video/mp2t";
  if (n.rfind("image/", 0) == 0 || n.rfind("text/", 0) == 0 || n == "application/json" ||
      n == "video/webm" || n == "video/x-matroska" || n == "audio/mpeg" || n == "audio/ogg" ||
      n == "video/x-msvideo")
    return n;
  return std::string();
}

// Drops an unfinished whole-stream upload (its parts are aborted on the server).
void abort_upload(GstS3Sink *self) {
  GstS3SinkState *st = &self->state;
  if (st->upload) {
    GST_INFO_OBJECT(self,
                    "aborting the unfinished upload of s3://%s/%s (%" G_GUINT64_FORMAT
                    " bytes, %d parts sent)",
                    st->bucket_name.c_str(), st->stream_key.c_str(), st->upload->size(),
                    st->upload->parts_sent());
    st->upload->abort();
    st->upload.reset();
  }
}

void post_object_message(GstS3Sink *self, const std::string &key, std::uint64_t size,
                         const std::string &etag, std::uint64_t index, int parts = 0) {
  GstStructure *s =
      gst_structure_new("s3sink", "key", G_TYPE_STRING, key.c_str(), "size", G_TYPE_UINT64,
                        static_cast<guint64>(size), "etag", G_TYPE_STRING, etag.c_str(), "index",
                        G_TYPE_UINT64, static_cast<guint64>(index), NULL);
  if (parts > 0)
    gst_structure_set(s, "parts", G_TYPE_INT, parts, NULL);
  gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), s));
}

s3::PutOptions put_options(GstS3Sink *self) {
  s3::PutOptions options;
  GST_OBJECT_LOCK(self);
  options.content_type = self->settings.content_type;
  options.if_none_match = !self->settings.overwrite;
  GST_OBJECT_UNLOCK(self);
  if (options.content_type.empty())
    options.content_type = self->state.caps_content_type;
  return options;
}

}  // namespace

static gboolean set_location(GstS3Sink *self, const gchar *location, GError **error) {
  GstState state;
  GST_OBJECT_LOCK(self);
  state = GST_STATE(self);
  GST_OBJECT_UNLOCK(self);
  if (state != GST_STATE_READY && state != GST_STATE_NULL) {
    g_set_error(error, GST_URI_ERROR, GST_URI_ERROR_BAD_STATE,
                "Changing the location of s3sink while it is running is not supported");
    return FALSE;
  }
  GST_OBJECT_LOCK(self);
  self->settings.location = location != nullptr ? location : "";
  GST_OBJECT_UNLOCK(self);
  g_object_notify(G_OBJECT(self), "location");
  g_object_notify(G_OBJECT(self), "uri");
  return TRUE;
}

static void gst_s3_sink_set_property(GObject *object, guint prop_id, const GValue *value,
                                     GParamSpec *pspec) {
  GstS3Sink *self = GST_S3_SINK(object);
  auto str = [value]() {
    const gchar *s = g_value_get_string(value);
    return std::string(s != nullptr ? s : "");
  };
  if (prop_id == PROP_LOCATION || prop_id == PROP_URI) {
    GError *error = nullptr;
    std::string location = str();
    if (prop_id == PROP_URI && !location.empty()) {
      // A URI's key is percent-escaped: decode it to the raw key (pattern) form.
      try {
        s3::Url url = s3::Url::parse_uri(location);
        location = url.str();
      } catch (const s3::Error &e) {
        GST_WARNING_OBJECT(self, "%s", e.what());
      }
    }
    if (!set_location(self, location.c_str(), &error)) {
      GST_WARNING_OBJECT(self, "%s", error->message);
      g_error_free(error);
    }
    return;
  }
  GST_OBJECT_LOCK(self);
  GstS3SinkSettings &s = self->settings;
  switch (prop_id) {
    case PROP_CONTENT_TYPE:
      s.content_type = str();
      break;
    case PROP_OVERWRITE:
      s.overwrite = g_value_get_boolean(value);
      break;
    case PROP_INDEX:
      s.index = g_value_get_uint64(value);
      break;
    case PROP_PART_SIZE:
      s.part_size = g_value_get_uint64(value);
      break;
    default:
      if (!gst_s3_connection_set_property(&s.connection, PROP_CONNECTION, prop_id, value))
        G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_s3_sink_get_property(GObject *object, guint prop_id, GValue *value,
                                     GParamSpec *pspec) {
  GstS3Sink *self = GST_S3_SINK(object);
  GST_OBJECT_LOCK(self);
  const GstS3SinkSettings &s = self->settings;
  auto opt = [](const std::string &v) { return v.empty() ? nullptr : v.c_str(); };
  switch (prop_id) {
    case PROP_LOCATION:
      g_value_set_string(value, opt(s.location));
      break;
    case PROP_URI: {
      std::string uri;
      try {
        if (!s.location.empty())
          uri = s3::Url::parse(s.location).uri();
      } catch (const s3::Error &) {
      }
      g_value_set_string(value, opt(uri));
      break;
    }
    case PROP_CONTENT_TYPE:
      g_value_set_string(value, opt(s.content_type));
      break;
    case PROP_OVERWRITE:
      g_value_set_boolean(value, s.overwrite);
      break;
    case PROP_INDEX:
      g_value_set_uint64(value, s.index);
      break;
    case PROP_PART_SIZE:
      g_value_set_uint64(value, s.part_size);
      break;
    default:  // secret-key is write-only: never read back
      if (!gst_s3_connection_get_property(s.connection, PROP_CONNECTION, prop_id, value))
        G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK(self);
}

static gboolean gst_s3_sink_start(GstBaseSink *base) {
  GstS3Sink *self = GST_S3_SINK(base);
  GstS3SinkSettings s;
  GST_OBJECT_LOCK(self);
  s = self->settings;
  GST_OBJECT_UNLOCK(self);
  GstS3SinkState *st = &self->state;
  if (s.location.empty()) {
    GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND,
                      ("No object to write: set the location property to s3://bucket/key"),
                      (nullptr));
    return FALSE;
  }
  s3::Url url;
  std::string error;
  if (!parse_location(s.location, &url, &st->pattern, &error)) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("Invalid s3sink location: %s", error.c_str()),
                      (nullptr));
    return FALSE;
  }
  st->bucket_name = url.bucket;
  st->index = s.index;
  st->objects = 0;
  try {
    s3::Config config = gst_s3_connection_config(s.connection);
    s3::Url bucket_url;
    bucket_url.scheme = s3::Url::Scheme::kS3;
    bucket_url.bucket = url.bucket;
    st->bucket = s3::open_bucket(bucket_url, config);
  } catch (const s3::Error &e) {
    post_error(self, e, "s3://" + url.bucket);
    return FALSE;
  }
  if (!st->pattern.is_pattern()) {
    st->stream_key = st->pattern.format(st->index, g_get_real_time());  // %% -> %
    st->stream_failed = false;
    st->part_size = static_cast<std::size_t>(s.part_size);
  }
  GST_INFO_OBJECT(self, "writing to %s (%s)", s.location.c_str(),
                  st->pattern.is_pattern() ? "one object per buffer" : "one object at EOS");
  return TRUE;
}

static gboolean gst_s3_sink_stop(GstBaseSink *base) {
  GstS3Sink *self = GST_S3_SINK(base);
  abort_upload(self);
  self->state.bucket.reset();
  GST_DEBUG_OBJECT(self, "stopped after %" G_GUINT64_FORMAT " objects", self->state.objects);
  return TRUE;
}

static gboolean gst_s3_sink_set_caps(GstBaseSink *base, GstCaps *caps) {
  GstS3Sink *self = GST_S3_SINK(base);
  self->state.caps_content_type = content_type_of(caps);
  GST_DEBUG_OBJECT(self, "caps %" GST_PTR_FORMAT ": content type %s", caps,
                   self->state.caps_content_type.c_str());
  return TRUE;
}

static GstFlowReturn put_buffer(GstS3Sink *self, GstBuffer *buffer) {
  GstS3SinkState *st = &self->state;
  const std::string key = st->pattern.format(st->index, buffer_utc_us(buffer));
  GstMapInfo map;
  if (!gst_buffer_map(buffer, &map, GST_MAP_READ)) {
    GST_ELEMENT_ERROR(self, RESOURCE, WRITE, ("Could not map a buffer"), (nullptr));
    return GST_FLOW_ERROR;
  }
  GstFlowReturn flow = GST_FLOW_OK;
  try {
    s3::ObjectInfo info = st->bucket->put_data(
        key, std::string_view(reinterpret_cast<const char *>(map.data), map.size),
        put_options(self));
    GST_INFO_OBJECT(self, "wrote %s (%" G_GSIZE_FORMAT " bytes)", object_url(*st, key).c_str(),
                    map.size);
    post_object_message(self, key, map.size, info.etag, st->index);
    st->index++;
    st->objects++;
  } catch (const s3::Error &e) {
    post_error(self, e, object_url(*st, key));
    flow = GST_FLOW_ERROR;
  }
  gst_buffer_unmap(buffer, &map);
  return flow;
}

// Whole-stream mode: opens the upload at the first buffer (the caps are known then).
static bool open_stream(GstS3Sink *self) {
  GstS3SinkState *st = &self->state;
  if (st->upload)
    return true;
  try {
    st->upload = st->bucket->open_upload(st->stream_key, put_options(self), st->part_size);
    return true;
  } catch (const s3::Error &e) {
    st->stream_failed = true;
    post_error(self, e, object_url(*st, st->stream_key));
    return false;
  }
}

static GstFlowReturn stream_buffer(GstS3Sink *self, GstBuffer *buffer) {
  GstS3SinkState *st = &self->state;
  if (st->stream_failed || !open_stream(self))
    return GST_FLOW_ERROR;  // posted once, when it failed
  GstMapInfo map;
  if (!gst_buffer_map(buffer, &map, GST_MAP_READ)) {
    GST_ELEMENT_ERROR(self, RESOURCE, WRITE, ("Could not map a buffer"), (nullptr));
    return GST_FLOW_ERROR;
  }
  GstFlowReturn flow = GST_FLOW_OK;
  try {
    const int parts = st->upload->parts_sent();
    st->upload->write(std::string_view(reinterpret_cast<const char *>(map.data), map.size));
    if (st->upload->parts_sent() != parts)
      GST_DEBUG_OBJECT(self, "sent part %d of %s", st->upload->parts_sent(),
                       object_url(*st, st->stream_key).c_str());
  } catch (const s3::Error &e) {
    // The library has aborted the upload: nothing is left on the server.
    st->upload.reset();
    st->stream_failed = true;
    post_error(self, e, object_url(*st, st->stream_key));
    flow = GST_FLOW_ERROR;
  }
  gst_buffer_unmap(buffer, &map);
  return flow;
}

static GstFlowReturn gst_s3_sink_render(GstBaseSink *base, GstBuffer *buffer) {
  GstS3Sink *self = GST_S3_SINK(base);
  if (self->state.pattern.is_pattern())
    return put_buffer(self, buffer);
  return stream_buffer(self, buffer);
}

// Whole-stream mode: the object is completed at end-of-stream, before the EOS message is
// posted (an empty stream makes an empty object).
static bool finish_stream(GstS3Sink *self) {
  GstS3SinkState *st = &self->state;
  if (st->pattern.is_pattern() || !st->bucket)
    return true;
  if (st->stream_failed) {
    GST_ELEMENT_ERROR(self, RESOURCE, WRITE,
                      ("%s was not written: the stream's upload failed earlier.",
                       object_url(*st, st->stream_key).c_str()),
                      (nullptr));
    return false;
  }
  if (!open_stream(self))
    return false;
  std::unique_ptr<s3::Upload> upload = std::move(st->upload);
  try {
    const std::uint64_t size = upload->size();
    s3::ObjectInfo info = upload->complete();
    const int parts = upload->parts_sent();
    GST_INFO_OBJECT(self, "wrote %s (%" G_GUINT64_FORMAT " bytes, %d parts)",
                    object_url(*st, st->stream_key).c_str(), size, parts);
    post_object_message(self, st->stream_key, size, info.etag, st->index, parts);
    st->objects++;
  } catch (const s3::Error &e) {
    post_error(self, e, object_url(*st, st->stream_key));
    return false;
  }
  return true;
}

static gboolean gst_s3_sink_event(GstBaseSink *base, GstEvent *event) {
  GstS3Sink *self = GST_S3_SINK(base);
  if (GST_EVENT_TYPE(event) == GST_EVENT_EOS && !finish_stream(self)) {
    gst_event_unref(event);
    return FALSE;
  }
  return GST_BASE_SINK_CLASS(parent_class)->event(base, event);
}

static gboolean gst_s3_sink_query(GstBaseSink *base, GstQuery *query) {
  GstS3Sink *self = GST_S3_SINK(base);
  if (GST_QUERY_TYPE(query) == GST_QUERY_URI) {
    gchar *uri = nullptr;
    g_object_get(self, "uri", &uri, NULL);
    gst_query_set_uri(query, uri);
    g_free(uri);
    return TRUE;
  }
  return GST_BASE_SINK_CLASS(parent_class)->query(base, query);
}

static void gst_s3_sink_finalize(GObject *object) {
  GstS3Sink *self = GST_S3_SINK(object);
  self->state.upload.reset();
  self->state.~GstS3SinkState();
  self->settings.~GstS3SinkSettings();
  G_OBJECT_CLASS(parent_class)->finalize(object);
}

static void gst_s3_sink_init(GstS3Sink *self) {
  new (&self->settings) GstS3SinkSettings();
  new (&self->state) GstS3SinkState();
  self->settings.overwrite = DEFAULT_OVERWRITE;
  self->settings.index = DEFAULT_INDEX;
  self->settings.part_size = DEFAULT_PART_SIZE;
  // As filesink: write as data comes, not at the buffers' clock times.
  gst_base_sink_set_sync(GST_BASE_SINK(self), FALSE);
}

static void gst_s3_sink_class_init(GstS3SinkClass *klass) {
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
  GstBaseSinkClass *basesink_class = GST_BASE_SINK_CLASS(klass);

  GST_DEBUG_CATEGORY_INIT(gst_s3_sink_debug, "s3sink", 0, "S3 sink");
  gst_s3_connection_route_log(gst_s3_sink_debug);

  gobject_class->set_property = gst_s3_sink_set_property;
  gobject_class->get_property = gst_s3_sink_get_property;
  gobject_class->finalize = gst_s3_sink_finalize;

  const auto rw = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                           GST_PARAM_MUTABLE_READY);
  g_object_class_install_property(
      gobject_class, PROP_LOCATION,
      g_param_spec_string("location", "Location",
                          "Where to write, as s3://bucket/key with the key written as is (not "
                          "percent-escaped). A key pattern writes one object per buffer: %05d = "
                          "index, strftime fields (%Y/%m/%d/%H, ...) = the buffer's UTC wall "
                          "clock, %% = '%'. Without a pattern the whole stream is one object",
                          nullptr, rw));
  g_object_class_install_property(
      gobject_class, PROP_URI,
      g_param_spec_string("uri", "URI",
                          "The location as a URI: s3://bucket/key with reserved characters of the "
                          "key percent-escaped (a pattern's % is %25)",
                          nullptr, rw));
  gst_s3_connection_install_properties(
      gobject_class, PROP_CONNECTION,
      "Seconds without progress (connecting or sending) before a request fails and is retried",
      "Extra attempts, with exponential backoff, after 5xx, throttling, timeouts and dropped "
      "connections");
  g_object_class_install_property(
      gobject_class, PROP_CONTENT_TYPE,
      g_param_spec_string("content-type", "Content type",
                          "Content-Type of the objects; unset: from the caps (image/jpeg, "
                          "image/png, video/mp4, ...), else application/octet-stream",
                          nullptr, rw));
  g_object_class_install_property(
      gobject_class, PROP_OVERWRITE,
      g_param_spec_boolean("overwrite", "Overwrite",
                           "Replace objects that exist already. false: every upload carries "
                           "If-None-Match: * and an existing key is an error naming it",
                           DEFAULT_OVERWRITE, rw));
  g_object_class_install_property(
      gobject_class, PROP_INDEX,
      g_param_spec_uint64("index", "Index", "Value of %05d for the first object", 0, G_MAXUINT64,
                          DEFAULT_INDEX, rw));
  g_object_class_install_property(
      gobject_class, PROP_PART_SIZE,
      g_param_spec_uint64("part-size", "Part size",
                          "Whole-stream mode (a key without pattern): bytes per part of the "
                          "multipart upload, and the memory the sink holds; a shorter stream is "
                          "one PUT. Parts double after every 1000 (S3 allows 10000)",
                          s3::kMinPartSize, s3::kMaxPartSize, DEFAULT_PART_SIZE, rw));

  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_set_static_metadata(
      element_class, "S3 sink", "Sink/Network",
      "Writes buffers (one object each, with a key pattern) or a whole stream (one object) to "
      "S3-compatible storage (s3://bucket/key)",
      "gst-heatmap developers <gst-heatmap@example.invalid>");

  basesink_class->start = GST_DEBUG_FUNCPTR(gst_s3_sink_start);
  basesink_class->stop = GST_DEBUG_FUNCPTR(gst_s3_sink_stop);
  basesink_class->set_caps = GST_DEBUG_FUNCPTR(gst_s3_sink_set_caps);
  basesink_class->render = GST_DEBUG_FUNCPTR(gst_s3_sink_render);
  basesink_class->event = GST_DEBUG_FUNCPTR(gst_s3_sink_event);
  basesink_class->query = GST_DEBUG_FUNCPTR(gst_s3_sink_query);
}

// --- GstURIHandler ---

static GstURIType gst_s3_sink_uri_get_type(GType) {
  return GST_URI_SINK;
}

static const gchar *const *gst_s3_sink_uri_get_protocols(GType) {
  static const gchar *const protocols[] = {"s3", nullptr};
  return protocols;
}

static gchar *gst_s3_sink_uri_get_uri(GstURIHandler *handler) {
  gchar *uri = nullptr;
  g_object_get(handler, "uri", &uri, NULL);
  return uri;
}

static gboolean gst_s3_sink_uri_set_uri(GstURIHandler *handler, const gchar *uri, GError **error) {
  GstS3Sink *self = GST_S3_SINK(handler);
  try {
    s3::Url url = s3::Url::parse_uri(uri);
    if (url.scheme != s3::Url::Scheme::kS3 || url.bucket.empty() || url.key.empty())
      throw s3::Error(s3::ErrorKind::kInvalidArgument,
                      std::string("not an s3://bucket/key URI: ") + uri);
    return set_location(self, url.str().c_str(), error);
  } catch (const s3::Error &e) {
    g_set_error(error, GST_URI_ERROR, GST_URI_ERROR_BAD_URI, "%s", e.what());
    return FALSE;
  }
}

static void gst_s3_sink_uri_handler_init(gpointer g_iface, gpointer) {
  GstURIHandlerInterface *iface = static_cast<GstURIHandlerInterface *>(g_iface);
  iface->get_type = gst_s3_sink_uri_get_type;
  iface->get_protocols = gst_s3_sink_uri_get_protocols;
  iface->get_uri = gst_s3_sink_uri_get_uri;
  iface->set_uri = gst_s3_sink_uri_set_uri;
}
