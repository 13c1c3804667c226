// fuzz-s3-copy-xml.cpp: libFuzzer target for the CopyObject reply parser
// (s3::xml::parse_copy_result), which may meet an <Error> inside a 200 reply.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "s3-xml.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  std::string body(reinterpret_cast<const char *>(data), size);
  s3::ObjectInfo info;
  s3::xml::ErrorBody error;
  if (!s3::xml::parse_copy_result(body, &info, &error) && error.code.empty())
    std::abort();  // every failure names an error code
  return 0;
}
