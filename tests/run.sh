#!/bin/sh
# run.sh BUILD — run every test binary in BUILD/tests and every tests/*.sh
# script, echo their lines, count "ok -", "not ok -" and "skip -" lines, and
# print the closing "N passed, N failed, N skipped". Exit non-zero if any
# test failed or any runner exited non-zero without reporting a failure.
BUILD=${1:-build}
export MOTE_BIN="$BUILD/mote"
export MOTE_BUILD="$BUILD"
out=$(mktemp)
crashed=0
for t in "$BUILD"/tests/test_*; do
  case "$t" in *.d|*.o) continue ;; esac
  [ -x "$t" ] || continue
  echo "# $t"
  "$t" > "$out.one" 2>&1
  rc=$?
  cat "$out.one"; cat "$out.one" >> "$out"
  if [ $rc -ne 0 ] && ! grep -q '^not ok -' "$out.one"; then
    echo "not ok - $(basename "$t"): exited with status $rc" | tee -a "$out"
  fi
done
for s in tests/*.sh; do
  [ "$s" = tests/run.sh ] && continue
  [ -f "$s" ] || continue
  echo "# $s"
  sh "$s" > "$out.one" 2>&1
  rc=$?
  cat "$out.one"; cat "$out.one" >> "$out"
  if [ $rc -ne 0 ] && ! grep -q '^not ok -' "$out.one"; then
    echo "not ok - $(basename "$s"): exited with status $rc" | tee -a "$out"
  fi
done
pass=$(grep -c '^ok -' "$out")
fail=$(grep -c '^not ok -' "$out")
skip=$(grep -c '^skip -' "$out")
rm -f "$out" "$out.one"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
