#!/bin/sh
# bench/kernels.sh BUILD — run by `make bench` (bench/run.sh picks up
# bench/kernels*.sh): builds and runs bench/kernels.c, the per-kernel
# matrix-vector GB/s against the machine's read bandwidth (one thread), and
# the vec_dot_4 GMAC/s of the prompt tile. Same as `make bench-kernels`.
BUILD=${1:-build}
make --no-print-directory -s BUILD="$BUILD" "$BUILD/bench/kernels" >/dev/null || {
  echo "bench/kernels.sh: cannot build $BUILD/bench/kernels"; exit 1; }
echo "## kernels (bench/kernels.c)"
"$BUILD/bench/kernels"
