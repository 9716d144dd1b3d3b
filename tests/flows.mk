# Flow-path conformance: YAF-style biflow records (written with libfixbuf's
# exporter, flat and in a subTemplateMultiList) against the packet path on
# every row of Zeek's conn_state table.
check_PROGRAMS += tests/check_yafstates
TESTS += tests/check_yafstates
tests_check_yafstates_SOURCES = tests/check_yafstates.c tests/ipfix_xp.h
tests_check_yafstates_CFLAGS = $(TEST_CK_CFLAGS)
tests_check_yafstates_LDADD = $(TEST_CK_LIBS)
