libconnlogd_a_SOURCES += \
	src/conn/record.h src/conn/conn.h \
	src/conn/record.c \
	src/conn/uid.c src/conn/uid.h
libconnlogd_a_SOURCES += \
	src/conn/internal.h src/conn/flow.h \
	src/conn/config.c src/conn/conn.c src/conn/tcp.c src/conn/flowconn.c
