libconnlogd_a_SOURCES += \
	src/conn/record.h src/conn/conn.h \
	src/conn/uid.c src/conn/uid.h
