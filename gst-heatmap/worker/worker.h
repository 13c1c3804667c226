// worker.h: the consumer loop of heatmap-worker: deliveries -> J clip jobs -> ack, retry or DLQ.
#pragma once

#include <atomic>
#include <cstdio>
#include <functional>
#include <string>

#include "amqp-client.h"
#include "clip-job.h"
#include "retry-policy.h"
#include "wakeup.h"

namespace heatmap_worker {

struct WorkerOptions {
  AmqpEndpoint endpoint;
  ConnectOptions connect;
  Topology topology;
  RetryPolicy retry;
  int jobs = 1;                 // clip jobs at once = prefetch count
  std::string bucket_name;      // messages naming another bucket are dead-lettered
  double exit_when_idle_s = 0;  // > 0: exit once the queue gave nothing for this long and
                                // no job runs (batch-style runs, benchmarks)
  int reconnect_max_s = 30;     // cap of the reconnect backoff (1 s, doubling)
};

// Runs one clip; called from the job threads.
using ClipRunner = std::function<heatmap_job::JobResult(const std::string &key)>;
// "" when key is a clip video of this bucket's layout, else why it is ignored.
using ClipFilter = std::function<std::string(const std::string &key)>;

// Consumes until stop becomes true (SIGTERM), then finishes the running clips, acks them and
// returns 0. Returns 2 when the broker refuses the configuration (login, vhost, queue
// arguments) before anything was consumed. Writes one log line per clip on stdout and
// connection events on stderr.
// "2025-10-20T13:05:00+0000 text" on `to`, flushed (the worker's log format).
void log_line(FILE *to, const std::string &text);

// wakeup: notified by whoever sets stop (the signal handler), so the loop notices at once;
// run_worker also uses it itself (a job thread notifies it when a clip ends).
int run_worker(const WorkerOptions &options, const ClipRunner &runner, const ClipFilter &filter,
               const std::atomic<bool> &stop, const Wakeup &wakeup);

}  // namespace heatmap_worker
