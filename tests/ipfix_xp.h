/*
 * A libfixbuf exporting process for the Check suites: its own information
 * model (IANA's plus templates/'s elements), one session, one fBuf.  The
 * suites write IPFIX files and streams with it the way a real exporter
 * (YAF among them) does.  Shared by check_ipfix.c and check_yafstates.c;
 * include after <check.h>.
 */
#ifndef CONNLOGD_TESTS_IPFIX_XP_H
#define CONNLOGD_TESTS_IPFIX_XP_H

#include <fixbuf/public.h>
#include <glib.h>

#include "ipfix/infomodel.h"

#define TEMPLATES TOP_SRCDIR "/templates"

typedef struct {
    fbInfoModel_t *model;
    fbSession_t *session;
    fBuf_t *fbuf;
} xp_t;

/* Spec entries with this flag go into the internal template only, as YAF
 * keeps its struct padding out of what it exports. */
#define SPEC_INTERNAL 1

static inline void
xp_init(xp_t *x, fbExporter_t *exporter, uint32_t domain, uint32_t export_secs)
{
    GError *err = NULL;

    x->model = fbInfoModelAlloc();
    ck_assert_msg(ipfix_infomodel_load_dir(x->model, TEMPLATES, NULL, &err), "%s",
                  err ? err->message : "");
    x->session = fbSessionAlloc(x->model);
    fbSessionSetDomain(x->session, domain);
    x->fbuf = fBufAllocForExport(x->session, exporter);
    fBufSetExportTime(x->fbuf, export_secs);
}

/* Add @p spec as template @p tid, internal and external; @p scope > 0
 * makes it an options template; a non-zero @p reclen must be the size of
 * the in-memory record, so the C struct matches the template.  Returns the
 * internal template. */
static inline fbTemplate_t *
xp_template(xp_t *x, uint16_t tid, fbInfoElementSpec_t *spec, uint16_t scope, size_t reclen)
{
    GError *err = NULL;
    fbTemplate_t *ti = fbTemplateAlloc(x->model);
    fbTemplate_t *te = fbTemplateAlloc(x->model);

    ck_assert_msg(fbTemplateAppendSpecArray(ti, spec, SPEC_INTERNAL, &err), "%s",
                  err ? err->message : "");
    ck_assert_msg(fbTemplateAppendSpecArray(te, spec, 0, &err), "%s", err ? err->message : "");
    if (scope) {
        fbTemplateSetOptionsScope(ti, scope);
        fbTemplateSetOptionsScope(te, scope);
    }
    if (reclen)
        ck_assert_uint_eq(fbTemplateGetIELenOfMemBuffer(ti), reclen);
    ck_assert_msg(fbSessionAddTemplate(x->session, TRUE, tid, ti, &err), "%s",
                  err ? err->message : "");
    ck_assert_msg(fbSessionAddTemplate(x->session, FALSE, tid, te, &err), "%s",
                  err ? err->message : "");
    return ti;
}

static inline void
xp_append(xp_t *x, uint16_t tid, void *rec, size_t len)
{
    GError *err = NULL;

    ck_assert(fBufSetInternalTemplate(x->fbuf, tid, &err));
    ck_assert(fBufSetExportTemplate(x->fbuf, tid, &err));
    ck_assert_msg(fBufAppend(x->fbuf, rec, len, &err), "%s", err ? err->message : "");
}

static inline void
xp_emit(xp_t *x)
{
    GError *err = NULL;

    ck_assert_msg(fBufEmit(x->fbuf, &err), "%s", err ? err->message : "");
}

static inline void
xp_close(xp_t *x)
{
    xp_emit(x);
    fBufFree(x->fbuf);
    fbInfoModelFree(x->model);
}

#endif
