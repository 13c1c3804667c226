// wakeup.cpp: Wakeup on Linux eventfd(2).
#include "wakeup.h"

#include <errno.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>
#include <system_error>

namespace heatmap_worker {

Wakeup::Wakeup() : fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (fd_ < 0)
    throw std::system_error(errno, std::generic_category(), "cannot create an eventfd");
}

Wakeup::~Wakeup() {
  close(fd_);
}

void Wakeup::notify() const {
  const std::uint64_t one = 1;
  // Only fails when the counter would overflow (it is then readable anyway) or on EINTR.
  while (write(fd_, &one, sizeof one) < 0 && errno == EINTR) {
  }
}

bool Wakeup::drain() const {
  std::uint64_t count = 0;
  ssize_t n;
  while ((n = read(fd_, &count, sizeof count)) < 0 && errno == EINTR) {
  }
  return n == static_cast<ssize_t>(sizeof count) && count > 0;
}

bool Wakeup::wait(std::chrono::milliseconds timeout) const {
  struct pollfd p = {fd_, POLLIN, 0};
  int n;
  while ((n = poll(&p, 1, static_cast<int>(timeout.count()))) < 0 && errno == EINTR) {
  }
  return n > 0 && (p.revents & POLLIN) != 0;
}

}  // namespace heatmap_worker
