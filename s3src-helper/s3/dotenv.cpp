// dotenv.cpp: .env parsing (the grammar of scripts/lib/config.sh) and settings precedence.
#include "dotenv.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <mutex>

#include "s3-client.h"

namespace s3 {

const std::vector<std::vector<std::string>> kAliasGroups = {
    {"S3_ENDPOINT", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"},
    {"S3_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"},
    {"S3_ACCESS_KEY", "AWS_ACCESS_KEY_ID"},
    {"S3_SECRET_KEY", "AWS_SECRET_ACCESS_KEY"},
    {"S3_SESSION_TOKEN", "AWS_SESSION_TOKEN"},
};

namespace {

bool is_blank(char c) {
  return c == ' ' || c == '\t';
}
bool is_key_start(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}
bool is_key_char(char c) {
  return is_key_start(c) || (c >= '0' && c <= '9');
}

std::string_view skip_blanks(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size() && is_blank(s[i]))
    ++i;
  return s.substr(i);
}

std::string_view trim_blanks_right(std::string_view s) {
  std::size_t n = s.size();
  while (n > 0 && is_blank(s[n - 1]))
    --n;
  return s.substr(0, n);
}

// The identifier at the start of `s` (possibly empty).
std::string_view leading_key(std::string_view s) {
  if (s.empty() || !is_key_start(s[0]))
    return {};
  std::size_t i = 1;
  while (i < s.size() && is_key_char(s[i]))
    ++i;
  return s.substr(0, i);
}

const std::vector<std::string> *group_of(const std::string &name) {
  for (const auto &group : kAliasGroups)
    for (const auto &member : group)
      if (member == name)
        return &group;
  return nullptr;
}

bool contains(const std::vector<std::string> &names, std::string_view name) {
  for (const auto &n : names)
    if (n == name)
      return true;
  return false;
}

bool is_alias_of_known(const std::string &key, const std::vector<std::string> &known) {
  for (const auto &k : known)
    if (k == key)
      return true;
  const auto *group = group_of(key);
  if (!group)
    return false;
  for (const auto &k : known)
    for (const auto &member : *group)
      if (k == member)
        return true;
  return false;
}

// Parses the text after "=". Returns false with *why set on an error (never quoting the value).
bool parse_value(std::string_view raw, std::string *value, std::string *why) {
  value->clear();
  raw = skip_blanks(raw);
  if (!raw.empty() && (raw[0] == '"' || raw[0] == '\'')) {
    const char quote = raw[0];
    std::size_t i = 1;
    const std::size_t n = raw.size();
    while (i < n) {
      const char ch = raw[i];
      if (ch == quote)
        break;
      if (quote == '"' && ch == '\\' && i + 1 < n) {
        const char next = raw[i + 1];
        if (next == '"' || next == '\\' || next == '$') {
          value->push_back(next);
          i += 2;
          continue;
        }
        if (next == 'n' || next == 't') {
          value->push_back(next == 'n' ? '\n' : '\t');
          i += 2;
          continue;
        }
      }
      value->push_back(ch);
      ++i;
    }
    if (i >= n) {
      *why = std::string("unterminated ") + quote + " quote";
      return false;
    }
    std::string_view rest = skip_blanks(raw.substr(i + 1));
    if (!rest.empty() && rest[0] != '#') {
      *why = "unexpected text after the closing quote (not shown)";
      return false;
    }
    return true;
  }
  if (!raw.empty() && raw[0] == '#')
    return true;
  // The first "#" after a blank starts a comment.
  for (std::size_t i = 1; i < raw.size(); ++i) {
    if (raw[i] == '#' && is_blank(raw[i - 1])) {
      raw = raw.substr(0, i);
      break;
    }
  }
  *value = std::string(trim_blanks_right(raw));
  return true;
}

}  // namespace

const DotenvEntry *DotenvFile::find(const std::string &key) const {
  for (auto it = entries.rbegin(); it != entries.rend(); ++it)
    if (it->key == key)
      return &*it;
  return nullptr;
}

bool parse_dotenv(std::string_view text, const std::string &path, DotenvFile *out,
                  std::vector<std::string> *errors, const std::vector<std::string> &known) {
  out->path = path;
  out->entries.clear();
  const std::string prefix = "config: " + path;
  if (text.find('\0') != std::string_view::npos) {
    errors->push_back(prefix + ": contains NUL bytes (not a text file)");
    return false;
  }
  bool ok = true;
  int lineno = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos)
      end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++lineno;
    if (!line.empty() && line.back() == '\r')
      line.remove_suffix(1);
    line = skip_blanks(line);
    if (line.empty() || line[0] == '#')
      continue;
    if (line.size() > 6 && line.substr(0, 6) == "export" && is_blank(line[6]))
      line = skip_blanks(line.substr(6));
    std::string_view key = leading_key(line);
    std::string_view after = skip_blanks(line.substr(key.size()));
    const std::string where = prefix + ":" + std::to_string(lineno) + ": ";
    if (key.empty() || after.empty() || after[0] != '=') {
      // The line may be a secret pasted without its key: only a known setting name is shown.
      std::string named;
      if (!key.empty() && (group_of(std::string(key)) || contains(known, key)))
        named = std::string(key) + ": ";
      errors->push_back(where + named +
                        "expected KEY=value (the line is not shown: it may hold a secret)");
      ok = false;
      continue;
    }
    std::string value, why;
    if (!parse_value(after.substr(1), &value, &why)) {
      errors->push_back(where + std::string(key) + ": " + why);
      ok = false;
      continue;
    }
    out->entries.push_back({std::string(key), std::move(value), lineno});
  }
  return ok;
}

bool read_dotenv(const std::string &path, DotenvFile *out, std::vector<std::string> *errors,
                 const std::vector<std::string> &known) {
  out->path = path;
  out->entries.clear();
  struct stat st;
  std::ifstream in;
  if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode))
    in.open(path, std::ios::binary);
  if (!in.is_open()) {
    errors->push_back("config: cannot read env file: " + path);
    return false;
  }
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return parse_dotenv(text, path, out, errors, known);
}

struct Settings::State {
  DotenvFile file;
  Getenv getenv_fn;
  std::map<std::string, std::string> flags;  // canonical name -> value
  // Resolved values handed out by getenv(); std::map nodes never move, so pointers stay valid.
  mutable std::mutex lock;
  mutable std::map<std::string, std::string> handed_out;
};

Settings::Settings() : state_(std::make_shared<State>()) {
  state_->getenv_fn = [](const char *name) -> const char * { return std::getenv(name); };
}

Settings Settings::from_text(std::string_view text, const std::string &path,
                             const Getenv &getenv_fn) {
  Settings s;
  if (getenv_fn)
    s.state_->getenv_fn = getenv_fn;
  std::vector<std::string> errors;
  if (!parse_dotenv(text, path, &s.state_->file, &errors)) {
    std::string message;
    for (const auto &e : errors)
      message += (message.empty() ? "" : "\n") + e;
    throw Error(ErrorKind::kInvalidArgument, message);
  }
  return s;
}

Settings Settings::load(const std::string &env_file, const Getenv &getenv_fn) {
  if (env_file.empty())
    return from_text("", "", getenv_fn);
  Settings s;
  if (getenv_fn)
    s.state_->getenv_fn = getenv_fn;
  std::vector<std::string> errors;
  if (!read_dotenv(env_file, &s.state_->file, &errors)) {
    std::string message;
    for (const auto &e : errors)
      message += (message.empty() ? "" : "\n") + e;
    throw Error(ErrorKind::kInvalidArgument, message);
  }
  return s;
}

void Settings::set_flag(const std::string &name, const std::string &value) {
  const auto *group = group_of(name);
  state_->flags[group ? group->front() : name] = value;
}

namespace {

struct Resolved {
  std::optional<std::string> value;
  std::string origin = "default";
};

Resolved resolve(const DotenvFile &file, const Settings::Getenv &getenv_fn,
                 const std::map<std::string, std::string> &flags, const std::string &name) {
  const auto *group = group_of(name);
  const std::vector<std::string> single{name};
  const std::vector<std::string> &names = group ? *group : single;
  Resolved r;
  auto flag = flags.find(names.front());
  if (flag != flags.end()) {
    r.value = flag->second;
    r.origin = "command line";
    return r;
  }
  for (const auto &n : names) {
    if (const char *v = getenv_fn(n.c_str())) {
      r.value = std::string(v);
      r.origin = "environment (" + n + ")";
      return r;
    }
  }
  for (const auto &n : names) {
    if (const DotenvEntry *e = file.find(n)) {
      r.value = e->value;
      r.origin = file.path + ":" + std::to_string(e->line) + " (" + n + ")";
      return r;
    }
  }
  return r;
}

}  // namespace

std::optional<std::string> Settings::get(const std::string &name) const {
  return resolve(state_->file, state_->getenv_fn, state_->flags, name).value;
}

std::string Settings::get(const std::string &name, const std::string &fallback) const {
  return get(name).value_or(fallback);
}

std::string Settings::origin(const std::string &name) const {
  return resolve(state_->file, state_->getenv_fn, state_->flags, name).origin;
}

std::vector<std::string> Settings::unknown_key_warnings(
    const std::vector<std::string> &known) const {
  std::vector<std::string> out;
  for (const auto &e : state_->file.entries)
    if (!is_alias_of_known(e.key, known))
      out.push_back("config: warning: " + state_->file.path + ":" + std::to_string(e.line) +
                    ": unknown setting " + e.key + " (ignored)");
  return out;
}

Settings::Getenv Settings::getenv() const {
  std::shared_ptr<State> state = state_;
  return [state](const char *name) -> const char * {
    if (!name)
      return nullptr;
    Resolved r = resolve(state->file, state->getenv_fn, state->flags, name);
    if (!r.value)
      return nullptr;
    std::lock_guard<std::mutex> guard(state->lock);
    std::string &slot = state->handed_out[name];
    // Earlier pointers to this slot stay valid only while the value is unchanged: settings are
    // fixed after set-up, so a changed value means a flag was set later, which callers avoid.
    if (slot != *r.value)
      slot = *r.value;
    return slot.c_str();
  };
}

const DotenvFile &Settings::file() const {
  return state_->file;
}

}  // namespace s3
