// s3-xml.h: parsing of S3 XML replies (ListObjectsV2, CopyObjectResult, Error) with libxml2.
#pragma once

#include <string>
#include <vector>

#include "s3-client.h"

namespace s3 {
namespace xml {

// Replies larger than this are refused unparsed (a page of 1000 keys of 1024 bytes, every byte
// escaped, stays well below it); the HTTP layer aborts such replies before they are kept whole.
constexpr std::size_t kMaxXmlBytes = 16 << 20;
// At most this many entries (objects + common prefixes) in one listing page, S3's own maximum.
constexpr std::size_t kMaxListEntries = 1000;

// Every parser refuses a document with a DTD (<!DOCTYPE ...>): S3 never sends one, and its
// entities are how a hostile server makes a small reply expand without bound.

struct ErrorBody {
  std::string code;     // e.g. "NoSuchKey"
  std::string message;  // the server's human text
};

// True when body is an S3 <Error> document; fills out.
bool parse_error(const std::string &body, ErrorBody *out);

// A ListBucketResult (V2) page; character references decoded, ETag quotes removed.
// Throws Error(kServer) when the body is not one, has a DTD, or holds more than max_entries.
ListPage parse_list(const std::string &body, std::size_t max_entries = kMaxListEntries);

// A CopyObjectResult: its ETag and LastModified. A 200 may carry an <Error> instead: then
// returns false and fills error.
bool parse_copy_result(const std::string &body, ObjectInfo *info, ErrorBody *error);

// InitiateMultipartUploadResult: its UploadId. Throws Error(kServer) when the body is not one
// or has no UploadId.
std::string parse_initiate_upload(const std::string &body);

// CompleteMultipartUploadResult: its ETag (may be empty: RGW sends none). A 200 may carry an
// <Error> instead (S3 reports late failures so): then returns false and fills error.
bool parse_complete_upload(const std::string &body, ObjectInfo *info, ErrorBody *error);

// ListMultipartUploadsResult: its uploads. Throws Error(kServer) when the body is not one.
std::vector<Bucket::PendingUpload> parse_list_uploads(const std::string &body);

// An SNS CreateTopic reply (Ceph RGW's topics): its TopicArn, trimmed; "" when the body is not
// XML, has a DTD or names none.
std::string parse_topic_arn(const std::string &body);

// A GetBucketNotificationConfiguration reply: its entries (Topic/Queue/CloudFunction
// configurations) except the one whose Id is `id`, serialised as they came, to be sent back
// with ours. "" for an empty body or configuration. Throws Error(kServer) when the body is not a
// NotificationConfiguration or has a DTD: rewriting a configuration we cannot read would drop
// the bucket's other notifications.
std::string notification_entries_except(const std::string &body, const std::string &id);

// The CompleteMultipartUpload request body for parts 1..etags.size() (ETags without quotes).
std::string complete_upload_body(const std::vector<std::string> &etags);

// "\"abc\"" -> "abc".
std::string strip_etag(const std::string &etag);

}  // namespace xml
}  // namespace s3
