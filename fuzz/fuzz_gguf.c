/* fuzz_gguf.c — libFuzzer target for the GGUF reader (src/gguf/gguf_read.c).
 *
 * Each input is opened as a GGUF file from memory (libFuzzer's buffer is
 * exactly `size` bytes, so ASan catches any read past it). When the reader
 * accepts an input, everything it promises is exercised and checked: every
 * key is formatted, looked up and read with every typed getter; string array
 * elements are fetched; every tensor's data is touched at both ends and must
 * lie inside the input at an aligned offset; every key/value is copied into
 * a writer. A broken promise traps. When the reader refuses an input, the
 * error must be a format error with a one-line message. Not a test of the
 * message wording (tests/test_gguf.c does that).
 */
#include "gguf/gguf.h"
#include <stdint.h>
#include <string.h>

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

static void touch_kv(const mote_gguf *g, int64_t i) {
    static char buf[4096], small[16];
    const char *key = mote_gguf_kv_key(g, i);
    CHECK(key && *key);
    CHECK(mote__gguf_find_key(g, key) == i);
    size_t n = mote_gguf_kv_format(g, i, buf, sizeof buf, 8);
    CHECK(n < sizeof buf && strlen(buf) == n);
    n = mote_gguf_kv_format(g, i, small, sizeof small, 1 << 30);
    CHECK(n < sizeof small && strlen(small) == n);

    uint32_t u32;
    int64_t i64;
    float f;
    bool b;
    const char *s;
    uint64_t len, n_elem;
    mote_gguf_vtype et;
    const void *data;
    volatile uint8_t sink = 0;
    (void)mote__gguf_get_u32(g, key, &u32, NULL);
    (void)mote__gguf_get_i64(g, key, &i64, NULL);
    (void)mote__gguf_get_f32(g, key, &f, NULL);
    (void)mote__gguf_get_bool(g, key, &b, NULL);
    if (mote__gguf_get_str(g, key, &s, &len, NULL) == MOTE_OK && len) sink ^= (uint8_t)(s[0] ^ s[len - 1]);
    if (mote__gguf_get_arr(g, key, &et, &n_elem, &data, NULL) == MOTE_OK) {
        CHECK(mote__gguf_kv_type(g, i) == MOTE_GGUF_ARRAY);
        if (data && n_elem) sink ^= ((const uint8_t *)data)[0];
        if (et == MOTE_GGUF_STRING) {
            /* The first and last few elements, and one past the end. */
            for (uint64_t j = 0; j < n_elem; j = (j == 7 && n_elem > 16) ? n_elem - 8 : j + 1) {
                CHECK(mote__gguf_arr_str(g, i, j, &s, &len) == MOTE_OK);
                if (len) sink ^= (uint8_t)(s[0] ^ s[len - 1]);
            }
            CHECK(mote__gguf_arr_str(g, i, n_elem, &s, &len) == MOTE_ERR_INVALID_ARG);
        }
    }
    (void)sink;
}

static void touch_tensor(const mote_gguf *g, int64_t i, const uint8_t *base, size_t size) {
    const mote_gguf_tensor *t = mote__gguf_tensor(g, i);
    CHECK(t && t->name && *t->name);
    CHECK(mote__gguf_find_tensor(g, t->name) == t);
    CHECK(t->n_dims >= 1 && t->n_dims <= MOTE_GGUF_MAX_DIMS);
    CHECK(t->offset % mote__gguf_alignment(g) == 0);
    const uint8_t *p = t->data;
    CHECK(p >= base && (size_t)(p - base) <= size && t->nbytes <= size - (size_t)(p - base));
    CHECK((size_t)(p - base) == mote__gguf_data_offset(g) + t->offset);
    if (t->nbytes) {
        volatile uint8_t sink = (uint8_t)(p[0] ^ p[t->nbytes - 1]);
        (void)sink;
    }
    const char *name, *type;
    int n_dims;
    int64_t ne[4];
    uint64_t nbytes;
    mote_gguf_tensor_get(g, i, &name, &type, &n_dims, ne, &nbytes);
    CHECK(name == t->name && nbytes == t->nbytes && n_dims == t->n_dims);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    mote_gguf *g = NULL;
    mote_error err = {0};
    mote_status s = mote__gguf_open_memory(data, size, "fuzz", &g, &err);
    if (s != MOTE_OK) {
        CHECK(g == NULL);
        CHECK(s == MOTE_ERR_FORMAT || s == MOTE_ERR_NOMEM);
        CHECK(strncmp(err.msg, "fuzz: ", 6) == 0 && strchr(err.msg, '\n') == NULL);
        return 0;
    }
    mote_gguf_writer *w = mote__gguf_writer_new();
    for (int64_t i = 0; i < mote_gguf_n_kv(g); i++) {
        touch_kv(g, i);
        if (w) CHECK(mote__gguf_set_from(w, g, i) != MOTE_ERR_INVALID_ARG);
    }
    mote__gguf_writer_free(w);
    for (int64_t i = 0; i < mote_gguf_n_tensors(g); i++) touch_tensor(g, i, data, size);
    mote_gguf_close(g);
    return 0;
}
