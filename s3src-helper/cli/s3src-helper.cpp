// s3src-helper.cpp: command line access to s3:// buckets and file:// folders (ls, get, put, cp,
// ...).
#include <glib.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "cli.h"

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

namespace {

using cli::UsageError;

constexpr int kDefaultExpires = 3600;
constexpr int kMaxExpires = 604800;  // SigV4 presigned URLs live at most 7 days

const char kCommonHelp[] =
    "Connection options (override S3_ENDPOINT, S3_REGION, S3_ACCESS_KEY, S3_SECRET_KEY,\n"
    "S3_SESSION_TOKEN and their AWS_* aliases from the environment):\n"
    "  --endpoint URL       e.g. http://127.0.0.1:9000 (default: AWS)\n"
    "  --region R           signing region (default us-east-1; R2: auto)\n"
    "  --access-key K       access key ID\n"
    "  --secret-key S       secret key (prefer the environment: command lines are visible)\n"
    "  --path-style         address buckets as ENDPOINT/bucket/key\n"
    "  --virtual-host       address buckets as bucket.ENDPOINT/key\n"
    "  --no-verify-tls      accept any TLS certificate (testing only)\n"
    "  --timeout SECONDS    a listing page, HEAD, DELETE or copy must complete within this,\n"
    "                       retries included (default 120); a download or upload fails when\n"
    "                       it averages under 1 KiB/s for this long (default 30)\n"
    "  --retries N          extra attempts on 5xx, throttling and dropped connections (default 4)\n"
    "  --verbose            log requests and retries on stderr\n";

const char kMainHelp[] =
    "Usage: s3src-helper VERB [OPTIONS] ARGS...\n"
    "\n"
    "Bucket operations on s3://bucket/key URLs and on local folders (file:///dir/key).\n"
    "\n"
    "Verbs:\n"
    "  ls URL [--recursive] [--long]    list objects and prefixes\n"
    "  head URL                         size, ETag, Last-Modified, Content-Type\n"
    "  get URL FILE|-                   download (atomically) to FILE or stdout\n"
    "  put FILE URL [--content-type T]  upload a file\n"
    "  cp SRC DST                       copy (server-side within one S3 bucket)\n"
    "  rm URL                           delete an object\n"
    "  presign URL [--expires SECONDS]  print a presigned GET URL\n"
    "  pending ...                      work list for the batch driver\n"
    "  migrate ...                      flat-to-dated key migration\n"
    "  notify-setup s3://BUCKET ...     new clips -> S3 events on a RabbitMQ exchange\n"
    "\n"
    "Run 's3src-helper VERB --help' for a verb's options. Exit status: 0 ok, 1 failure,\n"
    "2 wrong usage. Errors are one line on stderr.\n";

struct Verb {
  const char *usage;
  const char *help;
  int (*run)(const cli::Common &, const std::vector<std::string> &);
};

// --- helpers ---

bool is_dir(const std::string &path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool is_regular(const std::string &path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string basename_of(const std::string &path) {
  std::size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool ends_with(const std::string &s, const std::string &suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

s3::Url parse_url(const std::string &text) {
  if (text.rfind("s3://", 0) != 0 && text.rfind("file://", 0) != 0)
    throw UsageError("'" + text + "' is not an s3://bucket/key or file:///path URL");
  try {
    return s3::Url::parse(text);
  } catch (const s3::Error &e) {
    throw UsageError(e.what());
  }
}

s3::Url parse_object_url(const std::string &text) {
  s3::Url url = parse_url(text);
  if (url.key.empty() || ends_with(url.key, "/"))
    throw UsageError("'" + text + "' names no object (the key is empty or ends with '/')");
  return url;
}

// The local path a file:// object URL names.
std::string local_path(const s3::Url &url) {
  if (url.bucket == "/")
    return "/" + url.key;
  return url.bucket + "/" + url.key;
}

std::unique_ptr<s3::Bucket> open_bucket_of(const s3::Url &url, const s3::Config &config) {
  s3::Url bucket = url;
  bucket.key.clear();
  return s3::open_bucket(bucket, config);
}

// Guesses a Content-Type from the key's extension (what browsers and players expect).
std::string guess_content_type(const std::string &key) {
  static const std::map<std::string, std::string> kTypes = {
      {"mp4", "video/mp4"},         {"m4v", "video/mp4"},
      {"mov", "video/quicktime"},   {"mkv", "video/x-matroska"},
      {"webm", "video/webm"},       {"avi", "video/x-msvideo"},
      {"ts", "video/mp2t"},         {"h264", "video/h264"},
      {"jpg", "image/jpeg"},        {"jpeg", "image/jpeg"},
      {"png", "image/png"},         {"gif", "image/gif"},
      {"webp", "image/webp"},       {"svg", "image/svg+xml"},
      {"json", "application/json"}, {"ndjson", "application/x-ndjson"},
      {"csv", "text/csv"},          {"txt", "text/plain"},
      {"log", "text/plain"},        {"md", "text/markdown"},
      {"html", "text/html"},        {"htm", "text/html"},
      {"xml", "application/xml"},   {"pdf", "application/pdf"},
      {"gz", "application/gzip"},   {"zip", "application/zip"},
      {"tar", "application/x-tar"}, {"npy", "application/octet-stream"},
  };
  std::string base = basename_of(key);
  std::size_t dot = base.find_last_of('.');
  if (dot == std::string::npos || dot + 1 == base.size())
    return "application/octet-stream";
  std::string ext = base.substr(dot + 1);
  for (char &c : ext)
    c = static_cast<char>(g_ascii_tolower(c));
  auto it = kTypes.find(ext);
  return it == kTypes.end() ? "application/octet-stream" : it->second;
}

// Splits args into options (as given in `flags`: name -> takes a value) and operands.
struct Parsed {
  std::map<std::string, std::string> options;
  std::vector<std::string> operands;
};

Parsed parse_verb_args(const std::vector<std::string> &args,
                       const std::map<std::string, bool> &flags,
                       const std::map<std::string, std::string> &aliases = {}) {
  Parsed parsed;
  bool operands_only = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    if (operands_only || arg == "-" || arg.empty() || arg[0] != '-') {
      parsed.operands.push_back(arg);
      continue;
    }
    if (arg == "--") {
      operands_only = true;
      continue;
    }
    cli::OptionArg option = cli::split_option(arg);
    arg = option.name;
    std::string value = option.value;
    const bool inline_value = option.inline_value;
    auto alias = aliases.find(arg);
    if (alias != aliases.end())
      arg = alias->second;
    auto flag = flags.find(arg);
    if (flag == flags.end())
      throw UsageError("unknown option " + arg);
    if (flag->second) {
      if (!inline_value) {
        if (i + 1 >= args.size())
          throw UsageError(arg + " needs a value");
        value = args[++i];
      }
    } else if (inline_value) {
      throw UsageError(arg + " takes no value");
    }
    parsed.options[arg] = value;
  }
  return parsed;
}

void expect_operands(const Parsed &parsed, std::size_t n, const char *what) {
  if (parsed.operands.size() != n)
    throw UsageError(std::string("expects ") + what + ", got " +
                     std::to_string(parsed.operands.size()) + " argument(s)");
}

// --- verbs ---

int run_ls(const cli::Common &common, const std::vector<std::string> &args) {
  Parsed p = parse_verb_args(args, {{"--recursive", false}, {"--long", false}},
                             {{"-r", "--recursive"}, {"-l", "--long"}});
  expect_operands(p, 1, "one URL");
  s3::Url url = parse_url(p.operands[0]);
  const bool recursive = p.options.count("--recursive") > 0;
  const bool long_format = p.options.count("--long") > 0;

  std::unique_ptr<s3::Bucket> bucket;
  std::string prefix;
  if (url.scheme == s3::Url::Scheme::kFile) {
    // A local folder is listed as a bucket of its own; a trailing name part is a key prefix.
    std::string path = url.key.empty() ? url.bucket : local_path(url);
    std::string root = path;
    if (!is_dir(path)) {
      std::size_t slash = path.find_last_of('/');
      root = slash == 0 ? "/" : path.substr(0, slash);
      prefix = path.substr(slash + 1);
    }
    bucket = s3::open_bucket(s3::Url::parse_bucket("file://" + root), common.config);
  } else {
    prefix = url.key;
    bucket = open_bucket_of(url, common.config);
  }
  // Without --recursive, names are shown relative to the prefix's "folder", as `aws s3 ls` does.
  const std::string base = recursive ? "" : prefix.substr(0, prefix.find_last_of('/') + 1);

  std::vector<s3::ObjectInfo> objects;
  std::vector<std::string> prefixes;
  bucket->list_all(prefix, recursive ? "" : "/", &objects, &prefixes);
  std::string out;
  for (const std::string &pre : prefixes) {
    std::string name = pre.substr(std::min(base.size(), pre.size()));
    out += long_format ? "PRE\t-\t-\t" + name + "\n" : "PRE " + name + "\n";
  }
  for (const s3::ObjectInfo &o : objects) {
    std::string name = o.key.substr(std::min(base.size(), o.key.size()));
    if (long_format)
      out += std::to_string(o.size) + "\t" + o.last_modified + "\t" + o.etag + "\t" + name + "\n";
    else
      out += name + "\n";
    if (out.size() > 64 * 1024) {
      std::fwrite(out.data(), 1, out.size(), stdout);
      out.clear();
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return cli::kExitOk;
}

int run_head(const cli::Common &common, const std::vector<std::string> &args) {
  Parsed p = parse_verb_args(args, {});
  expect_operands(p, 1, "one URL");
  s3::Url url = parse_object_url(p.operands[0]);
  s3::ObjectInfo info = open_bucket_of(url, common.config)->head(url.key);
  std::printf("size: %llu\netag: %s\nlast-modified: %s\ncontent-type: %s\n",
              static_cast<unsigned long long>(info.size), info.etag.c_str(),
              info.last_modified.c_str(), info.content_type.c_str());
  return cli::kExitOk;
}

int run_get(const cli::Common &common, const std::vector<std::string> &args) {
  Parsed p = parse_verb_args(args, {});
  expect_operands(p, 2, "a URL and a FILE (or - for stdout)");
  s3::Url url = parse_object_url(p.operands[0]);
  std::string dest = p.operands[1];
  auto bucket = open_bucket_of(url, common.config);
  if (dest == "-") {
    bool write_failed = false;
    bucket->get(url.key, 0, -1, [&write_failed](const char *data, std::size_t len) {
      if (std::fwrite(data, 1, len, stdout) != len)
        write_failed = true;
    });
    if (std::fflush(stdout) != 0 || write_failed)
      throw s3::Error(s3::ErrorKind::kIo, std::string("writing to stdout: ") + g_strerror(errno));
    return cli::kExitOk;
  }
  if (ends_with(dest, "/") || is_dir(dest))
    dest = (ends_with(dest, "/") ? dest : dest + "/") + basename_of(url.key);
  bucket->get_to_file(url.key, dest);
  return cli::kExitOk;
}

int run_put(const cli::Common &common, const std::vector<std::string> &args) {
  Parsed p = parse_verb_args(args, {{"--content-type", true}});
  expect_operands(p, 2, "a FILE and a URL");
  const std::string &file = p.operands[0];
  s3::Url url = parse_url(p.operands[1]);
  if (url.key.empty() || ends_with(url.key, "/"))
    url.key += basename_of(file);
  if (!is_regular(file))
    throw s3::Error(s3::ErrorKind::kIo, file + ": no such file (or not a regular file)");
  s3::PutOptions options;
  auto type = p.options.find("--content-type");
  options.content_type = type != p.options.end() ? type->second : guess_content_type(url.key);
  open_bucket_of(url, common.config)->put_file(url.key, file, options);
  return cli::kExitOk;
}

int run_cp(const cli::Common &common, const std::vector<std::string> &args) {
  Parsed p = parse_verb_args(args, {{"--content-type", true}});
  expect_operands(p, 2, "a SRC and a DST URL");
  s3::Url src = parse_object_url(p.operands[0]);
  s3::Url dst = parse_url(p.operands[1]);
  if (dst.key.empty() || ends_with(dst.key, "/"))
    dst.key += basename_of(src.key);
  auto type = p.options.find("--content-type");

  auto src_bucket = open_bucket_of(src, common.config);
  if (src.scheme == dst.scheme && src.bucket == dst.bucket && type == p.options.end()) {
    src_bucket->copy(src.key, dst.key);  // server-side on S3: no bytes through this machine
    return cli::kExitOk;
  }
  if (dst.scheme == s3::Url::Scheme::kFile) {
    // Folders are a file:// bucket's prefixes: create them as S3 would accept any key.
    std::string path = local_path(dst);
    std::string parent = path.substr(0, path.find_last_of('/'));
    if (!parent.empty() && g_mkdir_with_parents(parent.c_str(), 0755) != 0)
      throw s3::Error(s3::ErrorKind::kIo, parent + ": " + g_strerror(errno));
    src_bucket->get_to_file(src.key, path);
    return cli::kExitOk;
  }
  s3::PutOptions options;
  if (type != p.options.end())
    options.content_type = type->second;
  auto dst_bucket = open_bucket_of(dst, common.config);
  if (src.scheme == s3::Url::Scheme::kFile) {
    if (options.content_type.empty())
      options.content_type = guess_content_type(dst.key);
    dst_bucket->put_file(dst.key, local_path(src), options);
    return cli::kExitOk;
  }
  // Between S3 buckets: stream through a temporary file, never holding the object in memory.
  if (options.content_type.empty()) {
    options.content_type = src_bucket->head(src.key).content_type;
    if (options.content_type.empty())
      options.content_type = guess_content_type(dst.key);
  }
  GError *error = nullptr;
  gchar *tmp_path = nullptr;
  int fd = g_file_open_tmp("s3src-helper-cp.XXXXXX", &tmp_path, &error);
  if (fd < 0) {
    std::string message = std::string("temporary file: ") + error->message;
    g_error_free(error);
    throw s3::Error(s3::ErrorKind::kIo, message);
  }
  ::close(fd);
  std::string tmp(tmp_path);
  g_free(tmp_path);
  try {
    src_bucket->get_to_file(src.key, tmp);
    dst_bucket->put_file(dst.key, tmp, options);
  } catch (...) {
    g_unlink(tmp.c_str());
    throw;
  }
  g_unlink(tmp.c_str());
  return cli::kExitOk;
}

int run_rm(const cli::Common &common, const std::vector<std::string> &args) {
  Parsed p = parse_verb_args(args, {});
  expect_operands(p, 1, "one URL");
  s3::Url url = parse_object_url(p.operands[0]);
  auto bucket = open_bucket_of(url, common.config);
  // S3 deletes a missing key silently; a typo should not look like success.
  bucket->head(url.key);
  bucket->remove(url.key);
  return cli::kExitOk;
}

int run_presign(const cli::Common &common, const std::vector<std::string> &args) {
  Parsed p = parse_verb_args(args, {{"--expires", true}});
  expect_operands(p, 1, "one URL");
  s3::Url url = parse_object_url(p.operands[0]);
  if (url.scheme != s3::Url::Scheme::kS3)
    throw UsageError("only s3:// URLs can be presigned");
  int expires = kDefaultExpires;
  auto it = p.options.find("--expires");
  if (it != p.options.end()) {
    char *end = nullptr;
    errno = 0;
    long v = std::strtol(it->second.c_str(), &end, 10);
    if (it->second.empty() || *end != '\0' || errno != 0 || v < 1 || v > kMaxExpires)
      throw UsageError("--expires wants seconds from 1 to 604800, not '" + it->second + "'");
    expires = static_cast<int>(v);
  }
  std::printf("%s\n", open_bucket_of(url, common.config)->presign(url.key, expires).c_str());
  return cli::kExitOk;
}

const std::map<std::string, Verb> &verbs() {
  static const std::map<std::string, Verb> kVerbs = {
      {"ls",
       {"ls URL [--recursive] [--long]",
        "Lists the objects under URL (s3://bucket/prefix or file:///dir/prefix).\n"
        "Without --recursive, one level like `aws s3 ls`: names relative to the prefix's\n"
        "folder, deeper levels shown as `PRE name/`. With --recursive, every object below,\n"
        "keys in full (for file:// URLs, relative to the listed folder). Keys come in UTF-8\n"
        "byte order, prefixes first.\n"
        "  -r, --recursive  every object below the prefix\n"
        "  -l, --long       tab-separated lines: SIZE, LAST-MODIFIED, ETAG, KEY\n"
        "                   (prefixes: PRE, -, -, NAME/)\n",
        run_ls}},
      {"head",
       {"head URL",
        "Prints an object's metadata as `name: value` lines: size (bytes), etag,\n"
        "last-modified, content-type.\n",
        run_head}},
      {"get",
       {"get URL FILE|-",
        "Downloads an object to FILE (written to a temporary file, then renamed, so FILE is\n"
        "never half-written), into a folder if FILE is one, or to stdout with -.\n",
        run_get}},
      {"put",
       {"put FILE URL [--content-type TYPE]",
        "Uploads FILE, streamed from disk. A URL ending with / gets FILE's name appended.\n"
        "  --content-type TYPE  default: guessed from the key's extension (mp4, jpg, png,\n"
        "                       json, txt, csv, ...), else application/octet-stream\n",
        run_put}},
      {"cp",
       {"cp SRC DST [--content-type TYPE]",
        "Copies an object. Within one S3 bucket the server copies (no data transfer here);\n"
        "otherwise s3->file downloads, file->s3 uploads and s3->s3 streams through a\n"
        "temporary file. A DST ending with / gets SRC's name appended.\n"
        "  --content-type TYPE  for uploads (default: the source's type or a guess)\n",
        run_cp}},
      {"rm", {"rm URL", "Deletes an object; fails (exit 1) if it does not exist.\n", run_rm}},
      {"presign",
       {"presign URL [--expires SECONDS]",
        "Prints a presigned GET URL that works without credentials until it expires.\n"
        "  --expires SECONDS  lifetime, 1 to 604800 (7 days); default 3600\n",
        run_presign}},
  };
  return kVerbs;
}

void print_verb_help(const std::string &name, const Verb &verb) {
  std::printf("Usage: s3src-helper %s [CONNECTION OPTIONS]\n\n%s\n%s", verb.usage, verb.help,
              kCommonHelp);
  (void)name;
}

bool wants_help(const std::vector<std::string> &args) {
  for (const std::string &a : args) {
    if (a == "--")
      return false;
    if (a == "--help" || a == "-h")
      return true;
  }
  return false;
}

bool is_url(const std::string &a) {
  return a.rfind("s3://", 0) == 0 || a.rfind("file://", 0) == 0;
}

// "s3://b/k: no such key" unless the library's message already names one of the URLs.
std::string error_line(const std::string &what, const std::vector<std::string> &args) {
  const std::string *first = nullptr;
  for (const std::string &a : args) {
    if (!is_url(a))
      continue;
    if (what.find(a) != std::string::npos)
      return what;
    if (first == nullptr)
      first = &a;
  }
  return first != nullptr ? *first + ": " + what : what;
}

}  // namespace

int main(int argc, char **argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    cli::print_error("no verb given (see s3src-helper --help)");
    return cli::kExitUsage;
  }
  const std::string verb_name = args[0];
  args.erase(args.begin());
  if (verb_name == "--help" || verb_name == "-h" || verb_name == "help") {
    std::fputs(kMainHelp, stdout);
    return cli::kExitOk;
  }
  if (verb_name == "--version") {
    std::printf("s3src-helper %s\n", VERSION);
    return cli::kExitOk;
  }
  if (verb_name == "pending")
    return cli::run_pending(args);
  if (verb_name == "migrate")
    return cli::run_migrate(args);
  if (verb_name == "notify-setup")
    return cli::run_notify_setup(args);

  auto it = verbs().find(verb_name);
  if (it == verbs().end()) {
    cli::print_error("unknown verb '" + verb_name + "' (see s3src-helper --help)");
    return cli::kExitUsage;
  }
  const Verb &verb = it->second;
  if (wants_help(args)) {
    print_verb_help(verb_name, verb);
    return cli::kExitOk;
  }
  try {
    cli::Common common = cli::parse_common(&args);
    return verb.run(common, args);
  } catch (const UsageError &e) {
    cli::print_error(verb_name + ": " + e.what() + " (usage: s3src-helper " + verb.usage + ")");
    return cli::kExitUsage;
  } catch (const s3::Error &e) {
    cli::print_error(error_line(e.what(), args));
    return cli::kExitFailure;
  } catch (const std::exception &e) {
    cli::print_error(verb_name + ": " + e.what());
    return cli::kExitFailure;
  }
}
