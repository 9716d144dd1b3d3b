libconnlogd_a_SOURCES += \
	src/decode/packet.h src/decode/decode.h \
	src/decode/internal.h src/decode/cursor.h \
	src/decode/decode.c \
	src/decode/link.c \
	src/decode/ip.c \
	src/decode/frag.c src/decode/frag.h \
	src/decode/transport.c \
	src/decode/tunnel.c
