/*
 * The HTTP server on libmicrohttpd 0.9.75.  One internal polling thread
 * answers every request synchronously from copies: the stats snapshot is
 * copied out of its board, /recent's matches out of the ring, exporter
 * counters out of the collector, then rendered and queued.  Bodies are
 * GLib-allocated and handed to MHD with g_free as the free callback.
 */
#include "http/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include "page_html.h" /* generated from page.html next to this file */
#include "http/render.h"

G_DEFINE_QUARK(connlogd-http-error-quark, http_error)

#define HTTP_MEMORY_LIMIT (16 * 1024) /* per connection: request line + headers */
#define HTTP_IDLE_TIMEOUT 10          /* seconds */

struct http_server {
    struct MHD_Daemon *mhd;
    uint16_t port;
    stats_board_t *stats;
    recent_t *recent;
    ipfix_collector_t *collector;
    double stall_after;
    GMutex lock;       /* guards token */
    char *token;
    _Atomic uint64_t n_ok, n_client, n_server; /* answers by status class */
};

static double
wall_now(void)
{
    return (double)g_get_real_time() / 1e6;
}

/* Queue @p body (taken) with @p status and @p ctype. */
static enum MHD_Result
reply(struct MHD_Connection *conn, http_server_t *s, unsigned status, const char *ctype,
      GString *body, const char *allow)
{
    gsize len = body->len;
    char *data = g_string_free(body, FALSE);
    struct MHD_Response *r =
        MHD_create_response_from_buffer_with_free_callback(len, data, g_free);
    if (!r) {
        g_free(data);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    if (allow)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"connlogd\"");
    enum MHD_Result rc = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    if (status < 400)
        atomic_fetch_add(&s->n_ok, 1);
    else if (status < 500)
        atomic_fetch_add(&s->n_client, 1);
    else
        atomic_fetch_add(&s->n_server, 1);
    return rc;
}

static enum MHD_Result
reply_error(struct MHD_Connection *conn, http_server_t *s, unsigned status, const char *msg,
            const char *allow)
{
    GString *b = g_string_new("{\"error\":");
    http_json_string(b, msg);
    g_string_append(b, "}\n");
    return reply(conn, s, status, "application/json", b, allow);
}

/* Compare without an early exit, so the time taken does not tell how much
 * of a guessed token was right. */
static bool
token_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char diff = (unsigned char)(la != lb);

    for (size_t i = 0; i < la; i++)
        diff |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
    return diff == 0 && lb > 0;
}

static bool
authorized(http_server_t *s, struct MHD_Connection *conn)
{
    bool ok = true;

    g_mutex_lock(&s->lock);
    if (s->token) {
        const char *h =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
        ok = h && g_ascii_strncasecmp(h, "Bearer ", 7) == 0 && token_equal(h + 7, s->token);
    }
    g_mutex_unlock(&s->lock);
    return ok;
}

static void
flow_view(http_server_t *s, http_flow_view_t *fv)
{
    memset(fv, 0, sizeof(*fv));
    if (!s->collector)
        return;
    fv->present = true;
    fv->exporters = ipfix_collector_stats(s->collector);
    ipfix_collector_totals(s->collector, fv->totals);
    ipfix_collector_usage(s->collector, &fv->usage);
}

static void
flow_view_clear(http_flow_view_t *fv)
{
    if (fv->exporters)
        g_array_unref(fv->exporters);
}

typedef struct {
    recent_filter_t filter;
    unsigned max_limit;
    char *why; /* first error */
} query_ctx_t;

static enum MHD_Result
on_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    query_ctx_t *q = cls;
    (void)kind;
    if (q->why)
        return MHD_NO;
    if (!http_recent_param(&q->filter, q->max_limit, key, value, &q->why))
        return MHD_NO;
    return MHD_YES;
}

static enum MHD_Result
serve_recent(http_server_t *s, struct MHD_Connection *conn)
{
    query_ctx_t q = {.max_limit = recent_capacity(s->recent)};

    recent_filter_init(&q.filter);
    q.filter.limit = MIN(100u, q.max_limit);
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, on_arg, &q);
    if (q.why) {
        enum MHD_Result rc = reply_error(conn, s, MHD_HTTP_BAD_REQUEST, q.why, NULL);
        g_free(q.why);
        return rc;
    }
    GArray *recs = g_array_sized_new(FALSE, FALSE, sizeof(conn_record_t), q.filter.limit);
    recent_query(s->recent, &q.filter, recs);
    GString *b = g_string_sized_new(256 + recs->len * 400);
    http_render_recent(recs, b);
    g_array_unref(recs);
    return reply(conn, s, MHD_HTTP_OK, "application/json", b, NULL);
}

static enum MHD_Result
serve_stats(http_server_t *s, struct MHD_Connection *conn, bool metrics)
{
    stats_snapshot_t *snap = g_new(stats_snapshot_t, 1);
    http_flow_view_t fv;

    stats_board_read(s->stats, snap);
    flow_view(s, &fv);
    GString *b = g_string_sized_new(4096);
    if (metrics)
        http_render_metrics(snap, &fv, b);
    else {
        http_render_stats(snap, &fv, recent_capacity(s->recent), b);
        g_string_append_c(b, '\n');
    }
    flow_view_clear(&fv);
    g_free(snap);
    return reply(conn, s, MHD_HTTP_OK,
                 metrics ? "text/plain; version=0.0.4; charset=utf-8" : "application/json", b,
                 NULL);
}

static enum MHD_Result
serve_health(http_server_t *s, struct MHD_Connection *conn)
{
    stats_snapshot_t *snap = g_new(stats_snapshot_t, 1);
    stats_board_read(s->stats, snap);
    double age = wall_now() - snap->taken;
    bool stalled = snap->seq == 0 || age > s->stall_after;
    GString *b = g_string_new(NULL);
    g_string_append_printf(b, "{\"status\":\"%s\",\"snapshot_age\":", stalled ? "stalled" : "ok");
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    g_string_append(b, snap->seq ? g_ascii_formatd(buf, sizeof(buf), "%.3f", age) : "null");
    g_string_append(b, "}\n");
    g_free(snap);
    return reply(conn, s, stalled ? MHD_HTTP_SERVICE_UNAVAILABLE : MHD_HTTP_OK,
                 "application/json", b, NULL);
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
           const char *version, const char *upload_data, size_t *upload_data_size,
           void **req_cls)
{
    http_server_t *s = cls;
    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    (void)req_cls;

    enum { P_ROOT, P_STATS, P_RECENT, P_METRICS, P_HEALTH, P_NONE } path = P_NONE;
    if (strcmp(url, "/") == 0 || strcmp(url, "/index.html") == 0)
        path = P_ROOT;
    else if (strcmp(url, "/stats") == 0)
        path = P_STATS;
    else if (strcmp(url, "/recent") == 0)
        path = P_RECENT;
    else if (strcmp(url, "/metrics") == 0)
        path = P_METRICS;
    else if (strcmp(url, "/health") == 0)
        path = P_HEALTH;

    if (path == P_NONE)
        return reply_error(conn, s, MHD_HTTP_NOT_FOUND, "not found", NULL);
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return reply_error(conn, s, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed",
                           "GET, HEAD");
    /* The page holds no data (it asks for the token itself) and /health
     * only says whether the daemon is alive. */
    if (path != P_HEALTH && path != P_ROOT && !authorized(s, conn))
        return reply_error(conn, s, MHD_HTTP_UNAUTHORIZED, "bearer token required", NULL);

    switch (path) {
    case P_ROOT: {
        GString *b = g_string_new_len(http_page_html, (gssize)sizeof(http_page_html) - 1);
        return reply(conn, s, MHD_HTTP_OK, "text/html; charset=utf-8", b, NULL);
    }
    case P_STATS:
        return serve_stats(s, conn, false);
    case P_METRICS:
        return serve_stats(s, conn, true);
    case P_RECENT:
        return serve_recent(s, conn);
    case P_HEALTH:
        return serve_health(s, conn);
    default:
        return reply_error(conn, s, MHD_HTTP_NOT_FOUND, "not found", NULL);
    }
}

http_server_t *
http_server_start(const http_config_t *cfg, stats_board_t *stats, recent_t *recent,
                  ipfix_collector_t *collector, GError **err)
{
    const char *addr = cfg->address && *cfg->address ? cfg->address : "127.0.0.1";
    struct sockaddr_in sin;
    struct sockaddr_in6 sin6;
    struct sockaddr *sa;
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;

    memset(&sin, 0, sizeof(sin));
    memset(&sin6, 0, sizeof(sin6));
    if (inet_pton(AF_INET, addr, &sin.sin_addr) == 1) {
        sin.sin_family = AF_INET;
        sin.sin_port = htons(cfg->port);
        sa = (struct sockaddr *)&sin;
    } else if (inet_pton(AF_INET6, addr, &sin6.sin6_addr) == 1) {
        sin6.sin6_family = AF_INET6;
        sin6.sin6_port = htons(cfg->port);
        sa = (struct sockaddr *)&sin6;
        flags |= MHD_USE_IPv6;
    } else {
        g_set_error(err, HTTP_ERROR, HTTP_ERROR_ADDRESS, "'%s' is not a numeric IP address",
                    addr);
        return NULL;
    }

    http_server_t *s = g_new0(http_server_t, 1);
    g_mutex_init(&s->lock);
    s->stats = stats;
    s->recent = recent;
    s->collector = collector;
    s->stall_after = cfg->stall_after > 0 ? cfg->stall_after : 30.0;
    s->token = cfg->token && *cfg->token ? g_strdup(cfg->token) : NULL;

    s->mhd = MHD_start_daemon(
        flags, cfg->port, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, sa,
        MHD_OPTION_CONNECTION_LIMIT,
        (unsigned int)(cfg->max_connections ? cfg->max_connections : 32),
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)HTTP_IDLE_TIMEOUT,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_MEMORY_LIMIT,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int)128, MHD_OPTION_END);
    if (!s->mhd) {
        g_set_error(err, HTTP_ERROR, HTTP_ERROR_START,
                    "cannot serve HTTP on %s port %u (address in use or not local?)", addr,
                    cfg->port);
        g_mutex_clear(&s->lock);
        g_free(s->token);
        g_free(s);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : cfg->port;
    return s;
}

uint16_t
http_server_port(const http_server_t *s)
{
    return s->port;
}

void
http_server_set_token(http_server_t *s, const char *token)
{
    g_mutex_lock(&s->lock);
    g_free(s->token);
    s->token = token && *token ? g_strdup(token) : NULL;
    g_mutex_unlock(&s->lock);
}

void
http_server_counts(http_server_t *s, uint64_t *ok, uint64_t *client_err, uint64_t *server_err)
{
    *ok = atomic_load(&s->n_ok);
    *client_err = atomic_load(&s->n_client);
    *server_err = atomic_load(&s->n_server);
}

void
http_server_stop(http_server_t *s)
{
    if (!s)
        return;
    MHD_stop_daemon(s->mhd);
    g_mutex_clear(&s->lock);
    g_free(s->token);
    g_free(s);
}
