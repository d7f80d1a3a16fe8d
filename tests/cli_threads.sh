#!/bin/sh
# cli_threads.sh — `mote run -t N` and `-b N` end to end on stories260K:
# the logits dumped for a prompt and 20 greedy tokens are byte-identical for
# 1, 2 and 3 threads and for batch sizes 512 and 3 (stories260K is f32, and
# its f32 kernels' vec_dot_4 may sum in another order than vec_dot, so the
# batch-size comparison allows float32 rounding: every logit within 1e-5 of
# 1 + max|logit|, checked by /usr/bin/python3 with numpy, or byte-identical
# when numpy is missing); the stats line names the thread count; bad values
# are one-line errors.
. tests/lib.sh.inc
if [ ! -x "$MOTE" ]; then t_fail cli_threads "$MOTE was not built"; exit 1; fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

bad() { # NAME EXPECTED-WORD ARGS...
  n=$1; w=$2; shift 2
  "$MOTE" "$@" >"$tmp/out" 2>"$tmp/err"; rc=$?
  if [ $rc -ne 0 ] && [ $rc -lt 128 ] && grep -q -- "$w" "$tmp/err" && [ ! -s "$tmp/out" ]; then t_ok "$n"
  else t_fail "$n" "rc=$rc stderr: $(head -c 300 "$tmp/err")"; fi
}
bad err_run_threads_zero "\-t" run -m x -t 0
bad err_run_threads_word "whole number" run -m x -t many
bad err_run_threads_too_many "\-t" run -m x -t 100000
bad err_run_batch_zero "\-b" run -m x -b 0
if "$MOTE" run --help | grep -q -- "--threads"; then t_ok help_run_threads; else t_fail help_run_threads "no -t in run --help"; fi

if ! have_assets; then t_skip cli_threads_logits "../shared/assets is absent"; exit 0; fi
M="$SHARED/models/stories260K.gguf"
P="Once upon a time there was a little girl named Lily. She loved to play outside"
for t in 1 2 3; do
  if ! "$MOTE" run -m "$M" -p "$P" -n 20 --temp 0 -t $t --dump-logits "$tmp/t$t.bin" >"$tmp/t$t.txt" 2>"$tmp/t$t.err"; then
    t_fail "run_threads_$t" "$(head -c 300 "$tmp/t$t.err")"
  fi
done
if grep -q "threads: 3" "$tmp/t3.err"; then t_ok run_stats_name_threads; else t_fail run_stats_name_threads "$(cat "$tmp/t3.err")"; fi
size=$(wc -c <"$tmp/t1.bin")
if [ "$size" -gt 20000 ] && cmp -s "$tmp/t1.bin" "$tmp/t2.bin" && cmp -s "$tmp/t1.bin" "$tmp/t3.bin" \
   && cmp -s "$tmp/t1.txt" "$tmp/t3.txt"; then
  t_ok run_logits_identical_1_2_3_threads
else
  t_fail run_logits_identical_1_2_3_threads "dumps differ (sizes $size $(wc -c <"$tmp/t2.bin") $(wc -c <"$tmp/t3.bin"))"
fi

"$MOTE" run -m "$M" -p "$P" -n 20 --temp 0 -t 2 -b 3 --dump-logits "$tmp/b3.bin" >"$tmp/b3.txt" 2>"$tmp/b3.err"
PY=${MOTE_PYTHON:-/usr/bin/python3}
if [ -x "$PY" ] && "$PY" -c 'import numpy' >/dev/null 2>&1; then
  verdict=$("$PY" - "$tmp/t1.bin" "$tmp/b3.bin" <<'EOF'
import sys
import numpy as np
a = np.fromfile(sys.argv[1], dtype="<f4").astype(np.float64)
b = np.fromfile(sys.argv[2], dtype="<f4").astype(np.float64)
if a.size != b.size or a.size == 0:
    print("sizes %d and %d" % (a.size, b.size)); sys.exit(0)
d = np.abs(a - b).max() / (1 + np.abs(a).max())
print("ok" if d <= 1e-5 else "max diff %.3g of 1+max|logit|" % d)
EOF
)
else
  if cmp -s "$tmp/t1.bin" "$tmp/b3.bin"; then verdict=ok; else verdict="differ (no numpy to measure)"; fi
fi
if [ "$verdict" = ok ] && cmp -s "$tmp/t1.txt" "$tmp/b3.txt"; then t_ok run_batch_3_matches_512
else t_fail run_batch_3_matches_512 "$verdict"; fi
exit $T_FAILED
