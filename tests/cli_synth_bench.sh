#!/bin/sh
# cli_synth_bench.sh — `mote synth` and `mote bench` end to end: synthetic
# stories15M-shaped models (one block) in f32, f16, q8_0 and q4_0 have the
# preset's exact shapes, types and sizes in `mote info`; they run, and their
# dumped logits are finite (numpy); the same seed gives the same bytes and
# another seed other bytes; --vocab copies a real tokenizer; `mote bench`
# prints JSON/CSV/Markdown with every required key, positive numbers and the
# exact bytes per token; bad arguments fail with one clear line.
. tests/lib.sh.inc
if [ ! -x "$MOTE" ]; then t_fail synth_binary "$MOTE was not built"; exit 1; fi
PY=/usr/bin/python3
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

for c in synth bench; do
  if "$MOTE" $c --help 2>&1 | grep -q "usage: mote $c"; then t_ok "help_$c"; else t_fail "help_$c" "no usage line"; fi
done

bad() { # NAME EXPECTED-WORD ARGS...
  n=$1; w=$2; shift 2
  "$MOTE" "$@" >"$tmp/out" 2>"$tmp/err"; rc=$?
  if [ $rc -ne 0 ] && [ $rc -lt 128 ] && grep -q -- "$w" "$tmp/err" && [ ! -s "$tmp/out" ]; then t_ok "$n"
  else t_fail "$n" "rc=$rc stderr: $(head -c 300 "$tmp/err")"; fi
}
bad err_synth_unknown_preset "unknown preset 'gpt-9'" synth --preset gpt-9 -o "$tmp/x.gguf"
bad err_synth_no_preset "no preset" synth -o "$tmp/x.gguf"
bad err_synth_unknown_type "unknown type 'q3_0'" synth --preset stories15m --type q3_0 -o "$tmp/x.gguf"
bad err_synth_block_divides "do not divide the rows of 288" synth --preset stories15m --type q4_K -o "$tmp/x.gguf"
bad err_synth_no_output "no output file" synth --preset stories15m
bad err_synth_bad_layers "whole number" synth --preset stories15m --layers 0 -o "$tmp/x.gguf"
bad err_synth_unknown_flag "unknown option" synth --frob
bad err_synth_flag_needs_value "needs a value" synth --preset
if [ -e "$tmp/x.gguf" ] || [ -e "$tmp/x.gguf.tmp" ]; then t_fail synth_errors_leave_no_file "x.gguf exists"; else t_ok synth_errors_leave_no_file; fi
bad err_bench_no_model "no model" bench
bad err_bench_missing_file "cannot open" bench -m "$tmp/nope.gguf"
bad err_bench_bad_format "md, csv or json" bench -m x -o xml
bad err_bench_bad_number "whole number" bench -m x -p abc
bad err_bench_bad_bw "whole number" bench -m x --bw-mib 0
bad err_bench_bad_threads "whole number" bench -m x -t 0
bad err_bench_nothing "nothing to measure" bench -m x -p 0 -n 0
bad err_bench_unknown_flag "unknown option" bench --frob

# ---- shapes and types in `mote info` ----
# bytes of 288 x 32000 values: f32 4 a value, f16 2, q8_0 34 per 32, q4_0 18 per 32
embd_bytes() { case $1 in f32) echo 36864000 ;; f16) echo 18432000 ;; q8_0) echo 9792000 ;; q4_0) echo 5184000 ;; esac; }
mat_bytes() { # TYPE N_ELEMENTS
  case $1 in f32) echo $(( $2 * 4 )) ;; f16) echo $(( $2 * 2 )) ;; q8_0) echo $(( $2 / 32 * 34 )) ;; q4_0) echo $(( $2 / 32 * 18 )) ;; esac; }
for t in f32 f16 q8_0 q4_0; do
  f="$tmp/s_$t.gguf"
  if ! "$MOTE" synth --preset stories15m --type $t --layers 1 --seed 5 -o "$f" 2>"$tmp/err"; then
    t_fail "synth_$t" "$(head -c 300 "$tmp/err")"; continue
  fi
  grep -q "mote synth: 100%" "$tmp/err" && t_ok "synth_${t}_progress" || t_fail "synth_${t}_progress" "no 100% progress line"
  "$MOTE" info "$f" >"$tmp/info" 2>&1
  e=$(embd_bytes $t)
  miss=""
  for want in \
    'general.architecture *= "llama"' 'general.name *= "mote synth stories15m"' \
    'llama.embedding_length *= 288$' 'llama.block_count *= 1$' 'llama.feed_forward_length *= 768$' \
    'llama.attention.head_count *= 6$' 'llama.attention.head_count_kv *= 6$' 'llama.context_length *= 256$' \
    'llama.rope.dimension_count *= 48$' 'llama.rope.freq_base *= 10000$' 'tokenizer.ggml.model *= "llama"' \
    '(32000 items)' '12 tensors' \
    "token_embd.weight *$t *\[288, 32000\] *$e\$" "output.weight *$t *\[288, 32000\] *$e\$" \
    "blk.0.attn_q.weight *$t *\[288, 288\] *$(mat_bytes $t 82944)\$" \
    "blk.0.attn_k.weight *$t *\[288, 288\] *$(mat_bytes $t 82944)\$" \
    "blk.0.attn_output.weight *$t *\[288, 288\] *$(mat_bytes $t 82944)\$" \
    "blk.0.ffn_gate.weight *$t *\[288, 768\] *$(mat_bytes $t 221184)\$" \
    "blk.0.ffn_down.weight *$t *\[768, 288\] *$(mat_bytes $t 221184)\$" \
    'blk.0.attn_norm.weight *f32 *\[288\] *1152$' 'output_norm.weight *f32 *\[288\] *1152$'; do
    grep -q -- "$want" "$tmp/info" || miss="$miss | $want"
  done
  if [ -z "$miss" ]; then t_ok "synth_${t}_info_shapes"; else t_fail "synth_${t}_info_shapes" "missing:$miss"; fi

  # It runs; 1 (BOS) + 4 evaluated positions of 32000 finite logits.
  if "$MOTE" run -m "$f" -n 4 --temp 0 --dump-logits "$tmp/l_$t.bin" >/dev/null 2>"$tmp/err"; then
    if [ ! -x $PY ] || ! $PY -c 'import numpy' 2>/dev/null; then t_skip "synth_${t}_logits_finite" "$PY with numpy is absent"
    else
      msg=$($PY - "$tmp/l_$t.bin" <<'EOF'
import sys, numpy as np
x = np.fromfile(sys.argv[1], dtype='<f4')
if x.size != 5 * 32000: print("%d floats, expected %d" % (x.size, 5 * 32000)); sys.exit(0)
if not np.all(np.isfinite(x)): print("%d non-finite logits" % int((~np.isfinite(x)).sum())); sys.exit(0)
if float(x.max() - x.min()) <= 1e-4: print("logits are constant"); sys.exit(0)
print("ok")
EOF
)
      if [ "$msg" = ok ]; then t_ok "synth_${t}_logits_finite"; else t_fail "synth_${t}_logits_finite" "$msg"; fi
    fi
  else
    t_fail "synth_${t}_runs" "$(head -c 300 "$tmp/err")"
  fi
done

# ---- seeds ----
"$MOTE" synth -q --preset stories15m --type q4_0 --layers 1 --seed 5 -o "$tmp/again.gguf"
"$MOTE" synth -q --preset stories15m --type q4_0 --layers 1 --seed 6 -o "$tmp/other.gguf"
if cmp -s "$tmp/s_q4_0.gguf" "$tmp/again.gguf"; then t_ok synth_same_seed_same_bytes; else t_fail synth_same_seed_same_bytes "files differ"; fi
if [ -s "$tmp/other.gguf" ] && ! cmp -s "$tmp/s_q4_0.gguf" "$tmp/other.gguf" && \
   [ "$(wc -c <"$tmp/other.gguf")" -eq "$(wc -c <"$tmp/s_q4_0.gguf")" ]; then t_ok synth_other_seed_other_bytes
else t_fail synth_other_seed_other_bytes "same bytes or another size"; fi

# ---- --vocab: every tokenizer.* key of the vocab file, verbatim ----
V="$SHARED/vocab/ggml-vocab-llama-spm.gguf"
if [ -f "$V" ]; then
  if "$MOTE" synth -q --preset stories15m --type q8_0 --layers 1 --vocab "$V" -o "$tmp/v.gguf" 2>"$tmp/err"; then
    "$MOTE" info --all "$V" | grep '^tokenizer\.' | sort >"$tmp/want.kv"
    "$MOTE" info --all "$tmp/v.gguf" | grep '^tokenizer\.' | sort >"$tmp/got.kv"
    if [ -s "$tmp/want.kv" ] && cmp -s "$tmp/want.kv" "$tmp/got.kv"; then t_ok synth_vocab_keys_copied
    else t_fail synth_vocab_keys_copied "tokenizer keys differ: $(diff "$tmp/want.kv" "$tmp/got.kv" | head -c 200)"; fi
    a=$("$MOTE" tokenize -m "$V" "Hello world, this is mote" 2>&1)
    b=$("$MOTE" tokenize -m "$tmp/v.gguf" "Hello world, this is mote" 2>&1)
    if [ -n "$a" ] && [ "$a" = "$b" ]; then t_ok synth_vocab_tokenizes_alike; else t_fail synth_vocab_tokenizes_alike "'$a' vs '$b'"; fi
    if "$MOTE" run -m "$tmp/v.gguf" -p "Once upon a time" -n 4 --temp 0 >/dev/null 2>&1; then t_ok synth_vocab_runs; else t_fail synth_vocab_runs "mote run failed"; fi
  else
    t_fail synth_vocab "$(head -c 300 "$tmp/err")"
  fi
  bad err_synth_vocab_size "32064" synth --preset phi3-mini --vocab "$V" -o "$tmp/x.gguf"
else
  t_skip synth_vocab "$V is absent"
fi

# ---- bench ----
# bytes per token of the one-block q4_0 model: q, k, v, output 288x288,
# gate, up, down 288x768, the 32000x288 output, one 288-value embedding row;
# 18 bytes per 32 values. tg adds the K and V rows it reads: the token at
# position i reads i + 1 of them, 2 x 288 f32 values each (one layer), so
# tg4 from an empty cache (1 + 2 + 3 + 4) / 4 = 2.5 rows of 2304 bytes.
bpt=$(( (4 * 288 * 288 + 3 * 288 * 768 + 32000 * 288 + 288) / 32 * 18 ))
if "$MOTE" bench -m "$tmp/s_q4_0.gguf" -p 8 -n 4 -r 2 -t 1 -o json >"$tmp/b.json" 2>"$tmp/err"; then
  if [ "$(wc -l <"$tmp/b.json")" -eq 2 ]; then t_ok bench_json_two_lines; else t_fail bench_json_two_lines "$(wc -l <"$tmp/b.json") lines"; fi
  msg=$($PY - "$tmp/b.json" "$bpt" <<'EOF'
import json, math, sys
lines = open(sys.argv[1]).read().splitlines()
want_bpt = int(sys.argv[2])
tests = []
for ln in lines:
    try: o = json.loads(ln)
    except Exception as e: print("not JSON: %s" % ln[:80]); sys.exit(0)
    for k in ("test", "type", "threads", "tokens_per_s", "bytes_per_token", "bandwidth_gbs", "roofline_fraction"):
        if k not in o: print("missing key %s" % k); sys.exit(0)
    for k in ("tokens_per_s", "bytes_per_token", "bandwidth_gbs", "roofline_fraction"):
        if not (isinstance(o[k], (int, float)) and o[k] > 0 and math.isfinite(o[k])): print("%s = %r" % (k, o[k])); sys.exit(0)
    if o["type"] != "q4_0" or o["threads"] != 1: print("type %s threads %s" % (o["type"], o["threads"])); sys.exit(0)
    if o.get("model") != "s_q4_0" or o.get("general_name") != "mote synth stories15m": print("model %r / %r" % (o.get("model"), o.get("general_name"))); sys.exit(0)
    if o.get("weights") != "read": print("weights %r: a small model is read into memory by default" % o.get("weights")); sys.exit(0)
    want_kv = 2304 * 5 // 2 if o["test"].startswith("tg") else 0
    if o.get("kv_bytes_per_token") != want_kv: print("%s: kv_bytes_per_token %r, expected %d" % (o["test"], o.get("kv_bytes_per_token"), want_kv)); sys.exit(0)
    if o.get("weight_bytes_per_token") != want_bpt: print("weight_bytes_per_token %r, expected %d" % (o.get("weight_bytes_per_token"), want_bpt)); sys.exit(0)
    if o["bytes_per_token"] != want_bpt + want_kv: print("%s: bytes_per_token %d, expected %d" % (o["test"], o["bytes_per_token"], want_bpt + want_kv)); sys.exit(0)
    r = o["tokens_per_s"] * o["bytes_per_token"] / (o["bandwidth_gbs"] * 1e9)
    if abs(r - o["roofline_fraction"]) > 1e-3 * r + 1e-6: print("roofline %g, recomputed %g" % (o["roofline_fraction"], r)); sys.exit(0)
    if not (256 << 20) <= o.get("bandwidth_buffer_bytes", 0) <= (1 << 30): print("bandwidth buffer %r" % o.get("bandwidth_buffer_bytes")); sys.exit(0)
    # tg: each repetition's bandwidth, whose median is the reported one; pp: none
    bw = o.get("bandwidth_samples_gbs")
    if o["test"].startswith("tg"):
        if not (isinstance(bw, list) and len(bw) == o["reps"] and all(x > 0 for x in bw)): print("bandwidth_samples_gbs %r" % bw); sys.exit(0)
        med = sorted(bw)[len(bw) // 2] if len(bw) % 2 else sum(sorted(bw)[len(bw) // 2 - 1:len(bw) // 2 + 1]) / 2
        if abs(med - o["bandwidth_gbs"]) > 1e-3 * med + 2e-3: print("bandwidth %g, median of the samples %g" % (o["bandwidth_gbs"], med)); sys.exit(0)
    elif bw is not None: print("pp row has bandwidth_samples_gbs"); sys.exit(0)
    tests.append(o["test"])
if tests != ["pp8", "tg4"]: print("tests %s" % tests); sys.exit(0)
print("ok")
EOF
)
  if [ "$msg" = ok ]; then t_ok bench_json_keys_values; else t_fail bench_json_keys_values "$msg"; fi
  grep -q "bandwidth" "$tmp/err" && t_ok bench_reports_bandwidth || t_fail bench_reports_bandwidth "no bandwidth line on stderr"
else
  t_fail bench_json "$(head -c 300 "$tmp/err")"
fi
if "$MOTE" bench -m "$tmp/s_q4_0.gguf" -p 8 -n 0 -r 1 --bw-mib 64 --mmap -o csv >"$tmp/b.csv" 2>"$tmp/err" && \
   [ "$(wc -l <"$tmp/b.csv")" -eq 2 ] && head -1 "$tmp/b.csv" | grep -q '^model,.*,weights,test,.*tokens_per_s.*roofline_fraction$' && \
   sed -n 2p "$tmp/b.csv" | grep -q ",q4_0,.*,mmap,pp8,8,0,0,1,.*,$bpt,0," && grep -q "weights mapped from the file" "$tmp/err"; then t_ok bench_csv
else t_fail bench_csv "$(head -c 300 "$tmp/b.csv")"; fi
if "$MOTE" bench -m "$tmp/s_q4_0.gguf" -p 0 -n 2 -r 1 --bw-mib 64 -o md >"$tmp/b.md" 2>/dev/null && \
   [ "$(wc -l <"$tmp/b.md")" -eq 3 ] && head -1 "$tmp/b.md" | grep -q '^| model | size .* t/s .* roofline |$' && \
   sed -n 3p "$tmp/b.md" | grep -q '| s_q4_0 | .* | q4_0 | .* | tg2 | [0-9.]* ± [0-9.]* |'; then t_ok bench_md
else t_fail bench_md "$(cat "$tmp/b.md" | head -c 400)"; fi
# -d: both tests after 6 tokens in the cache, named "@ d6", n_depth 6, the
# cache sized for depth + the longer test; a negative depth is refused.
if "$MOTE" bench -m "$tmp/s_q4_0.gguf" -p 4 -n 2 -d 6 -r 2 -t 1 --bw-mib 64 -o json >"$tmp/d.json" 2>"$tmp/err"; then
  msg=$($PY - "$tmp/d.json" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]).read().splitlines()]
if [r["test"] for r in rows] != ["pp4 @ d6", "tg2 @ d6"]: print("tests %s" % [r["test"] for r in rows]); sys.exit(0)
if [r["n_depth"] for r in rows] != [6, 6]: print("n_depth %s" % [r["n_depth"] for r in rows]); sys.exit(0)
# f32 cache: 10 positions x 2 (K, V) x 288 values x 4 bytes x 1 layer
if any(r["kv_bytes"] != 10 * 2 * 288 * 4 for r in rows): print("kv_bytes %s" % [r["kv_bytes"] for r in rows]); sys.exit(0)
# tg2 @ d6 reads 7 and then 8 rows of 2304 bytes: 7.5 on average; pp none
if [r["kv_bytes_per_token"] for r in rows] != [0, 2304 * 15 // 2]: print("kv_bytes_per_token %s" % [r["kv_bytes_per_token"] for r in rows]); sys.exit(0)
if not all(r["tokens_per_s"] > 0 for r in rows): print("tokens/s %s" % [r["tokens_per_s"] for r in rows]); sys.exit(0)
print("ok")
EOF
)
  if [ "$msg" = ok ] && grep -q "context filled to depth 6" "$tmp/err"; then t_ok bench_depth; else t_fail bench_depth "$msg $(head -c 200 "$tmp/err")"; fi
else
  t_fail bench_depth "$(head -c 300 "$tmp/err")"
fi
if "$MOTE" bench -m "$tmp/s_q4_0.gguf" -d -1 >/dev/null 2>"$tmp/err"; then t_fail bench_depth_negative "accepted -d -1"
else grep -q -- "-d" "$tmp/err" && t_ok bench_depth_negative || t_fail bench_depth_negative "$(head -c 200 "$tmp/err")"; fi
# --mmap / --no-mmap: `mote run` says where the weights are, and both give the same greedy text.
for mode in "--mmap mmap" "--no-mmap read"; do
  set -- $mode
  if "$MOTE" run -m "$tmp/s_q4_0.gguf" -n 8 --temp 0 -t 1 $1 >"$tmp/run_$2" 2>"$tmp/err" && grep -q "^load: .* ms ($2) |" "$tmp/err"; then t_ok run_load_$2
  else t_fail run_load_$2 "$(head -c 300 "$tmp/err")"; fi
done
cmp -s "$tmp/run_mmap" "$tmp/run_read" && t_ok run_load_modes_same_text || t_fail run_load_modes_same_text "mapped and read weights generate different text"
exit 0
