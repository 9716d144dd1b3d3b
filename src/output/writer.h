/**
 * @file writer.h
 * The conn.log writer: Zeek's TSV (header lines, escaping, #close) or JSON
 * lines, to a file in a log directory.  One writer module serves every input
 * path; rotation reuses it.
 */
#ifndef CONNLOGD_OUTPUT_WRITER_H
#define CONNLOGD_OUTPUT_WRITER_H

#include <glib.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "conn/record.h"

typedef enum { LOG_FORMAT_TSV = 0, LOG_FORMAT_JSON } log_format_t;

GQuark writer_error_quark(void);
#define WRITER_ERROR writer_error_quark()
enum { WRITER_ERROR_IO = 1 };

typedef struct writer writer_t;

/** Open DIR/conn.log (created or truncated), writing the TSV header if TSV.
 *  DIR and its parents are created when missing.  NULL with @p err (naming
 *  the path) on failure.  Free with writer_close(). */
writer_t *writer_open(const char *dir, log_format_t fmt, GError **err);

/** Write to an already open stream instead of a file (tests, stdout).  Borrowed. */
writer_t *writer_open_stream(FILE *fp, log_format_t fmt);

/** Append one row.  Returns false on an I/O error (counted; later rows still tried). */
bool writer_write(writer_t *w, const conn_record_t *rec);

/** Flush buffered rows to the kernel. */
bool writer_flush(writer_t *w, GError **err);

/** Write "#close" (TSV), close the file and free.  NULL is a no-op. */
bool writer_close(writer_t *w, GError **err);

/** Rows written so far. */
uint64_t writer_rows(const writer_t *w);

/** Path of the open file ("" for streams). */
const char *writer_path(const writer_t *w);

/** Format helpers, exposed for tests and for /recent. */
void writer_format_tsv(const conn_record_t *rec, GString *out);
void writer_format_json(const conn_record_t *rec, GString *out);

/** Write errors so far (short writes, failed flushes). */
uint64_t writer_errors(const writer_t *w);

/**
 * Rotate like Zeek's ASCII writer: the open file is renamed to
 * writer_rotated_name(open, now) in its directory and finished with
 * "#close" (TSV), and a fresh conn.log with a new header takes its place in
 * @p dir (NULL: the same directory) with format @p fmt.  Every row written
 * before the call is in the old file, every row after it in the new one.
 * On failure nothing changes (rows keep going to the old file) and @p err
 * says why.  *@p archived (may be NULL) receives the rotated file's path
 * (caller g_free()s).  Only for writers from writer_open().
 */
bool writer_rotate(writer_t *w, const char *dir, log_format_t fmt, char **archived,
                   GError **err);

/**
 * Move a non-empty DIR/conn.log left by an earlier run aside under its
 * rotated name (open time from its #open line, else its mtime; close time
 * its mtime), so a restart never truncates logged rows.  True when there
 * was nothing to move.  *@p archived (may be NULL) gets the new path or NULL.
 */
bool writer_rotate_leftover(const char *dir, char **archived, GError **err);

/** "conn.<open>_<close>.log" with Zeek's rotation date format
 *  (%Y-%m-%d-%H-%M-%S, local time).  Caller g_free()s. */
char *writer_rotated_name(time_t opened, time_t closed);

/** When the current file was opened (its #open time). */
time_t writer_opened(const writer_t *w);

/** Rotations done so far. */
uint64_t writer_rotations(const writer_t *w);

/** Clock for the #open/#close lines; NULL (the default) means time().  For
 *  deterministic tests; applies to every writer in the process. */
void writer_set_clock(time_t (*now)(void));

#endif
