/*
 * Check suite for the daemon's building blocks that need no network:
 * conn.log rotation (names, #close, no row lost or repeated, failure keeps
 * the old file), leftover logs at start-up, the sd_notify datagram, the
 * stats board and the privilege-drop lookup.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/privdrop.h"
#include "core/sdnotify.h"
#include "core/stats.h"
#include "output/writer.h"

static time_t fake_now;

static time_t
fake_clock(void)
{
    return fake_now;
}

static char *tmpdir;

static void
setup(void)
{
    setenv("TZ", "UTC", 1);
    tzset();
    tmpdir = g_dir_make_tmp("check_daemon.XXXXXX", NULL);
    ck_assert_ptr_nonnull(tmpdir);
    fake_now = 1700000000; /* 2023-11-14 22:13:20 UTC */
    writer_set_clock(fake_clock);
}

static void
teardown(void)
{
    writer_set_clock(NULL);
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
    g_free(tmpdir);
}

static conn_record_t
row(int i)
{
    conn_record_t r;
    memset(&r, 0, sizeof(r));
    r.ts = 1700000000 + i;
    g_snprintf(r.uid, sizeof(r.uid), "Crow%d", i);
    r.orig_h[10] = r.orig_h[11] = 0xff;
    r.resp_h[10] = r.resp_h[11] = 0xff;
    r.proto = CONN_PROTO_UDP;
    r.ip_proto = 17;
    r.local_orig = r.local_resp = TRI_UNSET;
    return r;
}

static char *
slurp(const char *dir, const char *name)
{
    g_autofree char *p = g_build_filename(dir, name, NULL);
    char *s = NULL;
    ck_assert_msg(g_file_get_contents(p, &s, NULL, NULL), "cannot read %s", p);
    return s;
}

static unsigned
count_of(const char *hay, const char *needle)
{
    unsigned n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

START_TEST(test_rotated_name)
{
    char *n = writer_rotated_name(1700000000, 1700003600);
    ck_assert_str_eq(n, "conn.2023-11-14-22-13-20_2023-11-14-23-13-20.log");
    g_free(n);
}
END_TEST

START_TEST(test_rotate_keeps_every_row_once)
{
    GError *err = NULL;
    writer_t *w = writer_open(tmpdir, LOG_FORMAT_TSV, &err);
    ck_assert_ptr_nonnull(w);
    char *archived[3] = {NULL};
    int n = 0;
    for (int i = 0; i < 300; i++) {
        conn_record_t r = row(i);
        ck_assert(writer_write(w, &r));
        if (i % 100 == 99) {
            fake_now += 3600;
            ck_assert_msg(writer_rotate(w, NULL, LOG_FORMAT_TSV, &archived[n], &err), "%s",
                          err ? err->message : "");
            n++;
        }
    }
    ck_assert_uint_eq(writer_rotations(w), 3);
    ck_assert_int_eq(writer_opened(w), 1700000000 + 3 * 3600);
    ck_assert(writer_close(w, &err));

    ck_assert(g_str_has_suffix(archived[0], "/conn.2023-11-14-22-13-20_2023-11-14-23-13-20.log"));
    ck_assert(g_str_has_suffix(archived[2], "/conn.2023-11-15-00-13-20_2023-11-15-01-13-20.log"));
    for (int k = 0; k < 3; k++) {
        g_autofree char *base = g_path_get_basename(archived[k]);
        g_autofree char *s = slurp(tmpdir, base);
        ck_assert_uint_eq(count_of(s, "\tCrow"), 100);
        ck_assert_uint_eq(count_of(s, "#open\t"), 1);
        ck_assert_uint_eq(count_of(s, "#close\t"), 1);
        /* rows k*100 .. k*100+99 and nothing else */
        g_autofree char *first = g_strdup_printf("\tCrow%d\t", k * 100);
        g_autofree char *last = g_strdup_printf("\tCrow%d\t", k * 100 + 99);
        ck_assert_ptr_nonnull(strstr(s, first));
        ck_assert_ptr_nonnull(strstr(s, last));
        /* the #close time is the close time in the name */
        g_autofree char *close = g_strdup_printf("#close\t%s\n", strchr(base, '_') + 1);
        close[strlen(close) - 5] = '\n';
        close[strlen(close) - 4] = '\0';
        ck_assert_msg(strstr(s, close), "%s lacks %s", base, close);
        g_free(archived[k]);
    }
    /* the current file got the header and the #close, no rows */
    g_autofree char *cur = slurp(tmpdir, "conn.log");
    ck_assert_uint_eq(count_of(cur, "\tCrow"), 0);
    ck_assert(g_str_has_prefix(cur, "#separator"));
    ck_assert_ptr_nonnull(strstr(cur, "#open\t2023-11-15-01-13-20\n"));
}
END_TEST

START_TEST(test_rotate_same_second_never_overwrites)
{
    GError *err = NULL;
    writer_t *w = writer_open(tmpdir, LOG_FORMAT_JSON, &err);
    char *a = NULL, *b = NULL;
    conn_record_t r = row(1);
    writer_write(w, &r);
    ck_assert(writer_rotate(w, NULL, LOG_FORMAT_JSON, &a, NULL));
    r = row(2);
    writer_write(w, &r);
    ck_assert(writer_rotate(w, NULL, LOG_FORMAT_TSV, &b, NULL)); /* same second, new format */
    ck_assert_str_ne(a, b);
    ck_assert(g_str_has_suffix(b, "-1.log"));
    g_autofree char *ba = g_path_get_basename(a), *bb = g_path_get_basename(b);
    g_autofree char *sa = slurp(tmpdir, ba), *sb = slurp(tmpdir, bb);
    ck_assert_ptr_nonnull(strstr(sa, "\"uid\":\"Crow1\""));
    ck_assert_ptr_nonnull(strstr(sb, "\"uid\":\"Crow2\""));
    ck_assert_ptr_null(strstr(sa, "#close")); /* JSON has no trailer */
    writer_close(w, NULL);
    g_autofree char *cur = slurp(tmpdir, "conn.log");
    ck_assert(g_str_has_prefix(cur, "#separator")); /* switched to TSV */
    g_free(a);
    g_free(b);
}
END_TEST

START_TEST(test_rotate_failure_keeps_old_file)
{
    GError *err = NULL;
    writer_t *w = writer_open(tmpdir, LOG_FORMAT_TSV, &err);
    conn_record_t r = row(1);
    writer_write(w, &r);
    /* a directory we cannot create: nothing changes, rows keep flowing */
    g_autofree char *blocker = g_build_filename(tmpdir, "file", NULL);
    ck_assert(g_file_set_contents(blocker, "x", 1, NULL));
    g_autofree char *bad = g_build_filename(blocker, "sub", NULL);
    ck_assert(!writer_rotate(w, bad, LOG_FORMAT_TSV, NULL, &err));
    ck_assert_ptr_nonnull(err);
    g_clear_error(&err);
    r = row(2);
    ck_assert(writer_write(w, &r));
    ck_assert_uint_eq(writer_rotations(w), 0);
    ck_assert(writer_close(w, NULL));
    g_autofree char *cur = slurp(tmpdir, "conn.log");
    ck_assert_uint_eq(count_of(cur, "\tCrow"), 2);
    ck_assert_uint_eq(count_of(cur, "#close"), 1);
}
END_TEST

START_TEST(test_rotate_to_new_directory)
{
    GError *err = NULL;
    writer_t *w = writer_open(tmpdir, LOG_FORMAT_TSV, &err);
    conn_record_t r = row(1);
    writer_write(w, &r);
    g_autofree char *other = g_build_filename(tmpdir, "other", NULL);
    char *a = NULL;
    ck_assert(writer_rotate(w, other, LOG_FORMAT_TSV, &a, &err));
    ck_assert(g_str_has_prefix(a, tmpdir));
    g_autofree char *expect = g_build_filename(other, "conn.log", NULL);
    ck_assert_str_eq(writer_path(w), expect);
    writer_close(w, NULL);
    g_free(a);
}
END_TEST

START_TEST(test_leftover_moved_aside)
{
    GError *err = NULL;
    char *moved = NULL;
    ck_assert(writer_rotate_leftover(tmpdir, &moved, &err));
    ck_assert_ptr_null(moved); /* nothing there */

    writer_t *w = writer_open(tmpdir, LOG_FORMAT_TSV, &err);
    conn_record_t r = row(7);
    writer_write(w, &r);
    writer_flush(w, NULL);
    /* an earlier run "crashed": its file has no #close */
    g_autofree char *path = g_build_filename(tmpdir, "conn.log", NULL);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert(writer_rotate_leftover(tmpdir, &moved, &err));
    ck_assert_ptr_nonnull(moved);
    g_autofree char *base = g_path_get_basename(moved);
    ck_assert(g_str_has_prefix(base, "conn.2023-11-14-22-13-20_")); /* from its #open */
    g_autofree char *s = slurp(tmpdir, base);
    ck_assert_ptr_nonnull(strstr(s, "\tCrow7\t"));
    ck_assert_int_ne(access(path, F_OK), 0);
    writer_close(w, NULL); /* writes to the moved file */
    g_free(moved);
}
END_TEST

START_TEST(test_sdnotify)
{
    g_autofree char *sock = g_build_filename(tmpdir, "notify", NULL);
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    g_strlcpy(sun.sun_path, sock, sizeof(sun.sun_path));
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);

    unsetenv("NOTIFY_SOCKET");
    ck_assert(!sdnotify("READY=1"));
    setenv("NOTIFY_SOCKET", sock, 1);
    ck_assert(sdnotify("READY=1\nSTATUS=capturing"));
    ck_assert(sdnotifyf("STATUS=%d interfaces", 2));
    char buf[128];
    ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
    ck_assert_int_gt(n, 0);
    buf[n] = '\0';
    ck_assert_str_eq(buf, "READY=1\nSTATUS=capturing");
    n = recv(fd, buf, sizeof(buf) - 1, 0);
    buf[n] = '\0';
    ck_assert_str_eq(buf, "STATUS=2 interfaces");
    setenv("NOTIFY_SOCKET", "relative/path", 1);
    ck_assert(!sdnotify("READY=1"));
    unsetenv("NOTIFY_SOCKET");
    close(fd);
}
END_TEST

START_TEST(test_stats_board)
{
    stats_board_t *b = stats_board_new();
    stats_snapshot_t s, out;
    stats_board_read(b, &out);
    ck_assert_uint_eq(out.seq, 0);
    memset(&s, 0, sizeof(s));
    s.packets = 99;
    stats_board_publish(b, &s);
    stats_board_publish(b, &s);
    stats_board_read(b, &out);
    ck_assert_uint_eq(out.seq, 2);
    ck_assert_uint_eq(out.packets, 99);
    ck_assert_uint_gt(stats_rss_bytes(), 0);
    stats_board_free(b);
}
END_TEST

START_TEST(test_privdrop_lookup)
{
    uid_t uid;
    gid_t gid;
    GError *err = NULL;
    ck_assert(privdrop_lookup("root", &uid, &gid, &err));
    ck_assert_int_eq(uid, 0);
    ck_assert(privdrop_lookup("0", &uid, &gid, &err));
    ck_assert(!privdrop_lookup("no-such-user-connlogd", &uid, &gid, &err));
    ck_assert(g_error_matches(err, PRIVDROP_ERROR, PRIVDROP_ERROR_NO_USER));
    g_clear_error(&err);
    /* becoming who we already are is a no-op that succeeds */
    g_autofree char *me = g_strdup_printf("%u", (unsigned)getuid());
    ck_assert(privdrop_become(me, &err));
}
END_TEST

static Suite *
daemon_suite(void)
{
    Suite *s = suite_create("daemon");
    TCase *tc = tcase_create("rotation");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_rotated_name);
    tcase_add_test(tc, test_rotate_keeps_every_row_once);
    tcase_add_test(tc, test_rotate_same_second_never_overwrites);
    tcase_add_test(tc, test_rotate_failure_keeps_old_file);
    tcase_add_test(tc, test_rotate_to_new_directory);
    tcase_add_test(tc, test_leftover_moved_aside);
    suite_add_tcase(s, tc);
    tc = tcase_create("process");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_sdnotify);
    tcase_add_test(tc, test_stats_board);
    tcase_add_test(tc, test_privdrop_lookup);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(daemon_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
