#!/bin/sh
# default_model.sh — mote's default model, models/mote-tiny.gguf (made by
# `make default-model`, tools/default_model.sh), and its embedding in the
# mote binary:
#   - its shape is what the README and `mote run --help` say (dim 256,
#     4 layers, vocab 4096, ctx 256: multiples of 256 everywhere), stored as
#     Q8_0, and the file stays small (< 8 MB);
#   - `mote run` without -m, from another directory, generates with the
#     built-in copy, and greedy output equals `mote run -m
#     models/mote-tiny.gguf` byte for byte;
#   - on a held-out sample never trained on (tests/data/default_model/
#     heldout.txt: 3.9 KB of the held-out part of the corpus, Bible, Jargon
#     File and fortunes) it scores under 2.2 bits per byte (`mote
#     perplexity`); xz -9 needs 4.24 on this sample and 2.41 on the whole
#     held-out text.
# Skips when models/mote-tiny.gguf is absent (a checkout without it).
. tests/lib.sh.inc
M=models/mote-tiny.gguf
if [ ! -f "$M" ]; then t_skip default_model "$M is absent"; exit 0; fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
case "$MOTE" in /*) BIN=$MOTE ;; *) BIN=$(pwd)/$MOTE ;; esac

"$MOTE" info "$M" >"$tmp/info" 2>&1
size=$(wc -c <"$M")
if grep -q 'llama.embedding_length *= 256$' "$tmp/info" && grep -q 'llama.block_count *= 4$' "$tmp/info" &&
   grep -q 'llama.context_length *= 256$' "$tmp/info" && grep -q 'llama.feed_forward_length *= 768$' "$tmp/info" &&
   grep -q 'general.file_type *= 7$' "$tmp/info" && grep -q '(4096 items)' "$tmp/info" && [ "$size" -lt 8000000 ]; then
  t_ok "default_model shape dim 256, 4 layers, ffn 768, ctx 256, vocab 4096, q8_0, $size bytes"
else
  t_fail "default_model shape" "$(head -c 300 "$tmp/info"), $size bytes"
fi

if (cd "$tmp" && "$BIN" run -n 32 -p "And God said" --temp 0 -t 2 >"$tmp/builtin.txt" 2>"$tmp/builtin.err") &&
   "$MOTE" run -m "$M" -n 32 -p "And God said" --temp 0 -t 2 >"$tmp/file.txt" 2>"$tmp/file.err"; then
  if cmp -s "$tmp/builtin.txt" "$tmp/file.txt" && [ "$(wc -c <"$tmp/builtin.txt")" -gt 40 ]; then
    t_ok "default_model mote run without -m uses the built-in copy (greedy text equals the file's)"
  else
    t_fail "default_model mote run without -m uses the built-in copy" \
      "'$(head -c 100 "$tmp/builtin.txt")' vs '$(head -c 100 "$tmp/file.txt")'"
  fi
else
  t_fail "default_model mote run without -m uses the built-in copy" "$(head -c 300 "$tmp/builtin.err" "$tmp/file.err")"
fi

if "$MOTE" perplexity -m "$M" -f tests/data/default_model/heldout.txt -t 2 >"$tmp/ppl" 2>"$tmp/ppl.err"; then
  bpb=$(sed -n 's/^bits per byte: \([0-9.]*\).*/\1/p' "$tmp/ppl")
  if [ -n "$bpb" ] && awk -v b="$bpb" 'BEGIN { exit !(b < 2.2) }'; then
    t_ok "default_model held-out sample: $bpb bits per byte (< 2.2; xz -9: 4.24 here, 2.41 on all held-out text)"
  else
    t_fail "default_model held-out sample under 2.2 bits per byte" "got '$bpb': $(cat "$tmp/ppl")"
  fi
else
  t_fail "default_model held-out sample under 2.2 bits per byte" "$(head -c 300 "$tmp/ppl.err")"
fi
exit $T_FAILED
