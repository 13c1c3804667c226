// s3-http.cpp: libcurl setup shared by blocking requests and the streaming reader.
#include "s3-http.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "s3-internal.h"

namespace s3 {
namespace http {

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

Easy new_easy() {
  global_init();
  Easy easy(curl_easy_init());
  if (!easy)
    throw std::bad_alloc();
  return easy;
}

namespace {

constexpr std::size_t kMaxHeaderBytes = 256 << 10;

std::string human_size(std::size_t bytes) {
  if (bytes >= (1 << 20) && bytes % (1 << 20) == 0)
    return std::to_string(bytes >> 20) + " MiB";
  if (bytes >= (1 << 10) && bytes % (1 << 10) == 0)
    return std::to_string(bytes >> 10) + " KiB";
  return std::to_string(bytes) + " bytes";
}

}  // namespace

Transfer::Transfer(Request request) : request_(std::move(request)) {}

void Transfer::configure(CURL *easy) {
  easy_ = easy;
  curl_easy_reset(easy);
  curl_easy_setopt(easy, CURLOPT_URL, request_.url.c_str());
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, error_buf_);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  // Keys such as "a/../b" must reach the server as written, not be normalised by curl.
  curl_easy_setopt(easy, CURLOPT_PATH_AS_IS, 1L);
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT, static_cast<long>(request_.connect_timeout_s));
  // The low-speed rule is on_progress's (curl's own averages over a few seconds only).
  curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, &Transfer::on_progress);
  curl_easy_setopt(easy, CURLOPT_XFERINFODATA, this);
  if (request_.deadline_ms > 0)
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, request_.deadline_ms);
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, request_.verify_tls ? 1L : 0L);
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, request_.verify_tls ? 2L : 0L);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &Transfer::on_header);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, this);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &Transfer::on_write);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, this);

  curl_slist *list = nullptr;
  for (const auto &h : request_.headers)
    list = curl_slist_append(list, h.c_str());
  // curl's own defaults are not signed, so keep them out of the request.
  list = curl_slist_append(list, "Accept:");
  header_list_.reset(list);
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, header_list_.get());

  if (request_.method == "HEAD") {
    curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
  } else if (request_.method == "GET") {
    curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
  } else if (request_.has_body || request_.method == "PUT") {
    curl_easy_setopt(easy, CURLOPT_UPLOAD, 1L);
    std::uint64_t size = request_.body_fd >= 0 ? request_.body_size : request_.body.size();
    curl_easy_setopt(easy, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(size));
    curl_easy_setopt(easy, CURLOPT_READFUNCTION, &Transfer::on_read);
    curl_easy_setopt(easy, CURLOPT_READDATA, this);
    curl_easy_setopt(easy, CURLOPT_SEEKFUNCTION, &Transfer::on_seek);
    curl_easy_setopt(easy, CURLOPT_SEEKDATA, this);
    if (request_.method != "PUT")
      curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, request_.method.c_str());
  } else {
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, request_.method.c_str());
  }
}

void Transfer::finish(CURL *easy, CURLcode code) {
  response_.curl_code = code;
  response_.curl_error = error_buf_[0] ? error_buf_ : curl_easy_strerror(code);
  if (too_slow_ && code == CURLE_ABORTED_BY_CALLBACK) {
    response_.curl_code = CURLE_OPERATION_TIMEDOUT;
    response_.curl_error = "less than " + std::to_string(request_.low_speed_bps) + " bytes/s for " +
                           std::to_string(request_.timeout_s) + " s";
  }
  long status = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  response_.status = status;
  curl_off_t connect_us = 0;
  curl_easy_getinfo(easy, CURLINFO_CONNECT_TIME_T, &connect_us);
  response_.connected = connect_us > 0 || status > 0;
}

size_t Transfer::on_header(char *data, size_t size, size_t n, void *self) {
  auto *t = static_cast<Transfer *>(self);
  std::string_view line(data, size * n);
  t->header_bytes_ += line.size();
  if (t->header_bytes_ > kMaxHeaderBytes) {
    t->response_.refused =
        "its headers are larger than " + std::to_string(kMaxHeaderBytes >> 10) + " KiB: refused";
    return 0;
  }
  if (internal::starts_with(line, "HTTP/")) {
    // A new response (after a 100 Continue or a redirect): forget the previous headers.
    t->response_.headers.clear();
    long status = 0;
    std::size_t sp = line.find(' ');
    if (sp != std::string_view::npos)
      status = std::strtol(std::string(line.substr(sp + 1, 3)).c_str(), nullptr, 10);
    t->response_.status = status;
    return size * n;
  }
  std::size_t colon = line.find(':');
  if (colon != std::string_view::npos)
    t->response_.headers[internal::to_lower(internal::trim(line.substr(0, colon)))] =
        internal::trim(line.substr(colon + 1));
  return size * n;
}

size_t Transfer::on_write(char *data, size_t size, size_t n, void *self) {
  auto *t = static_cast<Transfer *>(self);
  size_t len = size * n;
  bool ok = t->response_.status >= 200 && t->response_.status < 300;
  if (!ok || !t->request_.sink) {
    std::size_t cap = ok ? t->request_.max_kept_body : t->request_.max_error_body;
    if (t->response_.body.size() + len > cap) {
      t->response_.refused = std::string(ok ? "it is" : "its error body is") + " larger than " +
                             human_size(cap) + ": refused";
      return CURL_WRITEFUNC_ERROR;
    }
    t->response_.body.append(data, len);
    return len;
  }
  if (!t->checked_) {
    t->checked_ = true;
    if (t->request_.check_reply) {
      bool retryable = false;
      std::string why = t->request_.check_reply(t->response_, &t->max_body_, &retryable);
      if (!why.empty()) {
        t->response_.refused = why;
        t->response_.refused_retryable = retryable;
        return CURL_WRITEFUNC_ERROR;
      }
    }
  }
  if (t->body_pos_ + len > t->max_body_) {
    t->response_.refused = "its body is longer than the " + std::to_string(t->max_body_) +
                           " bytes it announced: refused";
    t->response_.refused_retryable = true;
    return CURL_WRITEFUNC_ERROR;
  }
  if (t->request_.pause_before_write && t->request_.pause_before_write())
    return CURL_WRITEFUNC_PAUSE;
  const char *from = data;
  size_t take = len;
  if (t->response_.status == 200 && (t->request_.skip_if_200 > 0 || t->request_.cap_if_200 >= 0)) {
    std::uint64_t begin = t->request_.skip_if_200;
    std::uint64_t end = t->request_.cap_if_200 < 0
                            ? UINT64_MAX
                            : begin + static_cast<std::uint64_t>(t->request_.cap_if_200);
    std::uint64_t lo = std::max(begin, t->body_pos_), hi = std::min(end, t->body_pos_ + len);
    from = data + (lo - std::min(lo, t->body_pos_));
    take = hi > lo ? static_cast<size_t>(hi - lo) : 0;
  }
  t->body_pos_ += len;
  if (take == 0)
    return len;
  try {
    t->request_.sink(from, take);
    t->response_.delivered += take;
  } catch (...) {
    t->sink_error_ = std::current_exception();
    return CURL_WRITEFUNC_ERROR;
  }
  return len;
}

size_t Transfer::on_read(char *data, size_t size, size_t n, void *self) {
  auto *t = static_cast<Transfer *>(self);
  size_t room = size * n;
  if (t->request_.body_fd < 0) {
    std::string_view body = t->request_.body;
    size_t len = std::min<std::uint64_t>(
        room, body.size() - std::min<std::uint64_t>(t->upload_pos_, body.size()));
    std::memcpy(data, body.data() + t->upload_pos_, len);
    t->upload_pos_ += len;
    return len;
  }
  std::uint64_t left = t->request_.body_size - std::min(t->upload_pos_, t->request_.body_size);
  size_t want = static_cast<size_t>(std::min<std::uint64_t>(room, left));
  if (want == 0)
    return 0;
  ssize_t got;
  do {
    got = pread(t->request_.body_fd, data, want, static_cast<off_t>(t->upload_pos_));
  } while (got < 0 && errno == EINTR);
  if (got <= 0)
    return CURL_READFUNC_ABORT;  // error, or the file shrank under us
  t->upload_pos_ += static_cast<std::uint64_t>(got);
  return static_cast<size_t>(got);
}

int Transfer::on_progress(void *self, curl_off_t, curl_off_t dlnow, curl_off_t, curl_off_t ulnow) {
  auto *t = static_cast<Transfer *>(self);
  auto now = std::chrono::steady_clock::now();
  auto &samples = t->rate_samples_;
  if (t->request_.is_paused && t->request_.is_paused()) {
    samples.clear();
    return 0;
  }
  std::uint64_t moved = static_cast<std::uint64_t>(dlnow) + static_cast<std::uint64_t>(ulnow);
  const auto window = std::chrono::seconds(std::max(1, t->request_.timeout_s));
  if (samples.empty() || now - samples.back().first >= std::chrono::milliseconds(250))
    samples.emplace_back(now, moved);
  // Keep the newest sample at least a window old: the rate is measured over a whole window.
  while (samples.size() > 1 && now - samples[1].first >= window)
    samples.pop_front();
  if (now - samples.front().first < window)
    return 0;
  std::uint64_t need = static_cast<std::uint64_t>(std::max(1L, t->request_.low_speed_bps)) *
                       static_cast<std::uint64_t>(std::max(1, t->request_.timeout_s));
  if (moved - std::min(moved, samples.front().second) >= need)
    return 0;
  t->too_slow_ = true;
  return 1;  // abort: CURLE_ABORTED_BY_CALLBACK, reported as a timeout by finish()
}

int Transfer::on_seek(void *self, curl_off_t offset, int origin) {
  auto *t = static_cast<Transfer *>(self);
  if (origin != SEEK_SET || offset < 0)
    return CURL_SEEKFUNC_CANTSEEK;
  t->upload_pos_ = static_cast<std::uint64_t>(offset);
  return CURL_SEEKFUNC_OK;
}

Response perform(CURL *easy, Request request) {
  Transfer transfer(std::move(request));
  transfer.configure(easy);
  CURLcode code = curl_easy_perform(easy);
  transfer.finish(easy, code);
  // Leave no pointers into this dead Transfer behind in the pooled handle.
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, nullptr);
  if (transfer.sink_error())
    std::rethrow_exception(transfer.sink_error());
  return std::move(transfer.response());
}

Easy HandlePool::acquire() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!idle_.empty()) {
      Easy easy = std::move(idle_.back());
      idle_.pop_back();
      return easy;
    }
  }
  return new_easy();
}

void HandlePool::release(Easy easy) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (idle_.size() < 8)
    idle_.push_back(std::move(easy));
}

}  // namespace http
}  // namespace s3
