#!/bin/sh
# cli_perplexity.sh — `mote perplexity` end to end on ../shared's
# stories260K (the numbers against a float64 reference: ppl_ref.sh) and
# `--kv-type` on run and bench: a model compared with its own saved logits
# has KL ~0 (the 16-bit file costs ~1e-8) and the same top token
# everywhere; a q4_0 copy has KL > 1e-3; saved-logits files that are
# truncated, not ours, or of another window/text/vocabulary are refused
# with a message saying which; bad arguments and texts are refused; the
# KV cache's bytes drop by the types' ratios (f16 1/2, q8_0 34/128, q4_0
# 18/128 for stories260K's rows of 32 values); --lora applies an adapter.
. tests/lib.sh.inc
if [ ! -x "$MOTE" ]; then t_fail cli_perplexity "$MOTE was not built"; exit 1; fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# bad NAME EXPECTED-MESSAGE ARGS... : exits non-zero, one line naming it
bad() {
  n=$1; want=$2; shift 2
  if "$MOTE" "$@" >"$tmp/out" 2>"$tmp/err"; then t_fail "$n" "exit status 0 for: $*"; return; fi
  if grep -q -- "$want" "$tmp/err"; then t_ok "$n"; else t_fail "$n" "no '$want' in: $(head -c 300 "$tmp/err")"; fi
}
bad ppl_no_model "no model" perplexity -f x
bad ppl_no_text "no text" perplexity -m x
bad ppl_unknown_flag "unknown option" perplexity --frob
bad ppl_bad_output "text or json" perplexity -m x -f y -o xml
bad ppl_bad_ctx "whole number from 2" perplexity -m x -f y -c 1
bad ppl_same_file "name the same file" perplexity -m x -f y --save-logits a --kl-base a

if ! have_assets; then t_skip cli_perplexity "$SHARED/models/stories260K.gguf is absent"; exit 0; fi
M="$SHARED/models/stories260K.gguf"
T=tests/data/quant/heldout.txt
: >"$tmp/empty.txt"
bad ppl_missing_text "cannot open" perplexity -m "$M" -f "$tmp/nope.txt"
bad ppl_empty_text "empty" perplexity -m "$M" -f "$tmp/empty.txt"
bad ppl_ctx_too_long "context of 2048" perplexity -m "$M" -f "$T" -c 4096
bad ppl_bad_kv_type "KV cache type 'q7'" perplexity -m "$M" -f "$T" --kv-type q7
bad run_bad_kv_type "KV cache type 'q2_K'" run -m "$M" -n 1 --kv-type q2_K

# json NAME KEY : the value of KEY in $tmp/NAME.json
val() { sed -n 's/.*"'"$2"'": \([^,}]*\).*/\1/p' "$tmp/$1.json"; }

if "$MOTE" perplexity -m "$M" -f "$T" -c 128 -t 2 --save-logits "$tmp/base.lgt" -o json \
     >"$tmp/base.json" 2>"$tmp/err"; then
  t_ok ppl_save_logits
  # 112-byte header + rows of 8 + 2 * 512 bytes, one per scored token.
  rows=$(val base n_scored)
  size=$(wc -c <"$tmp/base.lgt")
  if [ "$size" -eq $((112 + rows * 1032)) ]; then t_ok ppl_logits_file_size
  else t_fail ppl_logits_file_size "$size bytes for $rows rows"; fi
  grep -q "window 9/9" "$tmp/err" && t_ok ppl_progress || t_fail ppl_progress "$(head -c 300 "$tmp/err")"
else
  t_fail ppl_save_logits "$(head -c 300 "$tmp/err")"
fi

if "$MOTE" perplexity -m "$M" -f "$T" -c 128 -t 2 --kl-base "$tmp/base.lgt" -o json >"$tmp/self.json" 2>"$tmp/err"; then
  if awk -v k="$(val self kld_mean)" -v p="$(val self kld_p99)" -v s="$(val self same_top)" \
       'BEGIN { exit !(k >= 0 && k < 1e-6 && p < 1e-6 && s == 1) }'; then t_ok ppl_self_kl_zero
  else t_fail ppl_self_kl_zero "kld_mean $(val self kld_mean), p99 $(val self kld_p99), same_top $(val self same_top)"; fi
  [ "$(val self ppl)" = "$(val base ppl)" ] && t_ok ppl_deterministic || t_fail ppl_deterministic "$(val self ppl) vs $(val base ppl)"
else
  t_fail ppl_self_kl_zero "$(head -c 300 "$tmp/err")"
fi

if "$MOTE" quantize -q "$M" "$tmp/q4.gguf" q4_0 >/dev/null 2>"$tmp/err" && \
   "$MOTE" perplexity -m "$tmp/q4.gguf" -f "$T" -c 128 -t 2 --kl-base "$tmp/base.lgt" -o json >"$tmp/q4.json" 2>"$tmp/err"; then
  if awk -v k="$(val q4 kld_mean)" -v s="$(val q4 same_top)" -v p="$(val q4 kld_p99)" \
       'BEGIN { exit !(k > 1e-3 && p > k && s < 1 && s > 0.5) }'; then t_ok ppl_quantized_kl_positive
  else t_fail ppl_quantized_kl_positive "kld_mean $(val q4 kld_mean), p99 $(val q4 kld_p99), same_top $(val q4 same_top)"; fi
else
  t_fail ppl_quantized_kl_positive "$(head -c 300 "$tmp/err")"
fi
if "$MOTE" perplexity -m "$M" -f "$T" -c 128 --kl-base "$tmp/base.lgt" >"$tmp/text.out" 2>/dev/null && \
   grep -q '^perplexity: [0-9.]* ± [0-9.]*$' "$tmp/text.out" && grep -q '^bits per byte: ' "$tmp/text.out" && \
   grep -q '^same top token: 100.00%$' "$tmp/text.out"; then t_ok ppl_text_output
else t_fail ppl_text_output "$(head -c 400 "$tmp/text.out")"; fi

# Files that are not a base for this run.
bad ppl_base_other_ctx "pass -c 128" perplexity -m "$M" -f "$T" -c 64 --kl-base "$tmp/base.lgt"
head -c 1500 "$T" >"$tmp/short.txt"
bad ppl_base_other_text "another text" perplexity -m "$M" -f "$tmp/short.txt" -c 128 --kl-base "$tmp/base.lgt"
head -c 5000 "$tmp/base.lgt" >"$tmp/trunc.lgt"
bad ppl_base_truncated "truncated" perplexity -m "$M" -f "$T" -c 128 --kl-base "$tmp/trunc.lgt"
bad ppl_base_not_ours "not a mote logits file" perplexity -m "$M" -f "$T" -c 128 --kl-base "$M"
bad ppl_base_missing "cannot open\|No such file" perplexity -m "$M" -f "$T" -c 128 --kl-base "$tmp/nope.lgt"
# A valid header-only file over a vocabulary of 3 tokens (version 1, window
# 128, BOS flag, 0 tokens, 0 rows).
{ printf 'MOTELGT1\001\000\000\000\003\000\000\000\200\000\000\000\001\000\000\000'
  head -c 88 /dev/zero; } >"$tmp/v3.lgt"
bad ppl_base_other_vocab "vocabulary of 3 tokens" perplexity -m "$M" -f "$T" -c 128 --kl-base "$tmp/v3.lgt"

# --lora: an adapter fine-tuned (8 steps) on this very text lowers its
# perplexity; at scale 0 the result is the base's to the last digit; the
# adapter merged into the weights (mote merge, f32) gives the same
# perplexity within 1e-4.
if "$MOTE" finetune -m "$M" --lora --rank 4 --data "$T" --val-frac 0.2 --val-windows 4 --ctx 64 --batch 4 \
     --steps 8 --warmup 1 --eval-every 8 -t 2 --lr 1e-2 -o "$tmp/lora.gguf" >/dev/null 2>"$tmp/err" && \
   "$MOTE" perplexity -m "$M" -f "$T" -c 128 -t 2 --lora "$tmp/lora.gguf" -o json >"$tmp/lora.json" 2>"$tmp/err" && \
   "$MOTE" perplexity -m "$M" -f "$T" -c 128 -t 2 --lora "$tmp/lora.gguf:0" -o json >"$tmp/lora0.json" 2>"$tmp/err" && \
   "$MOTE" merge -m "$M" --lora "$tmp/lora.gguf" -o "$tmp/merged.gguf" >/dev/null 2>"$tmp/err" && \
   "$MOTE" perplexity -m "$tmp/merged.gguf" -f "$T" -c 128 -t 2 -o json >"$tmp/merged.json" 2>"$tmp/err"; then
  if awk -v l="$(val lora ppl)" -v b="$(val base ppl)" 'BEGIN { exit !(l < 0.95 * b) }'; then t_ok ppl_lora_lowers
  else t_fail ppl_lora_lowers "with the adapter $(val lora ppl), base $(val base ppl)"; fi
  [ "$(val lora0 ppl)" = "$(val base ppl)" ] && t_ok ppl_lora_scale0 || t_fail ppl_lora_scale0 "$(val lora0 ppl) vs $(val base ppl)"
  if awk -v l="$(val lora ppl)" -v m="$(val merged ppl)" 'BEGIN { d = l - m; if (d < 0) d = -d; exit !(d <= 1e-4 * m) }'; then
    t_ok ppl_lora_equals_merged
  else t_fail ppl_lora_equals_merged "adapter $(val lora ppl), merged $(val merged ppl)"; fi
else
  t_fail ppl_lora "$(head -c 300 "$tmp/err")"
fi
bad ppl_lora_missing "nope.gguf" perplexity -m "$M" -f "$T" --lora "$tmp/nope.gguf"

# KV cache bytes: 2 (K, V) x 5 layers x 8 positions x bytes of a row.
for kv in "f32 128" "f16 64" "q8_0 34" "q4_0 18"; do
  set -- $kv
  if "$MOTE" bench -m "$M" -p 8 -n 2 -r 1 -t 1 --bw-mib 16 --kv-type $1 -o json >"$tmp/b.json" 2>/dev/null && \
     grep -q "\"kv_type\": \"$1\", \"kv_bytes\": $((2 * 5 * 8 * $2))," "$tmp/b.json"; then t_ok bench_kv_bytes_$1
  else t_fail bench_kv_bytes_$1 "$(head -c 300 "$tmp/b.json")"; fi
done
if "$MOTE" run -m "$M" -n 4 --temp 0 -c 64 --kv-type q8_0 >/dev/null 2>"$tmp/err" && \
   grep -q "kv cache: q8_0, 0.02 MiB" "$tmp/err"; then t_ok run_kv_type_reported
else t_fail run_kv_type_reported "$(head -c 300 "$tmp/err")"; fi
exit $T_FAILED
