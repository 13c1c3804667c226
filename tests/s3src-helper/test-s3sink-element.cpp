// test-s3sink-element.cpp: s3sink against a real S3 server (Ceph RGW from with-s3-server):
// per-buffer objects under index and date patterns, periodic heatmaps from a live pipeline,
// the whole stream as one object, no overwrite, and the errors (wrong secret, no server).
#include <gst/gst.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "s3-client.h"
#include "test-util.h"

namespace {

struct ElementUnref {
  void operator()(GstElement *e) const { gst_object_unref(e); }
};
using ElementPtr = std::unique_ptr<GstElement, ElementUnref>;

std::string bucket_name() {
  const char *buckets = std::getenv("S3_TEST_BUCKETS");
  g_assert_nonnull(buckets);
  std::string b = buckets;
  return b.substr(0, b.find(' '));
}

std::unique_ptr<s3::Bucket> open_test_bucket() {
  s3::Url url;
  url.scheme = s3::Url::Scheme::kS3;
  url.bucket = bucket_name();
  return s3::open_bucket(url, s3::Config::from_environment());
}

ElementPtr parse(const std::string &description) {
  GError *error = NULL;
  GstElement *pipeline = gst_parse_launch(description.c_str(), &error);
  if (error != NULL)
    g_error("cannot build pipeline \"%s\": %s", description.c_str(), error->message);
  return ElementPtr(pipeline);
}

struct Outcome {
  bool eos = false;
  std::string error;  // the ERROR message text, empty if none
  GQuark error_domain = 0;
  int error_code = 0;
  std::vector<std::string> keys;      // from the s3sink messages
  std::vector<std::string> heatmaps;  // start-utc of the heatmap messages
  double seconds = 0;
};

// Plays to EOS or ERROR; with stop_after, sends EOS after that many heatmap messages.
Outcome run(GstElement *pipeline, std::size_t stop_after = 0, double timeout_s = 120) {
  Outcome o;
  const auto t0 = std::chrono::steady_clock::now();
  if (gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    o.error = "state change failed";
  GstBus *bus = gst_element_get_bus(pipeline);
  const gint64 deadline = g_get_monotonic_time() + static_cast<gint64>(timeout_s * 1e6);
  bool eos_sent = false;
  while (o.error.empty() && !o.eos) {
    if (g_get_monotonic_time() > deadline)
      g_error("pipeline did not finish within %.0f s", timeout_s);
    GstMessage *msg = gst_bus_timed_pop(bus, 100 * GST_MSECOND);
    if (msg == NULL)
      continue;
    if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
      GError *err = NULL;
      gst_message_parse_error(msg, &err, NULL);
      o.error = err->message;
      o.error_domain = err->domain;
      o.error_code = err->code;
      g_error_free(err);
    } else if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS) {
      o.eos = true;
    } else if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ELEMENT) {
      const GstStructure *s = gst_message_get_structure(msg);
      if (gst_structure_has_name(s, "s3sink")) {
        o.keys.push_back(gst_structure_get_string(s, "key"));
      } else if (gst_structure_has_name(s, "heatmap")) {
        o.heatmaps.push_back(gst_structure_get_string(s, "start-utc"));
        if (stop_after > 0 && o.heatmaps.size() >= stop_after && !eos_sent) {
          gst_element_send_event(pipeline, gst_event_new_eos());
          eos_sent = true;
        }
      }
    }
    gst_message_unref(msg);
  }
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  o.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return o;
}

std::string get_object(s3::Bucket &bucket, const std::string &key) {
  std::string data;
  bucket.get(key, 0, -1, [&data](const char *p, std::size_t n) { data.append(p, n); });
  return data;
}

bool is_jpeg(const std::string &data) {
  return data.size() > 100 && static_cast<unsigned char>(data[0]) == 0xFF &&
         static_cast<unsigned char>(data[1]) == 0xD8;
}

std::string utc_format(const char *format) {
  GDateTime *now = g_date_time_new_now_utc();
  gchar *s = g_date_time_format(now, format);
  std::string out = s;
  g_free(s);
  g_date_time_unref(now);
  return out;
}

// jpegenc ! s3sink with an index and date pattern: one object per frame, typed image/jpeg.
void test_one_object_per_buffer() {
  auto bucket = open_test_bucket();
  const std::string day = utc_format("%Y/%m/%d");
  ElementPtr p = parse(
      "videotestsrc is-live=true num-buffers=5 ! video/x-raw,width=64,height=48,framerate=10/1 "
      "! jpegenc ! s3sink name=sink");
  g_object_set(gst_bin_get_by_name(GST_BIN(p.get()), "sink"), "location",
               ("s3://" + bucket_name() + "/snaps/%Y/%m/%d/img-%05d.jpg").c_str(), NULL);
  Outcome o = run(p.get());
  g_assert_cmpstr(o.error.c_str(), ==, "");
  g_assert_true(o.eos);
  g_assert_cmpuint(o.keys.size(), ==, 5);
  std::vector<s3::ObjectInfo> objects;
  bucket->list_all("snaps/", "", &objects);
  g_assert_cmpuint(objects.size(), ==, 5);
  for (int i = 0; i < 5; ++i) {
    const std::string key = "snaps/" + day + "/img-0000" + std::to_string(i) + ".jpg";
    g_assert_cmpstr(objects[i].key.c_str(), ==, key.c_str());
    g_assert_cmpstr(o.keys[i].c_str(), ==, key.c_str());
    assert_str(bucket->head(key).content_type, "image/jpeg");
    g_assert_true(is_jpeg(get_object(*bucket, key)));
  }
}

// The heatmap element's image pad, live, one snapshot a second into dated keys.
void test_periodic_heatmaps_from_live_pipeline() {
  auto bucket = open_test_bucket();
  ElementPtr p = parse(
      "videotestsrc is-live=true pattern=ball ! video/x-raw,width=160,height=120,framerate=25/1 "
      "! heatmap name=h interval=1 window=reset ! fakesink sync=true "
      "h.image ! queue ! s3sink name=sink");
  g_object_set(gst_bin_get_by_name(GST_BIN(p.get()), "sink"), "location",
               ("s3://" + bucket_name() + "/maps/%Y/%m/%d/%H/%H%M%S-%05d.jpg").c_str(), NULL);
  Outcome o = run(p.get(), 3);
  g_assert_cmpstr(o.error.c_str(), ==, "");
  g_assert_cmpuint(o.heatmaps.size(), ==, 4);
  g_assert_cmpuint(o.keys.size(), ==, 4);
  for (std::size_t i = 0; i < 4; ++i) {
    // start-utc 2026-11-30T15:04:05Z names maps/2026/11/30/15/150405-0000i.jpg
    const std::string &t = o.heatmaps[i];
    const std::string want = "maps/" + t.substr(0, 4) + "/" + t.substr(5, 2) + "/" +
                             t.substr(8, 2) + "/" + t.substr(11, 2) + "/" + t.substr(11, 2) +
                             t.substr(14, 2) + t.substr(17, 2) + "-0000" + std::to_string(i) +
                             ".jpg";
    g_assert_cmpstr(o.keys[i].c_str(), ==, want.c_str());
    g_assert_true(is_jpeg(get_object(*bucket, want)));
  }
}

// Without a pattern the stream is one object, written at EOS ("%%" is a literal '%').
void test_whole_stream_one_object() {
  auto bucket = open_test_bucket();
  ElementPtr p = parse(
      "videotestsrc num-buffers=50 ! video/x-raw,width=160,height=120,framerate=25/1 ! "
      "x264enc ! mp4mux ! s3sink name=sink");
  g_object_set(gst_bin_get_by_name(GST_BIN(p.get()), "sink"), "location",
               ("s3://" + bucket_name() + "/clips/whole 100%%.mp4").c_str(), NULL);
  Outcome o = run(p.get());
  g_assert_cmpstr(o.error.c_str(), ==, "");
  g_assert_cmpuint(o.keys.size(), ==, 1);
  const std::string data = get_object(*bucket, "clips/whole 100%.mp4");
  g_assert_cmpuint(data.size(), >, 1000);
  g_assert_cmpint(memcmp(data.data() + 4, "ftyp", 4), ==, 0);
  assert_str(bucket->head("clips/whole 100%.mp4").content_type, "video/mp4");
}

// Deterministic bytes (not compressible, not periodic) for streams of any length.
std::string stream_bytes(std::size_t size, unsigned seed) {
  std::string out(size, '\0');
  guint32 x = seed * 2654435761u + 1;
  for (std::size_t i = 0; i < size; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    out[i] = static_cast<char>(x >> 24);
  }
  return out;
}

// appsrc (video/mpegts) ! s3sink location=s3://bucket/KEY part-size=5 MiB, fed `data` in
// 64 KiB buffers; ends with EOS, or with an error posted by the source (`fail`): the
// application then stops the pipeline, as a player does on an error.
Outcome stream_to(const std::string &key, const std::string &data, bool fail,
                  bool overwrite = false) {
  ElementPtr p =
      parse("appsrc name=src format=bytes caps=video/mpegts,systemstream=true ! s3sink name=sink");
  GstElement *src = gst_bin_get_by_name(GST_BIN(p.get()), "src");
  GstElement *sink = gst_bin_get_by_name(GST_BIN(p.get()), "sink");
  g_object_set(sink, "location", ("s3://" + bucket_name() + "/" + key).c_str(), "part-size",
               static_cast<guint64>(5u << 20), "overwrite", overwrite, NULL);
  // Queued without limit: a push never waits for a sink that has failed.
  g_object_set(src, "max-bytes", static_cast<guint64>(0), NULL);
  Outcome o;
  gst_element_set_state(p.get(), GST_STATE_PLAYING);
  for (std::size_t at = 0; at < data.size(); at += 64 << 10) {
    const std::size_t n = std::min<std::size_t>(64 << 10, data.size() - at);
    GstBuffer *b = gst_buffer_new_memdup(data.data() + at, n);
    GstFlowReturn flow = GST_FLOW_OK;
    g_signal_emit_by_name(src, "push-buffer", b, &flow);
    gst_buffer_unref(b);
    if (flow != GST_FLOW_OK)
      break;  // the sink failed: its error is on the bus
  }
  if (fail) {
    // Once the sink has taken everything (parts are out), the stream ends in an error.
    const gint64 until = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
    guint64 queued = 1;
    while (queued > 0 && g_get_monotonic_time() < until) {
      g_usleep(G_USEC_PER_SEC / 20);
      g_object_get(src, "current-level-bytes", &queued, NULL);
    }
    g_usleep(G_USEC_PER_SEC / 2);  // the last buffer in render()
    GST_ELEMENT_ERROR(src, STREAM, FAILED, ("test: the source broke mid-stream"), (nullptr));
  } else {
    GstFlowReturn flow;
    g_signal_emit_by_name(src, "end-of-stream", &flow);
  }
  o = run(p.get());
  gst_object_unref(src);
  gst_object_unref(sink);
  return o;
}

// Without a pattern a stream longer than a part goes out as a multipart upload: the object is
// the exact stream, its ETag is a multipart one ("-3": 13 MiB in 5 MiB parts), typed from the
// caps, and no upload is left pending.
void test_whole_stream_multipart() {
  auto bucket = open_test_bucket();
  const std::string data = stream_bytes((13u << 20) + 12345, 1);
  Outcome o = stream_to("streams/multi.ts", data, false);
  assert_str(o.error, "");
  g_assert_true(o.eos);
  g_assert_cmpuint(o.keys.size(), ==, 1);
  g_assert_true(get_object(*bucket, "streams/multi.ts") == data);
  const s3::ObjectInfo info = bucket->head("streams/multi.ts");
  g_test_message("multipart object: %" G_GUINT64_FORMAT " bytes, ETag %s", info.size,
                 info.etag.c_str());
  g_assert_true(info.etag.size() > 2 && info.etag.compare(info.etag.size() - 2, 2, "-3") == 0);
  assert_str(info.content_type, "video/mp2t");
  g_assert_cmpuint(bucket->pending_uploads("streams/").size(), ==, 0);
}

// A stream that ends in an error after parts were sent leaves no object and no pending
// multipart upload (AbortMultipartUpload).
void test_whole_stream_error_leaves_nothing() {
  auto bucket = open_test_bucket();
  Outcome o = stream_to("broken/half.ts", stream_bytes(12u << 20, 2), true);
  g_assert_false(o.eos);
  g_assert_nonnull(strstr(o.error.c_str(), "broke mid-stream"));
  std::vector<s3::ObjectInfo> objects;
  bucket->list_all("broken/", "", &objects);
  g_assert_cmpuint(objects.size(), ==, 0);
  g_assert_cmpuint(bucket->pending_uploads("broken/").size(), ==, 0);
}

// An existing key is not replaced by a stream either: the error names it, before any part is
// sent; the old object stays, no upload is pending.
void test_whole_stream_no_overwrite() {
  auto bucket = open_test_bucket();
  const std::string old = stream_bytes(1000, 3);
  bucket->put_data("kept/stream.ts", old);
  Outcome o = stream_to("kept/stream.ts", stream_bytes(11u << 20, 4), false);
  g_assert_false(o.eos);
  g_assert_nonnull(strstr(o.error.c_str(), ("s3://" + bucket_name() + "/kept/stream.ts").c_str()));
  g_assert_nonnull(strstr(o.error.c_str(), "overwrite"));
  g_assert_true(get_object(*bucket, "kept/stream.ts") == old);
  g_assert_cmpuint(bucket->pending_uploads("kept/").size(), ==, 0);
  // overwrite=true replaces it, as a multipart upload.
  const std::string fresh = stream_bytes(11u << 20, 5);
  assert_str(stream_to("kept/stream.ts", fresh, false, true).error, "");
  g_assert_true(get_object(*bucket, "kept/stream.ts") == fresh);
}

Outcome run_fixed_key(const std::string &key, bool overwrite, const char *pattern = "ball") {
  ElementPtr p = parse(std::string("videotestsrc num-buffers=1 pattern=") + pattern +
                       " ! video/x-raw,width=64,height=48 ! jpegenc ! s3sink name=sink");
  g_object_set(gst_bin_get_by_name(GST_BIN(p.get()), "sink"), "location",
               ("s3://" + bucket_name() + "/" + key).c_str(), "overwrite", overwrite, NULL);
  return run(p.get());
}

// An existing key is never replaced unless overwrite=true; the error names it.
void test_no_overwrite() {
  auto bucket = open_test_bucket();
  const std::string key = "fixed/img-%05d.jpg", first = "fixed/img-00000.jpg";
  assert_str(run_fixed_key(key, false).error, "");
  const std::string before = get_object(*bucket, first);
  Outcome again = run_fixed_key(key, false, "snow");
  g_assert_true(again.error_domain == GST_RESOURCE_ERROR);
  g_assert_nonnull(strstr(again.error.c_str(), ("s3://" + bucket_name() + "/" + first).c_str()));
  g_assert_nonnull(strstr(again.error.c_str(), "overwrite"));
  g_assert_true(get_object(*bucket, first) == before);
  assert_str(run_fixed_key(key, true, "snow").error, "");
  g_assert_true(get_object(*bucket, first) != before);
}

// A wrong secret: NOT_AUTHORIZED naming the object, and the secret is not in the message.
void test_wrong_secret_names_the_key() {
  const char *wrong = "wrong-secret-6c1f0e2d9a";
  ElementPtr p = parse(
      "videotestsrc num-buffers=1 ! video/x-raw,width=64,height=48 ! jpegenc ! s3sink name=sink");
  g_object_set(gst_bin_get_by_name(GST_BIN(p.get()), "sink"), "location",
               ("s3://" + bucket_name() + "/denied/img-%05d.jpg").c_str(), "secret-key", wrong,
               "retries", 0, NULL);
  Outcome o = run(p.get());
  g_assert_true(o.error_domain == GST_RESOURCE_ERROR);
  g_assert_cmpint(o.error_code, ==, GST_RESOURCE_ERROR_NOT_AUTHORIZED);
  g_assert_nonnull(
      strstr(o.error.c_str(), ("s3://" + bucket_name() + "/denied/img-00000.jpg").c_str()));
  g_assert_null(strstr(o.error.c_str(), wrong));
  g_assert_null(strstr(o.error.c_str(), std::getenv("S3_SECRET_KEY")));
  std::vector<s3::ObjectInfo> objects;
  open_test_bucket()->list_all("denied/", "", &objects);
  g_assert_cmpuint(objects.size(), ==, 0);
}

// Nothing listening: an error naming the object after the retries, not a hang.
void test_unreachable_endpoint_errors() {
  const int port = closed_port();
  ElementPtr p = parse(
      "videotestsrc num-buffers=1 ! video/x-raw,width=64,height=48 ! jpegenc ! s3sink name=sink");
  g_object_set(gst_bin_get_by_name(GST_BIN(p.get()), "sink"), "location",
               "s3://nowhere/img-%05d.jpg", "endpoint",
               ("http://127.0.0.1:" + std::to_string(port)).c_str(), "retries", 1, "timeout", 2u,
               NULL);
  Outcome o = run(p.get(), 0, 60);
  g_assert_true(o.error_domain == GST_RESOURCE_ERROR);
  g_assert_nonnull(strstr(o.error.c_str(), "s3://nowhere/img-00000.jpg"));
  g_assert_false(o.eos);
  g_test_message("unreachable endpoint: error after %.1f s: %s", o.seconds, o.error.c_str());
}

}  // namespace

int main(int argc, char **argv) {
  // Every s3sink and S3 library log line goes to stderr, which test-s3src-nosecret.sh searches
  // for the secret key and for signatures.
  g_setenv("GST_DEBUG", "s3sink:7,s3src:7", FALSE);
  g_setenv("GST_DEBUG_NO_COLOR", "1", TRUE);
  gst_init(&argc, &argv);
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/s3sink/one-object-per-buffer", test_one_object_per_buffer);
  g_test_add_func("/s3sink/periodic-heatmaps-live", test_periodic_heatmaps_from_live_pipeline);
  g_test_add_func("/s3sink/whole-stream", test_whole_stream_one_object);
  g_test_add_func("/s3sink/whole-stream-multipart", test_whole_stream_multipart);
  g_test_add_func("/s3sink/whole-stream-error-leaves-nothing",
                  test_whole_stream_error_leaves_nothing);
  g_test_add_func("/s3sink/whole-stream-no-overwrite", test_whole_stream_no_overwrite);
  g_test_add_func("/s3sink/no-overwrite", test_no_overwrite);
  g_test_add_func("/s3sink/wrong-secret", test_wrong_secret_names_the_key);
  g_test_add_func("/s3sink/unreachable", test_unreachable_endpoint_errors);
  return g_test_run();
}
