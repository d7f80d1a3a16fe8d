#!/bin/sh
# bench/train.sh BUILD — training speed (`make bench`, through bench/run.sh):
# `mote train` tokens/s with BENCH_THREADS (default 2) threads, F32, AdamW,
# for three shapes, each the median of the per-step figures after the
# first step (which allocates the activations):
#   - mote's default model: dim 256, 4 layers, 4 heads (4 KV), FFN 768,
#     vocab 4096, ctx 256, batch 8;
#   - shape A of issue 6: dim 256, 6 layers, 8 heads, 4 KV heads, FFN 768,
#     vocab 4096, ctx 256, batch 8 (target >= 2,700 tokens/s on 2 threads);
#   - stories260K's shape: dim 64, 5 layers, 8 heads, 4 KV heads, FFN 172,
#     vocab 512, ctx 256, batch 16 (target >= 9,000 tokens/s).
# The text is the repository's own (README and sources); the 4096-token
# vocab is the default model's (models/mote-tiny.gguf), the 512-token one
# stories260K's (../shared; that row is skipped without it). A benchmark:
# figures depend on what else the machine runs.
BUILD=${1:-build}
MOTE="$BUILD/mote"
T=${BENCH_THREADS:-2}
S=${MOTE_SHARED:-../shared}/assets/models/stories260K.gguf
V4096=${BENCH_VOCAB:-models/mote-tiny.gguf}
[ -x "$MOTE" ] || { echo "bench/train: $MOTE is not built (make)"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cat README.md include/*.h src/*/*.c > "$tmp/text.txt"

echo "### training: mote train tokens/s, $T threads, F32 + AdamW (median of steps 2..N)"
echo
echo "| shape | parameters | batch x ctx | tokens/s | target |"
echo "|---|---:|---|---:|---:|"
# row NAME VOCAB STEPS TARGET ARGS...
row() {
  name=$1 vocab=$2 steps=$3 target=$4; shift 4
  if [ ! -f "$vocab" ]; then echo "| $name | | | skipped: $vocab is absent | $target |"; return; fi
  if ! "$MOTE" train --data "$tmp/text.txt" --vocab "$vocab" --steps "$steps" --warmup 1 -t "$T" \
       --log-every 1 -o "$tmp/m.gguf" "$@" >"$tmp/log" 2>"$tmp/err"; then
    echo "| $name | | | failed: $(head -c 200 "$tmp/err" | tr '\n' ' ') | $target |"; return
  fi
  params=$(sed -n 's/.*: \([0-9]*\) parameters.*/\1/p' "$tmp/err")
  bt=$(sed -n 's/.*; batch \([0-9]*\) x \([0-9]*\) x.*/\1 x \2/p' "$tmp/err")
  med=$(sed -n 's/^step \([0-9]*\)\/[0-9]* .* \([0-9.]*\) tok\/s.*/\1 \2/p' "$tmp/log" | awk '$1 > 1 {print $2}' |
        sort -n | awk '{v[NR]=$1} END {if (NR) printf "%.0f", (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}')
  echo "| $name | $params | $bt | $med | $target |"
}
row "default model (dim 256, 4 layers)" "$V4096" 9 "" \
  --dim 256 --layers 4 --heads 4 --kv-heads 4 --ffn 768 --ctx 256 --batch 8
row "shape A (dim 256, 6 layers, GQA 8/4)" "$V4096" 9 ">= 2700" \
  --dim 256 --layers 6 --heads 8 --kv-heads 4 --ffn 768 --ctx 256 --batch 8
row "stories260K shape (dim 64, 5 layers)" "$S" 21 ">= 9000" \
  --dim 64 --layers 5 --heads 8 --kv-heads 4 --ffn 172 --ctx 256 --batch 16
# LoRA rank 8 on all seven matrices of shape A (mote finetune --lora; the
# F32 base is one step of mote train in that shape)
name="LoRA r8, all 7 matrices, on shape A"
if [ ! -f "$V4096" ]; then echo "| $name | | | skipped: $V4096 is absent | >= 2600 |"
elif ! "$MOTE" train --data "$tmp/text.txt" --vocab "$V4096" --steps 1 --warmup 0 -t "$T" -o "$tmp/a.gguf" \
       --dim 256 --layers 6 --heads 8 --kv-heads 4 --ffn 768 --ctx 256 --batch 1 >/dev/null 2>"$tmp/err" ||
     ! "$MOTE" finetune -m "$tmp/a.gguf" --lora --rank 8 --data "$tmp/text.txt" --ctx 256 --batch 8 --steps 9 \
       --warmup 1 -t "$T" --log-every 1 -o "$tmp/a_lora.gguf" >"$tmp/log" 2>"$tmp/err"; then
  echo "| $name | | | failed: $(head -c 200 "$tmp/err" | tr '\n' ' ') | >= 2600 |"
else
  params=$(sed -n 's/.*: \([0-9]*\) trained parameters.*/\1/p' "$tmp/err")
  med=$(sed -n 's/^step \([0-9]*\)\/[0-9]* .* \([0-9.]*\) tok\/s.*/\1 \2/p' "$tmp/log" | awk '$1 > 1 {print $2}' |
        sort -n | awk '{v[NR]=$1} END {if (NR) printf "%.0f", (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}')
  echo "| $name | $params (adapters) | 8 x 256 | $med | >= 2600 |"
fi
echo
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
