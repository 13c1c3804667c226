// cli-common.cpp: the connection flags every s3src-helper verb takes, and its one-line errors.
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "cli.h"

namespace cli {

namespace {

// Parses a whole decimal integer within [lo, hi] or throws UsageError naming the flag.
long parse_int(const std::string &flag, const std::string &text, long lo, long hi) {
  errno = 0;
  char *end = nullptr;
  long value = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno != 0 || value < lo || value > hi)
    throw UsageError(flag + " wants a whole number from " + std::to_string(lo) + " to " +
                     std::to_string(hi) + ", not '" + text + "'");
  return value;
}

const char *level_name(s3::LogLevel level) {
  switch (level) {
    case s3::LogLevel::kError:
      return "error";
    case s3::LogLevel::kWarning:
      return "warning";
    case s3::LogLevel::kInfo:
      return "info";
    case s3::LogLevel::kDebug:
      return "debug";
  }
  return "log";
}

}  // namespace

OptionArg split_option(const std::string &arg) {
  OptionArg option;
  option.name = arg;
  std::size_t eq = arg.find('=');
  if (arg.rfind("--", 0) == 0 && eq != std::string::npos) {
    option.name = arg.substr(0, eq);
    option.value = arg.substr(eq + 1);
    option.inline_value = true;
  }
  return option;
}

Common parse_common(std::vector<std::string> *args) {
  Common common;
  common.config = s3::Config::from_environment();
  std::vector<std::string> rest;
  bool timeout_set = false;
  for (std::size_t i = 0; i < args->size(); ++i) {
    const std::string &arg = (*args)[i];
    if (arg == "--") {  // the verb's operands follow, even if they start with '-'
      rest.insert(rest.end(), args->begin() + static_cast<long>(i), args->end());
      break;
    }
    const OptionArg option = split_option(arg);
    const std::string &name = option.name;
    const std::string &value = option.value;
    const bool has_inline_value = option.inline_value;
    auto take_value = [&]() -> std::string {
      if (has_inline_value)
        return value;
      if (i + 1 >= args->size())
        throw UsageError(name + " needs a value");
      return (*args)[++i];
    };
    auto no_value = [&]() {
      if (has_inline_value)
        throw UsageError(name + " takes no value");
    };
    if (name == "--endpoint") {
      common.config.endpoint = take_value();
    } else if (name == "--region") {
      common.config.region = take_value();
      if (common.config.region.empty())
        throw UsageError("--region must not be empty");
    } else if (name == "--access-key") {
      common.config.access_key = take_value();
    } else if (name == "--secret-key") {
      common.config.secret_key = take_value();
    } else if (name == "--path-style") {
      no_value();
      common.config.addressing = s3::Addressing::kPath;
    } else if (name == "--virtual-host") {
      no_value();
      common.config.addressing = s3::Addressing::kVirtualHost;
    } else if (name == "--no-verify-tls") {
      no_value();
      common.config.verify_tls = false;
    } else if (name == "--timeout") {
      common.config.timeout_s = static_cast<int>(parse_int(name, take_value(), 1, 3600));
      common.config.request_timeout_s = common.config.timeout_s;
      timeout_set = true;
    } else if (name == "--retries") {
      common.config.retries = static_cast<int>(parse_int(name, take_value(), 0, 20));
    } else if (name == "--verbose" || name == "-v") {
      no_value();
      common.verbose = true;
    } else {
      rest.push_back(arg);
    }
  }
  if (timeout_set && common.config.connect_timeout_s > common.config.timeout_s)
    common.config.connect_timeout_s = common.config.timeout_s;
  *args = std::move(rest);
  if (common.verbose) {
    s3::set_log_handler([](s3::LogLevel level, const std::string &message) {
      std::fprintf(stderr, "s3src-helper: %s: %s\n", level_name(level), message.c_str());
    });
  } else {
    // Retries and the like stay quiet: a failure is reported once, as the verb's error line.
    s3::set_log_handler([](s3::LogLevel, const std::string &) {});
  }
  return common;
}

void print_error(const std::string &message) {
  std::string line = message;
  for (char &c : line) {
    if (c == '\n' || c == '\r')
      c = ' ';
  }
  std::fflush(stdout);
  std::fprintf(stderr, "s3src-helper: %s\n", line.c_str());
}

}  // namespace cli
