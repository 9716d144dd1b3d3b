# Service column (src/app): per-protocol identification, ordering, FTP data
# expectations, violations, flow labels, and the udp-icmp.pcap DNS sample.
check_PROGRAMS += tests/check_service
TESTS += tests/check_service
tests_check_service_SOURCES = tests/check_service.c
tests_check_service_CFLAGS = $(TEST_CK_CFLAGS)
tests_check_service_LDADD = $(TEST_CK_LIBS)
