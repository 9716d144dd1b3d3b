libconnlogd_a_SOURCES += \
	src/core/weird.c src/core/weird.h \
	src/core/netset.c src/core/netset.h
libconnlogd_a_SOURCES += \
	src/core/pipeline.c src/core/pipeline.h
