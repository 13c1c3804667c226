// viewer-json.h: the few json-glib helpers the viewer's API needs (RAII, parse, print).
#pragma once

#include <glib-object.h>
#include <json-glib/json-glib.h>

#include <cmath>
#include <memory>
#include <optional>
#include <string>

#include "json-text.h"

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

// A member that is a JSON number (a sidecar from the bucket may hold anything under any name).
inline std::optional<double> number_member(JsonObject *o, const char *key) {
  JsonNode *n = json_object_get_member(o, key);
  if (!n || !JSON_NODE_HOLDS_VALUE(n))
    return std::nullopt;
  GType t = json_node_get_value_type(n);
  if (t != G_TYPE_DOUBLE && t != G_TYPE_INT64)
    return std::nullopt;
  double v = json_node_get_double(n);
  return std::isfinite(v) ? std::optional<double>(v) : std::nullopt;
}

// The compact JSON text of a node (doubles as short as they read back: core/json-text).
inline std::string to_text(JsonNode *node) {
  return heatmap::json_text(node, false);
}

}  // namespace viewer
