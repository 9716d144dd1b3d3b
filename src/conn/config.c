/*
 * The connection builder's configuration: Zeek's defaults for every
 * conn-affecting tunable, the likely_server_ports set, and parsing of the
 * "name=value" and "P/proto,..." forms the command line and config file use.
 */
#include "conn/conn.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

/* Zeek's default-mode likely_server_ports (spec section 3): the server ports
 * of every register_for_ports call in base/protocols plus the packet
 * protocols' UDP ports. */
static const uint16_t default_tcp_ports[] = {
    21,   22,   25,   53,   79,   80,   81,   88,   135,  139,  143,  389,  443,  445,
    465,  502,  514,  563,  585,  587,  614,  631,  636,  989,  990,  992,  993,  995,
    1080, 1434, 1883, 2811, 3128, 3268, 3306, 3389, 5222, 5223, 5269, 5432, 6379, 6666,
    6667, 6668, 6669, 8000, 8080, 8888, 20000,
};
static const uint16_t default_udp_ports[] = {
    53,   67,   88,   123,  137,  161,  162,  389,  443,  514,  1812, 2123,
    2152, 3389, 3544, 4011, 4754, 4789, 5060, 5072, 5353, 5355, 6081, 20000,
};

static void
port_set(uint8_t *bits, uint16_t p)
{
    bits[p >> 3] |= (uint8_t)(1u << (p & 7));
}

void
conn_config_defaults(conn_config_t *c)
{
    memset(c, 0, sizeof(*c));
    c->tcp_inactivity_timeout = 300.0;
    c->udp_inactivity_timeout = 60.0;
    c->icmp_inactivity_timeout = 60.0;
    c->unknown_ip_inactivity_timeout = 60.0;
    c->tcp_attempt_delay = 5.0;
    c->tcp_close_delay = 5.0;
    c->tcp_connection_linger = 5.0;
    c->tcp_SYN_timeout = 5.0;
    c->tcp_session_timer = 6.0;
    c->report_gaps_for_partial = false;
    c->tcp_excessive_data_without_further_acks = 10 * 1024 * 1024;
    c->tcp_max_above_hole_without_any_acks = 16384;
    c->tcp_max_initial_window = 16384;
    c->max_tunnel_changes = 5;
    c->flow_linger = 30.0;
    c->flow_active_timeout = 1860.0;
    c->flow_scale_sampled = false;
    for (size_t i = 0; i < G_N_ELEMENTS(default_tcp_ports); i++)
        port_set(c->likely_server_tcp, default_tcp_ports[i]);
    for (size_t i = 0; i < G_N_ELEMENTS(default_udp_ports); i++)
        port_set(c->likely_server_udp, default_udp_ports[i]);
}

bool
conn_config_set_server_ports(conn_config_t *c, const char *list, char **errmsg)
{
    uint8_t tcp[sizeof(c->likely_server_tcp)] = {0};
    uint8_t udp[sizeof(c->likely_server_udp)] = {0};
    g_auto(GStrv) items = g_strsplit(list, ",", -1);

    for (char **it = items; *it; it++) {
        char *item = g_strstrip(*it);
        if (*item == '\0')
            continue;
        char *end = NULL;
        errno = 0;
        unsigned long p = strtoul(item, &end, 10);
        if (errno || end == item || p > 65535 || *end != '/') {
            *errmsg = g_strdup_printf("bad port '%s' (want PORT/tcp or PORT/udp)", item);
            return false;
        }
        if (g_ascii_strcasecmp(end + 1, "tcp") == 0)
            port_set(tcp, (uint16_t)p);
        else if (g_ascii_strcasecmp(end + 1, "udp") == 0)
            port_set(udp, (uint16_t)p);
        else if (g_ascii_strcasecmp(end + 1, "icmp") == 0)
            ; /* ICMP never flips; accepted for compatibility with Zeek's set */
        else {
            *errmsg = g_strdup_printf("bad protocol in '%s' (want tcp or udp)", item);
            return false;
        }
    }
    memcpy(c->likely_server_tcp, tcp, sizeof(tcp));
    memcpy(c->likely_server_udp, udp, sizeof(udp));
    return true;
}

/* Parse a Zeek interval ("5 min", "30secs", "1.5 hr", "300") into seconds. */
static bool
parse_interval(const char *s, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = g_ascii_strtod(s, &end);
    if (errno || end == s || v < 0)
        return false;
    while (isspace((unsigned char)*end))
        end++;
    static const struct {
        const char *unit;
        double mul;
    } units[] = {
        {"usecs", 1e-6}, {"usec", 1e-6}, {"msecs", 1e-3}, {"msec", 1e-3}, {"secs", 1},
        {"sec", 1},      {"s", 1},       {"mins", 60},    {"min", 60},    {"hrs", 3600},
        {"hr", 3600},    {"days", 86400}, {"day", 86400},  {"", 1},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(units); i++) {
        if (g_ascii_strcasecmp(end, units[i].unit) == 0) {
            *out = v * units[i].mul;
            return true;
        }
    }
    return false;
}

static bool
parse_bool(const char *s, bool *out)
{
    if (!g_ascii_strcasecmp(s, "T") || !g_ascii_strcasecmp(s, "true") || !strcmp(s, "1")) {
        *out = true;
        return true;
    }
    if (!g_ascii_strcasecmp(s, "F") || !g_ascii_strcasecmp(s, "false") || !strcmp(s, "0")) {
        *out = false;
        return true;
    }
    return false;
}

static bool
parse_count(const char *s, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = g_ascii_strtoull(s, &end, 10);
    if (errno || end == s || *end != '\0')
        return false;
    *out = v;
    return true;
}

bool
conn_config_set_tunable(conn_config_t *c, const char *name, const char *value, char **errmsg)
{
    static const struct {
        const char *name;
        size_t off;
        char kind; /* i interval, b bool, c count */
    } tunables[] = {
        {"tcp_inactivity_timeout", offsetof(conn_config_t, tcp_inactivity_timeout), 'i'},
        {"udp_inactivity_timeout", offsetof(conn_config_t, udp_inactivity_timeout), 'i'},
        {"icmp_inactivity_timeout", offsetof(conn_config_t, icmp_inactivity_timeout), 'i'},
        {"unknown_ip_inactivity_timeout", offsetof(conn_config_t, unknown_ip_inactivity_timeout),
         'i'},
        {"tcp_attempt_delay", offsetof(conn_config_t, tcp_attempt_delay), 'i'},
        {"tcp_close_delay", offsetof(conn_config_t, tcp_close_delay), 'i'},
        {"tcp_connection_linger", offsetof(conn_config_t, tcp_connection_linger), 'i'},
        {"tcp_SYN_timeout", offsetof(conn_config_t, tcp_SYN_timeout), 'i'},
        {"tcp_session_timer", offsetof(conn_config_t, tcp_session_timer), 'i'},
        {"report_gaps_for_partial", offsetof(conn_config_t, report_gaps_for_partial), 'b'},
        {"ignore_checksums", offsetof(conn_config_t, ignore_checksums), 'b'},
        {"tcp_excessive_data_without_further_acks",
         offsetof(conn_config_t, tcp_excessive_data_without_further_acks), 'c'},
        {"tcp_max_above_hole_without_any_acks",
         offsetof(conn_config_t, tcp_max_above_hole_without_any_acks), 'c'},
        {"tcp_max_initial_window", offsetof(conn_config_t, tcp_max_initial_window), 'c'},
        {"Tunnel::max_changes_per_connection", offsetof(conn_config_t, max_tunnel_changes), 'c'},
        {"flow_linger", offsetof(conn_config_t, flow_linger), 'i'},
        {"flow_active_timeout", offsetof(conn_config_t, flow_active_timeout), 'i'},
        {"flow_scale_sampled", offsetof(conn_config_t, flow_scale_sampled), 'b'},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(tunables); i++) {
        if (strcmp(tunables[i].name, name) != 0)
            continue;
        char *field = (char *)c + tunables[i].off;
        bool ok = false;
        switch (tunables[i].kind) {
        case 'i':
            ok = parse_interval(value, (double *)field);
            break;
        case 'b':
            ok = parse_bool(value, (bool *)field);
            break;
        case 'c':
            ok = parse_count(value, (uint64_t *)field);
            break;
        }
        if (!ok)
            *errmsg = g_strdup_printf("bad value '%s' for %s", value, name);
        return ok;
    }
    *errmsg = g_strdup_printf("unknown tunable '%s'", name);
    return false;
}
