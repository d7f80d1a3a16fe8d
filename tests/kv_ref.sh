#!/bin/sh
# kv_ref.sh — mote's compressed KV cache (`--kv-type f16|q8_0|q4_0`) against
# the float64 numpy reference with the same cache rounding emulated
# (tests/ref/llama_ref.py, forward(kv_type=...): K after RoPE and V rounded
# a whole row per position with GGML's reference quantizers; the query
# converted as GGML's CPU backend does before a dot with a quantized K —
# f16, or q8_0 when the head is whole 32-blocks). Every logit of every
# prompt position, on two layouts of the cache (heads straddling blocks,
# and every other type, are covered in tests/test_kv_cache.c):
#   stories260K (../shared): 4 KV heads of 8 in one 32-block (mote
#                dequantizes the blocks; no query rounding)
#   hd64:       random model, 2 KV heads of 64 (two whole blocks a head:
#                scores through the type's vec_dot with a q8_0 query)
# One ok/not ok line per case. Needs /usr/bin/python3 with numpy.
#
# Tolerances, measured on x86-64 with AVX2 and with MOTE_ISA=scalar (the
# "#" lines print the figures of each run):
#   f32:  no rounding: max |mote - ref| 1e-6 .. 2.8e-6 of std(ref). Bound 2e-5.
#   f16:  mote rounds K/V/query to f16 from float32 values, the reference
#         from float64 ones: where the two straddle an f16 rounding boundary
#         they round apart (~1e-3 of the values when the float32 forward
#         differs from float64 by ~1e-6), and stories260K amplifies that:
#         max 3e-5 .. 2.5e-3 std, KL(ref || mote) 1.6e-11 .. 1.2e-6 against
#         the cache's own KL 1.4e-6 .. 1.2e-5 (f16 is near the noise floor
#         of float32 itself). Bounds 2e-2 std and KL(ref || mote) <= 1e-5.
#   q8_0, q4_0: 7e-7 .. 1.4e-6 std, except where a value sits on a rounding
#         boundary and float32/float64 inputs round it to neighbouring
#         levels (seen once, q4_0 hd64 scalar: 2e-3 std, KL ratio 2e-7).
#         Bounds 2e-2 std and a KL ratio of 1e-3 — while the cache's own
#         damage, KL(exact || ref), is 7e-4 .. 0.84 for these cases, so a
#         mote that skipped or mangled the rounding fails by orders of
#         magnitude.
. tests/lib.sh.inc
PY=${MOTE_PYTHON:-/usr/bin/python3}
REF=$(cd "$(dirname "$0")/ref" && pwd)
if ! [ -x "$PY" ] || ! "$PY" -c 'import numpy' >/dev/null 2>&1; then
  t_skip kv_ref "$PY with numpy is missing (the reference needs it)"; exit 0
fi
if [ ! -x "$MOTE" ]; then t_fail kv_ref "$MOTE was not built"; exit 1; fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

cat > "$tmp/judge.py" <<'EOF'
import os, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
import llama_ref
case, model, ids_s, dumps = sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
ids = [int(t) for t in ids_s.split()]
# (max err / std, KL(ref || mote) / KL(exact || ref), KL(ref || mote))
BOUND = {"f32": (2e-5, None, None), "f16": (2e-2, None, 1e-5), "q8_0": (2e-2, 1e-3, None),
         "q4_0": (2e-2, 1e-3, None)}

def logsm(a):
    a = a - a.max(axis=1, keepdims=True)
    return a - np.log(np.exp(a).sum(axis=1, keepdims=True))

def kl(p, q):  # mean over rows of KL(softmax p || softmax q)
    lp, lq = logsm(p), logsm(q)
    return float((np.exp(lp) * (lp - lq)).sum(axis=1).mean())

m = llama_ref.Llama(model)
exact = m.forward(ids)
for kv in ("f32", "f16", "q8_0", "q4_0"):
    name = "kv_ref %s %s" % (case, kv)
    ref = exact if kv == "f32" else m.forward(ids, kv_type=kv)
    path = "%s/%s.bin" % (dumps, kv)
    raw = np.fromfile(path, dtype="<f4") if os.path.exists(path) else np.zeros(0, "<f4")
    if raw.size != ref.size:
        print("not ok - %s: the dump holds %d floats, want %d" % (name, raw.size, ref.size)); continue
    got = raw.astype(np.float64).reshape(ref.shape)
    err = np.abs(got - ref).max() / ref.std()
    k_mote, k_cache = kl(ref, got), kl(exact, ref)
    tol, ratio, kl_abs = BOUND[kv]
    why = []
    if not err <= tol:
        why.append("max |mote - ref| %.3g of std > %.3g" % (err, tol))
    if ratio is not None and not k_mote <= ratio * k_cache:
        why.append("KL(ref || mote) %.3g > %g x the cache's own KL %.3g" % (k_mote, ratio, k_cache))
    if kl_abs is not None and not k_mote <= kl_abs:
        why.append("KL(ref || mote) %.3g > %g" % (k_mote, kl_abs))
    print(("not ok - %s: %s" % (name, "; ".join(why))) if why else "ok - " + name)
    print("#   %s %s: max err %.3g std; KL(ref || mote) %.3g; KL(exact || ref) %.3g"
          % (case, kv, err, k_mote, k_cache))
EOF

# case NAME MODEL IDS
kv_case() {
  n=$1; m=$2; ids=$3
  mkdir -p "$tmp/$n"
  for kv in f32 f16 q8_0 q4_0; do
    if ! "$MOTE" run -m "$m" --prompt-ids "$ids" -n 0 --temp 0 -t 2 --kv-type $kv \
         --dump-logits "$tmp/$n/$kv.bin" >"$tmp/out" 2>"$tmp/err"; then
      t_fail "kv_ref $n $kv" "mote run failed: $(head -c 300 "$tmp/err")"
    fi
  done
  "$PY" "$tmp/judge.py" "$REF" "$n" "$m" "$ids" "$tmp/$n" >"$tmp/verdict" 2>&1
  cat "$tmp/verdict"
  if grep -q '^not ok -' "$tmp/verdict"; then T_FAILED=1
  elif [ "$(grep -c '^ok -' "$tmp/verdict")" -ne 4 ]; then t_fail "kv_ref $n" "the judge gave no verdict: $(head -c 300 "$tmp/verdict")"; fi
}

IDS="1 17 42 299 5 260 133 42 77 150 201 9 3 280 64 111 222 19 258 7 90 145 33 290"
if have_assets; then
  kv_case stories260K "$SHARED/models/stories260K.gguf" \
    "1 403 407 261 378 426 267 415 286 453 372 270 280 301 310 317 332 348 356 361 370 381 392 401 410 420 430 440 450 460 470 480 490 500 505 266 268 275 290 299"
else
  t_skip "kv_ref stories260K" "$SHARED/models/stories260K.gguf is absent"
fi
for shape in "hd64 256 4 2"; do
  set -- $shape
  if "$PY" "$REF/make_model.py" "$tmp/$1.gguf" --type F32 --n-embd $2 --n-head $3 --n-head-kv $4 \
       --n-layer 2 --n-ff 288 --n-vocab 300 --seed 5 2>"$tmp/err"; then
    kv_case $1 "$tmp/$1.gguf" "$IDS"
  else
    t_fail "kv_ref $1" "make_model.py failed: $(head -c 300 "$tmp/err")"
  fi
done
exit $T_FAILED
