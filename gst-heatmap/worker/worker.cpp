// worker.cpp: the consumer loop: one thread talks to the broker, J threads run clip jobs.
#include "worker.h"

#include <glib.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "job-message.h"

namespace heatmap_worker {

void log_line(FILE *to, const std::string &text) {
  char stamp[64];
  time_t now = time(nullptr);
  struct tm tm;
  localtime_r(&now, &tm);
  strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S%z", &tm);
  // One write per line: the job threads and the rollup thread log to the same stream.
  std::fprintf(to, "%s %s\n", stamp, text.c_str());
  std::fflush(to);
}

namespace {

using heatmap_job::JobResult;
using Clock = std::chrono::steady_clock;
using Status = JobResult::Status;

// The broker thread sleeps in poll() on the AMQP socket and the Wakeup descriptor: a job thread
// that finishes a clip, or a signal, wakes it at once, so a finished clip is acked (and with
// prefetch = J the broker sends the next job) without a timer. It still wakes this often when
// nothing happens (exit-when-idle, a missed wake-up can cost no more than this).
constexpr auto kIdleWait = std::chrono::milliseconds(1000);
constexpr auto kConfirmTimeout = std::chrono::seconds(30);

std::string fmt(const char *format, double value) {
  char buf[64];
  g_snprintf(buf, sizeof buf, format, value);
  return buf;
}

struct ClipOutcome {
  std::string key;
  std::string ignored;  // why the key is not a job, "" = it ran
  JobResult result;
};

struct Task {
  std::string id;
  std::vector<ClipRef> clips;
};

struct TaskResult {
  std::string id;
  std::vector<ClipOutcome> outcomes;
};

// J threads running clip jobs; results are collected by the broker thread.
class JobPool {
 public:
  JobPool(int jobs, const ClipRunner &runner, const ClipFilter &filter,
          const std::string &bucket_name, const Wakeup &done)
      : runner_(runner), filter_(filter), bucket_name_(bucket_name), done_(done) {
    for (int i = 0; i < jobs; i++)
      threads_.emplace_back([this] { loop(); });
  }
  ~JobPool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      closing_ = true;
    }
    cv_.notify_all();
    for (auto &t : threads_)
      t.join();
  }
  void submit(Task task) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      tasks_.push_back(std::move(task));
    }
    cv_.notify_one();
  }
  std::vector<TaskResult> take_results() {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<TaskResult> out;
    out.swap(results_);
    return out;
  }

 private:
  void loop() {
    for (;;) {
      Task task;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait(lock, [this] { return closing_ || !tasks_.empty(); });
        if (tasks_.empty())
          return;
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      TaskResult result{task.id, {}};
      for (const ClipRef &clip : task.clips)
        result.outcomes.push_back(run_one(clip));
      {
        std::lock_guard<std::mutex> lock(mutex_);
        results_.push_back(std::move(result));
      }
      done_.notify();
    }
  }

  ClipOutcome run_one(const ClipRef &clip) {
    ClipOutcome o;
    o.key = clip.key;
    if (!clip.bucket.empty() && clip.bucket != bucket_name_) {
      o.result.status = Status::kPermanent;
      o.result.message = "the message names bucket '" + printable(clip.bucket, 80) +
                         "', this worker serves '" + bucket_name_ + "'";
      return o;
    }
    o.ignored = filter_(clip.key);
    if (!o.ignored.empty())
      return o;
    try {
      o.result = runner_(clip.key);
    } catch (const std::exception &e) {
      o.result = JobResult();
      o.result.status = Status::kTransient;
      o.result.message = e.what();
    }
    return o;
  }

  const ClipRunner &runner_;
  const ClipFilter &filter_;
  std::string bucket_name_;
  const Wakeup &done_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Task> tasks_;
  std::vector<TaskResult> results_;
  bool closing_ = false;
  std::vector<std::thread> threads_;
};

// A message being worked on. Redeliveries of the same job (after a reconnect) join it instead
// of running the clip twice at once.
struct InFlight {
  std::string body;
  int attempts = 0;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> tags;  // (connection generation, tag)
};

Outcome outcome_of(const std::vector<ClipOutcome> &outcomes, std::string *reason) {
  Outcome worst = Outcome::kDone;
  for (const ClipOutcome &o : outcomes) {
    if (!o.ignored.empty())
      continue;
    if (o.result.status == Status::kPermanent && worst != Outcome::kPermanent) {
      worst = Outcome::kPermanent;
      *reason = o.result.message;
    } else if (o.result.status == Status::kTransient && worst == Outcome::kDone) {
      worst = Outcome::kTransient;
      *reason = o.result.message;
    }
  }
  return worst;
}

class Worker {
 public:
  Worker(const WorkerOptions &options, const ClipRunner &runner, const ClipFilter &filter,
         const std::atomic<bool> &stop, const Wakeup &wakeup)
      : o_(options),
        stop_(stop),
        wakeup_(wakeup),
        pool_(options.jobs, runner, filter, options.bucket_name, wakeup) {
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    worker_id_ = std::string(host) + ":" + std::to_string(getpid());
  }

  int run() {
    auto last_activity = Clock::now();
    int backoff_s = 1;
    bool ever_connected = false;
    for (;;) {
      collect_results();
      if (stop_ && inflight_.empty())
        break;
      if (o_.exit_when_idle_s > 0 && inflight_.empty() && conn_ &&
          std::chrono::duration<double>(Clock::now() - last_activity).count() >
              o_.exit_when_idle_s) {
        log_line(stderr, "heatmap-worker: the queue has been idle for " +
                             fmt("%g", o_.exit_when_idle_s) + " s; exiting");
        break;
      }
      try {
        if (!conn_) {
          if (stop_) {  // finishing: the running clips end without a broker to ack to
            wakeup_.wait(kIdleWait);
            continue;
          }
          connect();
          ever_connected = true;
          backoff_s = 1;
          last_activity = Clock::now();
        }
        if (stop_ && consuming_) {
          conn_->cancel_consume();
          consuming_ = false;
          log_line(stderr, "heatmap-worker: stopping: finishing " +
                               std::to_string(inflight_.size()) + " running job(s)");
        }
        if (auto d = conn_->next_delivery(wait_time(last_activity), wakeup_.fd())) {
          last_activity = Clock::now();
          on_delivery(std::move(*d));
        }
        if (!inflight_.empty())
          last_activity = Clock::now();
      } catch (const AmqpError &e) {
        conn_.reset();
        consuming_ = false;
        if (!e.lost() && !ever_connected) {
          log_line(stderr, std::string("heatmap-worker: ") + e.what());
          return 2;
        }
        log_line(stderr, std::string("heatmap-worker: ") + e.what() + "; reconnecting in " +
                             std::to_string(backoff_s) + " s");
        for (auto until = Clock::now() + std::chrono::seconds(backoff_s);
             Clock::now() < until && !stop_;) {
          wakeup_.wait(std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()));
          collect_results();
        }
        backoff_s = std::min(backoff_s * 2, o_.reconnect_max_s);
      }
    }
    conn_.reset();  // closes the channel: anything unacked goes back to the queue
    return 0;
  }

 private:
  // How long the broker thread may sleep: until something happens, or until the worker would
  // exit for being idle.
  std::chrono::milliseconds wait_time(Clock::time_point last_activity) const {
    if (o_.exit_when_idle_s <= 0 || !inflight_.empty())
      return kIdleWait;
    auto exit_at = last_activity + std::chrono::duration_cast<Clock::duration>(
                                       std::chrono::duration<double>(o_.exit_when_idle_s));
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(exit_at - Clock::now()) +
                std::chrono::milliseconds(1);
    return std::max(std::chrono::milliseconds(0), std::min(kIdleWait, left));
  }

  void connect() {
    conn_ = std::make_unique<AmqpConnection>(o_.endpoint, o_.connect);
    conn_->declare(o_.topology);
    for (int a = 1; a < o_.retry.max_attempts; a++)
      conn_->declare_retry_queue(o_.topology, a);
    conn_->consume(o_.topology.queue, static_cast<std::uint16_t>(o_.jobs));
    consuming_ = true;
    generation_++;
    log_line(stderr, "heatmap-worker: connected to " + o_.endpoint.display() + ", consuming '" +
                         o_.topology.queue + "' with " + std::to_string(o_.jobs) + " job(s)");
  }

  void on_delivery(Delivery d) {
    if (!consuming_)
      return;  // after cancel: never started, given back when the channel closes
    JobMessage message;
    std::string error;
    if (!parse_job_message(d.body, &message, &error)) {
      log_line(stdout, "FAILED message from exchange '" + printable(d.exchange, 80) +
                           "' routing key '" + printable(d.routing_key, 80) +
                           "' - not a clip job: " + error + "; dead-lettered to '" +
                           o_.topology.dead() + "'");
      dead_letter(d.body, "not a clip job: " + error, d.attempts + 1, "");
      conn_->ack(d.tag);
      return;
    }
    if (message.clips.empty()) {
      conn_->ack(d.tag);  // e.g. ObjectRemoved events, s3:TestEvent
      return;
    }
    std::string id;
    for (const ClipRef &c : message.clips)
      id += c.bucket + '\0' + c.key + '\n';
    auto it = inflight_.find(id);
    if (it != inflight_.end()) {
      it->second.tags.emplace_back(generation_, d.tag);
      it->second.attempts = std::max(it->second.attempts, d.attempts);
      return;
    }
    InFlight f;
    f.body = d.body;
    f.attempts = d.attempts;
    f.tags.emplace_back(generation_, d.tag);
    inflight_.emplace(id, std::move(f));
    pool_.submit(Task{id, std::move(message.clips)});
  }

  void collect_results() {
    wakeup_.drain();  // before taking: a clip that ends after this wakes the next wait
    for (TaskResult &r : pool_.take_results())
      finish(r);
  }

  void dead_letter(const std::string &body, const std::string &reason, int attempts,
                   const std::string &key) {
    OutMessage m;
    m.body = body;
    m.string_headers.emplace_back(kReasonHeader, reason);
    m.string_headers.emplace_back("x-heatmap-worker", worker_id_);
    if (!key.empty())
      m.string_headers.emplace_back(kKeyHeader, key);
    m.int_headers.emplace_back(kAttemptsHeader, attempts);
    conn_->publish("", o_.topology.dead(), m, true);
    conn_->wait_confirms(kConfirmTimeout);
  }

  void finish(const TaskResult &r) {
    auto it = inflight_.find(r.id);
    if (it == inflight_.end())
      return;
    InFlight f = std::move(it->second);
    inflight_.erase(it);
    std::vector<std::uint64_t> live;
    if (conn_)
      for (const auto &[gen, tag] : f.tags)
        if (gen == generation_)
          live.push_back(tag);

    std::string reason;
    Outcome outcome = outcome_of(r.outcomes, &reason);
    Decision d = decide(outcome, f.attempts, o_.retry);
    std::string failed_key;
    for (const ClipOutcome &c : r.outcomes)
      if (c.ignored.empty() && c.result.status != Status::kDone &&
          c.result.status != Status::kAlreadyDone && failed_key.empty())
        failed_key = c.key;

    std::string after;
    if (live.empty()) {
      after = "; not acknowledged (the broker connection changed meanwhile): it comes again";
    } else if (d.action == Decision::Action::kRetry) {
      after = "; attempt " + std::to_string(d.attempts) + "/" +
              std::to_string(o_.retry.max_attempts) + ", again in " +
              fmt("%g", d.delay_ms / 1000.0) + " s";
    } else if (d.action == Decision::Action::kDeadLetter) {
      after = std::string("; ") + (outcome == Outcome::kPermanent ? "permanent" : "gave up") +
              " after attempt " + std::to_string(d.attempts) + "/" +
              std::to_string(o_.retry.max_attempts) + ", dead-lettered to '" + o_.topology.dead() +
              "'";
    }
    for (const ClipOutcome &c : r.outcomes) {
      std::string key = printable(c.key);
      if (!c.ignored.empty()) {
        log_line(stdout, "ignored " + key + " - " + c.ignored);
        continue;
      }
      const JobResult &j = c.result;
      std::string status;
      switch (j.status) {
        case Status::kDone:
          status = "ok";
          break;
        case Status::kAlreadyDone:
          status = "skipped";
          break;
        case Status::kTransient:
          status = d.action == Decision::Action::kRetry ? "retry" : "FAILED";
          break;
        case Status::kPermanent:
          status = "FAILED";
          break;
      }
      bool failed = j.status == Status::kTransient || j.status == Status::kPermanent;
      std::string msg = j.message;
      if (failed || live.empty())
        msg += after;
      if (msg.rfind("; ", 0) == 0)
        msg.erase(0, 2);
      log_line(stdout, status + " " + key + " frames=" + std::to_string(j.frames) +
                           " seconds=" + fmt("%.2f", j.seconds) + " fps=" + fmt("%.1f", j.fps) +
                           (msg.empty() ? "" : " - " + printable(msg, 400)));
    }
    if (live.empty())
      return;
    if (d.action == Decision::Action::kRetry) {
      OutMessage m;
      m.body = f.body;
      m.expiration_ms = std::to_string(d.delay_ms);
      m.int_headers.emplace_back(kAttemptsHeader, d.attempts);
      m.string_headers.emplace_back(kReasonHeader, reason);
      conn_->publish("", o_.topology.retry_queue(d.attempts), m, true);
      conn_->wait_confirms(kConfirmTimeout);
    } else if (d.action == Decision::Action::kDeadLetter) {
      dead_letter(
          f.body,
          (outcome == Outcome::kPermanent ? "permanent: " : "transient, gave up: ") + reason,
          d.attempts, failed_key);
    }
    for (std::uint64_t tag : live)
      conn_->ack(tag);
  }

  const WorkerOptions &o_;
  const std::atomic<bool> &stop_;
  const Wakeup &wakeup_;
  std::unique_ptr<AmqpConnection> conn_;
  bool consuming_ = false;
  std::uint64_t generation_ = 0;
  std::map<std::string, InFlight> inflight_;
  std::string worker_id_;
  JobPool pool_;  // last: its threads stop (and join) before the rest goes away
};

}  // namespace

int run_worker(const WorkerOptions &options, const ClipRunner &runner, const ClipFilter &filter,
               const std::atomic<bool> &stop, const Wakeup &wakeup) {
  Worker worker(options, runner, filter, stop, wakeup);
  return worker.run();
}

}  // namespace heatmap_worker
