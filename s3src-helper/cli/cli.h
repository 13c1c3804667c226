// cli.h: pieces shared by the verbs of the s3src-helper command line tool.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "s3-client.h"

namespace cli {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

// A wrong command line; main() prints it with the verb's usage hint and exits 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Connection options every verb takes, overriding the environment:
// --endpoint URL, --region R, --access-key K, --secret-key S, --path-style, --virtual-host,
// --no-verify-tls, --timeout SECONDS, --retries N, --verbose.
struct Common {
  s3::Config config;  // environment first, then the flags
  bool verbose = false;
};

// One command-line argument split at its first '=' when it is a long option given as
// "--name=value"; otherwise name is the whole argument and value is empty.
struct OptionArg {
  std::string name;
  std::string value;
  bool inline_value = false;  // the argument carried "=value"
};
OptionArg split_option(const std::string &arg);

// Takes the common flags out of args (leaving the verb's own) and builds the configuration;
// throws UsageError on a bad value. With verbose, routes s3 log lines to stderr.
Common parse_common(std::vector<std::string> *args);

// Prints "s3src-helper: <message>" as one line on stderr.
void print_error(const std::string &message);

// Verbs implemented outside the basic set (each in its own cli-<verb>.cpp); args exclude the verb.
int run_pending(const std::vector<std::string> &args);  // work list for the batch driver
int run_migrate(const std::vector<std::string> &args);  // flat-to-dated migration
// bucket events -> AMQP (cli-notify.cpp)
int run_notify_setup(const std::vector<std::string> &args);

}  // namespace cli
