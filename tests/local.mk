# Check suites, one binary per module; shell end-to-end tests beside them.
TEST_EXTENSIONS = .sh
SH_LOG_COMPILER = $(SHELL)
AM_TESTS_ENVIRONMENT = top_srcdir='$(top_srcdir)' top_builddir='$(top_builddir)'; export top_srcdir top_builddir;
TEST_CK_LIBS = libconnlogd.a $(CHECK_LIBS) $(DEPS_LIBS)
TEST_CK_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) -DTOP_SRCDIR='"$(abs_top_srcdir)"'
include tests/output.mk
include tests/conn.mk
TESTS += tests/conformance.sh
EXTRA_DIST += tests/conformance.sh tests/conformance.floor tests/service.floor tests/run
include tests/ipfix.mk
TESTS += tests/samples.sh
EXTRA_DIST += tests/samples.sh tests/data/golden
include tests/decode.mk
include tests/daemon.mk
TESTS += tests/flows-vs-packets.sh
EXTRA_DIST += tests/flows-vs-packets.sh tests/tools/flowcompare.py tests/tools/udpsink.py
TESTS += tests/cli.sh
EXTRA_DIST += tests/cli.sh tests/run-asan
include tests/flows.mk
include tests/service.mk
include tests/robust.mk
include tests/soak.mk
