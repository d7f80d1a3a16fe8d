#!/usr/bin/python3
"""make_model.py — write a random, seeded Llama model as GGUF.

What it is: a generator of small test models with a chosen shape and weight
type (F32, F16, Q8_0, Q4_0), with the metadata llama.cpp writes for a llama
model and a SentencePiece-style ("llama") vocabulary, so that mote can load
and run it and llama_ref.py can check its logits. What it is not: a model
that says anything; the weights are noise scaled so that activations stay
O(1) through every layer and the logits are spread out (std ~2-8) with
clear winners at most positions.

Conventions (as llama.cpp's converter): 1-D tensors (norm weights) are always
F32; matrices are of the requested type; a matrix with numpy shape
(out_features, in_features) is stored with GGUF dims [in, out]. With --tied
there is no output.weight and the output projection is token_embd.weight.

Usage:
  make_model.py OUT.gguf [--n-embd 256] [--n-head 4] [--n-head-kv 4]
      [--n-layer 2] [--n-ff 256] [--n-vocab 300] [--n-rot HEAD_DIM]
      [--freq-base 10000] [--eps 1e-5] [--n-ctx 256] [--type F32] [--tied]
      [--seed 1]
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf_min  # noqa: E402

TOKEN_NORMAL, TOKEN_UNKNOWN, TOKEN_CONTROL, TOKEN_BYTE = 1, 2, 3, 6


def vocab(n_vocab):
    """(tokens, scores, types): <unk> <s> </s>, the 256 byte tokens when they
    fit, then distinct pieces "▁a" "a" "▁b" "b" ... "▁aa" "aa" ..."""
    if n_vocab < 3:
        raise ValueError("n_vocab must be at least 3")
    toks = ["<unk>", "<s>", "</s>"]
    types = [TOKEN_UNKNOWN, TOKEN_CONTROL, TOKEN_CONTROL]
    if n_vocab >= 3 + 256:
        toks += ["<0x%02X>" % b for b in range(256)]
        types += [TOKEN_BYTE] * 256
    letters = "abcdefghijklmnopqrstuvwxyz"
    pieces = []
    length = 1
    while len(toks) + len(pieces) < n_vocab:
        # all strings of `length` letters, in order, each with and without ▁
        for i in range(len(letters) ** length):
            s, k = "", i
            for _ in range(length):
                s = letters[k % 26] + s
                k //= 26
            pieces += ["\u2581" + s, s]
        length += 1
    need = n_vocab - len(toks)
    toks += pieces[:need]
    types += [TOKEN_NORMAL] * need
    scores = [0.0] * (n_vocab - need) + [-float(i) for i in range(need)]
    return toks, scores, types


def build(a):
    E, F, V, H, Hkv, NL = a.n_embd, a.n_ff, a.n_vocab, a.n_head, a.n_head_kv, a.n_layer
    if E % H or H % Hkv:
        raise ValueError("n_embd must be a multiple of n_head, n_head of n_head_kv")
    D = E // H
    n_rot = a.n_rot if a.n_rot else D
    rng = np.random.default_rng(a.seed)

    def mat(rows, cols, gain=1.0):
        # (out_features=rows, in_features=cols): outputs of std ~gain for
        # inputs of rms ~1
        return rng.normal(0.0, gain / np.sqrt(cols), size=(rows, cols))

    def norm():
        return 1.0 + 0.1 * rng.normal(size=E)

    w = gguf_min.Writer()
    w.add_string("general.architecture", "llama")
    w.add_string("general.name", "mote-ref-%s-e%d-h%d-kv%d-l%d-ff%d-v%d-rot%d%s" % (
        a.type.lower(), E, H, Hkv, NL, F, V, n_rot, "-tied" if a.tied else ""))
    w.add_u32("llama.context_length", a.n_ctx)
    w.add_u32("llama.embedding_length", E)
    w.add_u32("llama.feed_forward_length", F)
    w.add_u32("llama.attention.head_count", H)
    w.add_u32("llama.attention.head_count_kv", Hkv)
    w.add_u32("llama.block_count", NL)
    w.add_u32("llama.rope.dimension_count", n_rot)
    w.add_f32("llama.rope.freq_base", a.freq_base)
    w.add_f32("llama.attention.layer_norm_rms_epsilon", a.eps)
    w.add_u32("llama.vocab_size", V)
    toks, scores, types = vocab(V)
    w.add_string("tokenizer.ggml.model", "llama")
    w.add_array("tokenizer.ggml.tokens", gguf_min.T_STRING, toks)
    w.add_array("tokenizer.ggml.scores", gguf_min.T_FLOAT32, scores)
    w.add_array("tokenizer.ggml.token_type", gguf_min.T_INT32, types)
    w.add_u32("tokenizer.ggml.bos_token_id", 1)
    if a.no_bos:
        w.add_bool("tokenizer.ggml.add_bos_token", False)
    w.add_u32("tokenizer.ggml.eos_token_id", 2)
    w.add_u32("tokenizer.ggml.unknown_token_id", 0)

    t = a.type
    # Embeddings of rms ~0.5: the residual stream starts O(1), and tied
    # logits (rmsnorm(x) . e) come out with std ~0.5*sqrt(n_embd).
    w.add_tensor("token_embd.weight", 0.5 * rng.normal(size=(V, E)), t)
    for l in range(NL):
        p = "blk.%d." % l
        w.add_tensor(p + "attn_norm.weight", norm(), "F32")
        # q and k a little larger so that softmax is not near uniform
        w.add_tensor(p + "attn_q.weight", mat(H * D, E, 1.5), t)
        w.add_tensor(p + "attn_k.weight", mat(Hkv * D, E, 1.5), t)
        w.add_tensor(p + "attn_v.weight", mat(Hkv * D, E), t)
        w.add_tensor(p + "attn_output.weight", mat(E, H * D), t)
        w.add_tensor(p + "ffn_norm.weight", norm(), "F32")
        w.add_tensor(p + "ffn_gate.weight", mat(F, E), t)
        w.add_tensor(p + "ffn_down.weight", mat(E, F, 2.0), t)
        w.add_tensor(p + "ffn_up.weight", mat(F, E), t)
    w.add_tensor("output_norm.weight", norm(), "F32")
    if not a.tied:
        w.add_tensor("output.weight", mat(V, E, 3.0), t)
    return w


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--n-embd", type=int, default=256)
    ap.add_argument("--n-head", type=int, default=4)
    ap.add_argument("--n-head-kv", type=int, default=None)
    ap.add_argument("--n-layer", type=int, default=2)
    ap.add_argument("--n-ff", type=int, default=256)
    ap.add_argument("--n-vocab", type=int, default=300)
    ap.add_argument("--n-rot", type=int, default=0, help="rope.dimension_count (0: head_dim)")
    ap.add_argument("--freq-base", type=float, default=10000.0)
    ap.add_argument("--eps", type=float, default=1e-5)
    ap.add_argument("--n-ctx", type=int, default=256)
    ap.add_argument("--type", default="F32", choices=sorted(gguf_min.TYPE_BY_NAME))
    ap.add_argument("--tied", action="store_true", help="no output.weight")
    ap.add_argument("--no-bos", action="store_true",
                    help="tokenizer.ggml.add_bos_token = false (texts are not started with BOS)")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    if a.n_head_kv is None:
        a.n_head_kv = a.n_head
    build(a).write(a.out)


if __name__ == "__main__":
    main()
