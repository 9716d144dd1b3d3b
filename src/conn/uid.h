/**
 * @file uid.h
 * Connection uids in Zeek's format: "C" followed by the base-62 rendering
 * (least significant digit first) of two 64-bit words, each a keyed
 * SipHash-2-4 of {instance, counter} (spec section 6).
 *
 * With a seed the sequence is reproducible; Zeek's btest seed gives
 * CHhAvVGS1DHFjwGM9, ClEkJM2Vm5giqnMf4h, ...
 */
#ifndef CONNLOGD_CONN_UID_H
#define CONNLOGD_CONN_UID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>

typedef struct {
    uint8_t key[16];      /* SipHash key */
    uint64_t instance;
    uint64_t counter;     /* last value used */
} uid_gen_t;

/** Random key and instance (unpredictable uids). */
void uid_gen_init_random(uid_gen_t *g);

/** Reproducible uids from a 64-bit seed (--seed N). */
void uid_gen_init_seed(uid_gen_t *g, uint64_t seed);

/** Zeek's deterministic mode: key from seed-file values 18-21, instance 1. */
void uid_gen_init_zeek(uid_gen_t *g, const uint32_t key_words[4]);

/** Next uid, as two words (consumes two counter steps, like Zeek). */
void uid_next(uid_gen_t *g, uint64_t w[2]);

/** Reserve the next uid without computing it (two counter steps, as
 *  uid_next() takes); returns the base to give uid_words() later.  Lets a
 *  connection table keep 8 bytes instead of 16 per uid. */
uint64_t uid_reserve(uid_gen_t *g);

/** The words of the uid reserved at @p base (same as uid_next() would
 *  have returned then). */
void uid_words(const uid_gen_t *g, uint64_t base, uint64_t w[2]);

/** Render @p w with prefix @p prefix ('C') into @p buf (>= 24 bytes). */
void uid_format(const uint64_t w[2], char prefix, char *buf, size_t len);

/** SipHash-2-4 of @p len bytes with a 16-byte key. */
uint64_t siphash24(const uint8_t key[16], const void *data, size_t len);

GQuark uid_error_quark(void);
#define UID_ERROR uid_error_quark()
enum { UID_ERROR_SEED_FILE = 1 };

/** Read a Zeek seed file (ZEEK_SEED_FILE / -G: 21 whitespace-separated
 *  unsigned numbers) and return its numbers 18-21, the uid key words, for
 *  uid_gen_init_zeek().  False with @p err if the file is unreadable, has
 *  fewer than 21 numbers, or holds something that is not a uint32. */
bool uid_seed_file_read(const char *path, uint32_t key_words[4], GError **err);

#endif
