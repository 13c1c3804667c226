// job-message.cpp: parsing S3 event notifications and plain job messages with json-glib.
#include "job-message.h"

#include <json-glib/json-glib.h>

#include <memory>

namespace heatmap_worker {

namespace {

struct GObjectUnref {
  void operator()(gpointer p) const { g_object_unref(p); }
};
struct GFreeDeleter {
  void operator()(gpointer p) const { g_free(p); }
};

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

// The string member `name` of object, or nullptr when missing or not a string.
const char *string_member(JsonObject *object, const char *name) {
  if (object == nullptr || !json_object_has_member(object, name))
    return nullptr;
  JsonNode *node = json_object_get_member(object, name);
  if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_STRING)
    return nullptr;
  return json_node_get_string(node);
}

JsonObject *object_member(JsonObject *object, const char *name) {
  if (object == nullptr || !json_object_has_member(object, name))
    return nullptr;
  JsonNode *node = json_object_get_member(object, name);
  return JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : nullptr;
}

bool valid_key(const std::string &key, std::string *error) {
  if (key.empty()) {
    *error = "the object key is empty";
    return false;
  }
  if (key.size() > 1024) {
    *error = "the object key is longer than 1024 bytes";
    return false;
  }
  if (!g_utf8_validate(key.data(), static_cast<gssize>(key.size()), nullptr)) {
    *error = "the object key is not valid UTF-8";
    return false;
  }
  return true;
}

bool parse_records(JsonArray *records, JobMessage *out, std::string *error) {
  guint n = json_array_get_length(records);
  for (guint i = 0; i < n; i++) {
    JsonNode *node = json_array_get_element(records, i);
    if (!JSON_NODE_HOLDS_OBJECT(node)) {
      *error = "Records[" + std::to_string(i) + "] is not an object";
      return false;
    }
    JsonObject *record = json_node_get_object(node);
    const char *event = string_member(record, "eventName");
    if (event == nullptr) {
      *error = "Records[" + std::to_string(i) + "] has no eventName";
      return false;
    }
    // AWS says "ObjectCreated:Put", some servers "s3:ObjectCreated:Put".
    std::string_view name(event);
    if (name.rfind("s3:", 0) == 0)
      name.remove_prefix(3);
    if (name.rfind("ObjectCreated:", 0) != 0) {
      out->ignored++;
      continue;
    }
    JsonObject *s3 = object_member(record, "s3");
    const char *encoded = string_member(object_member(s3, "object"), "key");
    if (encoded == nullptr) {
      *error = "Records[" + std::to_string(i) + "] has no s3.object.key";
      return false;
    }
    ClipRef clip;
    if (const char *bucket = string_member(object_member(s3, "bucket"), "name"))
      clip.bucket = bucket;
    if (!url_decode_event_key(encoded, &clip.key)) {
      *error = "Records[" + std::to_string(i) + "] has a malformed URL-encoded key '" +
               printable(encoded, 120) + "'";
      return false;
    }
    if (!valid_key(clip.key, error))
      return false;
    out->clips.push_back(std::move(clip));
  }
  return true;
}

}  // namespace

std::string printable(std::string_view text, std::size_t max_len) {
  std::string out;
  for (unsigned char c : text) {
    if (out.size() >= max_len) {
      out += "...";
      break;
    }
    if (c < 0x20 || c == 0x7f) {
      char buf[8];
      g_snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

bool url_decode_event_key(std::string_view encoded, std::string *out) {
  std::string result;
  result.reserve(encoded.size());
  for (std::size_t i = 0; i < encoded.size(); i++) {
    char c = encoded[i];
    if (c == '+') {
      result += ' ';
    } else if (c == '%') {
      if (i + 2 >= encoded.size())
        return false;
      int hi = hex_value(encoded[i + 1]);
      int lo = hex_value(encoded[i + 2]);
      if (hi < 0 || lo < 0)
        return false;
      char byte = static_cast<char>(hi * 16 + lo);
      if (byte == '\0')
        return false;
      result += byte;
      i += 2;
    } else if (c == '\0') {
      return false;
    } else {
      result += c;
    }
  }
  *out = std::move(result);
  return true;
}

bool parse_job_message(std::string_view body, JobMessage *out, std::string *error) {
  *out = JobMessage();
  if (body.empty()) {
    *error = "the message body is empty";
    return false;
  }
  if (body.size() > (1u << 20)) {
    *error = "the message body is larger than 1 MiB";
    return false;
  }
  std::unique_ptr<JsonParser, GObjectUnref> parser(json_parser_new_immutable());
  GError *gerror = nullptr;
  if (!json_parser_load_from_data(parser.get(), body.data(), static_cast<gssize>(body.size()),
                                  &gerror)) {
    *error = std::string("the message is not JSON: ") + printable(gerror->message, 160);
    g_error_free(gerror);
    return false;
  }
  JsonNode *root = json_parser_get_root(parser.get());
  if (root == nullptr || !JSON_NODE_HOLDS_OBJECT(root)) {
    *error = "the message is not a JSON object";
    return false;
  }
  JsonObject *object = json_node_get_object(root);
  if (json_object_has_member(object, "Records")) {
    JsonNode *records = json_object_get_member(object, "Records");
    if (!JSON_NODE_HOLDS_ARRAY(records)) {
      *error = "Records is not an array";
      return false;
    }
    if (parse_records(json_node_get_array(records), out, error))
      return true;
    *out = JobMessage();  // a bad record spoils the message: no clip of it is half-taken
    return false;
  }
  if (const char *event = string_member(object, "Event")) {
    if (std::string_view(event) == "s3:TestEvent")
      return true;  // MinIO/AWS send one when a notification is configured
  }
  if (json_object_has_member(object, "key")) {
    const char *key = string_member(object, "key");
    if (key == nullptr) {
      *error = "\"key\" is not a string";
      return false;
    }
    ClipRef clip;
    clip.key = key;
    if (json_object_has_member(object, "bucket")) {
      const char *bucket = string_member(object, "bucket");
      if (bucket == nullptr) {
        *error = "\"bucket\" is not a string";
        return false;
      }
      clip.bucket = bucket;
    }
    if (!valid_key(clip.key, error))
      return false;
    out->clips.push_back(std::move(clip));
    return true;
  }
  *error = "the message has neither \"Records\" (S3 event) nor \"key\" (clip job)";
  return false;
}

std::string make_job_message(const std::string &bucket, const std::string &key) {
  std::unique_ptr<JsonBuilder, GObjectUnref> builder(json_builder_new());
  json_builder_begin_object(builder.get());
  json_builder_set_member_name(builder.get(), "bucket");
  json_builder_add_string_value(builder.get(), bucket.c_str());
  json_builder_set_member_name(builder.get(), "key");
  json_builder_add_string_value(builder.get(), key.c_str());
  json_builder_end_object(builder.get());
  JsonNode *root = json_builder_get_root(builder.get());
  std::unique_ptr<JsonGenerator, GObjectUnref> generator(json_generator_new());
  json_generator_set_root(generator.get(), root);
  std::unique_ptr<gchar, GFreeDeleter> text(json_generator_to_data(generator.get(), nullptr));
  json_node_unref(root);
  return text.get();
}

}  // namespace heatmap_worker
