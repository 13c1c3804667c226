// s3-bucket-local.cpp: a local folder used as a bucket, with S3's key layout and listing rules.
#include <dirent.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <unordered_map>

#include "s3-client.h"
#include "s3-internal.h"

namespace s3 {
namespace internal {

namespace {

constexpr const char *kTempPrefix = ".s3tmp-";
constexpr const char *kEtagAttr = "user.s3src.etag";
constexpr const char *kTypeAttr = "user.s3src.content-type";
constexpr std::size_t kChunk = 256 * 1024;

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(const Fd &) = delete;
  Fd &operator=(const Fd &) = delete;
  Fd(Fd &&other) noexcept : fd_(other.release()) {}
  Fd &operator=(Fd &&other) noexcept {
    reset(other.release());
    return *this;
  }
  int get() const { return fd_; }
  void reset(int fd = -1) {
    if (fd_ >= 0)
      close(fd_);
    fd_ = fd;
  }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

using ChecksumPtr = std::unique_ptr<GChecksum, decltype(&g_checksum_free)>;

std::int64_t mtime_ns(const struct stat &st) {
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

// A cached content hash is valid while size and mtime are unchanged.
std::string etag_stamp(const struct stat &st) {
  return std::to_string(st.st_size) + ":" + std::to_string(mtime_ns(st)) + ":";
}

class LocalReader : public Reader {
 public:
  LocalReader(Fd fd, std::uint64_t offset, std::uint64_t end, std::string name)
      : fd_(fd.release()), offset_(offset), end_(end), name_(std::move(name)) {}

  std::size_t read(void *buf, std::size_t len) override {
    if (cancelled_)
      throw Error(ErrorKind::kCancelled, "reading " + name_ + " was cancelled");
    std::uint64_t left = end_ - offset_;
    if (left == 0 || len == 0)
      return 0;
    std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(len, left));
    ssize_t n;
    do {
      n = pread(fd_.get(), buf, want, static_cast<off_t>(offset_));
    } while (n < 0 && errno == EINTR);
    if (n < 0)
      throw Error(ErrorKind::kIo, "cannot read " + name_ + ": " + std::strerror(errno));
    if (n == 0)
      throw Error(ErrorKind::kIo, name_ + " became shorter while reading it");
    offset_ += static_cast<std::uint64_t>(n);
    return static_cast<std::size_t>(n);
  }
  std::uint64_t offset() const override { return offset_; }
  void cancel() override { cancelled_ = true; }

 private:
  Fd fd_;
  std::uint64_t offset_;
  std::uint64_t end_;
  std::string name_;
  std::atomic<bool> cancelled_{false};
};

class LocalBucket : public Bucket {
 public:
  explicit LocalBucket(const Url &url) : url_(url) {
    struct stat st;
    if (stat(url_.bucket.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
      throw Error(
          ErrorKind::kNoSuchBucket,
          "the folder " + url_.bucket + " does not exist (a file:// bucket must be a folder)");
    root_ = url_.bucket == "/" ? std::string() : url_.bucket;
  }

  const Url &url() const override { return url_; }

  ListPage list_page(const std::string &prefix, const std::string &delimiter,
                     const std::string &continuation_token, int max_keys) override {
    if (max_keys < 1 || max_keys > 1000)
      throw Error(ErrorKind::kInvalidArgument, "max-keys must be 1..1000");
    std::string dir_part = prefix.substr(0, prefix.rfind('/') + 1);  // "" when no '/'
    std::vector<std::string> keys;
    if (dir_part.empty() || valid_key(dir_part.substr(0, dir_part.size() - 1)))
      walk(dir_part, &keys);
    keys.erase(std::remove_if(keys.begin(), keys.end(),
                              [&](const std::string &k) { return !starts_with(k, prefix); }),
               keys.end());
    std::sort(keys.begin(), keys.end());

    ListPage page;
    std::string last_prefix;
    int count = 0;
    for (const std::string &key : keys) {
      std::string entry = key;
      bool is_prefix = false;
      if (!delimiter.empty()) {
        std::size_t pos = key.find(delimiter, prefix.size());
        if (pos != std::string::npos) {
          entry = key.substr(0, pos + delimiter.size());
          is_prefix = true;
          if (entry == last_prefix)
            continue;
          last_prefix = entry;
        }
      }
      // Entries come in byte order and a common prefix sorts before the keys it stands for,
      // so "everything after the token" is exactly the rest of the listing.
      if (!continuation_token.empty() && entry <= continuation_token)
        continue;
      if (count == max_keys) {
        page.truncated = true;
        break;
      }
      count++;
      page.next_token = entry;
      if (is_prefix) {
        page.common_prefixes.push_back(entry);
      } else {
        page.objects.push_back(stat_object(key, false));
      }
    }
    if (!page.truncated)
      page.next_token.clear();
    return page;
  }

  ObjectInfo head(const std::string &key) override { return stat_object(key, true); }

  std::uint64_t get(const std::string &key, std::uint64_t offset, std::int64_t length,
                    const std::function<void(const char *, std::size_t)> &sink) override {
    std::uint64_t end = 0;
    Fd fd = open_range(key, offset, length, &end);
    std::vector<char> buf(kChunk);
    std::uint64_t pos = offset;
    while (pos < end) {
      std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, end - pos));
      ssize_t n = pread(fd.get(), buf.data(), want, static_cast<off_t>(pos));
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        throw io_error("cannot read", key);
      if (n == 0)
        throw Error(ErrorKind::kIo, name(key) + " became shorter while reading it");
      sink(buf.data(), static_cast<std::size_t>(n));
      pos += static_cast<std::uint64_t>(n);
    }
    return pos - offset;
  }

  std::unique_ptr<Reader> open_reader(const std::string &key, std::uint64_t offset,
                                      std::int64_t length, std::size_t) override {
    std::uint64_t end = 0;
    Fd fd = open_range(key, offset, length, &end);
    return std::make_unique<LocalReader>(std::move(fd), offset, end, name(key));
  }

  ObjectInfo put_file(const std::string &key, const std::string &path,
                      const PutOptions &options) override {
    Fd in(open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (in.get() < 0)
      throw Error(errno == ENOENT ? ErrorKind::kNotFound : ErrorKind::kIo,
                  "cannot open " + path + ": " + std::strerror(errno));
    return write_object(key, options,
                        [&](const std::function<void(const char *, std::size_t)> &out) {
                          read_chunks(in.get(), path, out);
                        });
  }

  ObjectInfo put_data(const std::string &key, std::string_view data,
                      const PutOptions &options) override {
    return write_object(key, options,
                        [&](const std::function<void(const char *, std::size_t)> &out) {
                          out(data.data(), data.size());
                        });
  }

  ObjectInfo copy(const std::string &src_key, const std::string &dst_key) override {
    std::uint64_t end = 0;
    Fd in = open_range(src_key, 0, -1, &end);
    PutOptions options;
    options.content_type = get_attr(path_of(src_key), kTypeAttr);
    return write_object(dst_key, options,
                        [&](const std::function<void(const char *, std::size_t)> &out) {
                          std::vector<char> buf(kChunk);
                          for (;;) {
                            ssize_t n = ::read(in.get(), buf.data(), buf.size());
                            if (n < 0 && errno == EINTR)
                              continue;
                            if (n < 0)
                              throw io_error("cannot read", src_key);
                            if (n == 0)
                              break;
                            out(buf.data(), static_cast<std::size_t>(n));
                          }
                        });
  }

  void remove(const std::string &key) override {
    check_key(key);
    std::string path = path_of(key);
    struct stat st;
    if (lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
      throw Error(ErrorKind::kInvalidArgument, name(key) + " is a folder, not an object");
    // Like S3, deleting a missing key succeeds.
    if (unlink(path.c_str()) != 0 && errno != ENOENT)
      throw io_error("cannot delete", key);
    prune_empty_dirs(key);
  }

  std::string presign(const std::string &, int) override {
    throw Error(ErrorKind::kInvalidArgument,
                "presigned URLs exist only for s3:// buckets, not for " + url_.str());
  }

 private:
  std::string name(const std::string &key) const {
    Url u = url_;
    u.key = key;
    return u.str();
  }

  std::string path_of(const std::string &key) const { return root_ + "/" + key; }

  // S3 allows any key, a folder tree does not: refuse the keys that would not map one-to-one
  // onto a file under the root.
  static bool valid_key(const std::string &key) {
    if (key.empty() || key.find('\0') != std::string::npos)
      return false;
    std::size_t start = 0;
    for (;;) {
      std::size_t slash = key.find('/', start);
      std::string segment = key.substr(start, slash == std::string::npos ? slash : slash - start);
      if (segment.empty() || segment == "." || segment == ".." || starts_with(segment, kTempPrefix))
        return false;
      if (slash == std::string::npos)
        return true;
      start = slash + 1;
    }
  }

  void check_key(const std::string &key) const {
    if (!valid_key(key))
      throw Error(ErrorKind::kInvalidArgument,
                  "the key '" + key +
                      "' cannot be stored in a local folder (empty, '.' or '..' "
                      "path segments, or a leading, trailing or doubled '/')");
  }

  Error io_error(const char *what, const std::string &key) const {
    int e = errno;
    ErrorKind kind = e == ENOENT || e == ENOTDIR ? ErrorKind::kNotFound
                     : e == EACCES || e == EPERM ? ErrorKind::kAccessDenied
                                                 : ErrorKind::kIo;
    if (kind == ErrorKind::kNotFound)
      return Error(kind, name(key) + " does not exist", 404, "NoSuchKey");
    return Error(kind, std::string(what) + " " + name(key) + ": " + std::strerror(e));
  }

  void walk(const std::string &rel_dir, std::vector<std::string> *keys) const {
    std::string dir = root_ + "/" + rel_dir;
    struct DirCloser {
      void operator()(DIR *d) const { closedir(d); }
    };
    std::unique_ptr<DIR, DirCloser> d(opendir(dir.c_str()));
    if (!d)
      return;
    while (struct dirent *ent = readdir(d.get())) {
      std::string n = ent->d_name;
      if (n == "." || n == ".." || starts_with(n, kTempPrefix))
        continue;
      std::string rel = rel_dir + n;
      struct stat st;
      if (lstat((root_ + "/" + rel).c_str(), &st) != 0)
        continue;
      if (S_ISLNK(st.st_mode) && stat((root_ + "/" + rel).c_str(), &st) != 0)
        continue;
      if (S_ISDIR(st.st_mode)) {
        // Symlinked folders are not followed, which also rules out loops.
        struct stat lst;
        if (lstat((root_ + "/" + rel).c_str(), &lst) == 0 && S_ISDIR(lst.st_mode))
          walk(rel + "/", keys);
      } else if (S_ISREG(st.st_mode)) {
        keys->push_back(rel);
      }
    }
  }

  static std::string get_attr(const std::string &path, const char *attr) {
    char buf[512];
    ssize_t n = getxattr(path.c_str(), attr, buf, sizeof buf);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
  }

  std::string etag_of(const std::string &path, const struct stat &st) {
    std::string stamp = etag_stamp(st);
    std::string cached = get_attr(path, kEtagAttr);
    if (starts_with(cached, stamp))
      return cached.substr(stamp.size());
    {
      std::lock_guard<std::mutex> lock(cache_mutex_);
      auto it = etag_cache_.find(path);
      if (it != etag_cache_.end() && starts_with(it->second, stamp))
        return it->second.substr(stamp.size());
    }
    Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0)
      throw Error(ErrorKind::kIo, "cannot read " + path + ": " + std::strerror(errno));
    ChecksumPtr md5(g_checksum_new(G_CHECKSUM_MD5), g_checksum_free);
    read_chunks(fd.get(), path, [&](const char *data, std::size_t size) {
      g_checksum_update(md5.get(), reinterpret_cast<const guchar *>(data),
                        static_cast<gssize>(size));
    });
    std::string etag = g_checksum_get_string(md5.get());
    std::lock_guard<std::mutex> lock(cache_mutex_);
    etag_cache_[path] = stamp + etag;
    return etag;
  }

  ObjectInfo stat_object(const std::string &key, bool for_head) {
    check_key(key);
    std::string path = path_of(key);
    struct stat st;
    if (stat(path.c_str(), &st) != 0)
      throw io_error("cannot read", key);
    if (!S_ISREG(st.st_mode))
      throw Error(ErrorKind::kNotFound, name(key) + " does not exist", 404, "NoSuchKey");
    ObjectInfo info;
    info.key = key;
    info.size = static_cast<std::uint64_t>(st.st_size);
    info.etag = etag_of(path, st);
    if (for_head) {
      info.last_modified = http_date(st.st_mtim.tv_sec);
      info.content_type = get_attr(path, kTypeAttr);
      if (info.content_type.empty())
        info.content_type = "application/octet-stream";
    } else {
      info.last_modified = iso8601_time(st.st_mtim.tv_sec);
    }
    return info;
  }

  Fd open_range(const std::string &key, std::uint64_t offset, std::int64_t length,
                std::uint64_t *end) {
    check_key(key);
    Fd fd(open(path_of(key).c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0)
      throw io_error("cannot open", key);
    struct stat st;
    if (fstat(fd.get(), &st) != 0)
      throw io_error("cannot read", key);
    if (!S_ISREG(st.st_mode))
      throw Error(ErrorKind::kNotFound, name(key) + " does not exist", 404, "NoSuchKey");
    std::uint64_t size = static_cast<std::uint64_t>(st.st_size);
    if (offset > size || (offset == size && size > 0 && length != 0))
      throw Error(ErrorKind::kRangeNotSatisfiable,
                  "the range starting at " + std::to_string(offset) + " is beyond the end of " +
                      name(key) + " (" + std::to_string(size) + " bytes)",
                  416, "InvalidRange");
    *end = length < 0 ? size
                      : std::min<std::uint64_t>(size, offset + static_cast<std::uint64_t>(length));
    return fd;
  }

  ObjectInfo write_object(
      const std::string &key, const PutOptions &options,
      const std::function<void(const std::function<void(const char *, std::size_t)> &)> &produce) {
    check_key(key);
    std::string path = path_of(key);
    std::string dir = path.substr(0, path.rfind('/'));
    if (g_mkdir_with_parents(dir.c_str(), 0755) != 0)
      throw Error(ErrorKind::kIo, "cannot create the folder for " + name(key) + ": " +
                                      std::strerror(errno) +
                                      " (a local folder cannot hold both a key and keys under it)");
    std::string tmp = dir + "/" + kTempPrefix + "XXXXXX";
    Fd fd(g_mkstemp(tmp.data()));
    if (fd.get() < 0)
      throw io_error("cannot write", key);
    bool keep = false;
    struct Cleanup {
      std::string path;
      bool *keep;
      ~Cleanup() {
        if (!*keep)
          g_unlink(path.c_str());
      }
    } cleanup{tmp, &keep};

    ChecksumPtr md5(g_checksum_new(G_CHECKSUM_MD5), g_checksum_free);
    std::uint64_t size = 0;
    produce([&](const char *data, std::size_t len) {
      g_checksum_update(md5.get(), reinterpret_cast<const guchar *>(data),
                        static_cast<gssize>(len));
      size += len;
      while (len > 0) {
        ssize_t n = ::write(fd.get(), data, len);
        if (n < 0 && errno == EINTR)
          continue;
        if (n < 0)
          throw io_error("cannot write", key);
        data += n;
        len -= static_cast<std::size_t>(n);
      }
    });
    fchmod(fd.get(), 0644);
    std::string etag = g_checksum_get_string(md5.get());
    struct stat st;
    if (fstat(fd.get(), &st) != 0)
      throw io_error("cannot write", key);
    std::string stamp = etag_stamp(st) + etag;
    fsetxattr(fd.get(), kEtagAttr, stamp.data(), stamp.size(), 0);  // a cache: may fail
    if (!options.content_type.empty())
      fsetxattr(fd.get(), kTypeAttr, options.content_type.data(), options.content_type.size(), 0);
    if (close(fd.release()) != 0)
      throw io_error("cannot write", key);

    if (options.if_none_match) {
      // link() fails when the name exists: an atomic create-if-absent, like If-None-Match: *.
      if (link(tmp.c_str(), path.c_str()) != 0) {
        if (errno == EEXIST)
          throw Error(ErrorKind::kPreconditionFailed, name(key) + " already exists", 412,
                      "PreconditionFailed");
        throw io_error("cannot create", key);
      }
    } else if (g_rename(tmp.c_str(), path.c_str()) != 0) {
      throw io_error("cannot write", key);
    }
    {
      std::lock_guard<std::mutex> lock(cache_mutex_);
      etag_cache_[path] = stamp;
    }
    ObjectInfo info;
    info.key = key;
    info.size = size;
    info.etag = etag;
    info.last_modified = iso8601_time(st.st_mtim.tv_sec);
    info.content_type =
        options.content_type.empty() ? "application/octet-stream" : options.content_type;
    return info;
  }

  // S3 has no folders: a folder emptied by a delete disappears, as it would in a listing.
  void prune_empty_dirs(const std::string &key) const {
    std::string rel = key;
    for (;;) {
      std::size_t slash = rel.rfind('/');
      if (slash == std::string::npos)
        return;
      rel = rel.substr(0, slash);
      if (rmdir(path_of(rel).c_str()) != 0)
        return;
    }
  }

  Url url_;
  std::string root_;
  std::mutex cache_mutex_;
  std::unordered_map<std::string, std::string> etag_cache_;
};

}  // namespace

std::unique_ptr<Bucket> make_local_bucket(const Url &url) {
  return std::make_unique<LocalBucket>(url);
}

}  // namespace internal
}  // namespace s3
