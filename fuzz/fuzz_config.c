/*
 * libFuzzer target: the configuration parsers.  The daemon's key file
 * (config_load_data() with every range check, then the connection
 * builder's configuration built from it and the restart comparison), and
 * the small value parsers the file and the command line share: durations,
 * ADDR:PORT, listen specs, network lists, likely-server port lists and
 * Zeek tunables.
 *
 * Input: one mode byte, then text.  Mode 0-1: the text is a key file.
 * Mode 2: each line is handed to every value parser.
 */
#include "config.h"

#include <glib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conn/conn.h"
#include "core/config.h"
#include "core/netset.h"
#include "fuzz/fuzz_input.h"

static void
quiet_log(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer data)
{
    (void)domain;
    (void)level;
    (void)msg;
    (void)data;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    fz_glib_slice_off(argv);
    g_log_set_default_handler(quiet_log, NULL);
    return 0;
}

static void
key_file(const char *text)
{
    config_t cfg, def;
    GError *err = NULL;
    if (!config_load_data("fuzz.conf", text, &cfg, &err)) {
        /* Errors name their place: "fuzz.conf..." */
        if (!err || strncmp(err->message, "fuzz.conf", 9) != 0)
            __builtin_trap();
        g_error_free(err);
        return;
    }
    conn_config_t cc;
    netset_t *local = NULL, *nocksum = NULL;
    if (config_build_conn(&cfg, &cc, &local, &nocksum, &err)) {
        netset_free(local);
        netset_free(nocksum);
    } else {
        g_clear_error(&err);
    }
    config_defaults(&def);
    g_free(config_restart_keys(&def, &cfg));
    config_clear(&def);
    config_clear(&cfg);
}

static void
value_parsers(char *line)
{
    double d;
    (void)config_parse_duration(line, &d);

    char *host = NULL;
    uint16_t port;
    GError *err = NULL;
    if (config_parse_hostport(line, &host, &port, &err))
        g_free(host);
    else
        g_clear_error(&err);

    g_free(config_listen_spec(line, false));
    g_free(config_listen_spec(line, true));

    netset_t *ns = netset_new();
    if (!netset_add_list(ns, line, &err))
        g_clear_error(&err);
    uint8_t a[16];
    if (addr_parse(line, a)) {
        char buf[64];
        (void)netset_contains(ns, a);
        (void)addr_format(a, buf, sizeof(buf));
    }
    netset_free(ns);

    conn_config_t cc;
    conn_config_defaults(&cc);
    char *msg = NULL;
    if (!conn_config_set_server_ports(&cc, line, &msg))
        g_free(msg);
    msg = NULL;
    char *eq = strchr(line, '=');
    if (eq) {
        *eq = '\0';
        if (!conn_config_set_tunable(&cc, line, eq + 1, &msg))
            g_free(msg);
        *eq = '=';
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in_t in = {data, size};
    uint8_t mode = fz_u8(&in) % 3;
    char *text = fz_rest_string(&in);
    if (mode < 2) {
        key_file(text);
    } else {
        char *save = NULL;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
            value_parsers(line);
    }
    free(text);
    return 0;
}
