// cli-pending.cpp: the `pending` verb: prints the batch driver's work list (videos without a
// heatmap).
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "cli.h"
#include "s3-pending.h"

namespace {

const char kUsage[] =
    "pending BUCKET_URL [--videos-prefix P] [--heatmaps-prefix P] [--date-prefix P] [--max N] "
    "[--force]";

const char kHelp[] =
    "Usage: s3src-helper pending BUCKET_URL [OPTIONS]\n"
    "\n"
    "Prints the videos that have no heatmap yet, oldest key first: the work list of\n"
    "scripts/heatmap-batch. BUCKET_URL is s3://bucket or file:///folder. Each prefix is\n"
    "listed once (paginated) and the two listings are compared; nothing is downloaded.\n"
    "\n"
    "Options:\n"
    "  --videos-prefix P    where the videos are (default raw_videos/)\n"
    "  --heatmaps-prefix P  where the heatmaps are (default heatmaps/)\n"
    "  --date-prefix P      only keys under both prefixes + P, e.g. 2025/10/20/\n"
    "  --max N              print at most N clips (default 0 = all)\n"
    "  --force              also print videos that already have a heatmap\n"
    "  --help               this text\n"
    "\n"
    "Videos are keys ending in .mp4 .mov .mkv .avi .ts (any case); other objects are ignored.\n"
    "VIDEOS_PREFIX/2025/10/20/13/clip.mp4 maps to HEATMAPS_PREFIX/2025/10/20/13/clip_heatmap.jpg\n"
    "(rendered) and ..._heatmap.png (raw counts). A clip counts as done when its JPEG exists.\n"
    "\n"
    "Output: one line per clip, five tab-separated fields:\n"
    "  VIDEO_KEY  URI  JPEG_KEY  PNG_KEY  SIZE\n"
    "URI is the percent-encoded s3:// or file:// URI that uridecodebin reads; keys are raw.\n"
    "SIZE is in bytes; zero-byte objects are listed too (the driver reports them as failed,\n"
    "so they stay visible and pending). Keys holding control characters (tab, newline) are\n"
    "skipped with a warning since they cannot be written as one line.\n"
    "On stderr, one summary line:\n"
    "  pending: N clips without a heatmap, M listed; D already done; I other objects ignored\n"
    "Exit status: 0 ok (also when nothing is pending), 1 listing failed, 2 wrong usage.\n"
    "Connection options as for every verb (s3src-helper ls --help).\n";

std::size_t parse_max(const std::string &text) {
  errno = 0;
  char *end = nullptr;
  unsigned long long value = std::strtoull(text.c_str(), &end, 10);
  if (text.empty() || text[0] == '-' || *end != '\0' || errno != 0 || value > 100000000ULL)
    throw cli::UsageError("--max wants a whole number from 0 to 100000000, not '" + text + "'");
  return static_cast<std::size_t>(value);
}

void check_prefix(const std::string &flag, const std::string &value) {
  if (!value.empty() && value[0] == '/')
    throw cli::UsageError(flag + " must be relative to the bucket (no leading '/'): '" + value +
                          "'");
}

int run(std::vector<std::string> args) {
  cli::Common common = cli::parse_common(&args);

  s3::pending::Layout layout;
  s3::pending::Options options;
  std::string date_prefix;
  std::string bucket_text;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    cli::OptionArg option = cli::split_option(arg);
    arg = option.name;
    std::string value = option.value;
    const bool inline_value = option.inline_value;
    auto take = [&]() -> std::string {
      if (inline_value)
        return value;
      if (i + 1 >= args.size())
        throw cli::UsageError(arg + " needs a value");
      return args[++i];
    };
    if (arg == "--videos-prefix") {
      layout.videos_prefix = take();
      check_prefix(arg, layout.videos_prefix);
    } else if (arg == "--heatmaps-prefix") {
      layout.heatmaps_prefix = take();
      check_prefix(arg, layout.heatmaps_prefix);
    } else if (arg == "--date-prefix") {
      date_prefix = take();
      check_prefix(arg, date_prefix);
    } else if (arg == "--max") {
      options.max_clips = parse_max(take());
    } else if (arg == "--force") {
      if (inline_value)
        throw cli::UsageError("--force takes no value");
      options.force = true;
    } else if (arg == "--") {
      for (++i; i < args.size(); ++i) {
        if (!bucket_text.empty())
          throw cli::UsageError("more than one BUCKET_URL");
        bucket_text = args[i];
      }
    } else if (arg.size() > 1 && arg[0] == '-') {
      throw cli::UsageError("unknown option " + arg);
    } else {
      if (!bucket_text.empty())
        throw cli::UsageError("more than one BUCKET_URL");
      bucket_text = arg;
    }
  }
  if (bucket_text.empty())
    throw cli::UsageError("expects BUCKET_URL");
  if (layout.heatmaps_prefix.empty() || layout.heatmaps_prefix == layout.videos_prefix)
    throw cli::UsageError("--heatmaps-prefix must be non-empty and differ from --videos-prefix");
  if (bucket_text.rfind("s3://", 0) != 0 && bucket_text.rfind("file://", 0) != 0)
    throw cli::UsageError("'" + bucket_text + "' is not an s3://bucket or file:///folder URL");

  s3::Url bucket_url = s3::Url::parse_bucket(bucket_text);
  if (!bucket_url.key.empty())
    throw cli::UsageError("BUCKET_URL names a bucket, not a key: '" + bucket_text +
                          "' (use --videos-prefix / --date-prefix)");
  std::unique_ptr<s3::Bucket> bucket = s3::open_bucket(bucket_url, common.config);

  // One paginated listing per prefix; the date prefix narrows both the same way.
  std::vector<s3::ObjectInfo> videos;
  std::vector<s3::ObjectInfo> heatmaps;
  bucket->list_all(layout.videos_prefix + date_prefix, "", &videos);
  bucket->list_all(layout.heatmaps_prefix + date_prefix, "", &heatmaps);

  s3::pending::Plan plan = s3::pending::plan(layout, videos, heatmaps, options);
  for (const s3::pending::Clip &clip : plan.clips) {
    s3::Url object = bucket_url;
    object.key = clip.video.key;
    std::printf("%s\t%s\t%s\t%s\t%llu\n", clip.video.key.c_str(), object.uri().c_str(),
                clip.jpeg_key.c_str(), clip.png_key.c_str(),
                static_cast<unsigned long long>(clip.video.size));
  }
  if (std::fflush(stdout) != 0) {
    cli::print_error("pending: cannot write the work list to stdout");
    return cli::kExitFailure;
  }
  if (plan.unsafe_keys > 0)
    cli::print_error("pending: warning: skipped " + std::to_string(plan.unsafe_keys) +
                     " video key(s) holding control characters");
  if (plan.duplicates > 0)
    cli::print_error("pending: warning: skipped " + std::to_string(plan.duplicates) +
                     " video(s) whose heatmap name an earlier video already has (same name, "
                     "other extension)");
  std::fprintf(stderr,
               "pending: %zu clips without a heatmap, %zu listed; %zu already done; %zu other "
               "objects ignored\n",
               plan.pending_total, plan.clips.size(), plan.done, plan.ignored);
  return cli::kExitOk;
}

}  // namespace

int cli::run_pending(const std::vector<std::string> &args) {
  for (const std::string &arg : args) {
    if (arg == "--")
      break;
    if (arg == "--help" || arg == "-h") {
      std::fputs(kHelp, stdout);
      return kExitOk;
    }
  }
  try {
    return run(args);
  } catch (const UsageError &e) {
    print_error(std::string("pending: ") + e.what() + " (usage: s3src-helper " + kUsage + ")");
    return kExitUsage;
  } catch (const s3::Error &e) {
    print_error(std::string("pending: ") + e.what());
    return kExitFailure;
  } catch (const std::exception &e) {
    print_error(std::string("pending: ") + e.what());
    return kExitFailure;
  }
}
