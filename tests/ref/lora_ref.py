#!/usr/bin/python3
"""lora_ref.py — mote's LoRA training step against the float64 numpy model
of train_ref.py.

What it checks (DIR written by `test_lora --dump DIR`):
  model.gguf   the frozen base (F32)
  lora.gguf    the adapters (llama.cpp's LoRA GGUF: general.type "adapter",
               adapter.type "lora", adapter.lora.alpha, "<W>.lora_a" with
               numpy shape (rank, in), "<W>.lora_b" (out, rank)), B non-zero
  meta.txt     B, T, ids, targets and mote's loss
  grads.bin    mote's adapter gradients, float32, in the file's tensor order
The reference merges every adapter into its weight, W + (alpha/rank) B A,
runs train_ref.forward_backward (its own forward and hand-written backward,
no code shared with mote) for the loss and the weight gradient G, and takes
the chain rule: dA = s B^T G, dB = s G A^T.

Tolerances (float32 in mote, float64 here; see tests/lora_ref.sh):
  loss:      |mote - ref| <= 1e-5 * ref
  gradients: per tensor, max |g_mote - g_ref| <= 1e-4 * max |g_ref|

Usage: lora_ref.py DIR   prints "ok - ..." / "not ok - ..." and "#" lines.
"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf_min  # noqa: E402
import train_ref  # noqa: E402


def main():
    d = sys.argv[1]
    meta = {}
    for line in open(os.path.join(d, "meta.txt")):
        f = line.split()
        meta[f[0]] = f[1:]
    B, T = int(meta["B"][0]), int(meta["T"][0])
    ids = np.array([int(x) for x in meta["ids"]]).reshape(B, T)
    tg = np.array([int(x) for x in meta["targets"]]).reshape(B, T)
    m = train_ref.Model(os.path.join(d, "model.gguf"))
    ad = gguf_min.Reader(os.path.join(d, "lora.gguf"))
    failed = False

    def verdict(name, ok, info):
        nonlocal failed
        print(("ok - %s" % name) if ok else ("not ok - %s: %s" % (name, info)))
        print("#   %s: %s" % (name, info))
        failed |= not ok

    keys_ok = (ad.kv.get("general.type") == "adapter" and ad.kv.get("adapter.type") == "lora"
               and ad.kv.get("general.architecture") == "llama" and "adapter.lora.alpha" in ad.kv)
    verdict("lora_ref keys", keys_ok, "general.type %r, adapter.type %r, alpha %r" % (
        ad.kv.get("general.type"), ad.kv.get("adapter.type"), ad.kv.get("adapter.lora.alpha")))
    alpha = float(ad.kv.get("adapter.lora.alpha", 0.0))
    pairs = []
    for name in ad.tensor_order:
        if not name.endswith(".lora_a"):
            continue
        base = name[:-len(".lora_a")]
        A = ad.tensors[name].numpy()
        Bm = ad.tensors[base + ".lora_b"].numpy()
        W = m.params[base]
        if A.shape != (A.shape[0], W.shape[1]) or Bm.shape != (W.shape[0], A.shape[0]):
            verdict("lora_ref shapes", False, "%s: A %s, B %s, W %s" % (base, A.shape, Bm.shape, W.shape))
            return 1
        s = alpha / A.shape[0]
        m.params[base] = W + s * (Bm @ A)
        pairs.append((base, A, Bm, s))
    loss, grads = train_ref.forward_backward(m, ids, tg)
    ml = float(meta["loss"][0])
    verdict("lora_ref loss", abs(ml - loss) <= 1e-5 * loss,
            "mote %.8f, numpy %.8f, rel diff %.2g" % (ml, loss, abs(ml - loss) / loss))
    gm = np.fromfile(os.path.join(d, "grads.bin"), "<f4").astype(np.float64)
    worst, worst_name, off = 0.0, "", 0
    for base, A, Bm, s in pairs:
        G = grads[base]
        for nm, ref in ((base + ".lora_a", s * Bm.T @ G), (base + ".lora_b", s * G @ A.T)):
            n = ref.size
            if off + n > gm.size:
                verdict("lora_ref gradients", False, "grads.bin is too short")
                return 1
            e = np.abs(gm[off:off + n] - ref.reshape(-1)).max() / max(np.abs(ref).max(), 1e-30)
            if e > worst:
                worst, worst_name = e, nm
            off += n
    verdict("lora_ref gradients", worst <= 1e-4 and off == gm.size,
            "%d adapter tensors; worst %s: max |mote - numpy| = %.2g of its max |grad|"
            % (2 * len(pairs), worst_name, worst))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
