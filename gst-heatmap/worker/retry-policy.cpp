// retry-policy.cpp: backoff and dead-lettering decisions (pure, unit-tested).
#include "retry-policy.h"

#include <algorithm>

namespace heatmap_worker {

long retry_delay_ms(int attempt, const RetryPolicy &policy) {
  long delay = static_cast<long>(policy.retry_delay_s) * 1000;
  long cap = static_cast<long>(policy.retry_delay_max_s) * 1000;
  for (int i = 1; i < attempt && delay < cap; i++)
    delay *= 2;
  return std::min(delay, cap);
}

Decision decide(Outcome outcome, int previous_attempts, const RetryPolicy &policy) {
  Decision d;
  d.attempts = std::max(previous_attempts, 0);
  if (outcome == Outcome::kDone) {
    d.action = Decision::Action::kAck;
    return d;
  }
  d.attempts++;
  if (outcome == Outcome::kPermanent || d.attempts >= policy.max_attempts) {
    d.action = Decision::Action::kDeadLetter;
    return d;
  }
  d.action = Decision::Action::kRetry;
  d.delay_ms = retry_delay_ms(d.attempts, policy);
  return d;
}

std::string check_policy(const RetryPolicy &p) {
  if (p.max_attempts < 1 || p.max_attempts > 100)
    return "MAX_ATTEMPTS must be 1..100, got " + std::to_string(p.max_attempts);
  if (p.retry_delay_s < 1 || p.retry_delay_s > 86400)
    return "RETRY_DELAY must be 1..86400 seconds, got " + std::to_string(p.retry_delay_s);
  if (p.retry_delay_max_s < p.retry_delay_s || p.retry_delay_max_s > 86400)
    return "RETRY_DELAY_MAX must be RETRY_DELAY..86400 seconds, got " +
           std::to_string(p.retry_delay_max_s);
  return {};
}

}  // namespace heatmap_worker
