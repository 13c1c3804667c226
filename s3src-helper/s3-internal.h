// s3-internal.h: helpers shared by the S3 library's sources (logging, string utilities); not
// public.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "s3-client.h"

namespace s3 {
namespace internal {

// Sends a line to the handler installed with set_log_handler(); URLs in it are redacted.
void log(LogLevel level, const std::string &message);
bool log_enabled(LogLevel level);

std::string to_lower(std::string_view s);
bool starts_with(std::string_view s, std::string_view prefix);
bool ends_with(std::string_view s, std::string_view suffix);
std::string trim(std::string_view s);

// "2026-11-24T23:30:00.000Z" and "Tue, 24 Nov 2026 23:30:00 GMT" for a Unix time.
std::string iso8601_time(std::int64_t unix_seconds);
std::string http_date(std::int64_t unix_seconds);

// The time used for signing: the system clock, shifted by a test's skew (to provoke
// RequestTimeTooSkewed against a real server).
std::int64_t signing_time();
void set_clock_skew_for_tests(std::int64_t seconds);

std::unique_ptr<Bucket> make_local_bucket(const Url &url);
std::unique_ptr<Bucket> make_s3_bucket(const Url &url, const Config &config);

}  // namespace internal
}  // namespace s3
