/*
 * Record normalization.  The internal template is built from a field table
 * and read through an offset table, so an element missing from the model
 * just drops out.  YAF's STML sub-records decode as themselves (template
 * pair ext == int) and are read at offsets computed from their template.
 */
#include "config.h"

#include "ipfix/normalize.h"

#include <math.h>
#include <string.h>

/* Our fields.  Order = order in the internal template: lists and varfields
 * first so they sit at pointer-aligned offsets, then by falling size. */
typedef enum {
    F_STML = 0,
    F_APPID,
    F_SRC6, F_DST6,
    F_OCT_D, F_PKT_D, F_OCT_T, F_PKT_T,
    F_ROCT_D, F_RPKT_D, F_ROCT_T, F_RPKT_T,
    F_INIT_OCT, F_RESP_OCT, F_INIT_PKT, F_RESP_PKT,
    F_OBS_ROCT, F_OBS_RPKT,
    F_START_MS, F_END_MS, F_START_US, F_END_US, F_START_NS, F_END_NS,
    F_RSTART_MS, F_REND_MS,
    F_SYSINIT, F_SELECTOR, F_SAMP_PROB,
    F_DATA_BYTES, F_RDATA_BYTES,
    F_SRC4, F_DST4,
    F_START_S, F_END_S, F_START_DUS, F_END_DUS, F_START_UP, F_END_UP,
    F_DUR_MS, F_DUR_US, F_RFDELTA,
    F_SAMP_INT, F_SAMP_RAND, F_SAMP_PINT, F_SAMP_PSPACE, F_SAMP_SIZE, F_SAMP_POP,
    F_SPORT, F_DPORT, F_ICMP4, F_ICMP6, F_VLAN, F_DOT1Q,
    F_TCPFLAGS, F_RTCPFLAGS, F_IFLAGS, F_UFLAGS, F_RIFLAGS, F_RUFLAGS, F_SILKAPP,
    F_PROTO, F_ENDREASON, F_ICMP_T4, F_ICMP_C4, F_ICMP_T6, F_ICMP_C6,
    F_SAMPLER_ID, F_SAMP_ALG, F_SAMPLER_MODE,
    F_OBS_RIFLAGS, F_OBS_RUFLAGS,
    F_COUNT
} field_t;

G_STATIC_ASSERT(F_COUNT <= 128);

typedef struct {
    const char *name;
    uint16_t len; /* internal length; FB_IE_VARLEN for lists/varfields */
} field_def_t;

static const field_def_t field_defs[F_COUNT] = {
    [F_STML] = {"subTemplateMultiList", FB_IE_VARLEN},
    [F_APPID] = {"applicationId", FB_IE_VARLEN},
    [F_SRC6] = {"sourceIPv6Address", 16},
    [F_DST6] = {"destinationIPv6Address", 16},
    [F_OCT_D] = {"octetDeltaCount", 8},
    [F_PKT_D] = {"packetDeltaCount", 8},
    [F_OCT_T] = {"octetTotalCount", 8},
    [F_PKT_T] = {"packetTotalCount", 8},
    [F_ROCT_D] = {"reverseOctetDeltaCount", 8},
    [F_RPKT_D] = {"reversePacketDeltaCount", 8},
    [F_ROCT_T] = {"reverseOctetTotalCount", 8},
    [F_RPKT_T] = {"reversePacketTotalCount", 8},
    [F_INIT_OCT] = {"initiatorOctets", 8},
    [F_RESP_OCT] = {"responderOctets", 8},
    [F_INIT_PKT] = {"initiatorPackets", 8},
    [F_RESP_PKT] = {"responderPackets", 8},
    [F_OBS_ROCT] = {"obsoleteReverseOctetTotalCount", 8},
    [F_OBS_RPKT] = {"obsoleteReversePacketTotalCount", 8},
    [F_START_MS] = {"flowStartMilliseconds", 8},
    [F_END_MS] = {"flowEndMilliseconds", 8},
    [F_START_US] = {"flowStartMicroseconds", 8},
    [F_END_US] = {"flowEndMicroseconds", 8},
    [F_START_NS] = {"flowStartNanoseconds", 8},
    [F_END_NS] = {"flowEndNanoseconds", 8},
    [F_RSTART_MS] = {"reverseFlowStartMilliseconds", 8},
    [F_REND_MS] = {"reverseFlowEndMilliseconds", 8},
    [F_SYSINIT] = {"systemInitTimeMilliseconds", 8},
    [F_SELECTOR] = {"selectorId", 8},
    [F_SAMP_PROB] = {"samplingProbability", 8},
    [F_DATA_BYTES] = {"dataByteCount", 8},
    [F_RDATA_BYTES] = {"reverseDataByteCount", 8},
    [F_SRC4] = {"sourceIPv4Address", 4},
    [F_DST4] = {"destinationIPv4Address", 4},
    [F_START_S] = {"flowStartSeconds", 4},
    [F_END_S] = {"flowEndSeconds", 4},
    [F_START_DUS] = {"flowStartDeltaMicroseconds", 4},
    [F_END_DUS] = {"flowEndDeltaMicroseconds", 4},
    [F_START_UP] = {"flowStartSysUpTime", 4},
    [F_END_UP] = {"flowEndSysUpTime", 4},
    [F_DUR_MS] = {"flowDurationMilliseconds", 4},
    [F_DUR_US] = {"flowDurationMicroseconds", 4},
    [F_RFDELTA] = {"reverseFlowDeltaMilliseconds", 4},
    [F_SAMP_INT] = {"samplingInterval", 4},
    [F_SAMP_RAND] = {"samplerRandomInterval", 4},
    [F_SAMP_PINT] = {"samplingPacketInterval", 4},
    [F_SAMP_PSPACE] = {"samplingPacketSpace", 4},
    [F_SAMP_SIZE] = {"samplingSize", 4},
    [F_SAMP_POP] = {"samplingPopulation", 4},
    [F_SPORT] = {"sourceTransportPort", 2},
    [F_DPORT] = {"destinationTransportPort", 2},
    [F_ICMP4] = {"icmpTypeCodeIPv4", 2},
    [F_ICMP6] = {"icmpTypeCodeIPv6", 2},
    [F_VLAN] = {"vlanId", 2},
    [F_DOT1Q] = {"dot1qVlanId", 2},
    [F_TCPFLAGS] = {"tcpControlBits", 2},
    [F_RTCPFLAGS] = {"reverseTcpControlBits", 2},
    [F_IFLAGS] = {"initialTCPFlags", 2},
    [F_UFLAGS] = {"unionTCPFlags", 2},
    [F_RIFLAGS] = {"reverseInitialTCPFlags", 2},
    [F_RUFLAGS] = {"reverseUnionTCPFlags", 2},
    [F_SILKAPP] = {"silkAppLabel", 2},
    [F_PROTO] = {"protocolIdentifier", 1},
    [F_ENDREASON] = {"flowEndReason", 1},
    [F_ICMP_T4] = {"icmpTypeIPv4", 1},
    [F_ICMP_C4] = {"icmpCodeIPv4", 1},
    [F_ICMP_T6] = {"icmpTypeIPv6", 1},
    [F_ICMP_C6] = {"icmpCodeIPv6", 1},
    [F_SAMPLER_ID] = {"samplerId", 1},
    [F_SAMP_ALG] = {"samplingAlgorithm", 1},
    [F_SAMPLER_MODE] = {"samplerMode", 1},
    [F_OBS_RIFLAGS] = {"obsoleteReverseInitialTCPFlags", 1},
    [F_OBS_RUFLAGS] = {"obsoleteReverseUnionTCPFlags", 1},
};

#define NO_OFFSET UINT16_MAX

typedef struct {
    uint64_t bits[2];
} fieldset_t;

static inline void
fs_set(fieldset_t *s, field_t f)
{
    s->bits[f / 64] |= UINT64_C(1) << (f % 64);
}

static inline bool
fs_has(const fieldset_t *s, field_t f)
{
    return (s->bits[f / 64] >> (f % 64)) & 1;
}

static guint
fs_hash(gconstpointer p)
{
    const fieldset_t *s = p;
    uint64_t h = (s->bits[0] ^ (s->bits[1] * UINT64_C(0x9e3779b97f4a7c15)))
                 * UINT64_C(0xff51afd7ed558ccd);
    return (guint)(h ^ (h >> 32));
}

static gboolean
fs_equal(gconstpointer a, gconstpointer b)
{
    return memcmp(a, b, sizeof(fieldset_t)) == 0;
}

/* Per external template, stored as fixbuf's template context. */
typedef struct {
    ipfix_tmpl_kind_t kind;
    uint32_t n_elements;
    fieldset_t present;
    /* IPFIX_TMPL_SUB only: where fixbuf puts our fields when it decodes the
     * sub-template as itself */
    uint16_t sub_reclen;
    uint16_t sub_off[F_COUNT];
    uint8_t sub_len[F_COUNT];
    /* IPFIX_TMPL_FLOW: an internal template of just the fields this one
     * has (own_tid, 0 if none), and where they land */
    uint16_t own_tid, own_reclen;
    uint16_t own_off[F_COUNT];
    bool has_list;      /* an RFC 6313 list, by type or by IANA number */
    uint32_t wire_min;  /* octets of the shortest record on the wire */
} tmpl_info_t;

struct ipfix_normalize {
    fbInfoModel_t *model;
    const fbInfoElement_t *ie[F_COUNT]; /* model element per field, NULL if unknown */
    uint16_t off[F_COUNT];              /* offset in the internal record, NO_OFFSET if absent */
    uint16_t reclen;
    const uint16_t *cur_off;            /* off or the record's template's own_off */
    GHashTable *own_tids;               /* fieldset_t -> internal template id */
    unsigned next_own_tid;
    union {
        uint8_t bytes[1024];
        uint64_t align;
    } rec;
    ipfix_normalize_template_fn hook;
    void *hook_ctx;
};

/* ---------------------------------------------------------------- setup */

static uint16_t
internal_len(const fbInfoElement_t *ie, uint16_t len)
{
    if (len != FB_IE_VARLEN)
        return len;
    switch (ie->type) {
    case FB_BASIC_LIST:
        return sizeof(fbBasicList_t);
    case FB_SUB_TMPL_LIST:
        return sizeof(fbSubTemplateList_t);
    case FB_SUB_TMPL_MULTI_LIST:
        return sizeof(fbSubTemplateMultiList_t);
    default:
        return sizeof(fbVarfield_t);
    }
}

/* Where our fields land in an internal record holding the ones the model
 * knows and, if @p only is given, the template has.  Returns its length. */
static uint32_t
layout_offsets(const ipfix_normalize_t *n, const fieldset_t *only, uint16_t off[F_COUNT])
{
    uint32_t len = 0;

    for (int f = 0; f < F_COUNT; f++) {
        off[f] = NO_OFFSET;
        if (n->ie[f] == NULL || (only != NULL && !fs_has(only, (field_t)f)))
            continue;
        off[f] = (uint16_t)len;
        len += internal_len(n->ie[f], field_defs[f].len);
    }
    return len;
}

/* The internal template spec of a layout from layout_offsets(). */
static void
layout_spec(const uint16_t off[F_COUNT], fbInfoElementSpec_t spec[F_COUNT + 1])
{
    int k = 0;

    for (int f = 0; f < F_COUNT; f++) {
        if (off[f] == NO_OFFSET)
            continue;
        spec[k].name = (char *)field_defs[f].name;
        spec[k].len_override = field_defs[f].len == FB_IE_VARLEN ? 0 : field_defs[f].len;
        spec[k].flags = 0;
        k++;
    }
    spec[k] = (fbInfoElementSpec_t)FB_IESPEC_NULL;
}

ipfix_normalize_t *
ipfix_normalize_new(fbInfoModel_t *model, GError **err)
{
    ipfix_normalize_t *n;
    uint32_t off = 0;

    g_return_val_if_fail(model != NULL, NULL);
    n = g_new0(ipfix_normalize_t, 1);
    n->model = model;
    for (int f = 0; f < F_COUNT; f++)
        n->ie[f] = fbInfoModelGetElementByName(model, field_defs[f].name);
    off = layout_offsets(n, NULL, n->off);
    if (off > sizeof(n->rec.bytes)) {
        g_set_error(err, FB_ERROR_DOMAIN, FB_ERROR_SETUP,
                    "internal flow template needs %u bytes, buffer has %zu", off,
                    sizeof(n->rec.bytes));
        g_free(n);
        return NULL;
    }
    n->reclen = (uint16_t)off;
    n->cur_off = n->off;
    n->own_tids = g_hash_table_new_full(fs_hash, fs_equal, g_free, NULL);
    n->next_own_tid = IPFIX_NORM_TID_OWN_FIRST;
    return n;
}

void
ipfix_normalize_free(ipfix_normalize_t *n)
{
    if (n == NULL)
        return;
    g_hash_table_destroy(n->own_tids);
    g_free(n);
}

char *
ipfix_normalize_missing_elements(const ipfix_normalize_t *n)
{
    GString *s = g_string_new(NULL);

    for (int f = 0; f < F_COUNT; f++) {
        if (n->ie[f] != NULL)
            continue;
        if (s->len)
            g_string_append(s, ", ");
        g_string_append(s, field_defs[f].name);
    }
    return g_string_free(s, s->len == 0);
}

void
ipfix_normalize_set_template_hook(ipfix_normalize_t *n, ipfix_normalize_template_fn fn,
                                  void *ctx)
{
    n->hook = fn;
    n->hook_ctx = ctx;
}

/* Which of our fields is this template element?  -1 if none. */
static int
field_of(const ipfix_normalize_t *n, const fbInfoElement_t *ie)
{
    for (int f = 0; f < F_COUNT; f++)
        if (n->ie[f] != NULL && n->ie[f]->ent == ie->ent && n->ie[f]->num == ie->num)
            return f;
    return -1;
}

static bool
has_any(const fieldset_t *s, const field_t *list, size_t nlist)
{
    for (size_t i = 0; i < nlist; i++)
        if (fs_has(s, list[i]))
            return true;
    return false;
}

static const field_t addr_fields[] = {F_SRC4, F_DST4, F_SRC6, F_DST6};
static const field_t meta_fields[] = {F_SYSINIT, F_SAMP_INT, F_SAMP_RAND, F_SAMP_PINT,
                                      F_SAMP_PSPACE, F_SAMP_SIZE, F_SAMP_POP, F_SAMP_PROB};
static const field_t sub_fields[] = {F_IFLAGS, F_UFLAGS, F_RIFLAGS, F_RUFLAGS,
                                     F_OBS_RIFLAGS, F_OBS_RUFLAGS, F_DATA_BYTES,
                                     F_RDATA_BYTES};

/* Classify an external template and record its element presence. */
static void
classify(const ipfix_normalize_t *n, fbTemplate_t *tmpl, tmpl_info_t *info)
{
    uint32_t count = fbTemplateCountElements(tmpl);
    bool has_list = false;
    uint32_t off = 0;

    memset(info, 0, sizeof(*info));
    info->n_elements = count;
    for (int f = 0; f < F_COUNT; f++) {
        info->sub_off[f] = NO_OFFSET;
        info->sub_len[f] = 0;
    }
    if (count == 0) {
        info->kind = IPFIX_TMPL_EMPTY;
        return;
    }
    for (uint32_t i = 0; i < count; i++) {
        fbInfoElement_t *ie = fbTemplateGetIndexedIE(tmpl, i);
        int f;

        if (ie == NULL)
            break;
        f = field_of(n, ie);
        if (ie->type == FB_BASIC_LIST || ie->type == FB_SUB_TMPL_LIST
            || ie->type == FB_SUB_TMPL_MULTI_LIST
            || (ie->ent == 0 && (ie->num == FB_IE_BASIC_LIST || ie->num == FB_IE_SUBTEMPLATE_LIST
                                 || ie->num == FB_IE_SUBTEMPLATE_MULTILIST)))
            has_list = true;
        /* Only the first occurrence counts, as in the internal template. */
        if (f >= 0 && !fs_has(&info->present, (field_t)f)) {
            fs_set(&info->present, (field_t)f);
            if (ie->len == 1 || ie->len == 2 || ie->len == 4 || ie->len == 8) {
                info->sub_off[f] = off <= UINT16_MAX ? (uint16_t)off : NO_OFFSET;
                info->sub_len[f] = (uint8_t)ie->len;
            }
        }
        off += internal_len(ie, ie->len);
        info->wire_min += ie->len == FB_IE_VARLEN ? 1 : ie->len;
    }
    info->has_list = has_list;
    if (fbTemplateGetOptionsScope(tmpl) > 0) {
        info->kind = has_any(&info->present, meta_fields, G_N_ELEMENTS(meta_fields))
                         ? IPFIX_TMPL_OPTIONS
                         : IPFIX_TMPL_IGNORE;
    } else if (has_any(&info->present, addr_fields, G_N_ELEMENTS(addr_fields))) {
        info->kind = IPFIX_TMPL_FLOW;
    } else if (has_any(&info->present, meta_fields, G_N_ELEMENTS(meta_fields))
               && !has_any(&info->present, sub_fields, G_N_ELEMENTS(sub_fields))) {
        /* some exporters announce sampling or boot time in plain data
         * records rather than options records */
        info->kind = IPFIX_TMPL_OPTIONS;
    } else if (!has_list && has_any(&info->present, sub_fields, G_N_ELEMENTS(sub_fields))
               && off == fbTemplateGetIELenOfMemBuffer(tmpl) && off <= UINT16_MAX) {
        /* Our offset arithmetic must agree with fixbuf's, or we would read
         * the wrong bytes; if it does not, the sub-record is ignored. */
        info->kind = IPFIX_TMPL_SUB;
        info->sub_reclen = (uint16_t)off;
    } else {
        info->kind = IPFIX_TMPL_IGNORE;
    }
}

static void
tmpl_info_free(void *tmpl_ctx, void *app_ctx)
{
    (void)app_ctx;
    g_free(tmpl_ctx);
}

/*
 * A flow template's own internal template: our fields that it has, in our
 * order, at our lengths.  Reading through the one internal template of all
 * our fields made fixbuf zero-fill the sixty-odd absent ones field by field
 * for every record (a sixth of the collector's time at 1M records/s).
 * The layout depends only on which fields are present, so one template id
 * per field set serves every session; a session gets the template the
 * first time one of its records needs it (not from inside fixbuf's
 * new-template callback: fixbuf is in the middle of its own table then).  An id never changes
 * layout, so a template fixbuf may have cached is never replaced under it.
 * When ids run out or fixbuf refuses, records take the generic template.
 */
static void
own_layout(ipfix_normalize_t *n, tmpl_info_t *info)
{
    uint32_t off = layout_offsets(n, &info->present, info->own_off);
    gpointer found;
    unsigned tid;

    if (off == 0 || off > sizeof(n->rec.bytes))
        return;
    if (g_hash_table_lookup_extended(n->own_tids, &info->present, NULL, &found)) {
        tid = GPOINTER_TO_UINT(found);
    } else {
        if (n->next_own_tid > IPFIX_NORM_TID_OWN_LAST)
            return;
        tid = n->next_own_tid++;
        g_hash_table_insert(n->own_tids, g_memdup2(&info->present, sizeof(fieldset_t)),
                            GUINT_TO_POINTER(tid));
    }
    info->own_tid = (uint16_t)tid;
    info->own_reclen = (uint16_t)off;
}

/* Make @p info's own internal template current in @p fbuf, adding it to
 * the session first if it is not there yet.  False: use the generic one. */
static bool
use_own_template(ipfix_normalize_t *n, fBuf_t *fbuf, const tmpl_info_t *info)
{
    fbInfoElementSpec_t spec[F_COUNT + 1];
    fbSession_t *session;
    fbTemplate_t *t;
    GError *err = NULL; /* fixbuf dereferences it: never NULL */

    if (info->own_tid == 0)
        return false;
    if (fBufSetInternalTemplate(fbuf, info->own_tid, &err))
        return true;
    g_clear_error(&err);
    layout_spec(info->own_off, spec);
    session = fBufGetSession(fbuf);
    t = fbTemplateAlloc(n->model);
    if (!fbTemplateAppendSpecArray(t, spec, 0, &err)
        || fbTemplateGetIELenOfMemBuffer(t) != info->own_reclen
        || !fbSessionAddTemplate(session, TRUE, info->own_tid, t, &err)) {
        g_clear_error(&err);
        fbTemplateFreeUnused(t);
        return false;
    }
    if (!fBufSetInternalTemplate(fbuf, info->own_tid, &err)) {
        g_clear_error(&err);
        return false;
    }
    return true;
}

static void
new_template_cb(fbSession_t *session, uint16_t tid, fbTemplate_t *tmpl, void *app_ctx,
                void **tmpl_ctx, fbTemplateCtxFree_fn *tmpl_ctx_free_fn)
{
    ipfix_normalize_t *n = app_ctx;
    tmpl_info_t *info = g_new(tmpl_info_t, 1);

    classify(n, tmpl, info);
    if (info->kind == IPFIX_TMPL_FLOW)
        own_layout(n, info);
    *tmpl_ctx = info;
    *tmpl_ctx_free_fn = tmpl_info_free;
    /* Sub-template pairs decide how lists nested in records decode.  Once a
     * session has any pair, unpaired templates are skipped, so pairing every
     * template keeps DPI and other sub-records we do not read from being
     * transcoded (and allocated) at all.  YAF's TCP and flow-stats
     * sub-records decode as themselves; tmpl_info_t has their offsets. */
    fbSessionAddTemplatePair(session, tid, info->kind == IPFIX_TMPL_SUB ? tid : 0);
    if (n->hook != NULL)
        n->hook(n->hook_ctx, tid, info->kind);
}

gboolean
ipfix_normalize_session_setup(ipfix_normalize_t *n, fbSession_t *session, GError **err)
{
    fbInfoElementSpec_t spec[F_COUNT + 1];
    fbInfoElementSpec_t skip_spec[] = {{(char *)"protocolIdentifier", 1, 0}, FB_IESPEC_NULL};
    fbTemplate_t *rec_tmpl, *skip_tmpl;

    layout_spec(n->off, spec);
    rec_tmpl = fbTemplateAlloc(n->model);
    if (!fbTemplateAppendSpecArray(rec_tmpl, spec, 0, err)) {
        fbTemplateFreeUnused(rec_tmpl);
        return FALSE;
    }
    if (fbTemplateGetIELenOfMemBuffer(rec_tmpl) != n->reclen) {
        g_set_error(err, FB_ERROR_DOMAIN, FB_ERROR_SETUP,
                    "internal flow template is %u bytes, expected %u",
                    fbTemplateGetIELenOfMemBuffer(rec_tmpl), n->reclen);
        fbTemplateFreeUnused(rec_tmpl);
        return FALSE;
    }
    if (!fbSessionAddTemplate(session, TRUE, IPFIX_NORM_TID_RECORD, rec_tmpl, err)) {
        fbTemplateFreeUnused(rec_tmpl);
        return FALSE;
    }
    skip_tmpl = fbTemplateAlloc(n->model);
    if (!fbTemplateAppendSpecArray(skip_tmpl, skip_spec, 0, err)
        || !fbSessionAddTemplate(session, TRUE, IPFIX_NORM_TID_SKIP, skip_tmpl, err)) {
        fbTemplateFreeUnused(skip_tmpl);
        return FALSE;
    }
    fbSessionAddNewTemplateCallback(session, new_template_cb, n);
    return TRUE;
}

/* ------------------------------------------------------------ reading */

static uint64_t
rd_uint(const uint8_t *base, uint16_t off, unsigned len)
{
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;

    switch (len) {
    case 1:
        memcpy(&u8, base + off, 1);
        return u8;
    case 2:
        memcpy(&u16, base + off, 2);
        return u16;
    case 4:
        memcpy(&u32, base + off, 4);
        return u32;
    case 8:
        memcpy(&u64, base + off, 8);
        return u64;
    default:
        return 0;
    }
}

/* Value of field @p f of the internal record, 0 if the record lacks it. */
static uint64_t
get(const ipfix_normalize_t *n, const tmpl_info_t *info, field_t f)
{
    if (n->cur_off[f] == NO_OFFSET || !fs_has(&info->present, f))
        return 0;
    return rd_uint(n->rec.bytes, n->cur_off[f], field_defs[f].len);
}

static bool
has(const ipfix_normalize_t *n, const tmpl_info_t *info, field_t f)
{
    return n->cur_off[f] != NO_OFFSET && fs_has(&info->present, f);
}

double
ipfix_normalize_ntp_to_epoch(uint64_t ntp)
{
    /* 70 years (17 leap days) between 1900-01-01 and 1970-01-01 */
    const double ntp_unix_offset = 2208988800.0;
    uint32_t sec = (uint32_t)(ntp >> 32);
    uint32_t frac = (uint32_t)ntp;
    double s = (double)sec;

    if (sec < 0x80000000u)
        s += 4294967296.0; /* era 1 */
    return s - ntp_unix_offset + (double)frac / 4294967296.0;
}

/*
 * Epoch seconds of a SysUpTime stamp.  @p export_ms is the message export
 * time, @p sys_init_ms the exporter's boot time.  The exporter's uptime at
 * export, U = export - init, and the stamp S are both 32-bit millisecond
 * counters that wrap every 49.7 days; (int32)(U - S) is the stamp's age and
 * stays right across a wrap (pmacct#640, SiLK's rollover rule).  For v9,
 * fixbuf computed init as export - header SysUptime, so U is exact.
 */
static double
uptime_to_epoch(uint64_t export_ms, uint64_t sys_init_ms, uint32_t stamp)
{
    uint32_t up_now = (uint32_t)(export_ms - sys_init_ms);
    int32_t age = (int32_t)(up_now - stamp);

    return ((double)export_ms - (double)age) / 1000.0;
}

/* Start (@p which = 0) or end (1) time from the first encoding present. */
static bool
edge_time(const ipfix_normalize_t *n, const tmpl_info_t *info, const ipfix_norm_meta_t *meta,
          uint32_t export_secs, int which, double *out)
{
    static const field_t ns[2] = {F_START_NS, F_END_NS};
    static const field_t us[2] = {F_START_US, F_END_US};
    static const field_t ms[2] = {F_START_MS, F_END_MS};
    static const field_t s[2] = {F_START_S, F_END_S};
    static const field_t dus[2] = {F_START_DUS, F_END_DUS};
    static const field_t up[2] = {F_START_UP, F_END_UP};

    if (has(n, info, ns[which])) {
        *out = ipfix_normalize_ntp_to_epoch(get(n, info, ns[which]));
    } else if (has(n, info, us[which])) {
        /* RFC 7011 6.1.9: the low 11 fraction bits of microsecond stamps
         * carry no meaning; mask them so they cannot add noise. */
        *out = ipfix_normalize_ntp_to_epoch(get(n, info, us[which]) & ~UINT64_C(0x7ff));
    } else if (has(n, info, ms[which])) {
        *out = (double)get(n, info, ms[which]) / 1000.0;
    } else if (has(n, info, s[which])) {
        *out = (double)get(n, info, s[which]);
    } else if (has(n, info, dus[which])) {
        /* RFC 5102 flowStart/EndDeltaMicroseconds: the negative offset from
         * the message's export time. */
        *out = (double)export_secs - (double)get(n, info, dus[which]) / 1e6;
    } else if (has(n, info, up[which])) {
        uint64_t init;

        if (has(n, info, F_SYSINIT))
            init = get(n, info, F_SYSINIT);
        else if (meta->has_sys_init)
            init = meta->sys_init_ms;
        else
            return false;
        *out = uptime_to_epoch((uint64_t)export_secs * 1000, init,
                               (uint32_t)get(n, info, up[which]));
    } else {
        return false;
    }
    return true;
}

/* Sampling interval a record announces itself, 0 if none. */
static uint32_t
record_interval(const ipfix_normalize_t *n, const tmpl_info_t *info)
{
    uint64_t a, b;

    if ((a = get(n, info, F_SAMP_INT)) > 0)
        return (uint32_t)a;
    if ((a = get(n, info, F_SAMP_RAND)) > 0)
        return (uint32_t)a;
    /* RFC 5477 systematic count-based: select `interval` packets, skip `space` */
    if ((a = get(n, info, F_SAMP_PINT)) > 0) {
        b = get(n, info, F_SAMP_PSPACE);
        return (uint32_t)MIN((a + b + a / 2) / a, G_MAXUINT32);
    }
    /* RFC 5477 random n-out-of-N: size out of population */
    if ((a = get(n, info, F_SAMP_SIZE)) > 0 && (b = get(n, info, F_SAMP_POP)) >= a)
        return (uint32_t)MIN((b + a / 2) / a, G_MAXUINT32);
    if (has(n, info, F_SAMP_PROB)) {
        uint64_t raw = get(n, info, F_SAMP_PROB);
        double p;

        memcpy(&p, &raw, sizeof(p));
        if (isfinite(p) && p > 0.0 && p <= 1.0)
            return (uint32_t)MIN(lround(1.0 / p), G_MAXUINT32);
    }
    return 0;
}

static bool
record_sampler_id(const ipfix_normalize_t *n, const tmpl_info_t *info, uint64_t *id)
{
    if (has(n, info, F_SELECTOR)) {
        *id = get(n, info, F_SELECTOR);
        return true;
    }
    if (has(n, info, F_SAMPLER_ID)) {
        *id = get(n, info, F_SAMPLER_ID);
        return true;
    }
    return false;
}

static void
apply_options(const ipfix_normalize_t *n, const tmpl_info_t *info, ipfix_norm_meta_t *meta)
{
    uint32_t interval;
    uint64_t id;

    if (has(n, info, F_SYSINIT) && get(n, info, F_SYSINIT) != 0) {
        meta->has_sys_init = true;
        meta->sys_init_ms = get(n, info, F_SYSINIT);
    }
    interval = record_interval(n, info);
    if (interval == 0)
        return;
    if (!record_sampler_id(n, info, &id)) {
        meta->default_interval = interval;
        return;
    }
    for (unsigned i = 0; i < meta->n_samplers; i++) {
        if (meta->samplers[i].id == id) {
            meta->samplers[i].interval = interval;
            return;
        }
    }
    if (meta->n_samplers < IPFIX_NORM_MAX_SAMPLERS) {
        meta->samplers[meta->n_samplers].id = id;
        meta->samplers[meta->n_samplers].interval = interval;
        meta->n_samplers++;
    } else {
        meta->samplers[meta->next_slot].id = id;
        meta->samplers[meta->next_slot].interval = interval;
        meta->next_slot = (meta->next_slot + 1) % IPFIX_NORM_MAX_SAMPLERS;
    }
}

static uint32_t
flow_interval(const ipfix_normalize_t *n, const tmpl_info_t *info, const ipfix_norm_meta_t *meta)
{
    uint32_t interval = record_interval(n, info);
    uint64_t id;

    if (interval > 0)
        return interval;
    if (record_sampler_id(n, info, &id))
        for (unsigned i = 0; i < meta->n_samplers; i++)
            if (meta->samplers[i].id == id)
                return meta->samplers[i].interval;
    return meta->default_interval > 0 ? meta->default_interval : 1;
}

static void
set_v4(uint8_t dst[16], uint32_t host_order)
{
    static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    uint32_t be = g_htonl(host_order);

    memcpy(dst, prefix, 12);
    memcpy(dst + 12, &be, 4);
}

static bool
is_v4_mapped(const uint8_t a[16])
{
    static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

    return memcmp(a, prefix, 12) == 0;
}

static bool
all_zero(const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (p[i])
            return false;
    return true;
}

/* RFC 6759 applicationId: 1 octet Classification Engine ID, then the
 * selector.  Only engine 3 (IANA-L4: the selector is a port number) maps to
 * our port-style label. */
static uint16_t
app_id_from_varfield(const fbVarfield_t *vf)
{
    uint64_t v = 0;

    if (vf->buf == NULL || vf->len < 2 || vf->len > 9 || vf->buf[0] != 3)
        return 0;
    for (size_t i = 1; i < vf->len; i++)
        v = v << 8 | vf->buf[i];
    return v <= UINT16_MAX ? (uint16_t)v : 0;
}

/* Pull TCP flags and payload counts out of YAF's sub-records. */
static bool
read_stml(const ipfix_normalize_t *n, fbSubTemplateMultiList_t *stml, flow_obs_t *o,
          bool *have_fwd_init, bool *have_union)
{
    fbSubTemplateMultiListEntry_t *e = NULL;
    bool skipped = false;

    while ((e = fbSubTemplateMultiListGetNextEntry(stml, e)) != NULL) {
        const tmpl_info_t *info;
        const uint8_t *d;

        if (e->tmpl == NULL || e->dataPtr == NULL || e->numElements == 0)
            continue;
        info = fbTemplateGetContext(e->tmpl);
        /* An internal template of ours (an exporter reusing our TIDs) has
         * no context; a size disagreement means the same.  Skip both. */
        if (info == NULL || info->kind != IPFIX_TMPL_SUB || info->sub_reclen == 0
            || e->dataLength / e->numElements != info->sub_reclen) {
            skipped = true;
            continue;
        }
        d = e->dataPtr; /* the first element of the entry */
#define SUBVAL(f) rd_uint(d, info->sub_off[f], info->sub_len[f])
#define SUBHAS(f) (info->sub_off[f] != NO_OFFSET && info->sub_off[f] + info->sub_len[f] <= info->sub_reclen)
        if (SUBHAS(F_IFLAGS)) {
            o->initial_flags = (uint8_t)SUBVAL(F_IFLAGS);
            *have_fwd_init = true;
        }
        if (SUBHAS(F_UFLAGS)) {
            o->flags |= (uint8_t)SUBVAL(F_UFLAGS);
            *have_union = true;
        }
        if (SUBHAS(F_RIFLAGS))
            o->rev_initial_flags = (uint8_t)SUBVAL(F_RIFLAGS);
        else if (SUBHAS(F_OBS_RIFLAGS))
            o->rev_initial_flags = (uint8_t)SUBVAL(F_OBS_RIFLAGS);
        if (SUBHAS(F_RUFLAGS))
            o->rev_flags |= (uint8_t)SUBVAL(F_RUFLAGS);
        else if (SUBHAS(F_OBS_RUFLAGS))
            o->rev_flags |= (uint8_t)SUBVAL(F_OBS_RUFLAGS);
        if (SUBHAS(F_DATA_BYTES)) {
            o->has_payload_octets = true;
            o->payload_octets = SUBVAL(F_DATA_BYTES);
        }
        if (SUBHAS(F_RDATA_BYTES)) {
            o->has_payload_octets = true;
            o->rev_payload_octets = SUBVAL(F_RDATA_BYTES);
        }
#undef SUBVAL
#undef SUBHAS
    }
    return !skipped;
}

static flow_end_reason_t
end_reason(uint64_t v)
{
    /* YAF sets 0x80 on records that continue an earlier one (--silk). */
    switch (v & 0x7f) {
    case 1:
        return FLOW_END_IDLE;
    case 2:
        return FLOW_END_ACTIVE;
    case 3:
        return FLOW_END_OF_FLOW;
    case 4:
        return FLOW_END_FORCED;
    case 5:
        return FLOW_END_LACK_OF_RESOURCES;
    default:
        return FLOW_END_UNKNOWN;
    }
}

static void
fill_flow(ipfix_normalize_t *n, const tmpl_info_t *info, const ipfix_norm_meta_t *meta,
          uint32_t export_secs, flow_obs_t *o, unsigned *notes)
{
    const uint8_t *r = n->rec.bytes;
    bool have_start, have_end, have_fwd_init = false, have_union = false;
    double start = 0, end = 0;

    /* addresses: IPv6 when the template has them and either lacks IPv4 or
     * carries a non-zero IPv6 pair (some templates have both families) */
    if ((has(n, info, F_SRC6) || has(n, info, F_DST6))
        && (!(has(n, info, F_SRC4) || has(n, info, F_DST4))
            || (has(n, info, F_SRC6) && !all_zero(r + n->cur_off[F_SRC6], 16))
            || (has(n, info, F_DST6) && !all_zero(r + n->cur_off[F_DST6], 16)))) {
        if (has(n, info, F_SRC6))
            memcpy(o->src, r + n->cur_off[F_SRC6], 16);
        if (has(n, info, F_DST6))
            memcpy(o->dst, r + n->cur_off[F_DST6], 16);
        /* YAF --force-ip6-export sends IPv4 as ::ffff:a.b.c.d */
        o->ip_version = is_v4_mapped(o->src) && is_v4_mapped(o->dst) ? 4 : 6;
    } else {
        set_v4(o->src, (uint32_t)get(n, info, F_SRC4));
        set_v4(o->dst, (uint32_t)get(n, info, F_DST4));
        o->ip_version = 4;
    }

    o->proto = (uint8_t)get(n, info, F_PROTO);
    o->sport = (uint16_t)get(n, info, F_SPORT);
    o->dport = (uint16_t)get(n, info, F_DPORT);
    if (o->proto == 1 || o->proto == 58) {
        /* ICMP: type << 8 | code in dport, the way v5/YAF encode it */
        uint16_t tc = o->dport;

        if (o->proto == 1 && has(n, info, F_ICMP4))
            tc = (uint16_t)get(n, info, F_ICMP4);
        else if (o->proto == 58 && has(n, info, F_ICMP6))
            tc = (uint16_t)get(n, info, F_ICMP6);
        else if (o->proto == 1 && has(n, info, F_ICMP_T4))
            tc = (uint16_t)(get(n, info, F_ICMP_T4) << 8 | get(n, info, F_ICMP_C4));
        else if (o->proto == 58 && has(n, info, F_ICMP_T6))
            tc = (uint16_t)(get(n, info, F_ICMP_T6) << 8 | get(n, info, F_ICMP_C6));
        else if (has(n, info, F_ICMP4))
            tc = (uint16_t)get(n, info, F_ICMP4); /* v6 flow labelled with the v4 IE */
        o->sport = 0;
        o->dport = tc;
    }
    if (has(n, info, F_VLAN))
        o->vlan = (uint16_t)get(n, info, F_VLAN) & 0x0fff;
    else if (has(n, info, F_DOT1Q))
        o->vlan = (uint16_t)get(n, info, F_DOT1Q) & 0x0fff;

    /* counters: delta, then total, then NSEL initiator/responder */
    if (has(n, info, F_PKT_D) || has(n, info, F_OCT_D)) {
        o->pkts = get(n, info, F_PKT_D);
        o->octets = get(n, info, F_OCT_D);
    } else if (has(n, info, F_PKT_T) || has(n, info, F_OCT_T)) {
        o->pkts = get(n, info, F_PKT_T);
        o->octets = get(n, info, F_OCT_T);
    } else {
        o->pkts = get(n, info, F_INIT_PKT);
        o->octets = get(n, info, F_INIT_OCT);
    }
    if (has(n, info, F_RPKT_D) || has(n, info, F_ROCT_D)) {
        o->has_reverse = true;
        o->rev_pkts = get(n, info, F_RPKT_D);
        o->rev_octets = get(n, info, F_ROCT_D);
    } else if (has(n, info, F_RPKT_T) || has(n, info, F_ROCT_T)) {
        o->has_reverse = true;
        o->rev_pkts = get(n, info, F_RPKT_T);
        o->rev_octets = get(n, info, F_ROCT_T);
    } else if (has(n, info, F_RESP_PKT) || has(n, info, F_RESP_OCT)) {
        o->has_reverse = true;
        o->rev_pkts = get(n, info, F_RESP_PKT);
        o->rev_octets = get(n, info, F_RESP_OCT);
    } else if (has(n, info, F_OBS_RPKT) || has(n, info, F_OBS_ROCT)) {
        o->has_reverse = true;
        o->rev_pkts = get(n, info, F_OBS_RPKT);
        o->rev_octets = get(n, info, F_OBS_ROCT);
    }

    /* TCP flags.  tcpControlBits is the union over the flow (IANA, RFC
     * 7125); CERT initialTCPFlags is the first packet and unionTCPFlags all
     * the others, so their OR is the union too. */
    o->flags = (uint8_t)get(n, info, F_TCPFLAGS);
    o->rev_flags = (uint8_t)get(n, info, F_RTCPFLAGS);
    if (has(n, info, F_IFLAGS)) {
        o->initial_flags = (uint8_t)get(n, info, F_IFLAGS);
        have_fwd_init = true;
    }
    if (has(n, info, F_UFLAGS)) {
        o->flags |= (uint8_t)get(n, info, F_UFLAGS);
        have_union = true;
    }
    if (has(n, info, F_RIFLAGS))
        o->rev_initial_flags = (uint8_t)get(n, info, F_RIFLAGS);
    else if (has(n, info, F_OBS_RIFLAGS))
        o->rev_initial_flags = (uint8_t)get(n, info, F_OBS_RIFLAGS);
    if (has(n, info, F_RUFLAGS))
        o->rev_flags |= (uint8_t)get(n, info, F_RUFLAGS);
    else if (has(n, info, F_OBS_RUFLAGS))
        o->rev_flags |= (uint8_t)get(n, info, F_OBS_RUFLAGS);
    if (has(n, info, F_DATA_BYTES) || has(n, info, F_RDATA_BYTES)) {
        o->has_payload_octets = true;
        o->payload_octets = get(n, info, F_DATA_BYTES);
        o->rev_payload_octets = get(n, info, F_RDATA_BYTES);
    }
    if (has(n, info, F_STML)) {
        fbSubTemplateMultiList_t stml;

        memcpy(&stml, r + n->cur_off[F_STML], sizeof(stml));
        if (!read_stml(n, &stml, o, &have_fwd_init, &have_union))
            *notes |= IPFIX_NOTE_STML_SKIPPED;
    }
    o->flags |= o->initial_flags;
    o->rev_flags |= o->rev_initial_flags;
    o->has_initial_flags = have_fwd_init;
    (void)have_union;

    /* times */
    have_start = edge_time(n, info, meta, export_secs, 0, &start);
    have_end = edge_time(n, info, meta, export_secs, 1, &end);
    if (have_start != have_end) {
        double dur = -1;

        if (has(n, info, F_DUR_MS))
            dur = (double)get(n, info, F_DUR_MS) / 1000.0;
        else if (has(n, info, F_DUR_US))
            dur = (double)get(n, info, F_DUR_US) / 1e6;
        if (have_start)
            end = dur >= 0 ? start + dur : start;
        else
            start = dur >= 0 ? end - dur : end;
    } else if (!have_start) {
        start = end = (double)export_secs;
        *notes |= IPFIX_NOTE_TIME_MISSING;
    }
    o->start = start;
    o->end = end;
    if (o->has_reverse) {
        if (has(n, info, F_RSTART_MS)) {
            o->rev_start = (double)get(n, info, F_RSTART_MS) / 1000.0;
            o->rev_end = has(n, info, F_REND_MS) ? (double)get(n, info, F_REND_MS) / 1000.0
                                                  : o->rev_start;
        } else if (has(n, info, F_RFDELTA) && o->rev_pkts > 0) {
            /* YAF: reverse start relative to forward start; one end time per
             * biflow, which bounds the reverse direction's last packet. */
            o->rev_start = start + (double)get(n, info, F_RFDELTA) / 1000.0;
            o->rev_end = end;
        }
    }

    o->end_reason = end_reason(get(n, info, F_ENDREASON));
    o->sampling_interval = flow_interval(n, info, meta);
    if (has(n, info, F_SILKAPP) && get(n, info, F_SILKAPP) != 0) {
        o->app_id = (uint16_t)get(n, info, F_SILKAPP);
    } else if (has(n, info, F_APPID)) {
        fbVarfield_t vf;

        memcpy(&vf, r + n->cur_off[F_APPID], sizeof(vf));
        o->app_id = app_id_from_varfield(&vf);
    }
}

ipfix_norm_result_t
ipfix_normalize_next(ipfix_normalize_t *n, fBuf_t *fbuf, ipfix_norm_meta_t *meta,
                     flow_source_kind_t source, double received, flow_obs_t *obs,
                     unsigned *notes, GError **err)
{
    fbTemplate_t *tmpl;
    uint16_t ext_tid = 0;
    const tmpl_info_t *info;
    tmpl_info_t local_info;
    size_t len;
    gboolean ok;
    ipfix_norm_result_t res;

    *notes = 0;
    tmpl = fBufNextCollectionTemplate(fbuf, &ext_tid, err);
    if (tmpl == NULL) {
        if (g_error_matches(*err, FB_ERROR_DOMAIN, FB_ERROR_EOM)) {
            g_clear_error(err);
            return IPFIX_NORM_EOM;
        }
        return IPFIX_NORM_ERROR;
    }
    info = fbTemplateGetContext(tmpl);
    if (info == NULL) {
        /* A template fixbuf added without calling us (should not happen):
         * classify it now without storing. */
        classify(n, tmpl, &local_info);
        info = &local_info;
    }
    if (info->kind == IPFIX_TMPL_EMPTY || info->n_elements == 0)
        return IPFIX_NORM_EMPTY_TEMPLATE;

    if (info->kind == IPFIX_TMPL_FLOW || info->kind == IPFIX_TMPL_OPTIONS) {
        uint16_t reclen = n->reclen;

        n->cur_off = n->off;
        if (use_own_template(n, fbuf, info)) {
            n->cur_off = info->own_off;
            reclen = info->own_reclen;
        } else if (!fBufSetInternalTemplate(fbuf, IPFIX_NORM_TID_RECORD, err)) {
            return IPFIX_NORM_ERROR;
        }
        /* fixbuf reuses list buffers it finds in the record: start clean */
        memset(n->rec.bytes, 0, reclen);
        len = reclen;
        ok = fBufNext(fbuf, n->rec.bytes, &len, err);
        if (ok && info->kind == IPFIX_TMPL_FLOW) {
            memset(obs, 0, sizeof(*obs));
            fill_flow(n, info, meta, fBufGetExportTime(fbuf), obs, notes);
            obs->received = received;
            obs->source = source;
            obs->obs_domain = fbSessionGetDomain(fBufGetSession(fbuf));
            res = IPFIX_NORM_FLOW;
        } else if (ok) {
            apply_options(n, info, meta);
            res = IPFIX_NORM_OPTIONS;
        } else {
            res = IPFIX_NORM_ERROR;
        }
        if (n->cur_off[F_STML] != NO_OFFSET) {
            fbSubTemplateMultiList_t *stml = (fbSubTemplateMultiList_t *)(void *)(n->rec.bytes
                                                                             + n->cur_off[F_STML]);

            fbSubTemplateMultiListClear(stml);
        }
        return res;
    }

    if (!fBufSetInternalTemplate(fbuf, IPFIX_NORM_TID_SKIP, err))
        return IPFIX_NORM_ERROR;
    {
        uint8_t skip[8];

        len = sizeof(skip);
        if (!fBufNext(fbuf, skip, &len, err))
            return IPFIX_NORM_ERROR;
    }
    return IPFIX_NORM_IGNORED;
}

bool
ipfix_normalize_template_shape(fbTemplate_t *tmpl, bool *has_lists, size_t *wire_min)
{
    const tmpl_info_t *info = fbTemplateGetContext(tmpl);

    if (info == NULL || info->n_elements != fbTemplateCountElements(tmpl))
        return false;
    *has_lists = info->has_list;
    *wire_min = info->wire_min;
    return true;
}

unsigned
ipfix_normalize_sanitize_times(flow_obs_t *obs, double reference, double max_skew)
{
    unsigned r = 0;

    if (!isfinite(obs->start) || !isfinite(obs->end)
        || fabs(obs->start - reference) > max_skew || fabs(obs->end - reference) > max_skew) {
        obs->start = obs->end = reference;
        obs->rev_start = obs->rev_end = 0;
        return IPFIX_TIME_FAR;
    }
    if (obs->end < obs->start) {
        obs->end = obs->start;
        r |= IPFIX_TIME_END_BEFORE_START;
    }
    if (obs->rev_start != 0 || obs->rev_end != 0) {
        if (!isfinite(obs->rev_start) || !isfinite(obs->rev_end)
            || fabs(obs->rev_start - reference) > max_skew
            || fabs(obs->rev_end - reference) > max_skew) {
            obs->rev_start = obs->rev_end = 0;
            r |= IPFIX_TIME_FAR;
        } else if (obs->rev_end < obs->rev_start) {
            obs->rev_end = obs->rev_start;
            r |= IPFIX_TIME_END_BEFORE_START;
        }
    }
    return r;
}

const char *
ipfix_tmpl_kind_name(ipfix_tmpl_kind_t kind)
{
    switch (kind) {
    case IPFIX_TMPL_IGNORE:
        return "ignore";
    case IPFIX_TMPL_FLOW:
        return "flow";
    case IPFIX_TMPL_OPTIONS:
        return "options";
    case IPFIX_TMPL_SUB:
        return "sub";
    case IPFIX_TMPL_EMPTY:
        return "empty";
    }
    return "unknown";
}
