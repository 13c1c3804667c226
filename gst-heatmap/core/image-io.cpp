// image-io.cpp: atomic file writes and the JPEG / 16-bit PNG encoders.
#include "image-io.h"

#include <fcntl.h>
#include <jpeglib.h>
#include <png.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csetjmp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <vector>

namespace heatmap {

namespace {

mode_t file_mode_from_umask() {
  // umask() can only be read by changing it, which races with other threads; Linux reports it
  // in /proc instead.
  mode_t mask = 022;
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Umask:", 0) == 0) {
      mask = static_cast<mode_t>(std::strtoul(line.c_str() + 6, nullptr, 8));
      break;
    }
  }
  return 0666 & ~mask;
}

bool fail(std::string *error, const std::string &path, const std::string &what, int err) {
  if (error != nullptr) {
    *error = "cannot write \"" + path + "\": " + what + ": " + std::strerror(err);
  }
  return false;
}

bool write_atomically(const std::string &path, const std::uint8_t *bytes, std::size_t length,
                      std::string *error) {
  if (path.empty()) {
    if (error != nullptr) {
      *error = "cannot write a file with an empty path";
    }
    return false;
  }
  std::string tmp = path + ".tmp-XXXXXX";
  const int fd = mkstemp(tmp.data());
  if (fd < 0) {
    return fail(error, path, "cannot create a temporary file beside it", errno);
  }
  auto abandon = [&](const char *what) {
    const int err = errno;
    close(fd);
    unlink(tmp.c_str());
    return fail(error, path, what, err);
  };
  if (fchmod(fd, file_mode_from_umask()) != 0) {
    return abandon("cannot set permissions");
  }
  std::size_t done = 0;
  while (done < length) {
    const ssize_t n = write(fd, bytes + done, length - done);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return abandon("write failed");
    }
    done += static_cast<std::size_t>(n);
  }
  if (fsync(fd) != 0) {
    return abandon("fsync failed");
  }
  if (close(fd) != 0) {
    const int err = errno;
    unlink(tmp.c_str());
    return fail(error, path, "close failed", err);
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    unlink(tmp.c_str());
    return fail(error, path, "rename failed", err);
  }
  return true;
}

// Encoders. libjpeg and libpng are used directly rather than cv::imencode: OpenCV's imgcodecs
// module drags in GDAL, GDCM, OpenEXR and ~130 other libraries, ~37 MiB of resident memory in
// a GStreamer process, for two small images written once at end-of-stream.
// Both libraries report errors by longjmp, so the functions below keep no C++ objects with
// destructors alive across the setjmp.

struct JpegError {
  jpeg_error_mgr mgr;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void jpeg_fail(j_common_ptr cinfo) {
  auto *err = reinterpret_cast<JpegError *>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

// Returns an empty string on success, else libjpeg's reason. *out is malloc'ed by libjpeg.
std::string jpeg_encode(const cv::Mat &image, int quality, unsigned char **out,
                        unsigned long *out_size) {
  jpeg_compress_struct cinfo;
  JpegError err;
  cinfo.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = jpeg_fail;
  err.message[0] = '\0';
  if (setjmp(err.jump)) {
    jpeg_destroy_compress(&cinfo);
    return err.message[0] != '\0' ? err.message : "JPEG encoder failed";
  }
  jpeg_create_compress(&cinfo);
  jpeg_mem_dest(&cinfo, out, out_size);
  cinfo.image_width = static_cast<JDIMENSION>(image.cols);
  cinfo.image_height = static_cast<JDIMENSION>(image.rows);
  cinfo.input_components = image.channels();
  cinfo.in_color_space = image.channels() == 3 ? JCS_EXT_BGR : JCS_GRAYSCALE;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, quality, TRUE);
  jpeg_start_compress(&cinfo, TRUE);
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row =
        const_cast<JSAMPROW>(image.ptr<std::uint8_t>(static_cast<int>(cinfo.next_scanline)));
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  return std::string();
}

void png_append(png_structp png, png_bytep data, png_size_t length) {
  auto *bytes = static_cast<std::vector<std::uint8_t> *>(png_get_io_ptr(png));
  bytes->insert(bytes->end(), data, data + length);
}

void png_fail(png_structp png, png_const_charp message) {
  auto *reason = static_cast<char *>(png_get_error_ptr(png));
  std::snprintf(reason, 256, "%s", message);
  png_longjmp(png, 1);
}

void png_warn(png_structp, png_const_charp) {}

// 16-bit greyscale PNG of `counts` into *bytes; empty string on success, else the reason.
std::string png_encode_counts(const cv::Mat &counts, std::vector<std::uint8_t> *bytes) {
  char reason[256] = "";
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, reason, png_fail, png_warn);
  if (png == nullptr) {
    return "cannot initialise the PNG encoder";
  }
  png_infop info = png_create_info_struct(png);
  if (info == nullptr || setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, info != nullptr ? &info : nullptr);
    return reason[0] != '\0' ? reason : "PNG encoder failed";
  }
  png_set_write_fn(png, bytes, png_append, nullptr);
  png_set_IHDR(png, info, static_cast<png_uint_32>(counts.cols),
               static_cast<png_uint_32>(counts.rows), 16, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_set_compression_level(png, 6);
  png_write_info(png, info);
  png_set_swap(png);  // PNG stores 16-bit samples big-endian; ours are host (little) order
  for (int y = 0; y < counts.rows; ++y) {
    png_write_row(png, reinterpret_cast<png_const_bytep>(counts.ptr<std::uint16_t>(y)));
  }
  png_write_end(png, info);
  png_destroy_write_struct(&png, &info);
  return std::string();
}

}  // namespace

bool write_jpeg(const std::string &path, const cv::Mat &bgr, int quality, std::string *error) {
  if (bgr.empty() || bgr.dims != 2 || bgr.depth() != CV_8U ||
      (bgr.channels() != 3 && bgr.channels() != 1)) {
    if (error != nullptr) {
      *error = "cannot write \"" + path + "\": the image is not 8-bit BGR or grey";
    }
    return false;
  }
  unsigned char *data = nullptr;
  unsigned long size = 0;
  const std::string why = jpeg_encode(bgr, std::clamp(quality, 1, 100), &data, &size);
  std::unique_ptr<unsigned char, decltype(&std::free)> owned(data, &std::free);
  if (!why.empty()) {
    if (error != nullptr) {
      *error = "cannot write \"" + path + "\": " + why;
    }
    return false;
  }
  return write_atomically(path, data, size, error);
}

bool encode_jpeg(const cv::Mat &bgr, int quality, std::vector<std::uint8_t> *bytes,
                 std::string *error) {
  if (bgr.empty() || bgr.dims != 2 || bgr.depth() != CV_8U ||
      (bgr.channels() != 3 && bgr.channels() != 1)) {
    if (error != nullptr) {
      *error = "the image is not 8-bit BGR or grey";
    }
    return false;
  }
  unsigned char *data = nullptr;
  unsigned long size = 0;
  const std::string why = jpeg_encode(bgr, std::clamp(quality, 1, 100), &data, &size);
  std::unique_ptr<unsigned char, decltype(&std::free)> owned(data, &std::free);
  if (!why.empty()) {
    if (error != nullptr) {
      *error = why;
    }
    return false;
  }
  bytes->assign(data, data + size);
  return true;
}

bool write_file_atomically(const std::string &path, const std::uint8_t *bytes, std::size_t length,
                           std::string *error) {
  return write_atomically(path, bytes, length, error);
}

bool write_counts_png(const std::string &path, const cv::Mat &counts, std::string *error) {
  if (counts.empty() || counts.dims != 2 || counts.type() != CV_16UC1) {
    if (error != nullptr) {
      *error = "cannot write \"" + path + "\": the counts are not a non-empty CV_16UC1 image";
    }
    return false;
  }
  std::vector<std::uint8_t> bytes;
  const std::string why = png_encode_counts(counts, &bytes);
  if (!why.empty()) {
    if (error != nullptr) {
      *error = "cannot write \"" + path + "\": " + why;
    }
    return false;
  }
  return write_atomically(path, bytes.data(), bytes.size(), error);
}

}  // namespace heatmap
