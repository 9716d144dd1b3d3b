# Flow-record ingest: IPFIX/NetFlow v9 through libfixbuf, our own NetFlow v5
# decoder, normalization into flow_obs_t, and the information element
# definitions installed for the binary (see templates/README.md).
libconnlogd_a_SOURCES += \
	src/ipfix/v5.c src/ipfix/v5.h \
	src/ipfix/infomodel.c src/ipfix/infomodel.h \
	src/ipfix/normalize.c src/ipfix/normalize.h \
	src/ipfix/collector.c src/ipfix/collector.h

templatesdir = $(pkgdatadir)/templates
dist_templates_DATA = templates/cert.ies templates/README.md
