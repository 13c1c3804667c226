// s3-config.cpp: Config::from_environment(), S3_* names first, the AWS_* names as aliases.
#include <cstdlib>

#include "s3-client.h"
#include "s3-internal.h"

namespace s3 {

namespace {

// An empty variable counts as unset so that `S3_ENDPOINT= cmd` falls back to the alias.
std::string lookup(const std::function<const char *(const char *)> &getenv_fn,
                   std::initializer_list<const char *> names, bool *found = nullptr) {
  for (const char *name : names) {
    const char *value = getenv_fn(name);
    if (value && *value) {
      if (found)
        *found = true;
      return value;
    }
  }
  if (found)
    *found = false;
  return {};
}

bool parse_bool(const std::string &name, const std::string &value) {
  std::string v = internal::to_lower(internal::trim(value));
  if (v == "1" || v == "true" || v == "yes" || v == "on")
    return true;
  if (v == "0" || v == "false" || v == "no" || v == "off")
    return false;
  throw Error(ErrorKind::kInvalidArgument, name + " must be true or false, not '" + value + "'");
}

}  // namespace

Config Config::from_environment() {
  return from_environment([](const char *name) -> const char * { return std::getenv(name); });
}

Config Config::from_environment(const std::function<const char *(const char *)> &getenv_fn) {
  Config config;
  config.endpoint =
      internal::trim(lookup(getenv_fn, {"S3_ENDPOINT", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"}));
  // A bare host:port is most likely an R2/MinIO endpoint given without scheme: assume TLS.
  if (!config.endpoint.empty() && config.endpoint.find("://") == std::string::npos)
    config.endpoint = "https://" + config.endpoint;
  while (config.endpoint.size() > 1 && config.endpoint.back() == '/')
    config.endpoint.pop_back();

  bool found = false;
  std::string region = lookup(getenv_fn, {"S3_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"}, &found);
  if (found)
    config.region = internal::trim(region);
  config.access_key = lookup(getenv_fn, {"S3_ACCESS_KEY", "AWS_ACCESS_KEY_ID"});
  config.secret_key = lookup(getenv_fn, {"S3_SECRET_KEY", "AWS_SECRET_ACCESS_KEY"});
  config.session_token = lookup(getenv_fn, {"S3_SESSION_TOKEN", "AWS_SESSION_TOKEN"});

  std::string path_style = lookup(getenv_fn, {"S3_FORCE_PATH_STYLE"}, &found);
  if (found)
    config.addressing = parse_bool("S3_FORCE_PATH_STYLE", path_style) ? Addressing::kPath
                                                                      : Addressing::kVirtualHost;
  std::string verify = lookup(getenv_fn, {"S3_VERIFY_TLS"}, &found);
  if (found)
    config.verify_tls = parse_bool("S3_VERIFY_TLS", verify);
  return config;
}

}  // namespace s3
