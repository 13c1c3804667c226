// s3-bucket-local.cpp: a local folder used as a bucket, with S3's key layout and listing rules.
#include <dirent.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
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

std::atomic<bool> force_component_walk{false};

bool component_walk_forced() {
  return force_component_walk;
}

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

// Every file access goes through descriptors beneath the root, one path component at a time
// (openat2 with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS where the kernel has it, else openat with
// O_NOFOLLOW per component): a symbolic link anywhere under the root is never followed, so no
// key reaches outside the folder, and listing, HEAD, GET, PUT and DELETE agree: a key whose
// path holds a link is not listed, and reading, writing or deleting it fails with one line.
class LocalBucket : public Bucket {
 public:
  explicit LocalBucket(const Url &url) : url_(url) {
    // The root itself is the user's choice: a root that is a link is followed, once, here.
    root_fd_.reset(open(url_.bucket.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    // file:///abs/path names one file by its whole path: rooted at "/", there is no folder to
    // stay inside, and the user's own links (a linked /home, say) are followed as usual.
    confine_ = url_.bucket != "/";
    if (root_fd_.get() < 0)
      throw Error(
          ErrorKind::kNoSuchBucket,
          "the folder " + url_.bucket + " does not exist (a file:// bucket must be a folder)");
  }

  const Url &url() const override { return url_; }

  ListPage list_page(const std::string &prefix, const std::string &delimiter,
                     const std::string &continuation_token, int max_keys) override {
    if (max_keys < 1 || max_keys > 1000)
      throw Error(ErrorKind::kInvalidArgument, "max-keys must be 1..1000");
    std::string dir_part = prefix.substr(0, prefix.rfind('/') + 1);  // "" when no '/'
    std::vector<std::string> keys;
    if (dir_part.empty()) {
      walk(root_fd_.get(), "", &keys);
    } else if (valid_key(dir_part.substr(0, dir_part.size() - 1))) {
      // A prefix through a link lists nothing, as the walk from the root skips links.
      Fd dir;
      try {
        dir = open_dir(dir_part.substr(0, dir_part.size() - 1), false, nullptr);
      } catch (const Error &e) {
        if (e.kind() != ErrorKind::kInvalidArgument || !std::strstr(e.what(), "symbolic link"))
          throw;
      }
      if (dir.get() >= 0)
        walk(dir.get(), dir_part, &keys);
    }
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
      if (is_prefix) {
        page.common_prefixes.push_back(entry);
      } else {
        // A file replaced meanwhile (by a link, a folder, nothing) drops out of the listing.
        try {
          page.objects.push_back(stat_object(key, false));
        } catch (const Error &) {
          continue;
        }
      }
      count++;
      page.next_token = entry;
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

  ObjectInfo copy(const std::string &src_key, const std::string &dst_key,
                  const CopyOptions &copy_options) override {
    std::uint64_t end = 0;
    Fd in = open_range(src_key, 0, -1, &end);
    PutOptions options;
    options.content_type = get_attr(in.get(), kTypeAttr);
    options.if_none_match = copy_options.if_none_match;
    return write_object(dst_key, options,
                        [&](const std::function<void(const char *, std::size_t)> &out) {
                          read_chunks_at(in.get(), name(src_key), 0, out);
                        });
  }

  void remove(const std::string &key) override {
    check_key(key);
    std::string base;
    Fd dir = open_dir(key, false, &base);
    if (dir.get() < 0)
      return;  // like S3, deleting a missing key succeeds
    struct stat st;
    if (fstatat(dir.get(), base.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT)
        return;
      throw io_error("cannot delete", key);
    }
    if (S_ISDIR(st.st_mode))
      throw Error(ErrorKind::kInvalidArgument, name(key) + " is a folder, not an object");
    if (S_ISLNK(st.st_mode) && confine_)
      throw symlink_error(key);
    if (unlinkat(dir.get(), base.c_str(), 0) != 0 && errno != ENOENT)
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

  static std::string parent_of(const std::string &key) {
    std::size_t slash = key.rfind('/');
    return slash == std::string::npos ? std::string() : key.substr(0, slash);
  }

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

  // The key itself is unusable here (like a key naming a folder), so callers treat it as a bad
  // argument, not a passing refusal: the per-clip job fails such a clip permanently.
  Error symlink_error(const std::string &key) const {
    return Error(ErrorKind::kInvalidArgument,
                 name(key) +
                     " is, or is inside, a symbolic link: a file:// bucket never "
                     "follows links (they could lead out of " +
                     url_.bucket + ")",
                 403, "AccessDenied");
  }

  Error io_error(const char *what, const std::string &key) const {
    int e = errno;
    if (e == ELOOP)
      return symlink_error(key);
    ErrorKind kind = e == ENOENT || e == ENOTDIR ? ErrorKind::kNotFound
                     : e == EACCES || e == EPERM ? ErrorKind::kAccessDenied
                                                 : ErrorKind::kIo;
    if (kind == ErrorKind::kNotFound)
      return Error(kind, name(key) + " does not exist", 404, "NoSuchKey");
    return Error(kind, std::string(what) + " " + name(key) + ": " + std::strerror(e));
  }

  // Opens the folder rel (a valid key's parent, "" = the root) beneath the root without
  // following links; with create, makes the missing folders. Returns -1 (errno ENOENT or
  // ENOTDIR) when it does not exist and create is false; throws for a link on the way. With
  // base, rel is a key: the folder opened is its parent and *base its last component.
  Fd open_dir(const std::string &rel, bool create, std::string *base) const {
    std::string dir = rel;
    if (base) {
      *base = rel.substr(rel.rfind('/') + 1);
      dir = parent_of(rel);
    }
    Fd cur(fcntl(root_fd_.get(), F_DUPFD_CLOEXEC, 0));
    if (dir.empty())
      return cur;
    if (!confine_) {
      int fd = openat(root_fd_.get(), dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (fd < 0 && errno == ENOENT && create) {
        if (g_mkdir_with_parents(("/" + dir).c_str(), 0755) != 0)
          throw Error(ErrorKind::kIo,
                      "cannot create the folder for " + name(rel) + ": " + std::strerror(errno));
        fd = openat(root_fd_.get(), dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
      }
      if (fd < 0 && !create && (errno == ENOENT || errno == ENOTDIR))
        return Fd(-1);
      if (fd < 0)
        throw io_error("cannot open the folder of", rel);
      return Fd(fd);
    }
    if (!create && !component_walk_forced()) {
      // One call where the kernel has openat2 (Linux 5.6+); ENOSYS: walk component by component.
      struct open_how how = {};
      how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
      how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
      long fd = syscall(SYS_openat2, root_fd_.get(), dir.c_str(), &how, sizeof how);
      if (fd >= 0)
        return Fd(static_cast<int>(fd));
      if (errno == ELOOP || errno == EXDEV)
        throw symlink_error(rel);
      if (errno == ENOENT || errno == ENOTDIR)
        return Fd(-1);
      if (errno != ENOSYS && errno != EPERM)  // EPERM: seccomp filters that deny new calls
        throw io_error("cannot open the folder of", rel);
    }
    std::size_t start = 0;
    while (start <= dir.size()) {
      std::size_t slash = dir.find('/', start);
      if (slash == std::string::npos)
        slash = dir.size();
      std::string component = dir.substr(start, slash - start);
      start = slash + 1;
      int fd = openat(cur.get(), component.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0 && errno == ENOENT && create) {
        if (mkdirat(cur.get(), component.c_str(), 0755) != 0 && errno != EEXIST)
          throw Error(ErrorKind::kIo,
                      "cannot create the folder for " + name(rel) + ": " + std::strerror(errno));
        fd = openat(cur.get(), component.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      }
      if (fd < 0) {
        int e = errno;
        struct stat st;
        if (e == ENOTDIR && fstatat(cur.get(), component.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISLNK(st.st_mode))
          throw symlink_error(rel);
        if (create && e == ENOTDIR)
          throw Error(ErrorKind::kIo,
                      "cannot create the folder for " + name(rel) +
                          ": a key exists where a folder is needed (a local folder cannot hold "
                          "both a key and keys under it)");
        if (e == ENOENT || e == ENOTDIR)
          return Fd(-1);
        errno = e;
        throw io_error("cannot open the folder of", rel);
      }
      cur.reset(fd);
    }
    return cur;
  }

  // Opens key for reading without following links; throws kNotFound unless it is a regular
  // file (O_NONBLOCK: a FIFO planted in the folder must not block the open).
  Fd open_object(const std::string &key, struct stat *st) const {
    check_key(key);
    std::string base;
    Fd dir = open_dir(key, false, &base);
    if (dir.get() < 0)
      throw Error(ErrorKind::kNotFound, name(key) + " does not exist", 404, "NoSuchKey");
    Fd fd(openat(dir.get(), base.c_str(),
                 O_RDONLY | (confine_ ? O_NOFOLLOW : 0) | O_NONBLOCK | O_CLOEXEC));
    if (fd.get() < 0)
      throw io_error("cannot open", key);
    if (fstat(fd.get(), st) != 0)
      throw io_error("cannot read", key);
    if (!S_ISREG(st->st_mode))
      throw Error(ErrorKind::kNotFound, name(key) + " does not exist", 404, "NoSuchKey");
    return fd;
  }

  // Lists the regular files under the open folder dir (whose keys start with rel_dir); links,
  // temporary files and anything else are skipped, and folders are walked through descriptors.
  void walk(int dir, const std::string &rel_dir, std::vector<std::string> *keys) const {
    struct DirCloser {
      void operator()(DIR *d) const { closedir(d); }
    };
    int fd = openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
      return;
    std::unique_ptr<DIR, DirCloser> d(fdopendir(fd));
    if (!d) {
      close(fd);
      return;
    }
    while (struct dirent *ent = readdir(d.get())) {
      std::string n = ent->d_name;
      if (n == "." || n == ".." || starts_with(n, kTempPrefix))
        continue;
      struct stat st;
      if (fstatat(dirfd(d.get()), n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
        continue;
      if (S_ISDIR(st.st_mode)) {
        Fd sub(openat(dirfd(d.get()), n.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (sub.get() >= 0)
          walk(sub.get(), rel_dir + n + "/", keys);
      } else if (S_ISREG(st.st_mode)) {
        keys->push_back(rel_dir + n);
      }
    }
  }

  static std::string get_attr(int fd, const char *attr) {
    char buf[512];
    ssize_t n = fgetxattr(fd, attr, buf, sizeof buf);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
  }

  std::string etag_of(int fd, const std::string &key, const struct stat &st) {
    std::string stamp = etag_stamp(st);
    std::string cached = get_attr(fd, kEtagAttr);
    if (starts_with(cached, stamp))
      return cached.substr(stamp.size());
    {
      std::lock_guard<std::mutex> lock(cache_mutex_);
      auto it = etag_cache_.find(key);
      if (it != etag_cache_.end() && starts_with(it->second, stamp))
        return it->second.substr(stamp.size());
    }
    ChecksumPtr md5(g_checksum_new(G_CHECKSUM_MD5), g_checksum_free);
    read_chunks_at(fd, name(key), 0, [&](const char *data, std::size_t size) {
      g_checksum_update(md5.get(), reinterpret_cast<const guchar *>(data),
                        static_cast<gssize>(size));
    });
    std::string etag = g_checksum_get_string(md5.get());
    std::lock_guard<std::mutex> lock(cache_mutex_);
    etag_cache_[key] = stamp + etag;
    return etag;
  }

  ObjectInfo stat_object(const std::string &key, bool for_head) {
    struct stat st;
    Fd fd = open_object(key, &st);
    ObjectInfo info;
    info.key = key;
    info.size = static_cast<std::uint64_t>(st.st_size);
    info.etag = etag_of(fd.get(), key, st);
    if (for_head) {
      info.last_modified = http_date(st.st_mtim.tv_sec);
      info.content_type = get_attr(fd.get(), kTypeAttr);
      if (info.content_type.empty())
        info.content_type = "application/octet-stream";
    } else {
      info.last_modified = iso8601_time(st.st_mtim.tv_sec);
    }
    return info;
  }

  Fd open_range(const std::string &key, std::uint64_t offset, std::int64_t length,
                std::uint64_t *end) {
    struct stat st;
    Fd fd = open_object(key, &st);
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
    std::string base;
    Fd dir = open_dir(key, true, &base);
    // A link (or folder) at the key itself is refused, not replaced: the listing skips it.
    struct stat existing;
    if (fstatat(dir.get(), base.c_str(), &existing, AT_SYMLINK_NOFOLLOW) == 0) {
      if (S_ISLNK(existing.st_mode) && confine_)
        throw symlink_error(key);
      if (S_ISDIR(existing.st_mode))
        throw Error(ErrorKind::kIo, "cannot write " + name(key) +
                                        ": it is a folder (a local folder cannot hold both a key "
                                        "and keys under it)");
    }
    std::string tmp;
    Fd fd;
    for (int attempt = 0; fd.get() < 0; attempt++) {
      tmp = std::string(kTempPrefix) + std::to_string(g_random_int()) + "-" +
            std::to_string(g_random_int());
      fd.reset(openat(dir.get(), tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                      0644));
      if (fd.get() < 0 && (errno != EEXIST || attempt > 100))
        throw io_error("cannot write", key);
    }
    bool keep = false;
    struct Cleanup {
      int dir;
      std::string name;
      bool *keep;
      ~Cleanup() {
        if (!*keep)
          unlinkat(dir, name.c_str(), 0);
      }
    } cleanup{dir.get(), tmp, &keep};

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
      // linkat() fails when the name exists: an atomic create-if-absent, like If-None-Match: *.
      if (linkat(dir.get(), tmp.c_str(), dir.get(), base.c_str(), 0) != 0) {
        if (errno == EEXIST)
          throw Error(ErrorKind::kPreconditionFailed, name(key) + " already exists", 412,
                      "PreconditionFailed");
        throw io_error("cannot create", key);
      }
    } else if (renameat(dir.get(), tmp.c_str(), dir.get(), base.c_str()) != 0) {
      // (rename replaces a link planted at the name since the check above, never its target)
      throw io_error("cannot write", key);
    } else {
      keep = true;
    }
    {
      std::lock_guard<std::mutex> lock(cache_mutex_);
      etag_cache_[key] = stamp;
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
    std::string rel = parent_of(key);
    while (!rel.empty()) {
      std::string base;
      Fd dir = open_dir(rel, false, &base);
      if (dir.get() < 0 || unlinkat(dir.get(), base.c_str(), AT_REMOVEDIR) != 0)
        return;
      rel = parent_of(rel);
    }
  }

  Url url_;
  Fd root_fd_;
  bool confine_ = true;
  std::mutex cache_mutex_;
  std::unordered_map<std::string, std::string> etag_cache_;
};

}  // namespace

void set_local_component_walk_for_tests(bool on) {
  force_component_walk = on;
}

std::unique_ptr<Bucket> make_local_bucket(const Url &url) {
  return std::make_unique<LocalBucket>(url);
}

}  // namespace internal
}  // namespace s3
