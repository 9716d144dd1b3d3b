# The systemd unit, with the configured paths filled in, and the default
# configuration; both installed by `make install`.
systemdsystemunitdir = $(prefix)/lib/systemd/system
systemdsystemunit_DATA = systemd/connlogd.service
connlogdconfdir = $(sysconfdir)/connlogd
connlogdconf_DATA = samples/connlogd.conf
CLEANFILES += systemd/connlogd.service
EXTRA_DIST += systemd/connlogd.service.in samples/connlogd.conf

systemd/connlogd.service: $(srcdir)/systemd/connlogd.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) systemd && sed -e 's|[@]bindir[@]|$(bindir)|g' \
	  -e 's|[@]sysconfdir[@]|$(sysconfdir)|g' $(srcdir)/systemd/connlogd.service.in >$@.tmp && \
	  mv $@.tmp $@
dist_man_MANS += docs/connlogd.conf.5
EXTRA_DIST += docs/operator-guide.md
