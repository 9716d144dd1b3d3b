/**
 * @file service.h
 * Application-protocol identification for the conn.log `service` column.
 *
 * Zeek fills `service` from analyzers that confirm a protocol from the
 * payload, whatever the port (spec section 9).  connlogd has no full
 * analyzers; this module looks at the first payload bytes of each direction
 * (bounded per connection, no allocation per packet) and confirms or rejects
 * candidates so that the column agrees with Zeek's.
 *
 * The connection builder owns one svc_state_t per connection (inside its
 * record) and calls svc_conn_new() when a connection is created and
 * svc_inspect() for packets that carry payload; svc_format() renders the
 * comma-joined list in confirmation order.  Cross-connection knowledge (FTP
 * data channels announced on a control channel) lives in the engine.
 */
#ifndef CONNLOGD_APP_SERVICE_H
#define CONNLOGD_APP_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Service ids; 0 is "none".  Names come from svc_name(). */
typedef uint8_t svc_id_t;

#define SVC_MAX_NAMES 6

/**
 * Per-connection state: keep it small, there is one per tracked connection
 * (44 bytes).  The fields after `done` are private to src/app: they record
 * which analyzers are still attached or may still be enabled by a DPD
 * signature, the stream layer (plain, after STARTTLS, inside a CONNECT
 * tunnel) and a little framing state for the analyzer that owns it.
 */
typedef struct {
    svc_id_t names[SVC_MAX_NAMES]; /* confirmed, in confirmation order */
    uint8_t n_names;
    uint8_t pkts[2];               /* payload packets inspected per direction (orig, resp) */
    uint8_t done;                  /* nothing more to learn: stop inspecting */
    uint8_t mode;                  /* stream layer (SVC_MODE_* in svc_int.h) */
    uint8_t owner;                 /* analyzer owning st/aux/skip, 0 = none */
    uint16_t off[2];               /* bytes seen in the current layer per direction (saturating) */
    uint16_t seen;                 /* payload bytes seen, both directions (saturating) */
    uint8_t st;                    /* owner's state */
    uint8_t aux;                   /* owner's extra byte */
    uint32_t scratch;              /* per-analyzer progress bits (svc_int.h) */
    uint32_t cand;                 /* analyzers still attached or whose signature may match */
    uint32_t act;                  /* analyzers attached (port) or enabled (signature) */
    uint32_t sigm;                 /* two-sided signatures: side matched, 2 bits per analyzer */
    uint32_t skip[2];              /* owner's framing: bytes of a message still to come */
} svc_state_t;

typedef struct svc_engine svc_engine_t;

typedef struct {
    bool is_tcp;                   /* else UDP */
    bool is_orig;                  /* sent by the current originator */
    bool tcp_partial;              /* TCP: Zeek's TCP_Analyzer::IsPartial() (no SYN seen first);
                                    * HTTP, SSL, SSH, ... ignore such connections */
    const uint8_t *orig_h, *resp_h; /* 16-byte addresses, IPv4 as ::ffff:a.b.c.d */
    uint16_t orig_p, resp_p;
    uint8_t tcp_flags;
    const uint8_t *payload;        /* borrowed for the call */
    uint32_t len;                  /* payload length per headers */
    uint32_t caplen;               /* payload bytes present (<= len) */
    double ts;
} svc_pkt_t;

/** New engine; free with svc_engine_free(). */
svc_engine_t *svc_engine_new(void);
/** Free @p e (NULL is a no-op). */
void svc_engine_free(svc_engine_t *e);

/** A connection was created: clears @p s, attaches the analyzers Zeek would
 *  attach for the responder port and transport, and applies expectations
 *  (FTP data channels announced on a control connection). */
void svc_conn_new(svc_engine_t *e, svc_state_t *s, const uint8_t orig_h[16], uint16_t orig_p,
                  const uint8_t resp_h[16], uint16_t resp_p, bool is_tcp, double ts);

/** Inspect one packet's payload (cheap when @p s->done).  The payload is
 *  borrowed for the call only. */
void svc_inspect(svc_engine_t *e, svc_state_t *s, const svc_pkt_t *p);

/** Add a service by name from outside (tunnels: "vxlan", ...; flow labels).
 *  Unknown names are ignored. */
void svc_add_name(svc_state_t *s, const char *name);

/** Remove a service by name (an analyzer violation after its confirmation,
 *  e.g. a tunnel decapsulation that fails later).  Unknown names are ignored. */
void svc_remove_name(svc_state_t *s, const char *name);

/** Map an IPFIX applicationId / YAF silkAppLabel (a port-style label) to a
 *  service; returns false if unknown. */
bool svc_from_app_label(svc_state_t *s, uint16_t label);

/** Render the comma-joined names into @p buf (always NUL-terminated);
 *  returns the length, 0 when there is none. */
size_t svc_format(const svc_state_t *s, char *buf, size_t len);

/** Lower-case Zeek name of @p id ("" for 0 or unknown). */
const char *svc_name(svc_id_t id);

/** Number of FTP data-channel expectations currently held by @p e (tests). */
unsigned svc_engine_expectations(const svc_engine_t *e);

#endif
