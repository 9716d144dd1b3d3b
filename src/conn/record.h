/**
 * @file record.h
 * A finished connection: everything one conn.log row holds.  The connection
 * builder fills it when a connection is removed and hands it, borrowed, to a
 * sink (the writer, the /recent ring, statistics).
 */
#ifndef CONNLOGD_CONN_RECORD_H
#define CONNLOGD_CONN_RECORD_H

#include <stdbool.h>
#include <stdint.h>

typedef enum {
    CONN_PROTO_UNKNOWN = 0, /* "unknown_transport" */
    CONN_PROTO_TCP,
    CONN_PROTO_UDP,
    CONN_PROTO_ICMP,
} conn_proto_t;

/** Zeek's conn_state values, in the order of the spec's tables. */
typedef enum {
    CONN_STATE_S0 = 0,
    CONN_STATE_S1,
    CONN_STATE_SF,
    CONN_STATE_REJ,
    CONN_STATE_S2,
    CONN_STATE_S3,
    CONN_STATE_RSTO,
    CONN_STATE_RSTR,
    CONN_STATE_RSTOS0,
    CONN_STATE_RSTRH,
    CONN_STATE_SH,
    CONN_STATE_SHR,
    CONN_STATE_OTH,
    CONN_STATE_COUNT
} conn_state_t;

const char *conn_state_name(conn_state_t s);
const char *conn_proto_name(conn_proto_t p);

/** Tri-state for optional booleans (local_orig/local_resp). */
typedef enum { TRI_UNSET = -1, TRI_F = 0, TRI_T = 1 } tri_t;

#define CONN_UID_LEN 24          /* "C" + up to 6 + 11 base-62 digits + NUL, rounded */
#define CONN_HISTORY_MAX 48      /* letters kept; more are counted as a weird */
#define CONN_SERVICE_MAX 96
#define CONN_MAX_PARENTS 4

typedef struct conn_record {
    double ts;
    char uid[CONN_UID_LEN];
    uint8_t orig_h[16], resp_h[16];     /* IPv4 as ::ffff:a.b.c.d */
    uint16_t orig_p, resp_p;            /* ICMP: type and counterpart/code */
    conn_proto_t proto;
    uint8_t ip_proto;
    char service[CONN_SERVICE_MAX];     /* comma-joined; "" = unset */
    bool has_duration;                  /* duration > 0 (Zeek logs the next three only then) */
    double duration;
    uint64_t orig_bytes, resp_bytes;
    conn_state_t conn_state;
    tri_t local_orig, local_resp;
    uint64_t missed_bytes;
    char history[CONN_HISTORY_MAX + 1]; /* "" = unset (prints "-") */
    uint64_t orig_pkts, orig_ip_bytes, resp_pkts, resp_ip_bytes;
    int n_parents;                      /* tunnel_parents set; 0 = unset */
    char parents[CONN_MAX_PARENTS][CONN_UID_LEN];
} conn_record_t;

/** Where finished connections go.  @p rec is borrowed for the call only. */
typedef void (*conn_sink_fn)(const conn_record_t *rec, void *user);

#endif
