// image-io.cpp: atomic file writes, the JPEG / 16-bit PNG encoders and their decoders.
#include "image-io.h"

#include <fcntl.h>
#include <jpeglib.h>
#include <png.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
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

// Decoders. The output Mat is the caller's (created before any longjmp can happen, freed by
// its owner), so no object with a destructor lives between setjmp and longjmp here either.

void jpeg_quiet(j_common_ptr) {}  // warnings (e.g. a few corrupt bytes) are not errors

// A progressive JPEG may hold any number of scans, each a pass over the whole image: a few
// bytes per scan make a small file that keeps the decoder busy for hours. Encoders write ten
// or so (libjpeg's progressive script: 10; mozjpeg's: under 20); libjpeg-turbo's own tools
// stop at a limit the same way (djpeg -maxscan).
constexpr int kMaxJpegScans = 100;

void jpeg_count_scans(j_common_ptr cinfo) {
  auto *d = reinterpret_cast<j_decompress_ptr>(cinfo);
  if (d->input_scan_number > kMaxJpegScans) {
    auto *err = reinterpret_cast<JpegError *>(cinfo->err);
    std::snprintf(err->message, sizeof err->message, "more than %d progressive scans",
                  kMaxJpegScans);
    std::longjmp(err->jump, 1);
  }
}

std::string jpeg_decode(const std::uint8_t *bytes, std::size_t length, std::size_t max_pixels,
                        cv::Mat *bgr) {
  jpeg_decompress_struct cinfo;
  JpegError err;
  cinfo.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = jpeg_fail;
  err.mgr.output_message = jpeg_quiet;
  err.message[0] = '\0';
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    return err.message[0] != '\0' ? err.message : "JPEG decoder failed";
  }
  jpeg_create_decompress(&cinfo);
  jpeg_progress_mgr progress{};
  progress.progress_monitor = jpeg_count_scans;
  cinfo.progress = &progress;
  jpeg_mem_src(&cinfo, bytes, static_cast<unsigned long>(length));
  jpeg_read_header(&cinfo, TRUE);
  const std::uint64_t w = cinfo.image_width, h = cinfo.image_height;
  if (w == 0 || h == 0 || w > kMaxDecodedSide || h > kMaxDecodedSide || w * h > max_pixels) {
    jpeg_destroy_decompress(&cinfo);
    return "image size " + std::to_string(w) + "x" + std::to_string(h) + " is out of range";
  }
  if (cinfo.jpeg_color_space != JCS_GRAYSCALE && cinfo.jpeg_color_space != JCS_YCbCr &&
      cinfo.jpeg_color_space != JCS_RGB) {
    jpeg_destroy_decompress(&cinfo);
    return "not a colour or grey JPEG";
  }
  cinfo.out_color_space = JCS_EXT_BGR;
  jpeg_start_decompress(&cinfo);
  bgr->create(static_cast<int>(h), static_cast<int>(w), CV_8UC3);
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = bgr->ptr<std::uint8_t>(static_cast<int>(cinfo.output_scanline));
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  return std::string();
}

struct PngSource {
  const std::uint8_t *bytes;
  std::size_t length;
  std::size_t at;
};

void png_take(png_structp png, png_bytep data, png_size_t length) {
  auto *src = static_cast<PngSource *>(png_get_io_ptr(png));
  if (length > src->length - src->at) {
    png_error(png, "the file ends early");
  }
  std::memcpy(data, src->bytes + src->at, length);
  src->at += length;
}

// A counts PNG (8- or 16-bit grey) into *image, samples kept.
std::string png_decode_counts(const std::uint8_t *bytes, std::size_t length, std::size_t max_pixels,
                              cv::Mat *image, std::vector<png_bytep> *rows) {
  if (!is_png(bytes, length)) {
    return "not a PNG file";
  }
  char reason[256] = "";
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, reason, png_fail, png_warn);
  if (png == nullptr) {
    return "cannot initialise the PNG decoder";
  }
  png_infop info = png_create_info_struct(png);
  if (info == nullptr || setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, info != nullptr ? &info : nullptr, nullptr);
    return reason[0] != '\0' ? reason : "PNG decoder failed";
  }
  PngSource source{bytes, length, 0};
  png_set_read_fn(png, &source, png_take);
  png_set_user_limits(png, kMaxDecodedSide, kMaxDecodedSide);
  // Only IHDR, PLTE, tRNS, IDAT and IEND are read; every other chunk (text, ICC profiles,
  // private chunks) is skipped unread. libpng allocates a text chunk's declared length before
  // reading it, so a few bytes claiming a 2 GiB tEXt chunk would otherwise cost 2 GiB.
  png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, nullptr, -1);
  png_read_info(png, info);
  const std::uint64_t w = png_get_image_width(png, info), h = png_get_image_height(png, info);
  const int depth = png_get_bit_depth(png, info), colour = png_get_color_type(png, info);
  if (w * h > max_pixels) {
    png_destroy_read_struct(&png, &info, nullptr);
    return "PNG size " + std::to_string(w) + "x" + std::to_string(h) + " is out of range (" +
           std::to_string(max_pixels) + " pixels at most)";
  }
  if (colour != PNG_COLOR_TYPE_GRAY || (depth != 8 && depth != 16)) {
    png_destroy_read_struct(&png, &info, nullptr);
    return "not a grey 8- or 16-bit PNG (a counts PNG is 16-bit grey)";
  }
  if (depth == 16) {
    png_set_swap(png);  // big-endian in the file, host (little) order in the Mat
  }
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  image->create(static_cast<int>(h), static_cast<int>(w), depth == 16 ? CV_16UC1 : CV_8UC1);
  rows->resize(static_cast<std::size_t>(h));
  for (std::size_t y = 0; y < rows->size(); ++y) {
    (*rows)[y] = image->ptr<png_byte>(static_cast<int>(y));
  }
  png_read_image(png, rows->data());
  png_read_end(png, nullptr);
  png_destroy_read_struct(&png, &info, nullptr);
  return std::string();
}

// The simplified API (png_image_*) cannot be told to skip chunks, so decode_png_to_grey hands it
// a copy holding only the chunks that make the picture and its colours: a chunk that claims
// more bytes than follow is refused here, before libpng could allocate what it claims. gAMA,
// cHRM and sRGB stay (small, fixed-size; the simplified API converts colour through them).
std::string picture_chunks_only(const std::uint8_t *bytes, std::size_t length, std::string *out) {
  static const char *const kKept[] = {"IHDR", "PLTE", "tRNS", "gAMA",
                                      "cHRM", "sRGB", "IDAT", "IEND"};
  if (!is_png(bytes, length)) {
    return "not a PNG file";
  }
  out->assign(reinterpret_cast<const char *>(bytes), 8);
  std::size_t at = 8;
  for (;;) {
    if (length - at < 12) {
      return "the file ends early";
    }
    const std::size_t n = (std::size_t{bytes[at]} << 24) | (std::size_t{bytes[at + 1]} << 16) |
                          (std::size_t{bytes[at + 2]} << 8) | bytes[at + 3];
    const char *type = reinterpret_cast<const char *>(bytes + at + 4);
    if (n > length - at - 12) {
      std::string name;
      for (int i = 0; i < 4; ++i) {
        name += std::isalpha(static_cast<unsigned char>(type[i])) ? type[i] : '?';
      }
      return "chunk " + name + " claims " + std::to_string(n) + " bytes, only " +
             std::to_string(length - at - 12) + " follow";
    }
    for (const char *kept : kKept) {
      if (std::memcmp(type, kept, 4) == 0) {
        out->append(reinterpret_cast<const char *>(bytes + at), n + 12);
        break;
      }
    }
    at += n + 12;
    if (std::memcmp(type, "IEND", 4) == 0) {
      return std::string();
    }
  }
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

bool is_png(const std::uint8_t *bytes, std::size_t length) {
  return length >= 8 && png_sig_cmp(bytes, 0, 8) == 0;
}

bool decode_jpeg(const std::uint8_t *bytes, std::size_t length, std::size_t max_pixels,
                 cv::Mat *bgr, std::string *error) {
  const std::string why =
      length < 4 ? std::string("empty image") : jpeg_decode(bytes, length, max_pixels, bgr);
  if (!why.empty()) {
    bgr->release();
    *error = why;
    return false;
  }
  return true;
}

bool decode_grey_png(const std::uint8_t *bytes, std::size_t length, std::size_t max_pixels,
                     cv::Mat *counts, std::string *error) {
  std::vector<png_bytep> rows;
  cv::Mat decoded;
  const std::string why = png_decode_counts(bytes, length, max_pixels, &decoded, &rows);
  if (!why.empty()) {
    counts->release();
    *error = why;
    return false;
  }
  if (decoded.depth() == CV_8U) {
    decoded.convertTo(*counts, CV_16U);
  } else {
    *counts = decoded;
  }
  return true;
}

bool decode_png_to_grey(const std::uint8_t *bytes, std::size_t length, int max_side, cv::Mat *grey,
                        std::string *error) {
  grey->release();
  std::string picture;
  std::string why = picture_chunks_only(bytes, length, &picture);
  if (!why.empty()) {
    *error = why;
    return false;
  }
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&image, picture.data(), picture.size())) {
    *error = image.message;
    return false;
  }
  if (image.width > static_cast<png_uint_32>(max_side) ||
      image.height > static_cast<png_uint_32>(max_side)) {
    *error = "PNG size " + std::to_string(image.width) + "x" + std::to_string(image.height) +
             " is out of range (" + std::to_string(max_side) + " pixels on a side at most)";
    png_image_free(&image);
    return false;
  }
  image.format = PNG_FORMAT_GRAY;
  cv::Mat out(static_cast<int>(image.height), static_cast<int>(image.width), CV_8UC1);
  png_color black{0, 0, 0};
  if (!png_image_finish_read(&image, &black, out.data, static_cast<png_int_32>(out.step),
                             nullptr)) {
    *error = image.message;
    png_image_free(&image);
    return false;
  }
  *grey = out;
  return true;
}

}  // namespace heatmap
