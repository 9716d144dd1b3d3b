/**
 * @file normalize.h
 * From fixbuf records to flow_obs_t: one internal template covering every
 * element we read from IPFIX and translated NetFlow v9 records, a per-template
 * presence map (so "absent" and "zero" stay apart), and the conversion of each
 * time, counter, flag, sampling and label encoding.  One thread only.
 */
#ifndef CONNLOGD_IPFIX_NORMALIZE_H
#define CONNLOGD_IPFIX_NORMALIZE_H

#include <stdbool.h>
#include <stdint.h>

#include <fixbuf/public.h>
#include <glib.h>

#include "conn/flow.h"

/*
 * Elements read: addresses (v4/v6), ports, protocol, ICMP type/code (IEs 32,
 * 139, 176-179), vlanId/dot1qVlanId; delta, total, RFC 5103 reverse and NSEL
 * initiator/responder counters; flowStart/End Seconds, Milli-, Micro- and
 * Nanoseconds (NTP format), Delta Microseconds, SysUpTime with
 * systemInitTimeMilliseconds (from the record, which fixbuf's v9 translator
 * adds, or from an options record), flowDuration*; tcpControlBits and the
 * CERT initial/union flags (top level or in YAF's subTemplateMultiList);
 * flowEndReason; sampling (IEs 34, 48-50, 302, 305, 306, 309-311, in data or
 * options records); applicationId (RFC 6759, IANA-L4) and silkAppLabel;
 * CERT dataByteCount as payload octets.
 */

/** How flow observations are handed over (called on the collector's thread). */
typedef void (*flow_obs_fn)(const flow_obs_t *obs, void *user_data);

/** Internal template IDs we add to every session. */
#define IPFIX_NORM_TID_RECORD 0xFF01 /* flow and options records */
#define IPFIX_NORM_TID_SKIP 0xFF02   /* records we do not read */
/* each flow template's own internal template: one id per set of our fields */
#define IPFIX_NORM_TID_OWN_FIRST 0x8000
#define IPFIX_NORM_TID_OWN_LAST 0xFEFF

/** What an external template is to us. */
typedef enum {
    IPFIX_TMPL_IGNORE = 0, /* data we do not use (DPI, YAF stats records, ...) */
    IPFIX_TMPL_FLOW,       /* has source/destination addresses */
    IPFIX_TMPL_OPTIONS,    /* options template carrying sampling or systemInitTime */
    IPFIX_TMPL_SUB,        /* YAF sub-record with TCP flags or payload counts (STML entry) */
    IPFIX_TMPL_EMPTY,      /* zero elements: a withdrawal fixbuf kept, or garbage */
} ipfix_tmpl_kind_t;

/** Result of reading one record. */
typedef enum {
    IPFIX_NORM_FLOW = 0,       /* @p obs filled */
    IPFIX_NORM_OPTIONS,        /* options record applied to the exporter's meta state */
    IPFIX_NORM_IGNORED,        /* a record we skip */
    IPFIX_NORM_EOM,            /* end of message: no more records */
    IPFIX_NORM_EMPTY_TEMPLATE, /* data for a zero-element template: abandon the message */
    IPFIX_NORM_ERROR,          /* fixbuf error (GError set): abandon the message */
} ipfix_norm_result_t;

/** Bits for ipfix_normalize_next()'s @p notes. */
enum {
    IPFIX_NOTE_TIME_MISSING = 1 << 0, /* no usable time: export time used */
    IPFIX_NOTE_STML_SKIPPED = 1 << 1, /* a sub-record could not be read */
};

/** Bits returned by ipfix_normalize_sanitize_times(). */
enum {
    IPFIX_TIME_END_BEFORE_START = 1 << 0, /* end moved up to start */
    IPFIX_TIME_FAR = 1 << 1,              /* start/end replaced by the reference time */
};

#define IPFIX_NORM_MAX_SAMPLERS 16

/**
 * Per-exporter (transport session + observation domain) state learned from
 * options records.  Plain data owned by the caller; zero-initialise.
 */
typedef struct {
    bool has_sys_init;
    uint64_t sys_init_ms;          /* systemInitTimeMilliseconds */
    uint32_t default_interval;     /* sampling announced without a sampler id, 0 = none */
    unsigned n_samplers;
    unsigned next_slot;            /* round-robin replacement when the table is full */
    struct {
        uint64_t id;               /* samplerId or selectorId */
        uint32_t interval;
    } samplers[IPFIX_NORM_MAX_SAMPLERS];
} ipfix_norm_meta_t;

typedef struct ipfix_normalize ipfix_normalize_t;

/** Hook called once per new external template, after classification. */
typedef void (*ipfix_normalize_template_fn)(void *ctx, uint16_t tid, ipfix_tmpl_kind_t kind);

/**
 * Build the internal templates against @p model (borrowed; must outlive the
 * result).  Elements the model does not know (e.g. the CERT ones when no
 * cert.ies was loaded) are left out and simply never present.  Free with
 * ipfix_normalize_free().
 */
ipfix_normalize_t *ipfix_normalize_new(fbInfoModel_t *model, GError **err);

/** Free @p n (NULL is a no-op).  Sessions set up with it must be gone. */
void ipfix_normalize_free(ipfix_normalize_t *n);

/**
 * Comma-separated names of the elements our template wanted but the model
 * lacks, or NULL if none.  Newly allocated (g_free).
 */
char *ipfix_normalize_missing_elements(const ipfix_normalize_t *n);

/** Install @p fn (may be NULL) to be told about each new template. */
void ipfix_normalize_set_template_hook(ipfix_normalize_t *n, ipfix_normalize_template_fn fn,
                                       void *ctx);

/**
 * Add our internal templates to @p session and install the new-template
 * callback (which fixbuf copies to sessions it clones from this one).
 * Must be called before the first record is read from the session.
 */
gboolean ipfix_normalize_session_setup(ipfix_normalize_t *n, fbSession_t *session,
                                       GError **err);

/**
 * Read the next record of the current message of @p fbuf (manual mode).
 * Flow records fill @p obs: key, counters, flags, times (epoch seconds),
 * end reason, sampling, app_id, obs_domain and @p source; exporter_id is
 * left 0 and received is @p received.  Options records update @p meta.
 * @p notes receives IPFIX_NOTE_* bits.  Times are converted but not
 * sanity-checked: see ipfix_normalize_sanitize_times().
 *
 * Never loops without progress: a record of a zero-element template
 * returns IPFIX_NORM_EMPTY_TEMPLATE and the caller must abandon the message.
 */
ipfix_norm_result_t ipfix_normalize_next(ipfix_normalize_t *n, fBuf_t *fbuf,
                                         ipfix_norm_meta_t *meta, flow_source_kind_t source,
                                         double received, flow_obs_t *obs, unsigned *notes,
                                         GError **err);

/**
 * What a template we classified looks like on the wire: whether its records
 * may hold RFC 6313 lists, and the octets of its shortest record (a
 * variable-length field counted as its one length octet).  False, with
 * nothing set, for a template we did not classify.
 */
bool ipfix_normalize_template_shape(fbTemplate_t *tmpl, bool *has_lists, size_t *wire_min);

/**
 * Check and repair the times of @p obs against @p reference (the export
 * time of the message, epoch seconds).  If end < start, end becomes start.
 * If start or end lies more than @p max_skew seconds from the reference
 * (clock trouble, uptime garbage, a wrong time unit), both become the
 * reference.  Reverse times are cleared in that case.  Returns
 * IPFIX_TIME_* bits (0 when the times were plausible).
 */
unsigned ipfix_normalize_sanitize_times(flow_obs_t *obs, double reference, double max_skew);

/**
 * Epoch seconds of an RFC 7011 section 6.1.9/6.1.10 NTP-format timestamp
 * given as fixbuf delivers it (seconds since 1900 in the high 32 bits,
 * binary fraction in the low 32).  Era 1 (after 2036-02-07) is assumed for
 * seconds values below 2^31, as RFC 5905 suggests.
 */
double ipfix_normalize_ntp_to_epoch(uint64_t ntp);

/** Name of a template kind ("flow", "options", ...). */
const char *ipfix_tmpl_kind_name(ipfix_tmpl_kind_t kind);

#endif
