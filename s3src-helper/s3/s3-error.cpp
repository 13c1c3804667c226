// s3-error.cpp: the Error type, the log hook, URL redaction and small string helpers.
#include <glib.h>

#include <atomic>
#include <ctime>
#include <mutex>

#include "s3-client.h"
#include "s3-internal.h"

namespace s3 {

Error::Error(ErrorKind kind, const std::string &message, int http_status, std::string code)
    : std::runtime_error(redact_url(message)),
      kind_(kind),
      http_status_(http_status),
      code_(std::move(code)) {}

namespace {

std::mutex &log_mutex() {
  static std::mutex m;
  return m;
}

std::function<void(LogLevel, const std::string &)> &log_handler() {
  static std::function<void(LogLevel, const std::string &)> handler;
  return handler;
}

bool iequals_at(const std::string &text, std::size_t pos, std::string_view word) {
  if (text.size() - pos < word.size())
    return false;
  for (std::size_t i = 0; i < word.size(); i++) {
    char a = text[pos + i], b = word[i];
    if (a >= 'A' && a <= 'Z')
      a = static_cast<char>(a - 'A' + 'a');
    if (b >= 'A' && b <= 'Z')
      b = static_cast<char>(b - 'A' + 'a');
    if (a != b)
      return false;
  }
  return true;
}

}  // namespace

void set_log_handler(std::function<void(LogLevel, const std::string &)> handler) {
  std::lock_guard<std::mutex> lock(log_mutex());
  log_handler() = std::move(handler);
}

// Works on any text, not only bare URLs, so it can also guard messages that embed a URL.
std::string redact_url(const std::string &url) {
  static constexpr std::string_view kSecretParams[] = {"x-amz-signature=", "x-amz-security-token="};
  std::string out;
  out.reserve(url.size());
  std::size_t i = 0;
  while (i < url.size()) {
    bool cut = false;
    if (i == 0 || url[i - 1] == '?' || url[i - 1] == '&') {
      for (auto param : kSecretParams) {
        if (iequals_at(url, i, param)) {
          out.append(url, i, param.size());
          out += "REDACTED";
          i += param.size();
          while (i < url.size() && url[i] != '&' && url[i] != '#' && url[i] != ' ' &&
                 url[i] != '"' && url[i] != '\'' && url[i] != '<' && url[i] != '>' &&
                 url[i] != '\n' && url[i] != '\t')
            i++;
          cut = true;
          break;
        }
      }
    }
    if (!cut)
      out += url[i++];
  }
  return out;
}

namespace internal {

void log(LogLevel level, const std::string &message) {
  std::lock_guard<std::mutex> lock(log_mutex());
  if (log_handler())
    log_handler()(level, redact_url(message));
}

bool log_enabled(LogLevel) {
  std::lock_guard<std::mutex> lock(log_mutex());
  return static_cast<bool>(log_handler());
}

namespace {
std::atomic<std::int64_t> g_clock_skew{0};
}

std::int64_t signing_time() {
  return g_get_real_time() / G_USEC_PER_SEC + g_clock_skew.load();
}

void set_clock_skew_for_tests(std::int64_t seconds) {
  g_clock_skew = seconds;
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (auto &c : out)
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string trim(std::string_view s) {
  std::size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r' || s[b] == '\n'))
    b++;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r' || s[e - 1] == '\n'))
    e--;
  return std::string(s.substr(b, e - b));
}

std::tm utc_tm(std::int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return tm;
}

std::string utc_strftime(std::int64_t unix_seconds, const char *format) {
  std::tm tm = utc_tm(unix_seconds);
  char buf[64];
  std::strftime(buf, sizeof buf, format, &tm);
  return buf;
}

std::string iso8601_time(std::int64_t unix_seconds) {
  return utc_strftime(unix_seconds, "%Y-%m-%dT%H:%M:%S.000Z");
}

std::string http_date(std::int64_t unix_seconds) {
  static const char *kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char *kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::tm tm = utc_tm(unix_seconds);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday],
                tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return buf;
}

}  // namespace internal
}  // namespace s3
