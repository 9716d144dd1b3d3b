libconnlogd_a_SOURCES += \
	src/core/weird.c src/core/weird.h \
	src/core/netset.c src/core/netset.h
libconnlogd_a_SOURCES += \
	src/core/pipeline.c src/core/pipeline.h
# The daemon: configuration, the /recent ring and /stats board, the flow
# queue and collector thread, privilege drop, sd_notify, and the main loop.
libconnlogd_a_SOURCES += \
	src/core/config.c src/core/config.h \
	src/core/recent.c src/core/recent.h \
	src/core/stats.c src/core/stats.h \
	src/core/flowq.c src/core/flowq.h \
	src/core/flowin.c src/core/flowin.h \
	src/core/privdrop.c src/core/privdrop.h \
	src/core/sdnotify.c src/core/sdnotify.h \
	src/core/daemon.c src/core/daemon.h
