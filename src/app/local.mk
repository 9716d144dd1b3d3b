libconnlogd_a_SOURCES += \
	src/app/service.c src/app/service.h
