#!/bin/sh
# kquant_ref.sh — bit-compatibility of mote's K-quant, iq4_nl and ternary
# blocks with GGML's format: the test binary test_types_k writes a GGUF
# (through mote's GGUF writer) of tensors quantized by mote, blocks of random
# bytes, and mote's dequantization of both; tests/ref/kquant_ref.py decodes
# the blocks independently with numpy from the byte layout of ggml-common.h
# and compares (see its header for the checks and tolerances). One ok/not ok
# line per check. Needs /usr/bin/python3 with numpy (MOTE_PYTHON overrides);
# skips without.
. tests/lib.sh.inc
PY=${MOTE_PYTHON:-/usr/bin/python3}
BIN="${MOTE_BUILD:-build}/tests/test_types_k"
if ! [ -x "$PY" ] || ! "$PY" -c 'import numpy' >/dev/null 2>&1; then
  t_skip kquant_ref "$PY with numpy is missing (the reference needs it)"; exit 0
fi
if [ ! -x "$BIN" ]; then t_fail kquant_ref "$BIN was not built"; exit 1; fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
if ! "$BIN" --write-gguf "$tmp/k.gguf" 2>"$tmp/err"; then
  t_fail kquant_ref "$BIN --write-gguf failed: $(head -c 300 "$tmp/err")"; exit 1
fi
"$PY" tests/ref/kquant_ref.py "$tmp/k.gguf" >"$tmp/out" 2>&1
rc=$?
cat "$tmp/out"
if [ $rc -ne 0 ] && ! grep -q '^not ok -' "$tmp/out"; then
  t_fail kquant_ref "kquant_ref.py exited with status $rc"
fi
grep -q '^not ok -' "$tmp/out" && T_FAILED=1
exit $T_FAILED
