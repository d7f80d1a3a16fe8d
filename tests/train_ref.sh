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
# Then `mote train` end to end (lines "train_cli ..."): on a little
# TinyStories-like text (sampled from the shared stories260K model, whose
# 512-token vocab it uses) a small model's loss falls from ~ln 512 = 6.2
# by more than 2 nats in 40 steps (measured: 6.2 -> 2.9), the written GGUF
# loads and generates with `mote run`, and bad input fails with one line.
# Needs /usr/bin/python3 with numpy (MOTE_PYTHON overrides) for the first
# part and ../shared/assets for the second; each skips without.
. tests/lib.sh.inc
PY=${MOTE_PYTHON:-/usr/bin/python3}
BUILD=${MOTE_BUILD:-build}
DUMPER="$BUILD/tests/test_train_model"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# ---- the numpy reference ----
if ! [ -x "$PY" ] || ! "$PY" -c 'import numpy' >/dev/null 2>&1; then
  t_skip train_ref "$PY with numpy is missing (the reference needs it)"
elif [ ! -x "$DUMPER" ]; then
  t_fail train_ref "$DUMPER was not built"
elif ! "$DUMPER" --dump "$tmp" 2>"$tmp/err"; then
  t_fail train_ref "test_train_model --dump failed: $(head -c 300 "$tmp/err")"
else
  "$PY" "$(dirname "$0")/ref/train_ref.py" "$tmp" >"$tmp/verdict" 2>&1
  rc=$?
  cat "$tmp/verdict"
  if grep -q '^not ok -' "$tmp/verdict"; then T_FAILED=1
  elif [ $rc -ne 0 ] || [ "$(grep -c '^ok -' "$tmp/verdict")" -ne 6 ]; then
    t_fail train_ref "the reference gave no complete verdict (exit $rc): $(tail -c 300 "$tmp/verdict")"
  fi
fi

# ---- mote train end to end ----
S="$SHARED/models/stories260K.gguf"
if ! have_assets; then
  t_skip train_cli "$S is absent"
elif [ ! -x "$MOTE" ]; then
  t_fail train_cli "$MOTE was not built"
else
  for k in 1 2 3; do "$MOTE" run -m "$S" -n 300 --temp 1 --seed $k 2>/dev/null; done >"$tmp/text.txt"
  if "$MOTE" train --data "$tmp/text.txt" --vocab "$S" -o "$tmp/trained.gguf" --dim 32 --layers 2 \
       --heads 4 --kv-heads 2 --ffn 64 --ctx 32 --batch 8 --steps 40 --lr 1e-2 --warmup 4 \
       --seed 3 -t 2 >"$tmp/log" 2>"$tmp/err"; then
    first=$(awk '/^step 1\//{print $4}' "$tmp/log")
    last=$(awk '/^step 40\/40/{print $4}' "$tmp/log")
    if [ -n "$first" ] && [ -n "$last" ] && awk "BEGIN{exit !($first - $last > 2.0)}"; then
      t_ok "train_cli loss falls"
    else
      t_fail "train_cli loss falls" "loss $first -> $last (want a drop of more than 2)"
    fi
    echo "#   train_cli: loss $first -> $last in 40 steps"
    if "$MOTE" run -m "$tmp/trained.gguf" -p "Once upon a time" -n 16 --temp 0 >"$tmp/gen" 2>"$tmp/err" &&
       [ -s "$tmp/gen" ]; then
      t_ok "train_cli mote run loads the trained model"
    else
      t_fail "train_cli mote run loads the trained model" "$(head -c 300 "$tmp/err")"
    fi
  else
    t_fail "train_cli loss falls" "mote train failed: $(head -c 300 "$tmp/err")"
  fi
  # bad input: one line naming what is wrong, non-zero exit
  "$MOTE" train --data "$tmp/missing.txt" --vocab "$S" -o "$tmp/x.gguf" >/dev/null 2>"$tmp/err"
  rc=$?
  if [ $rc -ne 0 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q missing.txt "$tmp/err"; then
    t_ok "train_cli missing data file"
  else
    t_fail "train_cli missing data file" "exit $rc, stderr: $(head -c 300 "$tmp/err")"
  fi
  "$MOTE" train --data "$tmp/text.txt" --vocab "$S" -o "$tmp/x.gguf" --heads 4 --kv-heads 3 >/dev/null 2>"$tmp/err"
  rc=$?
  if [ $rc -ne 0 ] && grep -q "kv heads" "$tmp/err"; then
    t_ok "train_cli bad shape"
  else
    t_fail "train_cli bad shape" "exit $rc, stderr: $(head -c 300 "$tmp/err")"
  fi
fi
exit $T_FAILED
