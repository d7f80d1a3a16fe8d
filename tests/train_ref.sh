#!/bin/sh
# train_ref.sh — mote's training against an independent float64 numpy
# reference (tests/ref/train_ref.py): `test_train_model --dump DIR` writes a
# tiny Llama (dim 16, 2 layers, 4 heads, 2 KV heads, ffn 24, vocab 32) as
# GGUF, a batch (B 2, T 8), and for two steps its loss, every raw gradient
# and the parameters after AdamW (clipping active on step 1); numpy
# recomputes loss and gradients from the GGUF (step 2 from mote's own
# step-1 parameters) and applies AdamW to mote's gradients.
# Tolerances (train_ref.py's header): loss 1e-5 relative; gradients per
# tensor max|diff| <= 1e-4 of the tensor's max |grad|; parameters after
# AdamW within 1e-6 (|p| + 1). Measured on x86-64 (AVX2 gemm): loss 4e-8,
# gradients <= 1.1e-6, AdamW <= 3e-8.
# Needs /usr/bin/python3 with numpy (MOTE_PYTHON overrides); skips without.
. tests/lib.sh.inc
PY=${MOTE_PYTHON:-/usr/bin/python3}
BUILD=${MOTE_BUILD:-build}
DUMPER="$BUILD/tests/test_train_model"
if ! [ -x "$PY" ] || ! "$PY" -c 'import numpy' >/dev/null 2>&1; then
  t_skip train_ref "$PY with numpy is missing (the reference needs it)"; exit 0
fi
if [ ! -x "$DUMPER" ]; then t_fail train_ref "$DUMPER was not built"; exit 1; fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
if ! "$DUMPER" --dump "$tmp" 2>"$tmp/err"; then
  t_fail train_ref "test_train_model --dump failed: $(head -c 300 "$tmp/err")"; exit 1
fi
"$PY" "$(dirname "$0")/ref/train_ref.py" "$tmp" >"$tmp/verdict" 2>&1
rc=$?
cat "$tmp/verdict"
if grep -q '^not ok -' "$tmp/verdict"; then exit 1; fi
if [ $rc -ne 0 ] || [ "$(grep -c '^ok -' "$tmp/verdict")" -ne 6 ]; then
  t_fail train_ref "the reference gave no complete verdict (exit $rc): $(tail -c 300 "$tmp/verdict")"; exit 1
fi
exit 0
