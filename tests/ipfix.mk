# Flow ingest tests: the v5 decoder, the IPFIX/v9 collector end to end
# (files, UDP, TCP on 127.0.0.1), and softflowd replays when it is installed.
check_PROGRAMS += tests/check_v5 tests/check_ipfix tests/ipfix_dump
TESTS += tests/check_v5 tests/check_ipfix tests/ipfix-softflowd.sh
EXTRA_DIST += tests/ipfix-softflowd.sh

tests_check_v5_SOURCES = tests/check_v5.c
tests_check_v5_CFLAGS = $(TEST_CK_CFLAGS)
tests_check_v5_LDADD = $(TEST_CK_LIBS)

tests_check_ipfix_SOURCES = tests/check_ipfix.c tests/ipfix_msg.h tests/ipfix_xp.h
tests_check_ipfix_CFLAGS = $(TEST_CK_CFLAGS)
tests_check_ipfix_LDADD = $(TEST_CK_LIBS)

tests_ipfix_dump_SOURCES = tests/ipfix_dump.c
tests_ipfix_dump_CFLAGS = $(AM_CFLAGS)
tests_ipfix_dump_LDADD = libconnlogd.a $(DEPS_LIBS)
