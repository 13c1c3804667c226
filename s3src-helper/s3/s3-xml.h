// s3-xml.h: parsing of S3 XML replies (ListObjectsV2, CopyObjectResult, Error) with libxml2.
#pragma once

#include <string>

#include "s3-client.h"

namespace s3 {
namespace xml {

struct ErrorBody {
  std::string code;     // e.g. "NoSuchKey"
  std::string message;  // the server's human text
};

// True when body is an S3 <Error> document; fills out.
bool parse_error(const std::string &body, ErrorBody *out);

// A ListBucketResult (V2) page; entities decoded, ETag quotes removed.
// Throws Error(kServer) when the body is not one.
ListPage parse_list(const std::string &body);

// A CopyObjectResult: its ETag and LastModified. A 200 may carry an <Error> instead: then
// returns false and fills error.
bool parse_copy_result(const std::string &body, ObjectInfo *info, ErrorBody *error);

// "\"abc\"" -> "abc".
std::string strip_etag(const std::string &etag);

}  // namespace xml
}  // namespace s3
