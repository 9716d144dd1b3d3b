# Robustness (docs/robustness.md): the bad-input catalogue end to end, the
# bounded-memory flood, and valgrind memcheck on end-to-end runs.  Not in
# TESTS: bench/flood (the flood at scale) and the fuzz targets (`make fuzz`,
# bench/fuzz-smoke; see fuzz/local.mk).
TESTS += tests/badinput.sh tests/flood.sh tests/valgrind.sh
EXTRA_DIST += tests/badinput.sh tests/flood.sh tests/valgrind.sh tests/tools/badinput.py \
	bench/flood tests/robust.mk
