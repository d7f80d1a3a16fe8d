/* fuzz_quant.c — libFuzzer target for the tensor-type kernels that read
 * untrusted bytes or floats: every type's dequantize and dot product over
 * arbitrary block bytes (as a GGUF file's tensor data is), and its quantize
 * and importance-weighted quantize over arbitrary floats (NaN, Inf,
 * subnormals, huge values) and weights. Checks only that nothing crashes or
 * trips ASan/UBSan; what the values are is tested in tests/test_types*.c.
 *
 * Input: byte 0 picks the type (modulo the type ids), byte 1 the number of
 * blocks (1..4); the rest is the block bytes, then reinterpreted as floats
 * for the quantizers (padded with zeros).
 */
#include "tensor/types.h"
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    const mote_type_traits *t = mote__type_traits(data[0] % MOTE_TYPE_COUNT);
    if (!t || !t->dequantize_ref) return 0;
    const mote_type_traits *v = mote__type_traits(t->vec_dot_type);
    const int64_t bs = t->block_size > 1 ? t->block_size : 32;
    const int64_t n = bs * (1 + data[1] % 4); /* <= 1024 values */
    data += 2;
    size -= 2;

    static uint8_t blocks[4 * 292 * 4], act[4 * 292 * 4];
    static float x[1024], y[1024], w[1024];
    const size_t bytes = (size_t)(n / t->block_size) * t->type_size;
    memset(blocks, 0, sizeof blocks);
    memcpy(blocks, data, size < bytes ? size : bytes);

    /* Block bytes as a file would hold them. */
    t->dequantize_ref(blocks, y, n);
    for (int64_t i = 0; i < n; i++) x[i] = (float)(i % 17) - 8.0f;
    v->quantize_ref(x, act, n);
    (void)t->vec_dot_ref(n, blocks, act);

    /* The same bytes as floats (and weights) for the quantizers. */
    memset(x, 0, sizeof x);
    memcpy(x, data, size < sizeof x ? size : sizeof x);
    for (int64_t i = 0; i < n; i++) w[i] = x[(i * 7) % n] < 0 ? -x[(i * 7) % n] : x[(i * 7) % n];
    if (t->quantize_ref) {
        t->quantize_ref(x, blocks, n);
        t->dequantize_ref(blocks, y, n);
        v->quantize_ref(y, act, n);
        (void)t->vec_dot_ref(n, blocks, act);
    }
    if (t->quantize_w) {
        t->quantize_w(x, blocks, 1, n, w);
        t->dequantize_ref(blocks, y, n);
        t->quantize_w(x, blocks, n / bs, bs, NULL);
        t->dequantize_ref(blocks, y, n);
    }
    int64_t idx;
    (void)mote__row_has_nonfinite(x, n, &idx);
    return 0;
}
