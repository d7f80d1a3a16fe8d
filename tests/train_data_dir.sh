#!/bin/sh
# train_data_dir.sh — `mote train --data DIR`: a folder's text files (names
# not starting with '.', in name order) are joined by blank lines, so the
# token count mote train reports for the folder equals that of one file
# holding the same joined text; a folder with a binary file names that file;
# a folder with no text is refused. Needs ../shared/assets (the stories260K
# vocab); skips without.
. tests/lib.sh.inc
if ! have_assets; then t_skip train_data_dir "no $SHARED (the shared test assets)"; exit 0; fi
V="$SHARED/models/stories260K.gguf"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/d" "$tmp/bin" "$tmp/empty"
head -c 3000 tests/data/quant/calib.txt >"$tmp/d/b.txt"
tail -c 2000 tests/data/quant/calib.txt >"$tmp/d/a.txt"
printf 'x\0y' >"$tmp/d/.hidden"
{ cat "$tmp/d/a.txt"; printf '\n\n'; cat "$tmp/d/b.txt"; } >"$tmp/joined.txt"
SHAPE="--dim 16 --layers 1 --heads 2 --kv-heads 1 --ffn 32 --ctx 16 --batch 2 --steps 1 -t 1"
ntok() { sed -n 's/^mote train: \([0-9]*\) tokens of text.*/\1/p' "$1" | head -1; }
# shellcheck disable=SC2086
"$MOTE" train --data "$tmp/d" --vocab "$V" -o "$tmp/o1.gguf" $SHAPE >/dev/null 2>"$tmp/e1"
r1=$?
# shellcheck disable=SC2086
"$MOTE" train --data "$tmp/joined.txt" --vocab "$V" -o "$tmp/o2.gguf" $SHAPE >/dev/null 2>"$tmp/e2"
r2=$?
a=$(ntok "$tmp/e1"); b=$(ntok "$tmp/e2")
if [ $r1 -eq 0 ] && [ $r2 -eq 0 ] && [ -n "$a" ] && [ "$a" = "$b" ]; then
  t_ok "train_data_dir folder = its files joined ($a tokens)"
else
  t_fail "train_data_dir folder = its files joined" "rc $r1/$r2, tokens '$a' vs '$b': $(head -c 200 "$tmp/e1")"
fi
cp "$tmp/d/a.txt" "$tmp/bin/a.txt"; printf 'ab\0cd' >"$tmp/bin/z.bin"
"$MOTE" train --data "$tmp/bin" --vocab "$V" -o "$tmp/o3.gguf" >/dev/null 2>"$tmp/e3"
if [ $? -ne 0 ] && grep -q "z.bin is not text" "$tmp/e3" && [ ! -e "$tmp/o3.gguf" ]; then
  t_ok "train_data_dir a binary file in the folder is named"
else
  t_fail "train_data_dir a binary file in the folder is named" "$(head -c 200 "$tmp/e3")"
fi
"$MOTE" train --data "$tmp/empty" --vocab "$V" -o "$tmp/o4.gguf" >/dev/null 2>"$tmp/e4"
if [ $? -ne 0 ] && grep -q "no non-empty text files" "$tmp/e4"; then
  t_ok "train_data_dir an empty folder is refused"
else
  t_fail "train_data_dir an empty folder is refused" "$(head -c 200 "$tmp/e4")"
fi
exit $T_FAILED
