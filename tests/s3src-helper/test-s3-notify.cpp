// test-s3-notify.cpp: unit tests of the bucket-notification documents (no server; the RGW path
// is covered end to end by tests/gst-heatmap/worker/test-queue-events.sh).
#include <glib.h>

#include <string>

#include "s3-notify.h"

namespace {

using namespace s3::notify;

void test_topic_form() {
  TopicOptions t;
  t.name = "clips";
  t.push_endpoint = "amqp://127.0.0.1:5672/%2f";
  t.exchange = "heat map&x";
  std::string form = create_topic_form(t);
  g_assert_cmpstr(form.c_str(), ==,
                  "Action=CreateTopic&Name=clips"
                  "&Attributes.entry.1.key=push-endpoint"
                  "&Attributes.entry.1.value=amqp%3A%2F%2F127.0.0.1%3A5672%2F%252f"
                  "&Attributes.entry.2.key=amqp-exchange&Attributes.entry.2.value=heat%20map%26x"
                  "&Attributes.entry.3.key=amqp-ack-level&Attributes.entry.3.value=broker"
                  "&Attributes.entry.4.key=persistent&Attributes.entry.4.value=true");
}

void test_topic_arn() {
  std::string arn = parse_topic_arn(
      "<CreateTopicResponse xmlns=\"https://sns.amazonaws.com/doc/"
      "2010-03-31/\"><CreateTopicResult><TopicArn>arn:aws:sns:default::"
      "clips</TopicArn></CreateTopicResult></CreateTopicResponse>");
  g_assert_cmpstr(arn.c_str(), ==, "arn:aws:sns:default::clips");
  g_assert_true(parse_topic_arn("").empty());
  g_assert_true(parse_topic_arn("<Error><Code>x</Code></Error>").empty());
  g_assert_true(parse_topic_arn("not xml <").empty());
  // A DTD is refused as in every other S3 reply (entities are how a small reply grows).
  g_assert_true(parse_topic_arn("<!DOCTYPE r [<!ENTITY a \"arn:x\">]><CreateTopicResponse>"
                                "<CreateTopicResult><TopicArn>&a;</TopicArn></CreateTopicResult>"
                                "</CreateTopicResponse>")
                    .empty());
}

void test_notification_xml() {
  NotificationOptions o;
  o.id = "heatmap-clips";
  o.topic_arn = "arn:aws:sns:default::clips";
  o.prefix = "raw<videos>/";
  std::string existing =
      "<NotificationConfiguration><TopicConfiguration><Id>other</Id><Topic>arn:x</Topic>"
      "<Event>s3:ObjectRemoved:*</Event></TopicConfiguration><TopicConfiguration>"
      "<Id>heatmap-clips</Id><Topic>arn:old</Topic></TopicConfiguration>"
      "</NotificationConfiguration>";
  std::string xml = notification_xml(o, existing);
  // The other configuration is kept, ours replaced (the old topic is gone), values escaped.
  g_assert_nonnull(strstr(xml.c_str(), "<Id>other</Id><Topic>arn:x</Topic>"));
  g_assert_null(strstr(xml.c_str(), "arn:old"));
  g_assert_nonnull(strstr(xml.c_str(),
                          "<TopicConfiguration><Id>heatmap-clips</Id><Topic>arn:aws:sns:default::"
                          "clips</Topic><Event>s3:ObjectCreated:*</Event><Filter><S3Key>"
                          "<FilterRule><Name>prefix</Name><Value>raw&lt;videos&gt;/</Value>"
                          "</FilterRule></S3Key></Filter></TopicConfiguration>"));
  // A MinIO target ARN is a queue.
  o.topic_arn = "arn:minio:sqs::primary:amqp";
  o.prefix = "";
  xml = notification_xml(o, "");
  g_assert_nonnull(strstr(xml.c_str(), "<QueueConfiguration><Id>heatmap-clips</Id><Queue>"));
  g_assert_null(strstr(xml.c_str(), "<Filter>"));
  // An existing configuration that cannot be read is not rewritten without its entries.
  for (const char *unreadable :
       {"<Error><Code>x</Code></Error>", "not xml <", "<!DOCTYPE n><NotificationConfiguration/>"}) {
    try {
      notification_xml(o, unreadable);
      g_assert_not_reached();
    } catch (const s3::Error &e) {
      g_assert_true(e.kind() == s3::ErrorKind::kServer);
      g_assert_null(strchr(e.what(), '\n'));
    }
  }
  xml = notification_xml(o,
                         "<NotificationConfiguration xmlns=\"http://s3.amazonaws.com/doc/"
                         "2006-03-01/\"/>\n");
  g_assert_nonnull(strstr(xml.c_str(), "<QueueConfiguration><Id>heatmap-clips</Id>"));
}

void test_redact_userinfo() {
  g_assert_true(redact_userinfo("amqp://u:secret@h:5672/v") == "amqp://***@h:5672/v");
  g_assert_true(redact_userinfo("amqp://h:5672/v@x") == "amqp://h:5672/v@x");
  g_assert_true(redact_userinfo("amqp://h") == "amqp://h");
}

void test_needs_endpoint() {
  s3::Config config;  // AWS: no SNS-to-AMQP there
  config.access_key = "a";
  config.secret_key = "b";
  TopicOptions t;
  t.name = "n";
  t.exchange = "x";
  t.push_endpoint = "amqp://h:1";
  try {
    create_topic(config, t);
    g_assert_not_reached();
  } catch (const s3::Error &e) {
    g_assert_true(e.kind() == s3::ErrorKind::kInvalidArgument);
    g_assert_nonnull(strstr(e.what(), "S3_ENDPOINT"));
  }
  config.endpoint = "http://127.0.0.1:1";
  t.push_endpoint = "http://h:1";
  try {
    create_topic(config, t);
    g_assert_not_reached();
  } catch (const s3::Error &e) {
    g_assert_true(e.kind() == s3::ErrorKind::kInvalidArgument);
  }
}

}  // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/s3-notify/topic-form", test_topic_form);
  g_test_add_func("/s3-notify/topic-arn", test_topic_arn);
  g_test_add_func("/s3-notify/notification-xml", test_notification_xml);
  g_test_add_func("/s3-notify/redact-userinfo", test_redact_userinfo);
  g_test_add_func("/s3-notify/needs-endpoint", test_needs_endpoint);
  return g_test_run();
}
