#!/bin/sh
# default_model.sh — reproduce models/mote-tiny.gguf, mote's default model
# (`make default-model`): English text from Debian packages, split into a
# training and a held-out part, a BPE vocabulary trained by `mote vocab
# train`, a small Llama trained by `mote train` with a fixed seed and step
# count, stored as Q8_0 by `mote quantize`; then its held-out bits per byte
# (`mote perplexity`) beside xz -9's on the same bytes.
#
# usage: tools/default_model.sh [BUILD] [WORKDIR]
#   BUILD    the build folder with mote (default build)
#   WORKDIR  corpus, vocab, checkpoints, logs (default BUILD/default-model)
# Environment: STEPS (default 1200), THREADS (default 2),
#   STAGE=corpus|vocab|train|quantize|eval|all (default all).
# The training takes about 1 h of 2 busy cores; it writes a checkpoint
# every 50 steps, and `STAGE=train RESUME=1` continues the last one.
# Needs the packages fortunes, fortunes-min, jargon-text, bible-kjv and
# bible-kjv-text (the `bible` program reads the KJV text); as root it
# installs them with apt-get. Deterministic given the same package versions,
# the same mote and the same thread count.
#
# The model: dim 256, 4 layers, 4 heads (4 KV), FFN 768, vocab 4096, ctx 256
# (5.5M parameters); batch 8 x 256 tokens, 1200 steps (2.5M tokens, about
# one pass over the 2.3M training tokens), AdamW lr 2e-3, warm-up 50,
# cosine to 2e-4, weight decay 0.1, clip 1, seed 1.
set -eu
BUILD=${1:-build}
WORK=${2:-$BUILD/default-model}
MOTE=$BUILD/mote
STEPS=${STEPS:-1200}
THREADS=${THREADS:-2}
STAGE=${STAGE:-all}
OUT=models/mote-tiny.gguf
mkdir -p "$WORK"

need_pkgs() {
    missing=""
    [ -x /usr/bin/bible ] || missing="$missing bible-kjv bible-kjv-text"
    [ -f /usr/share/doc/jargon-text/jargon.txt.gz ] || missing="$missing jargon-text"
    [ -f /usr/share/games/fortunes/fortunes ] || missing="$missing fortunes-min"
    [ -f /usr/share/games/fortunes/computers ] || missing="$missing fortunes"
    [ -z "$missing" ] && return 0
    if [ "$(id -u)" = 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing
    else
        echo "default_model.sh: install these Debian packages first:$missing" >&2
        exit 1
    fi
}

# The KJV Bible (verse numbers kept, indentation dropped), the Jargon File,
# then every fortune file in name order. Paragraphs (blank-line separated)
# are numbered in order; every 20th goes to the held-out text.
corpus() {
    need_pkgs
    LC_ALL=C
    export LC_ALL
    {
        bible -l0 'Gen1:1-Rev22:21' | sed 's/^ *//'
        printf '\n'
        zcat /usr/share/doc/jargon-text/jargon.txt.gz
        printf '\n'
        for f in $(ls /usr/share/games/fortunes | grep -v '\.' | sort); do
            cat "/usr/share/games/fortunes/$f"
            printf '\n'
        done
    } > "$WORK/all.txt"
    awk -v train="$WORK/train.txt" -v val="$WORK/val.txt" 'BEGIN { RS = ""; n = 0 }
        { n++; if (n % 20 == 0) print $0 "\n" > val; else print $0 "\n" > train }' "$WORK/all.txt"
    rm -f "$WORK/all.txt"
    echo "default_model.sh: $(wc -c < "$WORK/train.txt") bytes of training text," \
         "$(wc -c < "$WORK/val.txt") held out" >&2
}

vocab() {
    "$MOTE" vocab train "$WORK/train.txt" --size 4096 --name mote-tiny -o "$WORK/vocab.gguf"
}

train() {
    resume=""
    [ -n "${RESUME:-}" ] && resume="--resume $WORK/mote-tiny-f32.ckpt.gguf"
    # shellcheck disable=SC2086
    "$MOTE" train --data "$WORK/train.txt" --vocab "$WORK/vocab.gguf" \
        --dim 256 --layers 4 --heads 4 --kv-heads 4 --ffn 768 --ctx 256 \
        --batch 8 --steps "$STEPS" --lr 2e-3 --warmup 50 --seed 1 -t "$THREADS" \
        --log-every 10 --checkpoint-every 50 $resume -o "$WORK/mote-tiny-f32.gguf"
}

quantize() {
    mkdir -p models
    "$MOTE" quantize -q "$WORK/mote-tiny-f32.gguf" "$OUT" q8_0
    cp "$WORK/mote-tiny-f32.loss.svg" models/mote-tiny.loss.svg
    echo "default_model.sh: wrote $OUT ($(wc -c < "$OUT") bytes)" >&2
}

# Held-out bits per byte of the F32 and the Q8_0 model (`mote perplexity`:
# windows of BOS + 255 tokens, every token of the text scored), and of xz -9.
evaluate() {
    bytes=$(wc -c < "$WORK/val.txt")
    xzb=$(xz -9 -c "$WORK/val.txt" | wc -c)
    echo "held-out text: $bytes bytes ($WORK/val.txt)"
    for m in "$WORK/mote-tiny-f32.gguf" "$OUT"; do
        echo "  $m: $("$MOTE" perplexity -m "$m" -f "$WORK/val.txt" -t "$THREADS" 2>/dev/null | tr '\n' ' ')"
    done
    awk -v b="$bytes" -v x="$xzb" 'BEGIN { printf "  xz -9: %d bytes, bits per byte %.4f\n", x, x * 8 / b }'
}

case "$STAGE" in
    corpus) corpus ;;
    vocab) vocab ;;
    train) train ;;
    quantize) quantize ;;
    eval) evaluate ;;
    all) corpus; vocab; train; quantize; evaluate ;;
    *) echo "default_model.sh: unknown STAGE '$STAGE'" >&2; exit 2 ;;
esac
