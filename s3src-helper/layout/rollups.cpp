// rollups.cpp: rollup periods, their keys, and the periods a clip touches.
#include "rollups.h"

#include <algorithm>
#include <cstdio>
#include <set>
#include <stdexcept>
#include <tuple>

namespace s3::rollups {
namespace {

bool starts_with(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.compare(0, p.size(), p) == 0;
}

// Days since 1970-01-01 of a civil date (H. Hinnant's days_from_civil).
std::int64_t days_from_civil(int y, int m, int d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civil_from_days(std::int64_t z, int *y, int *m, int *d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  *m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  *y = static_cast<int>(yoe + era * 400 + (*m <= 2));
}

// ISO weekday, Monday = 1 ... Sunday = 7.
int iso_weekday(std::int64_t days) {
  std::int64_t w = (days + 3) % 7;  // 1970-01-01 was a Thursday (3 with Monday = 0)
  if (w < 0)
    w += 7;
  return static_cast<int>(w) + 1;
}

// Days since the epoch of the Monday of ISO week 1 of iso_year (the week with January 4th).
std::int64_t iso_week1_monday(int iso_year) {
  std::int64_t jan4 = days_from_civil(iso_year, 1, 4);
  return jan4 - (iso_weekday(jan4) - 1);
}

bool parse_digits(std::string_view s, std::size_t pos, std::size_t n, int *out) {
  if (pos + n > s.size())
    return false;
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9')
      return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

bool valid_date(int y, int m, int d) {
  return y >= 1000 && y <= 9999 && m >= 1 && m <= 12 && d >= 1 && d <= days_in_month(y, m);
}

std::string with_slash(std::string_view prefix) {
  std::string p(prefix);
  if (!p.empty() && p.back() != '/')
    p.push_back('/');
  return p;
}

}  // namespace

const char *kind_name(Kind kind) {
  switch (kind) {
    case Kind::kHour:
      return "hour";
    case Kind::kDay:
      return "day";
    case Kind::kWeek:
      return "week";
    case Kind::kMonth:
      return "month";
  }
  return "?";
}

std::optional<Kind> parse_kind(std::string_view name) {
  for (Kind k : {Kind::kHour, Kind::kDay, Kind::kWeek, Kind::kMonth}) {
    if (name == kind_name(k))
      return k;
  }
  return std::nullopt;
}

bool Kinds::has(Kind kind) const {
  switch (kind) {
    case Kind::kHour:
      return hour;
    case Kind::kDay:
      return day;
    case Kind::kWeek:
      return week;
    case Kind::kMonth:
      return month;
  }
  return false;
}

std::string Kinds::str() const {
  std::string out;
  for (Kind k : {Kind::kHour, Kind::kDay, Kind::kWeek, Kind::kMonth}) {
    if (has(k))
      out += std::string(out.empty() ? "" : ",") + kind_name(k);
  }
  return out.empty() ? "none" : out;
}

Kinds parse_kinds(std::string_view text) {
  Kinds kinds{false, false, false, false};
  if (text == "all")
    return Kinds{};
  if (text.empty() || text == "none")
    return kinds;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t comma = text.find(',', pos);
    std::string_view word =
        text.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    while (!word.empty() && word.front() == ' ')
      word.remove_prefix(1);
    while (!word.empty() && word.back() == ' ')
      word.remove_suffix(1);
    std::optional<Kind> k = parse_kind(word);
    if (!k) {
      throw std::invalid_argument("unknown rollup '" + std::string(word) +
                                  "': use a comma-separated list of hour, day, week, month");
    }
    switch (*k) {
      case Kind::kHour:
        kinds.hour = true;
        break;
      case Kind::kDay:
        kinds.day = true;
        break;
      case Kind::kWeek:
        kinds.week = true;
        break;
      case Kind::kMonth:
        kinds.month = true;
        break;
    }
    if (comma == std::string_view::npos)
      break;
    pos = comma + 1;
  }
  if (kinds.day && !kinds.hour)
    throw std::invalid_argument("rollup 'day' needs 'hour' (days are built from hours)");
  if ((kinds.week || kinds.month) && !kinds.day)
    throw std::invalid_argument(std::string("rollup '") + (kinds.week ? "week" : "month") +
                                "' needs 'day' (weeks and months are built from days)");
  return kinds;
}

int days_in_month(int year, int month) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12)
    return 0;
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return kDays[month - 1] + (month == 2 && leap ? 1 : 0);
}

int iso_weeks_in_year(int iso_year) {
  return static_cast<int>((iso_week1_monday(iso_year + 1) - iso_week1_monday(iso_year)) / 7);
}

Period Period::hour_of(int year, int month, int day, int hour) {
  Period p;
  p.kind = Kind::kHour;
  p.year = year;
  p.month = month;
  p.day = day;
  p.hour = hour;
  return p;
}

Period Period::day_of(int year, int month, int day) {
  Period p = hour_of(year, month, day, 0);
  p.kind = Kind::kDay;
  return p;
}

Period Period::week_of(int iso_year, int week) {
  Period p;
  p.kind = Kind::kWeek;
  p.year = iso_year;
  p.week = week;
  return p;
}

Period Period::month_of(int year, int month) {
  Period p;
  p.kind = Kind::kMonth;
  p.year = year;
  p.month = month;
  return p;
}

std::string Period::id() const {
  char buf[32];
  switch (kind) {
    case Kind::kHour:
      std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d", year, month, day, hour);
      break;
    case Kind::kDay:
      std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", year, month, day);
      break;
    case Kind::kWeek:
      std::snprintf(buf, sizeof buf, "%04d-W%02d", year, week);
      break;
    case Kind::kMonth:
      std::snprintf(buf, sizeof buf, "%04d-%02d", year, month);
      break;
  }
  return buf;
}

std::int64_t Period::start() const {
  switch (kind) {
    case Kind::kHour:
      return days_from_civil(year, month, day) * 86400 + hour * 3600;
    case Kind::kDay:
      return days_from_civil(year, month, day) * 86400;
    case Kind::kWeek:
      return (iso_week1_monday(year) + (week - 1) * 7) * 86400;
    case Kind::kMonth:
      return days_from_civil(year, month, 1) * 86400;
  }
  return 0;
}

std::int64_t Period::end() const {
  switch (kind) {
    case Kind::kHour:
      return start() + 3600;
    case Kind::kDay:
      return start() + 86400;
    case Kind::kWeek:
      return start() + 7 * 86400;
    case Kind::kMonth:
      return start() + std::int64_t{days_in_month(year, month)} * 86400;
  }
  return 0;
}

bool Period::operator==(const Period &o) const {
  return kind == o.kind && year == o.year && month == o.month && day == o.day && hour == o.hour &&
         week == o.week;
}

bool Period::operator<(const Period &o) const {
  return std::make_tuple(static_cast<int>(kind), start()) <
         std::make_tuple(static_cast<int>(o.kind), o.start());
}

std::optional<Period> parse_period(std::string_view text) {
  std::optional<Kind> want;
  std::size_t colon = text.find(':');
  if (colon != std::string_view::npos && colon <= 5) {
    want = parse_kind(text.substr(0, colon));
    if (!want)
      return std::nullopt;
    text.remove_prefix(colon + 1);
  }
  int y = 0, m = 0, d = 0, h = 0, w = 0;
  std::optional<Period> p;
  if (text.size() == 13 && text[4] == '-' && text[7] == '-' && text[10] == 'T' &&
      parse_digits(text, 0, 4, &y) && parse_digits(text, 5, 2, &m) &&
      parse_digits(text, 8, 2, &d) && parse_digits(text, 11, 2, &h) && valid_date(y, m, d) &&
      h <= 23) {
    p = Period::hour_of(y, m, d, h);
  } else if (text.size() == 10 && text[4] == '-' && text[7] == '-' &&
             parse_digits(text, 0, 4, &y) && parse_digits(text, 5, 2, &m) &&
             parse_digits(text, 8, 2, &d) && valid_date(y, m, d)) {
    p = Period::day_of(y, m, d);
  } else if (text.size() == 8 && text[4] == '-' && text[5] == 'W' && parse_digits(text, 0, 4, &y) &&
             parse_digits(text, 6, 2, &w) && y >= 1000 && w >= 1 && w <= iso_weeks_in_year(y)) {
    p = Period::week_of(y, w);
  } else if (text.size() == 7 && text[4] == '-' && parse_digits(text, 0, 4, &y) &&
             parse_digits(text, 5, 2, &m) && valid_date(y, m, 1)) {
    p = Period::month_of(y, m);
  }
  if (p && want && p->kind != *want)
    return std::nullopt;
  return p;
}

Period day_containing(const Period &p) {
  if (p.kind == Kind::kWeek || p.kind == Kind::kMonth)
    throw std::invalid_argument("day_containing() needs an hour or a day");
  return Period::day_of(p.year, p.month, p.day);
}

Period week_containing(const Period &p) {
  if (p.kind == Kind::kWeek)
    return p;
  if (p.kind == Kind::kMonth)
    throw std::invalid_argument("week_containing() needs an hour or a day");
  std::int64_t days = days_from_civil(p.year, p.month, p.day);
  std::int64_t thursday = days + (4 - iso_weekday(days));
  int ty = 0, tm = 0, td = 0;
  civil_from_days(thursday, &ty, &tm, &td);
  int week = static_cast<int>((thursday - iso_week1_monday(ty)) / 7) + 1;
  return Period::week_of(ty, week);
}

Period month_containing(const Period &p) {
  if (p.kind == Kind::kWeek)
    throw std::invalid_argument("month_containing() needs an hour, a day or a month");
  return Period::month_of(p.year, p.month);
}

std::vector<Period> children(const Period &p) {
  std::vector<Period> out;
  switch (p.kind) {
    case Kind::kHour:
      break;
    case Kind::kDay:
      for (int h = 0; h < 24; ++h)
        out.push_back(Period::hour_of(p.year, p.month, p.day, h));
      break;
    case Kind::kWeek: {
      std::int64_t monday = p.start() / 86400;
      for (int i = 0; i < 7; ++i) {
        int y = 0, m = 0, d = 0;
        civil_from_days(monday + i, &y, &m, &d);
        out.push_back(Period::day_of(y, m, d));
      }
      break;
    }
    case Kind::kMonth:
      for (int d = 1; d <= days_in_month(p.year, p.month); ++d)
        out.push_back(Period::day_of(p.year, p.month, d));
      break;
  }
  return out;
}

std::string stem_key(std::string_view heatmaps_prefix, const Period &p) {
  std::string key = with_slash(heatmaps_prefix);
  char buf[48];
  switch (p.kind) {
    case Kind::kHour:
      std::snprintf(buf, sizeof buf, "%04d/%02d/%02d/%02d/hour_heatmap", p.year, p.month, p.day,
                    p.hour);
      break;
    case Kind::kDay:
      std::snprintf(buf, sizeof buf, "%04d/%02d/%02d/day_heatmap", p.year, p.month, p.day);
      break;
    case Kind::kWeek:
      std::snprintf(buf, sizeof buf, "weeks/%04d-W%02d_heatmap", p.year, p.week);
      break;
    case Kind::kMonth:
      std::snprintf(buf, sizeof buf, "%04d/%02d/month_heatmap", p.year, p.month);
      break;
  }
  return key + buf;
}

std::string hour_folder(std::string_view heatmaps_prefix, const Period &hour) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d/%02d/%02d/%02d/", hour.year, hour.month, hour.day,
                hour.hour);
  return with_slash(heatmaps_prefix) + buf;
}

std::optional<Period> hour_of_clip_key(std::string_view key, std::string_view prefix) {
  std::string p = with_slash(prefix);
  if (!starts_with(key, p))
    return std::nullopt;
  std::string_view rest = key.substr(p.size());
  // YYYY/MM/DD/HH/clip_YYYY-MM-DD_HH-MM-SS...
  int y = 0, m = 0, d = 0, h = 0;
  if (rest.size() < 14 + 5 + 19 || rest[4] != '/' || rest[7] != '/' || rest[10] != '/' ||
      rest[13] != '/' || !parse_digits(rest, 0, 4, &y) || !parse_digits(rest, 5, 2, &m) ||
      !parse_digits(rest, 8, 2, &d) || !parse_digits(rest, 11, 2, &h) || !valid_date(y, m, d) ||
      h > 23) {
    return std::nullopt;
  }
  std::string_view name = rest.substr(14);
  if (name.find('/') != std::string_view::npos || !starts_with(name, "clip_"))
    return std::nullopt;
  char stamp[64];
  std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02d_%02d", y, m, d, h);
  int mi = 0, s = 0;
  if (!starts_with(name.substr(5), stamp) || name[18] != '-' || name[21] != '-' ||
      !parse_digits(name, 19, 2, &mi) || !parse_digits(name, 22, 2, &s) || mi > 59 || s > 59) {
    return std::nullopt;
  }
  return Period::hour_of(y, m, d, h);
}

std::vector<Period> periods_touched_by(const std::vector<std::string> &clip_keys,
                                       std::string_view videos_prefix,
                                       std::string_view heatmaps_prefix, const Kinds &kinds) {
  std::set<Period> out;
  for (const std::string &key : clip_keys) {
    // The heatmaps prefix first: it may lie inside the videos prefix.
    std::optional<Period> hour = hour_of_clip_key(key, heatmaps_prefix);
    if (!hour)
      hour = hour_of_clip_key(key, videos_prefix);
    if (!hour)
      continue;
    if (kinds.hour)
      out.insert(*hour);
    if (kinds.day)
      out.insert(day_containing(*hour));
    if (kinds.week)
      out.insert(week_containing(*hour));
    if (kinds.month)
      out.insert(month_containing(*hour));
  }
  return {out.begin(), out.end()};
}

bool is_rollup_key(std::string_view key) {
  std::size_t slash = key.rfind('/');
  std::string_view name = slash == std::string_view::npos ? key : key.substr(slash + 1);
  std::size_t dot = name.rfind('.');
  if (dot == std::string_view::npos)
    return false;
  std::string_view stem = name.substr(0, dot);
  if (stem == "hour_heatmap" || stem == "day_heatmap" || stem == "month_heatmap")
    return true;
  // weeks/YYYY-Www_heatmap
  std::string_view folder =
      slash == std::string_view::npos ? std::string_view{} : key.substr(0, slash);
  bool in_weeks =
      folder == "weeks" || (folder.size() > 6 && folder.substr(folder.size() - 6) == "/weeks");
  int y = 0, w = 0;
  return in_weeks && stem.size() == 16 && stem.substr(8) == "_heatmap" && stem[4] == '-' &&
         stem[5] == 'W' && parse_digits(stem, 0, 4, &y) && parse_digits(stem, 6, 2, &w);
}

std::string iso8601(std::int64_t t) {
  std::int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
  std::int64_t secs = t - days * 86400;
  int y = 0, m = 0, d = 0;
  civil_from_days(days, &y, &m, &d);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d,
                static_cast<int>(secs / 3600), static_cast<int>(secs / 60 % 60),
                static_cast<int>(secs % 60));
  return buf;
}

std::optional<double> parse_iso8601(std::string_view text) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  if (text.size() < 20 || text[4] != '-' || text[7] != '-' ||
      (text[10] != 'T' && text[10] != ' ') || text[13] != ':' || text[16] != ':' ||
      !parse_digits(text, 0, 4, &y) || !parse_digits(text, 5, 2, &mo) ||
      !parse_digits(text, 8, 2, &d) || !parse_digits(text, 11, 2, &h) ||
      !parse_digits(text, 14, 2, &mi) || !parse_digits(text, 17, 2, &s) || !valid_date(y, mo, d) ||
      h > 23 || mi > 59 || s > 60) {
    return std::nullopt;
  }
  std::size_t pos = 19;
  double frac = 0.0;
  if (pos < text.size() && text[pos] == '.') {
    double scale = 0.1;
    ++pos;
    std::size_t digits = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      frac += (text[pos] - '0') * scale;
      scale /= 10;
      ++pos;
      ++digits;
    }
    if (digits == 0)
      return std::nullopt;
  }
  std::string_view zone = text.substr(pos);
  if (zone != "Z" && zone != "+00:00")
    return std::nullopt;
  return static_cast<double>(days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s) + frac;
}

}  // namespace s3::rollups
