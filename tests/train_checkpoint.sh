#!/bin/sh
# train_checkpoint.sh — `mote train` checkpoints, --resume and the loss
# curve, end to end on a tiny model (dim 32, 2 layers, ctx 32, 8 steps)
# with a vocab from `mote vocab train` on the repository's own text:
#   - a run that stops at its step-4 checkpoint and is resumed writes a
#     final model byte-identical to the uninterrupted run's, prints the same
#     loss for steps 5..8, and the same loss curve SVG (so the checkpoint
#     carried the curve);
#   - the checkpoint and the final model load and generate with `mote run`;
#   - the SVG is well-formed XML (python3's parser, when present) with a
#     training polyline, one marker per validation (steps 0, 2, 4, 6, 8)
#     and labelled axes;
#   - bad resumes fail with one line before training: a truncated
#     checkpoint, a plain model (no optimizer state), other training text.
. tests/lib.sh.inc
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cat README.md include/mote.h > "$tmp/text.txt"
if ! "$MOTE" vocab train "$tmp/text.txt" --size 400 -o "$tmp/v.gguf" 2>"$tmp/err"; then
  t_fail train_checkpoint "mote vocab train failed: $(head -c 300 "$tmp/err")"; exit 1
fi
shape="--dim 32 --layers 2 --heads 4 --kv-heads 2 --ffn 64 --ctx 32 --batch 4 --steps 8 --warmup 2 --lr 3e-3 -t 2 --val-frac 0.1 --eval-every 2"
# shellcheck disable=SC2086
"$MOTE" train --data "$tmp/text.txt" --vocab "$tmp/v.gguf" $shape --checkpoint-every 4 \
  --checkpoint "$tmp/c4.gguf" -o "$tmp/a.gguf" >"$tmp/a.log" 2>"$tmp/a.err" || {
  t_fail train_checkpoint "the uninterrupted run failed: $(head -c 300 "$tmp/a.err")"; exit 1; }
# shellcheck disable=SC2086
"$MOTE" train --data "$tmp/text.txt" --vocab "$tmp/v.gguf" $shape --resume "$tmp/c4.gguf" \
  -o "$tmp/b.gguf" >"$tmp/b.log" 2>"$tmp/b.err" || {
  t_fail train_checkpoint "the resumed run failed: $(head -c 300 "$tmp/b.err")"; exit 1; }
if cmp -s "$tmp/a.gguf" "$tmp/b.gguf"; then t_ok "train_checkpoint resume gives a bit-identical model"
else t_fail "train_checkpoint resume gives a bit-identical model" "a.gguf and b.gguf differ"; fi
losses() { grep '^step [5-8]/8' "$1" | awk '{print $2, $4}'; }
if [ "$(losses "$tmp/a.log")" = "$(losses "$tmp/b.log")" ] && [ -n "$(losses "$tmp/b.log")" ] \
   && ! grep -q '^step [1-4]/' "$tmp/b.log"; then
  t_ok "train_checkpoint resumed losses of steps 5-8 equal the uninterrupted run's"
else
  t_fail "train_checkpoint resumed losses of steps 5-8 equal the uninterrupted run's" \
    "$(losses "$tmp/a.log" | tr '\n' ' ') vs $(losses "$tmp/b.log" | tr '\n' ' ')"
fi
if [ -f "$tmp/a.loss.svg" ] && [ -f "$tmp/b.loss.svg" ] && \
   [ "$(grep -v '<text x="360"' "$tmp/a.loss.svg")" = "$(grep -v '<text x="360"' "$tmp/b.loss.svg")" ]; then
  t_ok "train_checkpoint the resumed run's loss curve equals the uninterrupted one"
else
  t_fail "train_checkpoint the resumed run's loss curve equals the uninterrupted one" "SVGs differ or are missing"
fi
for m in c4 b; do
  if "$MOTE" run -m "$tmp/$m.gguf" -n 8 -p "The" --seed 1 >"$tmp/run.out" 2>"$tmp/run.err"; then
    t_ok "train_checkpoint mote run loads $m.gguf"
  else
    t_fail "train_checkpoint mote run loads $m.gguf" "$(head -c 200 "$tmp/run.err")"
  fi
done
# the SVG
svg="$tmp/a.loss.svg"
n_markers=$(grep -c '<circle' "$svg")
# legend marker + 5 validation points
if [ "$n_markers" -eq 6 ] && grep -q '<polyline fill="none" stroke="#1f77b4"' "$svg" && \
   grep -q '>step</text>' "$svg" && grep -q 'loss (nats per token)' "$svg"; then
  t_ok "train_checkpoint loss SVG has the curves, markers and axis labels"
else
  t_fail "train_checkpoint loss SVG has the curves, markers and axis labels" "$n_markers circles"
fi
if command -v python3 >/dev/null 2>&1; then
  if python3 -c 'import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])' "$svg" 2>"$tmp/xml.err"; then
    t_ok "train_checkpoint loss SVG is well-formed XML"
  else
    t_fail "train_checkpoint loss SVG is well-formed XML" "$(head -c 200 "$tmp/xml.err")"
  fi
else
  t_skip "train_checkpoint loss SVG is well-formed XML" "no python3"
fi
# bad resumes: one line, non-zero, no output written
bad() { # NAME EXPECTED-WORDS ARGS...
  name=$1 want=$2; shift 2
  rm -f "$tmp/bad.gguf"
  if "$MOTE" train -o "$tmp/bad.gguf" -t 2 "$@" >/dev/null 2>"$tmp/bad.err"; then
    t_fail "train_checkpoint $name" "accepted"
  elif [ "$(wc -l <"$tmp/bad.err")" -le 2 ] && grep -q "$want" "$tmp/bad.err" && [ ! -f "$tmp/bad.gguf" ]; then
    t_ok "train_checkpoint $name"
  else
    t_fail "train_checkpoint $name" "$(head -c 300 "$tmp/bad.err")"
  fi
}
head -c 20000 "$tmp/c4.gguf" >"$tmp/trunc.gguf"
bad "a truncated checkpoint is refused" "trunc.gguf" --data "$tmp/text.txt" --resume "$tmp/trunc.gguf"
bad "a plain model is no checkpoint" "not a training checkpoint" --data "$tmp/text.txt" --resume "$tmp/a.gguf"
head -c 30000 "$tmp/text.txt" >"$tmp/other.txt"
bad "other training text is refused" "other training text" --data "$tmp/other.txt" --val-frac 0.1 --resume "$tmp/c4.gguf"
exit $T_FAILED
