#ifndef ATTACHE_CRABBITMQ_SHIM_H
#define ATTACHE_CRABBITMQ_SHIM_H

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>

// Swift cannot call variadic C functions, nor import macros that cast, so the few that the
// bus needs are re-exposed here with fixed types.

// Logs in with client properties that ask for consumer-cancel notifications (so a consumer
// learns that its queue was deleted or moved) and connection.blocked, and that name the
// connection for operators. librabbitmq merges these with its default properties.
static inline amqp_rpc_reply_t attache_amqp_login_plain(
    amqp_connection_state_t state, const char *vhost, int channel_max, int frame_max,
    int heartbeat_seconds, const char *connection_name, const char *user, const char *password) {
  amqp_table_entry_t capabilities[3];
  capabilities[0].key = amqp_cstring_bytes("consumer_cancel_notify");
  capabilities[0].value.kind = AMQP_FIELD_KIND_BOOLEAN;
  capabilities[0].value.value.boolean = 1;
  capabilities[1].key = amqp_cstring_bytes("connection.blocked");
  capabilities[1].value.kind = AMQP_FIELD_KIND_BOOLEAN;
  capabilities[1].value.value.boolean = 1;
  capabilities[2].key = amqp_cstring_bytes("authentication_failure_close");
  capabilities[2].value.kind = AMQP_FIELD_KIND_BOOLEAN;
  capabilities[2].value.value.boolean = 1;
  amqp_table_entry_t properties[2];
  properties[0].key = amqp_cstring_bytes("capabilities");
  properties[0].value.kind = AMQP_FIELD_KIND_TABLE;
  properties[0].value.value.table.num_entries = 3;
  properties[0].value.value.table.entries = capabilities;
  properties[1].key = amqp_cstring_bytes("connection_name");
  properties[1].value.kind = AMQP_FIELD_KIND_UTF8;
  properties[1].value.value.bytes = amqp_cstring_bytes(connection_name);
  amqp_table_t table = {2, properties};
  return amqp_login_with_properties(state, vhost, channel_max, frame_max, heartbeat_seconds,
                                    &table, AMQP_SASL_METHOD_PLAIN, user, password);
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
