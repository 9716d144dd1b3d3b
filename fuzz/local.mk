# `make fuzz`: libFuzzer targets (packet path, NetFlow v5, IPFIX, config,
# HTTP query strings) built with clang and ASan+UBSan from the sources of
# libconnlogd.a.  A normal build never runs this: the work is done by a
# separate GNU make file, fuzz/build.mk, which calls clang explicitly.
# `make fuzz-clean` removes its objects and binaries; bench/fuzz-smoke runs
# the targets (see docs/robustness.md).
FUZZ_CLANG = clang
FUZZ_MAKE = $(MAKE) -f $(srcdir)/fuzz/build.mk CLANG='$(FUZZ_CLANG)' \
	top_srcdir='$(top_srcdir)' top_builddir='$(top_builddir)' \
	abs_top_srcdir='$(abs_top_srcdir)' sysconfdir='$(sysconfdir)' \
	pkgdatadir='$(pkgdatadir)' LIB_SOURCES='$(libconnlogd_a_SOURCES)' \
	DEP_CFLAGS='$(GLIB_CFLAGS) $(PCAP_CFLAGS) $(FIXBUF_CFLAGS) $(MHD_CFLAGS)' \
	DEP_LIBS='$(DEPS_LIBS)'

fuzz: src/http/page_html.h
	$(FUZZ_MAKE)

fuzz-clean:
	$(FUZZ_MAKE) clean

.PHONY: fuzz fuzz-clean
EXTRA_DIST += fuzz/build.mk fuzz/fuzz_input.h fuzz/fuzz_packet.c fuzz/fuzz_v5.c \
	fuzz/fuzz_ipfix.c fuzz/fuzz_config.c fuzz/fuzz_query.c fuzz/make-corpus \
	fuzz/config.dict fuzz/query.dict bench/fuzz-smoke
