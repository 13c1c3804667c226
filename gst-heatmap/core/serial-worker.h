// serial-worker.h: one background thread running jobs in order, with a bounded backlog, so that
// slow work (encoding, disk, S3) never runs on a video streaming thread.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace heatmap {

// Lowers the calling thread's scheduling priority by `steps` of nice (Linux: nice applies per
// thread; at most to 19) so that on a busy machine the streaming thread, which must keep real
// time, wins the CPU over background work that only has to keep up on average. Best effort: a
// failure leaves the priority alone.
void lower_this_thread_priority(int steps);

// The thread runs at a lower priority than its creator (kBackgroundNice steps of nice, on
// Linux): on a loaded machine a live streaming thread must not lose the CPU to it.
class SerialWorker {
 public:
  static constexpr int kBackgroundNice = 10;
  // At most `capacity` jobs are queued or running at once (at least 1).
  explicit SerialWorker(std::size_t capacity);
  // Runs the jobs still queued, then joins the thread.
  ~SerialWorker();
  SerialWorker(const SerialWorker &) = delete;
  SerialWorker &operator=(const SerialWorker &) = delete;

  // Queues `job` unless the backlog is full; false means the job was not taken (the caller
  // drops it: a live stream must not wait for a slow disk).
  bool try_submit(std::function<void()> job);
  // Queues `job`, waiting for room (end-of-stream: the last window must be written).
  void submit(std::function<void()> job);
  // Waits until every job taken so far has finished.
  void wait_idle();
  // Jobs queued or running now.
  std::size_t pending() const;

 private:
  void run();

  const std::size_t capacity_;
  mutable std::mutex lock_;
  std::condition_variable changed_;
  std::deque<std::function<void()>> jobs_;
  std::size_t running_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace heatmap
