/*
 * Check suite for core/config: defaults, every key type, the
 * "file:group.key: reason" errors, Zeek tunables in [conn], command-line
 * overrides, the restart-needed comparison, and the shipped sample.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"

static config_t cfg;

static void
teardown(void)
{
    config_clear(&cfg);
}

/* Load @p text, expect failure, and check the message starts with @p prefix. */
static void
expect_error(const char *text, const char *prefix)
{
    GError *err = NULL;
    ck_assert_msg(!config_load_data("t.conf", text, &cfg, &err), "accepted: %s", text);
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(g_str_has_prefix(err->message, prefix), "message '%s' lacks prefix '%s'",
                  err->message, prefix);
    g_error_free(err);
}

START_TEST(test_defaults)
{
    GError *err = NULL;
    ck_assert(config_load_data("t.conf", "", &cfg, &err));
    ck_assert_ptr_null(cfg.interfaces);
    ck_assert_int_eq(cfg.snaplen, 262144);
    ck_assert(cfg.promiscuous && cfg.immediate && cfg.private_is_local);
    ck_assert_str_eq(cfg.http_listen, "127.0.0.1:8080");
    ck_assert_str_eq(cfg.logdir, ".");
    ck_assert_int_eq(cfg.format, LOG_FORMAT_TSV);
    ck_assert_double_eq(cfg.rotate_interval, 3600.0);
    ck_assert_uint_eq(cfg.recent_size, 1000);
    ck_assert_str_eq(cfg.source, "t.conf");
}
END_TEST

START_TEST(test_all_types)
{
    GError *err = NULL;
    const char *text = "[capture]\n"
                       "interfaces = eth0; eth1,eth2\n"
                       "filter = not port 22\n"
                       "snaplen = 1500\n"
                       "promiscuous = no\n"
                       "[ipfix]\n"
                       "listen = 127.0.0.1:4739;tcp://[::1]:4740\n"
                       "max_time_skew = 10 min\n"
                       "[netflow]\n"
                       "listen = udp://0.0.0.0:2055\n"
                       "[conn]\n"
                       "seed = 7\n"
                       "max_conns = 1000\n"
                       "tcp_inactivity_timeout = 10 min\n"
                       "[output]\n"
                       "logdir = /var/log/x\n"
                       "format = json\n"
                       "rotate_interval = 1h\n"
                       "[http]\n"
                       "listen = off\n"
                       "token = s3cret\n"
                       "[daemon]\n"
                       "user = nobody\n";
    ck_assert_msg(config_load_data("t.conf", text, &cfg, &err), "%s", err ? err->message : "");
    ck_assert_uint_eq(g_strv_length(cfg.interfaces), 3);
    ck_assert_str_eq(cfg.interfaces[2], "eth2");
    ck_assert_str_eq(cfg.filter, "not port 22");
    ck_assert_int_eq(cfg.snaplen, 1500);
    ck_assert(!cfg.promiscuous);
    ck_assert_str_eq(cfg.ipfix_listen[0], "udp://127.0.0.1:4739");
    ck_assert_str_eq(cfg.ipfix_listen[1], "tcp://[::1]:4740");
    ck_assert_double_eq(cfg.max_time_skew, 600.0);
    ck_assert_str_eq(cfg.netflow_listen[0], "netflow://0.0.0.0:2055");
    ck_assert(cfg.has_seed);
    ck_assert_uint_eq(cfg.seed, 7);
    ck_assert_uint_eq(cfg.max_conns, 1000);
    ck_assert_str_eq(cfg.tunables[0], "tcp_inactivity_timeout=10 min");
    ck_assert_int_eq(cfg.format, LOG_FORMAT_JSON);
    ck_assert_double_eq(cfg.rotate_interval, 3600.0);
    ck_assert_ptr_null(cfg.http_listen);
    ck_assert_str_eq(cfg.http_token, "s3cret");
    ck_assert_str_eq(cfg.user, "nobody");

    /* the tunable reaches the builder's configuration */
    conn_config_t cc;
    netset_t *a = NULL, *b = NULL;
    ck_assert(config_build_conn(&cfg, &cc, &a, &b, &err));
    ck_assert_double_eq(cc.tcp_inactivity_timeout, 600.0);
    ck_assert_uint_eq(cc.max_conns, 1000);
    netset_free(a);
    netset_free(b);
}
END_TEST

START_TEST(test_errors_name_the_key)
{
    expect_error("[capture\n", "t.conf: ");
    expect_error("[bogus]\nx = 1\n", "t.conf:bogus: unknown group");
    expect_error("[capture]\nsnaplenn = 10\n", "t.conf:capture.snaplenn: unknown key");
    expect_error("[capture]\nsnaplen = 10\n", "t.conf:capture.snaplen: 10 is out of range");
    expect_error("[capture]\nsnaplen = 1.5\n", "t.conf:capture.snaplen: '1.5' is not an integer");
    expect_error("[capture]\npromiscuous = maybe\n", "t.conf:capture.promiscuous: 'maybe' is not");
    expect_error("[output]\nformat = xml\n", "t.conf:output.format: 'xml'");
    expect_error("[output]\nrotate_interval = soon\n", "t.conf:output.rotate_interval: 'soon'");
    expect_error("[http]\nlisten = localhost:80\n", "t.conf:http.listen: ");
    expect_error("[http]\nlisten = 127.0.0.1:99999\n", "t.conf:http.listen: ");
    expect_error("[ipfix]\nlisten = sctp://0.0.0.0\n", "t.conf:ipfix.listen: ");
    expect_error("[netflow]\nlisten = tcp://0.0.0.0:2055\n", "t.conf:netflow.listen: ");
    expect_error("[conn]\ntcp_inactivity_timeout = forever\n",
                 "t.conf:conn.tcp_inactivity_timeout: bad value");
    expect_error("[conn]\nno_such_tunable = 1\n", "t.conf:conn.no_such_tunable: unknown key");
    expect_error("[conn]\nlocal_nets = 10.0.0.0/33\n", "t.conf:conn.local_nets: ");
    expect_error("[conn]\nlikely_server_ports = 80/sctp\n", "t.conf:conn.likely_server_ports: ");
    expect_error("[capture]\ninterfaces = a;b;c;d;e;f;g;h;i;j;k;l;m;n;o;p;q\n",
                 "t.conf:capture.interfaces: more than 16");
    expect_error("[daemon]\nstats_interval = 0\n", "t.conf:daemon.stats_interval: ");
    /* GKeyFile returns a value with a bad escape sequence and an error
     * both; the value is refused and the error freed (it leaked, found by
     * fuzz/config-fuzzer under ASan once GSlice was off) */
    expect_error("[conn]\nlocal_nets = 10.0.0.0/8\\5\n",
                 "t.conf:conn.local_nets: ");
    expect_error("[capture]\ninterfaces = eth\\q0\n", "t.conf:capture.interfaces: ");
}
END_TEST

START_TEST(test_missing_file)
{
    GError *err = NULL;
    ck_assert(!config_load("/nonexistent/connlogd.conf", &cfg, &err));
    ck_assert(g_str_has_prefix(err->message, "/nonexistent/connlogd.conf: "));
    g_error_free(err);
}
END_TEST

START_TEST(test_overrides)
{
    GError *err = NULL;
    const char *ifs[] = {"veth0", NULL};
    const char *nf[] = {"127.0.0.1:9995", NULL};
    const char *tun[] = {"udp_inactivity_timeout=5 secs", NULL};
    config_overrides_t o = {.interfaces = ifs,
                            .netflow_listen = nf,
                            .http_listen = "127.0.0.1:0",
                            .format = "json",
                            .max_conns = -1,
                            .seed = 3,
                            .no_private_local = true,
                            .tunables = tun};

    ck_assert(config_load_data("t.conf", "[capture]\ninterfaces = eth0\n", &cfg, &err));
    ck_assert_msg(config_apply_overrides(&cfg, &o, &err), "%s", err ? err->message : "");
    ck_assert_str_eq(cfg.interfaces[0], "veth0");
    ck_assert_ptr_null(cfg.interfaces[1]);
    ck_assert_str_eq(cfg.netflow_listen[0], "netflow://127.0.0.1:9995");
    ck_assert_str_eq(cfg.http_listen, "127.0.0.1:0");
    ck_assert_int_eq(cfg.format, LOG_FORMAT_JSON);
    ck_assert(!cfg.private_is_local);
    ck_assert_uint_eq(cfg.seed, 3);
    ck_assert_str_eq(cfg.tunables[0], "udp_inactivity_timeout=5 secs");

    config_overrides_t bad = {.max_conns = -1, .seed = -1, .format = "csv"};
    ck_assert(!config_apply_overrides(&cfg, &bad, &err));
    ck_assert(g_str_has_prefix(err->message, "--format: "));
    g_clear_error(&err);
    const char *badtun[] = {"nonsense", NULL};
    config_overrides_t bad2 = {.max_conns = -1, .seed = -1, .tunables = badtun};
    ck_assert(!config_apply_overrides(&cfg, &bad2, &err));
    g_clear_error(&err);
}
END_TEST

START_TEST(test_durations_and_addresses)
{
    double d;
    ck_assert(config_parse_duration("90", &d) && d == 90);
    ck_assert(config_parse_duration("1.5 min", &d) && d == 90);
    ck_assert(config_parse_duration("2hrs", &d) && d == 7200);
    ck_assert(config_parse_duration("1 day", &d) && d == 86400);
    ck_assert(config_parse_duration("250ms", &d) && d == 0.25);
    ck_assert(!config_parse_duration("-5", &d));
    ck_assert(!config_parse_duration("5 fortnights", &d));
    ck_assert(!config_parse_duration("", &d));

    char *host = NULL;
    uint16_t port = 0;
    ck_assert(config_parse_hostport("127.0.0.1:8080", &host, &port, NULL));
    ck_assert_str_eq(host, "127.0.0.1");
    ck_assert_uint_eq(port, 8080);
    g_free(host);
    ck_assert(config_parse_hostport("[::1]:9", &host, &port, NULL));
    ck_assert_str_eq(host, "::1");
    g_free(host);
    ck_assert(config_parse_hostport("8081", &host, &port, NULL));
    ck_assert_str_eq(host, "");
    ck_assert_uint_eq(port, 8081);
    g_free(host);
    ck_assert(!config_parse_hostport("::1:80", &host, &port, NULL));
    ck_assert(!config_parse_hostport("example.org:80", &host, &port, NULL));
    ck_assert(!config_parse_hostport("1.2.3.4:", &host, &port, NULL));

    char *s = config_listen_spec("0.0.0.0:2055", true);
    ck_assert_str_eq(s, "netflow://0.0.0.0:2055");
    g_free(s);
    s = config_listen_spec("udp://[::]:2055", true);
    ck_assert_str_eq(s, "netflow://[::]:2055");
    g_free(s);
    s = config_listen_spec("tcp://*:4739", false);
    ck_assert_str_eq(s, "tcp://*:4739");
    g_free(s);
}
END_TEST

START_TEST(test_restart_keys)
{
    config_t other;
    GError *err = NULL;
    ck_assert(config_load_data("a", "[capture]\ninterfaces = eth0\n", &cfg, &err));
    ck_assert(config_load_data("b",
                               "[capture]\ninterfaces = eth1\n[output]\nformat = json\n"
                               "[http]\nlisten = 127.0.0.1:9\n",
                               &other, &err));
    char *k = config_restart_keys(&cfg, &other);
    ck_assert_ptr_nonnull(k);
    ck_assert_str_eq(k, "capture.interfaces, http.listen"); /* format reloads live */
    g_free(k);
    ck_assert_ptr_null(config_restart_keys(&cfg, &cfg));
    config_clear(&other);
}
END_TEST

START_TEST(test_sample_is_valid)
{
    GError *err = NULL;
    g_autofree char *path = g_build_filename(TOP_SRCDIR, "samples", "connlogd.conf", NULL);
    ck_assert_msg(config_load(path, &cfg, &err), "%s", err ? err->message : "");
    ck_assert_str_eq(cfg.interfaces[0], "eth1");
    ck_assert_str_eq(cfg.logdir, "/var/log/connlogd");
}
END_TEST

static Suite *
config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_all_types);
    tcase_add_test(tc, test_errors_name_the_key);
    tcase_add_test(tc, test_missing_file);
    tcase_add_test(tc, test_overrides);
    tcase_add_test(tc, test_durations_and_addresses);
    tcase_add_test(tc, test_restart_keys);
    tcase_add_test(tc, test_sample_is_valid);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(config_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
