#!/bin/sh
# bench/kernels_gemm.sh BUILD — run by `make bench` (bench/run.sh picks up
# bench/kernels*.sh): builds and runs bench/gemm.c, the one-thread GFLOP/s
# of the prompt matrix product per weight type and gemm kernel variant,
# beside the per-row path it replaced.
BUILD=${1:-build}
CC=${CC:-cc}
[ -f "$BUILD/libmote.a" ] || { echo "bench/kernels_gemm.sh: $BUILD/libmote.a is not built (make)"; exit 1; }
mkdir -p "$BUILD/bench"
$CC -std=c11 -D_GNU_SOURCE -O2 -Iinclude -Isrc -o "$BUILD/bench/gemm" bench/gemm.c "$BUILD/libmote.a" \
  -lm -lpthread -lpcre2-8 -lutf8proc -ljansson || { echo "bench/kernels_gemm.sh: cannot build $BUILD/bench/gemm"; exit 1; }
echo "## prompt matrix product (bench/gemm.c): Y (512, 2048) = X @ W (2048, 2048)^T, one thread"
"$BUILD/bench/gemm"
