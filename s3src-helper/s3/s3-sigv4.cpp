// s3-sigv4.cpp: AWS Signature Version 4 with GLib's GChecksum/GHmac.
#include "s3-sigv4.h"

#include <glib.h>

#include <algorithm>
#include <ctime>
#include <memory>

#include "s3-internal.h"

namespace s3 {
namespace sigv4 {

std::string uri_encode(std::string_view text, bool encode_slash) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() * 3 / 2);
  for (unsigned char c : text) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~' || (c == '/' && !encode_slash)) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string hex(std::string_view raw) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(raw.size() * 2);
  for (unsigned char c : raw) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

std::string sha256_hex(std::string_view data) {
  std::unique_ptr<GChecksum, decltype(&g_checksum_free)> sum(g_checksum_new(G_CHECKSUM_SHA256),
                                                             g_checksum_free);
  g_checksum_update(sum.get(), reinterpret_cast<const guchar *>(data.data()),
                    static_cast<gssize>(data.size()));
  return g_checksum_get_string(sum.get());
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  std::unique_ptr<GHmac, decltype(&g_hmac_unref)> hmac(
      g_hmac_new(G_CHECKSUM_SHA256, reinterpret_cast<const guchar *>(key.data()), key.size()),
      g_hmac_unref);
  g_hmac_update(hmac.get(), reinterpret_cast<const guchar *>(data.data()),
                static_cast<gssize>(data.size()));
  guint8 digest[32];
  gsize len = sizeof digest;
  g_hmac_get_digest(hmac.get(), digest, &len);
  return std::string(reinterpret_cast<const char *>(digest), len);
}

std::string amz_date(std::int64_t unix_seconds) {
  return internal::utc_strftime(unix_seconds, "%Y%m%dT%H%M%SZ");
}

std::string canonical_query(const Pairs &query) {
  Pairs encoded;
  encoded.reserve(query.size());
  for (const auto &[name, value] : query)
    encoded.emplace_back(uri_encode(name, true), uri_encode(value, true));
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto &[name, value] : encoded) {
    if (!out.empty())
      out += '&';
    out += name;
    out += '=';
    out += value;
  }
  return out;
}

namespace {

// Trims and collapses runs of spaces, as the SigV4 canonical header rules require.
std::string canonical_value(std::string_view value) {
  std::string trimmed = internal::trim(value);
  std::string out;
  out.reserve(trimmed.size());
  bool space = false;
  for (char c : trimmed) {
    if (c == ' ' || c == '\t') {
      space = true;
      continue;
    }
    if (space)
      out += ' ';
    space = false;
    out += c;
  }
  return out;
}

}  // namespace

std::string canonical_headers(const Pairs &headers, std::string *signed_headers) {
  Pairs lowered;
  for (const auto &[name, value] : headers)
    lowered.emplace_back(internal::to_lower(internal::trim(name)), canonical_value(value));
  // A stable sort keeps repeated headers in their original order before they are joined.
  std::stable_sort(lowered.begin(), lowered.end(),
                   [](const auto &a, const auto &b) { return a.first < b.first; });
  std::string out, names;
  for (std::size_t i = 0; i < lowered.size(); i++) {
    if (i > 0 && lowered[i].first == lowered[i - 1].first) {
      out.pop_back();  // the '\n'
      out += ',' + lowered[i].second + '\n';
      continue;
    }
    out += lowered[i].first + ':' + lowered[i].second + '\n';
    if (!names.empty())
      names += ';';
    names += lowered[i].first;
  }
  if (signed_headers)
    *signed_headers = names;
  return out;
}

std::string canonical_request(const Request &request, std::string *signed_headers) {
  std::string names;
  std::string headers = canonical_headers(request.headers, &names);
  if (signed_headers)
    *signed_headers = names;
  std::string path = request.path.empty() ? "/" : request.path;
  return request.method + '\n' + uri_encode(path, false) + '\n' + canonical_query(request.query) +
         '\n' + headers + '\n' + names + '\n' + request.payload_hash;
}

std::string scope(const std::string &date8, const Credentials &credentials) {
  return date8 + '/' + credentials.region + '/' + credentials.service + "/aws4_request";
}

std::string string_to_sign(const std::string &amz_date, const std::string &scope,
                           const std::string &canonical_request) {
  return "AWS4-HMAC-SHA256\n" + amz_date + '\n' + scope + '\n' + sha256_hex(canonical_request);
}

std::string signing_key(const Credentials &credentials, const std::string &date8) {
  std::string k = hmac_sha256("AWS4" + credentials.secret_key, date8);
  k = hmac_sha256(k, credentials.region);
  k = hmac_sha256(k, credentials.service);
  return hmac_sha256(k, "aws4_request");
}

std::string signature(const Credentials &credentials, const std::string &amz_date,
                      const std::string &string_to_sign) {
  return hex(hmac_sha256(signing_key(credentials, amz_date.substr(0, 8)), string_to_sign));
}

std::string authorization(const Request &request, const Credentials &credentials,
                          const std::string &amz_date) {
  std::string names;
  std::string creq = canonical_request(request, &names);
  std::string sc = scope(amz_date.substr(0, 8), credentials);
  std::string sig = signature(credentials, amz_date, string_to_sign(amz_date, sc, creq));
  return "AWS4-HMAC-SHA256 Credential=" + credentials.access_key + '/' + sc +
         ", SignedHeaders=" + names + ", Signature=" + sig;
}

std::string presign_query(const Request &request, const Credentials &credentials,
                          const std::string &amz_date, int expires_s) {
  Request r = request;
  std::string sc = scope(amz_date.substr(0, 8), credentials);
  std::string names;
  canonical_headers(r.headers, &names);
  r.query.emplace_back("X-Amz-Algorithm", "AWS4-HMAC-SHA256");
  r.query.emplace_back("X-Amz-Credential", credentials.access_key + '/' + sc);
  r.query.emplace_back("X-Amz-Date", amz_date);
  r.query.emplace_back("X-Amz-Expires", std::to_string(expires_s));
  if (!credentials.session_token.empty())
    r.query.emplace_back("X-Amz-Security-Token", credentials.session_token);
  r.query.emplace_back("X-Amz-SignedHeaders", names);
  r.payload_hash = "UNSIGNED-PAYLOAD";
  std::string sig =
      signature(credentials, amz_date, string_to_sign(amz_date, sc, canonical_request(r)));
  return canonical_query(r.query) + "&X-Amz-Signature=" + sig;
}

}  // namespace sigv4
}  // namespace s3
