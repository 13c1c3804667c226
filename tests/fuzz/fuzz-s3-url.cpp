// fuzz-s3-url.cpp: libFuzzer target for the s3:// and file:// URL parsers and the key encoding:
// whatever parses must print back to a URL that parses to the same bucket and key.
#include <cstdint>
#include <cstdlib>
#include <string>

#include <glib.h>

#include "s3-client.h"
#include "s3-sigv4.h"

namespace {

void check_round_trip(const s3::Url &url) {
  // uri() percent-encodes the key; parse_uri() must decode it back exactly.
  s3::Url again = s3::Url::parse_uri(url.uri());
  if (again.scheme != url.scheme || again.bucket != url.bucket || again.key != url.key) {
    // file:// object URLs keep the whole path as the key, rooted at "/".
    if (url.scheme != s3::Url::Scheme::kFile || url.bucket == "/")
      std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  std::string text(reinterpret_cast<const char *>(data), size);
  if (text.find('\0') != std::string::npos)
    return 0;  // URLs come from argv, properties and URIs: C strings
  try {
    s3::Url url = s3::Url::parse(text);
    if (url.scheme == s3::Url::Scheme::kS3)
      check_round_trip(url);
    (void)url.str();
  } catch (const s3::Error &) {
  }
  try {
    s3::Url url = s3::Url::parse_uri(text);
    if (url.scheme == s3::Url::Scheme::kS3)
      check_round_trip(url);
  } catch (const s3::Error &) {
  }
  try {
    (void)s3::Url::parse_bucket(text).str();
  } catch (const s3::Error &) {
  }
  // The SigV4 path encoding of a key is what the server sees: it must decode back to the key.
  std::string encoded = s3::sigv4::uri_encode(text, false);
  for (char c : encoded)
    if (!(g_ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/' ||
          c == '%'))
      std::abort();
  return 0;
}
