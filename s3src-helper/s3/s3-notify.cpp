// s3-notify.cpp: the SNS-compatible topic API and bucket notification configuration (RGW).
#include "s3-notify.h"

#include <chrono>
#include <thread>

#include "s3-http.h"
#include "s3-internal.h"
#include "s3-sigv4.h"
#include "s3-xml.h"

namespace s3 {
namespace notify {

namespace {

constexpr int kAttempts = 4;

std::string xml_escape(const std::string &text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// The S3 server as config.endpoint names it (path-style addressing only: RGW and MinIO).
struct Endpoint {
  std::string scheme, host, base_path;
};

Endpoint endpoint_of(const Config &config) {
  if (config.endpoint.empty())
    throw Error(ErrorKind::kInvalidArgument,
                "bucket notifications to AMQP need an S3-compatible server (Ceph RGW, MinIO): "
                "set S3_ENDPOINT (AWS S3 cannot publish to RabbitMQ)");
  Endpoint e;
  std::size_t sep = config.endpoint.find("://");
  if (sep == std::string::npos)
    throw Error(ErrorKind::kInvalidArgument,
                "the S3 endpoint '" + config.endpoint + "' needs a scheme (http:// or https://)");
  e.scheme = internal::to_lower(config.endpoint.substr(0, sep));
  std::string rest = config.endpoint.substr(sep + 3);
  std::size_t slash = rest.find('/');
  e.host = rest.substr(0, slash);
  if (slash != std::string::npos)
    e.base_path = rest.substr(slash);
  while (!e.base_path.empty() && e.base_path.back() == '/')
    e.base_path.pop_back();
  if ((e.scheme != "http" && e.scheme != "https") || e.host.empty() ||
      e.host.find('@') != std::string::npos)
    throw Error(ErrorKind::kInvalidArgument,
                "the S3 endpoint '" + config.endpoint + "' is not http(s)://host[:port]");
  if (e.scheme == "http" && internal::ends_with(e.host, ":80"))
    e.host.resize(e.host.size() - 3);
  if (e.scheme == "https" && internal::ends_with(e.host, ":443"))
    e.host.resize(e.host.size() - 4);
  return e;
}

// One signed request with retries on 5xx and connection failures; returns the 2xx response.
http::Response call(const Config &config, const std::string &service, const std::string &what,
                    const std::string &method, const std::string &raw_path,
                    const sigv4::Pairs &query, const std::string &content_type,
                    const std::string &body) {
  Endpoint ep = endpoint_of(config);
  sigv4::Credentials credentials;
  credentials.access_key = config.access_key;
  credentials.secret_key = config.secret_key;
  credentials.session_token = config.session_token;
  credentials.region = config.region.empty() ? "us-east-1" : config.region;
  credentials.service = service;
  if (credentials.access_key.empty() || credentials.secret_key.empty())
    throw Error(ErrorKind::kInvalidArgument,
                what + " needs S3_ACCESS_KEY and S3_SECRET_KEY (the server's admin user)");
  http::global_init();
  std::string last_error;
  for (int attempt = 0; attempt < kAttempts; attempt++) {
    if (attempt > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(250 << attempt));
    std::string payload_hash = sigv4::sha256_hex(body);
    std::string date = sigv4::amz_date(internal::signing_time());
    sigv4::Request sr;
    sr.method = method;
    sr.path = ep.base_path + raw_path;
    sr.query = query;
    sr.payload_hash = payload_hash;
    sr.headers = {{"host", ep.host}, {"x-amz-date", date}, {"x-amz-content-sha256", payload_hash}};
    if (!content_type.empty())
      sr.headers.emplace_back("content-type", content_type);
    if (!credentials.session_token.empty())
      sr.headers.emplace_back("x-amz-security-token", credentials.session_token);
    http::Request request;
    request.method = method;
    std::string q = sigv4::canonical_query(query);
    request.url = ep.scheme + "://" + ep.host + sigv4::uri_encode(sr.path, false) +
                  (q.empty() ? "" : "?" + q);
    request.headers.push_back("Authorization: " + sigv4::authorization(sr, credentials, date));
    for (const auto &[name, value] : sr.headers)
      if (name != "host")
        request.headers.push_back(name + ": " + value);
    if (method == "PUT" || method == "POST") {
      request.body = body;
      request.has_body = true;
    }
    request.connect_timeout_s = config.connect_timeout_s;
    request.timeout_s = config.timeout_s;
    request.verify_tls = config.verify_tls;
    http::Easy easy = http::new_easy();
    http::Response r = http::perform(easy.get(), request);
    if (r.curl_code != CURLE_OK) {
      last_error = "cannot reach " + config.endpoint + ": " + r.curl_error;
      continue;
    }
    if (r.status >= 200 && r.status < 300)
      return r;
    xml::ErrorBody err;
    xml::parse_error(r.body, &err);
    std::string detail = "HTTP " + std::to_string(r.status) +
                         (err.code.empty() ? "" : " " + err.code) +
                         (err.message.empty() ? "" : ": " + err.message);
    if (r.status >= 500 || r.status == 429) {
      last_error = config.endpoint + " failed " + what + " (" + detail + ")";
      continue;
    }
    ErrorKind kind = ErrorKind::kInvalidArgument;
    std::string hint;
    if (err.code == "SignatureDoesNotMatch" || err.code == "InvalidAccessKeyId") {
      kind = ErrorKind::kSignatureMismatch;
      hint = "; check S3_ACCESS_KEY and S3_SECRET_KEY";
    } else if (err.code == "NoSuchBucket") {
      kind = ErrorKind::kNoSuchBucket;
    } else if (r.status == 403) {
      kind = ErrorKind::kAccessDenied;
    } else if (r.status == 404) {
      kind = ErrorKind::kNotFound;
    }
    throw Error(kind, config.endpoint + " refused " + what + " (" + detail + ")" + hint,
                static_cast<int>(r.status), err.code);
  }
  throw Error(ErrorKind::kServer, last_error + " after " + std::to_string(kAttempts) + " attempts");
}

std::string form_encode(const sigv4::Pairs &pairs) {
  std::string out;
  for (const auto &[name, value] : pairs) {
    if (!out.empty())
      out += '&';
    out += sigv4::uri_encode(name, true) + "=" + sigv4::uri_encode(value, true);
  }
  return out;
}

}  // namespace

std::string redact_userinfo(const std::string &url) {
  std::size_t start = url.find("://");
  if (start == std::string::npos)
    return url;
  start += 3;
  std::size_t end = url.find('/', start);
  std::size_t at = url.rfind('@', end == std::string::npos ? url.size() : end);
  if (at == std::string::npos || at < start)
    return url;
  return url.substr(0, start) + "***@" + url.substr(at + 1);
}

std::string create_topic_form(const TopicOptions &t) {
  sigv4::Pairs form = {{"Action", "CreateTopic"}, {"Name", t.name}};
  sigv4::Pairs attributes = {{"push-endpoint", t.push_endpoint},
                             {"amqp-exchange", t.exchange},
                             {"amqp-ack-level", t.ack_level},
                             {"persistent", t.persistent ? "true" : "false"}};
  int i = 1;
  for (const auto &[key, value] : attributes) {
    form.emplace_back("Attributes.entry." + std::to_string(i) + ".key", key);
    form.emplace_back("Attributes.entry." + std::to_string(i) + ".value", value);
    i++;
  }
  return form_encode(form);
}

std::string parse_topic_arn(const std::string &body) {
  return xml::parse_topic_arn(body);
}

std::string notification_xml(const NotificationOptions &o, const std::string &existing) {
  std::string out =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<NotificationConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
  out += xml::notification_entries_except(existing, o.id);
  bool queue = o.topic_arn.find(":sqs:") != std::string::npos;
  const char *element = queue ? "QueueConfiguration" : "TopicConfiguration";
  out += std::string("<") + element + "><Id>" + xml_escape(o.id) + "</Id>" +
         (queue ? "<Queue>" : "<Topic>") + xml_escape(o.topic_arn) +
         (queue ? "</Queue>" : "</Topic>");
  for (const std::string &event : o.events)
    out += "<Event>" + xml_escape(event) + "</Event>";
  if (!o.prefix.empty())
    out += "<Filter><S3Key><FilterRule><Name>prefix</Name><Value>" + xml_escape(o.prefix) +
           "</Value></FilterRule></S3Key></Filter>";
  out += std::string("</") + element + "></NotificationConfiguration>";
  return out;
}

std::string create_topic(const Config &config, const TopicOptions &topic) {
  if (topic.name.empty() || topic.exchange.empty() || topic.push_endpoint.empty())
    throw Error(ErrorKind::kInvalidArgument,
                "a topic needs a name, an AMQP push endpoint and an exchange");
  if (topic.push_endpoint.rfind("amqp://", 0) != 0 && topic.push_endpoint.rfind("amqps://", 0) != 0)
    throw Error(ErrorKind::kInvalidArgument,
                "the push endpoint must be an amqp:// or amqps:// URL, not '" +
                    redact_userinfo(topic.push_endpoint) + "'");
  http::Response r = call(config, "sns", "CreateTopic '" + topic.name + "'", "POST", "/", {},
                          "application/x-www-form-urlencoded", create_topic_form(topic));
  std::string arn = parse_topic_arn(r.body);
  if (arn.empty())
    throw Error(ErrorKind::kServer,
                config.endpoint + " answered CreateTopic without a TopicArn (is it Ceph RGW?)");
  return arn;
}

std::string get_bucket_notification(const Config &config, const std::string &bucket) {
  return call(config, "s3", "GetBucketNotificationConfiguration on '" + bucket + "'", "GET",
              "/" + bucket, {{"notification", ""}}, "", "")
      .body;
}

void put_bucket_notification(const Config &config, const std::string &bucket,
                             const NotificationOptions &options) {
  if (options.id.empty() || options.topic_arn.empty())
    throw Error(ErrorKind::kInvalidArgument, "a bucket notification needs an Id and a topic ARN");
  std::string existing = get_bucket_notification(config, bucket);
  call(config, "s3", "PutBucketNotificationConfiguration on '" + bucket + "'", "PUT", "/" + bucket,
       {{"notification", ""}}, "application/xml", notification_xml(options, existing));
}

}  // namespace notify
}  // namespace s3
