/**
 * @file config.h
 * The daemon's configuration: one GKeyFile with the groups [capture],
 * [ipfix], [netflow], [conn], [output], [http] and [daemon], defaults for
 * every key, range checks, and command-line overrides applied on top.
 * Every error names its place as "file:group.key: reason" so that
 * `connlogd --check-config` points straight at the offending line.
 *
 * Ownership: a config_t owns all its strings; config_free() releases it
 * once.  A SIGHUP reload parses into a fresh config_t and swaps only when
 * it validates (the OpenBSD purge-once habit).
 */
#ifndef CONNLOGD_CORE_CONFIG_H
#define CONNLOGD_CORE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#include "conn/conn.h"
#include "core/netset.h"
#include "output/writer.h"

GQuark config_error_quark(void);
#define CONFIG_ERROR config_error_quark()
enum {
    CONFIG_ERROR_FILE = 1, /* unreadable or not a key file */
    CONFIG_ERROR_GROUP,    /* unknown group */
    CONFIG_ERROR_KEY,      /* unknown key */
    CONFIG_ERROR_VALUE,    /* a value that does not parse or is out of range */
};

#define CONFIG_MAX_INTERFACES 16 /* live capture interfaces at once */
#define CONFIG_DEFAULT_HTTP "127.0.0.1:8080"

/** Everything the daemon reads from its file and command line. */
typedef struct {
    char *source;             /* the file it came from, "" for defaults only */

    /* [capture] */
    char **interfaces;        /* NULL-terminated; NULL or empty: no live capture */
    char *filter;             /* BPF, NULL for none */
    int snaplen;              /* bytes, 64..262144 (default 262144) */
    int buffer_mib;           /* kernel buffer, 1..2048 MiB (default 32) */
    bool promiscuous;         /* default true */
    bool immediate;           /* deliver packets as they arrive (default true) */
    bool ignore_checksums;    /* Zeek's -C */
    char *ignore_checksums_nets;

    /* [ipfix] and [netflow] */
    char **ipfix_listen;      /* collector specs: udp://, tcp:// */
    char **netflow_listen;    /* collector specs: netflow:// */
    char *templates_dir;      /* NULL: the installed default */
    unsigned max_exporters;   /* 0: collector default */
    unsigned max_tcp_connections;
    unsigned exporter_idle_timeout;
    char *ipfix_allow;        /* exporter networks accepted, "CIDR, ..."; NULL: all */
    unsigned max_sessions;    /* collector limits (collector.h); 0: its defaults */
    unsigned max_sessions_per_address;
    unsigned max_exporters_per_address;
    unsigned max_templates;   /* per transport session */
    unsigned max_template_fields;
    unsigned max_unknown_elements; /* collector-wide */
    int udp_rcvbuf;           /* bytes (4 MiB), 0: system default */
    double max_time_skew;     /* seconds, 0: collector default */
    unsigned flow_queue;      /* flow records buffered between threads (default 65536) */

    /* [conn] */
    char *local_nets;
    bool private_is_local;    /* default true (Site::private_address_space_is_local) */
    char *likely_server_ports;
    uint64_t max_conns;
    bool has_seed;
    uint64_t seed;
    char **tunables;          /* "name=value" items, applied in order */
    double wall_clock_grace;  /* seconds the wall clock trails packet time (default 2) */

    /* [output] */
    char *logdir;             /* default "." */
    log_format_t format;
    double rotate_interval;   /* seconds; 0 disables interval rotation (default 3600) */

    /* [http] */
    char *http_listen;        /* "ADDR:PORT", NULL: HTTP off (default 127.0.0.1:8080) */
    char *http_token;         /* bearer token, NULL for none */
    unsigned http_max_connections; /* default 32 */
    unsigned recent_size;     /* /recent ring capacity (default 1000) */

    /* [daemon] */
    char *user;               /* drop to this user after opening inputs; NULL: stay */
    double stats_interval;    /* seconds between /stats snapshots (default 1) */
} config_t;

/** Command-line values that override the file; NULL / unset fields do not. */
typedef struct {
    const char *const *interfaces;
    const char *filter;
    const char *const *ipfix_listen;
    const char *const *netflow_listen;
    const char *ipfix_allow;  /* replaces ipfix.allow */
    const char *http_listen;  /* "off" disables HTTP */
    const char *logdir;
    const char *format;
    const char *user;
    const char *local_nets;
    bool no_private_local;
    const char *likely_server_ports;
    const char *ignore_checksums_nets;
    bool ignore_checksums;
    int64_t max_conns;        /* < 0: not given */
    int64_t seed;             /* < 0: not given */
    const char *const *tunables; /* "name=value" */
} config_overrides_t;

/** Fill @p c with the defaults; the caller frees with config_clear(). */
void config_defaults(config_t *c);

/** Release everything @p c owns and zero it.  Safe on a zeroed struct. */
void config_clear(config_t *c);

/**
 * Load @p path over the defaults into @p out (which is initialized here).
 * Unknown groups and keys are errors (they are almost always typos).  On
 * failure @p out is left cleared and @p err reads "path:group.key: reason".
 */
gboolean config_load(const char *path, config_t *out, GError **err);

/** Parse key-file text (for tests); @p name stands in for the file name. */
gboolean config_load_data(const char *name, const char *data, config_t *out, GError **err);

/** Apply command-line overrides (copies what it takes).  Errors name the option. */
gboolean config_apply_overrides(config_t *c, const config_overrides_t *o, GError **err);

/**
 * Build the connection builder's configuration from @p c: Zeek defaults,
 * likely server ports, tunables, max_conns and the two network sets, which
 * are returned new in @p local_nets and @p nocksum_nets (caller frees with
 * netset_free(); conn_cfg borrows them).  Also the final validation step of
 * config_load().
 */
gboolean config_build_conn(const config_t *c, conn_config_t *conn_cfg, netset_t **local_nets,
                           netset_t **nocksum_nets, GError **err);

/** Split "ADDR:PORT" / "[V6]:PORT" / "PORT" into a host and port.
 *  *@p host is new (caller g_free()s); an empty host means 127.0.0.1. */
gboolean config_parse_hostport(const char *s, char **host, uint16_t *port, GError **err);

/** Parse a duration: plain seconds ("90", "1.5") or with a unit
 *  ("30s", "10 min", "1h", "2 hrs", "1d").  False if it does not parse or is negative. */
bool config_parse_duration(const char *s, double *out);

/** Normalize a listen spec for the collector: "ADDR:PORT" becomes
 *  "udp://ADDR:PORT" (@p netflow: "netflow://..."), and "udp://" on the
 *  NetFlow side becomes "netflow://".  Returns a new string. */
char *config_listen_spec(const char *s, bool netflow);

/** Keys whose change needs a restart and differs between @p a and @p b,
 *  comma-separated ("capture.interfaces, http.listen"); NULL if none.
 *  Caller frees with g_free(). */
char *config_restart_keys(const config_t *a, const config_t *b);

#endif
