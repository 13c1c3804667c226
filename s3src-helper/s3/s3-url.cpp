// s3-url.cpp: parsing and printing of s3://bucket/key and file:///path URLs.
#include <glib.h>

#include <memory>

#include "s3-client.h"
#include "s3-internal.h"
#include "s3-sigv4.h"

namespace s3 {

namespace {

std::string percent_decode(const std::string &text) {
  std::unique_ptr<char, decltype(&g_free)> out(
      g_uri_unescape_segment(text.data(), text.data() + text.size(), nullptr), g_free);
  if (!out)
    throw Error(ErrorKind::kInvalidArgument, "invalid percent-encoding in URI '" + text + "'");
  return out.get();
}

std::string absolute_path(const std::string &path) {
  std::unique_ptr<char, decltype(&g_free)> abs(g_canonicalize_filename(path.c_str(), nullptr),
                                               g_free);
  return abs.get();
}

Url parse_impl(const std::string &text, bool decode, bool as_bucket) {
  Url url;
  if (internal::starts_with(text, "s3://")) {
    url.scheme = Url::Scheme::kS3;
    std::string rest = text.substr(5);
    std::size_t slash = rest.find('/');
    url.bucket = rest.substr(0, slash);
    url.key = slash == std::string::npos ? std::string() : rest.substr(slash + 1);
    if (decode)
      url.key = percent_decode(url.key);
    if (url.bucket.empty())
      throw Error(ErrorKind::kInvalidArgument, "no bucket name in '" + text + "'");
    for (char c : url.bucket) {
      if (!(g_ascii_isalnum(c) || c == '-' || c == '.' || c == '_'))
        throw Error(ErrorKind::kInvalidArgument,
                    "invalid bucket name '" + url.bucket + "' in '" + text + "'");
    }
    return url;
  }
  std::string path;
  if (internal::starts_with(text, "file://")) {
    path = text.substr(7);
    if (internal::starts_with(path, "localhost/"))
      path = path.substr(9);
    if (path.empty() || path[0] != '/')
      throw Error(ErrorKind::kInvalidArgument,
                  "a file URL needs an absolute path (file:///dir/key), not '" + text + "'");
    if (decode)
      path = percent_decode(path);
  } else if (as_bucket && text.find("://") == std::string::npos && !text.empty()) {
    path = absolute_path(text);
  } else {
    throw Error(ErrorKind::kInvalidArgument,
                "unsupported URL '" + text + "': use s3://bucket/key or file:///dir/key");
  }
  url.scheme = Url::Scheme::kFile;
  if (as_bucket) {
    url.bucket = absolute_path(path);  // also drops a trailing slash
  } else {
    url.bucket = "/";
    url.key = path.substr(1);
  }
  return url;
}

}  // namespace

Url Url::parse(const std::string &text) {
  return parse_impl(text, false, false);
}
Url Url::parse_bucket(const std::string &text) {
  return parse_impl(text, false, true);
}
Url Url::parse_uri(const std::string &uri) {
  return parse_impl(uri, true, false);
}

std::string Url::str() const {
  if (scheme == Scheme::kS3)
    return "s3://" + bucket + (key.empty() ? "" : "/" + key);
  std::string root = bucket == "/" ? std::string() : bucket;
  return "file://" + root + (key.empty() && !root.empty() ? "" : "/" + key);
}

std::string Url::uri() const {
  if (scheme == Scheme::kS3)
    return "s3://" + bucket + (key.empty() ? "" : "/" + sigv4::uri_encode(key, false));
  std::string root = bucket == "/" ? std::string() : bucket;
  return "file://" + sigv4::uri_encode(root, false) +
         (key.empty() && !root.empty() ? "" : "/" + sigv4::uri_encode(key, false));
}

}  // namespace s3
