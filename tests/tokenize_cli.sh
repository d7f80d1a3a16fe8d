#!/bin/sh
# tokenize_cli.sh — `mote tokenize` end to end for every tokenizer family:
# --check against llama.cpp's vectors (passes on a real vector file, fails
# with the first mismatch on an edited one), --parse-special, the BOS/CLS/SEP
# framing, and clear errors for bad --check arguments.
. tests/lib.sh.inc
if [ ! -x "$MOTE" ]; then t_fail tokenize_cli_binary "$MOTE was not built"; exit 1; fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

if "$MOTE" tokenize --help | grep -q -- "--parse-special" && "$MOTE" tokenize --help | grep -q -- "--check INP OUT"; then
  t_ok tokenize_help_options
else
  t_fail tokenize_help_options "--help does not describe --parse-special and --check"
fi
"$MOTE" tokenize -m x --check a b "text" >/dev/null 2>"$tmp/err"; rc=$?
if [ $rc -eq 2 ] && grep -q "takes no text" "$tmp/err"; then t_ok tokenize_check_with_text; else t_fail tokenize_check_with_text "rc=$rc $(cat "$tmp/err")"; fi

V=$SHARED/vocab
if [ ! -f "$V/ggml-vocab-gpt-2.gguf" ]; then t_skip tokenize_cli_vectors "$V is absent"; exit 0; fi

# Every vocab with vectors passes --check (exit 0, "N/N").
for f in "$V"/ggml-vocab-*.gguf.inp; do
  g=${f%.inp}; n=$(basename "$g" .gguf)
  if "$MOTE" tokenize -m "$g" --check "$f" "$g.out" >"$tmp/out" 2>&1 && grep -Eq " ([0-9]+)/\1 strings tokenize" "$tmp/out"; then
    t_ok "tokenize_check_$n"
  else
    t_fail "tokenize_check_$n" "$(head -3 "$tmp/out")"
  fi
done

# An edited .out fails (exit 1) and names the string.
sed '12s/^ 15496 /15497 /' "$V/ggml-vocab-gpt-2.gguf.out" >"$tmp/bad.out"
"$MOTE" tokenize -m "$V/ggml-vocab-gpt-2.gguf" --check "$V/ggml-vocab-gpt-2.gguf.inp" "$tmp/bad.out" >"$tmp/out" 2>&1; rc=$?
if [ $rc -eq 1 ] && grep -q "45/46" "$tmp/out" && grep -q "first mismatch: string 11" "$tmp/out"; then t_ok tokenize_check_detects_mismatch
else t_fail tokenize_check_detects_mismatch "rc=$rc $(head -3 "$tmp/out")"; fi
"$MOTE" tokenize -m "$V/ggml-vocab-gpt-2.gguf" --check "$tmp/none.inp" "$tmp/bad.out" >/dev/null 2>"$tmp/err"; rc=$?
if [ $rc -eq 1 ] && grep -q "none.inp" "$tmp/err"; then t_ok tokenize_check_missing_file; else t_fail tokenize_check_missing_file "rc=$rc $(cat "$tmp/err")"; fi

# Special tokens: parsed only when asked.
got=$("$MOTE" tokenize -m "$V/ggml-vocab-gpt-2.gguf" --no-bos --parse-special "a<|endoftext|>b")
[ "$got" = "64 50256 65" ] && t_ok tokenize_parse_special || t_fail tokenize_parse_special "got '$got'"
got=$("$MOTE" tokenize -m "$V/ggml-vocab-gpt-2.gguf" --no-bos "<|endoftext|>")
case " $got " in *" 50256 "*) t_fail tokenize_special_as_text "got '$got'";; *) t_ok tokenize_special_as_text;; esac
# WordPiece framing: [CLS] ... [SEP] unless --no-bos.
got=$("$MOTE" tokenize -m "$V/ggml-vocab-bert-bge.gguf" "Hello world")
[ "$got" = "101 7592 2088 102" ] && t_ok tokenize_bert_cls_sep || t_fail tokenize_bert_cls_sep "got '$got'"
got=$("$MOTE" tokenize -m "$V/ggml-vocab-bert-bge.gguf" --no-bos "Hello world")
[ "$got" = "7592 2088" ] && t_ok tokenize_bert_no_special || t_fail tokenize_bert_no_special "got '$got'"
exit $T_FAILED
