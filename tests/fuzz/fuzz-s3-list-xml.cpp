// fuzz-s3-list-xml.cpp: libFuzzer target for the ListObjectsV2 reply parser (s3::xml::parse_list).
#include <cstdint>
#include <cstdlib>
#include <string>

#include "s3-xml.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  std::string body(reinterpret_cast<const char *>(data), size);
  try {
    s3::ListPage page = s3::xml::parse_list(body);
    // What the parser promises its callers.
    if (page.truncated && page.next_token.empty())
      std::abort();
    if (page.objects.size() + page.common_prefixes.size() > s3::xml::kMaxListEntries)
      std::abort();
  } catch (const s3::Error &) {
    // A refused reply is a correct answer to garbage.
  }
  return 0;
}
