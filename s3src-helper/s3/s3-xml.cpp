// s3-xml.cpp: libxml2 parsing of S3 replies, matching elements by local name (namespaces vary).
#include "s3-xml.h"

#include <libxml/parser.h>
#include <libxml/tree.h>

#include <cstdlib>
#include <cstring>
#include <memory>

namespace s3 {
namespace xml {

namespace {

struct DocFree {
  void operator()(xmlDoc *doc) const { xmlFreeDoc(doc); }
};
using Doc = std::unique_ptr<xmlDoc, DocFree>;

Doc parse(const std::string &body) {
  if (body.empty())
    return nullptr;
  // NONET: never fetch external entities; character and predefined entities are still decoded.
  return Doc(xmlReadMemory(body.data(), static_cast<int>(body.size()), "s3.xml", nullptr,
                           XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING));
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
}

}  // namespace

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

ListPage parse_list(const std::string &body) {
  Doc doc = parse(body);
  const xmlNode *root = doc ? xmlDocGetRootElement(doc.get()) : nullptr;
  if (!root || !is(root, "ListBucketResult"))
    throw Error(ErrorKind::kServer, "the server sent a listing that is not a ListBucketResult");
  ListPage page;
  for (const xmlNode *n = root->children; n; n = n->next) {
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
  Doc doc = parse(body);
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

}  // namespace xml
}  // namespace s3
