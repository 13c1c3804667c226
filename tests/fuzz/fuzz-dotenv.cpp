// fuzz-dotenv.cpp: libFuzzer target for the .env parser (s3src-helper/s3/dotenv): error lines
// never show a value, good lines survive a quoted round trip, the precedence layer never breaks.
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dotenv.h"
#include "s3-client.h"

namespace {

bool is_key_start(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}
bool is_key_char(char c) {
  return is_key_start(c) || (c >= '0' && c <= '9');
}
bool is_key(std::string_view s) {
  if (s.empty() || !is_key_start(s[0]))
    return false;
  for (char c : s)
    if (!is_key_char(c))
      return false;
  return true;
}
bool starts_with(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}

// An error line is "config: PATH" then either ": contains NUL bytes ..." or ":LINE: [KEY: ]WHY"
// with WHY one of the parser's fixed reasons: nothing of a malformed line but its key can show.
bool error_is_safe(std::string_view e, std::string_view path) {
  static const char *const kReasons[] = {
      "expected KEY=value (the line is not shown: it may hold a secret)",
      "unterminated ' quote",
      "unterminated \" quote",
      "unexpected text after the closing quote (not shown)",
  };
  std::string prefix = "config: " + std::string(path);
  if (!starts_with(e, prefix))
    return false;
  e.remove_prefix(prefix.size());
  if (e == ": contains NUL bytes (not a text file)")
    return true;
  if (!starts_with(e, ":"))
    return false;
  e.remove_prefix(1);
  std::size_t digits = 0;
  while (digits < e.size() && e[digits] >= '0' && e[digits] <= '9')
    ++digits;
  if (digits == 0 || e.substr(digits, 2) != ": ")
    return false;
  e.remove_prefix(digits + 2);
  for (int with_key = 0; with_key < 2; ++with_key) {
    std::string_view why = e;
    if (with_key) {
      std::size_t colon = e.find(": ");
      if (colon == std::string_view::npos || !is_key(e.substr(0, colon)))
        return false;
      why = e.substr(colon + 2);
    }
    for (const char *reason : kReasons)
      if (why == reason)
        return true;
  }
  return false;
}

// The value written back as a double-quoted .env value (escapes \" \\ \$ \n \t).
std::string quoted(const std::string &value) {
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\' || c == '$')
      out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char *>(data), size);
  const std::string path = "fuzz.env";
  s3::DotenvFile file;
  std::vector<std::string> errors;
  const bool ok = s3::parse_dotenv(text, path, &file, &errors, {"S3_BUCKET", "JOBS"});
  if (ok != errors.empty())
    std::abort();
  for (const std::string &e : errors)
    if (!error_is_safe(e, path))
      std::abort();

  int last_line = 0;
  std::string rewritten;
  bool rewritable = true;
  for (const s3::DotenvEntry &entry : file.entries) {
    if (!is_key(entry.key) || entry.line <= last_line)
      std::abort();
    last_line = entry.line;
    // A CR before a line end is dropped by the parser (CRLF files): not representable.
    if (entry.value.find('\r') != std::string::npos)
      rewritable = false;
    rewritten += entry.key + "=" + quoted(entry.value) + "\n";
  }
  if (rewritable) {
    s3::DotenvFile again;
    std::vector<std::string> errors2;
    if (!s3::parse_dotenv(rewritten, path, &again, &errors2) ||
        again.entries.size() != file.entries.size())
      std::abort();
    for (std::size_t i = 0; i < again.entries.size(); ++i)
      if (again.entries[i].key != file.entries[i].key ||
          again.entries[i].value != file.entries[i].value)
        std::abort();
  }

  // The precedence layer over the same text, with an empty environment.
  try {
    s3::Settings settings =
        s3::Settings::from_text(text, path, [](const char *) -> const char * { return nullptr; });
    for (const s3::DotenvEntry &entry : file.entries) {
      std::optional<std::string> v = settings.get(entry.key);
      if (!v)
        std::abort();
      bool aliased = false;
      for (const auto &group : s3::kAliasGroups)
        for (const std::string &name : group)
          aliased = aliased || name == entry.key;
      // Outside the alias groups the last line of a key wins; inside, its S3_* name may.
      if (!aliased && *v != file.find(entry.key)->value)
        std::abort();
    }
    (void)settings.unknown_key_warnings({"S3_BUCKET"});
  } catch (const s3::Error &) {
    if (ok)
      std::abort();  // from_text throws exactly when the file has errors
  }
  return 0;
}
