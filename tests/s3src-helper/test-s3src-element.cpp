// test-s3src-element.cpp: the s3src element against a real S3 server (run under with-s3-server).
#include <gio/gio.h>
#include <gst/app/gstappsink.h>
#include <gst/check/gstcheck.h>
#include <gst/gst.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>

#include "s3-client.h"

namespace {

std::string g_bucket;
std::string g_blob;  // random bytes stored as kBlobKey
const char kBlobKey[] = "element/blob.bin";
const char kOddKey[] = "element/a b+c=d~e%f é 東京.bin";  // needs percent-escapes in a URI
const std::size_t kBlobSize = 5 * 1024 * 1024 + 12345;    // several GETs' worth, odd length

std::string uri_of(const std::string &key) {
  s3::Url url;
  url.scheme = s3::Url::Scheme::kS3;
  url.bucket = g_bucket;
  url.key = key;
  return url.uri();
}

// Runs the pipeline until EOS or an error and returns the error (nullptr at EOS).
GError *run_until_done(GstElement *pipeline, GstClockTime timeout, bool *timed_out) {
  GstBus *bus = gst_element_get_bus(pipeline);
  // A failing start() already posted its error on the bus: the state change result says nothing.
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstMessage *msg = gst_bus_timed_pop_filtered(
      bus, timeout, static_cast<GstMessageType>(GST_MESSAGE_ERROR | GST_MESSAGE_EOS));
  GError *error = nullptr;
  *timed_out = msg == nullptr;
  if (msg != nullptr && GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
    gchar *debug = nullptr;
    gst_message_parse_error(msg, &error, &debug);
    GST_INFO("error from %s: %s (%s)", GST_OBJECT_NAME(GST_MESSAGE_SRC(msg)), error->message,
             debug);
    g_free(debug);
  }
  if (msg != nullptr)
    gst_message_unref(msg);
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  return error;
}

GstElement *make_pipeline(const std::string &description) {
  GError *error = nullptr;
  GstElement *pipeline = gst_parse_launch(description.c_str(), &error);
  fail_unless(error == nullptr, "bad pipeline %s: %s", description.c_str(),
              error ? error->message : "");
  return pipeline;
}

// Reads a whole object through `s3src ! appsink` and returns the bytes.
std::string read_all(const std::string &extra_props, const std::string &key) {
  GstElement *pipeline =
      make_pipeline("s3src name=src " + extra_props + " ! appsink name=sink sync=false");
  GstElement *src = gst_bin_get_by_name(GST_BIN(pipeline), "src");
  g_object_set(src, "location", uri_of(key).c_str(), nullptr);
  gst_object_unref(src);
  GstElement *sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
  fail_unless(gst_element_set_state(pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
  std::string out;
  while (GstSample *sample = gst_app_sink_pull_sample(GST_APP_SINK(sink))) {
    GstBuffer *buf = gst_sample_get_buffer(sample);
    GstMapInfo map;
    fail_unless(gst_buffer_map(buf, &map, GST_MAP_READ));
    fail_unless_equals_uint64(GST_BUFFER_OFFSET(buf), out.size());
    out.append(reinterpret_cast<const char *>(map.data), map.size);
    gst_buffer_unmap(buf, &map);
    gst_sample_unref(sample);
  }
  fail_unless(gst_app_sink_is_eos(GST_APP_SINK(sink)), "appsink stopped before EOS");
  gst_object_unref(sink);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
  return out;
}

void expect_error(const std::string &description, GQuark domain, gint code,
                  const char *message_part) {
  GstElement *pipeline = make_pipeline(description);
  bool timed_out = false;
  GError *error = run_until_done(pipeline, 120 * GST_SECOND, &timed_out);
  gst_object_unref(pipeline);
  fail_if(timed_out, "no error within 120 s: %s", description.c_str());
  fail_unless(error != nullptr, "pipeline reached EOS instead of failing: %s", description.c_str());
  fail_unless(g_error_matches(error, domain, code), "wrong error %s %d: %s",
              g_quark_to_string(error->domain), error->code, error->message);
  if (message_part != nullptr)
    fail_unless(strstr(error->message, message_part) != nullptr,
                "message '%s' does not mention '%s'", error->message, message_part);
  g_error_free(error);
}

}  // namespace

GST_START_TEST(test_uri_handler_escapes_keys) {
  GError *error = nullptr;
  const std::string uri = "s3://" + g_bucket + "/dir/a%20b%2Bc.mp4";
  GstElement *src = gst_element_make_from_uri(GST_URI_SRC, uri.c_str(), "src", &error);
  fail_unless(src != nullptr, "no element for %s: %s", uri.c_str(), error ? error->message : "");
  fail_unless_equals_string(GST_OBJECT_NAME(gst_element_get_factory(src)), "s3src");
  gchar *back = gst_uri_handler_get_uri(GST_URI_HANDLER(src));
  fail_unless_equals_string(back, uri.c_str());
  g_free(back);
  fail_if(gst_uri_handler_set_uri(GST_URI_HANDLER(src), "s3://", &error));
  fail_unless(error != nullptr);
  g_clear_error(&error);
  fail_if(gst_uri_handler_set_uri(GST_URI_HANDLER(src), "s3://bucket-only", &error));
  g_clear_error(&error);
  gst_object_unref(src);
}
GST_END_TEST;

GST_START_TEST(test_secret_key_is_write_only) {
  GstElement *src = gst_element_factory_make("s3src", nullptr);
  fail_unless(src != nullptr);
  GParamSpec *pspec = g_object_class_find_property(G_OBJECT_GET_CLASS(src), "secret-key");
  fail_unless(pspec != nullptr);
  fail_unless(pspec->flags & G_PARAM_WRITABLE);
  fail_if(pspec->flags & G_PARAM_READABLE, "secret-key must not be readable");
  for (const char *name : {"uri", "location", "endpoint", "region", "access-key",
                           "force-path-style", "read-ahead", "timeout", "retries"})
    fail_unless(g_object_class_find_property(G_OBJECT_GET_CLASS(src), name) != nullptr,
                "missing property %s", name);
  gst_object_unref(src);
}
GST_END_TEST;

GST_START_TEST(test_push_mode_reads_exact_bytes) {
  std::string got = read_all("", kBlobKey);
  fail_unless_equals_uint64(got.size(), g_blob.size());
  fail_unless(got == g_blob, "bytes differ from the stored object");
  // A small read-ahead means many refills of the one GET, still the same bytes.
  got = read_all("read-ahead=65536 blocksize=10000", kBlobKey);
  fail_unless(got == g_blob, "bytes differ with a small read-ahead");
}
GST_END_TEST;

GST_START_TEST(test_key_with_reserved_characters) {
  std::string got = read_all("", kOddKey);
  fail_unless_equals_string(got.c_str(), "odd key content\n");
}
GST_END_TEST;

// Pull mode, as demuxers use it: re-reads, small skips, and far jumps in both directions.
GST_START_TEST(test_pull_mode_random_ranges) {
  GstElement *src = gst_element_factory_make("s3src", nullptr);
  g_object_set(src, "location", uri_of(kBlobKey).c_str(), nullptr);
  fail_unless(gst_element_set_state(src, GST_STATE_READY) == GST_STATE_CHANGE_SUCCESS);
  GstPad *pad = gst_element_get_static_pad(src, "src");
  fail_unless(gst_pad_activate_mode(pad, GST_PAD_MODE_PULL, TRUE));
  struct Range {
    guint64 offset;
    guint size;
  };
  const Range ranges[] = {
      {0, 16},
      {0, 100},
      {100, 4000},
      {5000, 70000},             // header, re-read, skip
      {kBlobSize - 1000, 1000},  // jump to the end
      {70000, 10000},            // back into the first GET's re-read window, then on in that GET
      {kBlobSize - 1016, 16},    // small step back
      {200, 300000},
      {3 * 1024 * 1024, 1 << 20},
      {1 << 20, 1 << 20},      // back, far, back
      {kBlobSize - 10, 4096},  // clipped at the end
  };
  for (const Range &r : ranges) {
    GstBuffer *buf = nullptr;
    fail_unless_equals_int(gst_pad_get_range(pad, r.offset, r.size, &buf), GST_FLOW_OK);
    guint expect = static_cast<guint>(std::min<guint64>(r.size, kBlobSize - r.offset));
    fail_unless_equals_uint64(gst_buffer_get_size(buf), expect);
    GstMapInfo map;
    fail_unless(gst_buffer_map(buf, &map, GST_MAP_READ));
    fail_unless(memcmp(map.data, g_blob.data() + r.offset, expect) == 0,
                "wrong bytes at offset %" G_GUINT64_FORMAT, r.offset);
    gst_buffer_unmap(buf, &map);
    gst_buffer_unref(buf);
  }
  GstBuffer *buf = nullptr;
  fail_unless_equals_int(gst_pad_get_range(pad, kBlobSize, 10, &buf), GST_FLOW_EOS);
  fail_unless(gst_pad_activate_mode(pad, GST_PAD_MODE_PULL, FALSE));
  gst_object_unref(pad);
  gst_element_set_state(src, GST_STATE_NULL);
  gst_object_unref(src);
}
GST_END_TEST;

// A flushing seek while data flows lands on the right bytes.
GST_START_TEST(test_flushing_seek_reads_from_new_offset) {
  GstElement *pipeline =
      make_pipeline("s3src name=src read-ahead=65536 ! appsink name=sink sync=false max-buffers=2");
  GstElement *src = gst_bin_get_by_name(GST_BIN(pipeline), "src");
  g_object_set(src, "location", uri_of(kBlobKey).c_str(), nullptr);
  gst_object_unref(src);
  GstElement *sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
  fail_unless(gst_element_set_state(pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
  GstSample *first = gst_app_sink_pull_sample(GST_APP_SINK(sink));
  fail_unless(first != nullptr);
  gst_sample_unref(first);
  const gint64 target = 4 * 1024 * 1024 + 7;
  fail_unless(gst_element_seek_simple(pipeline, GST_FORMAT_BYTES,
                                      static_cast<GstSeekFlags>(GST_SEEK_FLAG_FLUSH), target));
  GstSample *sample = gst_app_sink_pull_sample(GST_APP_SINK(sink));
  fail_unless(sample != nullptr);
  GstBuffer *buf = gst_sample_get_buffer(sample);
  fail_unless_equals_uint64(GST_BUFFER_OFFSET(buf), target);
  GstMapInfo map;
  fail_unless(gst_buffer_map(buf, &map, GST_MAP_READ));
  fail_unless(memcmp(map.data, g_blob.data() + target, map.size) == 0, "wrong bytes after seek");
  gst_buffer_unmap(buf, &map);
  gst_sample_unref(sample);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(sink);
  gst_object_unref(pipeline);
}
GST_END_TEST;

GST_START_TEST(test_missing_key_is_not_found) {
  expect_error("s3src location=" + uri_of("element/no-such-key.mp4") + " ! fakesink",
               GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND, nullptr);
}
GST_END_TEST;

GST_START_TEST(test_bad_location_is_reported) {
  // The reason reaches the user, not a bare "no URI set".
  expect_error("s3src location=/tmp/clip.mp4 ! fakesink", GST_RESOURCE_ERROR,
               GST_RESOURCE_ERROR_NOT_FOUND, "/tmp/clip.mp4");
}
GST_END_TEST;

GST_START_TEST(test_missing_bucket_is_not_found) {
  expect_error("s3src location=s3://no-such-bucket-s3src/x.mp4 ! fakesink", GST_RESOURCE_ERROR,
               GST_RESOURCE_ERROR_NOT_FOUND, nullptr);
}
GST_END_TEST;

GST_START_TEST(test_wrong_secret_is_not_authorized) {
  expect_error(
      "s3src secret-key=wrong-secret-for-test location=" + uri_of(kBlobKey) + " ! fakesink",
      GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_AUTHORIZED, nullptr);
}
GST_END_TEST;

GST_START_TEST(test_uridecodebin_reports_not_found) {
  // Through the URI handler, as playbin would: the element's error reaches the application.
  expect_error("uridecodebin uri=" + uri_of("element/missing clip.mp4") + " ! fakesink",
               GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND, nullptr);
}
GST_END_TEST;

GST_START_TEST(test_unreachable_endpoint_fails_within_timeout) {
  // A loopback port nobody listens on: connection refused on every attempt.
  GSocket *sock =
      g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, nullptr);
  GInetAddress *lo = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
  GSocketAddress *addr = g_inet_socket_address_new(lo, 0);
  fail_unless(g_socket_bind(sock, addr, TRUE, nullptr));
  GSocketAddress *bound = g_socket_get_local_address(sock, nullptr);
  guint16 port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(bound));
  g_object_unref(bound);
  g_object_unref(addr);
  g_object_unref(lo);
  g_object_unref(sock);  // closed again: the port is now free and refuses connections
  gchar *endpoint = g_strdup_printf("http://127.0.0.1:%u", port);
  gint64 start = g_get_monotonic_time();
  expect_error(std::string("s3src timeout=5 retries=2 endpoint=") + endpoint +
                   " location=" + uri_of(kBlobKey) + " ! fakesink",
               GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_READ, nullptr);
  GST_INFO("unreachable endpoint reported after %.1f s", (g_get_monotonic_time() - start) / 1e6);
  g_free(endpoint);
}
GST_END_TEST;

static Suite *s3src_suite() {
  Suite *s = suite_create("s3src");
  TCase *offline = tcase_create("offline");
  tcase_add_test(offline, test_uri_handler_escapes_keys);
  tcase_add_test(offline, test_secret_key_is_write_only);
  tcase_add_test(offline, test_bad_location_is_reported);
  suite_add_tcase(s, offline);
  TCase *server = tcase_create("server");
  tcase_set_timeout(server, 300);
  tcase_add_test(server, test_push_mode_reads_exact_bytes);
  tcase_add_test(server, test_key_with_reserved_characters);
  tcase_add_test(server, test_pull_mode_random_ranges);
  tcase_add_test(server, test_flushing_seek_reads_from_new_offset);
  tcase_add_test(server, test_missing_key_is_not_found);
  tcase_add_test(server, test_missing_bucket_is_not_found);
  tcase_add_test(server, test_wrong_secret_is_not_authorized);
  tcase_add_test(server, test_uridecodebin_reports_not_found);
  tcase_add_test(server, test_unreachable_endpoint_fails_within_timeout);
  suite_add_tcase(s, server);
  return s;
}

int main(int argc, char **argv) {
  gst_check_init(&argc, &argv);
  const char *buckets = g_getenv("S3_TEST_BUCKETS");
  if (buckets == nullptr || g_getenv("S3_ENDPOINT") == nullptr) {
    g_printerr("test-s3src-element: run me under tests/lib/with-s3-server\n");
    return 1;
  }
  g_bucket = std::string(buckets).substr(0, std::string(buckets).find(' '));
  // Fixed seed: a failure reproduces with the same bytes.
  std::mt19937 rng(20240501);
  g_blob.resize(kBlobSize);
  for (char &c : g_blob)
    c = static_cast<char>(rng() & 0xff);
  try {
    s3::Url url = s3::Url::parse("s3://" + g_bucket);
    auto bucket = s3::open_bucket(url, s3::Config::from_environment());
    bucket->put_data(kBlobKey, g_blob);
    bucket->put_data(kOddKey, "odd key content\n");
  } catch (const s3::Error &e) {
    g_printerr("test-s3src-element: cannot store the test objects: %s\n", e.what());
    return 1;
  }
  return gst_check_run_suite(s3src_suite(), "s3src", __FILE__);
}
