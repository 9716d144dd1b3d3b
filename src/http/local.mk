# HTTP interface: libmicrohttpd server, endpoint rendering, and the status
# page, kept as plain HTML in page.html and turned into a C string at build
# time (page_html.h) so it can be edited as what it is.
libconnlogd_a_SOURCES += \
	src/http/server.c src/http/server.h \
	src/http/render.c src/http/render.h
EXTRA_DIST += src/http/page.html
CLEANFILES += src/http/page_html.h

# server.c includes the generated header: build it first.
src/http/server.$(OBJEXT): src/http/page_html.h
src/http/page_html.h: $(srcdir)/src/http/page.html
	$(AM_V_GEN)$(MKDIR_P) src/http && { \
	  echo '/* Generated from page.html by src/http/local.mk; do not edit. */'; \
	  echo 'static const char http_page_html[] ='; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/    "/' -e 's/$$/\\n"/' $(srcdir)/src/http/page.html; \
	  echo ';'; \
	} >$@.tmp && mv $@.tmp $@
