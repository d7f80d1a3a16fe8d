#!/usr/bin/python3
"""llama_ref.py — the reference Llama forward pass, float64 numpy.

What it is: an independent, deliberately plain implementation of the
Llama-architecture forward pass (as llama.cpp computes it for
general.architecture = "llama") used to check mote's logits. Weights are read
with gguf_min.py and dequantized exactly (F16, Q8_0, Q4_0 -> float64);
activations stay float64 throughout, so its only error is float64 rounding.
What it is not: fast, or a second copy of mote — it shares no code or
conventions with the C side beyond the file format.

The model, per token position p (x has n_embd values):
  x = token_embd[id]
  per layer l:
    h = rmsnorm(x) * attn_norm
    q, k, v = Wq h, Wk h, Wv h              (n_head, n_head_kv, n_head_kv heads)
    q, k = rope(q, p), rope(k, p)           "normal" mode: adjacent pairs
    attn: query head h uses kv head h // (n_head / n_head_kv);
          softmax over positions <= p of q.k / sqrt(head_dim)
    x = x + Wo concat(heads)
    h = rmsnorm(x) * ffn_norm
    x = x + Wdown (silu(Wgate h) * Wup h)
  logits = Wout (rmsnorm(x) * output_norm)  (Wout = token_embd if absent)
rmsnorm(x) = x / sqrt(mean(x^2) + eps).
RoPE: for pair i < n_rot/2 of each head, (x[2i], x[2i+1]) is rotated by
angle p * freq_base^(-2i / n_rot); dims >= n_rot are left as they are.

With emulate="ggml" (--emulate-ggml) the activation entering each matmul is
first rounded as GGML's CPU backend does for that weight type (f16 for F16
weights, Q8_0 for Q8_0/Q4_0 weights); everything else stays float64. That
variant separates an implementation's inherent rounding from its bugs.

Usage:
  llama_ref.py MODEL.gguf --ids "1 17 42" [--out LOGITS.bin] [--npy LOGITS.npy]
               [--emulate-ggml]
--out writes little-endian float32 (n_tokens * n_vocab), the layout of
mote run --dump-logits; --npy writes the float64 array. Without either it
prints the first five logits and the sum per position.
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf_min  # noqa: E402


class Llama:
    def __init__(self, path):
        g = gguf_min.Reader(path)
        arch = g.get("general.architecture")
        if arch != "llama":
            raise ValueError("%s: architecture %r, not llama" % (path, arch))

        def hp(key, default=None):
            v = g.get("llama." + key, default)
            if v is None:
                raise ValueError("%s: missing llama.%s" % (path, key))
            return v

        self.n_embd = int(hp("embedding_length"))
        self.n_layer = int(hp("block_count"))
        self.n_ff = int(hp("feed_forward_length"))
        self.n_head = int(hp("attention.head_count"))
        self.n_head_kv = int(hp("attention.head_count_kv", self.n_head))
        self.head_dim = self.n_embd // self.n_head
        self.n_rot = int(hp("rope.dimension_count", self.head_dim))
        self.freq_base = float(hp("rope.freq_base", 10000.0))
        self.eps = float(hp("attention.layer_norm_rms_epsilon", 1e-5))
        if self.n_head % self.n_head_kv:
            raise ValueError("n_head %d not a multiple of n_head_kv %d" % (self.n_head, self.n_head_kv))

        # The stored type of every matrix, by name, for emulate="ggml".
        self.wtype = {}

        def w(name, shape):
            a = g.tensor(name)
            if a is None:
                raise ValueError("%s: missing tensor %s" % (path, name))
            if a.shape != shape:
                raise ValueError("%s: tensor %s has shape %s, want %s" % (path, name, a.shape, shape))
            self.wtype[name] = g.tensors[name].type
            return a

        if "token_embd.weight" not in g.tensors:
            raise ValueError("%s: missing token_embd.weight" % path)
        self.n_vocab = g.tensors["token_embd.weight"].dims[1]
        E, F, D, V = self.n_embd, self.n_ff, self.head_dim, self.n_vocab
        self.tok_embd = w("token_embd.weight", (V, E))
        self.layers = []
        for l in range(self.n_layer):
            p = "blk.%d." % l
            L = dict(
                attn_norm=w(p + "attn_norm.weight", (E,)),
                attn_q=w(p + "attn_q.weight", (self.n_head * D, E)),
                attn_k=w(p + "attn_k.weight", (self.n_head_kv * D, E)),
                attn_v=w(p + "attn_v.weight", (self.n_head_kv * D, E)),
                attn_output=w(p + "attn_output.weight", (E, self.n_head * D)),
                ffn_norm=w(p + "ffn_norm.weight", (E,)),
                ffn_gate=w(p + "ffn_gate.weight", (F, E)),
                ffn_up=w(p + "ffn_up.weight", (F, E)),
                ffn_down=w(p + "ffn_down.weight", (E, F)),
            )
            L["prefix"] = p
            self.layers.append(L)
        self.output_norm = w("output_norm.weight", (E,))
        self.tied = "output.weight" not in g.tensors
        self.output_name = "token_embd.weight" if self.tied else "output.weight"
        self.output = self.tok_embd if self.tied else w("output.weight", (V, E))
        self.emulate = None

    def mm(self, x, W, name):
        """x (T, in) @ W (out, in)^T -> (T, out). With emulate == "ggml" the
        activation is first rounded as GGML's CPU matmul does for the stored
        weight type (its vec_dot_type): F16 weights -> x to f16; Q8_0, Q4_0
        weights -> x quantized to Q8_0 per 32-block (d = amax/127 in f16,
        round half away from zero), then dequantized. F32 weights: x as is.
        The weights are exact either way, and the sum stays float64."""
        if self.emulate == "ggml":
            t = self.wtype[name]
            if t == gguf_min.GGML_F16:
                x = x.astype(np.float16).astype(np.float64)
            elif t in (gguf_min.GGML_Q8_0, gguf_min.GGML_Q4_0):
                x = gguf_min.decode_tensor(gguf_min.quantize_q8_0(x), gguf_min.GGML_Q8_0,
                                           x.size).reshape(x.shape)
        return x @ W.T

    def rmsnorm(self, x, w):
        # x (T, E) -> (T, E)
        return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + self.eps) * w

    def rope(self, x, n_heads):
        # x (T, n_heads * head_dim): rotate (x[2i], x[2i+1]) of each head
        T = x.shape[0]
        x = x.reshape(T, n_heads, self.head_dim).copy()
        half = self.n_rot // 2
        theta = self.freq_base ** (-2.0 * np.arange(half) / self.n_rot)   # (half,)
        ang = np.arange(T)[:, None] * theta[None, :]                      # (T, half)
        c, s = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]
        x0 = x[:, :, 0:self.n_rot:2].copy()
        x1 = x[:, :, 1:self.n_rot:2].copy()
        x[:, :, 0:self.n_rot:2] = x0 * c - x1 * s
        x[:, :, 1:self.n_rot:2] = x0 * s + x1 * c
        return x

    def kv_round(self, x, kv):
        """The K or V rows x (T, n_head_kv * head_dim) as a KV cache of type
        kv stores them: "f16" rounds each value; "q8_0", "q4_0" quantize
        each whole row (all heads of a position) in 32-blocks with GGML's
        reference quantizers, then dequantize exactly."""
        if kv == "f16":
            return x.astype(np.float16).astype(np.float64)
        t = {"q8_0": gguf_min.GGML_Q8_0, "q4_0": gguf_min.GGML_Q4_0}[kv]
        q = gguf_min.quantize_q8_0 if kv == "q8_0" else gguf_min.quantize_q4_0
        return gguf_min.decode_tensor(q(x), t, x.size).reshape(x.shape)

    def kv_query(self, q, kv):
        """The queries q (T, n_head, head_dim) as a cache of type kv meets
        them, as GGML's CPU backend multiplies by a quantized K: converted
        to the type's activation type — f16 for "f16"; for "q8_0"/"q4_0"
        quantized to q8_0 in 32-blocks of each head when head_dim is a
        multiple of 32. A head narrower than a block (mote dequantizes the
        cache then, where GGML refuses) keeps its exact query."""
        if kv == "f16":
            return q.astype(np.float16).astype(np.float64)
        if q.shape[-1] % 32:
            return q
        return gguf_min.decode_tensor(gguf_min.quantize_q8_0(q), gguf_min.GGML_Q8_0,
                                      q.size).reshape(q.shape)

    def forward(self, ids, emulate=None, kv_type=None):
        """Logits (T, n_vocab) float64 for token ids at positions 0..T-1.
        emulate=None: exact (every activation float64). emulate="ggml":
        activations entering each matmul rounded as GGML does (see mm), to
        tell an implementation's inherent rounding from its bugs.
        kv_type: None, or a KV cache type ("f16", "q8_0", "q4_0") whose rounding
        of K (after RoPE), V and the queries is applied (kv_round, kv_query)."""
        self.emulate = emulate
        ids = np.asarray(ids, dtype=np.int64)
        if ids.min() < 0 or ids.max() >= self.n_vocab:
            raise ValueError("token id out of range [0, %d)" % self.n_vocab)
        T, D = len(ids), self.head_dim
        group = self.n_head // self.n_head_kv
        mask = np.triu(np.full((T, T), -np.inf), k=1)  # causal
        x = self.tok_embd[ids].copy()                    # (T, E)
        for L in self.layers:
            p = L["prefix"]
            h = self.rmsnorm(x, L["attn_norm"])
            q = self.rope(self.mm(h, L["attn_q"], p + "attn_q.weight"), self.n_head)     # (T, H, D)
            k = self.rope(self.mm(h, L["attn_k"], p + "attn_k.weight"), self.n_head_kv)  # (T, Hkv, D)
            v = self.mm(h, L["attn_v"], p + "attn_v.weight").reshape(T, self.n_head_kv, D)
            if kv_type:
                q = self.kv_query(q, kv_type)
                k = self.kv_round(k.reshape(T, -1), kv_type).reshape(T, self.n_head_kv, D)
                v = self.kv_round(v.reshape(T, -1), kv_type).reshape(T, self.n_head_kv, D)
            att_out = np.empty((T, self.n_head, D))
            for hh in range(self.n_head):
                kv = hh // group
                s = q[:, hh, :] @ k[:, kv, :].T / np.sqrt(D) + mask   # (T, T)
                s = s - s.max(axis=1, keepdims=True)
                pr = np.exp(s)
                pr /= pr.sum(axis=1, keepdims=True)
                att_out[:, hh, :] = pr @ v[:, kv, :]
            x = x + self.mm(att_out.reshape(T, -1), L["attn_output"], p + "attn_output.weight")
            h = self.rmsnorm(x, L["ffn_norm"])
            g = self.mm(h, L["ffn_gate"], p + "ffn_gate.weight")
            u = self.mm(h, L["ffn_up"], p + "ffn_up.weight")
            x = x + self.mm(g / (1.0 + np.exp(-g)) * u, L["ffn_down"], p + "ffn_down.weight")
        out = self.mm(self.rmsnorm(x, self.output_norm), self.output, self.output_name)
        self.emulate = None
        return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("--ids", required=True, help="space-separated token ids")
    ap.add_argument("--out", help="write float32 logits (n_tokens * n_vocab, little endian)")
    ap.add_argument("--npy", help="write the float64 logits as .npy")
    ap.add_argument("--emulate-ggml", action="store_true",
                    help="round activations before each matmul as GGML does for the weight type")
    ap.add_argument("--kv", choices=("f16", "q8_0", "q4_0"),
                    help="round K and V as a KV cache of this type stores them")
    a = ap.parse_args()
    ids = [int(t) for t in a.ids.split()]
    m = Llama(a.model)
    logits = m.forward(ids, emulate="ggml" if a.emulate_ggml else None, kv_type=a.kv)
    if a.out:
        logits.astype("<f4").tofile(a.out)
    if a.npy:
        np.save(a.npy, logits)
    if not a.out and not a.npy:
        for p, row in enumerate(logits):
            print("pos%d logits[0..5]= %s sum=%.6f" % (
                p, " ".join("%.6f" % v for v in row[:5]), row.sum()))


if __name__ == "__main__":
    main()
