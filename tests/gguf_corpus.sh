#!/bin/sh
# gguf_corpus.sh — the damaged-GGUF corpus through the command line: every
# file test_gguf wrote to $MOTE_BUILD/gguf-corpus/ (truncated at many bytes,
# mutated field by field) given to `mote info` must fail cleanly: a non-zero
# exit below 128 (no crash, no sanitizer report), nothing on stdout, and
# exactly one line on stderr that names the file. One ok/not ok line for the
# whole corpus; a failure lists the first few files that broke the rule.
. tests/lib.sh.inc
BUILD=${MOTE_BUILD:-build}
DIR="$BUILD/gguf-corpus"
name=gguf_corpus_cli
if [ ! -x "$MOTE" ]; then t_skip $name "$MOTE does not exist (the CLI is not built)"; exit 0; fi
if [ ! -d "$DIR" ] || [ -z "$(ls "$DIR" 2>/dev/null)" ]; then
  t_skip $name "no corpus in $DIR (test_gguf writes it)"; exit 0
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

n=0; n_bad=0; report=""
for f in "$DIR"/*.gguf; do
  n=$((n + 1))
  "$MOTE" info "$f" >"$tmp/out" 2>"$tmp/err"; rc=$?
  lines=$(wc -l <"$tmp/err")
  why=""
  if [ $rc -eq 0 ]; then why="exit 0"
  elif [ $rc -ge 128 ]; then why="exit $rc (crash)"
  elif [ -s "$tmp/out" ]; then why="output on stdout"
  elif [ "$lines" -ne 1 ]; then why="$lines lines on stderr: $(head -c 200 "$tmp/err")"
  elif ! grep -qF -- "$f" "$tmp/err"; then why="message does not name the file: $(cat "$tmp/err")"
  fi
  if [ -n "$why" ]; then
    n_bad=$((n_bad + 1))
    [ $n_bad -le 5 ] && report="$report [$(basename "$f"): $why]"
  fi
done
if [ $n_bad -eq 0 ]; then t_ok "$name ($n files)"; else t_fail $name "$n_bad of $n files:$report"; fi
exit $T_FAILED
