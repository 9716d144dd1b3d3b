# Check suite of the packet decoder (src/decode).
check_PROGRAMS += tests/check_decode
TESTS += tests/check_decode
tests_check_decode_SOURCES = tests/check_decode.c
tests_check_decode_CFLAGS = $(TEST_CK_CFLAGS)
tests_check_decode_LDADD = $(TEST_CK_LIBS)
