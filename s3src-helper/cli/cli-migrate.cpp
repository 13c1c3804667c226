// cli-migrate.cpp: the `migrate` verb: plan or run the flat-to-dated migration of a bucket.
#include <cstdio>
#include <string>
#include <vector>

#include "cli.h"
#include "s3-migrate.h"

namespace cli {
namespace {

namespace mig = s3::migrate;

constexpr const char *kUsage =
    "Usage: s3src-helper migrate BUCKET_URL [--videos-prefix P] [--heatmaps-prefix P]\n"
    "                            [--prefix P] [--apply] [--cleanup] [--verbose] [--help]\n"
    "\n"
    "Moves flat clips into the dated layout the batch driver reads:\n"
    "  raw_videos/clip_2025-10-20_13-57-04.mp4\n"
    "    -> raw_videos/2025/10/20/13/clip_2025-10-20_13-57-04.mp4\n"
    "  heatmaps/clip_2025-10-20_13-57-04_heatmap.jpg\n"
    "    -> heatmaps/2025/10/20/13/clip_2025-10-20_13-57-04_heatmap.jpg\n"
    "BUCKET_URL is s3://bucket or file:///folder (or a plain folder path).\n"
    "\n"
    "Without --apply it is a dry run: prints the plan (old -> new) and changes nothing.\n"
    "  --apply             server-side copy each flat object to its dated key and verify the\n"
    "                      copy (size and ETag, or the content when ETags cannot prove it)\n"
    "  --cleanup           with --apply: delete each original right after its copy is verified\n"
    "                      (also the ones copied by an earlier run, re-verified first)\n"
    "  --videos-prefix P   where the videos live (default raw_videos/; \"\" = bucket root)\n"
    "  --heatmaps-prefix P where the heatmaps live (default heatmaps/); the two prefixes may\n"
    "                      nest (each key belongs to the innermost) but not be the same\n"
    "  --prefix P          only keys whose name after the area prefix starts with P\n"
    "                      (e.g. clip_2025-10- for October 2025)\n"
    "  --verbose           also list the keys already in the dated layout, and S3 log lines\n"
    "Names that are not clip_YYYY-MM-DD_HH-MM-SS.EXT (heatmaps: ..._heatmap.EXT) are left alone.\n"
    "A destination that already holds other content is a conflict: nothing is overwritten or\n"
    "deleted. Rerunning after an interruption finishes the job.\n"
    "Connection flags: --endpoint, --region, --access-key, --secret-key, --path-style,\n"
    "--virtual-host, --no-verify-tls, --timeout, --retries (the environment's S3_* by default).\n"
    "Exit status: 0 when nothing failed and there is no conflict, 1 otherwise, 2 usage error.\n";

// Keys may hold control characters; keep each report on one line.
std::string printable(const std::string &text) {
  std::string out;
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", c);
      out += escaped;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

void print_line(const std::string &line) {
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fputc('\n', stdout);
}

std::string arrow(const mig::Item &item) {
  return printable(item.key) + " \u2192 " + printable(item.dest_key);
}

void print_item(const mig::Item &item, bool verbose) {
  switch (item.action) {
    case mig::Action::kCopy:
      print_line("copy        " + arrow(item));
      break;
    case mig::Action::kCopied:
      print_line("copied      " + arrow(item) +
                 " (already holds the same content; --apply --cleanup deletes the original)");
      break;
    case mig::Action::kCheck:
      print_line("check       " + arrow(item) +
                 " (exists with the same size; --apply compares the contents)");
      break;
    case mig::Action::kConflict:
      print_line("conflict    " + arrow(item) + " (" + item.reason + ")");
      break;
    case mig::Action::kLeftAlone:
      print_line("left alone  " + printable(item.key) + " (" + item.reason + ")");
      break;
    case mig::Action::kDated:
      if (verbose) {
        print_line("dated       " + printable(item.key) + " (already in place)");
      }
      break;
  }
}

const char *status_word(const mig::ItemResult &result) {
  switch (result.status) {
    case mig::ItemResult::Status::kVerified:
      return result.deleted ? (result.copied ? "moved" : "cleaned") : "verified";
    case mig::ItemResult::Status::kConflict:
      return "CONFLICT";
    case mig::ItemResult::Status::kFailed:
      return "FAILED";
  }
  return "?";
}

void print_progress(const mig::Item &item, std::size_t index, std::size_t total,
                    const mig::ItemResult &result) {
  std::string line = "[" + std::to_string(index + 1) + "/" + std::to_string(total) + "] " +
                     status_word(result) + " " + arrow(item);
  std::vector<std::string> notes;
  if (result.copied) {
    notes.push_back("copied");
  }
  if (result.status == mig::ItemResult::Status::kVerified) {
    notes.push_back(result.compared_content ? "verified by comparing the contents" : "verified");
  }
  if (result.deleted) {
    notes.push_back("original deleted");
  }
  if (!result.message.empty()) {
    notes.push_back(printable(result.message));
  }
  if (!notes.empty()) {
    line += " (";
    for (std::size_t i = 0; i < notes.size(); ++i) {
      line += (i ? ", " : "") + notes[i];
    }
    line += ")";
  }
  print_line(line);
  // Progress must survive a kill: a log that lags the bucket would mislead the recovery.
  std::fflush(stdout);
}

}  // namespace

int run_migrate(const std::vector<std::string> &args_in) {
  std::vector<std::string> args = args_in;
  for (const std::string &arg : args) {
    if (arg == "--") {
      break;
    }
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return kExitOk;
    }
  }

  mig::Layout layout;
  bool apply = false, cleanup = false;
  std::string bucket_text;
  Common common;
  try {
    common = parse_common(&args);
    bool operands_only = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
      const std::string &arg = args[i];
      auto take_value = [&]() -> std::string {
        if (i + 1 >= args.size()) {
          throw UsageError(arg + " needs a value");
        }
        return args[++i];
      };
      if (!operands_only && arg == "--") {
        operands_only = true;
      } else if (!operands_only && arg == "--apply") {
        apply = true;
      } else if (!operands_only && arg == "--cleanup") {
        cleanup = true;
      } else if (!operands_only && arg == "--videos-prefix") {
        layout.videos_prefix = take_value();
      } else if (!operands_only && arg == "--heatmaps-prefix") {
        layout.heatmaps_prefix = take_value();
      } else if (!operands_only && arg == "--prefix") {
        layout.name_prefix = take_value();
      } else if (!operands_only && arg.size() > 1 && arg[0] == '-') {
        throw UsageError("unknown option " + arg);
      } else if (bucket_text.empty()) {
        bucket_text = arg;
      } else {
        throw UsageError("one BUCKET_URL only, got also '" + arg + "'");
      }
    }
    if (bucket_text.empty()) {
      throw UsageError("missing BUCKET_URL (s3://bucket or file:///folder)");
    }
    if (cleanup && !apply) {
      throw UsageError("--cleanup deletes originals and needs --apply; run a dry run first");
    }
    try {
      layout = layout.normalized();
    } catch (const s3::Error &e) {
      throw UsageError(e.what());
    }
  } catch (const UsageError &e) {
    print_error(std::string("migrate: ") + e.what() + " (see s3src-helper migrate --help)");
    return kExitUsage;
  }

  s3::Url url;
  try {
    url = s3::Url::parse_bucket(bucket_text);
  } catch (const s3::Error &e) {
    print_error(std::string("migrate: ") + e.what() + " (see s3src-helper migrate --help)");
    return kExitUsage;
  }
  if (!url.key.empty()) {
    print_error("migrate: BUCKET_URL must name a bucket, not a key: " + bucket_text);
    return kExitUsage;
  }

  try {
    std::unique_ptr<s3::Bucket> bucket = s3::open_bucket(url, common.config);

    print_line(
        std::string(apply ? (cleanup ? "Migrating (apply, cleanup) " : "Migrating (apply) ")
                          : "Migration plan (dry run, nothing is changed) for ") +
        printable(url.str()) + ": videos under " +
        (layout.videos_prefix.empty() ? "the bucket root" : printable(layout.videos_prefix)) +
        ", heatmaps under " +
        (layout.heatmaps_prefix.empty() ? "the bucket root" : printable(layout.heatmaps_prefix)) +
        (layout.name_prefix.empty() ? ""
                                    : ", names starting with " + printable(layout.name_prefix)));
    std::fflush(stdout);
    mig::Plan plan = mig::plan_bucket(*bucket, layout);
    const std::string counts =
        std::to_string(plan.count(mig::Action::kCopy)) + " to copy, " +
        std::to_string(plan.count(mig::Action::kCopied)) + " already copied, " +
        std::to_string(plan.count(mig::Action::kCheck)) + " to compare, " +
        std::to_string(plan.count(mig::Action::kConflict)) + " conflicts, " +
        std::to_string(plan.count(mig::Action::kLeftAlone)) + " left alone, " +
        std::to_string(plan.count(mig::Action::kDated)) + " already dated";

    if (!apply) {
      for (const mig::Item &item : plan.items) {
        print_item(item, common.verbose);
      }
      print_line("Plan: " + counts);
      print_line(
          "Dry run: nothing was changed. Next: --apply (copy and verify), check the "
          "bucket, then --apply --cleanup (delete verified originals).");
      return plan.count(mig::Action::kConflict) == 0 ? kExitOk : kExitFailure;
    }

    // Left-alone keys are listed in every mode: the user should know what stays flat.
    for (const mig::Item &item : plan.items) {
      if (item.action == mig::Action::kLeftAlone ||
          (common.verbose && item.action == mig::Action::kDated)) {
        print_item(item, common.verbose);
      }
    }
    print_line("Plan: " + counts);
    std::fflush(stdout);
    mig::ApplyOptions options;
    options.cleanup = cleanup;
    mig::Summary s = mig::apply_plan(*bucket, plan, options, print_progress);
    print_line("Summary: copied " + std::to_string(s.copied) + ", verified " +
               std::to_string(s.verified) + ", deleted " + std::to_string(s.deleted) +
               ", skipped " + std::to_string(s.skipped) + ", left alone " +
               std::to_string(s.left_alone) + ", conflicts " + std::to_string(s.conflicts) +
               ", failed " + std::to_string(s.failed));
    if (s.copy_method != mig::CopyMethod::kAuto) {
      print_line(std::string("Copies: ") + mig::copy_method_name(s.copy_method) +
                 "; a destination that appeared meanwhile is never overwritten");
    }
    if (!s.aborted.empty()) {
      print_error("migrate: stopped early: " + s.aborted + "; rerun to finish");
      return kExitFailure;
    }
    if (!cleanup && s.verified > 0) {
      print_line(
          "Originals kept. After checking the bucket, rerun with --apply --cleanup to "
          "delete the verified originals.");
    }
    if (s.failed > 0 || s.conflicts > 0) {
      print_error("migrate: " + std::to_string(s.failed) + " failed, " +
                  std::to_string(s.conflicts) +
                  " conflicts; their originals were kept (see MIGRATION.md)");
      return kExitFailure;
    }
    return kExitOk;
  } catch (const s3::Error &e) {
    print_error(std::string("migrate: ") + e.what());
    return kExitFailure;
  }
}

}  // namespace cli
