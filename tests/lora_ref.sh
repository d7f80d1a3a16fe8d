#!/bin/sh
# lora_ref.sh — one LoRA training step of mote (adapters of rank 4 on all
# seven matrices of a tiny 2-layer model, B non-zero) against the float64
# numpy reference (tests/ref/lora_ref.py: the adapters merged into the
# weights, train_ref.py's forward and backward, then the chain rule):
# loss within 1e-5 relative, every adapter gradient within 1e-4 of its
# tensor's max |grad|, and the adapter file's llama.cpp keys. Needs
# /usr/bin/python3 with numpy (MOTE_PYTHON overrides); skips without.
. tests/lib.sh.inc
PY=${MOTE_PYTHON:-/usr/bin/python3}
DUMPER="${MOTE_BUILD:-build}/tests/test_lora"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
if ! [ -x "$PY" ] || ! "$PY" -c 'import numpy' >/dev/null 2>&1; then
  t_skip lora_ref "$PY with numpy is missing (the reference needs it)"; exit 0
fi
if [ ! -x "$DUMPER" ]; then t_fail lora_ref "$DUMPER was not built"; exit 1; fi
if ! $DUMPER --dump "$tmp" 2>"$tmp/err"; then
  t_fail lora_ref "test_lora --dump failed: $(head -c 300 "$tmp/err")"; exit 1
fi
"$PY" "$(dirname "$0")/ref/lora_ref.py" "$tmp" >"$tmp/verdict" 2>&1
rc=$?
cat "$tmp/verdict"
if grep -q '^not ok -' "$tmp/verdict"; then exit 1; fi
if [ $rc -ne 0 ] || [ "$(grep -c '^ok -' "$tmp/verdict")" -ne 3 ]; then
  t_fail lora_ref "the reference gave no complete verdict (exit $rc): $(tail -c 300 "$tmp/verdict")"; exit 1
fi
exit 0
