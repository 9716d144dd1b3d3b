/*
 * Service identification: the registry of service names and the
 * per-connection list of confirmed services.  Payload inspection for each
 * protocol is added module by module.
 */
#include "app/service.h"

#include <string.h>

#include <glib.h>

/* Index = svc_id_t.  Names are Zeek's (lower case). */
static const char *const svc_names[] = {
    "",      "vxlan", "geneve", "teredo", "ayiya", "gtpv1", "gre",
};

struct svc_engine {
    int unused;
};

svc_engine_t *
svc_engine_new(void)
{
    return g_new0(svc_engine_t, 1);
}

void
svc_engine_free(svc_engine_t *e)
{
    g_free(e);
}

void
svc_conn_new(svc_engine_t *e, svc_state_t *s, const uint8_t orig_h[16], uint16_t orig_p,
             const uint8_t resp_h[16], uint16_t resp_p, bool is_tcp, double ts)
{
    memset(s, 0, sizeof(*s));
}

void
svc_inspect(svc_engine_t *e, svc_state_t *s, const svc_pkt_t *p)
{
    (void)e;
    (void)s;
    (void)p;
}

static void
add_id(svc_state_t *s, svc_id_t id)
{
    for (int i = 0; i < s->n_names; i++)
        if (s->names[i] == id)
            return;
    if (s->n_names < SVC_MAX_NAMES)
        s->names[s->n_names++] = id;
}

void
svc_add_name(svc_state_t *s, const char *name)
{
    for (size_t i = 1; i < G_N_ELEMENTS(svc_names); i++)
        if (strcmp(svc_names[i], name) == 0) {
            add_id(s, (svc_id_t)i);
            return;
        }
}

bool
svc_from_app_label(svc_state_t *s, uint16_t label)
{
    (void)s;
    (void)label;
    return false;
}

size_t
svc_format(const svc_state_t *s, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < s->n_names; i++) {
        const char *name = svc_name(s->names[i]);
        if (!*name)
            continue;
        n += (size_t)g_snprintf(buf + n, len > n ? len - n : 0, "%s%s", n ? "," : "", name);
        if (n >= len) {
            buf[len - 1] = '\0';
            return len - 1;
        }
    }
    return n;
}

const char *
svc_name(svc_id_t id)
{
    return id < G_N_ELEMENTS(svc_names) ? svc_names[id] : "";
}
