#!/bin/sh
# bench/finetune_demo.sh [BUILD] [OUTDIR] — the fine-tuning result of issue 6:
# ../shared/assets/models/stories260K.gguf (trained on TinyStories) fine-tuned
# on English prose of another kind, the GNU GPL v3 text that Debian installs
# (/usr/share/common-licenses/GPL-3), with its last 10% held out. Three runs
# of the same length: full fine-tuning, LoRA (rank 8, all seven matrices) on
# the F32 base, and LoRA on the base quantized to q8_0 (QLoRA). Prints the
# held-out loss before and after each, and the time; the runs' logs, loss
# curves (OUT.loss.svg, when this build writes them), the fine-tuned model
# and the adapters stay in OUTDIR (default: a temporary folder, removed).
# A few minutes on 2 cores. Environment: STEPS (150), THREADS (2), TEXT.
BUILD=${1:-build}
MOTE="$BUILD/mote"
S=${MOTE_SHARED:-../shared}/assets/models/stories260K.gguf
TEXT=${TEXT:-/usr/share/common-licenses/GPL-3}
STEPS=${STEPS:-150}
T=${THREADS:-2}
[ -x "$MOTE" ] || { echo "finetune_demo: $MOTE is not built (make)"; exit 1; }
[ -f "$S" ] || { echo "finetune_demo: $S is absent"; exit 1; }
[ -f "$TEXT" ] || { echo "finetune_demo: $TEXT is absent (Debian: base-files)"; exit 1; }
if [ -n "$2" ]; then out=$2; mkdir -p "$out"; else out=$(mktemp -d); trap 'rm -rf "$out"' EXIT; fi
common="--data $TEXT --val-frac 0.1 --ctx 128 --batch 16 --steps $STEPS --warmup 10 --eval-every 10 -t $T --log-every 50"

echo "### fine-tuning stories260K on $(basename "$TEXT") ($(wc -c <"$TEXT") bytes, last 10% held out), $STEPS steps of 16 x 128 tokens, $T threads"
echo
echo "| run | trained parameters | held-out loss before | after | time |"
echo "|---|---:|---:|---:|---:|"
run() { # NAME OUT ARGS...
  name=$1 o=$2; shift 2
  t0=$(date +%s.%N)
  if ! "$MOTE" finetune $common -o "$out/$o" "$@" >"$out/$o.log" 2>"$out/$o.err"; then
    echo "| $name | failed: $(head -c 200 "$out/$o.err" | tr '\n' ' ') | | | |"; return
  fi
  t1=$(date +%s.%N)
  params=$(sed -n 's/.*: \([0-9]*\) trained parameters.*/\1/p' "$out/$o.err")
  first=$(awk '/^val step 0 /{print $5}' "$out/$o.log")
  last=$(awk '/^val step /{v=$5} END{print v}' "$out/$o.log")
  echo "| $name | $params | $first | $last | $(awk "BEGIN{printf \"%.0f s\", $t1 - $t0}") |"
}
run "full fine-tuning (lr 1e-3)" full.gguf -m "$S" --lr 1e-3
run "LoRA r8 alpha 16, all 7 matrices (lr 3e-3)" lora.gguf -m "$S" --lora --rank 8 --alpha 16 --lr 3e-3
if "$MOTE" quantize -q "$S" "$out/stories260K-q8_0.gguf" q8_0 >/dev/null 2>&1; then
  run "LoRA on the q8_0 base (QLoRA; lr 3e-3)" lora_q8.gguf -m "$out/stories260K-q8_0.gguf" --lora --rank 8 --alpha 16 --lr 3e-3
fi
echo
prompt="This License"
echo "greedy continuations of \"$prompt\":"
for m in "base|-m $S" "full|-m $out/full.gguf" "LoRA|-m $S --lora $out/lora.gguf"; do
  name=${m%%|*}; args=${m#*|}
  printf '  %-5s %s\n' "$name:" "$("$MOTE" run $args -p "$prompt" -n 40 --temp 0 -t "$T" 2>/dev/null | tr '\n' ' ')"
done
echo
echo "loss curves: $(ls "$out"/*.svg 2>/dev/null | tr '\n' ' ')"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
