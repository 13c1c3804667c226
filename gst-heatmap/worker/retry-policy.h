// retry-policy.h: what happens to a clip job after a run: ack, retry later, or dead-letter.
#pragma once

#include <string>

namespace heatmap_worker {

struct RetryPolicy {
  int max_attempts = 5;         // MAX_ATTEMPTS: runs of one message before it is dead-lettered
  int retry_delay_s = 10;       // RETRY_DELAY: wait before the 2nd run; doubles each time
  int retry_delay_max_s = 600;  // cap of the doubling
};

// The outcome of one message's run, coarse: the worst of its clips.
enum class Outcome { kDone, kTransient, kPermanent };

struct Decision {
  enum class Action { kAck, kRetry, kDeadLetter } action = Action::kAck;
  int attempts = 0;   // failed runs so far, including this one (goes into x-heatmap-attempts)
  long delay_ms = 0;  // kRetry: how long the message waits in the retry queue
};

// Permanent failures (corrupt clip, not a video) are dead-lettered at once: running a broken
// file again gives the same answer. Transient ones (S3 5xx, timeouts, a killed pipeline) wait
// retry_delay_s * 2^(n-1) (capped) and run again, until max_attempts runs have failed.
// previous_attempts is the x-heatmap-attempts header of the message (failed runs before this).
Decision decide(Outcome outcome, int previous_attempts, const RetryPolicy &policy);

// Delay before run number attempt + 1, after `attempt` failed runs (attempt >= 1).
long retry_delay_ms(int attempt, const RetryPolicy &policy);

// Checks the ranges (1..100 attempts, delays 1..86400 s, max >= base); "" when fine.
std::string check_policy(const RetryPolicy &policy);

}  // namespace heatmap_worker
