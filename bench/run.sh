#!/bin/sh
# bench/run.sh BUILD — `make bench`: speed of mote on this machine. A
# benchmark, not a test (make test does not run it); figures depend on what
# else the machine is doing, so run it on a quiet machine.
#
#   1. TinyLlama-1.1B-shaped synthetic models (mote synth; random weights,
#      the real shapes) in q4_0, q8_0 and f16, made once and cached in
#      BUILD/bench/, and the shared stories260K model: `mote bench` on each
#      (-t 2 -p 512 -n 128 -r 3), one Markdown table: pp512 / tg128
#      tokens/s (median ± stddev), bytes per token, memory bandwidth and the
#      roofline fraction.
#   2. The older stories260K line: median of 5 `mote run` generations.
#   3. bench/tokenize.sh, bench/kernels*.sh and bench/train.sh (training
#      tokens/s), where other parts add them.
#
# Environment: BENCH_THREADS (2), BENCH_P (512), BENCH_N (128), BENCH_R (3),
# BENCH_TYPES ("q4_0 q8_0 f16"), BENCH_PRESET (tinyllama-1.1b), BENCH_D
# (context depth before each test, `mote bench -d`; 0).
BUILD=${1:-build}
MOTE="$BUILD/mote"
T=${BENCH_THREADS:-2}
P=${BENCH_P:-512}
N=${BENCH_N:-128}
R=${BENCH_R:-3}
D=${BENCH_D:-0}
TYPES=${BENCH_TYPES:-"q4_0 q8_0 f16"}
PRESET=${BENCH_PRESET:-tinyllama-1.1b}
S=${MOTE_SHARED:-../shared}/assets/models/stories260K.gguf
[ -x "$MOTE" ] || { echo "bench: $MOTE is not built (make)"; exit 1; }
mkdir -p "$BUILD/bench"

echo "## mote bench: $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -m), $(getconf _NPROCESSORS_ONLN) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
echo

# 1. The models (cached: synthesizing 1.1B parameters takes a while).
models=""
for t in $TYPES; do
  f="$BUILD/bench/$PRESET-$t.gguf"
  if [ ! -s "$f" ] || ! "$MOTE" info "$f" >/dev/null 2>&1; then
    echo "bench: synthesizing $f" >&2
    "$MOTE" synth --preset "$PRESET" --type "$t" --seed 1 -o "$f" || { echo "bench: mote synth failed for $t"; exit 1; }
  fi
  models="$models $f"
done
[ -f "$S" ] && models="$models $S" || echo "bench: $S is absent; skipping stories260K" >&2

first=1
for f in $models; do
  out=$("$MOTE" bench -m "$f" -t "$T" -p "$P" -n "$N" -d "$D" -r "$R" -o md 2>"$BUILD/bench/last.err")
  if [ $? -ne 0 ]; then echo "bench: mote bench failed on $f: $(cat "$BUILD/bench/last.err")"; continue; fi
  if [ $first -eq 1 ]; then printf '%s\n' "$out"; first=0; else printf '%s\n' "$out" | tail -n +3; fi
done
echo

# 2. The stories260K line of earlier changes (kept comparable).
if [ -f "$S" ]; then
  for i in 1 2 3 4 5; do
    "$MOTE" run -m "$S" --temp 0 -n 256 2>&1 >/dev/null | sed -n 's/.*generation: [0-9]* tokens, \([0-9.]*\) tokens\/s.*/\1/p'
  done | sort -n | awk '{v[NR]=$1} END {printf "stories260K f32, 256 tokens greedy: median %.1f tokens/s (of %d runs)\n", v[int((NR+1)/2)], NR}'
fi

# 3. Other parts' benchmarks.
for b in bench/tokenize.sh bench/kernels*.sh bench/train.sh; do
  [ -f "$b" ] || continue
  echo
  sh "$b" "$BUILD"
done
exit 0
