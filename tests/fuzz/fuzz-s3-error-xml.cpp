// fuzz-s3-error-xml.cpp: libFuzzer target for the S3 <Error> reply parser (s3::xml::parse_error).
#include <cstdint>
#include <cstdlib>
#include <string>

#include "s3-xml.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  std::string body(reinterpret_cast<const char *>(data), size);
  s3::xml::ErrorBody error;
  if (!s3::xml::parse_error(body, &error) && !(error.code.empty() && error.message.empty()))
    std::abort();  // a refused document must leave the output alone
  return 0;
}
