#!/bin/sh
# The soak (bench/soak) cut to one minute for CI: live capture of a looped
# traffic mix, IPFIX rounds from softflowd, an exporter outside the
# allow-list, HTTP polling and rotation every 20 s.  Every packet captured,
# records logged equal to records in, the outsider refused, no HTTP error.
# The RSS series and slope are printed but not judged: a minute is all
# warm-up.  Skips (77) without root, network namespaces or the tools.
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
SOAK_SECONDS=${SOAK_SECONDS:-60} SOAK_ROTATE=${SOAK_ROTATE:-20} SOAK_SAMPLE=${SOAK_SAMPLE:-2} \
    SOAK_MAX_SLOPE="" CONNLOGD="$top_builddir/src/connlogd" PCAPGEN="$top_builddir/bench/pcapgen" \
    bash "$top_srcdir/bench/soak"
