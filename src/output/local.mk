libconnlogd_a_SOURCES += \
	src/output/writer.c src/output/writer.h
