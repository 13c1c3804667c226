// viewer-json.h: the few json-glib helpers the viewer's API needs (RAII, parse, print).
#pragma once

#include <glib-object.h>
#include <json-glib/json-glib.h>

#include <memory>
#include <string>

namespace viewer {

struct GObjectDeleter {
  void operator()(gpointer p) const { g_object_unref(p); }
};
template <typename T>
using GPtr = std::unique_ptr<T, GObjectDeleter>;

// A copy of the document's root when text is a JSON object, else nullptr (caller unrefs).
inline JsonNode *parse_object(const std::string &text) {
  GPtr<JsonParser> parser(json_parser_new());
  if (!json_parser_load_from_data(parser.get(), text.data(), static_cast<gssize>(text.size()),
                                  nullptr))
    return nullptr;
  JsonNode *root = json_parser_get_root(parser.get());
  return root && JSON_NODE_HOLDS_OBJECT(root) ? json_node_copy(root) : nullptr;
}

// The compact JSON text of a node.
inline std::string to_text(JsonNode *node) {
  GPtr<JsonGenerator> gen(json_generator_new());
  json_generator_set_root(gen.get(), node);
  gchar *text = json_generator_to_data(gen.get(), nullptr);
  std::string out(text);
  g_free(text);
  return out;
}

}  // namespace viewer
