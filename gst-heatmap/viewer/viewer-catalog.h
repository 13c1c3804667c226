// viewer-catalog.h: the viewer's JSON API: which months, days, hours and clips have heatmaps,
// read from bucket listings (no GStreamer, no HTTP). Each call makes a bounded number of requests.
#pragma once

#include <string>

#include "s3-client.h"
#include "viewer-paths.h"

namespace viewer {

// {"months": ["2025-10", ...], "weeks": ["2025-W43", ...]}: the periods with anything under the
// heatmaps prefix (two or three delimiter listings).
std::string months_json(s3::Bucket &bucket, const Layout &layout);

// {"month": "2025-10", "has_map": bool, "days": [{"day": "2025-10-20", "has_map": bool,
//  "hours_observed": N, "seconds_observed": S, "partial": bool}, ...]}
// A day's coverage comes from its day sidecar when there is one, else from the hours listed.
// "partial" marks a day observed for less than 95 % of its 24 hours.
std::string month_json(s3::Bucket &bucket, const Layout &layout, int year, int month);

// {"day": "2025-10-20", "has_map": bool, "hours": [{"hour": 0..23, "has_map": bool,
//  "clips": [{"name": "clip_..._heatmap", "jpeg": rel, "json": rel|null, "png": rel|null,
//  "scene": rel|null, "csv": rel|null}]}, ...24]}; rel = key relative to the heatmaps prefix,
// as served under /file/.
std::string day_json(s3::Bucket &bucket, const Layout &layout, int year, int month, int day);

// Parses "YYYY-MM" / "YYYY-MM-DD" (real calendar dates only); false on anything else.
bool parse_month_id(const std::string &id, int *year, int *month);
bool parse_day_id(const std::string &id, int *year, int *month, int *day);

}  // namespace viewer
