// amqp-client.h: a small RAII client over librabbitmq: connect, declare, consume, ack, publish
// with publisher confirms; one thread uses a connection (librabbitmq is not thread-safe).
#pragma once

#include <amqp.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace heatmap_worker {

// Everything that goes wrong talking to the broker. lost() = the connection is gone (reconnect);
// otherwise the broker refused something (bad credentials, vhost, queue arguments) and retrying
// the same thing will not help. Messages never contain the password.
class AmqpError : public std::runtime_error {
 public:
  AmqpError(const std::string &message, bool lost) : std::runtime_error(message), lost_(lost) {}
  bool lost() const { return lost_; }

 private:
  bool lost_;
};

// AMQP_URL parsed: amqp://user:password@host:port/vhost or amqps://... (RabbitMQ URI spec;
// %2f is '/', an empty or missing vhost means "/"). display() never shows the password.
struct AmqpEndpoint {
  std::string host;
  int port = 5672;
  std::string vhost = "/";
  std::string user = "guest";
  std::string password = "guest";
  bool tls = false;

  static AmqpEndpoint parse(const std::string &url);  // throws AmqpError (not lost)
  std::string display() const;                        // amqp://user@host:port/vhost
};

struct ConnectOptions {
  int heartbeat_s = 30;    // 0 = off
  int timeout_s = 15;      // socket connect, handshake and every RPC
  std::string tls_cacert;  // PEM file; "" = the system's (/etc/ssl/certs/ca-certificates.crt)
  bool tls_verify = true;
  std::string connection_name;  // shown in the management UI
};

// Where the work lives. The worker and --enqueue declare all of it (idempotent):
//   exchange     durable topic exchange the clip events arrive on (RGW publishes here)
//   queue        durable work queue, bound to the exchange with binding_key
//   dead_queue   durable queue for failed jobs (reason in the x-heatmap-reason header)
//   retry queues <queue>.retry.<n>: durable, no consumers; a message waits there for its
//                per-message TTL and is dead-lettered back to the work queue
struct Topology {
  std::string exchange = "heatmap";
  std::string queue = "heatmap-clips";
  std::string dead_queue;  // "" = <queue>.dead
  std::string binding_key = "#";
  std::string dead() const { return dead_queue.empty() ? queue + ".dead" : dead_queue; }
  std::string retry_queue(int attempt) const { return queue + ".retry." + std::to_string(attempt); }
};

constexpr const char *kAttemptsHeader = "x-heatmap-attempts";  // failed attempts so far
constexpr const char *kReasonHeader = "x-heatmap-reason";
constexpr const char *kKeyHeader = "x-heatmap-key";

struct Delivery {
  std::uint64_t tag = 0;
  bool redelivered = false;
  std::string exchange;
  std::string routing_key;
  std::string body;
  int attempts = 0;                            // x-heatmap-attempts, 0 when absent
  std::map<std::string, std::string> headers;  // the string-valued headers
};

struct OutMessage {
  std::string body;
  std::string content_type = "application/json";
  bool persistent = true;
  std::string expiration_ms;  // per-message TTL, "" = none
  std::vector<std::pair<std::string, std::string>> string_headers;
  std::vector<std::pair<std::string, std::int64_t>> int_headers;
};

class AmqpConnection {
 public:
  // Connects, logs in and opens channel 1 (consuming) and channel 2 (publishing, confirm mode).
  AmqpConnection(const AmqpEndpoint &endpoint, const ConnectOptions &options);
  ~AmqpConnection();
  AmqpConnection(const AmqpConnection &) = delete;
  AmqpConnection &operator=(const AmqpConnection &) = delete;

  void declare(const Topology &topology);
  void declare_retry_queue(const Topology &topology, int attempt);
  // Messages ready in a queue (passive declare); throws when it does not exist.
  std::uint32_t message_count(const std::string &queue);

  void consume(const std::string &queue, std::uint16_t prefetch);
  void cancel_consume();  // no more deliveries; unacked ones stay ours until ack or close
  // Waits up to timeout for a delivery while servicing heartbeats and confirms. With a
  // wake_fd (e.g. an eventfd) it also returns, without a delivery, as soon as that descriptor
  // is readable: the caller sleeps in one poll() on the socket and its own events.
  std::optional<Delivery> next_delivery(std::chrono::milliseconds timeout, int wake_fd = -1);
  void ack(std::uint64_t tag);
  // Up to max messages of queue, read with basic.get and left unacknowledged: they return to
  // the queue, unchanged, when this connection closes (for inspecting the dead-letter queue).
  std::vector<Delivery> peek(const std::string &queue, std::size_t max);

  // Publishes on the confirm channel; mandatory = an unroutable message is an error.
  void publish(const std::string &exchange, const std::string &routing_key,
               const OutMessage &message, bool mandatory);
  // Waits until the broker confirmed every publish so far; throws on a nack, a returned
  // (unroutable) message or a timeout.
  void wait_confirms(std::chrono::seconds timeout);
  std::size_t unconfirmed() const { return unconfirmed_.size(); }

 private:
  void check_rpc(const char *what);
  void check_reply(const amqp_rpc_reply_t &reply, const char *what);
  void check_status(int status, const char *what);
  // Reads one frame (up to timeout) and files it; false on timeout.
  bool pump(std::chrono::milliseconds timeout);

  amqp_connection_state_t conn_ = nullptr;
  std::string where_;  // endpoint display, for messages
  std::string consumer_tag_;
  std::deque<Delivery> deliveries_;
  std::uint64_t next_seq_ = 1;
  std::set<std::uint64_t> unconfirmed_;
  std::size_t nacked_ = 0;
  std::size_t returned_ = 0;
  std::string return_reason_;
};

}  // namespace heatmap_worker
