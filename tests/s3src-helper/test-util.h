// test-util.h: assertion and helper functions shared by the S3 library's C++ tests.
#pragma once

#include <arpa/inet.h>
#include <glib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "s3-client.h"

// g_assert_cmpstr() keeps only the pointers: a temporary std::string would be gone by then.
#define assert_str(a, b)                                                                     \
  do {                                                                                       \
    std::string a_ = (a), b_ = (b);                                                          \
    if (a_ != b_)                                                                            \
      g_error("%s:%d: %s == %s failed:\n'%s'\n'%s'", __FILE__, __LINE__, #a, #b, a_.c_str(), \
              b_.c_str());                                                                   \
  } while (0)

// The MD5 of data as lower-case hex, the form S3 ETags of single-part objects take.
inline std::string md5_hex(const std::string &data) {
  gchar *s = g_compute_checksum_for_data(
      G_CHECKSUM_MD5, reinterpret_cast<const guchar *>(data.data()), data.size());
  std::string out = s;
  g_free(s);
  return out;
}

// The bytes of key (from off, len of them or all with -1) via Bucket::get(), checking that the
// count it returns matches what it delivered.
inline std::string get_all(s3::Bucket &b, const std::string &key, std::uint64_t off = 0,
                           std::int64_t len = -1) {
  std::string out;
  std::uint64_t n = b.get(key, off, len, [&](const char *d, std::size_t l) { out.append(d, l); });
  g_assert_cmpuint(n, ==, out.size());
  return out;
}

// The whole content of the file at path; fails the test if it cannot be read.
inline std::string file_contents(const std::string &path) {
  gchar *contents = nullptr;
  gsize len = 0;
  g_assert_true(g_file_get_contents(path.c_str(), &contents, &len, nullptr));
  std::string out(contents, len);
  g_free(contents);
  return out;
}

// A loopback port that was free a moment ago: bound, then closed.
inline int closed_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  g_assert_cmpint(fd, >=, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  g_assert_cmpint(bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr), ==, 0);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}
