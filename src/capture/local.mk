libconnlogd_a_SOURCES += \
	src/capture/pcapsrc.c src/capture/pcapsrc.h
