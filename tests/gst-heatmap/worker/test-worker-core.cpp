// test-worker-core.cpp: unit tests of the worker's message parser, retry policy, AMQP URL
// parsing and wake-up descriptor (no broker).
#include <glib.h>

#include <chrono>
#include <string>
#include <thread>

#include "amqp-client.h"
#include "job-message.h"
#include "retry-policy.h"
#include "wakeup.h"

using namespace heatmap_worker;

namespace {

JobMessage parse_ok(const std::string &body) {
  JobMessage m;
  std::string error;
  if (!parse_job_message(body, &m, &error))
    g_error("expected %s to parse, got: %s", body.c_str(), error.c_str());
  return m;
}

std::string parse_error(const std::string &body) {
  JobMessage m;
  std::string error;
  if (parse_job_message(body, &m, &error))
    g_error("expected %s to be refused", body.c_str());
  g_assert_false(error.empty());
  return error;
}

void test_rgw_event() {
  // As Ceph RGW 16 sends it (trimmed): keys URL-encoded, eventName without "s3:".
  JobMessage m = parse_ok(
      R"({"Records":[{"eventVersion":"2.2","eventSource":"ceph:s3","awsRegion":"",)"
      R"("eventTime":"2026-11-30T15:00:00.0Z","eventName":"ObjectCreated:Put",)"
      R"("s3":{"s3SchemaVersion":"1.0","configurationId":"clips",)"
      R"("bucket":{"name":"cams","ownerIdentity":{"principalId":"x"},"arn":"arn:aws:s3:::cams"},)"
      R"("object":{"key":"raw_videos/2025/10/20/13/clip_2025-10-20_13-00-00.mp4","size":12,)"
      R"("eTag":"abc","versionId":"","sequencer":"1","metadata":[],"tags":[]}},)"
      R"("eventId":"1","opaqueData":""}]})");
  g_assert_cmpuint(m.clips.size(), ==, 1);
  g_assert_cmpstr(m.clips[0].bucket.c_str(), ==, "cams");
  g_assert_cmpstr(m.clips[0].key.c_str(), ==,
                  "raw_videos/2025/10/20/13/clip_2025-10-20_13-00-00.mp4");
}

void test_event_key_decoding() {
  JobMessage m = parse_ok(
      R"({"Records":[{"eventName":"s3:ObjectCreated:CompleteMultipartUpload","s3":{)"
      R"("bucket":{"name":"b"},"object":{"key":"raw+videos/a%2Bb%20c/%C3%A9t%C3%A9.mp4"}}}]})");
  g_assert_cmpuint(m.clips.size(), ==, 1);
  g_assert_cmpstr(m.clips[0].key.c_str(), ==, "raw videos/a+b c/\xc3\xa9t\xc3\xa9.mp4");
  std::string out;
  g_assert_false(url_decode_event_key("a%2", &out));
  g_assert_false(url_decode_event_key("a%zz", &out));
  g_assert_false(url_decode_event_key("a%00b", &out));
  g_assert_false(url_decode_event_key(std::string("a\0b", 3), &out));  // raw NUL (fuzzing)
  g_assert_true(url_decode_event_key("%41%42", &out));
  g_assert_cmpstr(out.c_str(), ==, "AB");
  // A key that decodes to invalid UTF-8 is refused.
  parse_error(
      R"({"Records":[{"eventName":"ObjectCreated:Put","s3":{"object":{"key":"%FF.mp4"}}}]})");
}

void test_event_records() {
  JobMessage m = parse_ok(
      R"({"Records":[{"eventName":"ObjectRemoved:Delete","s3":{"object":{"key":"a.mp4"}}},)"
      R"({"eventName":"ObjectCreated:Copy","s3":{"object":{"key":"b.mp4"}}},)"
      R"({"eventName":"ObjectCreated:Post","s3":{"object":{"key":"c.mp4"}}}]})");
  g_assert_cmpuint(m.clips.size(), ==, 2);
  g_assert_cmpuint(m.ignored, ==, 1);
  g_assert_cmpstr(m.clips[1].key.c_str(), ==, "c.mp4");
  g_assert_true(m.clips[0].bucket.empty());
  m = parse_ok(R"({"Records":[]})");
  g_assert_cmpuint(m.clips.size(), ==, 0);
  m = parse_ok(R"({"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"b"})");
  g_assert_cmpuint(m.clips.size(), ==, 0);
}

void test_plain_job() {
  std::string body = make_job_message("cams", "raw_videos/x \"y\"\n.mp4");
  JobMessage m = parse_ok(body);
  g_assert_cmpuint(m.clips.size(), ==, 1);
  g_assert_cmpstr(m.clips[0].bucket.c_str(), ==, "cams");
  g_assert_cmpstr(m.clips[0].key.c_str(), ==, "raw_videos/x \"y\"\n.mp4");
  m = parse_ok(R"({"key":"raw_videos/a+b%20.mp4"})");  // plain keys are raw, never decoded
  g_assert_cmpstr(m.clips[0].key.c_str(), ==, "raw_videos/a+b%20.mp4");
  g_assert_true(m.clips[0].bucket.empty());
}

void test_bad_messages() {
  parse_error("");
  parse_error("not json");
  parse_error("[1,2]");
  parse_error(R"({"hello":1})");
  parse_error(R"({"key":5})");
  parse_error(R"({"key":""})");
  parse_error(R"({"key":"a","bucket":["x"]})");
  parse_error(R"({"Records":{}})");
  parse_error(R"({"Records":[1]})");
  parse_error(R"({"Records":[{"s3":{"object":{"key":"a"}}}]})");
  parse_error(R"({"Records":[{"eventName":"ObjectCreated:Put","s3":{"object":{}}}]})");
  parse_error(R"({"Records":[{"eventName":"ObjectCreated:Put","s3":{"object":{"key":7}}}]})");
  parse_error("{\"key\":\"" + std::string(2000, 'a') + "\"}");
  std::string big = "{\"key\":\"a\",\"pad\":\"" + std::string(2 << 20, 'x') + "\"}";
  parse_error(big);
  // The reason is one short printable line, whatever the body holds.
  std::string e = parse_error("\x01\x02\n\xff garbage");
  for (char c : e)
    g_assert_true(static_cast<unsigned char>(c) >= 0x20);
  g_assert_cmpuint(e.size(), <, 400);
}

// A bad record spoils the whole message: nothing of it is returned (found by fuzzing: the
// records before the bad one used to stay in the result).
void test_bad_record_takes_nothing() {
  JobMessage m;
  std::string error;
  g_assert_false(parse_job_message(
      R"({"Records":[{"eventName":"ObjectCreated:Put","s3":{"object":{"key":"a.mp4"}}},)"
      R"({"eventName":"ObjectCreated:Put","s3":{"object":{"key":"b%zz.mp4"}}}]})",
      &m, &error));
  g_assert_cmpuint(m.clips.size(), ==, 0);
  g_assert_true(error.rfind("Records[1] has a malformed URL-encoded key", 0) == 0);
}

void test_printable() {
  // g_assert_cmpstr keeps the pointer past the temporary's end: name the strings first.
  const std::string controls = printable("a\nb\tc"), cut = printable(std::string(10, 'x'), 4);
  g_assert_cmpstr(controls.c_str(), ==, "a\\x0ab\\x09c");
  g_assert_cmpstr(cut.c_str(), ==, "xxxx...");
}

void test_retry_policy() {
  RetryPolicy p;
  p.max_attempts = 4;
  p.retry_delay_s = 10;
  p.retry_delay_max_s = 25;
  g_assert_cmpint(retry_delay_ms(1, p), ==, 10000);
  g_assert_cmpint(retry_delay_ms(2, p), ==, 20000);
  g_assert_cmpint(retry_delay_ms(3, p), ==, 25000);
  g_assert_cmpint(retry_delay_ms(60, p), ==, 25000);

  Decision d = decide(Outcome::kDone, 2, p);
  g_assert_true(d.action == Decision::Action::kAck);
  d = decide(Outcome::kTransient, 0, p);
  g_assert_true(d.action == Decision::Action::kRetry);
  g_assert_cmpint(d.attempts, ==, 1);
  g_assert_cmpint(d.delay_ms, ==, 10000);
  d = decide(Outcome::kTransient, 2, p);
  g_assert_true(d.action == Decision::Action::kRetry);
  g_assert_cmpint(d.attempts, ==, 3);
  d = decide(Outcome::kTransient, 3, p);  // the 4th failed run of 4
  g_assert_true(d.action == Decision::Action::kDeadLetter);
  g_assert_cmpint(d.attempts, ==, 4);
  d = decide(Outcome::kPermanent, 0, p);
  g_assert_true(d.action == Decision::Action::kDeadLetter);
  g_assert_cmpint(d.attempts, ==, 1);
  d = decide(Outcome::kTransient, -5, p);  // a forged header cannot go below zero
  g_assert_cmpint(d.attempts, ==, 1);
  p.max_attempts = 1;
  g_assert_true(decide(Outcome::kTransient, 0, p).action == Decision::Action::kDeadLetter);

  g_assert_true(check_policy(RetryPolicy()).empty());
  p = RetryPolicy();
  p.max_attempts = 0;
  g_assert_false(check_policy(p).empty());
  p = RetryPolicy();
  p.retry_delay_max_s = 5;
  g_assert_false(check_policy(p).empty());
}

void test_amqp_url() {
  AmqpEndpoint e = AmqpEndpoint::parse("amqps://us%40r:s%3Acret@broker.example:5671/%2f");
  g_assert_true(e.tls);
  g_assert_cmpstr(e.user.c_str(), ==, "us@r");
  g_assert_cmpstr(e.password.c_str(), ==, "s:cret");
  g_assert_cmpstr(e.host.c_str(), ==, "broker.example");
  g_assert_cmpint(e.port, ==, 5671);
  g_assert_cmpstr(e.vhost.c_str(), ==, "/");
  std::string shown = e.display();
  g_assert_cmpstr(shown.c_str(), ==, "amqps://us%40r@broker.example:5671/%2F");
  g_assert_null(strstr(shown.c_str(), "cret"));

  e = AmqpEndpoint::parse("amqp://127.0.0.1:5673");
  g_assert_false(e.tls);
  g_assert_cmpstr(e.vhost.c_str(), ==, "/");
  g_assert_cmpint(e.port, ==, 5673);
  e = AmqpEndpoint::parse("amqp://u:p@h/prod");
  g_assert_cmpstr(e.vhost.c_str(), ==, "prod");
  g_assert_cmpint(e.port, ==, 5672);

  for (const char *bad : {"http://h/", "amqp://", "", "amqp://u:p@:5672/", "amqp://h:notaport/"}) {
    try {
      AmqpEndpoint::parse(bad);
      g_error("'%s' should be refused", bad);
    } catch (const AmqpError &err) {
      g_assert_false(err.lost());
    }
  }
  // The error never repeats the URL (it may hold a password).
  try {
    AmqpEndpoint::parse("amqp://user:hunter2@host:99999999/");
    g_error("a port out of range should be refused");
  } catch (const AmqpError &err) {
    g_assert_null(strstr(err.what(), "hunter2"));
  }
}

// The broker thread sleeps on Wakeup::fd(): a notification from another thread must end the
// wait (the test would sit out the 30 s wait and fail if it did not), notifications coalesce,
// and drain() clears them so the next wait sleeps again.
void test_wakeup() {
  using std::chrono::milliseconds;
  Wakeup w;
  g_assert_cmpint(w.fd(), >=, 0);
  g_assert_false(w.wait(milliseconds(0)));
  g_assert_false(w.drain());
  w.notify();
  w.notify();
  g_assert_true(w.wait(milliseconds(0)));
  g_assert_true(w.wait(milliseconds(0)));  // waiting does not consume it
  g_assert_true(w.drain());
  g_assert_false(w.wait(milliseconds(0)));
  g_assert_false(w.drain());

  std::thread notifier([&w] {
    std::this_thread::sleep_for(milliseconds(50));
    w.notify();
  });
  const auto t0 = std::chrono::steady_clock::now();
  g_assert_true(w.wait(milliseconds(30000)));
  const double waited =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  notifier.join();
  g_assert_cmpfloat(waited, <, 29.0);
  g_assert_true(w.drain());
}

}  // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/worker/message/rgw-event", test_rgw_event);
  g_test_add_func("/worker/message/event-key-decoding", test_event_key_decoding);
  g_test_add_func("/worker/message/event-records", test_event_records);
  g_test_add_func("/worker/message/plain-job", test_plain_job);
  g_test_add_func("/worker/message/bad-messages", test_bad_messages);
  g_test_add_func("/worker/message/bad-record-takes-nothing", test_bad_record_takes_nothing);
  g_test_add_func("/worker/message/printable", test_printable);
  g_test_add_func("/worker/retry-policy", test_retry_policy);
  g_test_add_func("/worker/amqp-url", test_amqp_url);
  g_test_add_func("/worker/wakeup", test_wakeup);
  return g_test_run();
}
