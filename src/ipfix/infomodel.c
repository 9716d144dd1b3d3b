/*
 * Loader for the "*.ies" element definition files.  Each line is parsed into
 * an fbInfoElement_t, checked against the rules fixbuf itself applies to
 * templates (fixed sizes, reduced-length integers, varlen only for strings,
 * octet arrays and lists), checked against the model for clashes, and only
 * then added, so a bad file never leaves the model half-changed.
 */
#include "config.h"

#include "ipfix/infomodel.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

G_DEFINE_QUARK(ipfix-infomodel-error-quark, ipfix_infomodel_error)

#define IES_MAX_NAME 200

typedef struct {
    const char *name;
    uint8_t type;
    uint16_t natural_len;    /* 0 = any length (varlen allowed) */
    gboolean integer;        /* reduced-length encoding allowed */
    gboolean endian;         /* multi-octet number fixbuf must byte-swap */
} ies_type_t;

/* RFC 7012 section 3.1 abstract data types, in fixbuf's enum. */
static const ies_type_t ies_types[] = {
    {"octetArray", FB_OCTET_ARRAY, 0, FALSE, FALSE},
    {"unsigned8", FB_UINT_8, 1, FALSE, FALSE},
    {"unsigned16", FB_UINT_16, 2, TRUE, TRUE},
    {"unsigned32", FB_UINT_32, 4, TRUE, TRUE},
    {"unsigned64", FB_UINT_64, 8, TRUE, TRUE},
    {"signed8", FB_INT_8, 1, FALSE, FALSE},
    {"signed16", FB_INT_16, 2, TRUE, TRUE},
    {"signed32", FB_INT_32, 4, TRUE, TRUE},
    {"signed64", FB_INT_64, 8, TRUE, TRUE},
    {"float32", FB_FLOAT_32, 4, FALSE, TRUE},
    {"float64", FB_FLOAT_64, 8, FALSE, TRUE},
    {"boolean", FB_BOOL, 1, FALSE, FALSE},
    {"macAddress", FB_MAC_ADDR, 6, FALSE, FALSE},
    {"string", FB_STRING, 0, FALSE, FALSE},
    {"dateTimeSeconds", FB_DT_SEC, 4, FALSE, TRUE},
    {"dateTimeMilliseconds", FB_DT_MILSEC, 8, FALSE, TRUE},
    {"dateTimeMicroseconds", FB_DT_MICROSEC, 8, FALSE, TRUE},
    {"dateTimeNanoseconds", FB_DT_NANOSEC, 8, FALSE, TRUE},
    {"ipv4Address", FB_IP4_ADDR, 4, FALSE, TRUE},
    {"ipv6Address", FB_IP6_ADDR, 16, FALSE, FALSE},
    {"basicList", FB_BASIC_LIST, 0, FALSE, FALSE},
    {"subTemplateList", FB_SUB_TMPL_LIST, 0, FALSE, FALSE},
    {"subTemplateMultiList", FB_SUB_TMPL_MULTI_LIST, 0, FALSE, FALSE},
};

typedef struct {
    const char *name;
    uint32_t value;
} ies_keyword_t;

/* IANA "IPFIX Information Element Semantics" registry. */
static const ies_keyword_t ies_semantics[] = {
    {"default", FB_IE_DEFAULT},        {"quantity", FB_IE_QUANTITY},
    {"totalCounter", FB_IE_TOTALCOUNTER}, {"deltaCounter", FB_IE_DELTACOUNTER},
    {"identifier", FB_IE_IDENTIFIER},  {"flags", FB_IE_FLAGS},
    {"list", FB_IE_LIST},              {"snmpCounter", FB_IE_SNMPCOUNTER},
    {"snmpGauge", FB_IE_SNMPGAUGE},
};

/* IANA "IPFIX Information Element Units" registry. */
static const ies_keyword_t ies_units[] = {
    {"none", 0},
    {"bits", FB_UNITS_BITS},
    {"octets", FB_UNITS_OCTETS},
    {"packets", FB_UNITS_PACKETS},
    {"flows", FB_UNITS_FLOWS},
    {"seconds", FB_UNITS_SECONDS},
    {"milliseconds", FB_UNITS_MILLISECONDS},
    {"microseconds", FB_UNITS_MICROSECONDS},
    {"nanoseconds", FB_UNITS_NANOSECONDS},
    {"words", FB_UNITS_WORDS},
    {"messages", FB_UNITS_MESSAGES},
    {"hops", FB_UNITS_HOPS},
    {"entries", FB_UNITS_ENTRIES},
    {"frames", FB_UNITS_FRAMES},
    {"ports", FB_UNITS_PORTS},
    {"inferred", FB_UNITS_INFERRED},
};

/* One parsed definition; the name points into a GStringChunk. */
typedef struct {
    const char *name;
    uint32_t ent;
    uint16_t num;
    uint16_t len;
    uint8_t type;
    uint32_t flags;
    guint line;
} ies_def_t;

static const ies_type_t *
find_type(const char *name)
{
    for (gsize i = 0; i < G_N_ELEMENTS(ies_types); i++)
        if (strcmp(ies_types[i].name, name) == 0)
            return &ies_types[i];
    return NULL;
}

static gboolean
find_keyword(const ies_keyword_t *tab, gsize n, const char *name, uint32_t *value)
{
    for (gsize i = 0; i < n; i++) {
        if (strcmp(tab[i].name, name) == 0) {
            *value = tab[i].value;
            return TRUE;
        }
    }
    return FALSE;
}

static gboolean
valid_name(const char *s)
{
    gsize n = strlen(s);

    if (n == 0 || n > IES_MAX_NAME || !g_ascii_isalpha(s[0]))
        return FALSE;
    for (gsize i = 1; i < n; i++)
        if (!g_ascii_isalnum(s[i]) && s[i] != '_')
            return FALSE;
    return TRUE;
}

static gboolean
parse_uint(const char *s, guint64 max, guint64 *out)
{
    char *end = NULL;
    guint64 v;

    if (!g_ascii_isdigit(s[0]))
        return FALSE;
    errno = 0;
    v = g_ascii_strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v > max)
        return FALSE;
    *out = v;
    return TRUE;
}

#define SYNTAX(...)                                                                            \
    do {                                                                                       \
        char *msg_ = g_strdup_printf(__VA_ARGS__);                                             \
        g_set_error(err, IPFIX_INFOMODEL_ERROR, IPFIX_INFOMODEL_ERROR_SYNTAX, "%s:%u: %s",     \
                    origin, line, msg_);                                                       \
        g_free(msg_);                                                                          \
        return FALSE;                                                                          \
    } while (0)

/* Parse one non-blank, non-comment line split into tokens. */
static gboolean
parse_def(char **tok, guint ntok, const char *origin, guint line, GStringChunk *names,
          ies_def_t *def, GError **err)
{
    const ies_type_t *type;
    guint64 v;
    uint32_t semantic = FB_IE_DEFAULT, units = 0;
    gboolean reversible = FALSE;

    if (ntok < 5)
        SYNTAX("expected 'name enterprise_number element_id length type [options]', got %u "
               "field(s)", ntok);
    if (!valid_name(tok[0]))
        SYNTAX("bad element name '%s' (letters, digits and '_', starting with a letter, at "
               "most %d characters)", tok[0], IES_MAX_NAME);
    if (!parse_uint(tok[1], G_MAXUINT32, &v))
        SYNTAX("bad enterprise number '%s'", tok[1]);
    def->ent = (uint32_t)v;
    if (def->ent == FB_IE_PEN_REVERSE)
        SYNTAX("enterprise number %u is RFC 5103's reverse PEN; mark the forward element "
               "'reversible' instead", FB_IE_PEN_REVERSE);
    if (!parse_uint(tok[2], 0x7fff, &v) || v == 0)
        SYNTAX("bad element id '%s' (1..32767)", tok[2]);
    def->num = (uint16_t)v;
    type = find_type(tok[4]);
    if (type == NULL)
        SYNTAX("unknown type '%s' (RFC 7012 names: unsigned8, ipv4Address, ...)", tok[4]);
    if (g_ascii_strcasecmp(tok[3], "v") == 0 || g_ascii_strcasecmp(tok[3], "varlen") == 0) {
        if (type->natural_len != 0)
            SYNTAX("type %s cannot be variable length", type->name);
        def->len = FB_IE_VARLEN;
    } else {
        if (!parse_uint(tok[3], 65534, &v) || v == 0)
            SYNTAX("bad length '%s' (1..65534, or 'v' for variable)", tok[3]);
        def->len = (uint16_t)v;
        if (type->natural_len != 0) {
            if (type->integer ? def->len > type->natural_len : def->len != type->natural_len)
                SYNTAX("length %u does not fit type %s (natural length %u)", def->len,
                       type->name, type->natural_len);
        }
    }
    for (guint i = 5; i < ntok; i++) {
        if (strcmp(tok[i], "reversible") == 0) {
            reversible = TRUE;
        } else if (g_str_has_prefix(tok[i], "semantic=")) {
            if (!find_keyword(ies_semantics, G_N_ELEMENTS(ies_semantics), tok[i] + 9,
                              &semantic))
                SYNTAX("unknown semantic '%s'", tok[i] + 9);
        } else if (g_str_has_prefix(tok[i], "units=")) {
            if (!find_keyword(ies_units, G_N_ELEMENTS(ies_units), tok[i] + 6, &units))
                SYNTAX("unknown units '%s'", tok[i] + 6);
        } else {
            SYNTAX("unknown option '%s' (reversible, semantic=..., units=...)", tok[i]);
        }
    }
    if (reversible && def->ent != 0 && (def->num & FB_IE_VENDOR_BIT_REVERSE))
        SYNTAX("element id %u has bit 0x4000 set, which the reverse twin of a reversible "
               "enterprise element needs", def->num);
    if (reversible && strlen(tok[0]) + FB_IE_REVERSE_STRLEN > IES_MAX_NAME)
        SYNTAX("name too long for a reverse twin");
    def->name = g_string_chunk_insert_const(names, tok[0]);
    def->type = type->type;
    def->flags = semantic | units | (type->endian ? FB_IE_F_ENDIAN : 0)
                 | (reversible ? FB_IE_F_REVERSIBLE : 0);
    def->line = line;
    return TRUE;
}

/* Is adding @p def consistent with what the model already has? */
static gboolean
check_against_model(fbInfoModel_t *model, const ies_def_t *def, const char *origin,
                    GError **err)
{
    const fbInfoElement_t *by_id = fbInfoModelGetElementByID(model, def->num, def->ent);
    const fbInfoElement_t *by_name = fbInfoModelGetElementByName(model, def->name);

    if (by_name != NULL && (by_name->ent != def->ent || by_name->num != def->num)) {
        g_set_error(err, IPFIX_INFOMODEL_ERROR, IPFIX_INFOMODEL_ERROR_CONFLICT,
                    "%s:%u: name '%s' already belongs to element %u/%u", origin, def->line,
                    def->name, by_name->ent, by_name->num);
        return FALSE;
    }
    if (def->flags & FB_IE_F_REVERSIBLE) {
        char *rev = g_strdup_printf("%s%c%s", FB_IE_REVERSE_STR, g_ascii_toupper(def->name[0]),
                                    def->name + 1);
        const fbInfoElement_t *r = fbInfoModelGetElementByName(model, rev);
        uint32_t rent = def->ent ? def->ent : FB_IE_PEN_REVERSE;
        uint16_t rnum = def->ent ? (uint16_t)(def->num | FB_IE_VENDOR_BIT_REVERSE) : def->num;
        gboolean clash = r != NULL && (r->ent != rent || r->num != rnum);

        if (clash)
            g_set_error(err, IPFIX_INFOMODEL_ERROR, IPFIX_INFOMODEL_ERROR_CONFLICT,
                        "%s:%u: reverse name '%s' already belongs to element %u/%u", origin,
                        def->line, rev, r->ent, r->num);
        g_free(rev);
        if (clash)
            return FALSE;
    }
    if (by_id != NULL && !(by_id->flags & FB_IE_F_ALIEN) && def->ent == 0
        && !(strcmp(by_id->ref.name, def->name) == 0 && by_id->len == def->len
             && by_id->type == def->type)) {
        /* Redefining IANA elements would silently change how every
         * exporter's records decode; refuse.  (Enterprise elements may be
         * redefined: the later file wins, as fbInfoModelAddElement does.) */
        g_set_error(err, IPFIX_INFOMODEL_ERROR, IPFIX_INFOMODEL_ERROR_CONFLICT,
                    "%s:%u: IANA element %u is already defined as '%s'", origin, def->line,
                    def->num, by_id->ref.name);
        return FALSE;
    }
    return TRUE;
}

gboolean
ipfix_infomodel_load_data(fbInfoModel_t *model, const char *text, gsize len,
                          const char *origin, guint *n_added, GError **err)
{
    GStringChunk *names = g_string_chunk_new(1024);
    GArray *defs = g_array_new(FALSE, TRUE, sizeof(ies_def_t));
    GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
    char *copy = g_strndup(text, len);
    char **lines = g_strsplit(copy, "\n", -1);
    gboolean ok = FALSE;
    guint added = 0;

    g_return_val_if_fail(model != NULL && text != NULL, FALSE);
    if (origin == NULL)
        origin = "<data>";
    for (guint i = 0; lines[i] != NULL; i++) {
        char *hash = strchr(lines[i], '#');
        char **tok;
        guint ntok = 0;
        ies_def_t def;

        if (hash != NULL)
            *hash = '\0';
        tok = g_strsplit_set(g_strstrip(lines[i]), " \t\r", -1);
        /* compact out empty tokens from repeated separators */
        for (guint j = 0; tok[j] != NULL; j++) {
            if (tok[j][0] != '\0')
                tok[ntok++] = tok[j];
            else
                g_free(tok[j]);
        }
        tok[ntok] = NULL;
        if (ntok == 0) {
            g_strfreev(tok);
            continue;
        }
        memset(&def, 0, sizeof(def));
        if (!parse_def(tok, ntok, origin, i + 1, names, &def, err)) {
            g_strfreev(tok);
            goto out;
        }
        g_strfreev(tok);
        if (g_hash_table_contains(seen, def.name)) {
            g_set_error(err, IPFIX_INFOMODEL_ERROR, IPFIX_INFOMODEL_ERROR_CONFLICT,
                        "%s:%u: element '%s' defined twice", origin, i + 1, def.name);
            goto out;
        }
        g_hash_table_add(seen, (gpointer)def.name);
        g_array_append_val(defs, def);
    }
    for (guint i = 0; i < defs->len; i++)
        if (!check_against_model(model, &g_array_index(defs, ies_def_t, i), origin, err))
            goto out;
    for (guint i = 0; i < defs->len; i++) {
        const ies_def_t *d = &g_array_index(defs, ies_def_t, i);
        fbInfoElement_t ie = FB_IE_INIT_FULL(d->name, d->ent, d->num, d->len, d->flags, 0, 0,
                                             d->type, NULL);

        fbInfoModelAddElement(model, &ie);
        added++;
    }
    ok = TRUE;
out:
    if (n_added != NULL)
        *n_added = ok ? added : 0;
    g_strfreev(lines);
    g_free(copy);
    g_hash_table_destroy(seen);
    g_array_free(defs, TRUE);
    g_string_chunk_free(names);
    return ok;
}

gboolean
ipfix_infomodel_load_file(fbInfoModel_t *model, const char *path, guint *n_added,
                          GError **err)
{
    char *text = NULL;
    gsize len = 0;
    GError *local = NULL;
    gboolean ok;

    if (!g_file_get_contents(path, &text, &len, &local)) {
        g_set_error(err, IPFIX_INFOMODEL_ERROR, IPFIX_INFOMODEL_ERROR_IO, "%s",
                    local->message);
        g_error_free(local);
        return FALSE;
    }
    ok = ipfix_infomodel_load_data(model, text, len, path, n_added, err);
    g_free(text);
    return ok;
}

static gint
cmp_str(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

gboolean
ipfix_infomodel_load_dir(fbInfoModel_t *model, const char *dir, guint *n_added, GError **err)
{
    GError *local = NULL;
    GDir *d = g_dir_open(dir, 0, &local);
    GPtrArray *files;
    const char *name;
    guint total = 0;
    gboolean ok = TRUE;

    if (d == NULL) {
        g_set_error(err, IPFIX_INFOMODEL_ERROR, IPFIX_INFOMODEL_ERROR_IO,
                    "templates directory: %s", local->message);
        g_error_free(local);
        return FALSE;
    }
    files = g_ptr_array_new_with_free_func(g_free);
    while ((name = g_dir_read_name(d)) != NULL) {
        char *path;

        if (!g_str_has_suffix(name, ".ies") || name[0] == '.')
            continue;
        path = g_build_filename(dir, name, NULL);
        if (g_file_test(path, G_FILE_TEST_IS_REGULAR))
            g_ptr_array_add(files, path);
        else
            g_free(path);
    }
    g_dir_close(d);
    g_ptr_array_sort(files, cmp_str);
    for (guint i = 0; i < files->len && ok; i++) {
        guint n = 0;

        ok = ipfix_infomodel_load_file(model, g_ptr_array_index(files, i), &n, err);
        total += n;
    }
    g_ptr_array_free(files, TRUE);
    if (n_added != NULL)
        *n_added = total;
    return ok;
}

char *
ipfix_infomodel_default_dir(void)
{
    char *exe, *bindir, *cand;

    if (g_file_test(PKGDATADIR "/templates", G_FILE_TEST_IS_DIR))
        return g_strdup(PKGDATADIR "/templates");
    /* Uninstalled: src/connlogd or tests/check_* of an in-tree build sit one
     * level below the source tree's templates/. */
    exe = g_file_read_link("/proc/self/exe", NULL);
    if (exe == NULL)
        return NULL;
    bindir = g_path_get_dirname(exe);
    g_free(exe);
    cand = g_build_filename(bindir, "..", "templates", NULL);
    if (!g_file_test(cand, G_FILE_TEST_IS_DIR)) {
        g_free(cand);
        cand = g_build_filename(bindir, "..", "..", "templates", NULL);
        if (!g_file_test(cand, G_FILE_TEST_IS_DIR)) {
            g_free(cand);
            cand = NULL;
        }
    }
    g_free(bindir);
    return cand;
}
