libconnlogd_a_SOURCES += \
	src/decode/packet.h src/decode/decode.h
