#ifndef ATTACHE_CRABBITMQ_SHIM_H
#define ATTACHE_CRABBITMQ_SHIM_H

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>

// Swift cannot call variadic C functions, nor import macros that cast, so the few that the
// bus needs are re-exposed here with fixed types.

static inline amqp_rpc_reply_t attache_amqp_login_plain(
    amqp_connection_state_t state, const char *vhost, int channel_max, int frame_max,
    int heartbeat_seconds, const char *user, const char *password) {
  return amqp_login(state, vhost, channel_max, frame_max, heartbeat_seconds,
                    AMQP_SASL_METHOD_PLAIN, user, password);
}

static const amqp_method_number_t ATTACHE_BASIC_DELIVER_METHOD = AMQP_BASIC_DELIVER_METHOD;
static const amqp_method_number_t ATTACHE_BASIC_ACK_METHOD = AMQP_BASIC_ACK_METHOD;
static const amqp_method_number_t ATTACHE_BASIC_NACK_METHOD = AMQP_BASIC_NACK_METHOD;
static const amqp_method_number_t ATTACHE_BASIC_RETURN_METHOD = AMQP_BASIC_RETURN_METHOD;
static const amqp_method_number_t ATTACHE_BASIC_CANCEL_METHOD = AMQP_BASIC_CANCEL_METHOD;
static const amqp_method_number_t ATTACHE_BASIC_CANCEL_OK_METHOD = AMQP_BASIC_CANCEL_OK_METHOD;
static const amqp_method_number_t ATTACHE_BASIC_GET_OK_METHOD = AMQP_BASIC_GET_OK_METHOD;
static const amqp_method_number_t ATTACHE_BASIC_GET_EMPTY_METHOD = AMQP_BASIC_GET_EMPTY_METHOD;
static const amqp_method_number_t ATTACHE_CHANNEL_CLOSE_METHOD = AMQP_CHANNEL_CLOSE_METHOD;
static const amqp_method_number_t ATTACHE_CONNECTION_CLOSE_METHOD = AMQP_CONNECTION_CLOSE_METHOD;
static const amqp_method_number_t ATTACHE_CONNECTION_BLOCKED_METHOD = AMQP_CONNECTION_BLOCKED_METHOD;
static const amqp_method_number_t ATTACHE_CONNECTION_UNBLOCKED_METHOD = AMQP_CONNECTION_UNBLOCKED_METHOD;

static const amqp_flags_t ATTACHE_BASIC_CONTENT_TYPE_FLAG = AMQP_BASIC_CONTENT_TYPE_FLAG;
static const amqp_flags_t ATTACHE_BASIC_DELIVERY_MODE_FLAG = AMQP_BASIC_DELIVERY_MODE_FLAG;
static const amqp_flags_t ATTACHE_BASIC_MESSAGE_ID_FLAG = AMQP_BASIC_MESSAGE_ID_FLAG;
static const amqp_flags_t ATTACHE_BASIC_HEADERS_FLAG = AMQP_BASIC_HEADERS_FLAG;
static const amqp_flags_t ATTACHE_BASIC_TYPE_FLAG = AMQP_BASIC_TYPE_FLAG;
static const amqp_flags_t ATTACHE_BASIC_TIMESTAMP_FLAG = AMQP_BASIC_TIMESTAMP_FLAG;

// Unions of field values are awkward from Swift; these keep table building readable.
static inline amqp_field_value_t attache_field_utf8(amqp_bytes_t bytes) {
  amqp_field_value_t v;
  v.kind = AMQP_FIELD_KIND_UTF8;
  v.value.bytes = bytes;
  return v;
}
static inline amqp_field_value_t attache_field_i64(int64_t number) {
  amqp_field_value_t v;
  v.kind = AMQP_FIELD_KIND_I64;
  v.value.i64 = number;
  return v;
}
static inline amqp_field_value_t attache_field_bool(int flag) {
  amqp_field_value_t v;
  v.kind = AMQP_FIELD_KIND_BOOLEAN;
  v.value.boolean = flag ? 1 : 0;
  return v;
}

#endif
