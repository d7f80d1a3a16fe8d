#!/bin/sh
# cli_quantize.sh — `mote quantize` and `mote imatrix` end to end: help
# texts, clear errors for bad arguments, and on stories260K (../shared): a
# Q4_K_M mix that says which tensors fell back and why, whose output
# `mote run` generates from; an imatrix collected and used. The library
# tests (test_quantize) check the bytes and the quality.
. tests/lib.sh.inc
if [ ! -x "$MOTE" ]; then t_fail cli_quantize_binary "$MOTE was not built"; exit 1; fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

for c in quantize imatrix; do
  if "$MOTE" $c --help 2>&1 | grep -q "usage: mote $c"; then t_ok "help_$c"; else t_fail "help_$c" "no usage line"; fi
done
if "$MOTE" quantize --help | grep -q "Q4_K_M" && "$MOTE" quantize --help | grep -q "iq4_nl"; then t_ok help_quantize_lists_types
else t_fail help_quantize_lists_types "types or presets missing from --help"; fi

bad() { # NAME EXPECTED-WORD ARGS...
  n=$1; w=$2; shift 2
  "$MOTE" "$@" >"$tmp/out" 2>"$tmp/err"; rc=$?
  if [ $rc -ne 0 ] && [ $rc -lt 128 ] && grep -q -- "$w" "$tmp/err" && [ ! -s "$tmp/out" ]; then t_ok "$n"
  else t_fail "$n" "rc=$rc stderr: $(head -c 300 "$tmp/err")"; fi
}
bad err_quantize_no_args "IN.gguf OUT.gguf TYPE" quantize
bad err_quantize_unknown_option "unknown option" quantize --frob a b c
bad err_quantize_missing_file "cannot open" quantize "$tmp/nope.gguf" "$tmp/o.gguf" q4_0
bad err_quantize_unknown_type "known\|types: f32" quantize "$tmp/nope.gguf" "$tmp/o.gguf" q9_9
bad err_quantize_bad_threads "whole number" quantize -t 0 a b c
bad err_imatrix_no_model "no model" imatrix -f x -o y
bad err_imatrix_no_text "no calibration text" imatrix -m x -o y
bad err_imatrix_no_output "no output" imatrix -m x -f y

if ! have_assets; then t_skip cli_quantize_stories "../shared/assets is absent"; exit 0; fi
M="$SHARED/models/stories260K.gguf"

if "$MOTE" quantize "$M" "$tmp/q.gguf" Q4_K_M -t 2 >"$tmp/out" 2>"$tmp/err"; then t_ok quantize_q4_k_m
else t_fail quantize_q4_k_m "$(tail -c 300 "$tmp/err")"; fi
if grep -q "blk.0.ffn_down.weight.*f32 -> f16.*fallback: rows of 172" "$tmp/err"; then t_ok quantize_says_fallback
else t_fail quantize_says_fallback "no fallback note for ffn_down: $(grep ffn_down "$tmp/err" | head -1)"; fi
if grep -q "^\[  48/48\]" "$tmp/err" && grep -q "wrote $tmp/q.gguf" "$tmp/err" && [ ! -s "$tmp/out" ]; then t_ok quantize_progress_lines
else t_fail quantize_progress_lines "no per-tensor lines or summary on stderr"; fi
if "$MOTE" info "$tmp/q.gguf" | grep -q "general.file_type *= 15"; then t_ok quantize_file_type
else t_fail quantize_file_type "general.file_type is not 15 (Q4_K_M)"; fi
if "$MOTE" run -m "$tmp/q.gguf" -p "Once upon a time" -n 24 --temp 0 >"$tmp/gen" 2>/dev/null && [ "$(wc -c <"$tmp/gen")" -gt 40 ]; then
  t_ok quantized_model_runs
else t_fail quantized_model_runs "mote run on the Q4_K_M file failed"; fi

if "$MOTE" imatrix -m "$M" -f tests/data/quant/calib.txt -o "$tmp/im.gguf" -c 64 --chunks 3 -t 2 2>"$tmp/err" &&
   grep -q "wrote $tmp/im.gguf: 36 matrices, 3 chunks of 64 tokens" "$tmp/err"; then t_ok imatrix_collects
else t_fail imatrix_collects "$(tail -c 300 "$tmp/err")"; fi
if "$MOTE" info "$tmp/im.gguf" | grep -q "blk.4.ffn_down.weight.in_sum2 *f32 *\[172\]"; then t_ok imatrix_layout
else t_fail imatrix_layout "no blk.4.ffn_down.weight.in_sum2 of 172 floats"; fi
if "$MOTE" quantize "$M" "$tmp/qi.gguf" q4_0 --imatrix "$tmp/im.gguf" -q && "$MOTE" run -m "$tmp/qi.gguf" -n 8 --temp 0 >/dev/null 2>&1; then
  t_ok quantize_with_imatrix
else t_fail quantize_with_imatrix "q4_0 with the imatrix failed"; fi
bad err_quantize_not_imatrix "not an importance matrix" quantize "$M" "$tmp/x.gguf" q4_0 --imatrix "$M"
if [ ! -e "$tmp/x.gguf" ]; then t_ok quantize_error_leaves_no_file; else t_fail quantize_error_leaves_no_file "$tmp/x.gguf exists"; fi
exit 0
