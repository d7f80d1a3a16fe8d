#!/bin/sh
# cli_run.sh — the mote command line end to end: the golden 256-token greedy
# text of stories260K byte for byte, the golden prompt encodings through
# `mote tokenize`, --dump-logits rows, and clear errors for bad arguments.
. tests/lib.sh.inc
if [ ! -x "$MOTE" ]; then t_fail cli_binary "$MOTE was not built"; exit 1; fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# Every subcommand has --help that exits 0 and prints a usage line.
for c in run info tokenize; do
  if "$MOTE" $c --help 2>&1 | grep -q "usage: mote $c"; then t_ok "help_$c"; else t_fail "help_$c" "no usage line"; fi
done

# Bad arguments: non-zero exit, one clear line on stderr, nothing on stdout.
bad() { # NAME EXPECTED-WORD ARGS...
  n=$1; w=$2; shift 2
  "$MOTE" "$@" >"$tmp/out" 2>"$tmp/err"; rc=$?
  if [ $rc -ne 0 ] && [ $rc -lt 128 ] && grep -q -- "$w" "$tmp/err" && [ ! -s "$tmp/out" ]; then t_ok "$n"
  else t_fail "$n" "rc=$rc stderr: $(head -c 300 "$tmp/err")"; fi
}
bad err_unknown_command "unknown command" frobnicate
# (mote run without -m runs the built-in default model when the build has one: tests/default_model.sh)
[ -f models/mote-tiny.gguf ] || bad err_run_no_model "no model" run
bad err_run_missing_file "cannot open" run -m "$tmp/nope.gguf"
bad err_run_bad_number "whole number" run -m x -n abc
bad err_run_bad_temp "--temp" run -m x --temp -1
bad err_run_unknown_flag "unknown option" run --frob
bad err_run_flag_needs_value "needs a value" run -m
bad err_info_no_file "no file" info
bad err_info_not_gguf "magic" info tests/run.sh
bad err_tokenize_no_text "no text" tokenize -m x

if ! have_assets; then t_skip cli_golden "../shared/assets is absent"; exit 0; fi
M="$SHARED/models/stories260K.gguf"

# The golden text: greedy, 256 tokens from BOS alone, byte for byte.
if "$MOTE" run -m "$M" --temp 0 -n 256 >"$tmp/gen.txt" 2>"$tmp/gen.err" && cmp -s "$tmp/gen.txt" "$SHARED/models/stories260K.greedy-256.txt"; then
  t_ok run_greedy_256_golden
else
  t_fail run_greedy_256_golden "output differs from stories260K.greedy-256.txt: $(cmp "$tmp/gen.txt" "$SHARED/models/stories260K.greedy-256.txt" 2>&1 | head -1)"
fi
if grep -q "tokens/s" "$tmp/gen.err"; then t_ok run_prints_speed; else t_fail run_prints_speed "no tokens/s on stderr"; fi

# The golden prompt encodings through `mote tokenize` (BOS added).
grep '^ENCODE' "$SHARED/models/stories260K.golden-ids.txt" | while IFS= read -r line; do
  text=$(printf '%s\n' "$line" | sed 's/^ENCODE bos=1 eos=0 "\(.*\)" -> .*$/\1/')
  want=$(printf '%s\n' "$line" | sed 's/^.* -> //')
  got=$("$MOTE" tokenize -m "$M" "$text" 2>&1)
  if [ "$got" = "$want" ]; then t_ok "tokenize_golden \"$text\""; else t_fail "tokenize_golden \"$text\"" "got '$got' want '$want'"; fi
done
printf 'Once upon a time' > "$tmp/p.txt"
got=$("$MOTE" tokenize -m "$M" --no-bos -f "$tmp/p.txt")
if [ "$got" = "403 407 261 378" ]; then t_ok tokenize_file_no_bos; else t_fail tokenize_file_no_bos "got '$got'"; fi

# --dump-logits: (prompt + generated) rows of n_vocab float32, and the
# prompt given as text or as ids evaluates the same.
"$MOTE" run -m "$M" -p "Once upon a time" -n 3 --temp 0 --dump-logits "$tmp/a.bin" >"$tmp/a.txt" 2>/dev/null
"$MOTE" run -m "$M" --prompt-ids "1 403 407 261 378" -n 3 --temp 0 --dump-logits "$tmp/b.bin" >"$tmp/b.txt" 2>/dev/null
size=$(wc -c <"$tmp/a.bin")
if [ "$size" -eq $(( (5 + 3) * 512 * 4 )) ]; then t_ok dump_logits_rows; else t_fail dump_logits_rows "size $size, want $(( 8 * 2048 ))"; fi
if cmp -s "$tmp/a.bin" "$tmp/b.bin" && cmp -s "$tmp/a.txt" "$tmp/b.txt"; then t_ok prompt_text_equals_ids; else t_fail prompt_text_equals_ids "text and ids prompts differ"; fi
if head -c 16 "$tmp/a.txt" | grep -q "^Once upon a time"; then t_ok run_echoes_prompt; else t_fail run_echoes_prompt "$(head -c 40 "$tmp/a.txt")"; fi

# Same seed, same text; sampling at temperature 1 runs.
"$MOTE" run -m "$M" -n 40 --temp 1 --seed 5 >"$tmp/s1.txt" 2>/dev/null
"$MOTE" run -m "$M" -n 40 --temp 1 --seed 5 >"$tmp/s2.txt" 2>/dev/null
if [ -s "$tmp/s1.txt" ] && cmp -s "$tmp/s1.txt" "$tmp/s2.txt"; then t_ok run_seed_repeatable; else t_fail run_seed_repeatable "two runs with --seed 5 differ"; fi

# A prompt longer than the context is an error, not a truncation.
bad err_prompt_longer_than_ctx "context" run -m "$M" -c 4 -p "Once upon a time there was"
bad err_prompt_id_out_of_range "out of range" run -m "$M" --prompt-ids "1 600"
bad err_tokenize_missing_vocab "cannot open" tokenize -m "$tmp/nope.gguf" hi
bad err_tokenize_not_gguf "not a GGUF file" tokenize -m tests/run.sh hi
# A valid GGUF v3 with one key (general.architecture = "llama") and no
# tokenizer.* keys: written byte by byte so the test does not depend on our
# own writer.
{
  printf 'GGUF\003\000\000\000'                        # magic, version 3
  printf '\000\000\000\000\000\000\000\000'        # n_tensors = 0
  printf '\001\000\000\000\000\000\000\000'        # n_kv = 1
  printf '\024\000\000\000\000\000\000\000general.architecture'
  printf '\010\000\000\000'                            # type 8 = string
  printf '\005\000\000\000\000\000\000\000llama'
} >"$tmp/novocab.gguf"
bad err_tokenize_model_without_vocab "tokenizer" tokenize -m "$tmp/novocab.gguf" hi

# info on the real model: the tensor table.
if "$MOTE" info "$M" >"$tmp/info.txt" 2>&1 && grep -q "token_embd.weight" "$tmp/info.txt" && grep -q "48 tensors" "$tmp/info.txt"; then t_ok info_table; else t_fail info_table "$(head -3 "$tmp/info.txt")"; fi
exit $T_FAILED
