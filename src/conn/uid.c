/*
 * Connection uids exactly as Zeek makes them (spec section 6): each uid is two
 * 64-bit SipHash-2-4 values of a {instance, counter} pair, the first shifted
 * down to 32 bits, printed in base 62 least significant digit first behind a
 * 'C'.  With Zeek's btest seed file the sequence is Zeek's own, which is what
 * lets our conn.log match Zeek's baselines uid for uid.
 */
#include "config.h"

#include "conn/uid.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <glib.h>

G_DEFINE_QUARK(connlogd-uid-error-quark, uid_error)

/* ---- SipHash-2-4 (Aumasson & Bernstein, "SipHash: a fast short-input PRF") */

#define ROTL64(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

/* One SipRound over the four state words. */
#define SIPROUND(v0, v1, v2, v3)                                               \
    do {                                                                       \
        v0 += v1;                                                              \
        v1 = ROTL64(v1, 13);                                                   \
        v1 ^= v0;                                                              \
        v0 = ROTL64(v0, 32);                                                   \
        v2 += v3;                                                              \
        v3 = ROTL64(v3, 16);                                                   \
        v3 ^= v2;                                                              \
        v0 += v3;                                                              \
        v3 = ROTL64(v3, 21);                                                   \
        v3 ^= v0;                                                              \
        v2 += v1;                                                              \
        v1 = ROTL64(v1, 17);                                                   \
        v1 ^= v2;                                                              \
        v2 = ROTL64(v2, 32);                                                   \
    } while (0)

/* Little-endian load, independent of host byte order and alignment. */
static uint64_t
load_le64(const uint8_t *p)
{
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
           (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 |
           (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
}

static void
store_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

uint64_t
siphash24(const uint8_t key[16], const void *data, size_t len)
{
    const uint8_t *in = data;
    uint64_t k0 = load_le64(key);
    uint64_t k1 = load_le64(key + 8);
    /* Initialisation constants: "somepseudorandomlygeneratedbytes". */
    uint64_t v0 = k0 ^ UINT64_C(0x736f6d6570736575);
    uint64_t v1 = k1 ^ UINT64_C(0x646f72616e646f6d);
    uint64_t v2 = k0 ^ UINT64_C(0x6c7967656e657261);
    uint64_t v3 = k1 ^ UINT64_C(0x7465646279746573);
    size_t full = len & ~(size_t)7;

    for (size_t i = 0; i < full; i += 8) {
        uint64_t m = load_le64(in + i);
        v3 ^= m;
        SIPROUND(v0, v1, v2, v3);
        SIPROUND(v0, v1, v2, v3);
        v0 ^= m;
    }

    /* Last block: the remaining 0-7 bytes, zero padded, with the message
     * length modulo 256 in the top byte. */
    uint64_t b = (uint64_t)(len & 0xff) << 56;
    for (size_t i = 0; i < (len & 7); i++)
        b |= (uint64_t)in[full + i] << (8 * i);
    v3 ^= b;
    SIPROUND(v0, v1, v2, v3);
    SIPROUND(v0, v1, v2, v3);
    v0 ^= b;

    v2 ^= 0xff;
    SIPROUND(v0, v1, v2, v3);
    SIPROUND(v0, v1, v2, v3);
    SIPROUND(v0, v1, v2, v3);
    SIPROUND(v0, v1, v2, v3);
    return v0 ^ v1 ^ v2 ^ v3;
}

/* ---- uid generator */

/* Zeek's calculate_unique_id(): pre-increment the pool counter, then hash the
 * 16-byte struct {uint64 instance; uint64 counter;} as it sits in memory.
 * Zeek runs on little-endian hosts, so we serialise little-endian everywhere
 * to get the same bytes (and the same uids) on any host. */
static uint64_t
uid_calculate(uid_gen_t *g)
{
    uint8_t blob[16];

    g->counter++;
    store_le64(blob, g->instance);
    store_le64(blob + 8, g->counter);
    return siphash24(g->key, blob, sizeof(blob));
}

void
uid_gen_init_zeek(uid_gen_t *g, const uint32_t key_words[4])
{
    g_return_if_fail(g != NULL && key_words != NULL);

    /* Zeek memcpy()s these uint32s (seed-file numbers 18-21) into its
     * SipHash key; on a little-endian host that is this byte layout. */
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            g->key[4 * i + j] = (uint8_t)(key_words[i] >> (8 * j));
    /* With a seed Zeek uses the pool number as the instance; conn uids
     * come from pool 1 (UID_POOL_DEFAULT_INTERNAL). */
    g->instance = 1;
    g->counter = 0;
}

void
uid_gen_init_seed(uid_gen_t *g, uint64_t seed)
{
    g_return_if_fail(g != NULL);

    /* Derive key and instance from the seed with SipHash under a fixed
     * key, so distinct seeds give unrelated but reproducible sequences. */
    uint8_t derive_key[16];
    uint8_t blob[9];

    /* Arbitrary fixed constants ("connlogd" / "uid-seed" as ASCII). */
    store_le64(derive_key, UINT64_C(0x636f6e6e6c6f6764));
    store_le64(derive_key + 8, UINT64_C(0x7569642d73656564));

    store_le64(blob, seed);
    blob[8] = 0;
    store_le64(g->key, siphash24(derive_key, blob, sizeof(blob)));
    blob[8] = 1;
    store_le64(g->key + 8, siphash24(derive_key, blob, sizeof(blob)));
    blob[8] = 2;
    g->instance = siphash24(derive_key, blob, sizeof(blob));
    if (g->instance == 0)
        g->instance = 1; /* Zeek asserts instance != 0; keep the invariant. */
    g->counter = 0;
}

void
uid_gen_init_random(uid_gen_t *g)
{
    g_return_if_fail(g != NULL);

    uint8_t buf[24];
    size_t got = 0;

    while (got < sizeof(buf)) {
        ssize_t n = getrandom(buf + got, sizeof(buf) - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        got += (size_t)n;
    }
    /* getrandom() is there since Linux 3.17; if it still fails (seccomp,
     * ancient kernel) fall back to GLib's generator, seeded from
     * /dev/urandom or the clock. */
    for (size_t i = got; i < sizeof(buf); i++)
        buf[i] = (uint8_t)g_random_int();

    memcpy(g->key, buf, 16);
    g->instance = load_le64(buf + 16);
    if (g->instance == 0)
        g->instance = 1;
    g->counter = 0;
}

uint64_t
uid_reserve(uid_gen_t *g)
{
    uint64_t base = g->counter;
    g->counter += 2;
    return base;
}

void
uid_words(const uid_gen_t *g, uint64_t base, uint64_t w[2])
{
    uint8_t blob[16];
    store_le64(blob, g->instance);
    store_le64(blob + 8, base + 1);
    w[0] = siphash24(g->key, blob, sizeof(blob)) >> 32;
    store_le64(blob + 8, base + 2);
    w[1] = siphash24(g->key, blob, sizeof(blob));
}

void
uid_next(uid_gen_t *g, uint64_t w[2])
{
    /* Zeek's UID::Set(96): word 0 is generated first and then shifted
     * right by 64 - 96 % 64 = 32 bits; word 1 is kept whole. */
    w[0] = uid_calculate(g) >> 32;
    w[1] = uid_calculate(g);
}

/* Zeek's uitoa_n() alphabet for base 62. */
static const char base62_digits[] =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/* Append @p v in base 62, least significant digit first (at least one
 * digit, so 0 gives "0"), without passing @p end. */
static char *
append_base62(char *p, const char *end, uint64_t v)
{
    do {
        if (p >= end)
            break;
        *p++ = base62_digits[v % 62];
        v /= 62;
    } while (v != 0);
    return p;
}

void
uid_format(const uint64_t w[2], char prefix, char *buf, size_t len)
{
    g_return_if_fail(buf != NULL && len > 0);

    char *p = buf;
    const char *end = buf + len - 1; /* room for the NUL */

    if (p < end)
        *p++ = prefix;
    p = append_base62(p, end, w[0]);
    p = append_base62(p, end, w[1]);
    *p = '\0';
}

bool
uid_seed_file_read(const char *path, uint32_t key_words[4], GError **err)
{
    g_return_val_if_fail(path != NULL && key_words != NULL, false);

    g_autofree char *text = NULL;
    GError *local = NULL;

    if (!g_file_get_contents(path, &text, NULL, &local)) {
        g_propagate_prefixed_error(err, local, "seed file: ");
        return false;
    }

    /* Zeek reads 21 unsigned numbers with fscanf("%u"): the srandom() seed,
     * then the 20-word key block.  The uid key is words 16-19 of the block,
     * i.e. the 18th to 21st numbers of the file. */
    const char *p = text;
    int count = 0;
    uint32_t nums[21];

    while (count < 21) {
        while (g_ascii_isspace(*p))
            p++;
        if (*p == '\0')
            break;
        if (!g_ascii_isdigit(*p)) {
            g_set_error(err, UID_ERROR, UID_ERROR_SEED_FILE,
                        "seed file %s: number %d is not an unsigned integer", path,
                        count + 1);
            return false;
        }
        char *endp = NULL;
        errno = 0;
        guint64 v = g_ascii_strtoull(p, &endp, 10);
        if (errno != 0 || v > UINT32_MAX || (*endp != '\0' && !g_ascii_isspace(*endp))) {
            g_set_error(err, UID_ERROR, UID_ERROR_SEED_FILE,
                        "seed file %s: number %d is not a 32-bit unsigned integer", path,
                        count + 1);
            return false;
        }
        nums[count++] = (uint32_t)v;
        p = endp;
    }

    if (count < 21) {
        g_set_error(err, UID_ERROR, UID_ERROR_SEED_FILE,
                    "seed file %s: has %d numbers, Zeek seed files have 21", path, count);
        return false;
    }
    memcpy(key_words, nums + 17, 4 * sizeof(uint32_t));
    return true;
}
