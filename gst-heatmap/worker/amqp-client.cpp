// amqp-client.cpp: the librabbitmq calls behind AmqpConnection (one frame pump for deliveries,
// publisher confirms, returns and broker-initiated closes).
#include "amqp-client.h"

#include <amqp_framing.h>
#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>
#include <errno.h>
#include <glib.h>
#include <poll.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstring>
#include <memory>

namespace heatmap_worker {

namespace {

constexpr const char *kSystemCaBundle = "/etc/ssl/certs/ca-certificates.crt";
// The longest next_delivery sleeps in poll() without calling into librabbitmq (heartbeats are
// at least 1 s apart).
constexpr std::chrono::milliseconds kHeartbeatSlice(1000);

std::string bytes_str(amqp_bytes_t b) {
  return b.len == 0 ? std::string() : std::string(static_cast<const char *>(b.bytes), b.len);
}

amqp_bytes_t bytes_of(const std::string &s) {
  amqp_bytes_t b;
  b.len = s.size();
  b.bytes = const_cast<char *>(s.data());
  return b;
}

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv;
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

// The reply-code and reply-text of a channel.close / connection.close, e.g.
// "404 NOT_FOUND - no queue 'x' in vhost '/'".
std::string close_reason(const amqp_method_t &method) {
  if (method.id == AMQP_CHANNEL_CLOSE_METHOD) {
    auto *m = static_cast<amqp_channel_close_t *>(method.decoded);
    return std::to_string(m->reply_code) + " " + bytes_str(m->reply_text);
  }
  if (method.id == AMQP_CONNECTION_CLOSE_METHOD) {
    auto *m = static_cast<amqp_connection_close_t *>(method.decoded);
    return std::to_string(m->reply_code) + " " + bytes_str(m->reply_text);
  }
  return amqp_method_name(method.id);
}

void string_headers(const amqp_table_t &table, std::map<std::string, std::string> *out) {
  for (int i = 0; i < table.num_entries; i++) {
    const amqp_table_entry_t &e = table.entries[i];
    if (e.value.kind == AMQP_FIELD_KIND_UTF8 || e.value.kind == AMQP_FIELD_KIND_BYTES)
      (*out)[bytes_str(e.key)] = bytes_str(e.value.value.bytes);
  }
}

int int_header(const amqp_table_t &table, const char *name) {
  for (int i = 0; i < table.num_entries; i++) {
    const amqp_table_entry_t &e = table.entries[i];
    if (bytes_str(e.key) != name)
      continue;
    switch (e.value.kind) {
      case AMQP_FIELD_KIND_I8:
        return e.value.value.i8;
      case AMQP_FIELD_KIND_U8:
        return e.value.value.u8;
      case AMQP_FIELD_KIND_I16:
        return e.value.value.i16;
      case AMQP_FIELD_KIND_U16:
        return e.value.value.u16;
      case AMQP_FIELD_KIND_I32:
        return e.value.value.i32;
      case AMQP_FIELD_KIND_U32:
        return static_cast<int>(std::min<uint32_t>(e.value.value.u32, 1000000));
      case AMQP_FIELD_KIND_I64:
        return static_cast<int>(
            std::max<int64_t>(0, std::min<int64_t>(e.value.value.i64, 1000000)));
      case AMQP_FIELD_KIND_U64:
        return static_cast<int>(std::min<uint64_t>(e.value.value.u64, 1000000));
      default:
        return 0;
    }
  }
  return 0;
}

}  // namespace

AmqpEndpoint AmqpEndpoint::parse(const std::string &url) {
  std::string scheme = url.substr(0, url.find("://"));
  if (scheme != "amqp" && scheme != "amqps")
    throw AmqpError("AMQP_URL must start with amqp:// or amqps://", false);
  // librabbitmq would take "amqp://" as localhost: a host must be written out.
  std::size_t authority = scheme.size() + 3;
  std::string hostport = url.substr(authority, url.find('/', authority) - authority);
  hostport =
      hostport.substr(hostport.rfind('@') == std::string::npos ? 0 : hostport.rfind('@') + 1);
  if (hostport.empty() || hostport[0] == ':')
    throw AmqpError("AMQP_URL names no broker host", false);
  std::vector<char> buf(url.begin(), url.end());
  buf.push_back('\0');
  amqp_connection_info info;
  amqp_default_connection_info(&info);
  // The message never echoes the URL: it may carry the password.
  if (amqp_parse_url(buf.data(), &info) != AMQP_STATUS_OK || info.host == nullptr ||
      info.host[0] == '\0')
    throw AmqpError(
        "AMQP_URL is not a valid amqp://[user[:password]@]host[:port][/vhost] URL (see the "
        "RabbitMQ URI spec; percent-encode special characters in the user and password)",
        false);
  AmqpEndpoint e;
  e.host = info.host;
  e.port = info.port;
  e.vhost = info.vhost != nullptr && info.vhost[0] != '\0' ? info.vhost : "/";
  e.user = info.user != nullptr ? info.user : "guest";
  e.password = info.password != nullptr ? info.password : "";
  e.tls = info.ssl != 0;
  std::fill(buf.begin(), buf.end(), '\0');
  return e;
}

std::string AmqpEndpoint::display() const {
  auto escape = [](const std::string &s) {
    char *e = g_uri_escape_string(s.c_str(), nullptr, FALSE);
    std::string out(e);
    g_free(e);
    return out;
  };
  std::string vh = escape(vhost);
  bool v6 = host.find(':') != std::string::npos;
  return std::string(tls ? "amqps://" : "amqp://") + escape(user) + "@" +
         (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port) + "/" + vh;
}

AmqpConnection::AmqpConnection(const AmqpEndpoint &endpoint, const ConnectOptions &options)
    : where_(endpoint.display()) {
  conn_ = amqp_new_connection();
  if (conn_ == nullptr)
    throw AmqpError("out of memory creating an AMQP connection", true);
  amqp_socket_t *socket = nullptr;
  if (endpoint.tls) {
    socket = amqp_ssl_socket_new(conn_);
    if (socket == nullptr)
      throw AmqpError("cannot create a TLS socket for " + where_, true);
    amqp_ssl_socket_set_verify_peer(socket, options.tls_verify ? 1 : 0);
    amqp_ssl_socket_set_verify_hostname(socket, options.tls_verify ? 1 : 0);
    std::string ca = options.tls_cacert;
    if (ca.empty() && access(kSystemCaBundle, R_OK) == 0)
      ca = kSystemCaBundle;
    if (!ca.empty() && amqp_ssl_socket_set_cacert(socket, ca.c_str()) != AMQP_STATUS_OK)
      throw AmqpError("cannot load the CA certificates in " + ca + " (AMQP_CACERT)", false);
  } else {
    socket = amqp_tcp_socket_new(conn_);
    if (socket == nullptr)
      throw AmqpError("cannot create a socket for " + where_, true);
  }
  timeval tv = to_timeval(std::chrono::seconds(options.timeout_s));
  int status = amqp_socket_open_noblock(socket, endpoint.host.c_str(), endpoint.port, &tv);
  if (status != AMQP_STATUS_OK)
    throw AmqpError("cannot connect to the broker at " + where_ + ": " + amqp_error_string2(status),
                    true);
  amqp_set_handshake_timeout(conn_, &tv);
  amqp_set_rpc_timeout(conn_, &tv);

  amqp_table_entry_t prop;
  prop.key = amqp_cstring_bytes("connection_name");
  prop.value.kind = AMQP_FIELD_KIND_UTF8;
  prop.value.value.bytes = bytes_of(options.connection_name);
  amqp_table_t props;
  props.num_entries = options.connection_name.empty() ? 0 : 1;
  props.entries = &prop;
  amqp_rpc_reply_t r = amqp_login_with_properties(
      conn_, endpoint.vhost.c_str(), 0, AMQP_DEFAULT_FRAME_SIZE, options.heartbeat_s, &props,
      AMQP_SASL_METHOD_PLAIN, endpoint.user.c_str(), endpoint.password.c_str());
  if (r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION &&
      r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
    throw AmqpError("the broker at " + where_ + " refused the login: " + close_reason(r.reply) +
                        " (check the user, password and vhost in AMQP_URL)",
                    false);
  }
  if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
      r.library_error == AMQP_STATUS_CONNECTION_CLOSED)
    throw AmqpError("the broker at " + where_ +
                        " closed the connection during login (wrong user or password in "
                        "AMQP_URL, or an unknown vhost?)",
                    true);
  check_reply(r, "login");
  amqp_channel_open(conn_, 1);
  check_rpc("opening channel 1");
  amqp_channel_open(conn_, 2);
  check_rpc("opening channel 2");
  amqp_confirm_select_t select;
  select.nowait = 0;
  amqp_simple_rpc_decoded(conn_, 2, AMQP_CONFIRM_SELECT_METHOD, AMQP_CONFIRM_SELECT_OK_METHOD,
                          &select);
  check_rpc("enabling publisher confirms");
}

AmqpConnection::~AmqpConnection() {
  if (conn_ == nullptr)
    return;
  // Best effort: a clean close tells the broker to requeue our unacked messages at once (a
  // dropped socket does the same, a little later).
  timeval tv = to_timeval(std::chrono::seconds(3));
  amqp_set_rpc_timeout(conn_, &tv);
  amqp_connection_close(conn_, AMQP_REPLY_SUCCESS);
  amqp_destroy_connection(conn_);
}

void AmqpConnection::check_rpc(const char *what) {
  check_reply(amqp_get_rpc_reply(conn_), what);
}

void AmqpConnection::check_reply(const amqp_rpc_reply_t &r, const char *what) {
  switch (r.reply_type) {
    case AMQP_RESPONSE_NORMAL:
      return;
    case AMQP_RESPONSE_NONE:
      throw AmqpError(std::string(what) + ": no reply from the broker at " + where_, true);
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
      throw AmqpError(
          std::string(what) + " on " + where_ + ": " + amqp_error_string2(r.library_error), true);
    case AMQP_RESPONSE_SERVER_EXCEPTION: {
      std::string reason = close_reason(r.reply);
      if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
        amqp_connection_close_ok_t ok;
        amqp_send_method(conn_, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
      }
      // A channel error (e.g. 406 PRECONDITION_FAILED on a queue declared with other
      // arguments) is a configuration problem, not a lost connection.
      throw AmqpError(std::string(what) + ": the broker at " + where_ + " said " + reason,
                      r.reply.id == AMQP_CONNECTION_CLOSE_METHOD);
    }
  }
}

void AmqpConnection::check_status(int status, const char *what) {
  if (status != AMQP_STATUS_OK)
    throw AmqpError(std::string(what) + " on " + where_ + ": " + amqp_error_string2(status), true);
}

void AmqpConnection::declare(const Topology &t) {
  amqp_exchange_declare(conn_, 2, bytes_of(t.exchange), amqp_cstring_bytes("topic"), 0, 1, 0, 0,
                        amqp_empty_table);
  check_rpc(("declaring the exchange '" + t.exchange + "'").c_str());
  amqp_queue_declare(conn_, 2, bytes_of(t.queue), 0, 1, 0, 0, amqp_empty_table);
  check_rpc(("declaring the queue '" + t.queue + "'").c_str());
  amqp_queue_bind(conn_, 2, bytes_of(t.queue), bytes_of(t.exchange), bytes_of(t.binding_key),
                  amqp_empty_table);
  check_rpc(("binding the queue '" + t.queue + "' to '" + t.exchange + "'").c_str());
  std::string dead = t.dead();
  amqp_queue_declare(conn_, 2, bytes_of(dead), 0, 1, 0, 0, amqp_empty_table);
  check_rpc(("declaring the dead-letter queue '" + dead + "'").c_str());
}

void AmqpConnection::declare_retry_queue(const Topology &t, int attempt) {
  std::string name = t.retry_queue(attempt);
  amqp_table_entry_t args[2];
  args[0].key = amqp_cstring_bytes("x-dead-letter-exchange");
  args[0].value.kind = AMQP_FIELD_KIND_UTF8;
  args[0].value.value.bytes = amqp_cstring_bytes("");
  args[1].key = amqp_cstring_bytes("x-dead-letter-routing-key");
  args[1].value.kind = AMQP_FIELD_KIND_UTF8;
  args[1].value.value.bytes = bytes_of(t.queue);
  amqp_table_t table;
  table.num_entries = 2;
  table.entries = args;
  amqp_queue_declare(conn_, 2, bytes_of(name), 0, 1, 0, 0, table);
  check_rpc(("declaring the retry queue '" + name + "'").c_str());
}

std::uint32_t AmqpConnection::message_count(const std::string &queue) {
  amqp_queue_declare_ok_t *ok =
      amqp_queue_declare(conn_, 2, bytes_of(queue), 1, 0, 0, 0, amqp_empty_table);
  check_rpc(("looking up the queue '" + queue + "'").c_str());
  return ok->message_count;
}

void AmqpConnection::consume(const std::string &queue, std::uint16_t prefetch) {
  amqp_basic_qos(conn_, 1, 0, prefetch, 0);
  check_rpc("setting the prefetch count");
  amqp_basic_consume_ok_t *ok =
      amqp_basic_consume(conn_, 1, bytes_of(queue), amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
  check_rpc(("consuming from '" + queue + "'").c_str());
  consumer_tag_ = bytes_str(ok->consumer_tag);
}

void AmqpConnection::cancel_consume() {
  if (consumer_tag_.empty())
    return;
  // nowait: deliveries already on their way are simply never started; closing the channel
  // gives them back to the queue.
  amqp_basic_cancel_t cancel;
  cancel.consumer_tag = bytes_of(consumer_tag_);
  cancel.nowait = 1;
  check_status(amqp_send_method(conn_, 1, AMQP_BASIC_CANCEL_METHOD, &cancel), "cancelling");
  consumer_tag_.clear();
}

bool AmqpConnection::pump(std::chrono::milliseconds timeout) {
  amqp_maybe_release_buffers(conn_);
  amqp_frame_t frame;
  timeval tv = to_timeval(timeout);
  int status = amqp_simple_wait_frame_noblock(conn_, &frame, &tv);
  if (status == AMQP_STATUS_TIMEOUT)
    return false;
  if (status != AMQP_STATUS_OK)
    throw AmqpError(
        "lost the connection to the broker at " + where_ + ": " + amqp_error_string2(status), true);
  if (frame.frame_type != AMQP_FRAME_METHOD)
    return true;  // heartbeats are handled inside librabbitmq; nothing else comes unasked
  switch (frame.payload.method.id) {
    case AMQP_BASIC_DELIVER_METHOD: {
      auto *d = static_cast<amqp_basic_deliver_t *>(frame.payload.method.decoded);
      Delivery delivery;
      delivery.tag = d->delivery_tag;
      delivery.redelivered = d->redelivered != 0;
      delivery.exchange = bytes_str(d->exchange);
      delivery.routing_key = bytes_str(d->routing_key);
      amqp_message_t message;
      amqp_rpc_reply_t r = amqp_read_message(conn_, frame.channel, &message, 0);
      if (r.reply_type != AMQP_RESPONSE_NORMAL)
        throw AmqpError(
            "lost the connection to the broker at " + where_ + " while reading a message", true);
      delivery.body = bytes_str(message.body);
      if (message.properties._flags & AMQP_BASIC_HEADERS_FLAG) {
        delivery.attempts = int_header(message.properties.headers, kAttemptsHeader);
        string_headers(message.properties.headers, &delivery.headers);
      }
      amqp_destroy_message(&message);
      if (!consumer_tag_.empty())
        deliveries_.push_back(std::move(delivery));
      return true;
    }
    case AMQP_BASIC_ACK_METHOD: {
      auto *a = static_cast<amqp_basic_ack_t *>(frame.payload.method.decoded);
      if (a->multiple)
        unconfirmed_.erase(unconfirmed_.begin(), unconfirmed_.upper_bound(a->delivery_tag));
      else
        unconfirmed_.erase(a->delivery_tag);
      return true;
    }
    case AMQP_BASIC_NACK_METHOD: {
      auto *n = static_cast<amqp_basic_nack_t *>(frame.payload.method.decoded);
      auto begin = n->multiple ? unconfirmed_.begin() : unconfirmed_.find(n->delivery_tag);
      auto end = n->multiple                   ? unconfirmed_.upper_bound(n->delivery_tag)
                 : begin == unconfirmed_.end() ? begin
                                               : std::next(begin);
      nacked_ += static_cast<std::size_t>(std::distance(begin, end));
      unconfirmed_.erase(begin, end);
      return true;
    }
    case AMQP_BASIC_RETURN_METHOD: {
      auto *r = static_cast<amqp_basic_return_t *>(frame.payload.method.decoded);
      return_reason_ = std::to_string(r->reply_code) + " " + bytes_str(r->reply_text) +
                       " (exchange '" + bytes_str(r->exchange) + "', routing key '" +
                       bytes_str(r->routing_key) + "')";
      returned_++;
      amqp_message_t message;
      amqp_rpc_reply_t rr = amqp_read_message(conn_, frame.channel, &message, 0);
      if (rr.reply_type != AMQP_RESPONSE_NORMAL)
        throw AmqpError("lost the connection to the broker at " + where_, true);
      amqp_destroy_message(&message);
      return true;
    }
    case AMQP_CHANNEL_CLOSE_METHOD: {
      std::string reason = close_reason(frame.payload.method);
      amqp_channel_close_ok_t ok;
      amqp_send_method(conn_, frame.channel, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
      throw AmqpError("the broker at " + where_ + " closed channel " +
                          std::to_string(frame.channel) + ": " + reason,
                      true);
    }
    case AMQP_CONNECTION_CLOSE_METHOD: {
      std::string reason = close_reason(frame.payload.method);
      amqp_connection_close_ok_t ok;
      amqp_send_method(conn_, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
      throw AmqpError("the broker at " + where_ + " closed the connection: " + reason, true);
    }
    case AMQP_BASIC_CANCEL_METHOD:
      // The broker cancelled our consumer (queue deleted, node down in a cluster).
      throw AmqpError("the broker at " + where_ + " cancelled the consumer (queue deleted?)", true);
    default:
      return true;
  }
}

std::optional<Delivery> AmqpConnection::next_delivery(std::chrono::milliseconds timeout,
                                                      int wake_fd) {
  using std::chrono::milliseconds;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  bool socket_quiet = false;  // the last pump found nothing to read
  while (deliveries_.empty()) {
    auto left =
        std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
    if (wake_fd < 0) {
      if (left.count() <= 0 || !pump(left))
        break;
      continue;
    }
    // Frames librabbitmq has already read (poll cannot see them) and anything on the socket:
    // a pump that does not wait. It also sends a heartbeat when one is due.
    if (!socket_quiet && pump(milliseconds(0)))
      continue;
    if (left.count() <= 0)
      break;
    // Sleep on the socket and the wake descriptor together; at most kHeartbeatSlice, so that
    // heartbeats go out in time (librabbitmq only sends them from inside its own calls).
    struct pollfd fds[2] = {{amqp_get_sockfd(conn_), POLLIN, 0}, {wake_fd, POLLIN, 0}};
    int n = poll(fds, 2, static_cast<int>(std::min(left, kHeartbeatSlice).count()));
    if (n < 0 && errno != EINTR)
      throw AmqpError("waiting for the broker at " + where_ + ": " + std::strerror(errno), true);
    if (n > 0 && (fds[1].revents & POLLIN) != 0)
      break;
    if (n > 0) {
      socket_quiet = false;  // readable, hung up or in error: the pump reads or reports it
      continue;
    }
    // Nothing arrived for a while: a pump with a short wait sends a due heartbeat and notices
    // a broker that has missed its own (librabbitmq only checks that when it may wait).
    socket_quiet = !pump(milliseconds(1));
  }
  if (deliveries_.empty())
    return std::nullopt;
  Delivery d = std::move(deliveries_.front());
  deliveries_.pop_front();
  return d;
}

void AmqpConnection::ack(std::uint64_t tag) {
  check_status(amqp_basic_ack(conn_, 1, tag, 0), "acknowledging a message");
}

std::vector<Delivery> AmqpConnection::peek(const std::string &queue, std::size_t max) {
  std::vector<Delivery> out;
  while (out.size() < max) {
    amqp_rpc_reply_t r = amqp_basic_get(conn_, 1, bytes_of(queue), 0);
    if (r.reply_type != AMQP_RESPONSE_NORMAL)
      check_reply(r, ("reading the queue '" + queue + "'").c_str());
    if (r.reply.id == AMQP_BASIC_GET_EMPTY_METHOD)
      break;
    Delivery d;
    auto *ok = static_cast<amqp_basic_get_ok_t *>(r.reply.decoded);
    d.tag = ok->delivery_tag;
    d.exchange = bytes_str(ok->exchange);
    d.routing_key = bytes_str(ok->routing_key);
    amqp_message_t message;
    amqp_rpc_reply_t rr = amqp_read_message(conn_, 1, &message, 0);
    if (rr.reply_type != AMQP_RESPONSE_NORMAL)
      throw AmqpError("lost the connection to the broker at " + where_, true);
    d.body = bytes_str(message.body);
    if (message.properties._flags & AMQP_BASIC_HEADERS_FLAG) {
      d.attempts = int_header(message.properties.headers, kAttemptsHeader);
      string_headers(message.properties.headers, &d.headers);
    }
    amqp_destroy_message(&message);
    out.push_back(std::move(d));
  }
  return out;
}

void AmqpConnection::publish(const std::string &exchange, const std::string &routing_key,
                             const OutMessage &message, bool mandatory) {
  amqp_basic_properties_t props;
  std::memset(&props, 0, sizeof props);
  props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG;
  props.content_type = bytes_of(message.content_type);
  props.delivery_mode = message.persistent ? 2 : 1;
  if (!message.expiration_ms.empty()) {
    props._flags |= AMQP_BASIC_EXPIRATION_FLAG;
    props.expiration = bytes_of(message.expiration_ms);
  }
  std::vector<amqp_table_entry_t> entries;
  for (const auto &[name, value] : message.string_headers) {
    amqp_table_entry_t e;
    e.key = bytes_of(name);
    e.value.kind = AMQP_FIELD_KIND_UTF8;
    e.value.value.bytes = bytes_of(value);
    entries.push_back(e);
  }
  for (const auto &[name, value] : message.int_headers) {
    amqp_table_entry_t e;
    e.key = bytes_of(name);
    e.value.kind = AMQP_FIELD_KIND_I64;
    e.value.value.i64 = value;
    entries.push_back(e);
  }
  if (!entries.empty()) {
    props._flags |= AMQP_BASIC_HEADERS_FLAG;
    props.headers.num_entries = static_cast<int>(entries.size());
    props.headers.entries = entries.data();
  }
  int status = amqp_basic_publish(conn_, 2, bytes_of(exchange), bytes_of(routing_key),
                                  mandatory ? 1 : 0, 0, &props, bytes_of(message.body));
  check_status(status, "publishing a message");
  unconfirmed_.insert(next_seq_++);
}

void AmqpConnection::wait_confirms(std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!unconfirmed_.empty()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      throw AmqpError("the broker at " + where_ + " did not confirm " +
                          std::to_string(unconfirmed_.size()) + " published message(s) within " +
                          std::to_string(timeout.count()) + " s",
                      true);
    pump(left);
  }
  if (nacked_ > 0) {
    std::size_t n = nacked_;
    nacked_ = 0;
    throw AmqpError("the broker at " + where_ + " refused " + std::to_string(n) +
                        " published message(s) (nack)",
                    false);
  }
  if (returned_ > 0) {
    std::size_t n = returned_;
    returned_ = 0;
    throw AmqpError(std::to_string(n) + " published message(s) reached no queue: " + return_reason_,
                    false);
  }
}

}  // namespace heatmap_worker
