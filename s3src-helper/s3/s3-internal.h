// s3-internal.h: helpers shared by the S3 library's sources (logging, string utilities); not
// public.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <functional>
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
// Broken-down UTC time, and strftime() of it (results up to 63 characters).
std::tm utc_tm(std::int64_t unix_seconds);
std::string utc_strftime(std::int64_t unix_seconds, const char *format);

// The time used for signing: the system clock, shifted by a test's skew (to provoke
// RequestTimeTooSkewed against a real server).
std::int64_t signing_time();
void set_clock_skew_for_tests(std::int64_t seconds);

// Hands the bytes of fd to fn in chunks of 256 KiB until end of file, retrying reads that a
// signal interrupted; throws Error(kIo, "cannot read <path>: <reason>") on a failed read.
// read_chunks() reads from the file position (and moves it); read_chunks_at() reads with pread()
// from offset and leaves the file position alone.
using ChunkFn = std::function<void(const char *, std::size_t)>;
void read_chunks(int fd, const std::string &path, const ChunkFn &fn);
void read_chunks_at(int fd, const std::string &path, std::uint64_t offset, const ChunkFn &fn);

std::unique_ptr<Bucket> make_local_bucket(const Url &url);
// For tests: file:// buckets resolve paths component by component (the fallback for kernels
// without openat2) instead of with openat2.
void set_local_component_walk_for_tests(bool on);
std::unique_ptr<Bucket> make_s3_bucket(const Url &url, const Config &config);

}  // namespace internal
}  // namespace s3
