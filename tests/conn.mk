check_PROGRAMS += tests/check_conn
TESTS += tests/check_conn
tests_check_conn_SOURCES = tests/check_conn.c
tests_check_conn_CFLAGS = $(TEST_CK_CFLAGS)
tests_check_conn_LDADD = $(TEST_CK_LIBS)
