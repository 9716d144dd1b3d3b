# Check suites for the output writer, connection uids and network sets.
check_PROGRAMS += tests/check_output tests/check_uid tests/check_netset
TESTS += tests/check_output tests/check_uid tests/check_netset

tests_check_output_SOURCES = tests/check_output.c
tests_check_output_CFLAGS = $(TEST_CK_CFLAGS)
tests_check_output_LDADD = $(TEST_CK_LIBS)

tests_check_uid_SOURCES = tests/check_uid.c
tests_check_uid_CFLAGS = $(TEST_CK_CFLAGS)
tests_check_uid_LDADD = $(TEST_CK_LIBS)

tests_check_netset_SOURCES = tests/check_netset.c
tests_check_netset_CFLAGS = $(TEST_CK_CFLAGS)
tests_check_netset_LDADD = $(TEST_CK_LIBS)
