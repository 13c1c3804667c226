// test-s3-rgw.cpp: the S3 backend against a real Ceph RGW (which verifies SigV4), with faults
// injected by tests/lib/fault-proxy.py. Run through tests/lib/with-s3-server.
#include <curl/curl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "s3-client.h"
#include "s3-internal.h"
#include "test-util.h"

namespace {

const char *kBucket = "s3lib";
std::mutex g_log_mutex;
std::vector<std::string> g_captured;  // every log line and error message of the run
GPid g_proxy_pid = 0;
std::string g_proxy_endpoint;

using Clock = std::chrono::steady_clock;

void capture(const std::string &text) {
  std::lock_guard<std::mutex> lock(g_log_mutex);
  g_captured.push_back(text);
}

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

s3::Config base_config() {
  return s3::Config::from_environment();
}

std::unique_ptr<s3::Bucket> open(const s3::Config &config, const char *bucket = kBucket) {
  s3::Url url;
  url.bucket = bucket;
  return s3::open_bucket(url, config);
}

std::string pattern(std::size_t size, unsigned seed) {
  std::string data(size, '\0');
  std::uint32_t x = seed * 2654435761u + 1;
  for (std::size_t i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    data[i] = static_cast<char>(x);
  }
  return data;
}

std::string read_all(s3::Reader &r, std::size_t chunk = 65536) {
  std::string out, buf(chunk, '\0');
  while (std::size_t n = r.read(buf.data(), buf.size()))
    out.append(buf.data(), n);
  return out;
}

template <typename F>
s3::Error error_of(F f) {
  try {
    f();
  } catch (const s3::Error &e) {
    capture(e.what());
    return e;
  }
  g_error("no error was thrown");
  return s3::Error(s3::ErrorKind::kIo, "unreachable");
}

// ---- the fault proxy ----
std::string http_call(const std::string &method, const std::string &url, const std::string &body,
                      long *status = nullptr) {
  CURL *c = curl_easy_init();
  std::string out;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (method == "POST") {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  curl_easy_setopt(
      c, CURLOPT_WRITEFUNCTION, +[](char *d, size_t s, size_t n, void *p) -> size_t {
        static_cast<std::string *>(p)->append(d, s * n);
        return s * n;
      });
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
  CURLcode rc = curl_easy_perform(c);
  g_assert_cmpint(rc, ==, CURLE_OK);
  if (status)
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
  curl_easy_cleanup(c);
  return out;
}

void proxy_rules(const std::string &json) {
  std::string reply = http_call("POST", g_proxy_endpoint + "/__fault-proxy__/rules", json);
  g_assert_nonnull(strstr(reply.c_str(), "rules"));
}

int proxy_stat(const char *name) {
  std::string stats = http_call("GET", g_proxy_endpoint + "/__fault-proxy__/stats", "");
  std::string field = std::string("\"") + name + "\": ";
  const char *f = strstr(stats.c_str(), field.c_str());
  g_assert_nonnull(f);
  return atoi(f + field.size());
}

int proxy_faults() {
  return proxy_stat("faults");
}

void start_proxy() {
  const char *src = g_getenv("SOURCE_ROOT");
  std::string script = std::string(src ? src : ".") + "/tests/lib/fault-proxy.py";
  gchar *tmp = g_dir_make_tmp("s3lib-proxy-XXXXXX", nullptr);
  std::string port_file = std::string(tmp) + "/port";
  std::string endpoint = base_config().endpoint;
  const gchar *argv[] = {
      "/usr/bin/python3", script.c_str(),    "--upstream", endpoint.c_str(),     "--port-file",
      port_file.c_str(),  "--stall-seconds", "60",         "--exit-with-parent", nullptr};
  GError *err = nullptr;
  // A failed assertion aborts this process: the proxy must not outlive it (it would keep the
  // test's output pipe open and the test runner waiting).
  auto die_with_parent = [](gpointer) { prctl(PR_SET_PDEATHSIG, SIGTERM); };
  g_assert_true(g_spawn_async(nullptr, const_cast<gchar **>(argv), nullptr,
                              G_SPAWN_DO_NOT_REAP_CHILD, die_with_parent, nullptr, &g_proxy_pid,
                              &err));
  gchar *contents = nullptr;
  for (int i = 0; i < 100 && !g_file_get_contents(port_file.c_str(), &contents, nullptr, nullptr);
       i++)
    g_usleep(100000);
  g_assert_nonnull(contents);
  g_proxy_endpoint = std::string("http://127.0.0.1:") + g_strstrip(contents);
  g_free(contents);
  g_unlink(port_file.c_str());
  g_rmdir(tmp);
  g_free(tmp);
}

void stop_proxy() {
  if (g_proxy_pid) {
    kill(g_proxy_pid, SIGTERM);
    waitpid(g_proxy_pid, nullptr, 0);
    g_spawn_close_pid(g_proxy_pid);
    g_proxy_pid = 0;
  }
}

s3::Config proxied(int retries = 4, int timeout_s = 10) {
  s3::Config c = base_config();
  c.endpoint = g_proxy_endpoint;
  c.retries = retries;
  c.timeout_s = timeout_s;
  return c;
}

// ---- tests ----
void test_list_2500() {
  auto b = open(base_config());
  const int kCount = 2500;
  std::vector<std::string> keys;
  for (int i = 0; i < kCount; i++) {
    char key[64];
    std::snprintf(key, sizeof key, "many/g%d/%04d%s", i % 5, i, i % 7 == 0 ? " &<x>.ts" : ".ts");
    keys.push_back(key);
  }
  std::vector<std::thread> workers;
  for (int t = 0; t < 4; t++) {
    workers.emplace_back([&, t] {
      for (int i = t; i < kCount; i += 4)
        b->put_data(keys[static_cast<std::size_t>(i)], keys[static_cast<std::size_t>(i)]);
    });
  }
  for (auto &w : workers)
    w.join();
  std::sort(keys.begin(), keys.end());

  std::vector<s3::ObjectInfo> all;
  b->list_all("many/", "", &all);
  g_assert_cmpuint(all.size(), ==, keys.size());
  for (std::size_t i = 0; i < keys.size(); i++) {
    assert_str(all[i].key, keys[i]);
    g_assert_cmpuint(all[i].size, ==, keys[i].size());
    assert_str(all[i].etag, md5_hex(keys[i]));
  }
  // Pages: 1000 + 1000 + 500, continuation tokens honoured.
  std::string token;
  std::vector<std::size_t> sizes;
  std::size_t at = 0;
  do {
    s3::ListPage p = b->list_page("many/", "", token, 1000);
    sizes.push_back(p.objects.size());
    for (auto &o : p.objects)
      assert_str(o.key, keys[at++]);
    token = p.truncated ? p.next_token : "";
  } while (!token.empty());
  g_assert_cmpuint(sizes.size(), ==, 3);
  g_assert_cmpuint(sizes[0], ==, 1000);
  g_assert_cmpuint(sizes[2], ==, 500);
  // Small pages with a delimiter.
  std::vector<s3::ObjectInfo> none;
  std::vector<std::string> prefixes;
  b->list_all("many/", "/", &none, &prefixes);
  g_assert_cmpuint(none.size(), ==, 0);
  g_assert_cmpuint(prefixes.size(), ==, 5);
  assert_str(prefixes[0], "many/g0/");
  assert_str(prefixes[4], "many/g4/");
  s3::ListPage two = b->list_page("many/", "/", "", 2);
  g_assert_true(two.truncated);
  g_assert_cmpuint(two.common_prefixes.size(), ==, 2);
  std::vector<s3::ObjectInfo> g1;
  b->list_all("many/g1/", "/", &g1);
  g_assert_cmpuint(g1.size(), ==, 500);
}

const std::vector<std::string> &odd_keys() {
  static const std::vector<std::string> keys = {"odd/with space.mp4",
                                                "odd/caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac.mp4",
                                                "odd/a+b=c~d.mp4",
                                                "odd/100%.mp4",
                                                "odd/%2F not a slash",
                                                "odd/double//slash",
                                                "odd/amp & <lt> \"q\" 'a'.ts",
                                                "odd/!$()*,;:@[]#?.bin"};
  return keys;
}

void test_odd_keys() {
  auto b = open(base_config());
  for (const auto &k : odd_keys()) {
    s3::ObjectInfo put = b->put_data(k, "content of " + k);
    assert_str(put.etag, md5_hex("content of " + k));
    s3::ObjectInfo h = b->head(k);
    g_assert_cmpuint(h.size, ==, ("content of " + k).size());
    assert_str(h.etag, md5_hex("content of " + k));
    assert_str(get_all(*b, k), "content of " + k);
  }
  std::vector<s3::ObjectInfo> listed;
  b->list_all("odd/", "", &listed);
  std::vector<std::string> expect = odd_keys();
  std::sort(expect.begin(), expect.end());
  g_assert_cmpuint(listed.size(), ==, expect.size());
  for (std::size_t i = 0; i < expect.size(); i++)
    assert_str(listed[i].key, expect[i]);
  // Prefixes with odd characters are query values: encoded strictly.
  std::vector<s3::ObjectInfo> plus;
  b->list_all("odd/a+b=", "", &plus);
  g_assert_cmpuint(plus.size(), ==, 1);
  // Copy with an odd source key (x-amz-copy-source is URL-encoded).
  s3::ObjectInfo c =
      b->copy("odd/caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac.mp4", "odd-copy/\xe2\x9c\x93 +=.mp4");
  assert_str(c.etag, md5_hex("content of odd/caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac.mp4"));
  assert_str(get_all(*b, "odd-copy/\xe2\x9c\x93 +=.mp4"),
             "content of odd/caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac.mp4");
  b->remove("odd-copy/\xe2\x9c\x93 +=.mp4");
  g_assert_true(error_of([&] { b->head("odd-copy/\xe2\x9c\x93 +=.mp4"); }).kind() ==
                s3::ErrorKind::kNotFound);
}

void test_ranges_and_reader() {
  auto b = open(base_config());
  std::string data = pattern(3 * 1024 * 1024 + 123, 1);
  b->put_data("range/blob", data);
  assert_str(get_all(*b, "range/blob", 0, 10), data.substr(0, 10));
  assert_str(get_all(*b, "range/blob", 1000000, 65536), data.substr(1000000, 65536));
  assert_str(get_all(*b, "range/blob", data.size() - 5), data.substr(data.size() - 5));
  g_assert_true(get_all(*b, "range/blob") == data);
  // An empty object: get, reader, copy.
  s3::ObjectInfo empty = b->put_data("range/empty", "");
  assert_str(empty.etag, md5_hex(""));
  g_assert_cmpuint(b->head("range/empty").size, ==, 0);
  assert_str(get_all(*b, "range/empty"), "");
  auto er = b->open_reader("range/empty", 0);
  assert_str(read_all(*er), "");
  assert_str(b->copy("range/empty", "range/empty-copy").etag, md5_hex(""));
  b->remove("range/empty-copy");

  // A length past the end is cut to the object, without retries.
  assert_str(get_all(*b, "range/blob", data.size() - 50, 1000), data.substr(data.size() - 50));
  auto past = b->open_reader("range/blob", data.size() - 70, 5000);
  assert_str(read_all(*past), data.substr(data.size() - 70));
  g_assert_true(error_of([&] { get_all(*b, "range/blob", data.size() + 10); }).kind() ==
                s3::ErrorKind::kRangeNotSatisfiable);

  auto whole = b->open_reader("range/blob", 0, -1, 256 * 1024);
  g_assert_true(read_all(*whole, 10000) == data);
  g_assert_cmpuint(whole->offset(), ==, data.size());
  auto part = b->open_reader("range/blob", 12345, 1000000);
  g_assert_true(read_all(*part, 4096) == data.substr(12345, 1000000));
  auto tail = b->open_reader("range/blob", data.size() - 100);
  g_assert_true(read_all(*tail) == data.substr(data.size() - 100));
  auto at_end = b->open_reader("range/blob", data.size());
  char c;
  g_assert_cmpuint(at_end->read(&c, 1), ==, 0);

  // A paused consumer (longer than the low-speed timeout) is not a stalled server.
  s3::Config slow = base_config();
  slow.timeout_s = 2;
  auto patient = open(slow)->open_reader("range/blob", 0, -1, 64 * 1024);
  std::string first(1000, '\0');
  g_assert_cmpuint(patient->read(first.data(), first.size()), ==, first.size());
  g_usleep(5 * G_USEC_PER_SEC);
  g_assert_true(first + read_all(*patient) == data);

  // cancel() from another thread makes a pending or later read() throw kCancelled.
  auto r = b->open_reader("range/blob", 0);
  char buf[1000];
  g_assert_cmpuint(r->read(buf, sizeof buf), >, 0);
  std::thread canceller([&] { r->cancel(); });
  canceller.join();
  g_assert_true(error_of([&] { r->read(buf, sizeof buf); }).kind() == s3::ErrorKind::kCancelled);
}

void test_put_file_streamed() {
  auto b = open(base_config());
  std::string data = pattern(9 * 1024 * 1024 + 7, 2);
  gchar *dir = g_dir_make_tmp("s3lib-put-XXXXXX", nullptr);
  std::string path = std::string(dir) + "/in.bin";
  g_assert_true(g_file_set_contents(path.c_str(), data.data(), data.size(), nullptr));
  s3::PutOptions opts;
  opts.content_type = "video/mp2t";
  s3::ObjectInfo put = b->put_file("big/streamed file.bin", path, opts);
  assert_str(put.etag, md5_hex(data));
  g_assert_cmpuint(put.size, ==, data.size());
  s3::ObjectInfo h = b->head("big/streamed file.bin");
  g_assert_cmpuint(h.size, ==, data.size());
  assert_str(h.etag, md5_hex(data));
  assert_str(h.content_type, "video/mp2t");
  std::string out = std::string(dir) + "/out.bin";
  b->get_to_file("big/streamed file.bin", out);
  g_assert_true(file_contents(out) == data);
  g_unlink(path.c_str());
  g_unlink(out.c_str());
  g_rmdir(dir);
  g_free(dir);

  // Copy and remove of the big one; and the atomic create.
  s3::ObjectInfo c = b->copy("big/streamed file.bin", "big/copy.bin");
  assert_str(c.etag, md5_hex(data));
  b->remove("big/copy.bin");
  g_assert_true(error_of([&] { b->head("big/copy.bin"); }).kind() == s3::ErrorKind::kNotFound);
  s3::PutOptions once;
  once.if_none_match = true;
  b->put_data("claims/job-1", "worker A", once);
  s3::Error e = error_of([&] { b->put_data("claims/job-1", "worker B", once); });
  g_assert_true(e.kind() == s3::ErrorKind::kPreconditionFailed);
  assert_str(get_all(*b, "claims/job-1"), "worker A");
}

void test_presign() {
  auto b = open(base_config());
  b->put_data("pre/signed key+=.txt", "presigned body");
  std::string url = b->presign("pre/signed key+=.txt", 300);
  g_assert_nonnull(strstr(url.c_str(), "X-Amz-Signature="));
  g_assert_nonnull(strstr(url.c_str(), "X-Amz-SignedHeaders=host"));
  long status = 0;
  std::string body = http_call("GET", url, "", &status);
  g_assert_cmpint(status, ==, 200);
  assert_str(body, "presigned body");
  // Tampered signature (last hex digit changed) and tampered key: rejected.
  std::string bad = url;
  bad.back() = bad.back() == '0' ? '1' : '0';
  http_call("GET", bad, "", &status);
  g_assert_cmpint(status, ==, 403);
  std::string other = url;
  other.replace(other.find("signed%20key"), 12, "signed%20kez");
  http_call("GET", other, "", &status);
  g_assert_cmpint(status, ==, 403);
  // The logged form has no signature.
  std::string red = s3::redact_url(url);
  g_assert_null(strstr(red.c_str(), url.substr(url.size() - 64).c_str()));
  capture(red);
}

void test_errors() {
  s3::Config config = base_config();
  auto b = open(config);
  s3::Error e = error_of([&] { get_all(*b, "no/such key"); });
  g_assert_true(e.kind() == s3::ErrorKind::kNotFound);
  assert_str(e.code(), "NoSuchKey");
  g_assert_nonnull(strstr(e.what(), "no/such key"));
  g_assert_true(error_of([&] { b->head("no/such key"); }).kind() == s3::ErrorKind::kNotFound);

  auto nb = open(config, "no-such-bucket-s3lib");
  g_assert_true(error_of([&] { get_all(*nb, "k"); }).kind() == s3::ErrorKind::kNoSuchBucket);
  g_assert_true(error_of([&] { nb->head("k"); }).kind() == s3::ErrorKind::kNoSuchBucket);
  s3::Error le = error_of([&] { nb->list_page("", "", ""); });
  g_assert_true(le.kind() == s3::ErrorKind::kNoSuchBucket);
  g_assert_nonnull(strstr(le.what(), "no-such-bucket-s3lib"));

  s3::Config wrong = config;
  wrong.secret_key = "not-the-secret-" + config.secret_key.substr(0, 4);
  auto wb = open(wrong);
  s3::Error se = error_of([&] { wb->list_page("", "", ""); });
  g_assert_true(se.kind() == s3::ErrorKind::kSignatureMismatch);
  g_assert_nonnull(strstr(se.what(), "check the secret key"));
  g_assert_null(strstr(se.what(), wrong.secret_key.c_str()));
  g_assert_true(error_of([&] { wb->put_data("x", "y"); }).kind() ==
                s3::ErrorKind::kSignatureMismatch);
  // HEAD replies carry no error body; the library still finds the reason.
  s3::Error he = error_of([&] { wb->head("range/blob"); });
  g_assert_true(he.kind() == s3::ErrorKind::kSignatureMismatch);
  g_assert_nonnull(strstr(he.what(), "check the secret key"));
  s3::Config unknown = config;
  unknown.access_key = "AKUNKNOWN";
  s3::Error ue = error_of([&] { open(unknown)->head("x"); });
  g_assert_true(ue.kind() == s3::ErrorKind::kSignatureMismatch ||
                ue.kind() == s3::ErrorKind::kAccessDenied);

  // A clock 20 minutes off: the server refuses, and the message says what to fix.
  s3::internal::set_clock_skew_for_tests(20 * 60);
  s3::Error ke = error_of([&] { b->list_page("", "", ""); });
  s3::internal::set_clock_skew_for_tests(0);
  g_assert_true(ke.kind() == s3::ErrorKind::kClockSkew);
  assert_str(ke.code(), "RequestTimeTooSkewed");
  g_assert_nonnull(strstr(ke.what(), "clock is off"));

  // Unreachable: a loopback port nobody listens on (bound then closed).
  s3::Config closed = config;
  closed.endpoint = "http://127.0.0.1:" + std::to_string(closed_port());
  closed.connect_timeout_s = 3;
  closed.retries = 2;
  auto t0 = Clock::now();
  s3::Error ce = error_of([&] { open(closed)->head("x"); });
  g_assert_true(ce.kind() == s3::ErrorKind::kUnreachable);
  g_assert_nonnull(strstr(ce.what(), closed.endpoint.c_str()));
  // Refused connections fail at once; only the short backoff between the retries adds up.
  g_assert_cmpfloat(seconds_since(t0), <, closed.connect_timeout_s + 2.0);
}

void test_faults() {
  auto direct = open(base_config());
  std::string data = pattern(2 * 1024 * 1024, 3);
  direct->put_data("fault/blob", data);

  // 503 SlowDown twice, then fine: retried, result correct.
  proxy_rules(
      R"({"rules":[{"method":"GET","path":"^/s3lib/fault/blob","action":"503","count":2}]})");
  int before = proxy_faults();
  auto b = open(proxied());
  g_assert_true(get_all(*b, "fault/blob") == data);
  g_assert_cmpint(proxy_faults() - before, ==, 2);
  proxy_rules(
      R"({"rules":[{"method":"PUT","path":"^/s3lib/fault/put","action":"503","count":2}]})");
  before = proxy_faults();
  b->put_data("fault/put", "after two 503s");
  g_assert_cmpint(proxy_faults() - before, ==, 2);
  assert_str(get_all(*direct, "fault/put"), "after two 503s");

  // Connection reset after 300000 body bytes, twice: get() resumes and the bytes are exact.
  proxy_rules(
      R"({"rules":[{"method":"GET","path":"^/s3lib/fault/blob","action":"reset:300000","count":2}]})");
  before = proxy_faults();
  g_assert_true(get_all(*b, "fault/blob") == data);
  g_assert_cmpint(proxy_faults() - before, ==, 2);
  // The same for the streaming reader, from an offset.
  proxy_rules(
      R"({"rules":[{"method":"GET","path":"^/s3lib/fault/blob","action":"reset:500000","count":3}]})");
  before = proxy_faults();
  auto r = b->open_reader("fault/blob", 1000, -1, 128 * 1024);
  g_assert_true(read_all(*r, 7777) == data.substr(1000));
  g_assert_cmpint(proxy_faults() - before, ==, 3);

  // Retries exhausted: kServer with the server's message.
  proxy_rules(
      R"({"rules":[{"method":"GET","path":"^/s3lib/fault/blob","action":"503","count":-1}]})");
  auto t0 = Clock::now();
  s3::Error e = error_of([&] { get_all(*open(proxied(2)), "fault/blob"); });
  g_assert_true(e.kind() == s3::ErrorKind::kServer);
  g_assert_cmpint(e.http_status(), ==, 503);
  assert_str(e.code(), "SlowDown");
  g_assert_nonnull(strstr(e.what(), "Please reduce your request rate"));
  g_assert_nonnull(strstr(e.what(), "3 attempts"));
  g_assert_cmpfloat(seconds_since(t0), <, 10.0);
  // The reader too.
  s3::Error re = error_of([&] { read_all(*open(proxied(1))->open_reader("fault/blob", 0)); });
  g_assert_true(re.kind() == s3::ErrorKind::kServer);

  // An atomic create whose reply is lost: the retry meets our own object (412), which the
  // library recognises by its MD5; someone else's object still fails.
  proxy_rules(
      R"({"rules":[{"method":"PUT","path":"^/s3lib/fault/claim","action":"drop","count":1}]})");
  before = proxy_faults();
  s3::PutOptions once;
  once.if_none_match = true;
  s3::ObjectInfo claimed = b->put_data("fault/claim", "worker 7", once);
  g_assert_cmpint(proxy_faults() - before, ==, 1);
  assert_str(claimed.etag, md5_hex("worker 7"));
  assert_str(get_all(*direct, "fault/claim"), "worker 7");
  proxy_rules(
      R"({"rules":[{"method":"PUT","path":"^/s3lib/fault/claim","action":"drop","count":1}]})");
  g_assert_true(error_of([&] { b->put_data("fault/claim", "worker 8", once); }).kind() ==
                s3::ErrorKind::kPreconditionFailed);
  assert_str(get_all(*direct, "fault/claim"), "worker 7");
  // The same for put_file: the library recognises its object by the MD5 of the file (2 MiB, so
  // read in several chunks); a different file under that key still fails.
  gchar *claim_dir = g_dir_make_tmp("s3lib-claim-XXXXXX", nullptr);
  std::string claim_path = std::string(claim_dir) + "/claim.bin";
  g_assert_true(g_file_set_contents(claim_path.c_str(), data.data(), data.size(), nullptr));
  proxy_rules(
      R"({"rules":[{"method":"PUT","path":"^/s3lib/fault/claim-file","action":"drop","count":1}]})");
  before = proxy_faults();
  s3::ObjectInfo claimed_file = b->put_file("fault/claim-file", claim_path, once);
  g_assert_cmpint(proxy_faults() - before, ==, 1);
  assert_str(claimed_file.etag, md5_hex(data));
  g_assert_true(get_all(*direct, "fault/claim-file") == data);
  g_assert_true(g_file_set_contents(claim_path.c_str(), "other", 5, nullptr));
  proxy_rules(
      R"({"rules":[{"method":"PUT","path":"^/s3lib/fault/claim-file","action":"drop","count":1}]})");
  g_assert_true(error_of([&] { b->put_file("fault/claim-file", claim_path, once); }).kind() ==
                s3::ErrorKind::kPreconditionFailed);
  g_assert_true(get_all(*direct, "fault/claim-file") == data);
  g_unlink(claim_path.c_str());
  g_rmdir(claim_dir);
  g_free(claim_dir);

  // A stalled server: kTimeout after timeout_s, not a hang.
  proxy_rules(R"({"rules":[{"method":"*","path":"^/s3lib/fault/","action":"stall","count":-1}]})");
  t0 = Clock::now();
  s3::Error te = error_of([&] { get_all(*open(proxied(0, 2)), "fault/blob"); });
  g_assert_true(te.kind() == s3::ErrorKind::kTimeout);
  double took = seconds_since(t0);
  g_assert_cmpfloat(took, >=, 1.5);
  g_assert_cmpfloat(took, <, 8.0);
  t0 = Clock::now();
  s3::Error tr = error_of([&] { read_all(*open(proxied(0, 2))->open_reader("fault/blob", 0)); });
  g_assert_true(tr.kind() == s3::ErrorKind::kTimeout);
  g_assert_cmpfloat(seconds_since(t0), <, 8.0);
  // One stall then fine: the timeout is retried.
  proxy_rules(
      R"({"rules":[{"method":"GET","path":"^/s3lib/fault/blob","action":"stall","count":1}]})");
  g_assert_true(get_all(*open(proxied(2, 2)), "fault/blob") == data);
  proxy_rules(R"({"rules":[]})");
}

// Requests on one Bucket reuse their connections (the proxy counts both).
void test_connection_reuse() {
  auto b = open(proxied());
  b->put_data("reuse/k", "x");
  int requests = proxy_stat("requests"), connections = proxy_stat("connections");
  for (int i = 0; i < 20; i++) {
    b->head("reuse/k");
    get_all(*b, "reuse/k");
  }
  g_assert_cmpint(proxy_stat("requests") - requests, ==, 40);
  // Two control requests above opened connections of their own.
  g_assert_cmpint(proxy_stat("connections") - connections, <=, 1 + 2);
}

void test_no_secret_anywhere() {
  const std::string secret = base_config().secret_key;
  g_assert_cmpuint(secret.size(), >=, 8);
  std::lock_guard<std::mutex> lock(g_log_mutex);
  g_assert_cmpuint(g_captured.size(), >, 50);  // the tests above did log
  bool saw_retry = false;
  for (const auto &line : g_captured) {
    if (line.find(secret) != std::string::npos)
      g_error("secret in: %s", line.c_str());
    if (line.find("X-Amz-Signature=") != std::string::npos &&
        line.find("X-Amz-Signature=REDACTED") == std::string::npos)
      g_error("signature in: %s", line.c_str());
    if (line.find("Signature=") != std::string::npos && line.find("REDACTED") == std::string::npos)
      g_error("signature in: %s", line.c_str());
    if (line.find("retrying") != std::string::npos)
      saw_retry = true;
  }
  g_assert_true(saw_retry);
}

}  // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  if (!g_getenv("S3_ENDPOINT") || !g_getenv("S3_SECRET_KEY")) {
    g_printerr("test-s3-rgw: run me through tests/lib/with-s3-server --buckets s3lib\n");
    return 77;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  s3::set_log_handler([](s3::LogLevel, const std::string &line) {
    capture(line);
    if (g_getenv("S3_TEST_VERBOSE"))
      g_printerr("s3: %s\n", line.c_str());
  });
  start_proxy();
  g_test_add_func("/s3/rgw/list-2500-pages-prefixes", test_list_2500);
  g_test_add_func("/s3/rgw/odd-keys-copy-remove", test_odd_keys);
  g_test_add_func("/s3/rgw/ranges-and-reader", test_ranges_and_reader);
  g_test_add_func("/s3/rgw/put-file-streamed-copy-conditional", test_put_file_streamed);
  g_test_add_func("/s3/rgw/presign", test_presign);
  g_test_add_func("/s3/rgw/errors", test_errors);
  g_test_add_func("/s3/rgw/faults-retries-resume-timeouts", test_faults);
  g_test_add_func("/s3/rgw/connection-reuse", test_connection_reuse);
  g_test_add_func("/s3/rgw/no-secret-in-any-log-or-error", test_no_secret_anywhere);
  int rc = g_test_run();
  stop_proxy();
  s3::set_log_handler(nullptr);
  return rc;
}
