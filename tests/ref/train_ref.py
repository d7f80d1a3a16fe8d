#!/usr/bin/python3
"""train_ref.py — an independent float64 numpy forward + backward of the
Llama model that mote trains, and its AdamW step, to check mote's training.

What it is: the model of llama_ref.py (RMSNorm, Q/K/V, RoPE "normal" mode,
causal grouped-query attention, SwiGLU, untied output) over a batch (B, T)
with a mean softmax cross-entropy loss, differentiated by hand layer by
layer in numpy, in float64; and AdamW with decoupled weight decay on the 2-D
tensors only (llm.c's rule), after global-norm gradient clipping. It shares
no code with mote's C: only the GGUF file (read with gguf_min.py) and the
raw float32 dumps that `test_train_model --dump DIR` writes.

What it checks (DIR written by test_train_model --dump):
  model.gguf     the initial model (F32)
  meta.txt       B, T, ids, targets, AdamW hyper-parameters, and per step
                 mote's loss, learning rate and clipping threshold
  gradsK.bin     mote's raw gradients at step K (before clipping), float32
                 in the order of the GGUF's tensors
  paramsK.bin    mote's parameters after step K's AdamW update
Step 1 is taken at the initial parameters; step 2 at mote's parameters
after step 1 (read from params1.bin), so each gradient check starts from
exactly mote's point, and each AdamW check applies the update to mote's own
gradients (float32 values, computed in float64 here).

Tolerances (measured on x86-64, see tests/train_ref.sh):
  loss:      |mote - ref| <= 1e-5 * ref
  gradients: per tensor, max |g_mote - g_ref| <= 1e-4 * max |g_ref|
             (float32 rounding through 2 blocks; measured <= ~2e-6)
  AdamW:     |p_mote - p_ref| <= 1e-6 * (|p_ref| + 1) per element
             (the update is lr * O(1); float32 rounding of p and of the
             update; measured <= ~1e-7)

Usage: train_ref.py DIR    prints "ok - ..." / "not ok - ..." lines and "#"
lines with the measured errors.
"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf_min  # noqa: E402


class Model:
    def __init__(self, path):
        g = gguf_min.Reader(path)
        hp = lambda k, d=None: g.get("llama." + k, d)  # noqa: E731
        self.C = int(hp("embedding_length"))
        self.L = int(hp("block_count"))
        self.F = int(hp("feed_forward_length"))
        self.H = int(hp("attention.head_count"))
        self.Hkv = int(hp("attention.head_count_kv", self.H))
        self.D = self.C // self.H
        self.n_rot = int(hp("rope.dimension_count", self.D))
        self.base = float(hp("rope.freq_base", 10000.0))
        self.eps = float(hp("attention.layer_norm_rms_epsilon", 1e-5))
        self.names = list(g.tensor_order)
        self.shapes = {n: g.tensors[n].shape for n in self.names}
        self.params = {n: g.tensor(n) for n in self.names}
        self.V = self.shapes["token_embd.weight"][0]

    def flat_sizes(self):
        return [(n, int(np.prod(self.shapes[n]))) for n in self.names]

    def set_flat(self, flat):
        off = 0
        for n, size in self.flat_sizes():
            self.params[n] = flat[off:off + size].reshape(self.shapes[n]).astype(np.float64)
            off += size
        assert off == flat.size

    def get_flat(self, d):
        return np.concatenate([d[n].reshape(-1) for n in self.names])


# ---- ops: forward returns (out, cache); backward returns input gradients ----

def rms_fwd(x, w, eps):
    r = 1.0 / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps)
    xh = x * r
    return xh * w, (xh, r, w)


def rms_bwd(dout, cache):
    xh, r, w = cache
    dw = np.sum(dout * xh, axis=tuple(range(dout.ndim - 1)))
    dxh = dout * w
    dx = r * (dxh - xh * np.mean(dxh * xh, axis=-1, keepdims=True))
    return dx, dw


def rope_angles(T, n_rot, base):
    half = n_rot // 2
    theta = base ** (-2.0 * np.arange(half) / n_rot)
    ang = np.arange(T)[:, None] * theta[None, :]      # (T, half)
    return np.cos(ang)[None, :, None, :], np.sin(ang)[None, :, None, :]


def rope(x, n_rot, cos, sin):
    # x (B, T, heads, D): rotate (x[2i], x[2i+1]) for i < n_rot/2
    y = x.copy()
    a, b = x[..., 0:n_rot:2], x[..., 1:n_rot:2]
    y[..., 0:n_rot:2] = a * cos - b * sin
    y[..., 1:n_rot:2] = a * sin + b * cos
    return y


def attn_fwd(q, k, v, group):
    # q (B, T, H, D); k, v (B, T, Hkv, D)
    B, T, H, D = q.shape
    kk, vv = np.repeat(k, group, axis=2), np.repeat(v, group, axis=2)
    s = np.einsum("bthd,bshd->bhts", q, kk) / np.sqrt(D)
    s = s + np.triu(np.full((T, T), -np.inf), k=1)
    s = s - s.max(axis=-1, keepdims=True)
    p = np.exp(s)
    p /= p.sum(axis=-1, keepdims=True)
    o = np.einsum("bhts,bshd->bthd", p, vv)
    return o, (q, kk, vv, p)


def attn_bwd(do, cache, group):
    q, kk, vv, p = cache
    B, T, H, D = q.shape
    dp = np.einsum("bthd,bshd->bhts", do, vv)
    dvv = np.einsum("bhts,bthd->bshd", p, do)
    ds = p * (dp - np.sum(dp * p, axis=-1, keepdims=True)) / np.sqrt(D)
    dq = np.einsum("bhts,bshd->bthd", ds, kk)
    dkk = np.einsum("bhts,bthd->bshd", ds, q)
    Hkv = H // group
    dk = dkk.reshape(B, T, Hkv, group, D).sum(axis=3)
    dv = dvv.reshape(B, T, Hkv, group, D).sum(axis=3)
    return dq, dk, dv


def forward_backward(m, ids, tg):
    """Mean cross-entropy loss and the gradient of every parameter."""
    P = m.params
    B, T = ids.shape
    N, C, H, Hkv, D = B * T, m.C, m.H, m.Hkv, m.D
    group = H // Hkv
    cos, sin = rope_angles(T, m.n_rot, m.base)
    grads = {n: np.zeros(m.shapes[n]) for n in m.names}
    caches = []
    x = P["token_embd.weight"][ids]                      # (B, T, C)
    for l in range(m.L):
        p = "blk.%d." % l
        h, c_n1 = rms_fwd(x, P[p + "attn_norm.weight"], m.eps)
        q = (h @ P[p + "attn_q.weight"].T).reshape(B, T, H, D)
        k = (h @ P[p + "attn_k.weight"].T).reshape(B, T, Hkv, D)
        v = (h @ P[p + "attn_v.weight"].T).reshape(B, T, Hkv, D)
        qr, kr = rope(q, m.n_rot, cos, sin), rope(k, m.n_rot, cos, sin)
        o, c_att = attn_fwd(qr, kr, v, group)
        o = o.reshape(B, T, H * D)
        x_mid = x + o @ P[p + "attn_output.weight"].T
        h2, c_n2 = rms_fwd(x_mid, P[p + "ffn_norm.weight"], m.eps)
        gt = h2 @ P[p + "ffn_gate.weight"].T
        up = h2 @ P[p + "ffn_up.weight"].T
        sg = 1.0 / (1.0 + np.exp(-gt))
        act = gt * sg * up
        x_out = x_mid + act @ P[p + "ffn_down.weight"].T
        caches.append((h, c_n1, c_att, o, h2, c_n2, gt, up, sg, act))
        x = x_out
    hf, c_nf = rms_fwd(x, P["output_norm.weight"], m.eps)
    logits = (hf @ P["output.weight"].T).reshape(N, -1)
    z = logits - logits.max(axis=1, keepdims=True)
    lse = np.log(np.exp(z).sum(axis=1))
    t = tg.reshape(-1)
    loss = np.mean(lse - z[np.arange(N), t])
    # backward
    dlogits = np.exp(z - lse[:, None])
    dlogits[np.arange(N), t] -= 1.0
    dlogits /= N
    grads["output.weight"] += dlogits.T @ hf.reshape(N, C)
    dhf = (dlogits @ P["output.weight"]).reshape(B, T, C)
    dx, dw = rms_bwd(dhf, c_nf)
    grads["output_norm.weight"] += dw
    for l in reversed(range(m.L)):
        p = "blk.%d." % l
        h, c_n1, c_att, o, h2, c_n2, gt, up, sg, act = caches[l]
        # x_out = x_mid + act @ Wd^T
        Wd = P[p + "ffn_down.weight"]
        grads[p + "ffn_down.weight"] += dx.reshape(N, C).T @ act.reshape(N, -1)
        dact = dx @ Wd
        dgt = dact * up * sg * (1 + gt * (1 - sg))
        dup = dact * gt * sg
        grads[p + "ffn_gate.weight"] += dgt.reshape(N, -1).T @ h2.reshape(N, C)
        grads[p + "ffn_up.weight"] += dup.reshape(N, -1).T @ h2.reshape(N, C)
        dh2 = dgt @ P[p + "ffn_gate.weight"] + dup @ P[p + "ffn_up.weight"]
        dxm, dw = rms_bwd(dh2, c_n2)
        grads[p + "ffn_norm.weight"] += dw
        dx = dx + dxm                                    # d x_mid
        # x_mid = x + o @ Wo^T
        grads[p + "attn_output.weight"] += dx.reshape(N, C).T @ o.reshape(N, -1)
        do = (dx @ P[p + "attn_output.weight"]).reshape(B, T, H, D)
        dqr, dkr, dv = attn_bwd(do, c_att, group)
        dq, dk = rope(dqr, m.n_rot, cos, -sin), rope(dkr, m.n_rot, cos, -sin)
        dq, dk, dv = dq.reshape(N, -1), dk.reshape(N, -1), dv.reshape(N, -1)
        hN = h.reshape(N, C)
        grads[p + "attn_q.weight"] += dq.T @ hN
        grads[p + "attn_k.weight"] += dk.T @ hN
        grads[p + "attn_v.weight"] += dv.T @ hN
        dh = (dq @ P[p + "attn_q.weight"] + dk @ P[p + "attn_k.weight"]
              + dv @ P[p + "attn_v.weight"]).reshape(B, T, C)
        dxa, dw = rms_bwd(dh, c_n1)
        grads[p + "attn_norm.weight"] += dw
        dx = dx + dxa
    np.add.at(grads["token_embd.weight"], ids.reshape(-1), dx.reshape(N, C))
    return loss, grads


def adamw(p, g, state, lr, b1, b2, eps, wd, decay_mask):
    state["t"] += 1
    t = state["t"]
    state["m"] = b1 * state["m"] + (1 - b1) * g
    state["v"] = b2 * state["v"] + (1 - b2) * g * g
    mh = state["m"] / (1 - b1 ** t)
    vh = state["v"] / (1 - b2 ** t)
    return p - lr * (mh / (np.sqrt(vh) + eps) + wd * decay_mask * p)


def main():
    d = sys.argv[1]
    meta, steps = {}, []
    for line in open(os.path.join(d, "meta.txt")):
        f = line.split()
        if f[0].startswith("step"):
            steps.append({f[i]: float(f[i + 1]) for i in range(1, len(f), 2)})
        else:
            meta[f[0]] = f[1:]
    B, T = int(meta["B"][0]), int(meta["T"][0])
    ids = np.array([int(x) for x in meta["ids"]]).reshape(B, T)
    tg = np.array([int(x) for x in meta["targets"]]).reshape(B, T)
    b1, b2, eps, wd = (float(meta[k][0]) for k in ("beta1", "beta2", "eps", "weight_decay"))
    m = Model(os.path.join(d, "model.gguf"))
    n = sum(s for _, s in m.flat_sizes())
    if n != int(meta["n_params"][0]):
        print("not ok - train_ref layout: the GGUF holds %d parameters, mote's buffer %s"
              % (n, meta["n_params"][0]))
        return 1
    decay = np.concatenate([np.full(s, 1.0 if len(m.shapes[nm]) == 2 else 0.0)
                            for nm, s in m.flat_sizes()])
    p = m.get_flat(m.params)
    state = {"t": 0, "m": np.zeros(n), "v": np.zeros(n)}
    failed = False

    def verdict(name, ok, info):
        nonlocal failed
        print(("ok - %s" % name) if ok else ("not ok - %s: %s" % (name, info)))
        print("#   %s: %s" % (name, info))
        failed |= not ok

    for k, st in enumerate(steps, start=1):
        if k > 1:  # continue from mote's own parameters
            m.set_flat(np.fromfile(os.path.join(d, "params%d.bin" % (k - 1)), "<f4").astype(np.float64))
            p = m.get_flat(m.params)
        loss, grads = forward_backward(m, ids, tg)
        verdict("train_ref loss step %d" % k, abs(st["loss"] - loss) <= 1e-5 * loss,
                "mote %.8f, numpy %.8f, rel diff %.2g" % (st["loss"], loss, abs(st["loss"] - loss) / loss))
        gm = np.fromfile(os.path.join(d, "grads%d.bin" % k), "<f4").astype(np.float64)
        worst, worst_name, off = 0.0, "", 0
        for nm, s in m.flat_sizes():
            ref = grads[nm].reshape(-1)
            e = np.abs(gm[off:off + s] - ref).max() / max(np.abs(ref).max(), 1e-30)
            if e > worst:
                worst, worst_name = e, nm
            off += s
        verdict("train_ref gradients step %d" % k, worst <= 1e-4,
                "worst tensor %s: max |mote - numpy| = %.2g of its max |grad|" % (worst_name, worst))
        # AdamW on mote's gradients, clipped as mote clipped them
        g = gm.copy()
        norm = np.sqrt(np.sum(g * g))
        if norm > st["clip"]:
            g *= st["clip"] / norm
        p_ref = adamw(p, g, state, st["lr"], b1, b2, eps, wd, decay)
        pm = np.fromfile(os.path.join(d, "params%d.bin" % k), "<f4").astype(np.float64)
        err = np.abs(pm - p_ref) / (np.abs(p_ref) + 1)
        moved = np.abs(p_ref - p).max()
        verdict("train_ref adamw step %d" % k, err.max() <= 1e-6 and moved > 0,
                "max |p_mote - p_numpy| / (|p| + 1) = %.2g (largest move %.3g; clipped: %s)"
                % (err.max(), moved, "yes" if norm > st["clip"] else "no"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
