"""gguf_min.py — a minimal GGUF v3 writer and reader in pure Python + numpy.

What it is: just enough of the GGUF format for mote's reference tests —
metadata of every scalar type, strings and arrays, and tensors of types F32,
F16, Q8_0 and Q4_0 with GGML's exact block layouts, plus exact dequantization
of those types. It shares no code with mote (that is the point: it checks
mote independently). What it is not: a validating parser for hostile files;
it trusts its input and raises on anything it does not know.

Layout (GGUF v3, little endian):
  "GGUF" u32 version u64 n_tensors u64 n_kv
  n_kv x  { string key, u32 type, value }
  n_tensors x { string name, u32 n_dims, u64 ne[n_dims] (innermost first),
                u32 ggml_type, u64 offset (relative to the data section) }
  padding to `general.alignment` (default 32), then the data section, each
  tensor starting at an aligned offset.
Strings are u64 length + bytes (no NUL). Arrays are u32 elem_type, u64 count,
elements. A numpy array of shape (rows, cols) is stored with ne = [cols, rows].

Block layouts (32 values per block):
  Q8_0: f16 d, int8 qs[32];        x = qs[j] * d
  Q4_0: f16 d, uint8 qs[16];       x[j] = ((qs[j] & 15) - 8) * d,
                                   x[j + 16] = ((qs[j] >> 4) - 8) * d
"""

import struct

import numpy as np

GGUF_MAGIC = b"GGUF"
GGUF_VERSION = 3
DEFAULT_ALIGNMENT = 32

# Metadata value types.
T_UINT8, T_INT8, T_UINT16, T_INT16, T_UINT32, T_INT32, T_FLOAT32, T_BOOL, \
    T_STRING, T_ARRAY, T_UINT64, T_INT64, T_FLOAT64 = range(13)

_SCALAR_FMT = {
    T_UINT8: "<B", T_INT8: "<b", T_UINT16: "<H", T_INT16: "<h",
    T_UINT32: "<I", T_INT32: "<i", T_FLOAT32: "<f", T_BOOL: "<?",
    T_UINT64: "<Q", T_INT64: "<q", T_FLOAT64: "<d",
}

# Tensor (GGML) types this module knows: id, values per block, bytes per block.
GGML_F32, GGML_F16, GGML_Q4_0, GGML_Q8_0 = 0, 1, 2, 8
TYPE_NAMES = {GGML_F32: "F32", GGML_F16: "F16", GGML_Q4_0: "Q4_0", GGML_Q8_0: "Q8_0"}
TYPE_BY_NAME = {v: k for k, v in TYPE_NAMES.items()}
_BLOCK = {GGML_F32: (1, 4), GGML_F16: (1, 2), GGML_Q4_0: (32, 18), GGML_Q8_0: (32, 34)}
QK = 32


def type_nbytes(ggml_type, n_elems):
    blk, size = _BLOCK[ggml_type]
    if n_elems % blk:
        raise ValueError("%s needs a multiple of %d values, got %d"
                         % (TYPE_NAMES[ggml_type], blk, n_elems))
    return n_elems // blk * size


# ---- quantization (GGML's reference quantizers) -----------------------------

def _f32(x):
    return np.asarray(x, dtype=np.float32)


def quantize_q8_0(x):
    """x: float array, size a multiple of 32, innermost last. Returns bytes.
    As GGML's quantize_row_q8_0_ref: d = amax/127, q = round(x/d) (half away
    from zero), computed in float32; d stored as f16."""
    x = _f32(x).reshape(-1, QK)
    amax = np.max(np.abs(x), axis=1)
    d = (amax / np.float32(127)).astype(np.float32)
    with np.errstate(divide="ignore"):
        idv = np.where(d != 0, np.float32(1) / d, np.float32(0)).astype(np.float32)
    v = x * idv[:, None]
    q = (np.sign(v) * np.floor(np.abs(v) + np.float32(0.5))).astype(np.int8)
    out = np.empty(x.shape[0], dtype=[("d", "<f2"), ("qs", "i1", (QK,))])
    out["d"] = d.astype(np.float16)
    out["qs"] = q
    return out.tobytes()


def quantize_q4_0(x):
    """As GGML's quantize_row_q4_0_ref: max = the signed value of largest
    magnitude, d = max/-8, q = min(15, (int8)(x/d + 8.5)); element j goes in
    the low nibble of byte j, element j+16 in the high nibble."""
    x = _f32(x).reshape(-1, QK)
    idx = np.argmax(np.abs(x), axis=1)  # first of the largest, as GGML's strict '<'
    mx = x[np.arange(x.shape[0]), idx]
    d = (mx / np.float32(-8)).astype(np.float32)
    with np.errstate(divide="ignore"):
        idv = np.where(d != 0, np.float32(1) / d, np.float32(0)).astype(np.float32)
    v = x * idv[:, None] + np.float32(8.5)
    q = np.minimum(15, np.trunc(v).astype(np.int32)).astype(np.uint8)  # C's cast truncates
    qs = (q[:, :QK // 2] | (q[:, QK // 2:] << 4)).astype(np.uint8)
    out = np.empty(x.shape[0], dtype=[("d", "<f2"), ("qs", "u1", (QK // 2,))])
    out["d"] = d.astype(np.float16)
    out["qs"] = qs
    return out.tobytes()


def encode_tensor(arr, ggml_type):
    """Bytes of `arr` (any shape; its last axis is innermost) as ggml_type."""
    a = np.ascontiguousarray(arr).reshape(-1)
    if ggml_type == GGML_F32:
        return a.astype("<f4").tobytes()
    if ggml_type == GGML_F16:
        return a.astype("<f2").tobytes()
    if ggml_type == GGML_Q8_0:
        return quantize_q8_0(a)
    if ggml_type == GGML_Q4_0:
        return quantize_q4_0(a)
    raise ValueError("unsupported tensor type %r" % ggml_type)


def decode_tensor(buf, ggml_type, n_elems):
    """Exact float64 values of n_elems elements of type ggml_type in buf."""
    nb = type_nbytes(ggml_type, n_elems)
    raw = bytes(buf[:nb]) if not isinstance(buf, (bytes, bytearray)) else buf[:nb]
    if len(raw) != nb:
        raise ValueError("tensor data truncated")
    if ggml_type == GGML_F32:
        return np.frombuffer(raw, "<f4").astype(np.float64)
    if ggml_type == GGML_F16:
        return np.frombuffer(raw, "<f2").astype(np.float64)
    if ggml_type == GGML_Q8_0:
        b = np.frombuffer(raw, dtype=[("d", "<f2"), ("qs", "i1", (QK,))])
        d = b["d"].astype(np.float64)
        return (b["qs"].astype(np.float64) * d[:, None]).reshape(-1)
    if ggml_type == GGML_Q4_0:
        b = np.frombuffer(raw, dtype=[("d", "<f2"), ("qs", "u1", (QK // 2,))])
        d = b["d"].astype(np.float64)
        lo = (b["qs"] & 15).astype(np.float64) - 8
        hi = (b["qs"] >> 4).astype(np.float64) - 8
        return (np.concatenate([lo, hi], axis=1) * d[:, None]).reshape(-1)
    raise ValueError("unsupported tensor type %r" % ggml_type)


# ---- writer -----------------------------------------------------------------

def _str(s):
    b = s.encode("utf-8") if isinstance(s, str) else bytes(s)
    return struct.pack("<Q", len(b)) + b


def _value(vtype, v):
    if vtype == T_STRING:
        return _str(v)
    return struct.pack(_SCALAR_FMT[vtype], v)


class Writer:
    """Collect metadata and tensors, then write(path).

    add_u32/add_i32/add_f32/add_bool/add_string add scalars; add_array(key,
    elem_type, values) adds an array; add_tensor(name, arr, ggml_type) stores
    a numpy array (shape (..., rows, cols): GGUF dims reversed)."""

    def __init__(self, alignment=DEFAULT_ALIGNMENT):
        self.kv = []       # (key, type, payload bytes)
        self.tensors = []  # (name, dims innermost first, type, data bytes)
        self.alignment = alignment

    def add(self, key, vtype, v):
        self.kv.append((key, vtype, _value(vtype, v)))

    def add_u32(self, key, v): self.add(key, T_UINT32, int(v))
    def add_i32(self, key, v): self.add(key, T_INT32, int(v))
    def add_f32(self, key, v): self.add(key, T_FLOAT32, float(v))
    def add_bool(self, key, v): self.add(key, T_BOOL, bool(v))
    def add_string(self, key, v): self.add(key, T_STRING, v)

    def add_array(self, key, elem_type, values):
        payload = struct.pack("<IQ", elem_type, len(values))
        payload += b"".join(_value(elem_type, v) for v in values)
        self.kv.append((key, T_ARRAY, payload))

    def add_tensor(self, name, arr, ggml_type):
        if isinstance(ggml_type, str):
            ggml_type = TYPE_BY_NAME[ggml_type]
        dims = list(reversed(np.shape(arr)))
        data = encode_tensor(arr, ggml_type)
        self.tensors.append((name, dims, ggml_type, data))

    def tobytes(self):
        al = self.alignment
        out = bytearray(GGUF_MAGIC)
        out += struct.pack("<IQQ", GGUF_VERSION, len(self.tensors), len(self.kv))
        for key, vtype, payload in self.kv:
            out += _str(key) + struct.pack("<I", vtype) + payload
        offset = 0
        offsets = []
        for name, dims, t, data in self.tensors:
            offsets.append(offset)
            out += _str(name) + struct.pack("<I", len(dims))
            out += b"".join(struct.pack("<Q", d) for d in dims)
            out += struct.pack("<IQ", t, offset)
            offset += (len(data) + al - 1) // al * al
        out += b"\0" * (-len(out) % al)
        for (name, dims, t, data), off in zip(self.tensors, offsets):
            out += data + b"\0" * (-len(data) % al)
        return bytes(out)

    def write(self, path):
        with open(path, "wb") as f:
            f.write(self.tobytes())


# ---- reader -----------------------------------------------------------------

class Tensor:
    def __init__(self, name, dims, ggml_type, offset):
        self.name, self.dims, self.type, self.offset = name, dims, ggml_type, offset
        self.data = None  # memoryview into the file, set by Reader

    @property
    def n_elems(self):
        n = 1
        for d in self.dims:
            n *= d
        return n

    @property
    def shape(self):
        """numpy shape: dims reversed (outermost first)."""
        return tuple(reversed(self.dims))

    def numpy(self):
        """The values as float64, shaped (outermost, ..., innermost)."""
        return decode_tensor(self.data, self.type, self.n_elems).reshape(self.shape)


class Reader:
    """Read a GGUF file: .version, .kv (key -> value; arrays are lists),
    .kv_types (key -> type, or (T_ARRAY, elem_type)), .tensors (name ->
    Tensor), .alignment, .data_offset."""

    def __init__(self, path):
        with open(path, "rb") as f:
            self.buf = f.read()
        self.pos = 0
        if self._take(4) != GGUF_MAGIC:
            raise ValueError("%s: not a GGUF file (bad magic)" % path)
        self.version = self._scalar("<I")
        if self.version not in (2, 3):
            raise ValueError("%s: GGUF version %d" % (path, self.version))
        n_tensors = self._scalar("<Q")
        n_kv = self._scalar("<Q")
        self.kv, self.kv_types = {}, {}
        for _ in range(n_kv):
            key = self._string()
            vtype = self._scalar("<I")
            if vtype == T_ARRAY:
                et = self._scalar("<I")
                n = self._scalar("<Q")
                self.kv[key] = [self._read_value(et) for _ in range(n)]
                self.kv_types[key] = (T_ARRAY, et)
            else:
                self.kv[key] = self._read_value(vtype)
                self.kv_types[key] = vtype
        self.tensors = {}
        order = []
        for _ in range(n_tensors):
            name = self._string()
            n_dims = self._scalar("<I")
            dims = [self._scalar("<Q") for _ in range(n_dims)]
            t = self._scalar("<I")
            off = self._scalar("<Q")
            if t not in _BLOCK:
                raise ValueError("%s: tensor %s has unsupported type %d" % (path, name, t))
            self.tensors[name] = Tensor(name, dims, t, off)
            order.append(name)
        self.tensor_order = order
        self.alignment = int(self.kv.get("general.alignment", DEFAULT_ALIGNMENT))
        self.data_offset = (self.pos + self.alignment - 1) // self.alignment * self.alignment
        mv = memoryview(self.buf)
        for t in self.tensors.values():
            start = self.data_offset + t.offset
            end = start + type_nbytes(t.type, t.n_elems)
            if end > len(self.buf):
                raise ValueError("%s: tensor %s runs past the end of the file" % (path, t.name))
            t.data = mv[start:end]

    def _take(self, n):
        if self.pos + n > len(self.buf):
            raise ValueError("GGUF truncated at byte %d" % self.pos)
        b = self.buf[self.pos:self.pos + n]
        self.pos += n
        return b

    def _scalar(self, fmt):
        return struct.unpack(fmt, self._take(struct.calcsize(fmt)))[0]

    def _string(self):
        n = self._scalar("<Q")
        return self._take(n).decode("utf-8", errors="surrogateescape")

    def _read_value(self, vtype):
        if vtype == T_STRING:
            return self._string()
        if vtype in _SCALAR_FMT:
            return self._scalar(_SCALAR_FMT[vtype])
        raise ValueError("unsupported metadata type %d" % vtype)

    def get(self, key, default=None):
        return self.kv.get(key, default)

    def tensor(self, name):
        """float64 numpy array of tensor `name`, or None if absent."""
        t = self.tensors.get(name)
        return None if t is None else t.numpy()
