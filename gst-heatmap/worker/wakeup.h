// wakeup.h: an eventfd that wakes the worker's broker thread when a clip job ends or a signal
// arrives, so it sleeps in poll() beside the AMQP socket instead of polling on a timer.
#pragma once

#include <chrono>

namespace heatmap_worker {

class Wakeup {
 public:
  Wakeup();  // throws std::system_error when no eventfd can be made
  ~Wakeup();
  Wakeup(const Wakeup &) = delete;
  Wakeup &operator=(const Wakeup &) = delete;

  // Makes fd() readable until drain(); async-signal-safe (one write(2)), callable from any
  // thread; notifications before a drain() coalesce into one.
  void notify() const;
  // Clears the pending notifications; true when there were any.
  bool drain() const;
  // Waits up to timeout for a notification (without draining it); true when one is pending.
  bool wait(std::chrono::milliseconds timeout) const;
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

}  // namespace heatmap_worker
