#!/bin/sh
# ppl_ref.sh — `mote perplexity` against an independent float64 computation
# (tests/ref/ppl_ref.py over llama_ref.py's forward pass) on ../shared's
# stories260K and the first 700 bytes of tests/data/quant/heldout.txt
# (317 tokens; windows of 64 = BOS + 63 tokens, so 6 windows, the last one
# short; -b 24 so that each window is decoded in chunks). The reference
# takes the token ids from `mote tokenize --no-bos` (the tokenizer has its
# own tests) and counts bytes as the text's length, so mote's windowing,
# NLL, standard error, bits per byte, saved-logits file and KL are checked.
# Cases and tolerances (measured on x86-64, AVX2; ~10-100x margins):
#   f32:   ppl, ppl_err, bits/byte within 1e-5 relative (measured 2e-7:
#          float32 logits against float64); n_scored and n_bytes exact.
#   kv q8_0: the same against the reference with the cache rounding
#          emulated (measured 2e-7).
#   kv q4_0 with --kl-base (base: the f32 model's saved logits): ppl as
#          above; kld_mean, kld_p99, kld_max within 1e-3 relative + 1e-6
#          (measured 2e-6: the base's 16-bit log-probabilities cost ~1e-4
#          nats per entry at most), same_top within one position.
#   q4_0 model (mote quantize; ffn_down falls back to f16) with --kl-base:
#          the reference rounds activations as GGML does (--emulate-ggml),
#          but Q8_0 rounding ties flip with summation order (see
#          ref_forward.sh), which this sensitive model amplifies, and
#          which kernel changes move: measured ppl 9e-5 .. 6.8e-4, kld_mean
#          1.3e-3 .. 1.6e-3, p99 3.5% .. 5%, max 2.5% .. 4.3% relative,
#          same_top exact. Bounds 5e-3, 2e-2, 0.2, 0.2 and 0.02 absolute.
#   no BOS: a random model (make_model.py --no-bos: add_bos_token false)
#          on a 69-token text, windows of 17: four of 16 scored positions
#          and a last window of one token that scores nothing; bytes from
#          the scored tokens' pieces. ppl, ppl_err, bits/byte within 1e-5
#          (measured 1e-9), n_scored and n_bytes exact; a 1-token text is
#          refused.
# Needs /usr/bin/python3 with numpy (MOTE_PYTHON overrides); skips without.
. tests/lib.sh.inc
PY=${MOTE_PYTHON:-/usr/bin/python3}
REF=$(cd "$(dirname "$0")/ref" && pwd)
if ! [ -x "$PY" ] || ! "$PY" -c 'import numpy' >/dev/null 2>&1; then
  t_skip ppl_ref "$PY with numpy is missing (the reference needs it)"; exit 0
fi
if ! have_assets; then t_skip ppl_ref "$SHARED/models/stories260K.gguf is absent"; exit 0; fi
if [ ! -x "$MOTE" ]; then t_fail ppl_ref "$MOTE was not built"; exit 1; fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
M="$SHARED/models/stories260K.gguf"
head -c 700 tests/data/quant/heldout.txt >"$tmp/t.txt"
IDS=$("$MOTE" tokenize -m "$M" --no-bos -f "$tmp/t.txt")

# compare NAME MOTE_JSON REF_JSON KEY:REL:ABS ...
compare() {
  "$PY" - "$@" <<'EOF'
import json, sys
name, got_s, ref_s = sys.argv[1:4]
try:
    got, ref = json.loads(got_s), json.loads(ref_s)
except Exception as e:
    print("not ok - %s: unreadable output (%s): %r / %r" % (name, e, got_s[:200], ref_s[:200])); sys.exit(0)
why, figs = [], []
for spec in sys.argv[4:]:
    k, rel, ab = spec.split(":")
    if k not in got:
        why.append("mote printed no %s" % k); continue
    d = abs(got[k] - ref[k])
    figs.append("%s %.6g vs %.6g (rel %.2g)" % (k, got[k], ref[k], d / abs(ref[k]) if ref[k] else d))
    if not d <= float(rel) * abs(ref[k]) + float(ab):
        why.append("%s = %.9g, reference %.9g" % (k, got[k], ref[k]))
print(("not ok - %s: %s" % (name, "; ".join(why))) if why else "ok - " + name)
print("#   " + name + ": " + "; ".join(figs))
EOF
}

run_case() { # NAME "MOTE ARGS" "REF ARGS" SPECS...
  n=$1; margs=$2; rargs=$3; shift 3
  if ! got=$("$MOTE" perplexity -f "$tmp/t.txt" -c 64 -b 24 -t 2 -o json $margs 2>"$tmp/err"); then
    t_fail "$n" "mote perplexity failed: $(tail -c 300 "$tmp/err")"; return
  fi
  if ! ref=$("$PY" "$REF/ppl_ref.py" --ids "$IDS" --bos 1 --ctx 64 --n-bytes 700 $rargs 2>"$tmp/err"); then
    t_fail "$n" "the reference failed: $(tail -c 300 "$tmp/err")"; return
  fi
  compare "$n" "$got" "$ref" "$@" >"$tmp/verdict"
  cat "$tmp/verdict"
  grep -q '^not ok' "$tmp/verdict" && T_FAILED=1
}

EXACT="ppl:1e-5:0 ppl_err:1e-5:0 bits_per_byte:1e-5:0 n_scored:0:0"
run_case ppl_ref_f32 "-m $M --save-logits $tmp/base.lgt" "$M" $EXACT
if got=$("$MOTE" perplexity -m "$M" -f "$tmp/t.txt" -c 64 -o json 2>/dev/null) && \
   echo "$got" | grep -q '"n_bytes": 700,' && echo "$got" | grep -q '"n_tokens": 317,'; then
  t_ok ppl_ref_bytes_all_scored
else t_fail ppl_ref_bytes_all_scored "n_bytes/n_tokens: $got"; fi
run_case ppl_ref_kv_q8_0 "-m $M --kv-type q8_0" "$M --kv q8_0" $EXACT
run_case ppl_ref_kv_q4_0_kl "-m $M --kv-type q4_0 --kl-base $tmp/base.lgt" "$M --kv q4_0 --base $M" \
  $EXACT kld_mean:1e-3:1e-6 kld_p99:1e-3:1e-6 kld_max:1e-3:1e-6 same_top:0:0.0032
if "$MOTE" quantize -q "$M" "$tmp/q4_0.gguf" q4_0 >/dev/null 2>"$tmp/err"; then
  run_case ppl_ref_q4_0_model_kl "-m $tmp/q4_0.gguf --kl-base $tmp/base.lgt" \
    "$tmp/q4_0.gguf --emulate-ggml --base $M" \
    ppl:5e-3:0 bits_per_byte:5e-3:0 kld_mean:2e-2:0 kld_p99:0.2:0 kld_max:0.2:0 same_top:0:0.02
else
  t_fail ppl_ref_q4_0_model_kl "mote quantize failed: $(tail -c 300 "$tmp/err")"
fi
# No BOS: the other windowing.
printf 'the cat sat on a mat and then a dog came by to play with the cat in the sun all day long' >"$tmp/nb.txt"
if "$PY" "$REF/make_model.py" "$tmp/nobos.gguf" --no-bos --n-vocab 300 --n-ctx 64 --seed 3 2>"$tmp/err"; then
  NB_IDS=$("$MOTE" tokenize -m "$tmp/nobos.gguf" --no-bos -f "$tmp/nb.txt")
  if got=$("$MOTE" perplexity -m "$tmp/nobos.gguf" -f "$tmp/nb.txt" -c 17 -b 5 -t 2 -o json 2>"$tmp/err") && \
     ref=$("$PY" "$REF/ppl_ref.py" "$tmp/nobos.gguf" --ids "$NB_IDS" --bos -1 --ctx 17 2>"$tmp/err"); then
    compare ppl_ref_no_bos "$got" "$ref" $EXACT n_bytes:0:0 >"$tmp/verdict"
    cat "$tmp/verdict"; grep -q '^not ok' "$tmp/verdict" && T_FAILED=1
    echo "$got" | grep -q '"n_tokens": 69, "n_scored": 64,' && t_ok ppl_ref_no_bos_counts || \
      t_fail ppl_ref_no_bos_counts "$got"
  else
    t_fail ppl_ref_no_bos "$(tail -c 300 "$tmp/err")"
  fi
  printf 'a' >"$tmp/one.txt"
  if "$MOTE" perplexity -m "$tmp/nobos.gguf" -f "$tmp/one.txt" >/dev/null 2>"$tmp/err"; then
    t_fail ppl_one_token_refused "exit status 0"
  elif grep -q "the text is 1 token" "$tmp/err"; then t_ok ppl_one_token_refused
  else t_fail ppl_one_token_refused "$(head -c 300 "$tmp/err")"; fi
else
  t_fail ppl_ref_no_bos "make_model.py failed: $(tail -c 300 "$tmp/err")"
fi
exit $T_FAILED
