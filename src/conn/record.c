/*
 * Names of the conn.log enums: conn_state as Zeek's conn script spells it
 * (scripts/base/protocols/conn/main.zeek) and proto as the transport_proto
 * enum prints (init-bare.zeek).  The tables follow the enums' order, checked
 * at compile time.
 */
#include "config.h"

#include "conn/record.h"

static const char *const conn_state_names[] = {
    "S0", "S1", "SF", "REJ", "S2", "S3", "RSTO", "RSTR", "RSTOS0", "RSTRH", "SH", "SHR", "OTH",
};

_Static_assert(sizeof(conn_state_names) / sizeof(conn_state_names[0]) == CONN_STATE_COUNT,
               "conn_state_names must name every conn_state_t");

/* Returns a static string; a value outside the enum reads as "OTH", the
 * state Zeek gives anything it cannot classify. */
const char *
conn_state_name(conn_state_t s)
{
    if ((unsigned)s >= CONN_STATE_COUNT)
        return "OTH";
    return conn_state_names[s];
}

/* Returns a static string; unknown values read as "unknown_transport". */
const char *
conn_proto_name(conn_proto_t p)
{
    switch (p) {
    case CONN_PROTO_TCP:
        return "tcp";
    case CONN_PROTO_UDP:
        return "udp";
    case CONN_PROTO_ICMP:
        return "icmp";
    case CONN_PROTO_UNKNOWN:
    default:
        return "unknown_transport";
    }
}
