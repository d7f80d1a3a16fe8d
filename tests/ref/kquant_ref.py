"""kquant_ref.py — decode GGML's K-quant, iq4_nl and ternary blocks with
numpy, straight from the byte layout, and check mote against it.

What it is: an independent reader of the block formats of ggml-common.h
(q2_K, q3_K, q4_K, q5_K, q6_K, q8_K, iq4_nl, tq1_0, tq2_0), vectorised over
blocks, sharing no code with mote, plus a minimal GGUF tensor-table parser.
It guards bit-compatibility with llama.cpp: the bytes mote writes must mean
what GGML's definition says they mean. What it is not: a quantizer.

Usage: kquant_ref.py FILE.gguf — FILE written by `test_types_k --write-gguf`,
holding for each type T: T.src (f32), T.q (mote's quantization of T.src),
T.deq (mote's dequantization of T.q), T.rnd (random bytes with finite
scales) and T.rnd.deq. Prints one "ok -"/"not ok -" line per check:
  decode   numpy's values of T.q and T.rnd equal mote's T.deq and T.rnd.deq
           within 4 float32 ulps of the magnitude of each term (mote computes
           d * sc * q - dmin * m in float32; numpy in float64);
  encode   numpy's values of T.q are close to T.src: the worst relative RMSE
           of a 256-value block is under the type's bound (so mote's
           quantizer packs what the layout means, not only its dequantizer).

Layouts (element e of a block; h = e // 128, s = (e % 128) // 32, l = e % 32):
  q2_K  scales[16] qs[64] d dmin: x = d (sc & 15) q - dmin (sc >> 4),
        sc = scales[e // 16], q = qs[32 h + l] >> 2 s & 3
  q3_K  hmask[32] qs[64] scales[12] d: x = d (sc6 - 32) (q2 - 4 (1 - hbit)),
        hbit = hmask[e % 32] >> (e // 32) & 1, sc6 of sub-block j: low 4 bits
        from the low (j < 8) or high nibble of scales[j % 8], high 2 bits from
        scales[8 + j % 4] >> 2 (j // 4)
  q4_K  d dmin scales[12] qs[128]: x = d sc q - dmin m for sub-block j = e //
        32, q = nibble (low if e % 64 < 32) of qs[32 (e // 64) + e % 32];
        j < 4: sc = scales[j] & 63, m = scales[j + 4] & 63; j >= 4: sc =
        scales[j + 4] & 15 | (scales[j - 4] >> 6) << 4, m = scales[j + 4] >> 4
        | (scales[j] >> 6) << 4
  q5_K  d dmin scales[12] qh[32] qs[128]: q4_K plus 16 (qh[e % 32] >> (e //
        32) & 1)
  q6_K  ql[128] qh[64] scales[16] (int8) d: x = d scales[e // 16] (q - 32),
        q = nibble (low if s < 2) of ql[64 h + 32 (s & 1) + l] | (qh[32 h +
        l] >> 2 s & 3) << 4
  q8_K  d (f32) qs[256] bsums[16]: x = d qs[e]
  iq4_nl d qs[16] (32 values): x = d K[nibble], low nibble of qs[e] for e <
        16, high of qs[e - 16] otherwise; K = -127 -104 -83 -65 -49 -35 -22
        -10 1 13 25 38 53 69 89 113
  tq1_0 qs[48] qh[4] d: trits in base 3, 5 to a byte (4 in qh), first trit
        most significant, byte = ceil(v 256 / 243): e < 160 in qs[e % 32]
        digit e // 32; e < 240 in qs[32 + (e - 160) % 16] digit (e - 160) //
        16; else qh[(e - 240) % 4] digit (e - 240) // 4; x = d (digit - 1)
  tq2_0 qs[64] d: x = d ((qs[32 h + l] >> 2 s & 3) - 1)
"""

import struct
import sys

import numpy as np

# type id: (name, values per block, bytes per block)
TYPES = {0: ("f32", 1, 4), 10: ("q2_K", 256, 84), 11: ("q3_K", 256, 110),
         12: ("q4_K", 256, 144), 13: ("q5_K", 256, 176), 14: ("q6_K", 256, 210),
         15: ("q8_K", 256, 292), 20: ("iq4_nl", 32, 18), 34: ("tq1_0", 256, 54),
         35: ("tq2_0", 256, 66)}

K_IQ4NL = np.array([-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113],
                   dtype=np.float64)


# ---- GGUF: just the tensor table ---------------------------------------------

def read_gguf(path):
    """{name: (type, n_elems, bytes)} of the tensors in a GGUF v3 file."""
    buf = open(path, "rb").read()
    pos = 0

    def take(fmt):
        nonlocal pos
        v = struct.unpack_from(fmt, buf, pos)
        pos += struct.calcsize(fmt)
        return v[0]

    def string():
        nonlocal pos
        n = take("<Q")
        s = buf[pos:pos + n].decode("utf-8")
        pos += n
        return s

    scalar = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
              10: "<Q", 11: "<q", 12: "<d"}

    def value(vt):
        if vt == 8:
            return string()
        if vt == 9:
            et, n = take("<I"), take("<Q")
            return [value(et) for _ in range(n)]
        return take(scalar[vt])

    if buf[:4] != b"GGUF":
        raise ValueError("%s: not a GGUF file" % path)
    pos = 4
    version, n_tensors, n_kv = take("<I"), take("<Q"), take("<Q")
    if version != 3:
        raise ValueError("%s: GGUF version %d" % (path, version))
    kv = {}
    for _ in range(n_kv):
        k = string()
        kv[k] = value(take("<I"))
    infos = []
    for _ in range(n_tensors):
        name = string()
        dims = [take("<Q") for _ in range(take("<I"))]
        infos.append((name, take("<I"), int(np.prod(dims)), take("<Q")))
    align = int(kv.get("general.alignment", 32))
    data = (pos + align - 1) // align * align
    out = {}
    for name, t, n, off in infos:
        _, bs, size = TYPES[t]
        start = data + off
        out[name] = (t, n, buf[start:start + n // bs * size])
    return out


# ---- decoders: (n_blocks, bytes) -> scale part, min part (n_blocks, values) --

E = np.arange(256)
H, S, L = E // 128, (E % 128) // 32, E % 32


def f16(b):
    return np.ascontiguousarray(b).view("<f2").astype(np.float64).reshape(-1, 1)


def dec_q2_K(B):
    sc = B[:, E // 16].astype(np.int64)
    q = (B[:, 16 + 32 * H + L] >> (2 * S)) & 3
    return f16(B[:, 80:82]) * (sc & 15) * q, f16(B[:, 82:84]) * (sc >> 4)


def dec_q3_K(B):
    j = np.arange(16)
    sc = B[:, 96:108].astype(np.int64)
    lo = np.where(j < 8, sc[:, j % 8] & 15, sc[:, j % 8] >> 4)
    hi = (sc[:, 8 + j % 4] >> (2 * (j // 4))) & 3
    s6 = (lo | hi << 4) - 32
    hbit = (B[:, E % 32] >> (E // 32)) & 1
    q = ((B[:, 32 + 32 * H + L] >> (2 * S)) & 3).astype(np.int64) - 4 * (1 - hbit.astype(np.int64))
    return f16(B[:, 108:110]) * s6[:, E // 16] * q, np.zeros(q.shape)


def k4_scales(B):
    Sc = B[:, 4:16].astype(np.int64)
    sc = np.empty((B.shape[0], 8), np.int64)
    m = np.empty((B.shape[0], 8), np.int64)
    for j in range(8):
        if j < 4:
            sc[:, j], m[:, j] = Sc[:, j] & 63, Sc[:, j + 4] & 63
        else:
            sc[:, j] = (Sc[:, j + 4] & 15) | (Sc[:, j - 4] >> 6) << 4
            m[:, j] = (Sc[:, j + 4] >> 4) | (Sc[:, j] >> 6) << 4
    return sc[:, E // 32], m[:, E // 32]


def dec_q4_K(B, qs_at=16):
    sc, m = k4_scales(B)
    byte = B[:, qs_at + 32 * (E // 64) + E % 32].astype(np.int64)
    q = np.where(E % 64 < 32, byte & 15, byte >> 4)
    return f16(B[:, 0:2]) * sc * q, f16(B[:, 2:4]) * m, q, sc


def dec_q5_K(B):
    _, mn, q, sc = dec_q4_K(B, qs_at=48)
    q = q + 16 * ((B[:, 16 + E % 32].astype(np.int64) >> (E // 32)) & 1)
    return f16(B[:, 0:2]) * sc * q, mn


def dec_q6_K(B):
    byte = B[:, 64 * H + 32 * (S & 1) + L].astype(np.int64)
    lo = np.where(S < 2, byte & 15, byte >> 4)
    hi = (B[:, 128 + 32 * H + L].astype(np.int64) >> (2 * S)) & 3
    sc = np.ascontiguousarray(B[:, 192:208]).view(np.int8).astype(np.int64)
    return f16(B[:, 208:210]) * sc[:, E // 16] * ((lo | hi << 4) - 32), np.zeros(lo.shape)


def dec_q8_K(B):
    d = np.ascontiguousarray(B[:, 0:4]).view("<f4").astype(np.float64)
    qs = np.ascontiguousarray(B[:, 4:260]).view(np.int8).astype(np.float64)
    return d * qs, np.zeros(qs.shape)


def dec_iq4_nl(B):
    e = np.arange(32)
    byte = B[:, 2 + e % 16].astype(np.int64)
    idx = np.where(e < 16, byte & 15, byte >> 4)
    return f16(B[:, 0:2]) * K_IQ4NL[idx], np.zeros(idx.shape)


def dec_tq1_0(B):
    col = np.where(E < 160, E % 32, np.where(E < 240, 32 + (E - 160) % 16, 48 + (E - 240) % 4))
    dig = np.where(E < 160, E // 32, np.where(E < 240, (E - 160) // 16, (E - 240) // 4))
    v = (B[:, col].astype(np.int64) * 243) // 256
    t = (v // 3 ** (4 - dig)) % 3 - 1
    return f16(B[:, 52:54]) * t, np.zeros(t.shape)


def dec_tq2_0(B):
    t = ((B[:, 32 * H + L] >> (2 * S)) & 3).astype(np.int64) - 1
    return f16(B[:, 64:66]) * t, np.zeros(t.shape)


DECODERS = {"q2_K": dec_q2_K, "q3_K": dec_q3_K, "q4_K": lambda B: dec_q4_K(B)[:2],
            "q5_K": dec_q5_K, "q6_K": dec_q6_K, "q8_K": dec_q8_K, "iq4_nl": dec_iq4_nl,
            "tq1_0": dec_tq1_0, "tq2_0": dec_tq2_0}

# Worst relative RMSE of a 256-value block of T.src (Gaussian, per-block
# scales 0.05 .. 20, some with offsets): measured on x86-64 with the commit
# of this file, bound ~1.25x that. The ternary types quantize Gaussian data
# badly by design (d = max|x|); their bound only says the bytes mean
# something close.
# Measured: q2_K 0.307, q3_K 0.146, q4_K 0.0732, q5_K 0.0375, q6_K 0.0175,
# iq4_nl 0.0808, tq1_0 and tq2_0 0.844.
ENCODE_BOUND = {"q2_K": 0.38, "q3_K": 0.18, "q4_K": 0.092, "q5_K": 0.047, "q6_K": 0.022,
                "iq4_nl": 0.10, "tq1_0": 0.92, "tq2_0": 0.92}


def decode(t, raw, n):
    name, bs, size = TYPES[t]
    B = np.frombuffer(raw, dtype=np.uint8).reshape(n // bs, size)
    val, mn = DECODERS[name](B)
    return (val - mn).reshape(-1), (np.abs(val) + np.abs(mn)).reshape(-1)


def main():
    tensors = read_gguf(sys.argv[1])
    failed = False
    names = sorted({k.split(".")[0] for k in tensors})

    def report(ok, what, why):
        nonlocal failed
        print(("ok - " if ok else "not ok - ") + what + ("" if ok else ": " + why))
        failed |= not ok

    for tn in names:
        src = np.frombuffer(tensors[tn + ".src"][2], "<f4").astype(np.float64)
        for part in ("q", "rnd"):
            t, n, raw = tensors["%s.%s" % (tn, part)]
            got, mag = decode(t, raw, n)
            mote = np.frombuffer(tensors[tn + (".deq" if part == "q" else ".rnd.deq")][2], "<f4")
            diff = np.abs(got - mote.astype(np.float64))
            tol = 4 * 2.0 ** -24 * mag
            bad = np.nonzero(~(diff <= tol))[0]
            report(bad.size == 0, "kquant_ref decode %s.%s (%d values)" % (tn, part, n),
                   "" if bad.size == 0 else "element %d: numpy %.9g, mote %.9g (%d differ)"
                   % (bad[0], got[bad[0]], mote[bad[0]], bad.size))
            if part == "q":
                x = src.reshape(-1, 256)
                y = got.reshape(-1, 256)
                rel = np.sqrt(((x - y) ** 2).mean(axis=1) / (x ** 2).mean(axis=1))
                print("#   %s: worst block relative rmse %.4f (bound %.3f)"
                      % (tn, rel.max(), ENCODE_BOUND[tn]))
                report(rel.max() <= ENCODE_BOUND[tn], "kquant_ref encode %s" % tn,
                       "block %d relative rmse %.4f > %.3f" % (rel.argmax(), rel.max(),
                                                               ENCODE_BOUND[tn]))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
