libconnlogd_a_SOURCES += \
	src/app/service.c src/app/service.h src/app/svc_int.h \
	src/app/svc_text.c src/app/svc_tls.c src/app/svc_asn1.c src/app/svc_bin.c
