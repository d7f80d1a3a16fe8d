#!/usr/bin/python3
"""ppl_ref.py — reference perplexity, bits per byte and KL divergence, float64.

What it is: an independent computation of what `mote perplexity` reports,
from llama_ref.py's float64 forward pass: the text's token ids (without
BOS) cut into non-overlapping windows of CTX positions — with --bos ID,
BOS + the next CTX-1 tokens, every text token scored; with --bos -1 (a
vocab that adds no BOS), CTX tokens with all positions after the first
scored — and per scored token nll = -log softmax(logits)[target].
  ppl = exp(mean nll), ppl_err = ppl * sqrt(var(nll) / (n - 1)) (var over n)
  bits_per_byte = sum(nll) / ln 2 / bytes: with BOS the text's length
  (--n-bytes); without, the bytes of the scored tokens' pieces, read from
  the model's tokenizer.ggml.tokens ("<0xAB>" one byte, U+2581 a space).
With --base MODEL2: KL(softmax base || softmax model) per scored position,
where the base is MODEL2's exact forward and the model is MODEL's with
--emulate-ggml's activation rounding (what mote computes for a quantized
model): mean, 99th percentile (nearest rank), max, and the share of
positions with the same argmax. What it is not: fast, or shared with the
C side.

Usage:
  ppl_ref.py MODEL --ids "17 42 ..." --bos 1 --ctx 64 --n-bytes 700
  ppl_ref.py MODEL --ids "17 42 ..." --bos -1 --ctx 16
             [--kv q8_0] [--emulate-ggml] [--base BASE_MODEL]
Prints one JSON object.
"""

import argparse
import json
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import llama_ref  # noqa: E402


def log_softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def windows(ids, bos, ctx):
    per = ctx - 1 if bos >= 0 else ctx
    for t0 in range(0, len(ids), per):
        yield ([bos] if bos >= 0 else []) + ids[t0:t0 + per]


def piece_bytes(tok):
    if len(tok) == 6 and tok.startswith("<0x") and tok.endswith(">"):
        return 1
    return len(tok.replace("\u2581", " ").encode("utf-8"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("--ids", required=True)
    ap.add_argument("--bos", type=int, required=True)
    ap.add_argument("--ctx", type=int, required=True)
    ap.add_argument("--n-bytes", type=int, default=0, help="the text's bytes (with BOS)")
    ap.add_argument("--kv", choices=("f16", "q8_0", "q4_0"))
    ap.add_argument("--emulate-ggml", action="store_true")
    ap.add_argument("--base")
    a = ap.parse_args()
    ids = [int(t) for t in a.ids.split()]
    m = llama_ref.Llama(a.model)
    base = llama_ref.Llama(a.base) if a.base else None
    emulate = "ggml" if a.emulate_ggml else None
    nll, kl, same = [], [], []
    n_bytes = a.n_bytes
    if a.bos < 0:
        toks = llama_ref.gguf_min.Reader(a.model).get("tokenizer.ggml.tokens")
        n_bytes = 0
    for win in windows(ids, a.bos, a.ctx):
        if len(win) < 2:
            continue
        if a.bos < 0:
            n_bytes += sum(piece_bytes(toks[t]) for t in win[1:])
        lp = log_softmax(m.forward(win, emulate=emulate, kv_type=a.kv))[:-1]  # row j predicts win[j+1]
        tgt = np.asarray(win[1:])
        nll.extend(-lp[np.arange(len(tgt)), tgt])
        if base:
            lb = log_softmax(base.forward(win))[:-1]
            kl.extend((np.exp(lb) * (lb - lp)).sum(axis=1))
            same.extend(lb.argmax(axis=1) == lp.argmax(axis=1))
    nll = np.asarray(nll)
    n = len(nll)
    mean = nll.mean()
    ppl = math.exp(mean)
    out = {"ppl": ppl, "ppl_err": ppl * math.sqrt(nll.var() / (n - 1)) if n > 1 else 0.0,
           "bits_per_byte": nll.sum() / math.log(2) / n_bytes, "nll_mean": mean, "n_scored": n,
           "n_bytes": n_bytes}
    if base:
        kl = np.sort(np.asarray(kl))
        out.update(kld_mean=kl.mean(), kld_p99=kl[max(1, math.ceil(0.99 * n)) - 1],
                   kld_max=kl[-1], same_top=float(np.mean(same)))
    print(json.dumps({k: float(v) for k, v in out.items()}))


if __name__ == "__main__":
    main()
