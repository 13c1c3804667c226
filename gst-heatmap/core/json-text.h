// json-text.h: JSON text of a json-glib tree with numbers as people write them.
#pragma once

#include <json-glib/json-glib.h>

#include <string>

namespace heatmap {

// json-glib prints every double with 17 significant digits ("duration_s": 1.6000000000000001).
// This prints the tree the same way (pretty with an indent of one space, or compact), then
// writes each double with the fewest digits that read back to the same double (1.6), keeping a
// decimal point or exponent so that it stays a double for readers that care (25.0).
std::string json_text(JsonNode *root, bool pretty);

// The shortest text of v that reads back to v with g_ascii_strtod, locale-independent.
std::string shortest_double(double v);

}  // namespace heatmap
