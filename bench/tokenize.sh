#!/bin/sh
# bench/tokenize.sh BUILD [VOCAB.gguf ...] — tokenizer speed: MB/s of
# `mote tokenize` on ~1 MiB of English text, median of 5 runs per vocab.
# A benchmark, not a test; run it on a quiet machine.
#
# Text: the shared assets' English files (stories260K.greedy-256.txt, the
# shared README.md and STYLE.md) concatenated and repeated, cut to exactly
# 1,048,576 bytes at BUILD/bench/tokenize-1m.txt — the same bytes every run
# as long as ../shared is unchanged.
# Vocabs: the arguments, else the largest BPE vocab in
# ../shared/assets/vocab (by file size), gpt-2, llama-spm and bert-bge.
# Import a bigger one (mote vocab import, e.g. Llama 3's 128k) and pass it.
#
# Each run is `mote tokenize -m VOCAB --no-bos -f TEXT > /dev/null`; the
# time of the same command on a 1-byte file (loading the vocab, starting the
# process) is measured the same way and subtracted, so the figure is the
# encoding itself (plus printing the ids). Wall time and CPU time (user +
# sys, steadier on a shared machine) are both reported. One line per vocab:
#   tokenize VOCAB: N ids, X MB/s wall, Y MB/s CPU time (medians of 5: ...)
BUILD=${1:-build}
[ $# -gt 0 ] && shift
MOTE="$BUILD/mote"
A=${MOTE_SHARED:-../shared}/assets
[ -x "$MOTE" ] || { echo "bench: $MOTE is not built (make)"; exit 1; }
mkdir -p "$BUILD/bench"
TEXT="$BUILD/bench/tokenize-1m.txt"
ONE="$BUILD/bench/tokenize-1b.txt"

src=""
for f in "$A/models/stories260K.greedy-256.txt" "$A/../README.md" "$A/../STYLE.md"; do
  [ -f "$f" ] && src="$src $f"
done
[ -n "$src" ] || { echo "bench: no English text under $A (set MOTE_SHARED)"; exit 1; }
i=0
: >"$TEXT.tmp"
while [ "$(wc -c <"$TEXT.tmp")" -lt 1048576 ] && [ $i -lt 10000 ]; do
  # shellcheck disable=SC2086
  cat $src >>"$TEXT.tmp"; i=$((i + 1))
done
head -c 1048576 "$TEXT.tmp" >"$TEXT"; rm -f "$TEXT.tmp"
printf 'a' >"$ONE"

if [ $# -eq 0 ]; then
  big=$(for f in "$A"/vocab/ggml-vocab-*.gguf; do
          "$MOTE" info "$f" 2>/dev/null | grep -q 'tokenizer.ggml.model *= "gpt2"' && echo "$(wc -c <"$f") $f"
        done | sort -n | tail -1 | cut -d' ' -f2)
  set -- $big "$A/vocab/ggml-vocab-gpt-2.gguf" "$A/vocab/ggml-vocab-llama-spm.gguf" "$A/vocab/ggml-vocab-bert-bge.gguf"
fi

# median of the 5 numbers on stdin
median() { sort -n | sed -n 3p; }
# run_ms VOCAB FILE: "wall_ms cpu_ms" of one tokenize run (cpu = user + sys,
# steadier than wall time on a shared machine)
run_ms() {
  bash -c 'TIMEFORMAT="%R %U %S"; { time "$@" >/dev/null; } 2>&1' _ "$MOTE" tokenize -m "$1" --no-bos -f "$2" |
    awk '{ printf "%d %d\n", $1 * 1000, ($2 + $3) * 1000 }'
}
command -v bash >/dev/null 2>&1 || { echo "bench: needs bash for its time keyword"; exit 1; }

echo "## tokenize: 1 MiB of English text ($(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null))"
for v in "$@"; do
  [ -f "$v" ] || { echo "tokenize $v: missing"; continue; }
  n_ids=$("$MOTE" tokenize -m "$v" --no-bos -f "$TEXT" | wc -w) || continue
  runs=$(for r in 1 2 3 4 5; do run_ms "$v" "$TEXT"; done)
  loads=$(for r in 1 2 3 4 5; do run_ms "$v" "$ONE"; done)
  full=$(echo "$runs" | cut -d' ' -f1 | median); full_cpu=$(echo "$runs" | cut -d' ' -f2 | median)
  load=$(echo "$loads" | cut -d' ' -f1 | median); load_cpu=$(echo "$loads" | cut -d' ' -f2 | median)
  enc=$((full - load)); [ $enc -gt 0 ] || enc=1
  enc_cpu=$((full_cpu - load_cpu)); [ $enc_cpu -gt 0 ] || enc_cpu=1
  mbs=$(awk -v ms=$enc 'BEGIN { printf "%.2f", 1.048576 / (ms / 1000.0) }')
  mbs_cpu=$(awk -v ms=$enc_cpu 'BEGIN { printf "%.2f", 1.048576 / (ms / 1000.0) }')
  echo "tokenize $(basename "$v" .gguf): $n_ids ids, $mbs MB/s wall, $mbs_cpu MB/s CPU time (medians of 5: ${full} ms - ${load} ms load wall; ${full_cpu} ms - ${load_cpu} ms CPU)"
done
