/**
 * @file infomodel.h
 * Information elements beyond IANA's (fbInfoModelAlloc() knows only those and
 * their RFC 5103 reverses): the CERT elements YAF exports and any vendor
 * element a user needs, loaded at start-up from the "*.ies" text files of the
 * templates directory.  templates/README.md documents the format.
 */
#ifndef CONNLOGD_IPFIX_INFOMODEL_H
#define CONNLOGD_IPFIX_INFOMODEL_H

#include <fixbuf/public.h>
#include <glib.h>

/*
 * One element per line:
 *
 *     name  enterprise_number  element_id  length  type  [reversible] [semantic=S] [units=U]
 *
 * Reverse elements come from fixbuf itself: a "reversible" enterprise
 * element gets a twin with the same PEN and id | 0x4000, named "reverse" +
 * Name (fbInfoModelAddElement with FB_IE_F_REVERSIBLE); an IANA one gets
 * PEN 29305 and the same id.
 */

#define IPFIX_INFOMODEL_ERROR (ipfix_infomodel_error_quark())

typedef enum {
    IPFIX_INFOMODEL_ERROR_IO,       /* file or directory unreadable */
    IPFIX_INFOMODEL_ERROR_SYNTAX,   /* a line does not parse */
    IPFIX_INFOMODEL_ERROR_CONFLICT, /* clashes with an element already in the model */
} ipfix_infomodel_error_t;

/** Error domain of the .ies loader. */
GQuark ipfix_infomodel_error_quark(void);

/**
 * Parse element definitions from @p text (@p len bytes, need not be
 * NUL-terminated) and add them to @p model.  @p origin names the source in
 * error messages ("file:line: ...").  All lines are checked before any is
 * added, so a file with an error changes nothing.  Re-adding an identical
 * definition is a no-op; a definition that clashes with the model (same
 * name with another id, or an IANA id already known under another name)
 * is an error.  @p n_added (may be NULL) receives the number of
 * definitions read.
 */
gboolean ipfix_infomodel_load_data(fbInfoModel_t *model, const char *text, gsize len,
                                   const char *origin, guint *n_added, GError **err);

/** Load one file with ipfix_infomodel_load_data(). */
gboolean ipfix_infomodel_load_file(fbInfoModel_t *model, const char *path, guint *n_added,
                                   GError **err);

/**
 * Load every regular file whose name ends in ".ies" in @p dir, in
 * lexicographic order (so "10-site.ies" can rely on "00-base.ies").
 * A directory with no .ies files is not an error.
 */
gboolean ipfix_infomodel_load_dir(fbInfoModel_t *model, const char *dir, guint *n_added,
                                  GError **err);

/**
 * The templates directory to use when none is configured: the first that
 * exists of PKGDATADIR "/templates" (installed), then "templates" beside
 * the running binary's parent and grandparent directories (the source tree,
 * for programs run from src/ or tests/ of an in-tree build).  Returns a
 * newly allocated string (g_free), or NULL if none exists.
 */
char *ipfix_infomodel_default_dir(void);

#endif
