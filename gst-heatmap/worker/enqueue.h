// enqueue.h: publishing the pending clips of a bucket as plain job messages (heatmap-batch
// --enqueue): persistent messages, publisher confirms.
#pragma once

#include <cstddef>
#include <string>

#include "amqp-client.h"
#include "s3-client.h"
#include "s3-pending.h"

namespace heatmap_worker {

struct EnqueueOptions {
  std::string bucket_url;  // s3://bucket or file:///folder
  s3::Config s3;
  s3::pending::Layout layout;
  std::string date_prefix;    // VIDEO_PREFIX / --date-prefix
  std::size_t max_clips = 0;  // 0 = all
  bool force = false;
  AmqpEndpoint endpoint;
  ConnectOptions connect;
  Topology topology;
  std::string routing_key;  // "" = the queue name
};

struct EnqueueReport {
  std::size_t published = 0;
  std::size_t pending_total = 0;
  std::size_t done = 0;
};

// Lists the bucket (the same work list as heatmap-batch) and publishes one message per clip,
// oldest first, to the topology's exchange; returns once the broker confirmed every message.
// Throws s3::Error (listing) or AmqpError (broker); a failure mid-way leaves the confirmed
// messages queued (enqueueing again only adds duplicates, which the workers skip as done).
EnqueueReport enqueue_pending(const EnqueueOptions &options);

// The bucket name a message carries for a bucket URL: the S3 bucket, or the folder of file://.
std::string bucket_name_of(const s3::Url &url);

}  // namespace heatmap_worker
