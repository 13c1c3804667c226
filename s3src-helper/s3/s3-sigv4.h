// s3-sigv4.h: AWS Signature Version 4 for S3: canonical requests, header signing, presigned URLs.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace s3 {
namespace sigv4 {

// RFC 3986 percent-encoding as SigV4 wants it: unreserved A-Z a-z 0-9 - . _ ~ stay raw, every
// other byte becomes %XX (upper-case hex); '/' stays raw unless encode_slash (query values).
std::string uri_encode(std::string_view text, bool encode_slash);

std::string hex(std::string_view raw);
std::string sha256_hex(std::string_view data);
std::string hmac_sha256(std::string_view key, std::string_view data);  // raw 32 bytes

// "20150830T123600Z" for a Unix time.
std::string amz_date(std::int64_t unix_seconds);

using Pairs = std::vector<std::pair<std::string, std::string>>;

struct Credentials {
  std::string access_key;
  std::string secret_key;
  std::string session_token;  // "" = none
  std::string region = "us-east-1";
  std::string service = "s3";
};

// A request as the signer sees it. path and query are raw (not yet encoded): the signer encodes
// them once, the S3 way (no path normalisation, no double encoding).
struct Request {
  std::string method;
  std::string path = "/";
  Pairs query;               // raw names and values; a valueless parameter has ""
  Pairs headers;             // must include host (and x-amz-date / x-amz-content-sha256 for S3)
  std::string payload_hash;  // hex SHA-256 of the body, or UNSIGNED-PAYLOAD
};

std::string canonical_query(const Pairs &query);
// Lower-cased, value-trimmed, sorted, duplicates joined with ','; also returns the names.
std::string canonical_headers(const Pairs &headers, std::string *signed_headers);
std::string canonical_request(const Request &request, std::string *signed_headers = nullptr);
std::string scope(const std::string &date8, const Credentials &credentials);
std::string string_to_sign(const std::string &amz_date, const std::string &scope,
                           const std::string &canonical_request);
std::string signing_key(const Credentials &credentials, const std::string &date8);
std::string signature(const Credentials &credentials, const std::string &amz_date,
                      const std::string &string_to_sign);

// The Authorization header value for request signed at amz_date (request.headers must already
// hold x-amz-date = amz_date and, with a session token, x-amz-security-token).
std::string authorization(const Request &request, const Credentials &credentials,
                          const std::string &amz_date);

// The full encoded query string of a presigned URL (X-Amz-Algorithm ... X-Amz-Signature) for
// request (host header only; extra query parameters in request.query are kept and signed).
std::string presign_query(const Request &request, const Credentials &credentials,
                          const std::string &amz_date, int expires_s);

}  // namespace sigv4
}  // namespace s3
