// s3-xml.cpp: libxml2 parsing of S3 replies, matching elements by local name (namespaces vary).
#include "s3-xml.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>

#include "s3-internal.h"

namespace s3 {
namespace xml {

namespace {

struct DocFree {
  void operator()(xmlDoc *doc) const { xmlFreeDoc(doc); }
};
using Doc = std::unique_ptr<xmlDoc, DocFree>;

struct CtxtFree {
  void operator()(xmlParserCtxt *ctxt) const { xmlFreeParserCtxt(ctxt); }
};

// SAX hook for "<!DOCTYPE": stops the parser before it reads a single declaration of the DTD.
void refuse_dtd(void *ctx, const xmlChar *, const xmlChar *, const xmlChar *) {
  auto *ctxt = static_cast<xmlParserCtxt *>(ctx);
  ctxt->_private = ctxt;  // marks "had a DTD"
  xmlStopParser(ctxt);
}

enum class Parsed { kOk, kMalformed, kDtd, kTooLarge };

void ignore_error(void *, const char *, ...) {}

// libxml2 prints some errors (bad encodings, I/O) on stderr whatever the parse options say; a
// hostile reply must not add lines to our one-line errors. The handlers are per thread: set for
// this parse, then put back.
class QuietErrors {
 public:
  QuietErrors() : handler_(xmlGenericError), context_(xmlGenericErrorContext) {
    xmlSetGenericErrorFunc(nullptr, ignore_error);
  }
  ~QuietErrors() { xmlSetGenericErrorFunc(context_, handler_); }
  QuietErrors(const QuietErrors &) = delete;
  QuietErrors &operator=(const QuietErrors &) = delete;

 private:
  xmlGenericErrorFunc handler_;
  void *context_;
};

// Parses body; a document with a DTD, or larger than kMaxXmlBytes, is refused. NONET and no
// NOENT/DTDLOAD: nothing is fetched, no entity is substituted (only character references and
// the five predefined entities are decoded).
Doc parse(const std::string &body, Parsed *how) {
  *how = Parsed::kMalformed;
  if (body.empty())
    return nullptr;
  if (body.size() > kMaxXmlBytes) {
    *how = Parsed::kTooLarge;
    return nullptr;
  }
  QuietErrors quiet;
  std::unique_ptr<xmlParserCtxt, CtxtFree> ctxt(xmlNewParserCtxt());
  if (!ctxt)
    throw std::bad_alloc();
  ctxt->sax->internalSubset = refuse_dtd;
  ctxt->_private = nullptr;
  Doc doc(xmlCtxtReadMemory(ctxt.get(), body.data(), static_cast<int>(body.size()), "s3.xml",
                            nullptr, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING));
  if (ctxt->_private != nullptr || (doc && (doc->intSubset || doc->extSubset))) {
    *how = Parsed::kDtd;
    return nullptr;
  }
  if (doc)
    *how = Parsed::kOk;
  return doc;
}

Doc parse(const std::string &body) {
  Parsed how;
  return parse(body, &how);
}

bool is(const xmlNode *node, const char *name) {
  return node->type == XML_ELEMENT_NODE &&
         std::strcmp(reinterpret_cast<const char *>(node->name), name) == 0;
}

std::string text(const xmlNode *node) {
  std::unique_ptr<xmlChar, decltype(xmlFree)> content(xmlNodeGetContent(node), xmlFree);
  return content ? reinterpret_cast<const char *>(content.get()) : "";
}

const xmlNode *child(const xmlNode *parent, const char *name) {
  for (const xmlNode *n = parent->children; n; n = n->next)
    if (is(n, name))
      return n;
  return nullptr;
}

std::string child_text(const xmlNode *parent, const char *name) {
  const xmlNode *n = child(parent, name);
  return n ? text(n) : std::string();
}

void fill_error(const xmlNode *root, ErrorBody *out) {
  out->code = child_text(root, "Code");
  out->message = child_text(root, "Message");
  // Callers act on the code: an <Error> without one is still an error (found by fuzzing).
  if (out->code.empty())
    out->code = "UnknownError";
}

}  // namespace

std::string parse_topic_arn(const std::string &body) {
  Doc doc = parse(body);
  if (!doc)
    return {};
  // CreateTopicResponse > CreateTopicResult > TopicArn
  const xmlNode *root = xmlDocGetRootElement(doc.get());
  const xmlNode *result = root ? child(root, "CreateTopicResult") : nullptr;
  const xmlNode *arn = result ? child(result, "TopicArn") : nullptr;
  return arn ? internal::trim(text(arn)) : std::string();
}

std::string notification_entries_except(const std::string &body, const std::string &id) {
  if (internal::trim(body).empty())
    return {};
  Parsed how;
  Doc doc = parse(body, &how);
  const xmlNode *root = doc ? xmlDocGetRootElement(doc.get()) : nullptr;
  if (how == Parsed::kDtd)
    throw Error(ErrorKind::kServer,
                "the bucket's notification configuration has a DTD (<!DOCTYPE>): refused");
  if (!root || !is(root, "NotificationConfiguration"))
    throw Error(ErrorKind::kServer,
                "the bucket's notification configuration is not a NotificationConfiguration "
                "document; left as it is");
  std::string out;
  for (const xmlNode *n = root->children; n; n = n->next) {
    if (n->type != XML_ELEMENT_NODE)
      continue;
    const xmlNode *entry_id = child(n, "Id");
    if (entry_id && text(entry_id) == id)
      continue;
    std::unique_ptr<xmlBuffer, decltype(&xmlBufferFree)> buf(xmlBufferCreate(), xmlBufferFree);
    if (!buf)
      throw std::bad_alloc();
    xmlNodeDump(buf.get(), doc.get(), const_cast<xmlNode *>(n), 0, 0);
    out.append(reinterpret_cast<const char *>(xmlBufferContent(buf.get())),
               static_cast<std::size_t>(xmlBufferLength(buf.get())));
  }
  return out;
}

std::string strip_etag(const std::string &etag) {
  std::string e = etag;
  if (e.size() >= 2 && e.front() == '"' && e.back() == '"')
    e = e.substr(1, e.size() - 2);
  return e;
}

bool parse_error(const std::string &body, ErrorBody *out) {
  Doc doc = parse(body);
  if (!doc)
    return false;
  const xmlNode *root = xmlDocGetRootElement(doc.get());
  if (!root || !is(root, "Error"))
    return false;
  fill_error(root, out);
  return true;
}

ListPage parse_list(const std::string &body, std::size_t max_entries) {
  Parsed how;
  Doc doc = parse(body, &how);
  if (how == Parsed::kDtd)
    throw Error(ErrorKind::kServer,
                "the server sent a listing with a DTD (<!DOCTYPE>), which S3 never sends: refused");
  if (how == Parsed::kTooLarge)
    throw Error(ErrorKind::kServer, "the server sent a listing page larger than " +
                                        std::to_string(kMaxXmlBytes >> 20) + " MiB: refused");
  const xmlNode *root = doc ? xmlDocGetRootElement(doc.get()) : nullptr;
  if (!root || !is(root, "ListBucketResult"))
    throw Error(ErrorKind::kServer, "the server sent a listing that is not a ListBucketResult");
  ListPage page;
  for (const xmlNode *n = root->children; n; n = n->next) {
    if ((is(n, "Contents") || is(n, "CommonPrefixes")) &&
        page.objects.size() + page.common_prefixes.size() >= max_entries)
      throw Error(ErrorKind::kServer, "the server sent more than " + std::to_string(max_entries) +
                                          " entries in one listing page: refused");
    if (is(n, "Contents")) {
      ObjectInfo info;
      info.key = child_text(n, "Key");
      info.size = std::strtoull(child_text(n, "Size").c_str(), nullptr, 10);
      info.etag = strip_etag(child_text(n, "ETag"));
      info.last_modified = child_text(n, "LastModified");
      page.objects.push_back(std::move(info));
    } else if (is(n, "CommonPrefixes")) {
      page.common_prefixes.push_back(child_text(n, "Prefix"));
    } else if (is(n, "IsTruncated")) {
      page.truncated = text(n) == "true";
    } else if (is(n, "NextContinuationToken")) {
      page.next_token = text(n);
    }
  }
  if (page.truncated && page.next_token.empty())
    throw Error(ErrorKind::kServer,
                "the server sent a truncated listing without a NextContinuationToken");
  return page;
}

bool parse_copy_result(const std::string &body, ObjectInfo *info, ErrorBody *error) {
  Parsed how;
  Doc doc = parse(body, &how);
  if (how == Parsed::kDtd || how == Parsed::kTooLarge) {
    error->code = "MalformedReply";
    error->message = how == Parsed::kDtd
                         ? "the server's reply to a copy has a DTD (<!DOCTYPE>): refused"
                         : "the server's reply to a copy is too large: refused";
    return false;
  }
  const xmlNode *root = doc ? xmlDocGetRootElement(doc.get()) : nullptr;
  if (root && is(root, "Error")) {
    fill_error(root, error);
    return false;
  }
  if (!root || !is(root, "CopyObjectResult")) {
    error->code = "MalformedReply";
    error->message = "the server's reply to a copy is not a CopyObjectResult";
    return false;
  }
  info->etag = strip_etag(child_text(root, "ETag"));
  info->last_modified = child_text(root, "LastModified");
  return true;
}

std::string parse_initiate_upload(const std::string &body) {
  Parsed how;
  Doc doc = parse(body, &how);
  const xmlNode *root = doc ? xmlDocGetRootElement(doc.get()) : nullptr;
  if (!root || !is(root, "InitiateMultipartUploadResult"))
    throw Error(ErrorKind::kServer,
                "the server's reply to CreateMultipartUpload is not an "
                "InitiateMultipartUploadResult");
  std::string id = child_text(root, "UploadId");
  if (id.empty())
    throw Error(ErrorKind::kServer, "the server's reply to CreateMultipartUpload has no UploadId");
  return id;
}

bool parse_complete_upload(const std::string &body, ObjectInfo *info, ErrorBody *error) {
  Parsed how;
  Doc doc = parse(body, &how);
  const xmlNode *root = doc ? xmlDocGetRootElement(doc.get()) : nullptr;
  if (root && is(root, "Error")) {
    fill_error(root, error);
    return false;
  }
  if (!root || !is(root, "CompleteMultipartUploadResult")) {
    error->code = "MalformedReply";
    error->message =
        "the server's reply to CompleteMultipartUpload is not a "
        "CompleteMultipartUploadResult";
    return false;
  }
  info->etag = strip_etag(child_text(root, "ETag"));
  return true;
}

std::vector<Bucket::PendingUpload> parse_list_uploads(const std::string &body) {
  Parsed how;
  Doc doc = parse(body, &how);
  const xmlNode *root = doc ? xmlDocGetRootElement(doc.get()) : nullptr;
  if (!root || !is(root, "ListMultipartUploadsResult"))
    throw Error(ErrorKind::kServer,
                "the server's reply to ListMultipartUploads is not a ListMultipartUploadsResult");
  std::vector<Bucket::PendingUpload> out;
  for (const xmlNode *n = root->children; n; n = n->next) {
    if (!is(n, "Upload"))
      continue;
    if (out.size() >= kMaxListEntries)
      throw Error(ErrorKind::kServer, "the server listed more than " +
                                          std::to_string(kMaxListEntries) + " uploads in one page");
    out.push_back({child_text(n, "Key"), child_text(n, "UploadId"), child_text(n, "Initiated")});
  }
  return out;
}

std::string complete_upload_body(const std::vector<std::string> &etags) {
  std::string out = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
  for (std::size_t i = 0; i < etags.size(); ++i) {
    std::unique_ptr<xmlChar, decltype(xmlFree)> escaped(
        xmlEncodeSpecialChars(nullptr, reinterpret_cast<const xmlChar *>(etags[i].c_str())),
        xmlFree);
    out += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>&quot;" +
           reinterpret_cast<const char *>(escaped.get()) + "&quot;</ETag></Part>";
  }
  out += "</CompleteMultipartUpload>";
  return out;
}

}  // namespace xml
}  // namespace s3
