// rollups.h: the rollup periods (hour, day, ISO week, month), their keys, and which periods a
// clip touches; shared by the batch, the worker, heatmap-aggregate and the viewer. No I/O.
#pragma once

// Keys, all under the heatmaps prefix P (e.g. "heatmaps/"), all times UTC as the clip names:
//   clip outputs  P YYYY/MM/DD/HH/clip_YYYY-MM-DD_HH-MM-SS_heatmap.{jpg,png,json,csv}, _scene.jpg
//   hour          P YYYY/MM/DD/HH/hour_heatmap.{jpg,png,json}   built from the hour's clips
//   day           P YYYY/MM/DD/day_heatmap.{jpg,png,json}       built from its 24 hours
//   ISO week      P weeks/YYYY-Www_heatmap.{jpg,png,json}       built from its 7 days
//   month         P YYYY/MM/month_heatmap.{jpg,png,json}        built from its days
// A clip belongs to the hour of its folder (a clip starting at 13:58 counts wholly in 13:00).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace s3::rollups {

enum class Kind { kHour = 0, kDay = 1, kWeek = 2, kMonth = 3 };

const char *kind_name(Kind kind);  // "hour", "day", "week", "month"
std::optional<Kind> parse_kind(std::string_view name);

// Which kinds to compute, e.g. from ROLLUPS=hour,day,week,month.
struct Kinds {
  bool hour = true, day = true, week = true, month = true;
  bool has(Kind kind) const;
  bool any() const { return hour || day || week || month; }
  std::string str() const;  // "hour,day,week,month"
};
// Parses a comma-separated list ("" or "none" = no rollups, "all" = every kind). Every kind
// needs the one it is built from: day needs hour, week and month need day. Throws
// std::invalid_argument with a one-line message naming the bad word.
Kinds parse_kinds(std::string_view text);

struct Period {
  Kind kind = Kind::kHour;
  int year = 0;   // calendar year; for weeks the ISO week-numbering year
  int month = 0;  // 1-12 (hour, day, month)
  int day = 0;    // 1-31 (hour, day)
  int hour = 0;   // 0-23 (hour)
  int week = 0;   // 1-53 (week)

  static Period hour_of(int year, int month, int day, int hour);
  static Period day_of(int year, int month, int day);
  static Period week_of(int iso_year, int week);
  static Period month_of(int year, int month);

  // "2025-10-20T13" (hour), "2025-10-20" (day), "2026-W01" (week), "2025-10" (month).
  std::string id() const;
  // Seconds since the epoch (UTC) of the first second in the period and of the one after it.
  std::int64_t start() const;
  std::int64_t end() const;
  bool operator==(const Period &o) const;
  bool operator<(const Period &o) const;  // by kind (hours first), then by time
};

// Parses "KIND:ID" or a bare ID (its form gives the kind): "2025-10-20T13", "2025-10-20",
// "2026-W01", "2025-10". The date must exist (ISO weeks: W53 only in years that have one).
std::optional<Period> parse_period(std::string_view text);

// The day, ISO week and month containing a day (or hour).
Period day_containing(const Period &p);
Period week_containing(const Period &p);
Period month_containing(const Period &p);

// The periods a rollup is built from: a day's 24 hours, a week's 7 days, a month's days.
// An hour has none (its sources are the clips in its folder).
std::vector<Period> children(const Period &p);

// Days per month (leap years included); ISO weeks in an ISO year (52 or 53).
int days_in_month(int year, int month);
int iso_weeks_in_year(int iso_year);

// Where a rollup lives: the key without ".jpg"/".png"/".json", prefix included
// ("heatmaps/2025/10/20/13/hour_heatmap"). The prefix gets a '/' added when it lacks one.
std::string stem_key(std::string_view heatmaps_prefix, const Period &p);
// The folder of an hour's clip outputs: "heatmaps/2025/10/20/13/".
std::string hour_folder(std::string_view heatmaps_prefix, const Period &hour);

// The hour of a clip key: a video key under the videos prefix or a clip output key under the
// heatmaps prefix, i.e. PREFIX + YYYY/MM/DD/HH/clip_YYYY-MM-DD_HH-... whose name agrees with
// its folder. nullopt for anything else (rollup keys included).
std::optional<Period> hour_of_clip_key(std::string_view key, std::string_view prefix);

// The rollups to update after the given clips changed, ordered so that every period comes after
// the periods it is built from (hours, then days, then weeks and months). Keys that are not
// clip keys under either prefix are ignored.
std::vector<Period> periods_touched_by(const std::vector<std::string> &clip_keys,
                                       std::string_view videos_prefix,
                                       std::string_view heatmaps_prefix, const Kinds &kinds = {});

// True for a key (relative to the heatmaps prefix or not) whose name is a rollup output:
// hour_heatmap.*, day_heatmap.*, month_heatmap.* or weeks/YYYY-Www_heatmap.*.
bool is_rollup_key(std::string_view key);

// ISO 8601 UTC text of a time in seconds since the epoch: "2025-10-20T13:00:00Z".
std::string iso8601(std::int64_t t);
// Parses "YYYY-MM-DDTHH:MM:SS[.fff]Z" (also "+00:00"); nullopt otherwise.
std::optional<double> parse_iso8601(std::string_view text);

}  // namespace s3::rollups
