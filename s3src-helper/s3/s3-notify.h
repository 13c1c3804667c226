// s3-notify.h: bucket notifications to an AMQP exchange on Ceph RGW (and other servers with the
// SNS-compatible topic API): CreateTopic, Put/GetBucketNotificationConfiguration.
#pragma once

#include <string>
#include <vector>

#include "s3-client.h"

namespace s3 {
namespace notify {

// An RGW topic that pushes events to an AMQP exchange. RGW 16 refuses a push endpoint with a
// user and password over plain http (its AMQP login is then guest).
struct TopicOptions {
  std::string name;                  // topic name, e.g. heatmap-clips
  std::string push_endpoint;         // amqp://host:port[/vhost] as the S3 server reaches the broker
  std::string exchange;              // the broker exchange the events are published to (must exist)
  std::string ack_level = "broker";  // broker: RGW waits for the broker's confirm; none
  bool persistent = true;            // RGW queues events and retries them while the broker is down
};

struct NotificationOptions {
  std::string id;         // the configuration's Id in the bucket
  std::string topic_arn;  // from create_topic() (or a MinIO target ARN, arn:minio:sqs:...)
  std::string prefix;     // only keys under this prefix, "" = all
  std::vector<std::string> events = {"s3:ObjectCreated:*"};
};

// CreateTopic (POST Action=CreateTopic, SigV4 service "sns", region config.region) on
// config.endpoint; creating an existing topic updates its attributes. Returns the TopicArn.
// Throws Error (kInvalidArgument without an endpoint: AWS S3 cannot push to AMQP).
std::string create_topic(const Config &config, const TopicOptions &topic);

// PutBucketNotificationConfiguration with one TopicConfiguration (QueueConfiguration for an
// arn:...:sqs:... ARN) for options.events under options.prefix. Keeps the bucket's other
// configurations (read first with get_bucket_notification) and replaces the one with the same
// Id. Throws Error.
void put_bucket_notification(const Config &config, const std::string &bucket,
                             const NotificationOptions &options);

// The bucket's NotificationConfiguration document as the server returns it.
std::string get_bucket_notification(const Config &config, const std::string &bucket);

// Pure helpers (unit-tested).
std::string create_topic_form(const TopicOptions &topic);  // the POST body, form-encoded
std::string parse_topic_arn(const std::string &body);      // "" when the reply has none
// The configuration document: options' entry after the existing entries whose Id differs
// (existing = a NotificationConfiguration document or ""). Throws Error(kServer) when existing
// cannot be read (not a NotificationConfiguration, or a DTD): nothing of it is dropped.
std::string notification_xml(const NotificationOptions &options, const std::string &existing);
// Cuts "user:password@" from an amqp:// URL for messages.
std::string redact_userinfo(const std::string &url);

}  // namespace notify
}  // namespace s3
