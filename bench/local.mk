# Benchmark and sample tooling: the deterministic traffic generator, the
# bare-libpcap baseline, and the targets that regenerate samples/*.pcap
# (`make samples`) and prove they are reproducible (`make samples-check`).
noinst_PROGRAMS += bench/pcapgen bench/bareloop

bench_pcapgen_SOURCES = bench/pcapgen.c bench/pcapgen.h bench/pcapgen_pkt.c \
	bench/pcapgen_mix.c bench/pcapgen_samples.c bench/pcapgen_flood.c
bench_pcapgen_LDADD = $(GLIB_LIBS)

bench_bareloop_SOURCES = bench/bareloop.c
bench_bareloop_LDADD = $(PCAP_LIBS)

# The flow-path benchmark (bench/ipfix-ingest): an IPFIX file replayed over
# loopback UDP with sendmmsg, at a given rate.
noinst_PROGRAMS += bench/ipfix-replay
bench_ipfix_replay_SOURCES = bench/ipfix-replay.c

# The cost of formatting and writing conn.log rows (TSV and JSON).
noinst_PROGRAMS += bench/writer-rows
bench_writer_rows_SOURCES = bench/writer-rows.c
bench_writer_rows_LDADD = libconnlogd.a $(DEPS_LIBS)

EXTRA_DIST += bench/README.md bench/pcap-throughput bench/ipfix-ingest bench/make-samples samples/README.md \
	samples/tcp-basic.pcap samples/udp-icmp.pcap samples/ipv6-vlan.pcap \
	samples/tunnels.pcap samples/badinput.pcap samples/timeouts.pcap samples/mixed.pcap

samples: bench/pcapgen$(EXEEXT)
	$(SHELL) $(srcdir)/bench/make-samples bench/pcapgen$(EXEEXT) $(srcdir)/samples

samples-check: bench/pcapgen$(EXEEXT)
	$(SHELL) $(srcdir)/bench/make-samples --check bench/pcapgen$(EXEEXT) $(srcdir)/samples

.PHONY: samples samples-check
