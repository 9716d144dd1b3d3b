/*
 * libFuzzer target: the /recent query string.  The input is split into
 * key=value pairs and unescaped the way libmicrohttpd hands them to the
 * server (split at '&', then at the first '=', then MHD_http_unescape() on
 * both halves), each pair goes through http_recent_param(), and the
 * resulting filter is run against a small ring of connections and rendered
 * as JSON.  The raw bytes also go through http_json_string(), which must
 * escape anything (invalid UTF-8 included).
 */
#include "config.h"

#include <glib.h>
#include <microhttpd.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conn/record.h"
#include "core/recent.h"
#include "fuzz/fuzz_input.h"
#include "http/render.h"

#define RING 8

static recent_t *ring;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* A few rows of each protocol and state, over IPv4 and IPv6. */
    ring = recent_new(RING);
    for (int i = 0; i < RING + 3; i++) {
        conn_record_t r;
        memset(&r, 0, sizeof(r));
        r.ts = 1700000000.0 + i;
        g_snprintf(r.uid, sizeof(r.uid), "CFuzz%d", i);
        r.orig_h[10] = r.orig_h[11] = 0xff;
        r.orig_h[12] = 10;
        r.orig_h[15] = (uint8_t)i;
        r.resp_h[0] = 0x20;
        r.resp_h[1] = 0x01;
        r.resp_h[15] = (uint8_t)i;
        r.orig_p = (uint16_t)(40000 + i);
        r.resp_p = (uint16_t)(i % 2 ? 80 : 53);
        r.proto = (conn_proto_t)(i % 4);
        r.conn_state = (conn_state_t)(i % CONN_STATE_COUNT);
        r.local_orig = TRI_T;
        r.local_resp = TRI_UNSET;
        g_strlcpy(r.history, "ShADadFf", sizeof(r.history));
        recent_push(ring, &r);
    }
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in_t in = {data, size};
    char *q = fz_rest_string(&in);

    recent_filter_t f;
    recent_filter_init(&f);
    f.limit = 100 < RING ? 100 : RING;
    bool ok = true;
    char *save = NULL;
    for (char *pair = strtok_r(q, "&", &save); pair; pair = strtok_r(NULL, "&", &save)) {
        char *value = strchr(pair, '=');
        if (value) {
            *value++ = '\0';
            MHD_http_unescape(value);
        }
        MHD_http_unescape(pair);
        char *why = NULL;
        if (!http_recent_param(&f, RING, pair, value, &why)) {
            if (!why)
                __builtin_trap(); /* a refusal always says why (the 400 body) */
            g_free(why);
            ok = false;
        }
    }
    if (ok) {
        if (f.limit > RING)
            __builtin_trap();
        GArray *recs = g_array_new(FALSE, FALSE, sizeof(conn_record_t));
        unsigned n = recent_query(ring, &f, recs);
        if (n > RING || (f.limit && n > f.limit))
            __builtin_trap();
        GString *out = g_string_new(NULL);
        http_render_recent(recs, out);
        g_string_free(out, TRUE);
        g_array_unref(recs);
    }
    free(q);

    /* The raw bytes as a JSON string: quoted, escaped, valid UTF-8. */
    char *raw = malloc(size + 1);
    memcpy(raw, data, size);
    raw[size] = '\0';
    GString *js = g_string_new(NULL);
    http_json_string(js, raw);
    if (js->len < 2 || js->str[0] != '"' || js->str[js->len - 1] != '"' ||
        !g_utf8_validate(js->str, (gssize)js->len, NULL))
        __builtin_trap();
    g_string_free(js, TRUE);
    free(raw);
    return 0;
}
