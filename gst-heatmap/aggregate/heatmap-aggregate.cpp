// heatmap-aggregate.cpp: the command line: rollups in a bucket, aggregates of a prefix, and
// comparisons of two aggregates.
#include <glib.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "cli.h"
#include "rollup.h"

namespace {

namespace agg = heatmap::aggregate;
namespace ru = s3::rollups;

constexpr int kExitOk = 0, kExitFailure = 1, kExitUsage = 2;

const char kHelp[] =
    "Usage: heatmap-aggregate rollup BUCKET [--period P]... [--clip KEY]... [--clips-from F]\n"
    "                                [--all] [--rollups LIST] [--force] [--dry-run] [--quiet]\n"
    "       heatmap-aggregate prefix BUCKET_URL/PREFIX --out STEM\n"
    "       heatmap-aggregate compare A B --out STEM\n"
    "       heatmap-aggregate periods KEY...\n"
    "\n"
    "Adds clip heatmaps up into maps of the share of observed time in which each pixel moved\n"
    "(counts / frames processed, each frame weighted by the time it stands for; see\n"
    "docs/aggregation.md). BUCKET is s3://bucket, file:///folder or a folder.\n"
    "\n"
    "rollup: brings hour, day, ISO week and month heatmaps up to date, each next to its clips:\n"
    "    heatmaps/YYYY/MM/DD/HH/hour_heatmap.{jpg,png,json}   (from the hour's clips)\n"
    "    heatmaps/YYYY/MM/DD/day_heatmap.*  (from hours)   heatmaps/YYYY/MM/month_heatmap.*\n"
    "    heatmaps/weeks/YYYY-Www_heatmap.*  (ISO weeks, from days)\n"
    "  A rollup whose sources (keys + ETags in its JSON) did not change is not rewritten.\n"
    "  --period P         this period only: hour:2025-10-20T13, day:2025-10-20, week:2026-W01,\n"
    "                     month:2025-10 (the kind may be left out); repeatable\n"
    "  --clip KEY         the hour, day, week and month of this clip (video or heatmap key)\n"
    "  --clips-from F     the same for each line of F ('-' = stdin)\n"
    "  --all              every period that has clips (lists the whole heatmaps prefix)\n"
    "  --rollups LIST     kinds to update for --clip/--all: hour,day,week,month (default;\n"
    "                     ROLLUPS in the environment), 'none'\n"
    "  --videos-prefix P  default raw_videos/ (S3_VIDEOS_PREFIX)\n"
    "  --heatmaps-prefix P  default heatmaps/ (S3_HEATMAPS_PREFIX)\n"
    "  --force            rewrite even when nothing changed\n"
    "  --dry-run          read and decide, write nothing\n"
    "  --quiet            only the summary line\n"
    "  Output: a line per period, then 'rollups: written N, unchanged N, empty N, failed N ...'.\n"
    "\n"
    "prefix: aggregates every finished clip under a prefix into STEM.jpg, STEM.png, STEM.json.\n"
    "compare: B - A as a diverging map over the scene (red: more activity than A, blue: less)\n"
    "  into STEM.jpg and STEM.json (overall and per-zone deltas). A and B: URL or path of an\n"
    "  aggregate's (or a clip heatmap's) .json, .png or stem.\n"
    "periods: prints the rollups the given clip keys touch, children first.\n"
    "\n"
    "Rendering options (every verb):\n"
    "  --scale auto|fixed:F  top of the colour bar: auto (the map's peak, rounded up) or a fixed\n"
    "                     share of time (fixed:0.05 or fixed:5%) so that maps compare by eye\n"
    "  --colormap NAME    OpenCV colormap (default jet)\n"
    "  --name TEXT        camera or place for the title (default: bucket and prefix)\n"
    "  --resample         sources of different sizes (a camera change): scale them to the\n"
    "                     newest one's size instead of failing\n"
    "  --quality Q        JPEG quality 1-100 (default 90)\n"
    "\n"
    "Connection: S3_ENDPOINT, S3_REGION, S3_ACCESS_KEY, S3_SECRET_KEY (or AWS_*) from the\n"
    "environment, or --endpoint URL, --region R, --path-style, --timeout S, --retries N,\n"
    "--verbose. Exit status: 0 ok, 1 a rollup or input failed, 2 wrong usage.\n";

void error_line(const std::string &message) {
  std::string line = message;
  for (char &c : line) {
    if (c == '\n' || c == '\r')
      c = ' ';
  }
  std::fprintf(stderr, "heatmap-aggregate: %s\n", line.c_str());
}

std::string env_or(const char *name, const char *fallback) {
  const char *v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

struct Args {
  std::vector<std::string> positional;
  std::vector<std::string> periods, clips;
  std::string clips_from, rollups = env_or("ROLLUPS", "all"), out;
  std::string videos_prefix = env_or("S3_VIDEOS_PREFIX", "raw_videos/");
  std::string heatmaps_prefix = env_or("S3_HEATMAPS_PREFIX", "heatmaps/");
  bool all = false, quiet = false;
  agg::Options options;
};

std::string slash(std::string p) {
  if (!p.empty() && p.back() != '/')
    p.push_back('/');
  return p;
}

Args parse_args(std::vector<std::string> raw) {
  Args a;
  std::size_t i = 0;
  auto value = [&](const std::string &name, const cli::OptionArg &opt) {
    if (opt.inline_value)
      return opt.value;
    if (i + 1 >= raw.size())
      throw cli::UsageError(name + " needs a value");
    return raw[++i];
  };
  for (; i < raw.size(); ++i) {
    cli::OptionArg opt = cli::split_option(raw[i]);
    const std::string &n = opt.name;
    if (n == "--period") {
      a.periods.push_back(value(n, opt));
    } else if (n == "--clip") {
      a.clips.push_back(value(n, opt));
    } else if (n == "--clips-from") {
      a.clips_from = value(n, opt);
    } else if (n == "--all") {
      a.all = true;
    } else if (n == "--rollups") {
      a.rollups = value(n, opt);
    } else if (n == "--no-rollups") {
      a.rollups = "none";
    } else if (n == "--videos-prefix") {
      a.videos_prefix = value(n, opt);
    } else if (n == "--heatmaps-prefix") {
      a.heatmaps_prefix = value(n, opt);
    } else if (n == "--force") {
      a.options.force = true;
    } else if (n == "--dry-run") {
      a.options.dry_run = true;
    } else if (n == "--quiet") {
      a.quiet = true;
    } else if (n == "--out" || n == "-o") {
      a.out = value(n, opt);
    } else if (n == "--scale") {
      try {
        a.options.render.scale = agg::Scale::parse(value(n, opt));
      } catch (const std::invalid_argument &e) {
        throw cli::UsageError(e.what());
      }
    } else if (n == "--colormap") {
      std::string name = value(n, opt);
      a.options.render.colormap = agg::colormap_from_name(name);
      if (a.options.render.colormap < 0)
        throw cli::UsageError("unknown colormap '" + name +
                              "' (jet, turbo, inferno, viridis, ...)");
    } else if (n == "--name") {
      a.options.name = value(n, opt);
    } else if (n == "--resample") {
      a.options.resample = true;
    } else if (n == "--quality") {
      std::string v = value(n, opt);
      char *end = nullptr;
      long q = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || q < 1 || q > 100)
        throw cli::UsageError("--quality wants 1..100: got '" + v + "'");
      a.options.jpeg_quality = static_cast<int>(q);
    } else if (n.size() > 1 && n[0] == '-') {
      throw cli::UsageError("unknown option " + n);
    } else {
      a.positional.push_back(raw[i]);
    }
  }
  a.videos_prefix = slash(a.videos_prefix);
  a.heatmaps_prefix = slash(a.heatmaps_prefix);
  return a;
}

std::vector<std::string> read_lines(const std::string &path) {
  std::vector<std::string> out;
  std::ifstream file;
  std::istream *in = &std::cin;
  if (path != "-") {
    file.open(path);
    if (!file)
      throw cli::UsageError("cannot read " + path);
    in = &file;
  }
  std::string line;
  while (std::getline(*in, line)) {
    // The batch's work list is tab-separated: the key comes first.
    std::size_t tab = line.find('\t');
    if (tab != std::string::npos)
      line.resize(tab);
    if (!line.empty())
      out.push_back(line);
  }
  return out;
}

int run_rollup(const cli::Common &common, Args &a) {
  if (a.positional.size() != 1)
    throw cli::UsageError("rollup needs exactly one BUCKET");
  ru::Kinds kinds;
  try {
    kinds = ru::parse_kinds(a.rollups);
  } catch (const std::invalid_argument &e) {
    throw cli::UsageError(std::string("--rollups/ROLLUPS: ") + e.what());
  }
  agg::Layout layout{a.videos_prefix, a.heatmaps_prefix};
  std::vector<ru::Period> periods;
  for (const std::string &text : a.periods) {
    std::optional<ru::Period> p = ru::parse_period(text);
    if (!p)
      throw cli::UsageError("not a period: '" + text +
                            "' (2025-10-20T13, 2025-10-20, 2026-W01 or 2025-10)");
    periods.push_back(*p);
  }
  std::vector<std::string> clips = a.clips;
  if (!a.clips_from.empty()) {
    std::vector<std::string> more = read_lines(a.clips_from);
    clips.insert(clips.end(), more.begin(), more.end());
  }
  if (periods.empty() && clips.empty() && !a.all)
    throw cli::UsageError("rollup needs --period, --clip, --clips-from or --all");
  s3::Url url = s3::Url::parse_bucket(a.positional[0]);
  std::unique_ptr<s3::Bucket> bucket = s3::open_bucket(url, common.config);
  if (!clips.empty()) {
    std::vector<ru::Period> touched = agg::periods_touched_by(clips, layout, kinds);
    periods.insert(periods.end(), touched.begin(), touched.end());
  }
  if (a.all) {
    std::vector<ru::Period> every = agg::all_periods(*bucket, layout, kinds);
    periods.insert(periods.end(), every.begin(), every.end());
  }
  std::sort(periods.begin(), periods.end());
  periods.erase(std::unique(periods.begin(), periods.end()), periods.end());
  if (!a.quiet)
    a.options.log = [](const std::string &line) { std::printf("%s\n", line.c_str()); };
  auto t0 = std::chrono::steady_clock::now();
  agg::RollupStats stats = agg::update_rollups(*bucket, layout, periods, a.options);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%s (%zu lists, %zu gets, %zu puts, %.2f s)\n", stats.summary().c_str(),
              stats.requests.lists, stats.requests.gets, stats.requests.puts, secs);
  for (const agg::RollupResult &r : stats.results) {
    if (r.status == agg::RollupResult::Status::kFailed)
      error_line(std::string(ru::kind_name(r.period.kind)) + " " + r.period.id() + ": " +
                 r.message);
  }
  std::fflush(stdout);
  return stats.failed > 0 ? kExitFailure : kExitOk;
}

int run_prefix(const cli::Common &common, Args &a) {
  if (a.positional.size() != 1 || a.out.empty())
    throw cli::UsageError("prefix needs BUCKET_URL/PREFIX and --out STEM");
  s3::Url url = s3::Url::parse_bucket(a.positional[0]);
  std::string prefix = url.key;
  // file:// URLs: the folder is the bucket; a prefix goes after it as for s3://.
  url.key.clear();
  std::unique_ptr<s3::Bucket> bucket = s3::open_bucket(url, common.config);
  std::size_t clips = agg::aggregate_prefix(*bucket, prefix, a.out, a.options);
  std::printf("aggregated %zu clips into %s.jpg, %s.png, %s.json\n", clips, a.out.c_str(),
              a.out.c_str(), a.out.c_str());
  return kExitOk;
}

int run_compare(const cli::Common &common, Args &a) {
  if (a.positional.size() != 2 || a.out.empty())
    throw cli::UsageError("compare needs A, B and --out STEM");
  agg::compare(a.positional[0], a.positional[1], a.out, common.config, a.options);
  std::printf("wrote %s.jpg and %s.json (B - A)\n", a.out.c_str(), a.out.c_str());
  return kExitOk;
}

int run_periods(Args &a) {
  ru::Kinds kinds;
  try {
    kinds = ru::parse_kinds(a.rollups);
  } catch (const std::invalid_argument &e) {
    throw cli::UsageError(std::string("--rollups/ROLLUPS: ") + e.what());
  }
  agg::Layout layout{a.videos_prefix, a.heatmaps_prefix};
  for (const ru::Period &p : agg::periods_touched_by(a.positional, layout, kinds))
    std::printf("%s %s %s\n", ru::kind_name(p.kind), p.id().c_str(),
                ru::stem_key(layout.heatmaps_prefix, p).c_str());
  return kExitOk;
}

}  // namespace

int main(int argc, char **argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::fputs(kHelp, args.empty() ? stderr : stdout);
    return args.empty() ? kExitUsage : kExitOk;
  }
  std::string verb = args[0];
  args.erase(args.begin());
  for (const std::string &arg : args) {
    if (arg == "--help" || arg == "-h") {
      std::fputs(kHelp, stdout);
      return kExitOk;
    }
  }
  try {
    cli::Common common = cli::parse_common(&args);
    Args a = parse_args(args);
    if (verb == "rollup")
      return run_rollup(common, a);
    if (verb == "prefix")
      return run_prefix(common, a);
    if (verb == "compare")
      return run_compare(common, a);
    if (verb == "periods")
      return run_periods(a);
    throw cli::UsageError("unknown verb '" + verb + "' (rollup, prefix, compare, periods)");
  } catch (const cli::UsageError &e) {
    error_line(std::string(e.what()) + " (see --help)");
    return kExitUsage;
  } catch (const agg::InputError &e) {
    error_line(e.what());
    return kExitFailure;
  } catch (const s3::Error &e) {
    error_line(e.what());
    return kExitFailure;
  } catch (const std::exception &e) {
    error_line(e.what());
    return kExitFailure;
  }
}
