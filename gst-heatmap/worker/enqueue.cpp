// enqueue.cpp: pending clips -> persistent, confirmed job messages.
#include "enqueue.h"

#include <memory>
#include <vector>

#include "job-message.h"

namespace heatmap_worker {

namespace {
constexpr std::size_t kConfirmWindow = 500;  // messages in flight before waiting for confirms
constexpr auto kConfirmTimeout = std::chrono::seconds(60);
}  // namespace

std::string bucket_name_of(const s3::Url &url) {
  return url.bucket;
}

EnqueueReport enqueue_pending(const EnqueueOptions &o) {
  s3::Url url = s3::Url::parse_bucket(o.bucket_url);
  std::unique_ptr<s3::Bucket> bucket = s3::open_bucket(url, o.s3);
  std::vector<s3::ObjectInfo> videos;
  std::vector<s3::ObjectInfo> heatmaps;
  bucket->list_all(o.layout.videos_prefix + o.date_prefix, "", &videos);
  bucket->list_all(o.layout.heatmaps_prefix + o.date_prefix, "", &heatmaps);
  s3::pending::Options plan_options;
  plan_options.max_clips = o.max_clips;
  plan_options.force = o.force;
  s3::pending::Plan plan = s3::pending::plan(o.layout, videos, heatmaps, plan_options);

  EnqueueReport report;
  report.pending_total = plan.pending_total;
  report.done = plan.done;
  AmqpConnection conn(o.endpoint, o.connect);
  conn.declare(o.topology);
  std::string routing_key = o.routing_key.empty() ? o.topology.queue : o.routing_key;
  std::string name = bucket_name_of(url);
  for (const s3::pending::Clip &clip : plan.clips) {
    OutMessage m;
    m.body = make_job_message(name, clip.video.key);
    conn.publish(o.topology.exchange, routing_key, m, true);
    if (conn.unconfirmed() >= kConfirmWindow)
      conn.wait_confirms(kConfirmTimeout);
    report.published++;
  }
  conn.wait_confirms(kConfirmTimeout);
  return report;
}

}  // namespace heatmap_worker
