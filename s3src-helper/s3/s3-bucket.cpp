// s3-bucket.cpp: backend-independent Bucket methods and open_bucket().
#include <glib.h>
#include <glib/gstdio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "s3-client.h"
#include "s3-internal.h"

namespace s3 {

namespace internal {

namespace {

// The one read loop behind read_chunks() and read_chunks_at(): offset < 0 reads from the file
// position, offset >= 0 preads from there.
void read_loop(int fd, const std::string &path, off_t offset, const ChunkFn &fn) {
  std::vector<char> buf(256 * 1024);
  off_t pos = offset;
  for (;;) {
    ssize_t n =
        offset < 0 ? ::read(fd, buf.data(), buf.size()) : ::pread(fd, buf.data(), buf.size(), pos);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      throw Error(ErrorKind::kIo, "cannot read " + path + ": " + std::strerror(errno));
    if (n == 0)
      break;
    fn(buf.data(), static_cast<std::size_t>(n));
    if (offset >= 0)
      pos += n;
  }
}

}  // namespace

void read_chunks(int fd, const std::string &path, const ChunkFn &fn) {
  read_loop(fd, path, -1, fn);
}

void read_chunks_at(int fd, const std::string &path, std::uint64_t offset, const ChunkFn &fn) {
  read_loop(fd, path, static_cast<off_t>(offset), fn);
}

}  // namespace internal

void Bucket::list_all(const std::string &prefix, const std::string &delimiter,
                      std::vector<ObjectInfo> *objects, std::vector<std::string> *prefixes) {
  std::string token;
  std::size_t pages = 0, empty_in_a_row = 0;
  do {
    // A server that never ends a listing must not keep us (and our memory) forever.
    if (++pages > kMaxListPages)
      throw Error(ErrorKind::kServer, "the listing of " + url().str() + "/" + prefix +
                                          " goes on beyond " + std::to_string(kMaxListPages) +
                                          " pages: refused (use a narrower prefix)");
    ListPage page = list_page(prefix, delimiter, token, 1000);
    empty_in_a_row = page.objects.empty() && page.common_prefixes.empty() ? empty_in_a_row + 1 : 0;
    if (page.truncated && empty_in_a_row >= kMaxEmptyListPages)
      throw Error(ErrorKind::kServer, "the server sent " + std::to_string(empty_in_a_row) +
                                          " empty listing pages in a row, each saying more "
                                          "follow: refused");
    if (objects)
      objects->insert(objects->end(), std::make_move_iterator(page.objects.begin()),
                      std::make_move_iterator(page.objects.end()));
    if (prefixes)
      prefixes->insert(prefixes->end(), page.common_prefixes.begin(), page.common_prefixes.end());
    if (page.truncated && page.next_token == token)
      throw Error(ErrorKind::kServer, "the server repeated the same continuation token");
    token = page.truncated ? page.next_token : std::string();
  } while (!token.empty());
}

void Bucket::get_to_file(const std::string &key, const std::string &path) {
  std::string tmpl = path + ".part-XXXXXX";
  int fd = g_mkstemp(tmpl.data());
  if (fd < 0)
    throw Error(ErrorKind::kIo,
                "cannot create a file next to " + path + ": " + std::strerror(errno));
  FILE *file = fdopen(fd, "wb");
  if (!file) {
    close(fd);
    g_unlink(tmpl.c_str());
    throw Error(ErrorKind::kIo, "cannot open " + tmpl + ": " + std::strerror(errno));
  }
  std::unique_ptr<FILE, decltype(&fclose)> closer(file, fclose);
  try {
    get(key, 0, -1, [&](const char *data, std::size_t len) {
      if (fwrite(data, 1, len, file) != len)
        throw Error(ErrorKind::kIo, "cannot write " + path + ": " + std::strerror(errno));
    });
    if (fclose(closer.release()) != 0)
      throw Error(ErrorKind::kIo, "cannot write " + path + ": " + std::strerror(errno));
    if (g_rename(tmpl.c_str(), path.c_str()) != 0)
      throw Error(ErrorKind::kIo, "cannot rename into " + path + ": " + std::strerror(errno));
  } catch (...) {
    closer.reset();
    g_unlink(tmpl.c_str());
    throw;
  }
}

namespace {

// The default Upload: the stream goes to a private temporary file (memory stays flat), which
// put_file() writes at complete(). Nothing reaches the bucket before that.
class SpooledUpload : public Upload {
 public:
  SpooledUpload(Bucket *bucket, std::string key, PutOptions options)
      : bucket_(bucket), key_(std::move(key)), options_(std::move(options)) {
    gchar *path = nullptr;
    GError *err = nullptr;
    fd_ = g_file_open_tmp("s3-upload-XXXXXX", &path, &err);
    if (fd_ < 0) {
      std::string why = err->message;
      g_error_free(err);
      throw Error(ErrorKind::kIo, "cannot create a temporary file for " + key_ + ": " + why);
    }
    path_ = path;
    g_free(path);
  }
  ~SpooledUpload() override { abort(); }

  void write(std::string_view data) override {
    while (!data.empty()) {
      const ssize_t n = ::write(fd_, data.data(), data.size());
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0) {
        const std::string why = std::strerror(errno);
        abort();
        throw Error(ErrorKind::kIo, "cannot spool " + key_ + " to " + path_ + ": " + why);
      }
      data.remove_prefix(static_cast<std::size_t>(n));
      size_ += static_cast<std::uint64_t>(n);
    }
  }

  ObjectInfo complete() override {
    if (fd_ < 0)
      throw Error(ErrorKind::kInvalidArgument, "the upload of " + key_ + " is over");
    try {
      ObjectInfo info = bucket_->put_file(key_, path_, options_);
      abort();  // removes the spool
      return info;
    } catch (...) {
      abort();
      throw;
    }
  }

  void abort() noexcept override {
    if (fd_ >= 0) {
      close(fd_);
      fd_ = -1;
      g_unlink(path_.c_str());
    }
  }

  std::uint64_t size() const override { return size_; }
  int parts_sent() const override { return 0; }

 private:
  Bucket *bucket_;
  std::string key_;
  PutOptions options_;
  int fd_ = -1;
  std::string path_;
  std::uint64_t size_ = 0;
};

}  // namespace

std::vector<Bucket::PendingUpload> Bucket::pending_uploads(const std::string &) {
  return {};
}

std::unique_ptr<Upload> Bucket::open_upload(const std::string &key, const PutOptions &options,
                                            std::size_t) {
  return std::make_unique<SpooledUpload>(this, key, options);
}

std::unique_ptr<Bucket> open_bucket(const Url &url, const Config &config) {
  if (url.scheme == Url::Scheme::kFile)
    return internal::make_local_bucket(url);
  return internal::make_s3_bucket(url, config);
}

}  // namespace s3
