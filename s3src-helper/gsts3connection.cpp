// gsts3connection.cpp: the connection properties and error mapping of s3src and s3sink.
#include "gsts3connection.h"

#include <algorithm>

namespace {

enum Offset : guint {
  kEndpoint,
  kRegion,
  kAccessKey,
  kSecretKey,
  kForcePathStyle,
  kTimeout,
  kRetries
};

std::string string_of(const GValue *value) {
  const gchar *s = g_value_get_string(value);
  return s != nullptr ? s : "";
}

const gchar *unset_if_empty(const std::string &v) {
  return v.empty() ? nullptr : v.c_str();
}

}  // namespace

void gst_s3_connection_install_properties(GObjectClass *klass, guint first_id,
                                          const char *timeout_blurb, const char *retries_blurb) {
  const GstS3ConnectionSettings defaults;
  const auto rw = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                           GST_PARAM_MUTABLE_READY);
  g_object_class_install_property(
      klass, first_id + kEndpoint,
      g_param_spec_string("endpoint", "Endpoint",
                          "S3 endpoint URL, e.g. http://127.0.0.1:9000 or "
                          "https://ACCOUNT.r2.cloudflarestorage.com; unset: S3_ENDPOINT or "
                          "AWS_ENDPOINT_URL from the environment, else AWS",
                          nullptr, rw));
  g_object_class_install_property(
      klass, first_id + kRegion,
      g_param_spec_string("region", "Region",
                          "Signing region (R2: auto); unset: S3_REGION or AWS_REGION, else "
                          "us-east-1",
                          nullptr, rw));
  g_object_class_install_property(
      klass, first_id + kAccessKey,
      g_param_spec_string("access-key", "Access key",
                          "Access key ID; unset: S3_ACCESS_KEY or AWS_ACCESS_KEY_ID", nullptr, rw));
  g_object_class_install_property(
      klass, first_id + kSecretKey,
      g_param_spec_string("secret-key", "Secret key",
                          "Secret access key (write-only, never shown); unset: S3_SECRET_KEY or "
                          "AWS_SECRET_ACCESS_KEY. Prefer the environment on command lines",
                          nullptr,
                          static_cast<GParamFlags>(G_PARAM_WRITABLE | G_PARAM_STATIC_STRINGS |
                                                   GST_PARAM_MUTABLE_READY)));
  g_object_class_install_property(
      klass, first_id + kForcePathStyle,
      g_param_spec_boolean("force-path-style", "Force path-style",
                           "Address buckets as ENDPOINT/bucket/key even on AWS (the default is "
                           "path-style when an endpoint is set, virtual-host style on AWS, or "
                           "S3_FORCE_PATH_STYLE)",
                           defaults.force_path_style, rw));
  g_object_class_install_property(
      klass, first_id + kTimeout,
      g_param_spec_uint("timeout", "Timeout", timeout_blurb, 1, 3600, defaults.timeout_s, rw));
  g_object_class_install_property(
      klass, first_id + kRetries,
      g_param_spec_int("retries", "Retries", retries_blurb, 0, 20, defaults.retries, rw));
}

bool gst_s3_connection_set_property(GstS3ConnectionSettings *s, guint first_id, guint prop_id,
                                    const GValue *value) {
  if (prop_id < first_id || prop_id >= first_id + kGstS3ConnectionProps)
    return false;
  switch (prop_id - first_id) {
    case kEndpoint:
      s->endpoint = string_of(value);
      break;
    case kRegion:
      s->region = string_of(value);
      break;
    case kAccessKey:
      s->access_key = string_of(value);
      break;
    case kSecretKey:
      s->secret_key = string_of(value);
      break;
    case kForcePathStyle:
      s->force_path_style = g_value_get_boolean(value);
      break;
    case kTimeout:
      s->timeout_s = g_value_get_uint(value);
      break;
    case kRetries:
      s->retries = g_value_get_int(value);
      break;
  }
  return true;
}

bool gst_s3_connection_get_property(const GstS3ConnectionSettings &s, guint first_id, guint prop_id,
                                    GValue *value) {
  if (prop_id < first_id || prop_id >= first_id + kGstS3ConnectionProps ||
      prop_id == first_id + kSecretKey)  // write-only
    return false;
  switch (prop_id - first_id) {
    case kEndpoint:
      g_value_set_string(value, unset_if_empty(s.endpoint));
      break;
    case kRegion:
      g_value_set_string(value, unset_if_empty(s.region));
      break;
    case kAccessKey:
      g_value_set_string(value, unset_if_empty(s.access_key));
      break;
    case kForcePathStyle:
      g_value_set_boolean(value, s.force_path_style);
      break;
    case kTimeout:
      g_value_set_uint(value, s.timeout_s);
      break;
    case kRetries:
      g_value_set_int(value, s.retries);
      break;
  }
  return true;
}

void gst_s3_connection_route_log(GstDebugCategory *category) {
  static GstDebugCategory *target;
  target = category;
  s3::set_log_handler([](s3::LogLevel level, const std::string &message) {
    GstDebugLevel gst_level = GST_LEVEL_DEBUG;
    switch (level) {
      case s3::LogLevel::kError:
        gst_level = GST_LEVEL_ERROR;
        break;
      case s3::LogLevel::kWarning:
        gst_level = GST_LEVEL_WARNING;
        break;
      case s3::LogLevel::kInfo:
        gst_level = GST_LEVEL_INFO;
        break;
      default:
        break;
    }
    GST_CAT_LEVEL_LOG(target, gst_level, nullptr, "s3: %s", message.c_str());
  });
}

s3::Config gst_s3_connection_config(const GstS3ConnectionSettings &s) {
  s3::Config config = s3::Config::from_environment();
  if (!s.endpoint.empty())
    config.endpoint = s.endpoint;
  if (!s.region.empty())
    config.region = s.region;
  if (!s.access_key.empty())
    config.access_key = s.access_key;
  if (!s.secret_key.empty())
    config.secret_key = s.secret_key;
  if (s.force_path_style)
    config.addressing = s3::Addressing::kPath;
  config.timeout_s = static_cast<int>(s.timeout_s);
  config.connect_timeout_s = std::min(config.connect_timeout_s, config.timeout_s);
  config.retries = s.retries;
  return config;
}

void gst_s3_post_error(GstElement *element, GstDebugCategory *category, const s3::Error &e,
                       GstResourceError otherwise, const std::string &text,
                       const std::string &object) {
  GstResourceError code = otherwise;
  switch (e.kind()) {
    case s3::ErrorKind::kNotFound:
    case s3::ErrorKind::kNoSuchBucket:
      code = GST_RESOURCE_ERROR_NOT_FOUND;
      break;
    case s3::ErrorKind::kAccessDenied:
    case s3::ErrorKind::kSignatureMismatch:
    case s3::ErrorKind::kClockSkew:
      code = GST_RESOURCE_ERROR_NOT_AUTHORIZED;
      break;
    default:
      break;
  }
  const std::string details = object + ": HTTP status " + std::to_string(e.http_status()) +
                              ", S3 code " + (e.code().empty() ? std::string("(none)") : e.code());
  GST_CAT_WARNING_OBJECT(category, element, "error: %s (%s)", text.c_str(), details.c_str());
  // What GST_ELEMENT_ERROR expands to, with the code chosen at run time.
  gst_element_message_full(element, GST_MESSAGE_ERROR, GST_RESOURCE_ERROR, code,
                           g_strdup(text.c_str()), g_strdup(details.c_str()), __FILE__,
                           GST_FUNCTION, __LINE__);
}
