// s3-bucket-s3.cpp: the S3 backend: request building and signing, retries, error mapping, reader.
#include <fcntl.h>
#include <glib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <optional>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "s3-client.h"
#include "s3-http.h"
#include "s3-internal.h"
#include "s3-sigv4.h"
#include "s3-xml.h"

namespace s3 {
namespace internal {

namespace {

using sigv4::Pairs;
using Clock = std::chrono::steady_clock;

constexpr int kMaxBackoffMs = 20000;
constexpr int kBaseBackoffMs = 100;
// An attempt that delivered at least this much before failing made progress and earns a fresh
// retry budget; a trickle or a reset after a few bytes does not, so such a server cannot keep a
// transfer going forever.
constexpr std::uint64_t kProgressBytes = 64 * 1024;

bool retryable_code(const std::string &code) {
  return code == "SlowDown" || code == "RequestTimeout" || code == "InternalError" ||
         code == "ServiceUnavailable" || code == "Throttling" || code == "ThrottlingException" ||
         code == "RequestLimitExceeded" || code == "TooManyRequests";
}

// Exponential backoff with jitter: attempt 0 waits 50..100 ms, then doubles up to the cap.
int backoff_ms(int attempt) {
  static thread_local std::mt19937 rng{std::random_device{}()};
  long ceiling =
      std::min<long>(kMaxBackoffMs, static_cast<long>(kBaseBackoffMs) << std::min(attempt, 16));
  std::uniform_int_distribution<long> dist(ceiling / 2, ceiling);
  return static_cast<int>(dist(rng));
}

// What a failed attempt means: the error to throw, and whether another attempt may help.
struct Failure {
  Error error;
  bool retryable;
};

// Everything a request needs, shared by the bucket and its readers (which may outlive it).
class Context {
 public:
  Context(const Url &url, const Config &config) : url_(url), config_(config) {
    std::string endpoint = config_.endpoint;
    if (endpoint.empty()) {
      scheme_ = "https";
      host_ = "s3." + (config_.region.empty() ? std::string("us-east-1") : config_.region) +
              ".amazonaws.com";
    } else {
      std::size_t sep = endpoint.find("://");
      if (sep == std::string::npos)
        throw Error(ErrorKind::kInvalidArgument,
                    "the S3 endpoint '" + endpoint + "' needs a scheme (http:// or https://)");
      scheme_ = to_lower(endpoint.substr(0, sep));
      if (scheme_ != "http" && scheme_ != "https")
        throw Error(ErrorKind::kInvalidArgument,
                    "the S3 endpoint '" + endpoint + "' must start with http:// or https://");
      std::string rest = endpoint.substr(sep + 3);
      std::size_t slash = rest.find('/');
      host_ = rest.substr(0, slash);
      if (slash != std::string::npos)
        base_path_ = rest.substr(slash);
      while (!base_path_.empty() && base_path_.back() == '/')
        base_path_.pop_back();
      if (host_.empty() || host_.find('@') != std::string::npos)
        throw Error(ErrorKind::kInvalidArgument,
                    "the S3 endpoint '" + endpoint + "' has no usable host name");
      // curl leaves default ports out of Host:, and the signed host must match what is sent.
      if (scheme_ == "http" && ends_with(host_, ":80"))
        host_.resize(host_.size() - 3);
      if (scheme_ == "https" && ends_with(host_, ":443"))
        host_.resize(host_.size() - 4);
    }
    bool dns_safe = !url_.bucket.empty() && url_.bucket.find('.') == std::string::npos &&
                    url_.bucket.find('_') == std::string::npos;
    for (char c : url_.bucket)
      if (g_ascii_isupper(c))
        dns_safe = false;
    switch (config_.addressing) {
      case Addressing::kPath:
        path_style_ = true;
        break;
      case Addressing::kVirtualHost:
        path_style_ = false;
        break;
      case Addressing::kAuto:
        path_style_ = !config_.endpoint.empty() || !dns_safe;
        break;
    }
    credentials_.access_key = config_.access_key;
    credentials_.secret_key = config_.secret_key;
    credentials_.session_token = config_.session_token;
    credentials_.region = config_.region.empty() ? "us-east-1" : config_.region;
  }

  const Url &url() const { return url_; }
  const Config &config() const { return config_; }
  std::string endpoint_name() const { return scheme_ + "://" + host_ + base_path_; }

  std::string host() const { return path_style_ ? host_ : url_.bucket + "." + host_; }
  // Raw (unencoded) request path of key; key "" addresses the bucket itself.
  std::string path(const std::string &key) const {
    std::string p = base_path_;
    if (path_style_)
      p += "/" + url_.bucket;
    if (!key.empty() || !path_style_)
      p += "/" + key;
    return p;
  }
  std::string object_name(const std::string &key) const {
    Url u = url_;
    u.key = key;
    return u.str();
  }

  // Builds the signed request; fresh date per attempt so a slow retry never goes stale.
  http::Request build(const std::string &method, const std::string &key, const Pairs &query,
                      const Pairs &extra_headers, const std::string &payload_hash) const {
    http::Request request;
    request.method = method;
    std::string raw_path = path(key);
    std::string q = sigv4::canonical_query(query);
    request.url =
        scheme_ + "://" + host() + sigv4::uri_encode(raw_path, false) + (q.empty() ? "" : "?" + q);
    request.connect_timeout_s = config_.connect_timeout_s;
    request.timeout_s = config_.timeout_s;
    request.low_speed_bps = config_.min_rate_bps;
    request.verify_tls = config_.verify_tls;

    sigv4::Request sr;
    sr.method = method;
    sr.path = raw_path;
    sr.query = query;
    sr.headers = extra_headers;
    sr.headers.emplace_back("host", host());
    sr.payload_hash = payload_hash;
    if (!credentials_.access_key.empty()) {
      std::string date = sigv4::amz_date(signing_time());
      sr.headers.emplace_back("x-amz-date", date);
      sr.headers.emplace_back("x-amz-content-sha256", payload_hash);
      if (!credentials_.session_token.empty())
        sr.headers.emplace_back("x-amz-security-token", credentials_.session_token);
      request.headers.push_back("Authorization: " + sigv4::authorization(sr, credentials_, date));
    }
    for (const auto &[name, value] : sr.headers)
      request.headers.push_back(name + ": " + value);
    return request;
  }

  std::string presign(const std::string &key, int expires_s) const {
    if (credentials_.access_key.empty() || credentials_.secret_key.empty())
      throw Error(ErrorKind::kInvalidArgument,
                  "presigning needs an access key and a secret key (S3_ACCESS_KEY, S3_SECRET_KEY)");
    if (expires_s < 1 || expires_s > 604800)
      throw Error(ErrorKind::kInvalidArgument,
                  "a presigned URL must expire within 1..604800 seconds (7 days), not " +
                      std::to_string(expires_s));
    sigv4::Request sr;
    sr.method = "GET";
    sr.path = path(key);
    sr.headers.emplace_back("host", host());
    std::string date = sigv4::amz_date(signing_time());
    return scheme_ + "://" + host() + sigv4::uri_encode(sr.path, false) + "?" +
           sigv4::presign_query(sr, credentials_, date, expires_s);
  }

  // Maps an S3 error reply to a one-line message a user can act on.
  Failure http_failure(const std::string &what, const std::string &key, const http::Response &r,
                       int attempts) const {
    xml::ErrorBody body;
    xml::parse_error(r.body, &body);
    if (body.code.empty())
      body.code = r.header("x-amz-error-code");
    int status = static_cast<int>(r.status);
    std::string detail = "HTTP " + std::to_string(status) +
                         (body.code.empty() ? "" : " " + body.code) +
                         (body.message.empty() ? "" : ": " + body.message);
    const std::string &code = body.code;
    auto fail = [&](ErrorKind kind, const std::string &msg, bool retry = false) {
      return Failure{Error(kind, msg, status, code), retry};
    };
    if (code == "SignatureDoesNotMatch")
      return fail(ErrorKind::kSignatureMismatch,
                  "S3 at " + endpoint_name() + " rejected the request signature for " + what +
                      " (SignatureDoesNotMatch): check the secret key (S3_SECRET_KEY)");
    if (code == "InvalidAccessKeyId")
      return fail(ErrorKind::kSignatureMismatch,
                  "S3 at " + endpoint_name() + " does not know the access key used for " + what +
                      " (InvalidAccessKeyId): check the access key (S3_ACCESS_KEY)");
    if (code == "RequestTimeTooSkewed")
      return fail(ErrorKind::kClockSkew,
                  "S3 at " + endpoint_name() + " rejected " + what +
                      " because the local clock is off by more than 15 minutes "
                      "(RequestTimeTooSkewed): fix the system time");
    if (code == "NoSuchBucket")
      return fail(ErrorKind::kNoSuchBucket,
                  "the bucket '" + url_.bucket + "' does not exist on " + endpoint_name());
    if (code == "NoSuchKey" || (status == 404 && code.empty()))
      return fail(ErrorKind::kNotFound, object_name(key) + " does not exist");
    if (status == 412 || code == "PreconditionFailed")
      return fail(ErrorKind::kPreconditionFailed, "a precondition of " + what + " failed (" +
                                                      detail +
                                                      "): the object exists already or changed");
    if (status == 416 || code == "InvalidRange")
      return fail(ErrorKind::kRangeNotSatisfiable,
                  "the requested range is outside " + object_name(key) + " (" + detail + ")");
    if (status == 403)
      return fail(ErrorKind::kAccessDenied,
                  "S3 at " + endpoint_name() + " denied " + what + " (" + detail +
                      "): check the access key, the secret key and the bucket's permissions");
    bool retry = status >= 500 || status == 429 || retryable_code(code);
    if (retry || status == 0)
      return fail(ErrorKind::kServer,
                  "S3 at " + endpoint_name() + " failed " + what + " after " +
                      std::to_string(attempts) + (attempts == 1 ? " attempt" : " attempts") + " (" +
                      detail + ")",
                  retry);
    if (status == 301 || status == 307 || code == "AuthorizationHeaderMalformed")
      return fail(ErrorKind::kInvalidArgument,
                  "S3 at " + endpoint_name() + " refused " + what + " (" + detail +
                      "): the bucket may be in another region; check S3_REGION");
    return fail(ErrorKind::kInvalidArgument,
                "S3 at " + endpoint_name() + " refused " + what + " (" + detail + ")");
  }

  Failure curl_failure(const std::string &what, const http::Response &r, int attempts) const {
    std::string server = endpoint_name();
    switch (r.curl_code) {
      case CURLE_COULDNT_RESOLVE_HOST:
      case CURLE_COULDNT_RESOLVE_PROXY:
        return {Error(ErrorKind::kUnreachable, "cannot resolve the host of " + server + " (" +
                                                   r.curl_error +
                                                   "): check S3_ENDPOINT and the network"),
                false};
      case CURLE_COULDNT_CONNECT:
        return {Error(ErrorKind::kUnreachable,
                      "cannot connect to " + server + " (" + r.curl_error +
                          "): check S3_ENDPOINT and that the server is running"),
                true};
      case CURLE_OPERATION_TIMEDOUT:
        if (!r.connected)
          return {Error(ErrorKind::kTimeout, "connecting to " + server + " timed out after " +
                                                 std::to_string(config_.connect_timeout_s) +
                                                 " s: check S3_ENDPOINT and the network"),
                  true};
        return {Error(ErrorKind::kTimeout, "less than " + std::to_string(config_.min_rate_bps) +
                                               " bytes/s from " + server + " for " +
                                               std::to_string(config_.timeout_s) + " s during " +
                                               what + " (timeout: a stalled or trickling server)"),
                true};
      case CURLE_PEER_FAILED_VERIFICATION:
      case CURLE_SSL_CACERT_BADFILE:
        return {Error(ErrorKind::kUnreachable,
                      "the TLS certificate of " + server + " is not trusted (" + r.curl_error +
                          "); disable verification only for test servers (S3_VERIFY_TLS=false)"),
                false};
      case CURLE_ABORTED_BY_CALLBACK:
        return {Error(ErrorKind::kCancelled, what + " was cancelled"), false};
      default:
        return {Error(ErrorKind::kServer, "the connection to " + server + " failed during " + what +
                                              " after " + std::to_string(attempts) +
                                              (attempts == 1 ? " attempt" : " attempts") + " (" +
                                              r.curl_error + ")"),
                true};
    }
  }

 private:
  Url url_;
  Config config_;
  std::string scheme_;
  std::string host_;
  std::string base_path_;
  bool path_style_ = true;
  sigv4::Credentials credentials_;
};

void log_attempt(const std::string &method, const std::string &url, const http::Response &r,
                 Clock::time_point start) {
  if (!log_enabled(LogLevel::kDebug))
    return;
  long ms = static_cast<long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count());
  std::string result = r.curl_code == CURLE_OK ? std::to_string(r.status) : r.curl_error;
  log(LogLevel::kDebug, method + " " + url + " -> " + result + " (" + std::to_string(ms) + " ms)");
}

void sleep_before_retry(const std::string &what, const Error &error, int attempt, int retries,
                        const std::atomic<bool> *cancelled = nullptr) {
  int ms = backoff_ms(attempt);
  log(LogLevel::kInfo, "retrying " + what + " in " + std::to_string(ms) + " ms (retry " +
                           std::to_string(attempt + 1) + " of " + std::to_string(retries) +
                           "): " + error.what());
  auto until = Clock::now() + std::chrono::milliseconds(ms);
  while (Clock::now() < until) {
    if (cancelled && *cancelled)
      return;
    std::this_thread::sleep_for(
        std::min<Clock::duration>(std::chrono::milliseconds(20), until - Clock::now()));
  }
}

// One operation with its retry loop. A GET with a sink resumes after the bytes it has
// already delivered, so a reset connection never duplicates or loses data.
struct Op {
  std::string method = "GET";
  std::string key;
  Pairs query;
  Pairs headers;
  std::string payload_hash = sigv4::sha256_hex("");
  std::string_view body;
  int body_fd = -1;
  std::uint64_t body_size = 0;
  bool has_body = false;
  bool error_in_200 = false;  // CopyObject may report failure inside a 200 reply
  // Ranged GET with a sink: range start, and length (< 0: to the end).
  bool ranged = false;
  std::uint64_t offset = 0;
  std::int64_t length = -1;
  std::function<void(const char *, std::size_t)> sink;
  // Set by execute(): an attempt failed without a reply, so it may have taken effect.
  bool maybe_applied = false;
  // Object data streamed through a sink or from a file: bounded by the low-speed rule only.
  // Every other operation must end by its deadline (Config::request_timeout_s from its start,
  // unless the caller set one), retries included.
  bool streamed = false;
  std::optional<Clock::time_point> deadline;
};

class S3Reader;

// A whole decimal number (no sign, no blanks), as HTTP writes lengths.
bool parse_decimal(std::string_view text, std::uint64_t *value) {
  if (text.empty() || text.size() > 19)
    return false;
  std::uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9')
      return false;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  *value = v;
  return true;
}

// "bytes 0-9/1234": first 0, last 9, total 1234 (has_total false for "/*").
bool parse_content_range(const std::string &text, std::uint64_t *first, std::uint64_t *last,
                         std::uint64_t *total, bool *has_total) {
  std::string_view v(text);
  if (!starts_with(v, "bytes "))
    return false;
  v.remove_prefix(6);
  std::size_t dash = v.find('-'), slash = v.find('/');
  if (dash == std::string_view::npos || slash == std::string_view::npos || slash < dash)
    return false;
  if (!parse_decimal(v.substr(0, dash), first) ||
      !parse_decimal(v.substr(dash + 1, slash - dash - 1), last) || *last < *first)
    return false;
  *has_total = v.substr(slash + 1) != "*";
  if (*has_total && (!parse_decimal(v.substr(slash + 1), total) || *total <= *last))
    return false;
  return true;
}

// "bytes 0-9/1234" -> 1234.
bool content_range_total(const std::string &content_range, std::uint64_t *total) {
  std::uint64_t first = 0, last = 0;
  bool has_total = false;
  return parse_content_range(content_range, &first, &last, total, &has_total) && has_total;
}

// Checks a 2xx reply to a GET of [start, end) (end unset: to the object's end) before any of its
// body is used. *size is the object's size once a reply told it; every later reply must agree.
// Returns why the reply is refused, or ""; sets *max_body to the body length the reply announced.
std::string check_range_reply(const http::Response &r, std::uint64_t start,
                              std::optional<std::uint64_t> end, std::optional<std::uint64_t> *size,
                              std::uint64_t *max_body, bool *retryable) {
  *retryable = true;
  std::uint64_t length = 0;
  std::string length_text = r.header("content-length");
  bool has_length = parse_decimal(length_text, &length);
  auto size_changed = [&](std::uint64_t now) {
    return "the object's size changed from " + std::to_string(**size) + " to " +
           std::to_string(now) + " bytes between two replies";
  };
  if (r.status == 206) {
    std::uint64_t first = 0, last = 0, total = 0;
    bool has_total = false;
    std::string range = r.header("content-range");
    if (!parse_content_range(range, &first, &last, &total, &has_total))
      return "a 206 reply with an invalid Content-Range ('" + range.substr(0, 80) + "')";
    if (first != start)
      return "the server answered a request for the bytes from " + std::to_string(start) +
             " with the bytes from " + std::to_string(first) + " (Content-Range: " + range + ")";
    if (end && last >= *end)
      return "the server sent bytes up to " + std::to_string(last) + ", beyond the " +
             std::to_string(*end - 1) + " asked for (Content-Range: " + range + ")";
    if (has_total) {
      if (*size && **size != total)
        return size_changed(total);
      *size = total;
    }
    if (has_length && length != last - first + 1)
      return "its Content-Length " + length_text + " does not match its Content-Range " + range;
    *max_body = last - first + 1;
    return "";
  }
  if (r.status == 200) {
    // The whole object, from a server that ignores Range.
    if (has_length) {
      if (*size && **size != length)
        return size_changed(length);
      *size = length;
    }
    if (*size)
      *max_body = **size;
  }
  return "";
}

class S3Bucket : public Bucket {
 public:
  S3Bucket(const Url &url, const Config &config) : ctx_(std::make_shared<Context>(url, config)) {}

  const Url &url() const override { return ctx_->url(); }

  http::Response execute(Op &op) {
    std::string what = op.method + " " + ctx_->object_name(op.key);
    int retries = std::max(0, ctx_->config().retries);
    std::uint64_t delivered = 0;
    std::string etag;  // of the first reply, to make sure a resumed GET reads the same object
    std::optional<std::uint64_t> size;  // the object's, from the first reply that told it
    bool refused_before = false;
    if (!op.streamed && !op.deadline)
      op.deadline = Clock::now() + std::chrono::seconds(ctx_->config().request_timeout_s);
    for (int attempt = 0;; attempt++) {
      Pairs headers = op.headers;
      std::uint64_t range_start = op.offset + delivered;
      std::optional<std::uint64_t> end;
      if (op.length >= 0)
        end = op.offset + static_cast<std::uint64_t>(op.length);
      // Even a whole-object GET asks for a range: a 206 states the object's size, so a reply cut
      // short (by a lying Content-Length too) is seen. An empty object answers it with 416.
      if (op.ranged) {
        std::string range = "bytes=" + std::to_string(range_start) + "-";
        if (end)
          range += std::to_string(*end - 1);
        headers.emplace_back("range", range);
        if (!etag.empty())
          headers.emplace_back("if-match", "\"" + etag + "\"");
      }
      http::Request request = ctx_->build(op.method, op.key, op.query, headers, op.payload_hash);
      request.body = op.body;
      request.body_fd = op.body_fd;
      request.body_size = op.body_size;
      request.has_body = op.has_body;
      if (op.ranged) {
        request.skip_if_200 = op.offset + delivered;
        request.cap_if_200 = op.length < 0 ? -1 : op.length - static_cast<std::int64_t>(delivered);
        request.check_reply = [&size, range_start, end](const http::Response &reply,
                                                        std::uint64_t *max_body, bool *retryable) {
          return check_range_reply(reply, range_start, end, &size, max_body, retryable);
        };
      }
      if (op.deadline) {
        auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(*op.deadline - Clock::now());
        if (left.count() <= 0)
          throw deadline_error(what);
        request.deadline_ms = static_cast<long>(left.count());
        request.connect_timeout_s = std::max(
            1, std::min(request.connect_timeout_s, static_cast<int>((left.count() + 999) / 1000)));
      }
      std::uint64_t this_attempt = 0;
      if (op.sink) {
        request.sink = [&](const char *data, std::size_t len) {
          op.sink(data, len);
          this_attempt += len;
        };
      }
      http::Easy easy = pool_.acquire();
      auto start = Clock::now();
      // If the sink throws, the handle is dropped with it: its connection state is unknown.
      http::Response r = http::perform(easy.get(), request);
      pool_.release(std::move(easy));
      log_attempt(op.method, request.url, r, start);
      delivered += this_attempt;
      if (etag.empty())
        etag = xml::strip_etag(r.header("etag"));

      std::optional<Failure> failure;
      std::uint64_t expected = 0;
      if (!r.refused.empty()) {
        failure = Failure{Error(ErrorKind::kServer,
                                "S3 at " + ctx_->endpoint_name() + ": the reply to " + what +
                                    " was refused: " + r.refused,
                                static_cast<int>(r.status)),
                          r.refused_retryable && !refused_before};
        refused_before = true;
      } else if (r.curl_code == CURLE_OPERATION_TIMEDOUT && op.deadline &&
                 Clock::now() + std::chrono::milliseconds(50) >= *op.deadline) {
        throw deadline_error(what);
      } else if (r.curl_code != CURLE_OK) {
        failure = ctx_->curl_failure(what, r, attempt + 1);
      } else if (op.ranged && r.status == 416 && op.offset == 0 && delivered == 0 &&
                 op.length < 0) {
        return r;  // the whole of an empty object
      } else if (r.status < 200 || r.status >= 300) {
        failure = ctx_->http_failure(what, op.key, r, attempt + 1);
      } else if (op.error_in_200) {
        xml::ErrorBody body;
        if (xml::parse_error(r.body, &body)) {
          http::Response as_error = r;
          as_error.status = retryable_code(body.code) ? 500 : 400;
          failure = ctx_->http_failure(what, op.key, as_error, attempt + 1);
        }
      } else if (op.ranged && (op.length >= 0 || size) &&
                 delivered < (expected = expected_length(op, size))) {
        // A clean end before the promised length: the connection was cut, or the server sent
        // less than its Content-Range said.
        failure = Failure{Error(ErrorKind::kServer, "the reply to " + what + " ended early after " +
                                                        std::to_string(delivered) + " of " +
                                                        std::to_string(expected) + " bytes"),
                          true};
      }
      if (!failure)
        return r;
      if (r.curl_code != CURLE_OK && r.curl_code != CURLE_COULDNT_CONNECT &&
          r.curl_code != CURLE_COULDNT_RESOLVE_HOST)
        op.maybe_applied = true;
      if (this_attempt >= kProgressBytes && r.refused.empty() &&
          r.curl_code != CURLE_OPERATION_TIMEDOUT)
        attempt = 0;  // progress was made: the budget is per stall
      if (!failure->retryable || attempt >= retries)
        throw failure->error;
      // No retry that could not finish in time: the last error says more than the deadline.
      if (op.deadline && Clock::now() + std::chrono::milliseconds(backoff_ms(attempt)) +
                                 std::chrono::milliseconds(100) >=
                             *op.deadline)
        throw failure->error;
      sleep_before_retry(what, failure->error, attempt, retries);
    }
  }

  Error deadline_error(const std::string &what) const {
    return Error(ErrorKind::kTimeout, "S3 at " + ctx_->endpoint_name() + " did not complete " +
                                          what + " within " +
                                          std::to_string(ctx_->config().request_timeout_s) +
                                          " s (the request deadline): the server is stalled, "
                                          "trickling or overloaded");
  }

  // How many bytes a ranged GET of op delivers in all: its length, cut at the object's end.
  static std::uint64_t expected_length(const Op &op, std::optional<std::uint64_t> size) {
    std::uint64_t length = op.length < 0 ? UINT64_MAX : static_cast<std::uint64_t>(op.length);
    if (size)
      length = std::min(length, *size > op.offset ? *size - op.offset : 0);
    return length;
  }

  ListPage list_page(const std::string &prefix, const std::string &delimiter,
                     const std::string &continuation_token, int max_keys) override {
    if (max_keys < 1 || max_keys > 1000)
      throw Error(ErrorKind::kInvalidArgument, "max-keys must be 1..1000");
    Op op;
    op.query.emplace_back("list-type", "2");
    op.query.emplace_back("max-keys", std::to_string(max_keys));
    if (!prefix.empty())
      op.query.emplace_back("prefix", prefix);
    if (!delimiter.empty())
      op.query.emplace_back("delimiter", delimiter);
    if (!continuation_token.empty())
      op.query.emplace_back("continuation-token", continuation_token);
    http::Response r = execute(op);
    return xml::parse_list(r.body, static_cast<std::size_t>(max_keys));
  }

  ObjectInfo head(const std::string &key) override {
    Op op;
    op.method = "HEAD";
    op.key = key;
    http::Response r;
    try {
      r = execute(op);
    } catch (const Error &e) {
      // A HEAD reply has no body, so it cannot tell a missing key from a missing bucket or a
      // bad signature from a policy denial: a one-byte GET gets the server's error code.
      if (e.code().empty() && (e.http_status() == 403 || e.http_status() == 404)) {
        Op probe;
        probe.key = key;
        probe.deadline = op.deadline;
        probe.headers.emplace_back("range", "bytes=0-0");
        probe.sink = [](const char *, std::size_t) {};
        try {
          execute(probe);
        } catch (const Error &pe) {
          if (!pe.code().empty())
            throw pe;
        }
      }
      throw;
    }
    ObjectInfo info;
    info.key = key;
    info.size = std::strtoull(r.header("content-length").c_str(), nullptr, 10);
    info.etag = xml::strip_etag(r.header("etag"));
    info.last_modified = r.header("last-modified");
    info.content_type = r.header("content-type");
    return info;
  }

  std::uint64_t get(const std::string &key, std::uint64_t offset, std::int64_t length,
                    const std::function<void(const char *, std::size_t)> &sink) override {
    if (length == 0)
      return 0;
    Op op;
    op.key = key;
    op.offset = offset;
    op.length = length;
    std::uint64_t total = 0;
    op.sink = [&](const char *data, std::size_t len) {
      sink(data, len);
      total += len;
    };
    op.ranged = true;
    op.streamed = true;
    execute(op);
    return total;
  }

  std::unique_ptr<Reader> open_reader(const std::string &key, std::uint64_t offset,
                                      std::int64_t length, std::size_t read_ahead) override;

  std::unique_ptr<Upload> open_upload(const std::string &key, const PutOptions &options,
                                      std::size_t part_size) override;

  std::vector<PendingUpload> pending_uploads(const std::string &prefix) override {
    Op op;
    op.query.emplace_back("uploads", "");
    if (!prefix.empty())
      op.query.emplace_back("prefix", prefix);
    http::Response r = execute(op);
    return xml::parse_list_uploads(r.body);
  }

  ObjectInfo put_file(const std::string &key, const std::string &path,
                      const PutOptions &options) override {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      throw Error(errno == ENOENT ? ErrorKind::kNotFound : ErrorKind::kIo,
                  "cannot open " + path + ": " + std::strerror(errno));
    std::unique_ptr<int, void (*)(int *)> closer(&fd, [](int *f) { close(*f); });
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
      throw Error(ErrorKind::kIo, path + " is not a regular file");
    Op op;
    op.method = "PUT";
    op.key = key;
    op.body_fd = fd;
    op.body_size = static_cast<std::uint64_t>(st.st_size);
    op.has_body = true;
    op.streamed = true;
    // Streamed: hashing the file first would read it twice.
    op.payload_hash = "UNSIGNED-PAYLOAD";
    add_put_headers(options, &op);
    http::Response r = execute_put(op, options, [&] { return md5_of_fd(fd, path); });
    return put_result(key, op.body_size, options, r);
  }

  ObjectInfo put_data(const std::string &key, std::string_view data,
                      const PutOptions &options) override {
    Op op;
    op.method = "PUT";
    op.key = key;
    op.body = data;
    op.has_body = true;
    op.payload_hash = sigv4::sha256_hex(data);
    add_put_headers(options, &op);
    http::Response r = execute_put(op, options, [&] { return md5_of(data); });
    return put_result(key, data.size(), options, r);
  }

  ObjectInfo copy(const std::string &src_key, const std::string &dst_key,
                  const CopyOptions &options) override {
    Op op;
    op.method = "PUT";
    op.key = dst_key;
    op.has_body = true;
    op.error_in_200 = true;
    op.headers.emplace_back("x-amz-copy-source",
                            "/" + url().bucket + "/" + sigv4::uri_encode(src_key, false));
    if (options.if_none_match)
      op.headers.emplace_back("if-none-match", "*");
    http::Response r = execute(op);
    ObjectInfo info;
    xml::ErrorBody error;
    if (!xml::parse_copy_result(r.body, &info, &error))
      throw Error(ErrorKind::kServer,
                  "S3 at " + ctx_->endpoint_name() + " failed to copy " +
                      ctx_->object_name(src_key) + " to " + ctx_->object_name(dst_key) + " (" +
                      error.code + ": " + error.message + ")",
                  static_cast<int>(r.status), error.code);
    info.key = dst_key;
    return info;
  }

  void remove(const std::string &key) override {
    Op op;
    op.method = "DELETE";
    op.key = key;
    execute(op);
  }

  std::string presign(const std::string &key, int expires_s) override {
    return ctx_->presign(key, expires_s);
  }

  std::shared_ptr<Context> context() const { return ctx_; }

 private:
  // With If-None-Match, a retry after a lost reply meets our own first write as "the key
  // exists": it is ours when the stored ETag is the MD5 of what we sent.
  http::Response execute_put(Op &op, const PutOptions &options,
                             const std::function<std::string()> &our_md5) {
    try {
      return execute(op);
    } catch (const Error &e) {
      if (e.kind() != ErrorKind::kPreconditionFailed || !options.if_none_match || !op.maybe_applied)
        throw;
      ObjectInfo stored = head(op.key);
      if (g_ascii_strcasecmp(stored.etag.c_str(), our_md5().c_str()) != 0)
        throw;
      log(LogLevel::kInfo, "PUT " + ctx_->object_name(op.key) +
                               ": the reply was lost but the stored object is ours (same MD5)");
      http::Response r;
      r.status = 200;
      r.headers["etag"] = "\"" + stored.etag + "\"";
      r.headers["last-modified"] = stored.last_modified;
      return r;
    }
  }

  static std::string md5_of(std::string_view data) {
    std::unique_ptr<gchar, decltype(&g_free)> s(
        g_compute_checksum_for_data(G_CHECKSUM_MD5, reinterpret_cast<const guchar *>(data.data()),
                                    data.size()),
        g_free);
    return s.get();
  }

  static std::string md5_of_fd(int fd, const std::string &path) {
    std::unique_ptr<GChecksum, decltype(&g_checksum_free)> sum(g_checksum_new(G_CHECKSUM_MD5),
                                                               g_checksum_free);
    // From offset 0 with pread, like the upload (s3-http.cpp) reads this same descriptor.
    read_chunks_at(fd, path, 0, [&](const char *data, std::size_t size) {
      g_checksum_update(sum.get(), reinterpret_cast<const guchar *>(data),
                        static_cast<gssize>(size));
    });
    return g_checksum_get_string(sum.get());
  }

  static void add_put_headers(const PutOptions &options, Op *op) {
    op->headers.emplace_back("content-type", options.content_type.empty()
                                                 ? std::string("application/octet-stream")
                                                 : options.content_type);
    if (options.if_none_match)
      op->headers.emplace_back("if-none-match", "*");
  }

  static ObjectInfo put_result(const std::string &key, std::uint64_t size,
                               const PutOptions &options, const http::Response &r) {
    ObjectInfo info;
    info.key = key;
    info.size = size;
    info.etag = xml::strip_etag(r.header("etag"));
    info.last_modified = r.header("last-modified");
    info.content_type =
        options.content_type.empty() ? "application/octet-stream" : options.content_type;
    return info;
  }

  std::shared_ptr<Context> ctx_;
  http::HandlePool pool_;
};

// Pull model: read() drives curl itself (no thread); data the server sends between calls waits
// in the socket and in a buffer of up to read_ahead bytes, beyond which the transfer is paused.
class S3Reader : public Reader {
 public:
  S3Reader(std::shared_ptr<Context> ctx, std::string key, std::uint64_t offset, std::int64_t length,
           std::size_t read_ahead)
      : ctx_(std::move(ctx)),
        key_(std::move(key)),
        offset_(offset),
        has_end_(length >= 0),
        end_(length >= 0 ? offset + static_cast<std::uint64_t>(length) : 0),
        read_ahead_(std::max<std::size_t>(read_ahead, 64 * 1024)),
        multi_(curl_multi_init()) {
    if (!multi_)
      throw std::bad_alloc();
    what_ = "GET " + ctx_->object_name(key_);
  }

  ~S3Reader() override { stop_transfer(); }

  std::size_t read(void *buf, std::size_t len) override {
    for (;;) {
      if (cancelled_)
        throw Error(ErrorKind::kCancelled, "reading " + ctx_->object_name(key_) + " was cancelled");
      if (has_end_ && offset_ >= end_)
        return 0;
      if (len == 0)
        return 0;
      if (buffered() > 0) {
        std::size_t n = std::min(len, buffered());
        if (has_end_)
          n = static_cast<std::size_t>(std::min<std::uint64_t>(n, end_ - offset_));
        std::size_t copied = 0;
        while (copied < n) {
          std::string &front = chunks_.front();
          std::size_t take = std::min(n - copied, front.size() - front_pos_);
          std::memcpy(static_cast<char *>(buf) + copied, front.data() + front_pos_, take);
          copied += take;
          front_pos_ += take;
          if (front_pos_ == front.size()) {
            chunks_.pop_front();
            front_pos_ = 0;
          }
        }
        buffered_ -= n;
        offset_ += n;
        if (paused_ && buffered() < read_ahead_ / 2) {
          paused_ = false;
          curl_easy_pause(easy_.get(), CURLPAUSE_CONT);
        }
        return n;
      }
      if (!transfer_)
        start_transfer();
      // Nothing buffered: let curl write straight into the caller's buffer (one copy less).
      direct_ = static_cast<char *>(buf);
      direct_room_ =
          has_end_ ? static_cast<std::size_t>(std::min<std::uint64_t>(len, end_ - offset_)) : len;
      direct_filled_ = 0;
      pump(true);
      std::size_t got = direct_filled_;
      direct_ = nullptr;
      direct_room_ = direct_filled_ = 0;
      if (got > 0) {
        offset_ += got;
        return got;  // a finished transfer is looked at by the next read()
      }
      if (done_)
        finish_transfer();
    }
  }

  std::uint64_t offset() const override { return offset_; }

  void cancel() override {
    cancelled_ = true;
    curl_multi_wakeup(multi_.get());
  }

 private:
  std::size_t buffered() const { return buffered_; }

  void start_transfer() {
    sigv4::Pairs headers;
    // Always a Range, as in S3Bucket::execute(): the 206's Content-Range states the object's
    // size, so a short reply is seen. An empty object answers it with 416.
    std::string range = "bytes=" + std::to_string(offset_) + "-";
    if (has_end_)
      range += std::to_string(end_ - 1);
    headers.emplace_back("range", range);
    if (!etag_.empty())
      headers.emplace_back("if-match", "\"" + etag_ + "\"");
    http::Request request = ctx_->build("GET", key_, {}, headers, sigv4::sha256_hex(""));
    skip_ = 0;
    request_offset_ = offset_;
    request.sink = [this](const char *data, std::size_t len) { on_data(data, len); };
    std::uint64_t range_start = offset_;
    std::optional<std::uint64_t> end;
    if (has_end_)
      end = end_;
    request.check_reply = [this, range_start, end](const http::Response &reply,
                                                   std::uint64_t *max_body, bool *retryable) {
      return check_range_reply(reply, range_start, end, &size_, max_body, retryable);
    };
    attempt_bytes_ = 0;
    // Stop taking data once the read-ahead is full; curl keeps the refused chunk for later.
    request.pause_before_write = [this] {
      if (buffered() < read_ahead_)
        return false;
      paused_ = true;
      return true;
    };
    request.is_paused = [this] { return paused_; };
    if (!easy_)
      easy_ = http::new_easy();
    url_ = request.url;
    transfer_ = std::make_unique<http::Transfer>(std::move(request));
    transfer_->configure(easy_.get());
    // Larger socket reads mean fewer callbacks and copies on fast links.
    curl_easy_setopt(easy_.get(), CURLOPT_BUFFERSIZE, 512L * 1024);
    done_ = false;
    paused_ = false;
    got_data_ = false;
    start_ = Clock::now();
    curl_multi_add_handle(multi_.get(), easy_.get());
  }

  void on_data(const char *data, std::size_t len) {
    attempt_bytes_ += len;
    if (!got_data_) {
      got_data_ = true;
      const http::Response &r = transfer_->response();
      if (etag_.empty())
        etag_ = xml::strip_etag(r.header("etag"));
      // A server that ignores Range sends the whole object: skip up to where we are.
      if (r.status == 200)
        skip_ = request_offset_;
      std::uint64_t total = 0;
      if (r.status == 206 && content_range_total(r.header("content-range"), &total)) {
        // A range past the end is cut to the object, as S3 does.
        end_ = has_end_ ? std::min(end_, total) : total;
        has_end_ = true;
      } else if (!has_end_) {
        if (r.status == 200) {
          end_ = std::strtoull(r.header("content-length").c_str(), nullptr, 10);
          has_end_ = !r.header("content-length").empty();
        }
      }
    }
    if (skip_ > 0) {
      std::size_t s = static_cast<std::size_t>(std::min<std::uint64_t>(skip_, len));
      skip_ -= s;
      data += s;
      len -= s;
    }
    if (direct_ != nullptr && chunks_.empty() && direct_filled_ < direct_room_) {
      std::size_t take = std::min(len, direct_room_ - direct_filled_);
      std::memcpy(direct_ + direct_filled_, data, take);
      direct_filled_ += take;
      data += take;
      len -= take;
    }
    if (len == 0)
      return;
    chunks_.emplace_back(data, len);
    buffered_ += len;
  }

  void pump(bool wait) {
    int running = 0;
    curl_multi_perform(multi_.get(), &running);
    if (running > 0 && wait && buffered() == 0 && direct_filled_ == 0) {
      curl_multi_poll(multi_.get(), nullptr, 0, 1000, nullptr);
      curl_multi_perform(multi_.get(), &running);
    }
    int queued = 0;
    while (CURLMsg *msg = curl_multi_info_read(multi_.get(), &queued)) {
      if (msg->msg == CURLMSG_DONE && msg->easy_handle == easy_.get()) {
        done_ = true;
        result_ = msg->data.result;
      }
    }
    if (!done_ && !paused_ && buffered() >= read_ahead_) {
      paused_ = true;
      curl_easy_pause(easy_.get(), CURLPAUSE_RECV);
    }
  }

  void stop_transfer() {
    if (transfer_) {
      curl_multi_remove_handle(multi_.get(), easy_.get());
      curl_easy_setopt(easy_.get(), CURLOPT_HTTPHEADER, nullptr);
      curl_easy_setopt(easy_.get(), CURLOPT_ERRORBUFFER, nullptr);
      transfer_.reset();
    }
  }

  void finish_transfer() {
    transfer_->finish(easy_.get(), result_);
    http::Response r = std::move(transfer_->response());
    std::exception_ptr sink_error = transfer_->sink_error();
    log_attempt("GET", url_, r, start_);
    stop_transfer();
    if (sink_error)
      std::rethrow_exception(sink_error);

    std::optional<Failure> failure;
    if (!r.refused.empty()) {
      failure = Failure{Error(ErrorKind::kServer,
                              "S3 at " + ctx_->endpoint_name() + ": the reply to " + what_ +
                                  " was refused: " + r.refused,
                              static_cast<int>(r.status)),
                        r.refused_retryable && !refused_before_};
      refused_before_ = true;
    } else if (r.curl_code != CURLE_OK) {
      failure = ctx_->curl_failure(what_, r, failures_ + 1);
    } else if (r.status == 416 && !has_end_) {
      // Reading from the very end of an object: an empty read, like a file's EOF.
      has_end_ = true;
      end_ = offset_;
      return;
    } else if (r.status < 200 || r.status >= 300) {
      failure = ctx_->http_failure(what_, key_, r, failures_ + 1);
    } else if (!has_end_) {
      has_end_ = true;  // no length information: the end of the reply is the end
      end_ = offset_ + buffered();
      return;
    } else if (offset_ + buffered() < end_) {
      failure =
          Failure{Error(ErrorKind::kServer, "the reply to " + what_ + " ended early at byte " +
                                                std::to_string(offset_ + buffered())),
                  true};
    } else {
      return;
    }
    if (attempt_bytes_ >= kProgressBytes && r.refused.empty() &&
        r.curl_code != CURLE_OPERATION_TIMEDOUT)
      failures_ = 0;  // progress: a fresh budget
    int retries = std::max(0, ctx_->config().retries);
    if (!failure->retryable || failures_ >= retries)
      throw failure->error;
    sleep_before_retry(what_, failure->error, failures_, retries, &cancelled_);
    failures_++;
    // The next read() restarts the GET from offset_ + what is still buffered.
    if (buffered() > 0)
      return;
  }

  std::shared_ptr<Context> ctx_;
  std::string key_;
  std::string what_;
  std::string url_;  // of the current transfer, for the log
  std::uint64_t offset_;
  bool has_end_;
  std::uint64_t end_;
  std::size_t read_ahead_;
  http::Multi multi_;
  http::Easy easy_;
  std::unique_ptr<http::Transfer> transfer_;
  // Chunks as curl delivered them: consuming one never moves the others.
  std::deque<std::string> chunks_;
  // The caller's buffer while read() waits with nothing buffered.
  char *direct_ = nullptr;
  std::size_t direct_room_ = 0;
  std::size_t direct_filled_ = 0;
  std::size_t front_pos_ = 0;
  std::size_t buffered_ = 0;
  std::uint64_t skip_ = 0;
  std::uint64_t request_offset_ = 0;
  std::string etag_;
  std::optional<std::uint64_t> size_;  // the object's, from the first reply that told it
  std::uint64_t attempt_bytes_ = 0;    // delivered by the current transfer
  bool refused_before_ = false;
  bool done_ = false;
  bool paused_ = false;
  bool got_data_ = false;
  CURLcode result_ = CURLE_OK;
  int failures_ = 0;
  Clock::time_point start_;
  std::atomic<bool> cancelled_{false};
};

std::unique_ptr<Reader> S3Bucket::open_reader(const std::string &key, std::uint64_t offset,
                                              std::int64_t length, std::size_t read_ahead) {
  return std::make_unique<S3Reader>(ctx_, key, offset, length, read_ahead);
}

// Multipart upload (see Upload in s3-client.h). Parts are sent from write() as they fill, so
// the stream is never held beyond one part; the first part's CreateMultipartUpload waits until
// there is more than one part's worth, so small objects stay one PUT.
class S3Upload : public Upload {
 public:
  S3Upload(S3Bucket *bucket, std::string key, PutOptions options, std::size_t part_size)
      : bucket_(bucket),
        key_(std::move(key)),
        options_(std::move(options)),
        part_size_(std::clamp(part_size, kMinPartSize, kMaxPartSize)) {
    // Fail before any data is sent, not after a long stream.
    if (options_.if_none_match)
      check_absent();
  }
  ~S3Upload() override { abort(); }

  void write(std::string_view data) override {
    check_open();
    size_ += data.size();
    while (!data.empty()) {
      // A full buffer is sent only once more data follows, so an object of exactly one part
      // stays a single PUT.
      if (buffer_.size() >= part_size_)
        send_buffer();
      const std::size_t take = std::min(data.size(), part_size_ - buffer_.size());
      buffer_.append(data.data(), take);
      data.remove_prefix(take);
    }
  }

  ObjectInfo complete() override {
    check_open();
    try {
      ObjectInfo info;
      if (upload_id_.empty()) {
        info = bucket_->put_data(key_, buffer_, options_);
      } else {
        if (!buffer_.empty())
          send_buffer();
        info = finish();
      }
      done_ = true;
      upload_id_.clear();
      buffer_.clear();
      buffer_.shrink_to_fit();
      return info;
    } catch (...) {
      abort();
      throw;
    }
  }

  void abort() noexcept override {
    if (done_)
      return;
    done_ = true;
    buffer_.clear();
    buffer_.shrink_to_fit();
    if (upload_id_.empty())
      return;
    try {
      Op op;
      op.method = "DELETE";
      op.key = key_;
      op.query.emplace_back("uploadId", upload_id_);
      bucket_->execute(op);
      log(LogLevel::kInfo, "aborted the multipart upload of " + name() + " after " +
                               std::to_string(etags_.size()) + " parts");
    } catch (const Error &e) {
      // NoSuchUpload: already gone (a complete that took effect, or an earlier abort).
      if (e.code() != "NoSuchUpload")
        log(LogLevel::kWarning, "could not abort the multipart upload of " + name() + " (" +
                                    e.what() +
                                    "): the bucket keeps its parts until a "
                                    "lifecycle rule (AbortIncompleteMultipartUpload) "
                                    "removes them");
    } catch (...) {
    }
    upload_id_.clear();
  }

  std::uint64_t size() const override { return size_; }
  int parts_sent() const override { return static_cast<int>(etags_.size()); }

 private:
  std::string name() const { return "s3://" + bucket_->url().bucket + "/" + key_; }

  void check_open() const {
    if (done_)
      throw Error(ErrorKind::kInvalidArgument, "the upload of " + name() + " is over");
  }

  void check_absent() {
    try {
      bucket_->head(key_);
    } catch (const Error &e) {
      if (e.kind() == ErrorKind::kNotFound)
        return;
      throw;
    }
    throw Error(ErrorKind::kPreconditionFailed, name() + " already exists", 412,
                "PreconditionFailed");
  }

  void start() {
    Op op;
    op.method = "POST";
    op.key = key_;
    op.query.emplace_back("uploads", "");
    op.has_body = true;
    op.headers.emplace_back("content-type", options_.content_type.empty()
                                                ? std::string("application/octet-stream")
                                                : options_.content_type);
    http::Response r = bucket_->execute(op);
    upload_id_ = xml::parse_initiate_upload(r.body);
    log(LogLevel::kDebug, "started a multipart upload of " + name());
  }

  void send_buffer() {
    try {
      if (upload_id_.empty())
        start();
      if (static_cast<int>(etags_.size()) >= kMaxParts)
        throw Error(ErrorKind::kInvalidArgument,
                    name() + " needs more than " + std::to_string(kMaxParts) + " parts");
      const int number = static_cast<int>(etags_.size()) + 1;
      Op op;
      op.method = "PUT";
      op.key = key_;
      op.query.emplace_back("partNumber", std::to_string(number));
      op.query.emplace_back("uploadId", upload_id_);
      op.body = buffer_;
      op.has_body = true;
      op.streamed = true;  // a part is object data: bounded by the low-speed rule
      op.payload_hash = sigv4::sha256_hex(buffer_);
      http::Response r = bucket_->execute(op);
      std::string etag = xml::strip_etag(r.header("etag"));
      if (etag.empty())
        throw Error(ErrorKind::kServer, "the server's reply to part " + std::to_string(number) +
                                            " of " + name() + " has no ETag");
      etags_.push_back(std::move(etag));
      md5s_.push_back(md5_raw(buffer_));
    } catch (...) {
      abort();
      throw;
    }
    buffer_.clear();
    // Past every 1,000 parts the parts double, so a stream never runs out of S3's 10,000.
    if (etags_.size() % 1000 == 0)
      part_size_ = std::min(part_size_ * 2, kMaxPartSize);
    buffer_.reserve(part_size_);
  }

  ObjectInfo finish() {
    if (options_.if_none_match)
      check_absent();
    Op op;
    op.method = "POST";
    op.key = key_;
    op.query.emplace_back("uploadId", upload_id_);
    const std::string body = xml::complete_upload_body(etags_);
    op.body = body;
    op.has_body = true;
    op.payload_hash = sigv4::sha256_hex(body);
    op.error_in_200 = true;
    op.headers.emplace_back("content-type", "application/xml");
    if (options_.if_none_match)
      op.headers.emplace_back("if-none-match", "*");
    ObjectInfo info;
    try {
      http::Response r = bucket_->execute(op);
      xml::ErrorBody error;
      if (!xml::parse_complete_upload(r.body, &info, &error))
        throw Error(ErrorKind::kServer,
                    "the server failed to complete the upload of " + name() + " (" + error.code +
                        ": " + error.message + ")",
                    static_cast<int>(r.status), error.code);
    } catch (const Error &e) {
      // A retry after a lost reply finds the upload gone (NoSuchUpload) or, with If-None-Match,
      // the object there: it is ours when its ETag is the one these parts make.
      if (!op.maybe_applied ||
          (e.code() != "NoSuchUpload" && e.kind() != ErrorKind::kPreconditionFailed))
        throw;
      ObjectInfo stored = bucket_->head(key_);
      if (g_ascii_strcasecmp(stored.etag.c_str(), expected_etag().c_str()) != 0)
        throw;
      log(LogLevel::kInfo, "CompleteMultipartUpload of " + name() +
                               ": the reply was lost but the stored object is ours");
      info.etag = stored.etag;
    }
    upload_id_.clear();  // nothing to abort any more
    if (info.etag.empty())
      info.etag = expected_etag();  // RGW's reply has none; S3's rule for multipart ETags
    info.key = key_;
    info.size = size_;
    info.content_type =
        options_.content_type.empty() ? "application/octet-stream" : options_.content_type;
    log(LogLevel::kInfo, "wrote " + name() + " in " + std::to_string(etags_.size()) + " parts");
    return info;
  }

  // MD5 of the parts' binary MD5s, "-" and the number of parts.
  std::string expected_etag() const {
    std::string all;
    for (const std::string &m : md5s_)
      all += m;
    std::unique_ptr<gchar, decltype(&g_free)> hex(
        g_compute_checksum_for_data(G_CHECKSUM_MD5, reinterpret_cast<const guchar *>(all.data()),
                                    all.size()),
        g_free);
    return std::string(hex.get()) + "-" + std::to_string(md5s_.size());
  }

  static std::string md5_raw(std::string_view data) {
    std::unique_ptr<GChecksum, decltype(&g_checksum_free)> sum(g_checksum_new(G_CHECKSUM_MD5),
                                                               g_checksum_free);
    g_checksum_update(sum.get(), reinterpret_cast<const guchar *>(data.data()),
                      static_cast<gssize>(data.size()));
    guint8 digest[16];
    gsize len = sizeof(digest);
    g_checksum_get_digest(sum.get(), digest, &len);
    return std::string(reinterpret_cast<const char *>(digest), len);
  }

  S3Bucket *bucket_;
  std::string key_;
  PutOptions options_;
  std::size_t part_size_;
  std::string buffer_;
  std::string upload_id_;
  std::vector<std::string> etags_;
  std::vector<std::string> md5s_;
  std::uint64_t size_ = 0;
  bool done_ = false;
};

std::unique_ptr<Upload> S3Bucket::open_upload(const std::string &key, const PutOptions &options,
                                              std::size_t part_size) {
  return std::make_unique<S3Upload>(this, key, options, part_size);
}

}  // namespace

std::unique_ptr<Bucket> make_s3_bucket(const Url &url, const Config &config) {
  return std::make_unique<S3Bucket>(url, config);
}

}  // namespace internal
}  // namespace s3
