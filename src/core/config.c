/*
 * Daemon configuration from a GKeyFile.  One table describes every key
 * (group, name, type, range, where it lands in config_t), so loading,
 * validation, error messages and the restart-needed comparison all agree.
 * [conn] additionally takes Zeek's tunables by name, validated through the
 * connection builder's own parser.
 */
#include "core/config.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

G_DEFINE_QUARK(connlogd-config-error-quark, config_error)

typedef enum {
    K_STR,     /* char *, "" means unset */
    K_STRV,    /* char **, items split on ';' ',' and blanks */
    K_BOOL,
    K_INT,     /* int within [min, max] */
    K_UINT,    /* unsigned within [min, max] */
    K_U64,     /* uint64_t within [min, max] */
    K_DUR,     /* double seconds within [min, max] */
    K_FORMAT,  /* log_format_t */
    K_SEED,    /* has_seed + seed */
    K_HTTP,    /* "ADDR:PORT" or "off" */
    K_IPFIX,   /* listen list for the IPFIX side */
    K_NETFLOW, /* listen list for the NetFlow side */
} key_kind_t;

typedef struct {
    const char *group;
    const char *key;
    key_kind_t kind;
    size_t off;
    double min, max;
    bool restart;  /* a change takes effect only after a restart */
} key_desc_t;

#define F(field) offsetof(config_t, field)

static const key_desc_t keys[] = {
    {"capture", "interfaces", K_STRV, F(interfaces), 0, 0, true},
    {"capture", "filter", K_STR, F(filter), 0, 0, true},
    {"capture", "snaplen", K_INT, F(snaplen), 64, 262144, true},
    {"capture", "buffer_size", K_INT, F(buffer_mib), 1, 2048, true},
    {"capture", "promiscuous", K_BOOL, F(promiscuous), 0, 0, true},
    {"capture", "immediate", K_BOOL, F(immediate), 0, 0, true},
    {"capture", "ignore_checksums", K_BOOL, F(ignore_checksums), 0, 0, true},
    {"capture", "ignore_checksums_nets", K_STR, F(ignore_checksums_nets), 0, 0, true},
    {"ipfix", "listen", K_IPFIX, F(ipfix_listen), 0, 0, true},
    {"ipfix", "templates_dir", K_STR, F(templates_dir), 0, 0, true},
    {"ipfix", "max_exporters", K_UINT, F(max_exporters), 0, 1 << 20, true},
    {"ipfix", "max_tcp_connections", K_UINT, F(max_tcp_connections), 0, 65536, true},
    {"ipfix", "exporter_idle_timeout", K_UINT, F(exporter_idle_timeout), 0, 86400 * 7, true},
    {"ipfix", "allow", K_STR, F(ipfix_allow), 0, 0, true},
    {"ipfix", "max_sessions", K_UINT, F(max_sessions), 0, 1 << 20, true},
    {"ipfix", "max_sessions_per_address", K_UINT, F(max_sessions_per_address), 0, 1 << 20, true},
    {"ipfix", "max_exporters_per_address", K_UINT, F(max_exporters_per_address), 0, 1 << 20,
     true},
    {"ipfix", "max_templates", K_UINT, F(max_templates), 0, 1 << 24, true},
    {"ipfix", "max_template_fields", K_UINT, F(max_template_fields), 0, 1 << 28, true},
    {"ipfix", "max_unknown_elements", K_UINT, F(max_unknown_elements), 0, 1 << 24, true},
    {"ipfix", "udp_rcvbuf", K_INT, F(udp_rcvbuf), 0, 1 << 30, true},
    {"ipfix", "max_time_skew", K_DUR, F(max_time_skew), 0, 86400.0 * 365, true},
    {"ipfix", "queue_size", K_UINT, F(flow_queue), 64, 1 << 24, true},
    {"netflow", "listen", K_NETFLOW, F(netflow_listen), 0, 0, true},
    {"conn", "local_nets", K_STR, F(local_nets), 0, 0, true},
    {"conn", "private_is_local", K_BOOL, F(private_is_local), 0, 0, true},
    {"conn", "likely_server_ports", K_STR, F(likely_server_ports), 0, 0, true},
    {"conn", "max_conns", K_U64, F(max_conns), 0, 1e12, true},
    {"conn", "seed", K_SEED, F(seed), 0, 0, true},
    {"conn", "wall_clock_grace", K_DUR, F(wall_clock_grace), 0, 3600, true},
    {"output", "logdir", K_STR, F(logdir), 0, 0, false},
    {"output", "format", K_FORMAT, F(format), 0, 0, false},
    {"output", "rotate_interval", K_DUR, F(rotate_interval), 0, 86400.0 * 366, false},
    {"http", "listen", K_HTTP, F(http_listen), 0, 0, true},
    {"http", "token", K_STR, F(http_token), 0, 0, false},
    {"http", "max_connections", K_UINT, F(http_max_connections), 1, 1024, true},
    {"http", "recent_size", K_UINT, F(recent_size), 1, 1000000, true},
    {"daemon", "user", K_STR, F(user), 0, 0, true},
    {"daemon", "stats_interval", K_DUR, F(stats_interval), 0.05, 3600, false},
};

static const char *const groups[] = {"capture", "ipfix", "netflow", "conn",
                                     "output",  "http",  "daemon"};

void
config_defaults(config_t *c)
{
    memset(c, 0, sizeof(*c));
    c->source = g_strdup("");
    c->snaplen = 262144;
    c->buffer_mib = 32;
    c->promiscuous = true;
    c->immediate = true;
    c->flow_queue = 65536;
    /* a router's export burst (softflowd flushes 100+ datagrams at once) overflows
     * the usual 208 KiB default; 4 MiB holds about 100,000 records */
    c->udp_rcvbuf = 4 << 20;
    c->private_is_local = true;
    c->wall_clock_grace = 2.0;
    c->logdir = g_strdup(".");
    c->format = LOG_FORMAT_TSV;
    c->rotate_interval = 3600.0;
    c->http_listen = g_strdup(CONFIG_DEFAULT_HTTP);
    c->http_max_connections = 32;
    c->recent_size = 1000;
    c->stats_interval = 1.0;
}

void
config_clear(config_t *c)
{
    if (!c)
        return;
    g_free(c->source);
    g_strfreev(c->interfaces);
    g_free(c->filter);
    g_free(c->ignore_checksums_nets);
    g_strfreev(c->ipfix_listen);
    g_strfreev(c->netflow_listen);
    g_free(c->templates_dir);
    g_free(c->ipfix_allow);
    g_free(c->local_nets);
    g_free(c->likely_server_ports);
    g_strfreev(c->tunables);
    g_free(c->logdir);
    g_free(c->http_listen);
    g_free(c->http_token);
    g_free(c->user);
    memset(c, 0, sizeof(*c));
}

/* ---- value parsers */

static bool
parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1", "T"};
    static const char *const no[] = {"false", "no", "off", "0", "F"};

    for (size_t i = 0; i < G_N_ELEMENTS(yes); i++) {
        if (g_ascii_strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (g_ascii_strcasecmp(s, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

static bool
parse_number(const char *s, double *out)
{
    char *end = NULL;

    errno = 0;
    double v = g_ascii_strtod(s, &end);
    if (errno || end == s || !isfinite(v))
        return false;
    while (*end == ' ' || *end == '\t')
        end++;
    if (*end)
        return false;
    *out = v;
    return true;
}

bool
config_parse_duration(const char *s, double *out)
{
    static const struct {
        const char *unit;
        double mult;
    } units[] = {
        {"", 1},       {"s", 1},        {"sec", 1},      {"secs", 1},    {"second", 1},
        {"seconds", 1}, {"m", 60},      {"min", 60},     {"mins", 60},   {"minute", 60},
        {"minutes", 60}, {"h", 3600},   {"hr", 3600},    {"hrs", 3600},  {"hour", 3600},
        {"hours", 3600}, {"d", 86400},  {"day", 86400},  {"days", 86400}, {"ms", 0.001},
        {"msec", 0.001}, {"msecs", 0.001},
    };
    char *end = NULL;

    if (!s)
        return false;
    errno = 0;
    double v = g_ascii_strtod(s, &end);
    if (errno || end == s || !isfinite(v) || v < 0)
        return false;
    while (*end == ' ' || *end == '\t')
        end++;
    g_autofree char *unit = g_strstrip(g_strdup(end));
    for (size_t i = 0; i < G_N_ELEMENTS(units); i++) {
        if (g_ascii_strcasecmp(unit, units[i].unit) == 0) {
            *out = v * units[i].mult;
            return true;
        }
    }
    return false;
}

gboolean
config_parse_hostport(const char *s, char **host, uint16_t *port, GError **err)
{
    const char *colon;
    g_autofree char *h = NULL;

    if (!s || !*s) {
        g_set_error(err, CONFIG_ERROR, CONFIG_ERROR_VALUE, "empty address");
        return FALSE;
    }
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':') {
            g_set_error(err, CONFIG_ERROR, CONFIG_ERROR_VALUE,
                        "'%s': want [IPv6]:PORT", s);
            return FALSE;
        }
        h = g_strndup(s + 1, (gsize)(close - s - 1));
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (colon && strchr(s, ':') != colon) {
            g_set_error(err, CONFIG_ERROR, CONFIG_ERROR_VALUE,
                        "'%s': write IPv6 addresses as [ADDR]:PORT", s);
            return FALSE;
        }
        h = colon ? g_strndup(s, (gsize)(colon - s)) : g_strdup("");
    }
    const char *ps = colon ? colon + 1 : s;
    char *end = NULL;
    errno = 0;
    unsigned long p = strtoul(ps, &end, 10);
    if (errno || end == ps || *end || p > 65535) {
        g_set_error(err, CONFIG_ERROR, CONFIG_ERROR_VALUE, "'%s': bad port", s);
        return FALSE;
    }
    uint8_t tmp[16];
    if (*h && !addr_parse(h, tmp)) {
        g_set_error(err, CONFIG_ERROR, CONFIG_ERROR_VALUE,
                    "'%s': '%s' is not a numeric IPv4/IPv6 address", s, h);
        return FALSE;
    }
    *host = g_steal_pointer(&h);
    *port = (uint16_t)p;
    return TRUE;
}

char *
config_listen_spec(const char *s, bool netflow)
{
    if (netflow) {
        if (g_str_has_prefix(s, "udp://"))
            return g_strconcat("netflow://", s + 6, NULL);
        if (strstr(s, "://"))
            return g_strdup(s);
        return g_strconcat("netflow://", s, NULL);
    }
    if (strstr(s, "://"))
        return g_strdup(s);
    return g_strconcat("udp://", s, NULL);
}

/* Check one collector spec's shape here so --check-config catches it; the
 * collector re-parses it when it binds. */
static gboolean
check_listen_spec(const char *spec, bool netflow, GError **err)
{
    const char *rest;

    if (netflow) {
        if (!g_str_has_prefix(spec, "netflow://")) {
            g_set_error(err, CONFIG_ERROR, CONFIG_ERROR_VALUE,
                        "'%s': NetFlow listens on udp://ADDR:PORT", spec);
            return FALSE;
        }
        rest = spec + strlen("netflow://");
    } else if (g_str_has_prefix(spec, "udp://") || g_str_has_prefix(spec, "tcp://")) {
        rest = spec + 6;
    } else {
        g_set_error(err, CONFIG_ERROR, CONFIG_ERROR_VALUE,
                    "'%s': want udp://ADDR[:PORT] or tcp://ADDR[:PORT]", spec);
        return FALSE;
    }
    if (*rest == '\0' || strcmp(rest, "*") == 0)
        return TRUE;
    g_autofree char *host = NULL;
    uint16_t port;
    /* "ADDR" alone (default port) is allowed; try it as an address first. */
    uint8_t tmp[16];
    if (addr_parse(rest, tmp))
        return TRUE;
    if (rest[0] == '*' && rest[1] == ':')
        return config_parse_hostport(rest + 1, &host, &port, err);
    if (rest[0] == '[' && strchr(rest, ']') && strchr(rest, ']')[1] == '\0') {
        g_autofree char *inner = g_strndup(rest + 1, strlen(rest) - 2);
        if (addr_parse(inner, tmp))
            return TRUE;
    }
    return config_parse_hostport(rest, &host, &port, err);
}

static char **
split_list(const char *raw)
{
    g_auto(GStrv) parts = g_strsplit_set(raw, ";, \t", -1);
    GPtrArray *a = g_ptr_array_new();

    for (char **it = parts; *it; it++)
        if (**it)
            g_ptr_array_add(a, g_strdup(*it));
    g_ptr_array_add(a, NULL);
    return (char **)g_ptr_array_free(a, FALSE);
}

static bool
strv_empty(const char *const *v)
{
    return v == NULL || v[0] == NULL;
}

/* Store @p value for @p d into @p c.  On error fill @p why (static text or
 * new string in *owned). */
static gboolean
set_key(config_t *c, const key_desc_t *d, const char *value, GError **err)
{
    char *base = (char *)c + d->off;
    double v;

    switch (d->kind) {
    case K_STR: {
        char **slot = (char **)base;
        g_free(*slot);
        *slot = *value ? g_strdup(value) : NULL;
        if (*slot && strcmp(d->key, "logdir") == 0 && strlen(*slot) > 4000) {
            g_set_error(err, CONFIG_ERROR, CONFIG_ERROR_VALUE, "path too long");
            return FALSE;
        }
        return TRUE;
    }
    case K_STRV:
    case K_IPFIX:
    case K_NETFLOW: {
        char ***slot = (char ***)base;
        char **items = split_list(value);
        if (d->kind != K_STRV) {
            for (char **it = items; *it; it++) {
                char *spec = config_listen_spec(*it, d->kind == K_NETFLOW);
                g_free(*it);
                *it = spec;
                if (!check_listen_spec(spec, d->kind == K_NETFLOW, err)) {
                    g_strfreev(items);
                    return FALSE;
                }
            }
        } else if (g_strv_length(items) > CONFIG_MAX_INTERFACES) {
            g_strfreev(items);
            g_set_error(err, CONFIG_ERROR, CONFIG_ERROR_VALUE, "more than %d interfaces",
                        CONFIG_MAX_INTERFACES);
            return FALSE;
        }
        g_strfreev(*slot);
        *slot = items;
        return TRUE;
    }
    case K_BOOL:
        if (!parse_bool(value, (bool *)base)) {
            g_set_error(err, CONFIG_ERROR, CONFIG_ERROR_VALUE,
                        "'%s' is not a boolean (true/false)", value);
            return FALSE;
        }
        return TRUE;
    case K_INT:
    case K_UINT:
    case K_U64:
        if (!parse_number(value, &v) || v != floor(v)) {
            g_set_error(err, CONFIG_ERROR, CONFIG_ERROR_VALUE, "'%s' is not an integer", value);
            return FALSE;
        }
        if (v < d->min || v > d->max) {
            g_set_error(err, CONFIG_ERROR, CONFIG_ERROR_VALUE, "%s is out of range %.0f..%.0f",
                        value, d->min, d->max);
            return FALSE;
        }
        if (d->kind == K_INT)
            *(int *)base = (int)v;
        else if (d->kind == K_UINT)
            *(unsigned *)base = (unsigned)v;
        else
            *(uint64_t *)base = (uint64_t)v;
        return TRUE;
    case K_DUR:
        if (!config_parse_duration(value, &v)) {
            g_set_error(err, CONFIG_ERROR, CONFIG_ERROR_VALUE,
                        "'%s' is not a duration (e.g. 30, 30s, 10 min, 1h)", value);
            return FALSE;
        }
        if (v != 0 && (v < d->min || v > d->max)) {
            g_set_error(err, CONFIG_ERROR, CONFIG_ERROR_VALUE,
                        "%s is out of range %g..%g seconds", value, d->min, d->max);
            return FALSE;
        }
        if (v == 0 && d->min > 0) {
            g_set_error(err, CONFIG_ERROR, CONFIG_ERROR_VALUE, "must be above 0");
            return FALSE;
        }
        *(double *)base = v;
        return TRUE;
    case K_FORMAT:
        if (strcmp(value, "tsv") == 0)
            c->format = LOG_FORMAT_TSV;
        else if (strcmp(value, "json") == 0)
            c->format = LOG_FORMAT_JSON;
        else {
            g_set_error(err, CONFIG_ERROR, CONFIG_ERROR_VALUE, "'%s': want tsv or json", value);
            return FALSE;
        }
        return TRUE;
    case K_SEED:
        if (!parse_number(value, &v) || v != floor(v) || v < 0 || v > 9007199254740992.0) {
            g_set_error(err, CONFIG_ERROR, CONFIG_ERROR_VALUE,
                        "'%s' is not a non-negative integer", value);
            return FALSE;
        }
        c->has_seed = true;
        c->seed = (uint64_t)v;
        return TRUE;
    case K_HTTP: {
        g_free(c->http_listen);
        c->http_listen = NULL;
        if (*value == '\0' || strcmp(value, "off") == 0)
            return TRUE;
        g_autofree char *host = NULL;
        uint16_t port;
        if (!config_parse_hostport(value, &host, &port, err))
            return FALSE;
        c->http_listen = g_strdup(value);
        return TRUE;
    }
    }
    return FALSE;
}

static const key_desc_t *
find_key(const char *group, const char *key)
{
    for (size_t i = 0; i < G_N_ELEMENTS(keys); i++)
        if (strcmp(keys[i].group, group) == 0 && strcmp(keys[i].key, key) == 0)
            return &keys[i];
    return NULL;
}

/* A [conn] key that is not in the table may be one of Zeek's tunables.
 * Returns TRUE and appends it if the builder accepts it; sets CONFIG_ERROR_KEY
 * when no tunable has that name, CONFIG_ERROR_VALUE when the value is bad. */
static gboolean
add_tunable(config_t *c, const char *key, const char *value, GError **err)
{
    static const char *const probes[] = {"T", "1", "1 sec"};
    conn_config_t scratch;
    char *msg = NULL;

    conn_config_defaults(&scratch);
    if (conn_config_set_tunable(&scratch, key, value, &msg)) {
        gsize n = c->tunables ? g_strv_length(c->tunables) : 0;
        c->tunables = g_renew(char *, c->tunables, n + 2);
        c->tunables[n] = g_strdup_printf("%s=%s", key, value);
        c->tunables[n + 1] = NULL;
        return TRUE;
    }
    g_free(msg);
    /* Tell a bad value from an unknown name: a known tunable accepts one
     * of the probe values of its type. */
    for (size_t i = 0; i < G_N_ELEMENTS(probes); i++) {
        msg = NULL;
        if (conn_config_set_tunable(&scratch, key, probes[i], &msg)) {
            g_set_error(err, CONFIG_ERROR, CONFIG_ERROR_VALUE, "bad value '%s'", value);
            return FALSE;
        }
        g_free(msg);
    }
    g_set_error(err, CONFIG_ERROR, CONFIG_ERROR_KEY, "unknown key");
    return FALSE;
}

static gboolean
load_keyfile(GKeyFile *kf, const char *name, config_t *out, GError **err)
{
    gsize ngroups = 0;
    g_auto(GStrv) grps = g_key_file_get_groups(kf, &ngroups);

    for (gsize gi = 0; gi < ngroups; gi++) {
        const char *g = grps[gi];
        bool known = false;
        for (size_t i = 0; i < G_N_ELEMENTS(groups); i++)
            known = known || strcmp(groups[i], g) == 0;
        if (!known) {
            g_set_error(err, CONFIG_ERROR, CONFIG_ERROR_GROUP, "%s:%s: unknown group", name, g);
            return FALSE;
        }
        g_auto(GStrv) ks = g_key_file_get_keys(kf, g, NULL, NULL);
        for (char **k = ks; k && *k; k++) {
            GError *e = NULL;
            g_autofree char *raw = g_key_file_get_string(kf, g, *k, &e);
            /* A bad escape sequence (a backslash before a 5, say) comes
             * back as what could be read *and* an error: the value is not
             * what was written, so refuse it (and free the error). */
            if (!raw || e) {
                g_set_error(err, CONFIG_ERROR, CONFIG_ERROR_VALUE, "%s:%s.%s: %s", name, g, *k,
                            e->message);
                g_error_free(e);
                return FALSE;
            }
            char *value = g_strstrip(raw);
            const key_desc_t *d = find_key(g, *k);
            gboolean ok;
            if (d)
                ok = set_key(out, d, value, &e);
            else if (strcmp(g, "conn") == 0)
                ok = add_tunable(out, *k, value, &e);
            else {
                ok = FALSE;
                g_set_error(&e, CONFIG_ERROR, CONFIG_ERROR_KEY, "unknown key");
            }
            if (!ok) {
                g_propagate_prefixed_error(err, e, "%s:%s.%s: ", name, g, *k);
                return FALSE;
            }
        }
    }
    return TRUE;
}

/* An exporter allow-list must parse and name at least one network (an
 * empty one would shut every exporter out, surely not what was meant). */
static gboolean
check_allow(const char *list, const char *what, GError **err)
{
    GError *e = NULL;
    netset_t *s = netset_new();
    gboolean ok = netset_add_list(s, list, &e);

    if (ok && netset_is_empty(s)) {
        ok = FALSE;
        g_set_error(&e, CONFIG_ERROR, CONFIG_ERROR_VALUE, "no network given");
    }
    netset_free(s);
    if (!ok) {
        g_set_error(err, CONFIG_ERROR, CONFIG_ERROR_VALUE, "%s: %s", what, e->message);
        g_error_free(e);
    }
    return ok;
}

/* Cross-key checks and the conn configuration, named by the key at fault. */
static gboolean
validate(const config_t *c, GError **err)
{
    conn_config_t cc;
    netset_t *a = NULL, *b = NULL;

    if (!config_build_conn(c, &cc, &a, &b, err))
        return FALSE;
    netset_free(a);
    netset_free(b);
    if (c->ipfix_allow && !check_allow(c->ipfix_allow, "ipfix.allow", err))
        return FALSE;
    if (c->http_token && strpbrk(c->http_token, " \t\r\n")) {
        g_set_error(err, CONFIG_ERROR, CONFIG_ERROR_VALUE,
                    "http.token: must not contain blanks");
        return FALSE;
    }
    return TRUE;
}

gboolean
config_load_data(const char *name, const char *data, config_t *out, GError **err)
{
    g_autoptr(GKeyFile) kf = g_key_file_new();
    GError *e = NULL;

    config_defaults(out);
    g_free(out->source);
    out->source = g_strdup(name);
    if (!g_key_file_load_from_data(kf, data, (gsize)-1, G_KEY_FILE_NONE, &e)) {
        g_set_error(err, CONFIG_ERROR, CONFIG_ERROR_FILE, "%s: %s", name, e->message);
        g_error_free(e);
        config_clear(out);
        return FALSE;
    }
    if (!load_keyfile(kf, name, out, err)) {
        config_clear(out);
        return FALSE;
    }
    if (!validate(out, &e)) {
        g_propagate_prefixed_error(err, e, "%s:", name);
        config_clear(out);
        return FALSE;
    }
    return TRUE;
}

gboolean
config_load(const char *path, config_t *out, GError **err)
{
    g_autofree char *data = NULL;
    GError *e = NULL;

    if (!g_file_get_contents(path, &data, NULL, &e)) {
        memset(out, 0, sizeof(*out));
        g_set_error(err, CONFIG_ERROR, CONFIG_ERROR_FILE, "%s: %s", path, e->message);
        g_error_free(e);
        return FALSE;
    }
    return config_load_data(path, data, out, err);
}

static void
replace_str(char **slot, const char *v)
{
    g_free(*slot);
    *slot = v && *v ? g_strdup(v) : NULL;
}

static gboolean
replace_listen(char ***slot, const char *const *v, bool netflow, const char *opt, GError **err)
{
    GPtrArray *a = g_ptr_array_new_with_free_func(g_free);

    for (const char *const *it = v; *it; it++) {
        char *spec = config_listen_spec(*it, netflow);
        g_ptr_array_add(a, spec);
        GError *e = NULL;
        if (!check_listen_spec(spec, netflow, &e)) {
            g_propagate_prefixed_error(err, e, "%s: ", opt);
            g_ptr_array_unref(a);
            return FALSE;
        }
    }
    g_ptr_array_set_free_func(a, NULL);
    g_ptr_array_add(a, NULL);
    g_strfreev(*slot);
    *slot = (char **)g_ptr_array_free(a, FALSE);
    return TRUE;
}

gboolean
config_apply_overrides(config_t *c, const config_overrides_t *o, GError **err)
{
    if (!strv_empty(o->interfaces)) {
        if (g_strv_length((char **)o->interfaces) > CONFIG_MAX_INTERFACES) {
            g_set_error(err, CONFIG_ERROR, CONFIG_ERROR_VALUE, "-i: more than %d interfaces",
                        CONFIG_MAX_INTERFACES);
            return FALSE;
        }
        g_strfreev(c->interfaces);
        c->interfaces = g_strdupv((char **)o->interfaces);
    }
    if (o->filter)
        replace_str(&c->filter, o->filter);
    if (!strv_empty(o->ipfix_listen) &&
        !replace_listen(&c->ipfix_listen, o->ipfix_listen, false, "--ipfix-listen", err))
        return FALSE;
    if (!strv_empty(o->netflow_listen) &&
        !replace_listen(&c->netflow_listen, o->netflow_listen, true, "--netflow-listen", err))
        return FALSE;
    if (o->ipfix_allow) {
        if (!check_allow(o->ipfix_allow, "--ipfix-allow", err))
            return FALSE;
        replace_str(&c->ipfix_allow, o->ipfix_allow);
    }
    if (o->http_listen) {
        GError *e = NULL;
        if (!set_key(c, find_key("http", "listen"), o->http_listen, &e)) {
            g_propagate_prefixed_error(err, e, "--http: ");
            return FALSE;
        }
    }
    if (o->logdir)
        replace_str(&c->logdir, o->logdir);
    if (o->format) {
        GError *e = NULL;
        if (!set_key(c, find_key("output", "format"), o->format, &e)) {
            g_propagate_prefixed_error(err, e, "--format: ");
            return FALSE;
        }
    }
    if (o->user)
        replace_str(&c->user, o->user);
    if (o->local_nets)
        replace_str(&c->local_nets, o->local_nets);
    if (o->no_private_local)
        c->private_is_local = false;
    if (o->likely_server_ports)
        replace_str(&c->likely_server_ports, o->likely_server_ports);
    if (o->ignore_checksums_nets)
        replace_str(&c->ignore_checksums_nets, o->ignore_checksums_nets);
    if (o->ignore_checksums)
        c->ignore_checksums = true;
    if (o->max_conns >= 0)
        c->max_conns = (uint64_t)o->max_conns;
    if (o->seed >= 0) {
        c->has_seed = true;
        c->seed = (uint64_t)o->seed;
    }
    for (const char *const *it = o->tunables; it && *it; it++) {
        const char *eq = strchr(*it, '=');
        if (!eq) {
            g_set_error(err, CONFIG_ERROR, CONFIG_ERROR_VALUE,
                        "unexpected argument '%s' (tunables are name=value)", *it);
            return FALSE;
        }
        g_autofree char *name = g_strndup(*it, (gsize)(eq - *it));
        GError *e = NULL;
        if (!add_tunable(c, name, eq + 1, &e)) {
            g_propagate_prefixed_error(err, e, "%s: ", name);
            return FALSE;
        }
    }
    return validate(c, err);
}

gboolean
config_build_conn(const config_t *c, conn_config_t *cc, netset_t **local_nets,
                  netset_t **nocksum_nets, GError **err)
{
    char *msg = NULL;
    GError *e = NULL;

    conn_config_defaults(cc);
    cc->ignore_checksums = c->ignore_checksums;
    cc->max_conns = c->max_conns;
    if (c->has_seed)
        cc->hash_seed = c->seed + 1;
    if (c->likely_server_ports && !conn_config_set_server_ports(cc, c->likely_server_ports, &msg)) {
        g_set_error(err, CONFIG_ERROR, CONFIG_ERROR_VALUE, "conn.likely_server_ports: %s", msg);
        g_free(msg);
        return FALSE;
    }
    for (char **it = c->tunables; it && *it; it++) {
        const char *eq = strchr(*it, '=');
        g_autofree char *name = g_strndup(*it, eq ? (gsize)(eq - *it) : strlen(*it));
        if (!eq || !conn_config_set_tunable(cc, name, eq + 1, &msg)) {
            g_set_error(err, CONFIG_ERROR, CONFIG_ERROR_VALUE, "conn.%s: %s", name,
                        msg ? msg : "not name=value");
            g_free(msg);
            return FALSE;
        }
    }

    netset_t *local = netset_new();
    netset_t *nocksum = netset_new();
    if (c->private_is_local)
        netset_add_private(local);
    if (c->local_nets && !netset_add_list(local, c->local_nets, &e)) {
        g_set_error(err, CONFIG_ERROR, CONFIG_ERROR_VALUE, "conn.local_nets: %s", e->message);
        goto fail;
    }
    if (c->ignore_checksums_nets && !netset_add_list(nocksum, c->ignore_checksums_nets, &e)) {
        g_set_error(err, CONFIG_ERROR, CONFIG_ERROR_VALUE, "capture.ignore_checksums_nets: %s",
                    e->message);
        goto fail;
    }
    cc->local_nets = local;
    cc->ignore_checksums_nets = nocksum;
    *local_nets = local;
    *nocksum_nets = nocksum;
    return TRUE;

fail:
    g_clear_error(&e);
    netset_free(local);
    netset_free(nocksum);
    return FALSE;
}

static bool
str_eq(const char *a, const char *b)
{
    return g_strcmp0(a ? a : "", b ? b : "") == 0;
}

static bool
strv_eq(char *const *a, char *const *b)
{
    if (strv_empty((const char *const *)a) || strv_empty((const char *const *)b))
        return strv_empty((const char *const *)a) == strv_empty((const char *const *)b);
    return g_strv_equal((const char *const *)a, (const char *const *)b);
}

char *
config_restart_keys(const config_t *a, const config_t *b)
{
    GString *out = g_string_new(NULL);

    for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
        const key_desc_t *d = &keys[i];
        const char *pa = (const char *)a + d->off, *pb = (const char *)b + d->off;
        bool same;
        if (!d->restart)
            continue;
        switch (d->kind) {
        case K_STR:
        case K_HTTP:
            same = str_eq(*(char *const *)pa, *(char *const *)pb);
            break;
        case K_STRV:
        case K_IPFIX:
        case K_NETFLOW:
            same = strv_eq(*(char **const *)pa, *(char **const *)pb);
            break;
        case K_BOOL:
            same = *(const bool *)pa == *(const bool *)pb;
            break;
        case K_INT:
            same = *(const int *)pa == *(const int *)pb;
            break;
        case K_UINT:
            same = *(const unsigned *)pa == *(const unsigned *)pb;
            break;
        case K_U64:
            same = *(const uint64_t *)pa == *(const uint64_t *)pb;
            break;
        case K_DUR:
            same = *(const double *)pa == *(const double *)pb;
            break;
        case K_SEED:
            same = a->has_seed == b->has_seed && a->seed == b->seed;
            break;
        default:
            same = true;
            break;
        }
        if (!same)
            g_string_append_printf(out, "%s%s.%s", out->len ? ", " : "", d->group, d->key);
    }
    if (!strv_eq(a->tunables, b->tunables))
        g_string_append_printf(out, "%sconn tunables", out->len ? ", " : "");
    if (out->len == 0) {
        g_string_free(out, TRUE);
        return NULL;
    }
    return g_string_free(out, FALSE);
}
