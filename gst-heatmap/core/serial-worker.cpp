// serial-worker.cpp: the bounded in-order background job queue.
#include "serial-worker.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

namespace heatmap {

void lower_this_thread_priority(int steps) {
#ifdef __linux__
  const auto tid = static_cast<id_t>(syscall(SYS_gettid));
  errno = 0;
  const int now = getpriority(PRIO_PROCESS, tid);
  if (errno == 0)
    setpriority(PRIO_PROCESS, tid, std::min(now + steps, 19));
#else
  (void)steps;
#endif
}

SerialWorker::SerialWorker(std::size_t capacity)
    : capacity_(std::max<std::size_t>(capacity, 1)), thread_([this] { run(); }) {}

SerialWorker::~SerialWorker() {
  {
    std::lock_guard<std::mutex> guard(lock_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

bool SerialWorker::try_submit(std::function<void()> job) {
  {
    std::lock_guard<std::mutex> guard(lock_);
    if (jobs_.size() + running_ >= capacity_)
      return false;
    jobs_.push_back(std::move(job));
  }
  changed_.notify_all();
  return true;
}

void SerialWorker::submit(std::function<void()> job) {
  {
    std::unique_lock<std::mutex> guard(lock_);
    changed_.wait(guard, [this] { return jobs_.size() + running_ < capacity_; });
    jobs_.push_back(std::move(job));
  }
  changed_.notify_all();
}

void SerialWorker::wait_idle() {
  std::unique_lock<std::mutex> guard(lock_);
  changed_.wait(guard, [this] { return jobs_.empty() && running_ == 0; });
}

std::size_t SerialWorker::pending() const {
  std::lock_guard<std::mutex> guard(lock_);
  return jobs_.size() + running_;
}

void SerialWorker::run() {
  lower_this_thread_priority(kBackgroundNice);
  std::unique_lock<std::mutex> guard(lock_);
  for (;;) {
    changed_.wait(guard, [this] { return stopping_ || !jobs_.empty(); });
    if (jobs_.empty())
      return;  // stopping, and nothing left to do
    std::function<void()> job = std::move(jobs_.front());
    jobs_.pop_front();
    ++running_;
    guard.unlock();
    job();
    job = nullptr;  // captured buffers go now, not at the next job
    guard.lock();
    --running_;
    changed_.notify_all();
  }
}

}  // namespace heatmap
