/**
 * @file netset.h
 * A set of IPv4/IPv6 networks (CIDR), for Site::local_nets-style lookups and
 * ignore_checksums_nets.  Addresses are 16 bytes, IPv4 as ::ffff:a.b.c.d.
 */
#ifndef CONNLOGD_CORE_NETSET_H
#define CONNLOGD_CORE_NETSET_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct netset netset_t;

GQuark netset_error_quark(void);
#define NETSET_ERROR netset_error_quark()
enum { NETSET_ERROR_PARSE = 1 };

/** Empty set; free with netset_free(). */
netset_t *netset_new(void);
void netset_free(netset_t *s);

/** Add one "addr/len" or bare address (IPv4 or IPv6).  False with @p err on a bad string. */
gboolean netset_add(netset_t *s, const char *cidr, GError **err);

/** Add a comma-separated list of networks. */
gboolean netset_add_list(netset_t *s, const char *list, GError **err);

/** Add Zeek's Site::private_address_space (spec section 9), 6to4 images included. */
void netset_add_private(netset_t *s);

bool netset_contains(const netset_t *s, const uint8_t addr[16]);
bool netset_is_empty(const netset_t *s);

/** Parse an IPv4/IPv6 address into the 16-byte form.  Returns false if invalid. */
bool addr_parse(const char *str, uint8_t out[16]);
/** True if @p a is ::ffff:a.b.c.d. */
bool addr_is_v4(const uint8_t a[16]);
/** Longest text addr_put() writes ("ffff:...:ffff", or 6 groups and a dotted quad). */
#define ADDR_TEXT_MAX 45
/** Render @p a as Zeek does (dotted quad, or RFC 5952 IPv6) at @p p, at
 *  most ADDR_TEXT_MAX bytes and no NUL; returns the end. */
char *addr_put(char *p, const uint8_t a[16]);
/** addr_put() into @p buf (>= 46 bytes), NUL-terminated. */
const char *addr_format(const uint8_t a[16], char *buf, size_t len);

#endif
