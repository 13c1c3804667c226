// fuzz-sidecar.cpp: libFuzzer target for the JSON sidecar reader (gst-heatmap/core/sidecar):
// heatmap-aggregate and the viewer read sidecars from the bucket, so their bytes are untrusted.
// Either the text parses, or the error is one line "sidecar.json: <problem>" with no control
// character. What parses serialises again (sidecar_to_json), that text parses, and serialising it
// once more gives the same text; the zones CSV can be made from it.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "fuzz-util.h"
#include "sidecar.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  const std::string text(reinterpret_cast<const char *>(data), size);
  heatmap::Sidecar sidecar;
  std::string error;
  if (!heatmap::parse_sidecar(text, "sidecar.json", &sidecar, &error)) {
    if (!one_clean_line(error, "sidecar.json"))
      std::abort();
    return 0;
  }
  if (sidecar.width < 1 || sidecar.height < 1 || sidecar.width > 65535 || sidecar.height > 65535)
    std::abort();
  if (sidecar.kind != "clip" && sidecar.kind != "window")
    std::abort();

  // A parsed sidecar is written back (heatmap-aggregate keeps unknown keys this way).
  const std::string first = heatmap::sidecar_to_json(sidecar);
  heatmap::Sidecar again;
  if (!heatmap::parse_sidecar(first, "sidecar.json", &again, &error))
    std::abort();
  if (heatmap::sidecar_to_json(again) != first)
    std::abort();
  heatmap::zones_csv(again);
  return 0;
}
