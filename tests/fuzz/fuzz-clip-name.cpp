// fuzz-clip-name.cpp: libFuzzer target for the migration's clip-name and date parser and key
// mapping (s3src-helper/layout/s3-migrate): a name that parses maps to a dated key that is
// itself recognised as dated, with a real date; a plan over arbitrary keys never moves a key
// outside its prefix, onto itself, or onto another flat key's destination.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "s3-migrate.h"

namespace mig = s3::migrate;

namespace {

bool valid_time(const mig::ClipTime &t) {
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return t.year >= 1000 && t.year <= 9999 && t.month >= 1 && t.month <= 12 && t.day >= 1 &&
         t.day <= kDays[t.month - 1] && t.hour >= 0 && t.hour <= 23 && t.minute >= 0 &&
         t.minute <= 59 && t.second >= 0 && t.second <= 59;
}

void check_name(std::string_view name, mig::Area area, const std::string &prefix) {
  std::optional<mig::ClipTime> t = mig::parse_clip_name(name, area);
  if (!t)
    return;
  if (!valid_time(*t) || name.find('/') != std::string_view::npos)
    std::abort();
  // The stamp in the name is the one parsed.
  char stamp[64];
  std::snprintf(stamp, sizeof stamp, "clip_%04d-%02d-%02d_%02d-%02d-%02d", t->year, t->month,
                t->day, t->hour, t->minute, t->second);
  if (name.substr(0, 24) != stamp)
    std::abort();
  const std::string key = prefix + std::string(name);
  mig::KeyClass flat = mig::classify_key(key, prefix, area);
  if (flat.kind != mig::KeyClass::Kind::kFlat ||
      flat.dated_key != prefix + mig::dated_folder(*t) + std::string(name))
    std::abort();
  mig::KeyClass dated = mig::classify_key(flat.dated_key, prefix, area);
  if (dated.kind != mig::KeyClass::Kind::kDated || dated.dated_key != flat.dated_key)
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  const std::string text(reinterpret_cast<const char *>(data), size);
  check_name(text, mig::Area::kVideos, "raw_videos/");
  check_name(text, mig::Area::kHeatmaps, "heatmaps/");
  check_name(text, mig::Area::kVideos, "");

  // Every line is a key of one listing holding both areas.
  std::vector<s3::ObjectInfo> objects;
  std::set<std::string> seen;  // a listing names each key once
  std::size_t start = 0;
  while (start <= text.size() && objects.size() < 200) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos)
      end = text.size();
    s3::ObjectInfo o;
    o.key = text.substr(start, end - start);
    o.size = o.key.size() % 3;
    o.etag = (o.key.size() % 2) ? "0cc175b9c0f1b6a831c399e269772661" : "x-1";
    if (seen.insert(o.key).second)
      objects.push_back(o);
    start = end + 1;
  }
  mig::Layout layout;
  try {
    layout = layout.normalized();
  } catch (const s3::Error &) {
    std::abort();
  }
  mig::Plan plan = mig::make_plan(layout, objects, objects);
  std::set<std::string> destinations;
  for (const mig::Item &item : plan.items) {
    const bool flat = item.action == mig::Action::kCopy || item.action == mig::Action::kCopied ||
                      item.action == mig::Action::kCheck || item.action == mig::Action::kConflict;
    if (!flat)
      continue;
    const std::string &prefix =
        item.area == mig::Area::kVideos ? layout.videos_prefix : layout.heatmaps_prefix;
    if (item.dest_key == item.key || item.dest_key.compare(0, prefix.size(), prefix) != 0 ||
        !destinations.insert(item.dest_key).second)
      std::abort();
  }
  (void)mig::summarize_plan(plan);
  return 0;
}
