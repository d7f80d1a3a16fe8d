#!/bin/sh
# bench/quant_report.sh BUILD — `make quant-report`: what each quantization
# type costs a model, as one Markdown table (stdout and BUILD/quant-report.md):
# type, bits per weight, file size, perplexity on held-out text (± its
# standard error), mean KL divergence from the unquantized model's
# predictions, the share of positions whose most likely token is unchanged,
# and generation speed (`mote bench` tg, median).
#
# For each type whose block divides the model's embedding width (so that
# most matrices take it; rows that still do not fit, like stories260K's
# 172-wide ffn_down, fall back as `mote quantize` reports on stderr) the
# model is written by `mote quantize` and scored by `mote perplexity
# --kl-base` against the logits the model as given saved on the same text.
# With K-quants fitting, llama.cpp's mixes Q3_K_M, Q4_K_M, Q5_K_M too; for
# the 4-bit-and-below types, rows calibrated with an importance matrix
# (`mote imatrix` on CALIB) and with AWQ are added. A second table: the KV
# cache types (--kv-type) on the model as given.
#
# Environment:
#   MODEL    the model (default: models/mote-tiny.gguf when it exists, else
#            ../shared/assets/models/stories260K.gguf)
#   TEXT     held-out text (default: tests/data/default_model/heldout.txt for
#            mote-tiny, never trained on; else tests/data/quant/heldout.txt)
#   CALIB    calibration text for imatrix/AWQ (default tests/data/quant/calib.txt;
#            CALIB= skips the calibrated rows)
#   CTX      perplexity window (default 128), THREADS (default 2),
#   TG       tokens generated per bench repetition (default 128), REPS (5)
#   GEN_THREADS  threads of the generation column (default 1: for models
#            this small, waking a second thread for every token costs more
#            than it saves)
#   TYPES    override the list of types
# A benchmark, not a test: speeds depend on what else the machine does.
BUILD=${1:-build}
MOTE="$BUILD/mote"
SHARED=${MOTE_SHARED:-../shared}
if [ -z "${MODEL:-}" ]; then
  if [ -f models/mote-tiny.gguf ]; then MODEL=models/mote-tiny.gguf
  else MODEL=$SHARED/assets/models/stories260K.gguf; fi
fi
if [ -z "${TEXT:-}" ]; then
  # mote's default model has a held-out sample of its own corpus
  case "$MODEL" in
    *mote-tiny.gguf) TEXT=tests/data/default_model/heldout.txt ;;
    *) TEXT=tests/data/quant/heldout.txt ;;
  esac
fi
CALIB=${CALIB-tests/data/quant/calib.txt}
CTX=${CTX:-128}
THREADS=${THREADS:-2}
TG=${TG:-128}
REPS=${REPS:-5}
GEN_THREADS=${GEN_THREADS:-1}
OUT="$BUILD/quant-report.md"
WORK="$BUILD/quant-report"
[ -x "$MOTE" ] || { echo "quant-report: $MOTE is not built (make)" >&2; exit 1; }
[ -f "$MODEL" ] || { echo "quant-report: $MODEL: no such model (set MODEL=...)" >&2; exit 1; }
[ -f "$TEXT" ] || { echo "quant-report: $TEXT: no such text (set TEXT=...)" >&2; exit 1; }
mkdir -p "$WORK" || exit 1
name=$(basename "$MODEL" .gguf)

# The value of KEY in a one-line JSON object FILE.
jv() { sed -n 's/.*"'"$2"'": \([^,}]*\).*/\1/p' "$1" | head -1 | tr -d '"'; }
# n_embd of the model.
embd=$("$MOTE" info "$MODEL" | sed -n 's/^llama\.embedding_length *= *\([0-9]*\).*/\1/p')
[ -n "$embd" ] || { echo "quant-report: cannot read llama.embedding_length of $MODEL" >&2; exit 1; }

if [ -z "${TYPES:-}" ]; then
  TYPES=""
  for tb in f16:1 bf16:1 q8_0:32 q6_K:256 q5_K:256 q5_1:32 q5_0:32 Q5_K_M:256 q4_K:256 Q4_K_M:256 \
            q4_1:32 q4_0:32 iq4_nl:32 q3_K:256 Q3_K_M:256 q2_K:256 tq2_0:256 tq1_0:256; do
    t=${tb%%:*}; b=${tb#*:}
    [ $((embd % b)) -eq 0 ] && TYPES="$TYPES $t"
  done
fi
# Types of 4 bits and below get calibrated rows too.
low_bits() { case "$1" in q4_*|iq4_nl|q3_K|q2_K|Q4_K_M|Q3_K_M) return 0 ;; *) return 1 ;; esac; }

echo "quant-report: $MODEL (embedding width $embd), text $TEXT, window $CTX, $THREADS threads" >&2
echo "quant-report: types:$TYPES" >&2
if ! "$MOTE" perplexity -m "$MODEL" -f "$TEXT" -c "$CTX" -t "$THREADS" --save-logits "$WORK/base.lgt" \
     -o json >"$WORK/base.json" 2>"$WORK/base.err"; then
  echo "quant-report: perplexity of $MODEL failed: $(tail -n 2 "$WORK/base.err")" >&2; exit 1
fi
imatrix=""
if [ -n "$CALIB" ] && [ -f "$CALIB" ]; then
  if "$MOTE" imatrix -m "$MODEL" -f "$CALIB" -c "$CTX" -t "$THREADS" -q -o "$WORK/imatrix.gguf" >/dev/null 2>"$WORK/imatrix.err"; then
    imatrix="$WORK/imatrix.gguf"
  else
    echo "quant-report: mote imatrix failed (no calibrated rows): $(tail -n 1 "$WORK/imatrix.err")" >&2
  fi
fi

# row LABEL FILE [--kl-base]: one table row for the model FILE.
row() {
  label=$1; f=$2; kl=$3
  if ! "$MOTE" perplexity -m "$f" -f "$TEXT" -c "$CTX" -t "$THREADS" $kl -o json >"$WORK/p.json" 2>"$WORK/p.err"; then
    echo "quant-report: $label: perplexity failed: $(tail -n 1 "$WORK/p.err")" >&2; return
  fi
  if ! "$MOTE" bench -m "$f" -p 0 -n "$TG" -r "$REPS" -t "$GEN_THREADS" --bw-mib 64 -o json >"$WORK/b.json" 2>"$WORK/b.err"; then
    echo "quant-report: $label: bench failed: $(tail -n 1 "$WORK/b.err")" >&2; return
  fi
  bytes=$(wc -c <"$f")
  [ "$label" = BASE ] && label="$(jv "$WORK/b.json" type) (as given)"
  awk -v label="$label" -v bytes="$bytes" -v wbytes="$(jv "$WORK/b.json" model_size)" \
      -v params="$(jv "$WORK/b.json" n_params)" -v ppl="$(jv "$WORK/p.json" ppl)" \
      -v err="$(jv "$WORK/p.json" ppl_err)" -v kld="$(jv "$WORK/p.json" kld_mean)" \
      -v same="$(jv "$WORK/p.json" same_top)" -v tps="$(jv "$WORK/b.json" tokens_per_s)" 'BEGIN {
        size = bytes >= 1048576 ? sprintf("%.2f MiB", bytes / 1048576) : sprintf("%.1f KiB", bytes / 1024)
        printf "| %s | %.2f | %s | %.4f ± %.4f | %s | %s | %.1f |\n", label, 8 * wbytes / params, size,
               ppl, err, kld == "" ? "0 (base)" : sprintf("%.6f", kld),
               same == "" ? "100 (base)" : sprintf("%.2f", 100 * same), tps }' >>"$WORK/rows.md"
  echo "quant-report: $label done" >&2
}

: >"$WORK/rows.md"
row BASE "$MODEL" ""
for t in $TYPES; do
  variants="plain"
  if low_bits "$t"; then
    [ -n "$imatrix" ] && variants="$variants imatrix"
    [ -n "$CALIB" ] && [ -f "$CALIB" ] && variants="$variants awq"
  fi
  for v in $variants; do
    q="$WORK/$name-$t-$v.gguf"
    case $v in
      plain) args=""; label=$t ;;
      imatrix) args="--imatrix $imatrix"; label="$t + imatrix" ;;
      awq) args="--awq $CALIB"; label="$t + AWQ" ;;
    esac
    if ! "$MOTE" quantize -q -t "$THREADS" $args "$MODEL" "$q" "$t" >"$WORK/q.out" 2>"$WORK/q.err"; then
      echo "quant-report: $label: mote quantize failed: $(tail -n 1 "$WORK/q.err")" >&2; continue
    fi
    row "$label" "$q" "--kl-base $WORK/base.lgt"
    rm -f "$q"
  done
done

# The KV cache types on the model as given: the cache's bytes at this
# window (from mote bench's kv_bytes, the same n_ctx) and the damage.
: >"$WORK/kv.md"
for kv in f32 f16 q8_0 q4_0; do
  if "$MOTE" perplexity -m "$MODEL" -f "$TEXT" -c "$CTX" -t "$THREADS" --kv-type $kv --kl-base "$WORK/base.lgt" \
       -o json >"$WORK/p.json" 2>"$WORK/p.err" && \
     "$MOTE" bench -m "$MODEL" -p "$CTX" -n 0 -r 1 -t "$THREADS" --bw-mib 16 --kv-type $kv -o json >"$WORK/b.json" 2>/dev/null; then
    awk -v kv=$kv -v bytes="$(jv "$WORK/b.json" kv_bytes)" -v ppl="$(jv "$WORK/p.json" ppl)" \
        -v err="$(jv "$WORK/p.json" ppl_err)" -v kld="$(jv "$WORK/p.json" kld_mean)" \
        -v same="$(jv "$WORK/p.json" same_top)" 'BEGIN {
          printf "| %s | %.1f KiB | %.4f ± %.4f | %.6f | %.2f |\n", kv, bytes / 1024, ppl, err, kld, 100 * same }' >>"$WORK/kv.md"
  else
    echo "quant-report: KV cache $kv: $(tail -n 1 "$WORK/p.err")" >&2
  fi
done

{
  echo "## Quantization report: $name"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -m), load average $(cut -d' ' -f1 /proc/loadavg 2>/dev/null). Held-out text: $TEXT ($(wc -c <"$TEXT") bytes," \
       "$(jv "$WORK/base.json" n_scored) tokens scored in windows of $CTX, BOS + $((CTX - 1)) text tokens each, every token scored)." \
       "KLD: mean KL(model as given || quantized) per token; same top: positions whose most likely token is unchanged." \
       "Bits per weight: tensor bytes x 8 / parameters (norms included). Generation: \`mote bench -p 0 -n $TG -r $REPS -t $GEN_THREADS\` median."
  echo
  echo "| type | bits/weight | file size | perplexity | KLD mean | same top % | generation t/s |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
  cat "$WORK/rows.md"
  echo
  echo "KV cache types (\`--kv-type\`) on the model as given, cache of $CTX positions:"
  echo
  echo "| KV cache | bytes | perplexity | KLD mean | same top % |"
  echo "| --- | ---: | ---: | ---: | ---: |"
  cat "$WORK/kv.md"
} >"$OUT"
cat "$OUT"
