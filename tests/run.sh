#!/bin/sh
# run.sh BUILD — run every test binary in BUILD/tests and every tests/*.sh
# script, echo their lines, count "ok -", "not ok -" and "skip -" lines, and
# print the closing "N passed, N failed, N skipped". Exit non-zero if any
# test failed or any runner exited non-zero without reporting a failure.
BUILD=${1:-build}
export MOTE_BIN="$BUILD/mote"
export MOTE_BUILD="$BUILD"
# MOTE_EXEC: a command prefix that runs BUILD's binaries, e.g.
# "qemu-aarch64 -L /usr/aarch64-linux-gnu" for `make test-aarch64`. Shell
# tests reach binaries through MOTE_BIN and MOTE_BUILD, so those then name
# a folder of wrapper scripts that run the real binaries under the prefix.
# MOTE_ONLY_TESTS: when set, only the test binaries and tests/*.sh scripts
# it names run; each other one is reported as one "skip" line.
EXEC=${MOTE_EXEC:-}
# Under emulation (MOTE_EXEC), a run that has not exited after HANG_S
# seconds (MOTE_EXEC_HANG_S, default 240: the slowest test takes ~50 s of
# CPU under qemu) is killed and run once more, with a "#" line saying so.
# Why: under qemu-user, aarch64's STLR + LDAR pair can reorder on an x86
# host, which once lost the thread pool's wake-up (fixed in
# src/core/threadpool.c: 1 hang in 6 runs of test_threads before, none in
# 16 after); this keeps a stop of that kind from blocking the whole run,
# and a second hang in a row still fails it.
HANG_S=${MOTE_EXEC_HANG_S:-240}
wrap=""
if [ -n "$EXEC" ]; then
  wrap=$(mktemp -d)
  abs=$(cd "$BUILD" && pwd)
  mkdir -p "$wrap/tests"
  for b in "$abs/mote" "$abs"/tests/test_*; do
    case "$b" in *.d|*.o) continue ;; esac
    [ -x "$b" ] || continue
    printf '#!/bin/sh\ntimeout %s %s "%s" "$@"; rc=$?\n[ $rc -ne 124 ] && exit $rc\necho "# %s: no exit in %s s under emulation: run again once (see tests/run.sh)" >&2\nexec %s "%s" "$@"\n' \
      "$HANG_S" "$EXEC" "$b" "$(basename "$b")" "$HANG_S" "$EXEC" "$b" >"$wrap/${b#"$abs"/}"
    chmod +x "$wrap/${b#"$abs"/}"
  done
  export MOTE_BIN="$wrap/mote" MOTE_BUILD="$wrap"
fi
out=$(mktemp)
crashed=0
for t in "$BUILD"/tests/test_*; do
  case "$t" in *.d|*.o) continue ;; esac
  [ -x "$t" ] || continue
  echo "# $t"
  if [ -n "${MOTE_ONLY_TESTS:-}" ]; then case " $MOTE_ONLY_TESTS " in *" $(basename "$t") "*) ;; *)
    echo "skip - $(basename "$t"): not in MOTE_ONLY_TESTS" | tee -a "$out"; continue ;;
  esac; fi
  if [ -n "$EXEC" ]; then
    timeout "$HANG_S" $EXEC "$t" > "$out.one" 2>&1
    rc=$?
    if [ $rc -eq 124 ]; then
      echo "# $(basename "$t"): no exit in $HANG_S s under emulation: run again once"
      $EXEC "$t" > "$out.one" 2>&1
      rc=$?
    fi
  else
    "$t" > "$out.one" 2>&1
    rc=$?
  fi
  cat "$out.one"; cat "$out.one" >> "$out"
  if [ $rc -ne 0 ] && ! grep -q '^not ok -' "$out.one"; then
    echo "not ok - $(basename "$t"): exited with status $rc" | tee -a "$out"
  fi
done
for s in tests/*.sh; do
  [ "$s" = tests/run.sh ] && continue
  [ -f "$s" ] || continue
  echo "# $s"
  if [ -n "${MOTE_ONLY_TESTS:-}" ]; then case " $MOTE_ONLY_TESTS " in *" $(basename "$s") "*) ;; *)
    echo "skip - $(basename "$s" .sh): not in MOTE_ONLY_TESTS" | tee -a "$out"; continue ;;
  esac; fi
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
[ -n "$wrap" ] && rm -rf "$wrap"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
