// cli-notify.cpp: the `notify-setup` verb: RGW topic + bucket notification so that new clips
// arrive as S3 events on a RabbitMQ exchange (heatmap-worker consumes them).
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "cli.h"
#include "s3-notify.h"

namespace {

const char kUsage[] =
    "notify-setup s3://BUCKET [--amqp-url URL] [--exchange X] [--topic NAME] [--prefix P] "
    "[--id ID] [--ack-level broker|none] [--no-persistent] [--topic-arn ARN] [--show]";

const char kHelp[] =
    "Usage: s3src-helper notify-setup s3://BUCKET [OPTIONS]\n"
    "\n"
    "Makes the S3 server publish an event to a RabbitMQ exchange for every object created\n"
    "under the videos prefix, so that heatmap-worker renders a clip minutes after it lands:\n"
    "  1. CreateTopic (the SNS-compatible API of Ceph RGW, signed with SigV4, service sns)\n"
    "     with push-endpoint=AMQP URL, amqp-exchange=X, amqp-ack-level, persistent;\n"
    "  2. PutBucketNotificationConfiguration: s3:ObjectCreated:* with a prefix filter, to\n"
    "     that topic (the bucket's other notification configurations are kept).\n"
    "Running it again updates both (idempotent). Declare the exchange and bind the work\n"
    "queue first (heatmap-worker does so when it starts): RGW does not declare it.\n"
    "\n"
    "Options:\n"
    "  --amqp-url URL   the broker as the S3 server reaches it, amqp://host:port[/vhost]\n"
    "                   (default: AMQP_URL without its user and password). RGW 16 refuses\n"
    "                   a URL with a password over plain http; a password is refused here\n"
    "                   anyway: command lines are visible to every user\n"
    "  --exchange X     the exchange (default AMQP_EXCHANGE or heatmap)\n"
    "  --topic NAME     the topic name (default heatmap-clips)\n"
    "  --prefix P       key prefix filter (default S3_VIDEOS_PREFIX or raw_videos/)\n"
    "  --id ID          the notification's Id in the bucket (default heatmap-clips)\n"
    "  --ack-level L    broker (RGW waits for the broker's confirm, default) or none\n"
    "  --no-persistent  synchronous delivery: an event is lost when the broker is down\n"
    "                   (default: persistent, RGW queues and retries it)\n"
    "  --topic-arn ARN  skip CreateTopic and use this topic, e.g. MinIO's\n"
    "                   arn:minio:sqs::primary:amqp (configured with mc admin config)\n"
    "  --show           print the bucket's notification configuration afterwards\n"
    "  --help           this text\n"
    "Connection options as for every verb (s3src-helper ls --help); the credentials must be\n"
    "allowed to create topics (RGW: the bucket owner).\n"
    "Exit status: 0 set up, 1 the server refused, 2 wrong usage.\n";

std::string env_or(const char *name, const std::string &fallback) {
  const char *v = std::getenv(name);
  return v != nullptr && v[0] != '\0' ? v : fallback;
}

int run(std::vector<std::string> args) {
  cli::Common common = cli::parse_common(&args);
  s3::notify::TopicOptions topic;
  topic.name = "heatmap-clips";
  topic.exchange = env_or("AMQP_EXCHANGE", "heatmap");
  s3::notify::NotificationOptions notification;
  notification.id = "heatmap-clips";
  notification.prefix = env_or("S3_VIDEOS_PREFIX", "raw_videos/");
  if (!notification.prefix.empty() && notification.prefix.back() != '/')
    notification.prefix += '/';
  std::string amqp_url;
  bool amqp_url_from_flag = false;
  bool show = false;
  std::string bucket_text;
  for (std::size_t i = 0; i < args.size(); ++i) {
    cli::OptionArg option = cli::split_option(args[i]);
    const std::string &arg = option.name;
    auto take = [&]() -> std::string {
      if (option.inline_value)
        return option.value;
      if (i + 1 >= args.size())
        throw cli::UsageError(arg + " needs a value");
      return args[++i];
    };
    if (arg == "--amqp-url") {
      amqp_url = take();
      amqp_url_from_flag = true;
    } else if (arg == "--exchange") {
      topic.exchange = take();
    } else if (arg == "--topic") {
      topic.name = take();
    } else if (arg == "--prefix") {
      notification.prefix = take();
    } else if (arg == "--id") {
      notification.id = take();
    } else if (arg == "--ack-level") {
      topic.ack_level = take();
      if (topic.ack_level != "broker" && topic.ack_level != "none")
        throw cli::UsageError("--ack-level must be broker or none");
    } else if (arg == "--no-persistent") {
      topic.persistent = false;
    } else if (arg == "--topic-arn") {
      notification.topic_arn = take();
    } else if (arg == "--show") {
      show = true;
    } else if (arg.size() > 1 && arg[0] == '-') {
      throw cli::UsageError("unknown option " + arg);
    } else if (bucket_text.empty()) {
      bucket_text = arg;
    } else {
      throw cli::UsageError("more than one bucket");
    }
  }
  if (bucket_text.rfind("s3://", 0) != 0)
    throw cli::UsageError("expects an s3://BUCKET URL");
  s3::Url url = s3::Url::parse_bucket(bucket_text);
  if (!url.key.empty())
    throw cli::UsageError("names a key; give the bucket only (use --prefix for the filter)");
  if (amqp_url_from_flag && s3::notify::redact_userinfo(amqp_url) != amqp_url) {
    std::string rest = amqp_url.substr(amqp_url.find("://") + 3);
    std::string userinfo = rest.substr(0, rest.find('@'));
    if (userinfo.find(':') != std::string::npos)
      throw cli::UsageError(
          "--amqp-url carries a password, and command lines are visible to every user: give "
          "the URL without it (RGW then logs in as guest, loopback brokers only)");
  }
  if (amqp_url.empty()) {
    // The workers' URL minus the credentials: RGW 16 refuses them over plain http.
    amqp_url = env_or("AMQP_URL", "");
    std::string redacted = s3::notify::redact_userinfo(amqp_url);
    if (redacted != amqp_url)
      amqp_url = redacted.replace(redacted.find("***@"), 4, "");
  }
  if (notification.topic_arn.empty()) {
    if (amqp_url.empty())
      throw cli::UsageError("no broker: pass --amqp-url amqp://host:port or set AMQP_URL");
    topic.push_endpoint = amqp_url;
    notification.topic_arn = s3::notify::create_topic(common.config, topic);
    std::printf("topic %s: push to exchange '%s' at %s (ack level %s, %s)\n",
                notification.topic_arn.c_str(), topic.exchange.c_str(),
                s3::notify::redact_userinfo(amqp_url).c_str(), topic.ack_level.c_str(),
                topic.persistent ? "persistent" : "not persistent");
  }
  s3::notify::put_bucket_notification(common.config, url.bucket, notification);
  std::printf("notification '%s' on s3://%s: s3:ObjectCreated:* under '%s' -> %s\n",
              notification.id.c_str(), url.bucket.c_str(), notification.prefix.c_str(),
              notification.topic_arn.c_str());
  if (show)
    std::printf("%s\n", s3::notify::get_bucket_notification(common.config, url.bucket).c_str());
  return cli::kExitOk;
}

}  // namespace

int cli::run_notify_setup(const std::vector<std::string> &args) {
  for (const std::string &arg : args) {
    if (arg == "--help" || arg == "-h") {
      std::fputs(kHelp, stdout);
      return kExitOk;
    }
  }
  try {
    return run(args);
  } catch (const UsageError &e) {
    print_error(std::string("notify-setup: ") + e.what() + " (usage: s3src-helper " + kUsage + ")");
    return kExitUsage;
  } catch (const s3::Error &e) {
    print_error(std::string("notify-setup: ") + e.what());
    return e.kind() == s3::ErrorKind::kInvalidArgument ? kExitUsage : kExitFailure;
  } catch (const std::exception &e) {
    print_error(std::string("notify-setup: ") + e.what());
    return kExitFailure;
  }
}
