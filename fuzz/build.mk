# GNU make file behind `make fuzz` (fuzz/local.mk runs it with the
# configured paths and flags).  It compiles every C source of libconnlogd.a
# with clang, ASan, UBSan and libFuzzer's coverage instrumentation into
# fuzz/obj/, archives them, and links one binary per target:
# fuzz/NAME-fuzzer from fuzz/fuzz_NAME.c.  It is a separate file so that
# automake never sees its pattern rules and gcc builds never see clang.

CLANG ?= clang
top_srcdir ?= .
top_builddir ?= .
abs_top_srcdir ?= $(CURDIR)
sysconfdir ?= /usr/local/etc
pkgdatadir ?= /usr/local/share/connlogd

TARGETS := packet v5 ipfix config query
OBJDIR := fuzz/obj
# The daemon's main loop is no target's business: leaving it out keeps the
# fuzz build independent of it.
SRCS := $(filter-out src/core/daemon.c,$(filter %.c,$(LIB_SOURCES)))
OBJS := $(patsubst %.c,$(OBJDIR)/%.o,$(SRCS))
LIB := $(OBJDIR)/libconnlogd-fuzz.a
BINS := $(patsubst %,fuzz/%-fuzzer,$(TARGETS))

# -fno-sanitize-recover: a UBSan report aborts, so libFuzzer keeps the input.
SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
FZ_CPPFLAGS := -include $(top_builddir)/config.h -I$(top_srcdir) -I$(top_srcdir)/src \
	-I$(top_builddir)/src -DSYSCONFDIR='"$(sysconfdir)"' -DPKGDATADIR='"$(pkgdatadir)"' \
	-DTOP_SRCDIR='"$(abs_top_srcdir)"'
FZ_CFLAGS := -std=c11 -g -O1 -Wall -Wextra -Wno-unused-parameter $(SAN) $(DEP_CFLAGS)

all: $(BINS)

$(OBJDIR)/%.o: $(top_srcdir)/%.c
	@mkdir -p $(@D)
	@echo "  FUZZCC   $@"
	@$(CLANG) $(FZ_CPPFLAGS) $(FZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

$(LIB): $(OBJS)
	@rm -f $@
	@echo "  AR       $@"
	@ar cr $@ $(OBJS)

fuzz/%-fuzzer: $(top_srcdir)/fuzz/fuzz_%.c $(top_srcdir)/fuzz/fuzz_input.h $(LIB)
	@mkdir -p $(@D)
	@echo "  FUZZLD   $@"
	@$(CLANG) $(FZ_CPPFLAGS) $(FZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(LIB) $(DEP_LIBS)

clean:
	rm -rf $(OBJDIR) $(BINS)

.PHONY: all clean
# Rebuild objects whose headers changed.
-include $(OBJS:.o=.d)
