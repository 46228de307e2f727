/*
 * The C baseline of `scripts/bench bus`: the same work as Tools/bench-bus (the Swift bench
 * over the `Bus` module), written directly against librabbitmq 0.11.
 *
 *   1. connect, declare a durable quorum queue, enable publisher confirms;
 *   2. publish COUNT persistent messages (delivery_mode 2) of SIZE bytes to the default
 *      exchange, WINDOW at a time: publish WINDOW messages, then read basic.ack frames
 *      (honouring multiple=true) until all of them are confirmed, then the next window;
 *      check that the queue holds COUNT messages;
 *   3. on a new connection, basic.qos PREFETCH and basic.consume with manual acks, and ack
 *      each delivery on its own with amqp_basic_ack (multiple=false) until COUNT arrived;
 *   4. delete the queue.
 *
 * Timing, identical on both sides: publishing runs from the first publish on a ready
 * connection to the last confirm; consuming from the first delivery to the connection closed
 * after the last ack (including the bus's 500 ms wait after its last ack, mirrored here). Prints `publish_per_s: X` and `consume_per_s: Y` on stdout, and on
 * stderr the times with this process's CPU time and context switches for each phase.
 *
 * Build: gcc -O2 -o bus_baseline bus_baseline.c -lrabbitmq  (done by scripts/bench).
 * Not a SwiftPM target: SwiftPM ignores folders that Package.swift does not declare.
 */
#define _POSIX_C_SOURCE 200809L
#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define CHANNEL 1
/* The same connection parameters as the Swift bus (AMQPConnection.swift). */
#define FRAME_MAX 131072
#define HEARTBEAT_SECONDS 30
/* A stalled broker fails the run instead of hanging it. */
#define READ_TIMEOUT_SECONDS 60

static const char *program = "bus_baseline";
static struct amqp_connection_info target;
static const char *queue_name;
static int queue_declared;

static void cleanup_queue(void);

static void fail(const char *format, ...) {
  va_list arguments;
  fprintf(stderr, "%s: error: ", program);
  va_start(arguments, format);
  vfprintf(stderr, format, arguments);
  va_end(arguments);
  fputc('\n', stderr);
  cleanup_queue();
  exit(1);
}

static void usage(const char *problem) {
  if (problem) fprintf(stderr, "%s: %s\n", program, problem);
  fprintf(stderr,
          "usage: %s [--url amqp://user:pass@host:port/vhost] [--queue NAME] [--count N] [--size BYTES]\n"
          "       [--window W] [--prefetch P]\n"
          "  --url defaults to $ATTACHE_AMQP_URL, then amqp://guest:guest@127.0.0.1:5672/\n"
          "  --queue defaults to a fresh name; the queue is deleted at the end\n",
          program);
  exit(2);
}

static double now_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* This process's CPU time and context switches, for the diagnostic line on stderr. */
struct usage {
  double cpu_seconds;
  long switches;
};

static struct usage usage_now(void) {
  struct rusage r;
  getrusage(RUSAGE_SELF, &r);
  struct usage u = {(double)r.ru_utime.tv_sec + (double)r.ru_utime.tv_usec / 1e6 + (double)r.ru_stime.tv_sec +
                        (double)r.ru_stime.tv_usec / 1e6,
                    r.ru_nvcsw + r.ru_nivcsw};
  return u;
}

static struct usage usage_since(struct usage start) {
  struct usage now = usage_now();
  struct usage u = {now.cpu_seconds - start.cpu_seconds, now.switches - start.switches};
  return u;
}

/* A description of a failed RPC reply, or NULL if it succeeded. */
static const char *reply_problem(amqp_rpc_reply_t reply, char *buffer, size_t size) {
  switch (reply.reply_type) {
    case AMQP_RESPONSE_NORMAL:
      return NULL;
    case AMQP_RESPONSE_NONE:
      return "no reply (missing RPC reply type)";
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
      return amqp_error_string2(reply.library_error);
    case AMQP_RESPONSE_SERVER_EXCEPTION:
      if (reply.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
        amqp_connection_close_t *close = reply.reply.decoded;
        snprintf(buffer, size, "the broker closed the connection: %u %.*s", close->reply_code,
                 (int)close->reply_text.len, (const char *)close->reply_text.bytes);
        return buffer;
      }
      if (reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        amqp_channel_close_t *close = reply.reply.decoded;
        snprintf(buffer, size, "the broker closed the channel: %u %.*s", close->reply_code,
                 (int)close->reply_text.len, (const char *)close->reply_text.bytes);
        return buffer;
      }
      snprintf(buffer, size, "server exception (method 0x%08X)", reply.reply.id);
      return buffer;
  }
  return "unknown reply type";
}

static void check_reply(amqp_connection_state_t state, const char *operation) {
  char buffer[512];
  const char *problem = reply_problem(amqp_get_rpc_reply(state), buffer, sizeof buffer);
  if (problem) fail("%s: %s", operation, problem);
}

static void check_status(int status, const char *operation) {
  if (status != AMQP_STATUS_OK) fail("%s: %s", operation, amqp_error_string2(status));
}

static amqp_connection_state_t connect_broker(void) {
  char buffer[512];
  amqp_connection_state_t state = amqp_new_connection();
  if (!state) fail("out of memory");
  amqp_socket_t *socket = amqp_tcp_socket_new(state);
  if (!socket) fail("cannot create a socket");
  struct timeval timeout = {5, 0};
  int status = amqp_socket_open_noblock(socket, target.host, target.port, &timeout);
  if (status != AMQP_STATUS_OK)
    fail("cannot connect to amqp://%s:%d: %s", target.host, target.port, amqp_error_string2(status));
  const char *problem =
      reply_problem(amqp_login(state, target.vhost, 0, FRAME_MAX, HEARTBEAT_SECONDS, AMQP_SASL_METHOD_PLAIN,
                               target.user, target.password),
                    buffer, sizeof buffer);
  if (problem) fail("cannot log in to amqp://%s@%s:%d: %s", target.user, target.host, target.port, problem);
  amqp_channel_open(state, CHANNEL);
  check_reply(state, "opening a channel");
  return state;
}

static void disconnect_broker(amqp_connection_state_t state) {
  char buffer[512];
  const char *problem = reply_problem(amqp_channel_close(state, CHANNEL, AMQP_REPLY_SUCCESS), buffer, sizeof buffer);
  if (!problem) problem = reply_problem(amqp_connection_close(state, AMQP_REPLY_SUCCESS), buffer, sizeof buffer);
  amqp_destroy_connection(state);
  if (problem) fail("closing the connection: %s", problem);
}

/* Best effort, on a fresh connection: a failed run must not leave its queue (and its messages)
 * on the broker. */
static void cleanup_queue(void) {
  if (!queue_declared) return;
  queue_declared = 0;
  amqp_connection_state_t state = amqp_new_connection();
  amqp_socket_t *socket = state ? amqp_tcp_socket_new(state) : NULL;
  struct timeval timeout = {5, 0};
  if (socket && amqp_socket_open_noblock(socket, target.host, target.port, &timeout) == AMQP_STATUS_OK &&
      amqp_login(state, target.vhost, 0, FRAME_MAX, 0, AMQP_SASL_METHOD_PLAIN, target.user, target.password)
              .reply_type == AMQP_RESPONSE_NORMAL &&
      amqp_channel_open(state, CHANNEL)) {
    amqp_queue_delete(state, CHANNEL, amqp_cstring_bytes(queue_name), 0, 0);
    amqp_channel_close(state, CHANNEL, AMQP_REPLY_SUCCESS);
    amqp_connection_close(state, AMQP_REPLY_SUCCESS);
  }
  if (state) amqp_destroy_connection(state);
}

/* Checks, on a connection of its own, that the queue holds `expected` ready messages (all of them
 * once confirmed); the quorum queue may show them a moment after the confirms: a few retries.
 * Not used after consuming: RabbitMQ 3.10 quorum queues may requeue a few of the messages whose
 * acks arrived just before the channel closed. */
static void check_count(long expected, const char *moment) {
  amqp_connection_state_t state = connect_broker();
  long found = -1;
  for (int attempt = 0; attempt <= 50; attempt++) {
    if (attempt > 0) {
      struct timespec pause = {0, 100000000};
      nanosleep(&pause, NULL);
    }
    amqp_queue_declare_ok_t *inspected =
        amqp_queue_declare(state, CHANNEL, amqp_cstring_bytes(queue_name), 1, 0, 0, 0, amqp_empty_table);
    check_reply(state, "inspecting the queue");
    found = (long)inspected->message_count;
    if (found == expected) break;
  }
  disconnect_broker(state);
  if (found != expected) fail("the queue holds %ld messages %s, expected %ld", found, moment, expected);
}

static long parse_number(const char *option, const char *text, long minimum, long maximum) {
  char *end;
  errno = 0;
  long value = strtol(text, &end, 10);
  if (errno || *end || end == text || value < minimum || value > maximum) {
    char message[256];
    snprintf(message, sizeof message, "%s wants a whole number from %ld to %ld, not '%s'", option, minimum, maximum,
             text);
    usage(message);
  }
  return value;
}

int main(int argc, char **argv) {
  const char *url = getenv("ATTACHE_AMQP_URL");
  if (!url || !*url) url = "amqp://guest:guest@127.0.0.1:5672/";
  long count = 100000, size = 256, window = 100, prefetch = 100;
  char default_queue[64];
  snprintf(default_queue, sizeof default_queue, "bench-bus-c-%ld-%ld", (long)getpid(), (long)time(NULL));
  queue_name = default_queue;

  for (int i = 1; i < argc; i++) {
    const char *option = argv[i];
    if (!strcmp(option, "--help") || !strcmp(option, "-h")) usage(NULL);
    if (i + 1 >= argc) {
      char message[128];
      snprintf(message, sizeof message, "%s needs a value", option);
      usage(message);
    }
    const char *value = argv[++i];
    if (!strcmp(option, "--url")) url = value;
    else if (!strcmp(option, "--queue")) queue_name = value;
    else if (!strcmp(option, "--count")) count = parse_number(option, value, 1, 1000000000);
    else if (!strcmp(option, "--size")) size = parse_number(option, value, 0, 100000000);
    else if (!strcmp(option, "--window")) window = parse_number(option, value, 1, 1000000);
    else if (!strcmp(option, "--prefetch")) prefetch = parse_number(option, value, 1, 65535);
    else {
      char message[128];
      snprintf(message, sizeof message, "unknown option %s", option);
      usage(message);
    }
  }
  if (!*queue_name) usage("--queue must not be empty");

  /* amqp_parse_url writes into its argument and points the parsed fields into it. */
  char *url_copy = strdup(url);
  amqp_default_connection_info(&target);
  if (!url_copy || amqp_parse_url(url_copy, &target) != AMQP_STATUS_OK) fail("invalid AMQP URL: %s", url);
  if (target.ssl) fail("amqps is not supported: %s", url);
  /* Like the Swift bus (AMQPConfiguration.swift): an empty path means the vhost "/". */
  if (!target.vhost || !*target.vhost) target.vhost = "/";

  /* ------------------------------------------------------------------ publish -- */
  amqp_connection_state_t state = connect_broker();

  amqp_table_entry_t queue_type = {amqp_cstring_bytes("x-queue-type"), {AMQP_FIELD_KIND_UTF8, {0}}};
  queue_type.value.value.bytes = amqp_cstring_bytes("quorum");
  amqp_table_t queue_arguments = {1, &queue_type};
  amqp_queue_declare_ok_t *declared =
      amqp_queue_declare(state, CHANNEL, amqp_cstring_bytes(queue_name), 0, 1, 0, 0, queue_arguments);
  check_reply(state, "declaring the queue");
  if (declared->message_count != 0) {
    fail("queue %s already holds %u messages: use a fresh queue name", queue_name, declared->message_count);
  }
  queue_declared = 1;
  amqp_confirm_select(state, CHANNEL);
  check_reply(state, "enabling publisher confirms");

  void *body = malloc(size ? (size_t)size : 1);
  if (!body) fail("out of memory");
  memset(body, 'x', (size_t)size);
  amqp_bytes_t body_bytes = {(size_t)size, body};
  amqp_bytes_t exchange = amqp_cstring_bytes("");
  amqp_bytes_t routing_key = amqp_cstring_bytes(queue_name);
  amqp_basic_properties_t properties;
  memset(&properties, 0, sizeof properties);
  properties._flags = AMQP_BASIC_DELIVERY_MODE_FLAG;
  properties.delivery_mode = 2;

  /* confirmed[i]: whether delivery tag first_tag + i of the current window is confirmed. */
  unsigned char *confirmed = malloc((size_t)window);
  if (!confirmed) fail("out of memory");
  struct timeval read_timeout = {READ_TIMEOUT_SECONDS, 0};
  uint64_t next_tag = 1;

  struct usage publish_usage = usage_now();
  double publish_start = now_seconds();
  for (long sent = 0; sent < count;) {
    long batch = count - sent < window ? count - sent : window;
    uint64_t first_tag = next_tag;
    memset(confirmed, 0, (size_t)batch);
    for (long i = 0; i < batch; i++) {
      check_status(amqp_basic_publish(state, CHANNEL, exchange, routing_key, 0, 0, &properties, body_bytes),
                   "publishing");
    }
    next_tag += (uint64_t)batch;
    sent += batch;

    long pending = batch;
    while (pending > 0) {
      amqp_frame_t frame;
      amqp_maybe_release_buffers(state);
      int status = amqp_simple_wait_frame_noblock(state, &frame, &read_timeout);
      if (status == AMQP_STATUS_TIMEOUT) fail("no publisher confirm within %d s", READ_TIMEOUT_SECONDS);
      check_status(status, "reading publisher confirms");
      if (frame.frame_type != AMQP_FRAME_METHOD) continue;
      uint64_t tag;
      int multiple;
      switch (frame.payload.method.id) {
        case AMQP_BASIC_ACK_METHOD: {
          amqp_basic_ack_t *ack = frame.payload.method.decoded;
          tag = ack->delivery_tag;
          multiple = ack->multiple;
          break;
        }
        case AMQP_BASIC_NACK_METHOD:
          fail("the broker rejected (nacked) a message");
          return 1;
        case AMQP_CHANNEL_CLOSE_METHOD: {
          amqp_channel_close_t *close = frame.payload.method.decoded;
          fail("the broker closed the channel: %u %.*s", close->reply_code, (int)close->reply_text.len,
               (const char *)close->reply_text.bytes);
          return 1;
        }
        case AMQP_CONNECTION_CLOSE_METHOD: {
          amqp_connection_close_t *close = frame.payload.method.decoded;
          fail("the broker closed the connection: %u %.*s", close->reply_code, (int)close->reply_text.len,
               (const char *)close->reply_text.bytes);
          return 1;
        }
        default:
          continue;
      }
      if (tag < first_tag || tag >= next_tag) continue; /* not of this window: already counted */
      uint64_t from = multiple ? first_tag : tag;
      for (uint64_t t = from; t <= tag; t++) {
        if (!confirmed[t - first_tag]) {
          confirmed[t - first_tag] = 1;
          pending--;
        }
      }
    }
  }
  double publish_seconds = now_seconds() - publish_start;
  publish_usage = usage_since(publish_usage);
  disconnect_broker(state);
  check_count(count, "after publishing (all confirmed)");
  free(confirmed);
  free(body);

  /* ------------------------------------------------------------------ consume -- */
  state = connect_broker();
  amqp_basic_qos(state, CHANNEL, 0, (uint16_t)prefetch, 0);
  check_reply(state, "setting the prefetch");
  amqp_basic_consume(state, CHANNEL, amqp_cstring_bytes(queue_name), amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
  check_reply(state, "subscribing to the queue");

  double consume_start = 0;
  struct usage consume_usage = {0, 0};
  for (long received = 0; received < count;) {
    amqp_envelope_t envelope;
    amqp_maybe_release_buffers(state);
    amqp_rpc_reply_t reply = amqp_consume_message(state, &envelope, &read_timeout, 0);
    if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && reply.library_error == AMQP_STATUS_TIMEOUT) {
      fail("no delivery within %d s after %ld of %ld messages", READ_TIMEOUT_SECONDS, received, count);
    }
    if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && reply.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
      /* A frame other than a delivery: the broker cancelled us, or closed the channel. */
      amqp_frame_t frame;
      check_status(amqp_simple_wait_frame_noblock(state, &frame, &read_timeout), "reading from the broker");
      if (frame.frame_type == AMQP_FRAME_METHOD &&
          (frame.payload.method.id == AMQP_BASIC_CANCEL_METHOD || frame.payload.method.id == AMQP_CHANNEL_CLOSE_METHOD ||
           frame.payload.method.id == AMQP_CONNECTION_CLOSE_METHOD)) {
        fail("the broker ended the subscription after %ld of %ld messages (method 0x%08X)", received, count,
             frame.payload.method.id);
      }
      continue;
    }
    char buffer[512];
    const char *problem = reply_problem(reply, buffer, sizeof buffer);
    if (problem) fail("consuming: %s", problem);
    if (received == 0) {
      consume_usage = usage_now();
      consume_start = now_seconds();
    }
    if (envelope.message.body.len != (size_t)size) {
      fail("received a message of %zu bytes, expected %ld", envelope.message.body.len, size);
    }
    check_status(amqp_basic_ack(state, CHANNEL, envelope.delivery_tag, 0), "acknowledging");
    amqp_destroy_envelope(&envelope);
    received++;
  }
  /* The bus's Consumer.close() lets its last ack age 500 ms before closing the channel
   * (RabbitMQ 3.10 quorum queues can put back messages acked just before a close): the same
   * wait here keeps the two sides doing the same work. */
  struct timespec linger = {0, 500 * 1000 * 1000};
  nanosleep(&linger, NULL);
  disconnect_broker(state);
  double consume_seconds = now_seconds() - consume_start;
  consume_usage = usage_since(consume_usage);

  /* ------------------------------------------------------------------ cleanup -- */
  state = connect_broker();
  amqp_queue_delete(state, CHANNEL, amqp_cstring_bytes(queue_name), 0, 0);
  check_reply(state, "deleting the queue");
  queue_declared = 0;
  disconnect_broker(state);
  free(url_copy);

  fprintf(stderr,
          "%s: %ld messages of %ld bytes, window %ld, prefetch %ld: publish %.3f s (client CPU %.3f s, %ld context "
          "switches), consume %.3f s (client CPU %.3f s, %ld context switches)\n",
          program, count, size, window, prefetch, publish_seconds, publish_usage.cpu_seconds, publish_usage.switches,
          consume_seconds, consume_usage.cpu_seconds, consume_usage.switches);
  printf("publish_per_s: %.0f\n", (double)count / publish_seconds);
  printf("consume_per_s: %.0f\n", (double)count / consume_seconds);
  return 0;
}
