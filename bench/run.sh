#!/bin/sh
# bench/run.sh BUILD — generation speed of `mote run` on the shared
# stories260K model: the median of 5 runs of 256 greedy tokens. A stand-in
# until `mote bench` exists.
BUILD=${1:-build}
M=${MOTE_SHARED:-../shared}/assets/models/stories260K.gguf
[ -f "$M" ] || { echo "bench: $M is absent"; exit 1; }
for i in 1 2 3 4 5; do
  "$BUILD/mote" run -m "$M" --temp 0 -n 256 2>&1 >/dev/null | sed -n 's/.*generation: [0-9]* tokens, \([0-9.]*\) tokens\/s.*/\1/p'
done | sort -n | awk '{v[NR]=$1} END {printf "stories260K f32, 256 tokens greedy: median %.1f tokens/s (of %d runs)\n", v[int((NR+1)/2)], NR}'
