bin_PROGRAMS += src/connlogd
src_connlogd_SOURCES = src/main.c
src_connlogd_LDADD = libconnlogd.a $(DEPS_LIBS)
dist_man_MANS += docs/connlogd.8
