/*
 * Input framing shared by the libFuzzer targets.  A fuzz input is a few
 * option bytes, then chunks: a 2-byte big-endian length and that many bytes
 * (a length that runs past the end takes what is left).  Each chunk is
 * copied into a heap buffer of exactly its size, so that AddressSanitizer
 * sees a read one byte past a packet or datagram instead of the next chunk.
 * fuzz/make-corpus writes seeds in the same format.
 */
#ifndef CONNLOGD_FUZZ_INPUT_H
#define CONNLOGD_FUZZ_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/** Read cursor over the fuzzer's input (borrowed). */
typedef struct {
    const uint8_t *p;
    size_t n;
} fz_in_t;

/** Next byte, or 0 once the input is used up. */
static inline uint8_t
fz_u8(fz_in_t *in)
{
    if (in->n == 0)
        return 0;
    in->n--;
    return *in->p++;
}

/**
 * Next chunk as a new heap buffer of exactly its length (caller frees with
 * free(); a zero-length chunk still gets a 1-byte buffer so the pointer is
 * never NULL).  False when the input is used up.
 */
static inline bool
fz_chunk(fz_in_t *in, uint8_t **out, size_t *len)
{
    if (in->n < 2)
        return false;
    size_t want = (size_t)in->p[0] << 8 | in->p[1];
    in->p += 2;
    in->n -= 2;
    if (want > in->n)
        want = in->n;
    uint8_t *b = malloc(want ? want : 1);
    if (!b)
        abort();
    if (want)
        memcpy(b, in->p, want);
    in->p += want;
    in->n -= want;
    *out = b;
    *len = want;
    return true;
}

/** The rest of the input as a NUL-terminated heap string (caller frees). */
static inline char *
fz_rest_string(fz_in_t *in)
{
    char *s = malloc(in->n + 1);
    if (!s)
        abort();
    if (in->n)
        memcpy(s, in->p, in->n);
    s[in->n] = '\0';
    in->p += in->n;
    in->n = 0;
    return s;
}

/*
 * Call first thing in LLVMFuzzerInitialize().  GLib before 2.76 hands out
 * small objects (hash tables, GStrings, GKeyFile groups, most of libfixbuf's
 * structures) from its slice allocator's cached pages: AddressSanitizer sees
 * neither overflows of them nor uses after free, LeakSanitizer sees no leak
 * of them, and each time an input makes the cache grow libFuzzer takes it
 * for a leak and scans the whole heap.  G_SLICE=always-malloc turns it off,
 * but GLib reads it in its constructors, before main: so run the binary
 * again with it set (once; if exec fails, carry on as we are).
 */
static inline void
fz_glib_slice_off(char ***argv)
{
    if (getenv("G_SLICE") != NULL)
        return;
    setenv("G_SLICE", "always-malloc", 1);
    execv("/proc/self/exe", *argv);
}

#endif
