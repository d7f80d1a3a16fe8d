#!/bin/sh
# finetune_cli.sh — `mote finetune` (full and --lora), `mote run --lora` and
# `mote merge` end to end on the shared stories260K model, fine-tuned on a
# few steps of the repository's README (English prose unlike its
# TinyStories training text), with a held-out tail (--val-frac).
# Checks: the held-out loss falls (full and LoRA); a full fine-tuning
# checkpoint continued by `mote train --resume` gives the uninterrupted
# run's model byte for byte; the adapter runs with
# `mote run --lora`; at scale 0 the greedy text equals the base's; the
# merged model's greedy text equals the applied adapter's; a LoRA base
# quantized to q8_0 fine-tunes, and full fine-tuning of it is refused with a
# hint to --lora; an adapter of another model is refused by run and merge
# with one line naming the reason. Exact logits (scale 0, merged vs applied,
# gradients) are checked in tests/test_lora.c. Skips without ../shared.
. tests/lib.sh.inc
S="$SHARED/models/stories260K.gguf"
if ! have_assets; then t_skip finetune_cli "$S is absent"; exit 0; fi
[ -x "$MOTE" ] || { t_fail finetune_cli "$MOTE was not built"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cp README.md "$tmp/text.txt"
common="--data $tmp/text.txt --val-frac 0.2 --val-windows 8 --ctx 64 --batch 4 --steps 8 --warmup 1 --eval-every 8 -t 2"

# held_out_falls NAME LOG: the last "val step" loss is below the first
held_out_falls() {
  first=$(awk '/^val step 0 /{print $5}' "$2")
  last=$(awk '/^val step /{v=$5} END{print v}' "$2")
  if [ -n "$first" ] && [ -n "$last" ] && awk "BEGIN{exit !($last < $first)}"; then
    t_ok "$1 held-out loss falls"
  else
    t_fail "$1 held-out loss falls" "held-out loss $first -> $last"
  fi
  echo "#   $1: held-out loss $first -> $last"
}

if "$MOTE" finetune -m "$S" $common --lr 1e-3 --checkpoint-every 4 -o "$tmp/full.gguf" >"$tmp/full.log" 2>"$tmp/err"; then
  held_out_falls "finetune full" "$tmp/full.log"
  # its checkpoint after step 4, continued by mote train --resume
  if "$MOTE" train --resume "$tmp/full.ckpt.gguf" --data "$tmp/text.txt" --val-frac 0.2 --val-windows 8 -t 2 \
       -o "$tmp/resumed.gguf" >/dev/null 2>"$tmp/err" && cmp -s "$tmp/full.gguf" "$tmp/resumed.gguf"; then
    t_ok "finetune full: a checkpoint resumed by mote train gives the same model byte for byte"
  else
    t_fail "finetune full: a checkpoint resumed by mote train gives the same model byte for byte" "$(head -c 300 "$tmp/err")"
  fi
else
  t_fail "finetune full" "$(head -c 300 "$tmp/err")"
fi
if "$MOTE" finetune -m "$S" --lora --rank 4 $common --lr 1e-2 -o "$tmp/lora.gguf" >"$tmp/lora.log" 2>"$tmp/err"; then
  held_out_falls "finetune lora" "$tmp/lora.log"
else
  t_fail "finetune lora" "$(head -c 300 "$tmp/err")"
fi

gen() { m=$1; shift; "$MOTE" run -m "$m" -p "The model" -n 24 --temp 0 -t 2 "$@" 2>"$tmp/gen_err"; }
if [ -f "$tmp/lora.gguf" ]; then
  base=$(gen "$S"); lora=$(gen "$S" --lora "$tmp/lora.gguf"); zero=$(gen "$S" --lora "$tmp/lora.gguf:0")
  if [ -n "$lora" ] && [ "$zero" = "$base" ]; then t_ok "run --lora FILE:0 gives the base's text"
  else t_fail "run --lora FILE:0 gives the base's text" "base '$base', scale 0 '$zero' ($(head -c 200 "$tmp/gen_err"))"; fi
  if "$MOTE" merge -m "$S" --lora "$tmp/lora.gguf" -o "$tmp/merged.gguf" 2>"$tmp/err" && [ "$(gen "$tmp/merged.gguf")" = "$lora" ]; then
    t_ok "merge gives the applied adapter's text"
  else
    t_fail "merge gives the applied adapter's text" "$(head -c 300 "$tmp/err")"
  fi
fi

# a quantized base: LoRA trains, full fine-tuning is refused
if "$MOTE" quantize -q "$S" "$tmp/q8.gguf" q8_0 >/dev/null 2>&1; then
  if "$MOTE" finetune -m "$tmp/q8.gguf" --lora $common --lr 1e-2 -o "$tmp/q8lora.gguf" >"$tmp/q8.log" 2>"$tmp/err"; then
    held_out_falls "finetune lora on q8_0" "$tmp/q8.log"
  else
    t_fail "finetune lora on q8_0" "$(head -c 300 "$tmp/err")"
  fi
  "$MOTE" finetune -m "$tmp/q8.gguf" $common -o "$tmp/x.gguf" >/dev/null 2>"$tmp/err"
  rc=$?
  if [ $rc -ne 0 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q -- "--lora" "$tmp/err"; then
    t_ok "finetune full refuses a q8_0 base"
  else
    t_fail "finetune full refuses a q8_0 base" "exit $rc: $(head -c 300 "$tmp/err")"
  fi
else
  t_skip "finetune on q8_0" "mote quantize is not available"
fi

# an adapter of another model (a small one trained here) is refused
"$MOTE" train --data "$tmp/text.txt" --vocab "$S" -o "$tmp/other.gguf" --dim 32 --layers 2 --heads 4 \
  --kv-heads 2 --ffn 64 --ctx 32 --batch 2 --steps 1 >/dev/null 2>&1 &&
"$MOTE" finetune -m "$tmp/other.gguf" --lora --rank 2 --data "$tmp/text.txt" --ctx 32 --batch 2 --steps 1 \
  -o "$tmp/other_lora.gguf" >/dev/null 2>&1
if [ -f "$tmp/other_lora.gguf" ]; then
  for cmd in run merge; do
    if [ $cmd = run ]; then "$MOTE" run -m "$S" --lora "$tmp/other_lora.gguf" -n 4 >/dev/null 2>"$tmp/err"
    else "$MOTE" merge -m "$S" --lora "$tmp/other_lora.gguf" -o "$tmp/bad.gguf" >/dev/null 2>"$tmp/err"; fi
    rc=$?
    if [ $rc -ne 0 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "another model" "$tmp/err" && [ ! -f "$tmp/bad.gguf" ]; then
      t_ok "$cmd refuses an adapter of another model"
    else
      t_fail "$cmd refuses an adapter of another model" "exit $rc: $(head -c 300 "$tmp/err")"
    fi
  done
else
  t_fail "adapter of another model" "could not make one"
fi
# bad arguments: one line each
"$MOTE" finetune -m "$S" --rank 4 --data "$tmp/text.txt" -o "$tmp/x.gguf" >/dev/null 2>"$tmp/err"
rc=$?
if [ $rc -eq 2 ] && grep -q -- "--lora" "$tmp/err"; then t_ok "finetune --rank without --lora"; else t_fail "finetune --rank without --lora" "exit $rc: $(head -c 200 "$tmp/err")"; fi
: >"$tmp/empty.txt"
"$MOTE" finetune -m "$S" --lora --data "$tmp/empty.txt" -o "$tmp/x.gguf" >/dev/null 2>"$tmp/err"
rc=$?
if [ $rc -ne 0 ] && grep -q "empty" "$tmp/err"; then t_ok "finetune empty text"; else t_fail "finetune empty text" "exit $rc: $(head -c 200 "$tmp/err")"; fi
exit $T_FAILED
