// rollup-queue.cpp: the rollup thread of heatmap-worker.
#include "rollup-queue.h"

#include <glib.h>

#include <algorithm>
#include <exception>
#include <memory>
#include <utility>

namespace heatmap_worker {

namespace agg = heatmap::aggregate;

RollupQueue::RollupQueue(RollupSettings settings, Log log)
    : settings_(std::move(settings)), log_(std::move(log)) {
  if (enabled())
    thread_ = std::thread([this] { run(); });
}

RollupQueue::~RollupQueue() {
  finish();
}

void RollupQueue::clip_started() {
  std::lock_guard<std::mutex> lock(mutex_);
  running_++;
}

void RollupQueue::clip_finished(const std::string &done_video_key) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (--running_ == 0)
      idle_since_ = Clock::now();
    if (enabled() && !stopping_ && !done_video_key.empty()) {
      if (keys_.empty())
        first_key_ = Clock::now();
      keys_.push_back(done_video_key);
    }
  }
  changed_.notify_all();
}

void RollupQueue::finish() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (thread_.joinable())
    thread_.join();
}

void RollupQueue::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    if (stopping_) {
      // The last pass: the clips not yet rolled up, and every pending check now rather than in
      // `verify` (another worker may have overwritten one of our periods from an older listing;
      // at SIGTERM the check would otherwise be lost). Its own writes are not checked again.
      std::vector<std::string> keys;
      keys.swap(keys_);
      std::vector<Period> checks;
      for (const auto &entry : checks_)
        checks.push_back(entry.first);
      checks_.clear();
      lock.unlock();
      pass(keys, checks);
      return;
    }
    // The next moment something is due: the settled batch of keys, or the earliest check.
    Clock::time_point due = Clock::time_point::max();
    const Clock::time_point keys_due =
        running_ > 0 ? first_key_ + settings_.max_delay
                     : std::min(first_key_ + settings_.max_delay, idle_since_ + settings_.idle);
    if (!keys_.empty())
      due = keys_due;
    const Clock::time_point idle_from = idle_since_ + settings_.idle;
    if (running_ == 0)  // checks wait for an idle moment (a clip starting wakes nobody)
      for (const auto &[period, when] : checks_)
        due = std::min(due, std::max(when, idle_from));
    if (due == Clock::time_point::max()) {
      changed_.wait(lock);
      continue;
    }
    if (Clock::now() < due) {
      changed_.wait_until(lock, due);
      continue;
    }
    std::vector<std::string> keys;
    if (!keys_.empty() && Clock::now() >= keys_due)
      keys.swap(keys_);
    std::vector<Period> checks;
    const Clock::time_point now = Clock::now();
    for (auto it = checks_.begin(); it != checks_.end();) {
      // A pass with keys takes every check along; checks alone wait for an idle moment too.
      if (!keys.empty() || (running_ == 0 && it->second <= now && now >= idle_from)) {
        checks.push_back(it->first);
        it = checks_.erase(it);
      } else {
        ++it;
      }
    }
    lock.unlock();
    pass(keys, checks);
    lock.lock();
  }
}

void RollupQueue::pass(const std::vector<std::string> &keys, const std::vector<Period> &checks) {
  std::vector<Period> periods = agg::periods_touched_by(keys, settings_.layout, settings_.kinds);
  periods.insert(periods.end(), checks.begin(), checks.end());
  // Children first (hours before their day, days before weeks and months), as
  // periods_touched_by orders them; merging may interleave, so sort again.
  std::sort(periods.begin(), periods.end());
  periods.erase(std::unique(periods.begin(), periods.end()), periods.end());
  if (periods.empty())
    return;
  const auto t0 = Clock::now();
  agg::RollupStats stats;
  try {
    std::unique_ptr<s3::Bucket> bucket =
        s3::open_bucket(s3::Url::parse_bucket(settings_.bucket_url), settings_.s3);
    stats = agg::update_rollups(*bucket, settings_.layout, periods, settings_.options);
  } catch (const std::exception &e) {
    log_("rollups FAILED for " + std::to_string(keys.size()) + " clip(s): " + e.what());
    return;
  }
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  gchar *tail = g_strdup_printf(" (%zu lists, %zu gets, %zu puts, %.2f s)", stats.requests.lists,
                                stats.requests.gets, stats.requests.puts, secs);
  std::string what = keys.empty() ? "check of " + std::to_string(checks.size()) + " period(s)"
                                  : std::to_string(keys.size()) + " clip(s)";
  log_(stats.summary() + " for " + what + tail);
  g_free(tail);
  std::vector<Period> written;
  for (const agg::RollupResult &r : stats.results) {
    if (r.status == agg::RollupResult::Status::kFailed)
      log_(std::string("rollup FAILED ") + s3::rollups::kind_name(r.period.kind) + " " +
           r.period.id() + ": " + r.message);
    else if (r.status == agg::RollupResult::Status::kWritten)
      written.push_back(r.period);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  for (const Period &p : written)
    checks_.emplace(p, Clock::now() + settings_.verify);
}

}  // namespace heatmap_worker
