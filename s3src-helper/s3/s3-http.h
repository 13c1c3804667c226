// s3-http.h: a small RAII wrapper over libcurl easy handles for the S3 backend; no S3 logic here.
#pragma once

#include <curl/curl.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace s3 {
namespace http {

struct EasyDeleter {
  void operator()(CURL *easy) const { curl_easy_cleanup(easy); }
};
struct MultiDeleter {
  void operator()(CURLM *multi) const { curl_multi_cleanup(multi); }
};
struct SlistDeleter {
  void operator()(curl_slist *list) const { curl_slist_free_all(list); }
};
using Easy = std::unique_ptr<CURL, EasyDeleter>;
using Multi = std::unique_ptr<CURLM, MultiDeleter>;
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

// curl_global_init() once per process (thread-safe).
void global_init();
Easy new_easy();

struct Response;

struct Request {
  std::string method = "GET";        // GET HEAD PUT DELETE POST
  std::string url;                   // fully encoded
  std::vector<std::string> headers;  // "Name: value"
  // Body for PUT/POST: either in memory or streamed from body_fd (pread from offset 0).
  std::string_view body;
  int body_fd = -1;
  std::uint64_t body_size = 0;
  bool has_body = false;
  // Receives the body of a 2xx reply as it arrives (other replies are kept in Response::body).
  // Without a sink a 2xx body is kept in Response::body too.
  std::function<void(const char *, std::size_t)> sink;
  // Asked before each 2xx chunk goes to the sink: true pauses the transfer (curl_easy_pause)
  // and curl hands the same chunk over again once it is resumed.
  std::function<bool()> pause_before_write;
  // For a ranged GET: a server that ignores Range answers 200 with the whole object, so the
  // sink then gets only bytes [skip_if_200, skip_if_200 + cap_if_200) (cap < 0: to the end).
  std::uint64_t skip_if_200 = 0;
  std::int64_t cap_if_200 = -1;
  // For a 2xx reply with a sink, asked once before its first body byte reaches the sink: returns
  // why the reply must be refused ("" takes it; *retryable says whether asking again may help)
  // and may set *max_body, the most body bytes the reply may carry: a longer body aborts the
  // transfer, so bytes beyond what was asked for never reach the sink.
  std::function<std::string(const Response &, std::uint64_t *max_body, bool *retryable)>
      check_reply;
  int connect_timeout_s = 10;
  // Low-speed rule: abort a transfer that moved fewer than timeout_s * low_speed_bps bytes (up
  // and down; headers do not count) in the last timeout_s seconds: a stalled or trickling
  // server. A paused transfer (is_paused) is exempt, and its window starts again on resume.
  int timeout_s = 30;
  long low_speed_bps = 1;
  std::function<bool()> is_paused;
  // The whole transfer's deadline (CURLOPT_TIMEOUT_MS); 0 = none (streamed object data, which
  // the low-speed rule bounds instead).
  long deadline_ms = 0;
  // Bodies kept in Response::body (a 2xx reply without a sink, e.g. XML, and every other reply)
  // are refused past these sizes: the transfer is aborted and Response::refused says why.
  std::size_t max_kept_body = 16 << 20;
  std::size_t max_error_body = 1 << 20;
  bool verify_tls = true;
};

struct Response {
  long status = 0;
  CURLcode curl_code = CURLE_OK;
  std::string curl_error;
  bool connected =
      false;  // whether a connection was established (tells connect from transfer timeouts)
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names, last value wins
  std::uint64_t delivered = 0;                 // bytes handed to the sink
  // Set when the transfer was aborted because of the reply itself (too large, a wrong range):
  // the reason, and whether another attempt may get a better reply.
  std::string refused;
  bool refused_retryable = false;
  std::string header(const std::string &name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

// One transfer's state and callbacks; configure() sets an easy handle up for it so that the same
// code drives a blocking perform() and a handle inside a curl multi (the streaming reader).
class Transfer {
 public:
  explicit Transfer(Request request);
  Transfer(const Transfer &) = delete;
  Transfer &operator=(const Transfer &) = delete;
  void configure(CURL *easy);
  // After the transfer ended with code: fills the response's status, code and error text.
  void finish(CURL *easy, CURLcode code);
  Response &response() { return response_; }
  const Request &request() const { return request_; }
  // An exception thrown by the sink, to rethrow once curl has returned.
  std::exception_ptr sink_error() const { return sink_error_; }

 private:
  static size_t on_header(char *data, size_t size, size_t n, void *self);
  static size_t on_write(char *data, size_t size, size_t n, void *self);
  static size_t on_read(char *data, size_t size, size_t n, void *self);
  static int on_seek(void *self, curl_off_t offset, int origin);
  static int on_progress(void *self, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                         curl_off_t ulnow);

  Request request_;
  Response response_;
  Slist header_list_;
  char error_buf_[CURL_ERROR_SIZE] = {};
  std::uint64_t upload_pos_ = 0;
  std::uint64_t body_pos_ = 0;  // bytes of a 2xx body seen by on_write
  bool checked_ = false;        // check_reply was asked
  std::uint64_t max_body_ = UINT64_MAX;
  std::size_t header_bytes_ = 0;
  // (time, bytes moved) samples of the last timeout_s seconds, for the low-speed rule.
  std::deque<std::pair<std::chrono::steady_clock::time_point, std::uint64_t>> rate_samples_;
  bool too_slow_ = false;
  std::exception_ptr sink_error_;
  CURL *easy_ = nullptr;
};

// Runs request on easy (blocking); rethrows the sink's exception if it threw.
Response perform(CURL *easy, Request request);

// Easy handles kept between requests so that connections are reused; thread-safe.
class HandlePool {
 public:
  Easy acquire();
  void release(Easy easy);

 private:
  std::mutex mutex_;
  std::vector<Easy> idle_;
};

}  // namespace http
}  // namespace s3
