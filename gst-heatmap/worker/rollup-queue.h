// rollup-queue.h: the worker's rollups: the hour, day, ISO week and month heatmaps of the clips
// it finished, brought up to date on a thread of their own with the aggregate library's own
// calls (periods_touched_by + update_rollups, as `heatmap-aggregate rollup` after a batch).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "rollup.h"
#include "s3-client.h"

namespace heatmap_worker {

struct RollupSettings {
  std::string bucket_url;  // s3://bucket or file:///folder
  s3::Config s3;
  heatmap::aggregate::Layout layout;
  s3::rollups::Kinds kinds;  // none: the queue takes keys and does nothing
  heatmap::aggregate::Options options;
  // Rollups wait while clips run (they would take CPU from them, and a burst of clips of one
  // hour makes one pass, not one per clip, as a batch does after its clips): a pass starts
  // once no clip has run for `idle` (the gap between one job and the next is a few ms), or at
  // the latest `max_delay` after the first clip waiting for it (a worker that never idles).
  std::chrono::milliseconds idle{300};
  std::chrono::milliseconds max_delay{60000};
  // A period a pass wrote is checked once more this long after: another worker may have
  // written it at the same time from an older listing (last writer wins); the check, which
  // costs a listing and the rollup's JSON when nothing changed, brings it up to date.
  std::chrono::milliseconds verify{10000};
};

// Takes the keys of finished clips from the job threads (add() never blocks on S3) and runs
// passes in the background. Failures are logged (one line per failed period) and never stop
// the worker: the next clip of the period, or a `heatmap-aggregate rollup`, redoes them.
class RollupQueue {
 public:
  using Log = std::function<void(const std::string &line)>;
  RollupQueue(RollupSettings settings, Log log);
  // finish() if not done yet.
  ~RollupQueue();
  RollupQueue(const RollupQueue &) = delete;
  RollupQueue &operator=(const RollupQueue &) = delete;

  bool enabled() const { return settings_.kinds.any(); }
  // Around every clip job (from the job threads): clip_started() before it, clip_finished()
  // after, with the key when its heatmap was uploaded (kDone), else "".
  void clip_started();
  void clip_finished(const std::string &done_video_key);
  // Runs a last pass over the clips not yet rolled up and the pending checks, then stops the
  // thread. For SIGTERM: the worker's clips are done, their rollups follow before it exits.
  void finish();

 private:
  using Clock = std::chrono::steady_clock;
  using Period = s3::rollups::Period;
  void run();
  void pass(const std::vector<std::string> &keys, const std::vector<Period> &checks);

  RollupSettings settings_;
  Log log_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> keys_;
  Clock::time_point first_key_;
  int running_ = 0;                             // clip jobs running now
  Clock::time_point idle_since_;                // when running_ last became 0
  std::map<Period, Clock::time_point> checks_;  // period -> when to check it again
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace heatmap_worker
