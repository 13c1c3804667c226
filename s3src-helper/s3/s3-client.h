// s3-client.h: S3 (and local-folder) bucket access for the element and the tools; no GStreamer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace s3 {

enum class Addressing {
  kAuto,         // path-style when an endpoint is set, virtual-host on AWS
  kPath,         // http://endpoint/bucket/key
  kVirtualHost,  // http://bucket.endpoint/key
};

// Connection settings. from_environment() reads S3_* names first and the AWS_* aliases second:
// S3_ENDPOINT/AWS_ENDPOINT_URL, S3_REGION/AWS_REGION (default us-east-1),
// S3_ACCESS_KEY/AWS_ACCESS_KEY_ID, S3_SECRET_KEY/AWS_SECRET_ACCESS_KEY,
// S3_SESSION_TOKEN/AWS_SESSION_TOKEN, S3_FORCE_PATH_STYLE (true/false),
// S3_VERIFY_TLS (default true). Callers override fields afterwards (flags, properties).
struct Config {
  // "" = AWS; else e.g. http://127.0.0.1:9000 or https://x.r2.cloudflarestorage.com
  std::string endpoint;
  std::string region = "us-east-1";
  std::string access_key;
  std::string secret_key;
  std::string session_token;
  Addressing addressing = Addressing::kAuto;
  bool verify_tls = true;
  int connect_timeout_s = 10;  // TCP/TLS connect
  // Streamed object data (get, put_file, Reader) has no overall deadline (a big object takes
  // what it takes) but fails when it averages under min_rate_bps bytes a second for timeout_s:
  // a stalled or trickling server.
  int timeout_s = 30;
  int min_rate_bps = 1024;
  // Every other request (a listing page, HEAD, DELETE, copy, put_data) must complete within
  // request_timeout_s, all retries and their backoff included.
  int request_timeout_s = 120;
  int retries = 4;  // extra attempts on retryable failures (5xx, 429, timeouts, resets)

  static Config from_environment();
  // For tests: the same with a custom lookup (returns nullptr for unset names).
  static Config from_environment(const std::function<const char *(const char *)> &getenv_fn);
};

// What went wrong, coarse enough for callers to act on.
enum class ErrorKind {
  kInvalidArgument,  // bad URL, bad option, unsupported operation for this backend
  kNotFound,         // NoSuchKey / 404 / missing file
  kNoSuchBucket,
  kAccessDenied,         // 403 other than a bad signature
  kSignatureMismatch,    // SignatureDoesNotMatch / InvalidAccessKeyId: check the keys
  kClockSkew,            // RequestTimeTooSkewed: the local clock is off
  kPreconditionFailed,   // 412 (If-None-Match: * on an existing key)
  kRangeNotSatisfiable,  // 416
  kUnreachable,          // DNS/connect failure
  kTimeout,              // connect or low-speed timeout
  kServer,               // 5xx/429 after the retries ran out, or a malformed reply
  kIo,                   // local file errors
  kCancelled,            // Reader::cancel()
};

// One-line, human message; never contains a secret (signatures are cut from any URL in it).
class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string &message, int http_status = 0, std::string code = {});
  ErrorKind kind() const { return kind_; }
  int http_status() const { return http_status_; }
  const std::string &code() const { return code_; }  // S3 error Code, e.g. "NoSuchKey"

 private:
  ErrorKind kind_;
  int http_status_;
  std::string code_;
};

// s3://bucket/key or file:///abs/path. For objects, a file:// URL is rooted at "/" with the
// whole path as key; for buckets (parse_bucket), the path is the root folder and key is empty.
// Keys in URLs are raw (as S3 stores them), not percent-encoded, except in parse_uri().
struct Url {
  enum class Scheme { kS3, kFile };
  Scheme scheme = Scheme::kS3;
  std::string bucket;  // s3: bucket name; file: root folder (absolute, no trailing slash but "/")
  std::string key;

  static Url parse(const std::string &text);         // throws Error(kInvalidArgument)
  static Url parse_bucket(const std::string &text);  // also accepts a plain local path
  static Url parse_uri(const std::string &uri);      // RFC 3986 URI: percent-escapes decoded
  std::string str() const;                           // raw form, for messages
  std::string uri() const;                           // percent-encoded, for GStreamer URIs
};

struct ObjectInfo {
  std::string key;
  std::uint64_t size = 0;
  std::string etag;           // without quotes
  std::string last_modified;  // as the server says (ISO 8601 in listings, RFC 1123 in HEAD)
  std::string content_type;   // HEAD only
};

struct ListPage {
  std::vector<ObjectInfo> objects;
  std::vector<std::string> common_prefixes;
  bool truncated = false;
  std::string next_token;  // continuation token when truncated
};

struct PutOptions {
  std::string content_type;    // empty: application/octet-stream
  bool if_none_match = false;  // fail with kPreconditionFailed when the key exists
  // (S3 library note) If a retry follows a lost reply and then finds the key, the write counts
  // as ours when the stored ETag is the MD5 of what was sent (an identical object).
};

// One object written as a stream of unknown length (Bucket::open_upload). On S3 the data goes
// out in parts as it comes (multipart upload: CreateMultipartUpload when the first part is
// full, UploadPart per part, CompleteMultipartUpload at complete()); an object smaller than one
// part is a single PUT. Nothing is visible under the key before complete() returns, and an
// upload that is not completed is aborted (abort(), or the destructor): no half object and no
// pending upload is left behind.
// If-None-Match (PutOptions::if_none_match): a key that exists when the upload starts or
// before it completes fails with kPreconditionFailed; the complete request carries
// `If-None-Match: *` too, so servers that honour it there (AWS S3) close the race in between.
// Use from one thread; an Upload must not outlive its Bucket.
class Upload {
 public:
  virtual ~Upload() = default;
  // Appends data; may send a part (blocking, with the bucket's retries). Throws Error, after
  // which the upload is aborted and only the destructor may be called.
  virtual void write(std::string_view data) = 0;
  // Makes the object; its ETag is the server's (a multipart ETag ends in "-N"). Throws Error
  // (the upload is aborted then).
  virtual ObjectInfo complete() = 0;
  // Drops what was sent; never throws (a failure is logged: the bucket's lifecycle rules are
  // the last resort for uploads that cannot be aborted).
  virtual void abort() noexcept = 0;
  // Bytes written so far, and parts sent so far (0 while everything fits in one part).
  virtual std::uint64_t size() const = 0;
  virtual int parts_sent() const = 0;
};

// S3's limits: parts are 5 MiB..5 GiB (the last one may be smaller), at most 10,000 of them.
constexpr std::size_t kMinPartSize = 5u << 20;
constexpr std::size_t kMaxPartSize = std::size_t(5) << 30;
constexpr std::size_t kDefaultPartSize = 8u << 20;
constexpr int kMaxParts = 10000;

struct CopyOptions {
  // Create-if-absent: fail with kPreconditionFailed when dst_key exists. A file:// bucket links
  // the finished copy into place (atomic, never replaces). On S3 the CopyObject request carries
  // If-None-Match: *, which AWS honours but some servers ignore (Ceph RGW 16 copies over an
  // existing key): the migration probes the server before relying on it (s3-migrate.h).
  bool if_none_match = false;
};

// A sequential reader over one object: one streaming ranged GET; a dropped connection is resumed
// from the current offset within the retry budget.
// (S3 library notes) The GET starts at the first read(), not in open_reader(). read() drives the
// transfer itself (no thread): up to read_ahead bytes are buffered, then the transfer is paused
// until the caller has consumed half of them; a paused transfer is exempt from the low-speed
// timeout, so a consumer may pause for long. A resumed GET sends If-Match with the first ETag, so
// an object replaced mid-read fails with kPreconditionFailed instead of mixing two versions.
// A Reader may outlive its Bucket. Use one from one thread at a time, except cancel().
class Reader {
 public:
  virtual ~Reader() = default;
  // Reads up to len bytes; returns 0 at the end of the object (or of the range). Blocks.
  // Opening at exactly the object's size reads nothing (0), as a file would.
  virtual std::size_t read(void *buf, std::size_t len) = 0;
  virtual std::uint64_t offset() const = 0;
  // Thread-safe: makes a blocked or future read() throw Error(kCancelled).
  virtual void cancel() = 0;
};

// A bucket on S3 or a local folder with the same key layout. Methods throw Error.
// (S3 library notes) Methods may be called from several threads at once: S3 requests take curl
// handles from a small pool, which is also what keeps connections open between requests.
// Retries (Config::retries) apply to every request; a GET that already delivered bytes resumes
// after them, so sinks never see a byte twice. Local folders: keys map to files under the root;
// keys with empty, "." or ".." segments (or a leading/trailing '/') are refused with
// kInvalidArgument; ETags are the MD5 of the content, as S3's single-part ETags.
class Bucket {
 public:
  virtual ~Bucket() = default;
  virtual const Url &url() const = 0;

  // One ListObjectsV2 page (max_keys 1..1000).
  virtual ListPage list_page(const std::string &prefix, const std::string &delimiter,
                             const std::string &continuation_token, int max_keys = 1000) = 0;
  // Every object under prefix, following continuation tokens; with a delimiter also the
  // common prefixes. Objects come in key order (UTF-8 byte order). Throws kServer past
  // kMaxListPages pages or kMaxEmptyListPages empty pages in a row (a listing that never ends).
  static constexpr std::size_t kMaxListPages = 100000;  // 100 million keys
  static constexpr std::size_t kMaxEmptyListPages = 100;
  void list_all(const std::string &prefix, const std::string &delimiter,
                std::vector<ObjectInfo> *objects, std::vector<std::string> *prefixes = nullptr);

  virtual ObjectInfo head(const std::string &key) = 0;
  // GET [offset, offset + length), length < 0 = to the end; calls sink for each chunk.
  virtual std::uint64_t get(const std::string &key, std::uint64_t offset, std::int64_t length,
                            const std::function<void(const char *, std::size_t)> &sink) = 0;
  // Downloads into path atomically (temporary file + rename).
  void get_to_file(const std::string &key, const std::string &path);
  virtual std::unique_ptr<Reader> open_reader(const std::string &key, std::uint64_t offset,
                                              std::int64_t length = -1,
                                              std::size_t read_ahead = 4 << 20) = 0;

  // Streams the file, never holding it wholly in memory.
  virtual ObjectInfo put_file(const std::string &key, const std::string &path,
                              const PutOptions &options = {}) = 0;
  virtual ObjectInfo put_data(const std::string &key, std::string_view data,
                              const PutOptions &options = {}) = 0;
  // A streamed upload (see Upload). part_size is clamped to [kMinPartSize, kMaxPartSize]; it
  // doubles after every 1,000 parts, so no stream runs out of S3's 10,000 parts. The default
  // (local folders) spools to a private temporary file and writes it at complete().
  virtual std::unique_ptr<Upload> open_upload(const std::string &key,
                                              const PutOptions &options = {},
                                              std::size_t part_size = kDefaultPartSize);
  // Multipart uploads started under prefix and neither completed nor aborted
  // (ListMultipartUploads, first 1,000); local folders have none.
  struct PendingUpload {
    std::string key;
    std::string upload_id;
    std::string initiated;
  };
  virtual std::vector<PendingUpload> pending_uploads(const std::string &prefix);
  // Server-side copy within this bucket (the local backend copies the file).
  // The result has key, etag and last_modified; size is 0 on S3 (the reply does not say).
  virtual ObjectInfo copy(const std::string &src_key, const std::string &dst_key,
                          const CopyOptions &options = {}) = 0;
  // Deleting a missing key succeeds, as on S3.
  virtual void remove(const std::string &key) = 0;
  // Presigned GET URL; throws kInvalidArgument for local folders.
  virtual std::string presign(const std::string &key, int expires_s) = 0;
};

// Opens the bucket named by url (key ignored). Local folders must exist.
std::unique_ptr<Bucket> open_bucket(const Url &url, const Config &config);

// Logging hook (the element routes it to GST_DEBUG, the CLI to stderr with --verbose).
// Messages never contain secrets.
enum class LogLevel { kError, kWarning, kInfo, kDebug };
void set_log_handler(std::function<void(LogLevel, const std::string &)> handler);

// Cuts X-Amz-Signature (and X-Amz-Security-Token) values from a URL for logging.
std::string redact_url(const std::string &url);

}  // namespace s3
