libconnlogd_a_SOURCES +=
