// viewer-compare.h: two periods for the viewer's compare view: A and B drawn at one colour scale
// beside the diverging map of heatmap-aggregate, rendered on request and cached in the bucket.
#pragma once

#include <stdexcept>
#include <string>

#include "s3-client.h"
#include "viewer-paths.h"

namespace viewer {

// A period id: 2025-10-20T13 (hour), 2025-10-20 (day), 2025-W43 (ISO week), 2025-10 (month).
// Returns the key stem of its rollup (e.g. heatmaps/2025/10/20/day_heatmap), or "" when the
// text is not a period id.
std::string rollup_stem(const Layout &layout, const std::string &period_id);

// A period that has no rollup (yet): the caller answers 404.
class NoSuchPeriod : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The compare view's JSON: {"a", "b", "a_jpeg", "b_jpeg", "diff_jpeg" (keys relative to the
// heatmaps prefix), "scale_top", "resampled", "zones": [{"name", "a", "b", "delta"}] (mean
// activity), "comparison" (heatmap-aggregate's compare JSON), "sources" (ETags of the inputs)}.
// The pictures and this JSON live under <heatmaps>compare/A_vs_B*; they are reused while the
// four inputs (A's and B's PNG and JSON) keep their ETags, and rendered again otherwise.
// Throws NoSuchPeriod, s3::Error, or heatmap::aggregate::InputError for unusable inputs.
std::string compare_json(s3::Bucket &bucket, const s3::Config &config, const Layout &layout,
                         const std::string &a, const std::string &b);

}  // namespace viewer
