# The daemon: Check suites for config, the /recent ring and flow queue, the
# HTTP server, and rotation/notify/privdrop; shell tests that run the real
# daemon (live capture in a network namespace, HTTP under load, rotation
# across SIGHUP and SIGTERM, the status page in headless Chromium).
check_PROGRAMS += tests/check_config tests/check_recent tests/check_http tests/check_daemon
TESTS += tests/check_config tests/check_recent tests/check_http tests/check_daemon

tests_check_config_SOURCES = tests/check_config.c
tests_check_config_CFLAGS = $(TEST_CK_CFLAGS)
tests_check_config_LDADD = $(TEST_CK_LIBS)

tests_check_recent_SOURCES = tests/check_recent.c
tests_check_recent_CFLAGS = $(TEST_CK_CFLAGS)
tests_check_recent_LDADD = $(TEST_CK_LIBS)

tests_check_http_SOURCES = tests/check_http.c
tests_check_http_CFLAGS = $(TEST_CK_CFLAGS)
tests_check_http_LDADD = $(TEST_CK_LIBS)

tests_check_daemon_SOURCES = tests/check_daemon.c
tests_check_daemon_CFLAGS = $(TEST_CK_CFLAGS)
tests_check_daemon_LDADD = $(TEST_CK_LIBS)

# End-to-end: the real daemon.  Tests needing root and network namespaces
# (live, rotate, load, flows, page) skip with 77 where that is not allowed.
TESTS += tests/daemon-cli.sh tests/daemon-unit.sh tests/daemon-live.sh tests/daemon-rotate.sh \
	tests/daemon-flows.sh tests/daemon-load.sh tests/daemon-page.sh tests/daemon-drops.sh
EXTRA_DIST += tests/daemon-cli.sh tests/daemon-unit.sh tests/daemon-live.sh \
	tests/daemon-rotate.sh tests/daemon-flows.sh tests/daemon-load.sh tests/daemon-page.sh \
	tests/daemon-drops.sh \
	tests/daemon-lib.sh tests/conncompare.py
