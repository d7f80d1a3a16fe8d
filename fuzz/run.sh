#!/bin/sh
# fuzz/run.sh — build every fuzz/fuzz_NAME.c as a libFuzzer target and run
# each for FUZZ_SECONDS (default 60) seconds. What `make fuzz` runs.
#
# Build: the library sources (src/**/*.c) are compiled once with
# -fsanitize=fuzzer-no-link,address,undefined into build/fuzz/libmote_fuzz.a,
# and each target is linked against it with -fsanitize=fuzzer (clang; set
# FUZZ_CC to choose another). Corpus: build/fuzz/corpus_NAME, kept between
# runs, seeded with small valid files (see seed_NAME below), and the
# dictionary fuzz/NAME.dict where there is one. A crash, leak, sanitizer
# report, timeout or out-of-memory leaves build/fuzz/NAME-crash-* (or
# leak-, timeout-, oom-) and makes this script exit non-zero; the last
# lines of the log (build/fuzz/NAME.log) are printed.
set -u
cd "$(dirname "$0")/.." || exit 1
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_CC=${FUZZ_CC:-clang}
OUT=build/fuzz
FLAGS="-g -O1 -std=c11 -D_GNU_SOURCE -Iinclude -Isrc -fno-omit-frame-pointer -fno-sanitize-recover=undefined"

if ! command -v "$FUZZ_CC" >/dev/null 2>&1; then
  echo "fuzz: $FUZZ_CC not found (install clang and libclang-rt-dev)"; exit 1
fi
mkdir -p "$OUT/obj" || exit 1

# The library, instrumented. An archive, so that a target links only the
# objects it needs.
objs=""
for src in $(find src -name '*.c' | sort); do
  obj="$OUT/obj/$(echo "$src" | tr / _).o"
  if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] || [ -n "$(find src include -name '*.h' -newer "$obj" 2>/dev/null | head -1)" ]; then
    # Per-folder SIMD flags, as the Makefile gives them (chosen at run time).
    simd=""
    case "$src:$($FUZZ_CC -dumpmachine)" in
      src/kernels/x86/*:x86_64*) simd="-mavx2 -mfma -mf16c" ;;
      src/kernels/arm/*:aarch64*) simd="-march=armv8.2-a+dotprod+fp16" ;;
    esac
    $FUZZ_CC $FLAGS $simd -fsanitize=fuzzer-no-link,address,undefined -c "$src" -o "$obj" || { echo "fuzz: cannot compile $src"; exit 1; }
  fi
  objs="$objs $obj"
done
rm -f "$OUT/libmote_fuzz.a"
ar rcs "$OUT/libmote_fuzz.a" $objs || exit 1

# Seeds for fuzz_gguf: the valid files test_gguf writes (every value type,
# nested arrays, tensors, custom alignment), the header of stories260K (its
# metadata without the tensor data), and the smallest valid GGUF.
seed_gguf() {
  dir=$1
  if [ ! -d build/gguf-seeds ] && [ -x build/tests/test_gguf ]; then
    MOTE_BUILD=build build/tests/test_gguf >/dev/null 2>&1
  fi
  for f in build/gguf-seeds/*.gguf; do
    [ -f "$f" ] && [ "$(wc -c <"$f")" -lt 100000 ] && cp "$f" "$dir/"
  done
  m=${MOTE_SHARED:-../shared}/assets/models/stories260K.gguf
  [ -f "$m" ] && head -c 14176 "$m" >"$dir/stories260K-header.gguf"
  # "GGUF", version 3, 0 tensors, 0 key/values.
  printf 'GGUF\003\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000' >"$dir/empty.gguf"
}

# Seeds for fuzz_vocab_import: the tokenizer.json fixtures of the tests,
# each alone and followed by a NUL and its tokenizer_config.json.
seed_vocab_import() {
  dir=$1
  for d in tests/data/vocab_import/*/; do
    n=$(basename "$d")
    cp "$d/tokenizer.json" "$dir/$n.json"
    { cat "$d/tokenizer.json"; printf '\000'; cat "$d/tokenizer_config.json"; } >"$dir/$n-config.json"
  done
}

# Seeds for fuzz_checkpoint: a checkpoint of a tiny model (dim 8, vocab
# 260) trained for two steps by build/mote, when it is built.
# train_tiny T [OPTION...]: in the temporary folder T, the text T/text.txt
# (README's first 4000 bytes), a 260-token vocab and a tiny model T/m.gguf
# (dim 8, 1 layer) trained by build/mote with the given extra options.
train_tiny() {
  t=$1; shift
  head -c 4000 README.md >"$t/text.txt"
  build/mote vocab train "$t/text.txt" --size 260 -o "$t/v.gguf" >/dev/null 2>&1 &&
    build/mote train --data "$t/text.txt" --vocab "$t/v.gguf" --dim 8 --layers 1 --heads 2 \
      --kv-heads 1 --ffn 8 --ctx 8 --batch 2 -o "$t/m.gguf" "$@" >/dev/null 2>&1
}

seed_checkpoint() {
  dir=$1
  [ -x build/mote ] || return 0
  t=$(mktemp -d)
  train_tiny "$t" --steps 3 --val-frac 0.1 --eval-every 1 --checkpoint-every 2 \
    --checkpoint "$dir/tiny.ckpt.gguf"
  rm -rf "$t"
}

# Seeds for fuzz_lora: a rank-2 adapter of a tiny model (dim 8, vocab
# 260; one step of mote train, then one of mote finetune --lora on every
# matrix) and one on attn_q alone, by build/mote when it is built.
seed_lora() {
  dir=$1
  [ -x build/mote ] || return 0
  t=$(mktemp -d)
  train_tiny "$t" --steps 1 &&
    for tg in all attn_q; do
      build/mote finetune -m "$t/m.gguf" --lora --rank 2 --targets $tg --data "$t/text.txt" --ctx 8 \
        --batch 2 --steps 1 -o "$t/$tg.gguf" >/dev/null 2>&1 && cp "$t/$tg.gguf" "$dir/tiny-$tg.lora.gguf"
    done
  rm -rf "$t"
  return 0
}

# Seeds for fuzz_imatrix: the imatrix test_quantize writes, and one that
# build/mote collects from one chunk of the calibration text (when built).
seed_imatrix() {
  dir=$1
  for f in build/imatrix-seeds/*.gguf; do [ -f "$f" ] && cp "$f" "$dir/"; done
  m=${MOTE_SHARED:-../shared}/assets/models/stories260K.gguf
  if [ -x build/mote ] && [ -f "$m" ]; then
    build/mote imatrix -m "$m" -f tests/data/quant/calib.txt -c 32 --chunks 1 -t 1 -q -o "$dir/one-chunk.gguf" >/dev/null 2>&1
  fi
  return 0
}

# Seeds for fuzz_logits: a header-only file (vocabulary 2, window 8, BOS,
# no rows), one row over 2 tokens, and the saved logits of a short text
# by build/mote on stories260K (when built).
seed_logits() {
  dir=$1
  hdr() { printf 'MOTELGT1\001\000\000\000\002\000\000\000\010\000\000\000\001\000\000\000'
          printf "\\$1\000\000\000\000\000\000\000\\$2\000\000\000\000\000\000\000"; head -c 72 /dev/zero; }
  hdr 000 000 >"$dir/empty.lgt"
  { hdr 001 001; printf '\000\000\200\277\001\000\000\000\000\000\377\377'; } >"$dir/one-row.lgt"
  m=${MOTE_SHARED:-../shared}/assets/models/stories260K.gguf
  if [ -x build/mote ] && [ -f "$m" ]; then
    printf 'Once upon a time there was a cat.' >"$dir/t.txt"
    build/mote perplexity -m "$m" -f "$dir/t.txt" -c 8 -t 1 --save-logits "$dir/cat.lgt" >/dev/null 2>&1
    rm -f "$dir/t.txt"
  fi
  return 0
}

status=0
for target in fuzz/fuzz_*.c; do
  [ -f "$target" ] || continue
  name=$(basename "$target" .c)
  name=${name#fuzz_}
  bin="$OUT/fuzz_$name"
  $FUZZ_CC $FLAGS -fsanitize=fuzzer,address,undefined "$target" "$OUT/libmote_fuzz.a" -lm -lpthread -lpcre2-8 -lutf8proc -ljansson -o "$bin" \
    || { echo "fuzz: cannot build $target"; status=1; continue; }
  corpus="$OUT/corpus_$name"
  mkdir -p "$corpus"
  if command -v "seed_$name" >/dev/null 2>&1 && [ -z "$(ls "$corpus")" ]; then "seed_$name" "$corpus"; fi
  dict=""
  [ -f "fuzz/$name.dict" ] && dict="-dict=fuzz/$name.dict"
  echo "fuzz: $name for ${FUZZ_SECONDS}s (corpus $corpus: $(ls "$corpus" | wc -l) files)"
  if "$bin" $dict -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 \
       -artifact_prefix="$OUT/$name-" -print_final_stats=1 "$corpus" >"$OUT/$name.log" 2>&1; then
    echo "fuzz: $name ok ($(grep -o 'stat::number_of_executed_units: *[0-9]*' "$OUT/$name.log" | grep -o '[0-9]*$') runs)"
  else
    echo "fuzz: $name FAILED — see $OUT/$name.log and $OUT/$name-*"
    tail -n 40 "$OUT/$name.log"
    status=1
  fi
done
exit $status
