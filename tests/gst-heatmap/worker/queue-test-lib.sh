# shellcheck shell=bash
# queue-test-lib.sh: a throw-away RabbitMQ broker (../shared/queue-test-server) and helpers for
# the heatmap-worker tests. Source it after setting `tmp` (a private folder) and `shared`.
# shellcheck disable=SC2154  # tmp and shared come from the caller
#
#   broker_start            starts a broker on a free loopback port; sets AMQP_PORT, BROKER_URL
#   broker_stop [keep]      stops it (keep = its state survives for broker_restart)
#   broker_restart          stop (state kept) + start on the same port and state
#   queue_counts Q          prints "READY UNACKED" of queue Q (rabbitmqctl)
#   queue_headers Q N       prints up to N messages of Q (amqp-get would remove them: uses
#                           heatmap-worker's --peek-dead instead when available)
#   wait_for SECONDS CMD... polls CMD every second until it succeeds; 1 on timeout

broker__dir() { printf '%s/rmq' "$tmp"; }

broker__free_port() {
  # RabbitMQ also takes AMQP_PORT + 20000 for Erlang distribution: stay below 45535.
  python3 - <<'PY'
import random, socket
for _ in range(500):
    p = random.randint(20000, 44000)
    try:
        for q in (p, p + 20000):
            s = socket.socket(); s.bind(("127.0.0.1", q)); s.close()
        print(p); break
    except OSError:
        pass
PY
}

broker_start() {
  local out
  AMQP_PORT=$(broker__free_port)
  if ! out=$(D=$(broker__dir) AMQP_PORT=$AMQP_PORT "$shared/queue-test-server/start-rabbitmq.sh" 2>&1); then
    echo "queue-test-lib: RabbitMQ did not start: $out" >&2
    return 1
  fi
  BROKER_URL=${out##*$'\n'}
  export AMQP_PORT BROKER_URL
}

broker_stop() {
  if [[ ${1:-} == keep ]]; then
    KEEP=1 D=$(broker__dir) "$shared/queue-test-server/stop-rabbitmq.sh" >/dev/null 2>&1 || true
  else
    D=$(broker__dir) "$shared/queue-test-server/stop-rabbitmq.sh" >/dev/null 2>&1 || true
  fi
}

broker_restart() {
  local out
  broker_stop keep
  out=$(RESTART=1 D=$(broker__dir) AMQP_PORT=$AMQP_PORT "$shared/queue-test-server/start-rabbitmq.sh" 2>&1) || {
    echo "queue-test-lib: RabbitMQ did not restart: $out" >&2
    return 1
  }
}

broker__ctl() {
  local state node
  state=$(cat "$(broker__dir)/state")
  node=$(cat "$(broker__dir)/node")
  env HOME="$state" RABBITMQ_NODENAME="$node" rabbitmqctl -q -n "$node" "$@"
}

queue_counts() { # QUEUE -> "READY UNACKED" (0 0 when the queue does not exist)
  local line
  line=$(broker__ctl list_queues name messages_ready messages_unacknowledged |
    awk -v q="$1" '$1 == q { print $2, $3 }')
  printf '%s\n' "${line:-0 0}"
}

# QUEUE -> "READY UNACKED" summed over QUEUE and its retry queues QUEUE.retry.N: a message
# waiting out a retry delay is still work to do. Fails (prints nothing) when the broker cannot
# be asked, so that a failed query never reads as an empty queue.
pending_counts() {
  local listing
  listing=$(broker__ctl list_queues name messages_ready messages_unacknowledged) || return 1
  awk -v q="$1" '$1 == q || index($1, q ".retry.") == 1 { r += $2; u += $3 }
    END { print r + 0, u + 0 }' <<<"$listing"
}

wait_for() { # SECONDS CMD...
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 1
  done
}
