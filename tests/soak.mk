# Robustness under load and attack, the daemon's side: the collector's
# allow-list and limits (Check), and the short soak (live capture, IPFIX
# ingest and HTTP polling in a network namespace for about a minute; skips
# with 77 where namespaces are not allowed).  tests/run-tsan reruns the
# threaded tests under ThreadSanitizer; it is not part of `make check`.
check_PROGRAMS += tests/check_ipfix_limits
TESTS += tests/check_ipfix_limits
tests_check_ipfix_limits_SOURCES = tests/check_ipfix_limits.c tests/ipfix_msg.h
tests_check_ipfix_limits_CFLAGS = $(TEST_CK_CFLAGS)
tests_check_ipfix_limits_LDADD = $(TEST_CK_LIBS)

TESTS += tests/soak-short.sh
EXTRA_DIST += tests/soak-short.sh bench/soak tests/run-tsan tests/tsan.supp tests/tsan_glib.c

# ThreadSanitizer builds (configure --enable-tsan, as tests/run-tsan does):
# GLib's futex-based GMutex/GCond are invisible to it, so our calls go to
# pthread-based ones (see the file).
if TSAN
libconnlogd_a_SOURCES += tests/tsan_glib.c
endif
