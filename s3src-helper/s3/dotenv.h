// dotenv.h: the .env settings file (parsed, never executed) and the precedence of settings.
//
// One grammar and one precedence for every tool: this file and scripts/lib/config.sh implement
// the same ones (tests/s3src-helper/test-dotenv-diff.sh compares them), docs/configuration.md
// defines them:
//   flags > process environment > .env file > defaults,
// a variable set in the environment wins even when empty, and the S3 connection settings also
// answer to their AWS_* names: inside one source the S3_* name wins over its aliases (in the
// order of kAliasGroups), across sources the environment wins, so AWS_REGION in the
// environment beats S3_REGION in the .env file.
//
// Grammar, one setting per line: blank lines and lines starting with # are skipped; an optional
// `export ` prefix; KEY=value with KEY = [A-Za-z_][A-Za-z0-9_]*, blanks (space, tab) allowed
// around =; the value is
//   'single quoted' (taken literally), "double quoted" (escapes \" \\ \$ \n \t only), each
//   optionally followed by blanks and a # comment; or unquoted: leading and trailing blanks
//   dropped, cut at the first # that starts the value or follows a blank (a#b stays a#b).
// Nothing is expanded ($VAR, $(cmd) and `cmd` are plain text). A trailing CR is dropped (CRLF
// files). A later line for the same key wins. A file with a NUL byte is rejected.
// Error messages name the file, the line and (when known) the key, never a value or the text
// of a malformed line: it may be a secret.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace s3 {

struct DotenvEntry {
  std::string key;
  std::string value;
  int line = 0;  // 1-based
};

// A parsed file: every well-formed line in order (duplicates kept; the last one counts).
struct DotenvFile {
  std::string path;
  std::vector<DotenvEntry> entries;
  // The value of the last line setting `key`, or nullptr.
  const DotenvEntry *find(const std::string &key) const;
};

// Parses `text` as the contents of `path` (used in messages only). Appends one line per error to
// *errors ("config: PATH:LINE: KEY: unterminated \" quote"), keeps the good lines, and returns
// false when there was any error. A malformed line names its key only when the key is one of
// `known` or an alias-group name (otherwise it could be a secret pasted without its key).
bool parse_dotenv(std::string_view text, const std::string &path, DotenvFile *out,
                  std::vector<std::string> *errors, const std::vector<std::string> &known = {});
// Reads and parses a regular file; "config: cannot read env file: PATH" when it cannot.
bool read_dotenv(const std::string &path, DotenvFile *out, std::vector<std::string> *errors,
                 const std::vector<std::string> &known = {});

// The alias groups: canonical name first, then the AWS_* names from most to least specific.
extern const std::vector<std::vector<std::string>> kAliasGroups;

// The settings of one tool: flags, the process environment and one .env file, resolved with the
// precedence above. Cheap to copy; thread-safe for reading.
class Settings {
 public:
  using Getenv = std::function<const char *(const char *)>;

  Settings();
  // Reads `env_file` (empty: no file) and snapshots the environment through `getenv_fn`.
  // Throws s3::Error(kInvalidArgument) whose message is the error lines joined by newlines.
  static Settings load(const std::string &env_file, const Getenv &getenv_fn = nullptr);
  // Same, from text already in memory (tests, fuzzing).
  static Settings from_text(std::string_view text, const std::string &path,
                            const Getenv &getenv_fn = nullptr);

  // A command-line value: beats everything else. An alias name sets its whole group.
  void set_flag(const std::string &name, const std::string &value);

  // The winning value of `name` (or of its alias group), or nullopt when no source sets it.
  std::optional<std::string> get(const std::string &name) const;
  std::string get(const std::string &name, const std::string &fallback) const;
  // Where the value of `name` comes from, for messages: "flag --NAME" is the caller's business;
  // this says "command line", "environment (AWS_REGION)", "PATH:LINE (S3_REGION)" or "default".
  std::string origin(const std::string &name) const;

  // One warning line per key of the file that is not in `known` (nor an alias of a known name):
  // "config: warning: PATH:LINE: unknown setting KEY (ignored)".
  std::vector<std::string> unknown_key_warnings(const std::vector<std::string> &known) const;

  // The resolved settings as a getenv-like function, so that s3::Config::from_environment(
  // settings.getenv()) sees the .env file too. The returned pointers stay valid as long as the
  // function object (or a copy of it) lives.
  Getenv getenv() const;

  const DotenvFile &file() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace s3
