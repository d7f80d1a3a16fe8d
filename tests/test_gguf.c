/* test_gguf.c — tests of the GGUF reader and writer (src/gguf/).
 *
 * What it covers: writer -> reader round trips of every value type (nested
 * arrays and string arrays included), of tensors of several types (quantized
 * ones included) and of a custom alignment, all compared exactly; value
 * formatting; the getters' type rules; reading stories260K.gguf (and writing
 * it back byte for byte); and the damaged-file corpus: a valid small file
 * made by the writer, truncated at every byte and mutated field by field
 * (absurd counts and lengths, bad dimensions, sizes and offsets, unknown
 * types, bad alignment, duplicates, wrong magic and version). Every damaged
 * file must give MOTE_ERR_FORMAT with a one-line message naming the file and
 * what is wrong, and must allocate no more than a small bound.
 *
 * The corpus is also written to $MOTE_BUILD/gguf-corpus/ (one file per
 * case, for tests/gguf_corpus.sh and the CLI), and valid seed files to
 * $MOTE_BUILD/gguf-seeds/ (for fuzz/run.sh).
 */
#include "test.h"
#include "gguf/gguf.h"
#include "tensor/types.h"
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- helpers ---- */

static const char *build_dir(void) {
    const char *b = getenv("MOTE_BUILD");
    return b && *b ? b : "build";
}

/* A path under the build folder, unique to this process. */
static const char *tmp_path(const char *name) {
    static char buf[4][1024];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/test_gguf.%d.%s", build_dir(), (int)getpid(), name);
    return buf[k];
}

/* Read a whole file into a malloc'd buffer (NULL on failure). */
static uint8_t *slurp(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc(n > 0 ? (size_t)n : 1);
    if (p && fread(p, 1, (size_t)n, f) != (size_t)n) { free(p); p = NULL; }
    fclose(f);
    *size = (size_t)n;
    return p;
}

static int spit(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int ok = fwrite(p, 1, n, f) == n;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

static void put32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static void put64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t get64(const uint8_t *p) { return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32; }

/* An allocator that remembers the largest single request: damaged files
 * must never make the reader ask for much. */
static size_t g_max_alloc;
static void *cnt_malloc(size_t n, void *u) { (void)u; if (n > g_max_alloc) g_max_alloc = n; return malloc(n); }
static void *cnt_realloc(void *p, size_t n, void *u) { (void)u; if (n > g_max_alloc) g_max_alloc = n; return realloc(p, n); }
static void cnt_free(void *p, void *u) { (void)u; free(p); }
static const mote_allocator g_counting = {cnt_malloc, cnt_realloc, cnt_free, NULL};

/* Open a copy of data[0..n) in a buffer of exactly n bytes, so that ASan
 * sees any read past the end. The copy is freed with the handle by
 * close_mem. */
typedef struct mem_gguf { mote_gguf *g; uint8_t *buf; } mem_gguf;
static mote_status open_mem(const uint8_t *data, size_t n, const char *name, mem_gguf *m, mote_error *err) {
    m->buf = malloc(n ? n : 1);
    if (n) memcpy(m->buf, data, n);
    return mote__gguf_open_memory(m->buf, n, name, &m->g, err);
}
static void close_mem(mem_gguf *m) { mote_gguf_close(m->g); free(m->buf); m->g = NULL; m->buf = NULL; }

/* ---- a byte builder for files the writer cannot make ---- */

typedef struct tb { uint8_t *p; size_t n, cap; } tb;
static void tb_bytes(tb *b, const void *s, size_t n) {
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
}
static void tb_u8(tb *b, uint8_t v) { tb_bytes(b, &v, 1); }
static void tb_u16(tb *b, uint16_t v) { uint8_t x[2] = {(uint8_t)v, (uint8_t)(v >> 8)}; tb_bytes(b, x, 2); }
static void tb_u32(tb *b, uint32_t v) { uint8_t x[4]; put32(x, v); tb_bytes(b, x, 4); }
static void tb_u64(tb *b, uint64_t v) { uint8_t x[8]; put64(x, v); tb_bytes(b, x, 8); }
static void tb_str(tb *b, const char *s) { tb_u64(b, strlen(s)); tb_bytes(b, s, strlen(s)); }
static void tb_header(tb *b, uint64_t n_tensors, uint64_t n_kv) {
    tb_u32(b, MOTE_GGUF_MAGIC); tb_u32(b, 3); tb_u64(b, n_tensors); tb_u64(b, n_kv);
}
static void tb_key(tb *b, const char *key, uint32_t type) { tb_str(b, key); tb_u32(b, type); }
static void tb_pad(tb *b, size_t align) { while (b->n % align) tb_u8(b, 0); }

/* A file with one key/value of every scalar type and nested arrays, no
 * tensors, laid out exactly as the writer lays it out. */
static tb make_every_type(void) {
    tb b = {0};
    tb_header(&b, 0, 18);
    tb_key(&b, "v.u8", MOTE_GGUF_UINT8); tb_u8(&b, 200);
    tb_key(&b, "v.i8", MOTE_GGUF_INT8); tb_u8(&b, (uint8_t)-100);
    tb_key(&b, "v.u16", MOTE_GGUF_UINT16); tb_u16(&b, 60000);
    tb_key(&b, "v.i16", MOTE_GGUF_INT16); tb_u16(&b, (uint16_t)-30000);
    tb_key(&b, "v.u32", MOTE_GGUF_UINT32); tb_u32(&b, 4000000000u);
    tb_key(&b, "v.i32", MOTE_GGUF_INT32); tb_u32(&b, (uint32_t)-2000000000);
    float f = 0.1f; uint32_t fu; memcpy(&fu, &f, 4);
    tb_key(&b, "v.f32", MOTE_GGUF_FLOAT32); tb_u32(&b, fu);
    tb_key(&b, "v.bool", MOTE_GGUF_BOOL); tb_u8(&b, 1);
    tb_key(&b, "v.str", MOTE_GGUF_STRING); tb_str(&b, "tab\there \"q\" \xe2\x96\x81 \x01");
    tb_key(&b, "v.u64", MOTE_GGUF_UINT64); tb_u64(&b, UINT64_MAX);
    tb_key(&b, "v.i64", MOTE_GGUF_INT64); tb_u64(&b, (uint64_t)INT64_MIN);
    double d = 1.0 / 3.0; uint64_t du; memcpy(&du, &d, 8);
    tb_key(&b, "v.f64", MOTE_GGUF_FLOAT64); tb_u64(&b, du);
    /* [[1, 2], [3]] */
    tb_key(&b, "v.nested", MOTE_GGUF_ARRAY); tb_u32(&b, MOTE_GGUF_ARRAY); tb_u64(&b, 2);
    tb_u32(&b, MOTE_GGUF_UINT32); tb_u64(&b, 2); tb_u32(&b, 1); tb_u32(&b, 2);
    tb_u32(&b, MOTE_GGUF_UINT32); tb_u64(&b, 1); tb_u32(&b, 3);
    /* [["a", ""], []] */
    tb_key(&b, "v.nested_str", MOTE_GGUF_ARRAY); tb_u32(&b, MOTE_GGUF_ARRAY); tb_u64(&b, 2);
    tb_u32(&b, MOTE_GGUF_STRING); tb_u64(&b, 2); tb_str(&b, "a"); tb_str(&b, "");
    tb_u32(&b, MOTE_GGUF_STRING); tb_u64(&b, 0);
    /* [[[7]]] */
    tb_key(&b, "v.deep", MOTE_GGUF_ARRAY); tb_u32(&b, MOTE_GGUF_ARRAY); tb_u64(&b, 1);
    tb_u32(&b, MOTE_GGUF_ARRAY); tb_u64(&b, 1); tb_u32(&b, MOTE_GGUF_INT8); tb_u64(&b, 1); tb_u8(&b, 7);
    tb_key(&b, "v.strs", MOTE_GGUF_ARRAY); tb_u32(&b, MOTE_GGUF_STRING); tb_u64(&b, 3);
    tb_str(&b, "x"); tb_str(&b, ""); tb_str(&b, "zz");
    tb_key(&b, "v.empty", MOTE_GGUF_ARRAY); tb_u32(&b, MOTE_GGUF_FLOAT64); tb_u64(&b, 0);
    tb_key(&b, "v.bools", MOTE_GGUF_ARRAY); tb_u32(&b, MOTE_GGUF_BOOL); tb_u64(&b, 3);
    tb_u8(&b, 1); tb_u8(&b, 0); tb_u8(&b, 1);
    tb_pad(&b, MOTE_GGUF_DEFAULT_ALIGNMENT);
    return b;
}

/* ---- the valid small file of the corpus ---- */

static float g_t0[16];
static uint8_t g_t1[68];
static uint16_t g_t2[4];

/* Write the corpus's base file: 7 key/values, 3 tensors (f32, q8_0, f16),
 * alignment 64. */
static mote_status write_base(const char *path, mote_error *err) {
    mote_gguf_writer *w = mote__gguf_writer_new();
    if (!w) return MOTE_ERR_NOMEM;
    for (int i = 0; i < 16; i++) g_t0[i] = (float)i * 0.5f - 3.0f;
    /* Raw bytes suffice for q8_0: the reader does not look inside blocks. */
    for (int i = 0; i < 68; i++) g_t1[i] = (uint8_t)(i * 37 + 11);
    for (int i = 0; i < 4; i++) g_t2[i] = mote__f32_to_f16((float)i + 0.25f);
    const char *toks[] = {"a", "bb", "ccc"};
    float fs[] = {1.5f, 2.5f};
    mote_status s = MOTE_OK;
    s = s ? s : mote__gguf_set_str(w, "general.architecture", "llama");
    s = s ? s : mote__gguf_set_u32(w, "general.alignment", 64);
    s = s ? s : mote__gguf_set_u32(w, "test.k1", 7);
    s = s ? s : mote__gguf_set_i32(w, "test.k2", -7);
    s = s ? s : mote__gguf_set_arr_str(w, "test.tokens", toks, 3);
    s = s ? s : mote__gguf_set_arr(w, "test.f32s", MOTE_GGUF_FLOAT32, fs, 2);
    s = s ? s : mote__gguf_set_bool(w, "test.flag", true);
    int64_t ne0[] = {8, 2}, ne1[] = {32, 2}, ne2[] = {4};
    s = s ? s : mote__gguf_add_tensor(w, "t.0", MOTE_TYPE_F32, 2, ne0, g_t0, err);
    s = s ? s : mote__gguf_add_tensor(w, "t.1", MOTE_TYPE_Q8_0, 2, ne1, g_t1, err);
    s = s ? s : mote__gguf_add_tensor(w, "t.2", MOTE_TYPE_F16, 1, ne2, g_t2, err);
    s = s ? s : mote__gguf_write(w, path, err);
    mote__gguf_writer_free(w);
    return s;
}

/* Where each field of a valid file lies (found by a trusting walk). */
typedef struct kv_loc { uint64_t key, type, val; } kv_loc; /* key: its length field */
typedef struct t_loc { uint64_t name, n_dims, ne[4], type, offset; } t_loc;
typedef struct layout { kv_loc kv[32]; int n_kv; t_loc t[8]; int n_t; uint64_t header_end; } layout;

static uint64_t skip_val(const uint8_t *p, uint64_t pos, uint32_t type) {
    static const int sz[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    if (type == MOTE_GGUF_STRING) return pos + 8 + get64(p + pos);
    if (type != MOTE_GGUF_ARRAY) return pos + (uint64_t)sz[type];
    uint32_t et = get32(p + pos);
    uint64_t n = get64(p + pos + 4);
    pos += 12;
    for (uint64_t i = 0; i < n; i++) pos = skip_val(p, pos, et);
    return pos;
}

static void locate(const uint8_t *p, layout *L) {
    memset(L, 0, sizeof *L);
    uint64_t n_t = get64(p + 8), n_kv = get64(p + 16), pos = 24;
    for (uint64_t i = 0; i < n_kv; i++) {
        kv_loc *k = &L->kv[L->n_kv++];
        k->key = pos;
        pos += 8 + get64(p + pos);
        k->type = pos;
        k->val = pos + 4;
        pos = skip_val(p, pos + 4, get32(p + pos));
    }
    for (uint64_t i = 0; i < n_t; i++) {
        t_loc *t = &L->t[L->n_t++];
        t->name = pos;
        pos += 8 + get64(p + pos);
        t->n_dims = pos;
        uint32_t nd = get32(p + pos);
        pos += 4;
        for (uint32_t d = 0; d < nd; d++, pos += 8) t->ne[d] = pos;
        t->type = pos;
        t->offset = pos + 4;
        pos += 12;
    }
    L->header_end = pos;
}

/* ---- round trips ---- */

static void test_roundtrip_setters(void) {
    const char *path = tmp_path("rt.gguf");
    mote_gguf_writer *w = mote__gguf_writer_new();
    T_REQUIRE(w, "writer_new");
    uint8_t u8s[] = {0, 1, 255};
    int8_t i8s[] = {-128, 0, 127};
    uint16_t u16s[] = {0, 65535};
    int16_t i16s[] = {-32768, 32767};
    uint32_t u32s[] = {0, 4294967295u, 7};
    int32_t i32s[] = {INT32_MIN, -1, INT32_MAX};
    float f32s[] = {0.0f, -1.5f, 3.25e-20f, 1e30f};
    uint64_t u64s[] = {UINT64_MAX, 0};
    int64_t i64s[] = {INT64_MIN, INT64_MAX};
    double f64s[] = {1.0 / 3.0, -0.0};
    uint8_t bools[] = {1, 0};
    const char *strs[] = {"", "hello", "line\nbreak", "\xe2\x96\x81the"};
    struct { const char *key; mote_gguf_vtype t; const void *data; uint64_t n; } arrs[] = {
        {"a.u8", MOTE_GGUF_UINT8, u8s, 3}, {"a.i8", MOTE_GGUF_INT8, i8s, 3},
        {"a.u16", MOTE_GGUF_UINT16, u16s, 2}, {"a.i16", MOTE_GGUF_INT16, i16s, 2},
        {"a.u32", MOTE_GGUF_UINT32, u32s, 3}, {"a.i32", MOTE_GGUF_INT32, i32s, 3},
        {"a.f32", MOTE_GGUF_FLOAT32, f32s, 4}, {"a.u64", MOTE_GGUF_UINT64, u64s, 2},
        {"a.i64", MOTE_GGUF_INT64, i64s, 2}, {"a.f64", MOTE_GGUF_FLOAT64, f64s, 2},
        {"a.bool", MOTE_GGUF_BOOL, bools, 2}, {"a.empty", MOTE_GGUF_UINT32, NULL, 0},
    };
    mote_status s = MOTE_OK;
    s = s ? s : mote__gguf_set_u32(w, "general.alignment", 128);
    s = s ? s : mote__gguf_set_u32(w, "s.u32", 1); /* replaced below */
    s = s ? s : mote__gguf_set_i32(w, "s.i32", -123456);
    s = s ? s : mote__gguf_set_u64(w, "s.u64", 0x123456789abcdef0ull);
    s = s ? s : mote__gguf_set_f32(w, "s.f32", 9.999999747378752e-06f);
    s = s ? s : mote__gguf_set_bool(w, "s.bool", false);
    s = s ? s : mote__gguf_set_str(w, "s.str", "caf\xc3\xa9 \"quoted\"");
    s = s ? s : mote__gguf_set_str(w, "s.empty", "");
    s = s ? s : mote__gguf_set_u32(w, "s.u32", 4000000000u);
    for (size_t i = 0; i < sizeof arrs / sizeof arrs[0]; i++)
        s = s ? s : mote__gguf_set_arr(w, arrs[i].key, arrs[i].t, arrs[i].data, arrs[i].n);
    s = s ? s : mote__gguf_set_arr_str(w, "a.str", strs, 4);
    T_CHECK(mote__gguf_set_arr(w, "bad", MOTE_GGUF_STRING, strs, 1) == MOTE_ERR_INVALID_ARG, "set_arr of strings");
    T_REQUIRE(s == MOTE_OK, "setters: %d", s);

    /* Tensors of several types, quantized ones included: random bytes of
     * the exact size (the reader does not interpret blocks). */
    struct { const char *name; uint32_t type; int n_dims; int64_t ne[4]; } ts[] = {
        {"f32.2d", MOTE_TYPE_F32, 2, {5, 3}},
        {"f16.1d", MOTE_TYPE_F16, 1, {7}},
        {"q4_0", MOTE_TYPE_Q4_0, 2, {64, 2}},
        {"q8_0.3d", MOTE_TYPE_Q8_0, 3, {32, 3, 2}},
        {"q4_K", MOTE_TYPE_Q4_K, 2, {256, 2}},
        {"i32.4d", MOTE_TYPE_I32, 4, {3, 1, 1, 2}},
        {"bf16", MOTE_TYPE_BF16, 1, {9}},
        {"empty", MOTE_TYPE_F32, 2, {4, 0}},
    };
    enum { NT = sizeof ts / sizeof ts[0] };
    uint8_t *data[NT];
    uint64_t sizes[NT];
    mote_error err = {0};
    for (int i = 0; i < NT; i++) {
        uint64_t nb;
        T_REQUIRE(mote__type_row_bytes(ts[i].type, (uint64_t)ts[i].ne[0], &nb), "row bytes");
        for (int d = 1; d < ts[i].n_dims; d++) nb *= (uint64_t)ts[i].ne[d];
        sizes[i] = nb;
        data[i] = malloc(nb ? nb : 1);
        for (uint64_t j = 0; j < nb; j++) data[i][j] = (uint8_t)(j * 131 + (uint64_t)i * 7 + 1);
        s = mote__gguf_add_tensor(w, ts[i].name, ts[i].type, ts[i].n_dims, ts[i].ne, data[i], &err);
        T_CHECK(s == MOTE_OK, "add_tensor %s: %s", ts[i].name, err.msg);
    }
    s = mote__gguf_write(w, path, &err);
    mote__gguf_writer_free(w);
    T_REQUIRE(s == MOTE_OK, "write: %s", err.msg);
    struct stat st;
    char tmpname[1100];
    snprintf(tmpname, sizeof tmpname, "%s.tmp", path);
    T_CHECK(stat(tmpname, &st) != 0, "the .tmp file was renamed away");

    mote_gguf *g;
    s = mote_gguf_open(path, &g, &err);
    T_REQUIRE(s == MOTE_OK, "open: %s", err.msg);
    T_CHECK(mote_gguf_version(g) == 3, "version");
    T_CHECK(mote__gguf_alignment(g) == 128, "alignment %u", mote__gguf_alignment(g));
    T_CHECK(mote__gguf_data_offset(g) % 128 == 0, "data offset aligned");
    T_CHECK(mote_gguf_n_kv(g) == 8 + (int64_t)(sizeof arrs / sizeof arrs[0]) + 1, "n_kv %lld",
            (long long)mote_gguf_n_kv(g));
    T_CHECK(strcmp(mote_gguf_kv_key(g, 1), "s.u32") == 0, "a replaced key keeps its place");

    uint32_t u32 = 0; int64_t i64 = 0; float f = 0; bool bv = true; const char *str; uint64_t len;
    T_CHECK(mote__gguf_get_u32(g, "s.u32", &u32, &err) == MOTE_OK && u32 == 4000000000u, "u32 %u", u32);
    T_CHECK(mote__gguf_get_i64(g, "s.i32", &i64, &err) == MOTE_OK && i64 == -123456, "i32");
    T_CHECK(mote__gguf_get_i64(g, "s.u64", &i64, &err) == MOTE_OK && i64 == 0x123456789abcdef0ll, "u64");
    T_CHECK(mote__gguf_get_f32(g, "s.f32", &f, &err) == MOTE_OK && f == 9.999999747378752e-06f, "f32");
    T_CHECK(mote__gguf_get_bool(g, "s.bool", &bv, &err) == MOTE_OK && !bv, "bool");
    T_CHECK(mote__gguf_get_str(g, "s.str", &str, &len, &err) == MOTE_OK && len == 14 &&
            memcmp(str, "caf\xc3\xa9 \"quoted\"", 14) == 0, "str");
    T_CHECK(mote__gguf_get_str(g, "s.empty", &str, &len, &err) == MOTE_OK && len == 0, "empty str");
    for (size_t i = 0; i < sizeof arrs / sizeof arrs[0]; i++) {
        mote_gguf_vtype et; uint64_t n; const void *p;
        s = mote__gguf_get_arr(g, arrs[i].key, &et, &n, &p, &err);
        T_CHECK(s == MOTE_OK && et == arrs[i].t && n == arrs[i].n, "array %s", arrs[i].key);
        static const int esz[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
        if (s == MOTE_OK && n)
            T_CHECK(memcmp(p, arrs[i].data, n * (uint64_t)esz[et]) == 0, "array %s bytes", arrs[i].key);
    }
    int64_t si = mote__gguf_find_key(g, "a.str");
    T_REQUIRE(si >= 0, "a.str");
    T_CHECK(mote__gguf_kv_type(g, si) == MOTE_GGUF_ARRAY, "a.str type");
    for (uint64_t j = 0; j < 4; j++) {
        T_CHECK(mote__gguf_arr_str(g, si, j, &str, &len) == MOTE_OK && len == strlen(strs[j]) &&
                memcmp(str, strs[j], len) == 0, "a.str[%llu]", (unsigned long long)j);
    }
    T_CHECK(mote__gguf_arr_str(g, si, 4, &str, &len) == MOTE_ERR_INVALID_ARG, "arr_str past the end");
    T_CHECK(mote__gguf_arr_str(g, mote__gguf_find_key(g, "a.u8"), 0, &str, &len) == MOTE_ERR_INVALID_ARG,
            "arr_str of a u8 array");

    T_CHECK(mote_gguf_n_tensors(g) == NT, "n_tensors");
    for (int i = 0; i < NT; i++) {
        const mote_gguf_tensor *t = mote__gguf_find_tensor(g, ts[i].name);
        T_REQUIRE(t && t == mote__gguf_tensor(g, i), "tensor %s", ts[i].name);
        T_CHECK(t->type == ts[i].type && t->n_dims == ts[i].n_dims, "tensor %s type/dims", ts[i].name);
        for (int d = 0; d < 4; d++)
            T_CHECK(t->ne[d] == (d < ts[i].n_dims ? ts[i].ne[d] : 1), "tensor %s ne[%d]", ts[i].name, d);
        T_CHECK(t->nbytes == sizes[i], "tensor %s nbytes", ts[i].name);
        T_CHECK(t->offset % 128 == 0, "tensor %s offset aligned", ts[i].name);
        T_CHECK(memcmp(t->data, data[i], sizes[i]) == 0, "tensor %s data", ts[i].name);
        T_CHECK(((uintptr_t)t->data % 128) == 0, "tensor %s data pointer aligned", ts[i].name);
        const char *nm, *tn; int nd; int64_t ne[4]; uint64_t nb;
        mote_gguf_tensor_get(g, i, &nm, &tn, &nd, ne, &nb);
        T_CHECK(strcmp(nm, ts[i].name) == 0 && strcmp(tn, mote__type_name(ts[i].type)) == 0 &&
                nd == ts[i].n_dims && nb == sizes[i] && ne[0] == ts[i].ne[0], "tensor_get %s", ts[i].name);
    }
    T_CHECK(mote__gguf_find_tensor(g, "nope") == NULL, "absent tensor");
    T_CHECK(mote__gguf_tensor(g, NT) == NULL && mote__gguf_tensor(g, -1) == NULL, "tensor index range");
    mote_gguf_close(g);
    for (int i = 0; i < NT; i++) free(data[i]);
    remove(path);
}

static void test_roundtrip_every_type(void) {
    tb b = make_every_type();
    mem_gguf m;
    mote_error err = {0};
    T_REQUIRE(open_mem(b.p, b.n, "every-type", &m, &err) == MOTE_OK, "open: %s", err.msg);
    T_CHECK(mote_gguf_n_kv(m.g) == 18, "n_kv");
    /* Copy every key/value through the writer; the file must come back byte
     * for byte (same layout as the builder's). */
    mote_gguf_writer *w = mote__gguf_writer_new();
    for (int64_t i = 0; i < mote_gguf_n_kv(m.g); i++)
        T_CHECK(mote__gguf_set_from(w, m.g, i) == MOTE_OK, "set_from %lld", (long long)i);
    T_CHECK(mote__gguf_set_from(w, m.g, 99) == MOTE_ERR_INVALID_ARG, "set_from out of range");
    const char *path = tmp_path("every.gguf");
    T_REQUIRE(mote__gguf_write(w, path, &err) == MOTE_OK, "write: %s", err.msg);
    mote__gguf_writer_free(w);
    size_t n;
    uint8_t *back = slurp(path, &n);
    T_CHECK(back && n == b.n && memcmp(back, b.p, n) == 0, "byte-identical copy (%zu vs %zu bytes)", n, b.n);
    free(back);
    remove(path);

    /* Getters and their type rules. */
    mote_gguf *g = m.g;
    uint32_t u32; int64_t i64; float f; bool bv; const char *s; uint64_t len;
    T_CHECK(mote__gguf_get_u32(g, "v.u8", &u32, &err) == MOTE_OK && u32 == 200, "u8 as u32");
    T_CHECK(mote__gguf_get_u32(g, "v.u16", &u32, &err) == MOTE_OK && u32 == 60000, "u16 as u32");
    T_CHECK(mote__gguf_get_i64(g, "v.i8", &i64, &err) == MOTE_OK && i64 == -100, "i8 as i64");
    T_CHECK(mote__gguf_get_i64(g, "v.i16", &i64, &err) == MOTE_OK && i64 == -30000, "i16 as i64");
    T_CHECK(mote__gguf_get_i64(g, "v.i32", &i64, &err) == MOTE_OK && i64 == -2000000000, "i32 as i64");
    T_CHECK(mote__gguf_get_i64(g, "v.i64", &i64, &err) == MOTE_OK && i64 == INT64_MIN, "i64 min");
    T_CHECK(mote__gguf_get_u32(g, "v.i8", &u32, &err) == MOTE_ERR_FORMAT && strstr(err.msg, "out of range"),
            "negative as u32: %s", err.msg);
    T_CHECK(mote__gguf_get_i64(g, "v.u64", &i64, &err) == MOTE_ERR_FORMAT && strstr(err.msg, "v.u64"),
            "u64 max as i64: %s", err.msg);
    T_CHECK(mote__gguf_get_u32(g, "v.f32", &u32, &err) == MOTE_ERR_FORMAT && strstr(err.msg, "f32"),
            "f32 as u32: %s", err.msg);
    T_CHECK(mote__gguf_get_f32(g, "v.f32", &f, &err) == MOTE_OK && f == 0.1f, "f32");
    T_CHECK(mote__gguf_get_f32(g, "v.f64", &f, &err) == MOTE_OK && f == (float)(1.0 / 3.0), "f64 as f32");
    T_CHECK(mote__gguf_get_f32(g, "v.u8", &f, &err) == MOTE_ERR_FORMAT, "u8 as f32");
    T_CHECK(mote__gguf_get_bool(g, "v.bool", &bv, &err) == MOTE_OK && bv, "bool");
    T_CHECK(mote__gguf_get_bool(g, "v.u8", &bv, &err) == MOTE_ERR_FORMAT, "u8 as bool");
    T_CHECK(mote__gguf_get_str(g, "v.str", &s, &len, &err) == MOTE_OK && len == 18, "str len %llu",
            (unsigned long long)len);
    T_CHECK(mote__gguf_get_str(g, "v.strs", &s, &len, &err) == MOTE_ERR_FORMAT && strstr(err.msg, "array"),
            "array as str: %s", err.msg);
    T_CHECK(mote__gguf_get_str(g, "no.such", &s, &len, &err) == MOTE_ERR_FORMAT &&
            strstr(err.msg, "missing key no.such") && strstr(err.msg, "every-type"), "missing: %s", err.msg);
    mote_gguf_vtype et; uint64_t na; const void *p;
    T_CHECK(mote__gguf_get_arr(g, "v.nested", &et, &na, &p, &err) == MOTE_OK && et == MOTE_GGUF_ARRAY &&
            na == 2 && p == NULL, "nested array");
    T_CHECK(mote__gguf_get_arr(g, "v.strs", &et, &na, &p, &err) == MOTE_OK && et == MOTE_GGUF_STRING &&
            na == 3 && p == NULL, "string array");
    T_CHECK(mote__gguf_get_arr(g, "v.u8", &et, &na, &p, &err) == MOTE_ERR_FORMAT, "u8 as array");
    T_CHECK(mote__gguf_kv_type(g, -1) == MOTE_GGUF_VTYPE_COUNT && mote_gguf_kv_key(g, 18) == NULL, "kv index range");

    /* Formatting. */
    struct { const char *key; const char *want; int max_items; } fm[] = {
        {"v.u8", "200", 8}, {"v.i8", "-100", 8}, {"v.u16", "60000", 8}, {"v.i16", "-30000", 8},
        {"v.u32", "4000000000", 8}, {"v.i32", "-2000000000", 8}, {"v.f32", "0.1", 8},
        {"v.bool", "true", 8}, {"v.str", "\"tab\\there \\\"q\\\" \xe2\x96\x81 \\x01\"", 8},
        {"v.u64", "18446744073709551615", 8}, {"v.i64", "-9223372036854775808", 8},
        {"v.f64", "0.33333333333333331", 8}, {"v.nested", "[[1, 2], [3]]", 8},
        {"v.nested", "[[1, ... (2 items)], ... (2 items)]", 1}, {"v.nested", "[... (2 items)]", 0},
        {"v.nested_str", "[[\"a\", \"\"], []]", 8}, {"v.deep", "[[[7]]]", 8},
        {"v.strs", "[\"x\", \"\", \"zz\"]", 3}, {"v.strs", "[\"x\", \"\", ... (3 items)]", 2},
        {"v.empty", "[]", 8}, {"v.bools", "[true, false, true]", 8},
    };
    char buf[256];
    for (size_t i = 0; i < sizeof fm / sizeof fm[0]; i++) {
        int64_t k = mote__gguf_find_key(g, fm[i].key);
        size_t nw = mote_gguf_kv_format(g, k, buf, sizeof buf, fm[i].max_items);
        T_CHECK(strcmp(buf, fm[i].want) == 0 && nw == strlen(buf), "format %s/%d: got '%s', want '%s'",
                fm[i].key, fm[i].max_items, buf, fm[i].want);
    }
    char small[8];
    size_t nw = mote_gguf_kv_format(g, mote__gguf_find_key(g, "v.strs"), small, sizeof small, 8);
    T_CHECK(nw == 7 && strcmp(small, "[\"x\"...") == 0, "cut output: '%s'", small);
    T_CHECK(mote_gguf_kv_format(g, 99, buf, sizeof buf, 8) == 0 && buf[0] == '\0', "format out of range");
    close_mem(&m);
    free(b.p);
}

/* ---- the real model ---- */

static void test_stories260k(void) {
    const char *assets = t_assets();
    if (!assets) T_SKIP("../shared/assets/models/stories260K.gguf is absent");
    char path[4200];
    snprintf(path, sizeof path, "%s/models/stories260K.gguf", assets);
    mote_gguf *g;
    mote_error err = {0};
    T_REQUIRE(mote_gguf_open(path, &g, &err) == MOTE_OK, "open: %s", err.msg);
    T_CHECK(mote_gguf_version(g) == 3, "version");
    T_CHECK(mote_gguf_n_tensors(g) == 48, "48 tensors, got %lld", (long long)mote_gguf_n_tensors(g));
    T_CHECK(mote_gguf_n_kv(g) == 19, "19 kv, got %lld", (long long)mote_gguf_n_kv(g));
    T_CHECK(mote__gguf_alignment(g) == 32 && mote__gguf_data_offset(g) == 14176, "alignment/data offset");
    T_CHECK(mote__gguf_data_size(g) == 1185376 - 14176, "data size");
    const char *s; uint64_t len;
    T_CHECK(mote__gguf_get_str(g, "general.architecture", &s, &len, &err) == MOTE_OK && len == 5 &&
            memcmp(s, "llama", 5) == 0, "arch");
    uint32_t u; float f;
    T_CHECK(mote__gguf_get_u32(g, "llama.block_count", &u, &err) == MOTE_OK && u == 5, "block_count");
    T_CHECK(mote__gguf_get_u32(g, "llama.embedding_length", &u, &err) == MOTE_OK && u == 64, "n_embd");
    T_CHECK(mote__gguf_get_f32(g, "llama.attention.layer_norm_rms_epsilon", &f, &err) == MOTE_OK &&
            f == 9.999999747378752e-06f, "eps");
    int64_t k = mote__gguf_find_key(g, "tokenizer.ggml.tokens");
    T_REQUIRE(k >= 0, "tokens");
    T_CHECK(mote__gguf_arr_str(g, k, 1, &s, &len) == MOTE_OK && len == 3 && memcmp(s, "<s>", 3) == 0, "token 1");
    T_CHECK(mote__gguf_arr_str(g, k, 511, &s, &len) == MOTE_OK, "token 511");
    T_CHECK(mote__gguf_arr_str(g, k, 512, &s, &len) == MOTE_ERR_INVALID_ARG, "token 512");
    char buf[256];
    mote_gguf_kv_format(g, k, buf, sizeof buf, 3);
    T_CHECK(strcmp(buf, "[\"<unk>\", \"<s>\", \"</s>\", ... (512 items)]") == 0, "tokens format: %s", buf);
    const mote_gguf_tensor *t = mote__gguf_find_tensor(g, "token_embd.weight");
    T_REQUIRE(t, "token_embd.weight");
    T_CHECK(t->type == MOTE_TYPE_F32 && t->n_dims == 2 && t->ne[0] == 64 && t->ne[1] == 512 &&
            t->ne[2] == 1 && t->nbytes == 131072 && t->offset == 0, "token_embd.weight shape");
    t = mote__gguf_find_tensor(g, "blk.4.ffn_down.weight");
    T_CHECK(t && t->ne[0] == 172 && t->ne[1] == 64 && t->offset == 1082880, "ffn_down");
    for (int64_t i = 0; i < mote_gguf_n_tensors(g); i++) {
        const mote_gguf_tensor *ti = mote__gguf_tensor(g, i);
        T_CHECK(mote__gguf_find_tensor(g, ti->name) == ti, "find %s", ti->name);
    }

    /* Write it back: every key/value and tensor through the writer must
     * give the same bytes llama.cpp's writer gave. */
    mote_gguf_writer *w = mote__gguf_writer_new();
    for (int64_t i = 0; i < mote_gguf_n_kv(g); i++) T_CHECK(mote__gguf_set_from(w, g, i) == MOTE_OK, "set_from");
    for (int64_t i = 0; i < mote_gguf_n_tensors(g); i++) {
        const mote_gguf_tensor *ti = mote__gguf_tensor(g, i);
        T_CHECK(mote__gguf_add_tensor(w, ti->name, ti->type, ti->n_dims, ti->ne, ti->data, &err) == MOTE_OK,
                "add %s: %s", ti->name, err.msg);
    }
    const char *out = tmp_path("stories.gguf");
    T_CHECK(mote__gguf_write(w, out, &err) == MOTE_OK, "write: %s", err.msg);
    mote__gguf_writer_free(w);
    size_t n1, n2;
    uint8_t *a = slurp(path, &n1), *b = slurp(out, &n2);
    T_CHECK(a && b && n1 == n2 && memcmp(a, b, n1) == 0, "rewritten file differs (%zu vs %zu bytes)", n1, n2);
    free(a);
    free(b);
    remove(out);
    mote_gguf_close(g);
}

/* ---- API errors ---- */

static void test_api_errors(void) {
    mote_gguf *g = (mote_gguf *)1;
    mote_error err = {0};
    T_CHECK(mote_gguf_open("/nonexistent/dir/x.gguf", &g, &err) == MOTE_ERR_IO && g == NULL &&
            strstr(err.msg, "/nonexistent/dir/x.gguf"), "missing file: %s", err.msg);
    T_CHECK(mote_gguf_open(build_dir(), &g, &err) == MOTE_ERR_IO && g == NULL, "a directory: %s", err.msg);
    const char *empty = tmp_path("empty.gguf");
    spit(empty, "", 0);
    T_CHECK(mote_gguf_open(empty, &g, &err) == MOTE_ERR_FORMAT && g == NULL && strstr(err.msg, empty),
            "empty file: %s", err.msg);
    remove(empty);

    mote_gguf_writer *w = mote__gguf_writer_new();
    float x[64] = {0};
    int64_t ne[] = {8, 2}, ne_q[] = {33}, ne_neg[] = {-1}, ne_big[] = {INT64_MAX, 2};
    T_CHECK(mote__gguf_add_tensor(w, "a", MOTE_TYPE_F32, 2, ne, x, &err) == MOTE_OK, "add a");
    T_CHECK(mote__gguf_add_tensor(w, "a", MOTE_TYPE_F32, 2, ne, x, &err) == MOTE_ERR_INVALID_ARG &&
            strstr(err.msg, "duplicate"), "duplicate: %s", err.msg);
    T_CHECK(mote__gguf_add_tensor(w, "", MOTE_TYPE_F32, 2, ne, x, &err) == MOTE_ERR_INVALID_ARG, "empty name");
    char longname[80];
    memset(longname, 'n', 64);
    longname[64] = '\0';
    T_CHECK(mote__gguf_add_tensor(w, longname, MOTE_TYPE_F32, 2, ne, x, &err) == MOTE_ERR_INVALID_ARG, "long name");
    longname[63] = '\0';
    T_CHECK(mote__gguf_add_tensor(w, longname, MOTE_TYPE_F32, 2, ne, x, &err) == MOTE_OK, "63-byte name");
    T_CHECK(mote__gguf_add_tensor(w, "b", MOTE_TYPE_F32, 5, ne, x, &err) == MOTE_ERR_INVALID_ARG, "5 dims");
    T_CHECK(mote__gguf_add_tensor(w, "b", MOTE_TYPE_F32, 0, ne, x, &err) == MOTE_ERR_INVALID_ARG, "0 dims");
    T_CHECK(mote__gguf_add_tensor(w, "b", 4, 2, ne, x, &err) == MOTE_ERR_INVALID_ARG && strstr(err.msg, "type"),
            "type 4");
    T_CHECK(mote__gguf_add_tensor(w, "b", MOTE_TYPE_Q8_0, 1, ne_q, x, &err) == MOTE_ERR_INVALID_ARG, "ne[0] 33 q8_0");
    T_CHECK(mote__gguf_add_tensor(w, "b", MOTE_TYPE_F32, 1, ne_neg, x, &err) == MOTE_ERR_INVALID_ARG, "negative");
    T_CHECK(mote__gguf_add_tensor(w, "b", MOTE_TYPE_F32, 2, ne_big, x, &err) == MOTE_ERR_INVALID_ARG, "overflow");
    T_CHECK(mote__gguf_write(w, "/nonexistent/dir/out.gguf", &err) == MOTE_ERR_IO &&
            strstr(err.msg, "/nonexistent/dir/out.gguf.tmp"), "write to a missing folder: %s", err.msg);
    T_CHECK(mote__gguf_set_u32(w, "general.alignment", 48) == MOTE_OK, "set");
    T_CHECK(mote__gguf_write(w, tmp_path("bad.gguf"), &err) == MOTE_ERR_INVALID_ARG &&
            strstr(err.msg, "alignment"), "alignment 48: %s", err.msg);
    T_CHECK(mote__gguf_set_str(w, "general.alignment", "32") == MOTE_OK, "set");
    T_CHECK(mote__gguf_write(w, tmp_path("bad.gguf"), &err) == MOTE_ERR_INVALID_ARG, "alignment as a string");
    T_CHECK(mote__gguf_set_u32(w, "", 1) == MOTE_OK, "set");
    T_CHECK(mote__gguf_set_u32(w, "general.alignment", 16) == MOTE_OK, "set");
    T_CHECK(mote__gguf_write(w, tmp_path("bad.gguf"), &err) == MOTE_ERR_INVALID_ARG && strstr(err.msg, "key"),
            "empty key: %s", err.msg);
    mote__gguf_writer_free(w);
}

/* ---- the damaged-file corpus ---- */

static char g_corpus_dir[1024], g_seed_dir[1024];

static void corpus_dirs(void) {
    snprintf(g_corpus_dir, sizeof g_corpus_dir, "%s/gguf-corpus", build_dir());
    snprintf(g_seed_dir, sizeof g_seed_dir, "%s/gguf-seeds", build_dir());
    mkdir(build_dir(), 0777);
    mkdir(g_corpus_dir, 0777);
    mkdir(g_seed_dir, 0777);
}

static void save(const char *dir, const char *name, const uint8_t *p, size_t n) {
    char path[1200];
    snprintf(path, sizeof path, "%s/%s.gguf", dir, name);
    spit(path, p, n);
}

/* Open data[0..n) as a damaged file: FORMAT, a one-line message naming the
 * file and containing `want`, no handle, and no allocation over 64 KiB.
 * Returns 0 or fills why. */
static int expect_damaged(const uint8_t *data, size_t n, const char *name, const char *want, char *why,
                          size_t why_size) {
    mem_gguf m;
    mote_error err = {0};
    g_max_alloc = 0;
    mote_set_allocator(&g_counting);
    mote_status s = open_mem(data, n, name, &m, &err);
    mote_set_allocator(NULL);
    if (s == MOTE_OK) close_mem(&m);
    else free(m.buf);
    if (s != MOTE_ERR_FORMAT) { snprintf(why, why_size, "status %d, message '%s'", s, err.msg); return -1; }
    if (m.g != NULL) { snprintf(why, why_size, "a handle on failure"); return -1; }
    size_t nl = strlen(name);
    if (strncmp(err.msg, name, nl) != 0 || strncmp(err.msg + nl, ": ", 2) != 0 || strchr(err.msg, '\n')) {
        snprintf(why, why_size, "message does not start with the name or has a newline: '%s'", err.msg);
        return -1;
    }
    if (want && !strstr(err.msg, want)) { snprintf(why, why_size, "'%s' lacks '%s'", err.msg, want); return -1; }
    if (g_max_alloc > 65536) { snprintf(why, why_size, "allocated %zu bytes at once", g_max_alloc); return -1; }
    return 0;
}

/* A fresh copy of the base file (for mutation). */
static uint8_t *g_base;
static size_t g_base_n;
static layout g_L;
static uint64_t g_required; /* bytes the base file needs: data offset + end of the last tensor */

static int load_base(void) {
    if (g_base) return 0;
    const char *path = tmp_path("base.gguf");
    mote_error err = {0};
    if (write_base(path, &err) != MOTE_OK) return -1;
    g_base = slurp(path, &g_base_n);
    remove(path);
    if (!g_base) return -1;
    locate(g_base, &g_L);
    mem_gguf m;
    if (open_mem(g_base, g_base_n, "base", &m, &err) != MOTE_OK) return -1;
    g_required = 0;
    for (int64_t i = 0; i < mote_gguf_n_tensors(m.g); i++) {
        const mote_gguf_tensor *t = mote__gguf_tensor(m.g, i);
        if (t->offset + t->nbytes > g_required) g_required = t->offset + t->nbytes;
    }
    g_required += mote__gguf_data_offset(m.g);
    close_mem(&m);
    return 0;
}

static void test_base_file(void) {
    T_REQUIRE(load_base() == 0, "cannot write or read the base file");
    T_CHECK(g_L.n_kv == 7 && g_L.n_t == 3, "layout");
    mem_gguf m;
    mote_error err = {0};
    T_REQUIRE(open_mem(g_base, g_base_n, "base", &m, &err) == MOTE_OK, "open: %s", err.msg);
    T_CHECK(mote__gguf_alignment(m.g) == 64, "alignment 64");
    T_CHECK(mote__gguf_data_offset(m.g) == ((g_L.header_end + 63) & ~(uint64_t)63), "data offset");
    const mote_gguf_tensor *t1 = mote__gguf_find_tensor(m.g, "t.1"), *t2 = mote__gguf_find_tensor(m.g, "t.2");
    T_CHECK(t1 && t1->offset == 64 && t1->nbytes == 68 && memcmp(t1->data, g_t1, 68) == 0, "t.1");
    T_CHECK(t2 && t2->offset == 192 && t2->nbytes == 8 && memcmp(t2->data, g_t2, 8) == 0, "t.2");
    T_CHECK(g_base_n == mote__gguf_data_offset(m.g) + 256, "the last tensor is padded too");
    close_mem(&m);
    corpus_dirs();
    save(g_seed_dir, "base", g_base, g_base_n);
    tb b = make_every_type();
    save(g_seed_dir, "every-type", b.p, b.n);
    free(b.p);
}

static void test_truncated_everywhere(void) {
    T_REQUIRE(load_base() == 0, "base file");
    char why[700], name[64];
    int bad = 0;
    for (size_t n = 0; n < g_required && bad < 3; n++) {
        snprintf(name, sizeof name, "truncated-%zu", n);
        if (expect_damaged(g_base, n, name, NULL, why, sizeof why)) {
            T_CHECK(0, "truncated at %zu: %s", n, why);
            bad++;
        }
        /* To disk (for the CLI test): the first 32 cuts, then every 13th,
         * and the cuts around the end of the header and of the data. */
        if (n < 32 || n % 13 == 0 || n == g_L.header_end || n == g_L.header_end + 1 || n + 1 == g_required)
            save(g_corpus_dir, name, g_base, n);
    }
    /* Past the last tensor's bytes only padding is missing: still valid. */
    for (size_t n = g_required; n <= g_base_n; n++) {
        mem_gguf m;
        mote_error err = {0};
        T_CHECK(open_mem(g_base, n, "padded", &m, &err) == MOTE_OK, "cut at %zu in the final padding: %s", n, err.msg);
        close_mem(&m);
    }
}

/* One mutation: patch `width` bytes (1, 4 or 8, little-endian; or 0: the
 * bytes of the string `raw`) at `pos` of the base file. */
typedef struct patch { uint64_t pos; int width; uint64_t value; const char *raw; } patch;

static void check_mutation(const char *name, const char *want, const patch *p, int n_patch) {
    uint8_t *buf = malloc(g_base_n);
    memcpy(buf, g_base, g_base_n);
    for (int i = 0; i < n_patch; i++) {
        if (p[i].width == 1) buf[p[i].pos] = (uint8_t)p[i].value;
        else if (p[i].width == 4) put32(buf + p[i].pos, (uint32_t)p[i].value);
        else if (p[i].width == 8) put64(buf + p[i].pos, p[i].value);
        else memcpy(buf + p[i].pos, p[i].raw, strlen(p[i].raw));
    }
    char why[700];
    if (expect_damaged(buf, g_base_n, name, want, why, sizeof why)) T_CHECK(0, "%s: %s", name, why);
    save(g_corpus_dir, name, buf, g_base_n);
    free(buf);
}

#define MUT(name, want, ...)                                                   \
    do {                                                                       \
        const patch ps_[] = {__VA_ARGS__};                                     \
        check_mutation(name, want, ps_, (int)(sizeof ps_ / sizeof ps_[0]));    \
    } while (0)

static void test_mutations(void) {
    T_REQUIRE(load_base() == 0, "base file");
    const layout *L = &g_L;
    /* kv: 0 general.architecture, 1 general.alignment, 2 test.k1, 3 test.k2,
     * 4 test.tokens, 5 test.f32s, 6 test.flag; tensors t.0 f32 [8, 2],
     * t.1 q8_0 [32, 2], t.2 f16 [4]. */
    MUT("bad-magic", "magic", {0, 0, 0, "GGUX"});
    MUT("version-0", "version 0", {4, 4, 0, NULL});
    MUT("version-1", "unsupported version 1", {4, 4, 1, NULL});
    MUT("version-4", "unsupported version 4", {4, 4, 4, NULL});
    MUT("version-big-endian", "big-endian", {4, 4, 0x03000000, NULL});
    MUT("n-tensors-2e63", "n_tensors", {8, 8, 1ull << 63, NULL});
    MUT("n-tensors-2e40", "n_tensors", {8, 8, 1ull << 40, NULL});
    MUT("n-tensors-uint64-max", "n_tensors", {8, 8, UINT64_MAX, NULL});
    MUT("n-tensors-plus-one", NULL, {8, 8, 4, NULL});
    MUT("n-kv-2e63", "n_kv", {16, 8, 1ull << 63, NULL});
    MUT("n-kv-2e40", "n_kv", {16, 8, 1ull << 40, NULL});
    MUT("n-kv-plus-one", NULL, {16, 8, 8, NULL});
    MUT("key-length-huge", "key is", {L->kv[0].key, 8, 1ull << 62, NULL});
    MUT("key-length-uint64-max", "key is", {L->kv[0].key, 8, UINT64_MAX, NULL});
    MUT("key-empty", "empty key", {L->kv[2].key, 8, 0, NULL});
    MUT("key-too-long-for-file", "key", {L->kv[2].key, 8, 70000, NULL});
    MUT("key-with-nul", "NUL", {L->kv[2].key + 8 + 4, 1, 0, NULL});
    MUT("key-duplicated", "duplicate key 'test.k1'", {L->kv[3].key + 8 + 6, 0, 0, "1"});
    MUT("string-length-huge", "string", {L->kv[0].val, 8, 1ull << 62, NULL});
    MUT("string-length-past-end", "string", {L->kv[0].val, 8, g_base_n, NULL});
    MUT("value-type-13", "unknown value type 13", {L->kv[2].type, 4, 13, NULL});
    MUT("value-type-uint32-max", "unknown value type 4294967295", {L->kv[2].type, 4, 0xffffffffu, NULL});
    MUT("array-length-huge-strings", "array length", {L->kv[4].val + 4, 8, 1ull << 61, NULL});
    MUT("array-length-huge-f32", "array length", {L->kv[5].val + 4, 8, 1ull << 62, NULL});
    MUT("array-length-uint64-max", "array length", {L->kv[5].val + 4, 8, UINT64_MAX, NULL});
    MUT("array-element-type-13", "unknown array element type 13", {L->kv[5].val, 4, 13, NULL});
    MUT("array-element-string-length-huge", "string", {L->kv[4].val + 12 + 9, 8, 1ull << 60, NULL});
    MUT("alignment-0", "general.alignment = 0", {L->kv[1].val, 4, 0, NULL});
    MUT("alignment-3", "general.alignment = 3", {L->kv[1].val, 4, 3, NULL});
    MUT("alignment-as-i32", "general.alignment has type i32", {L->kv[1].type, 4, MOTE_GGUF_INT32, NULL});
    MUT("tensor-name-empty", "empty tensor name", {L->t[1].name, 8, 0, NULL});
    MUT("tensor-name-with-nul", "NUL", {L->t[1].name + 8 + 1, 1, 0, NULL});
    MUT("tensor-name-length-huge", "tensor name", {L->t[1].name, 8, 1ull << 62, NULL});
    MUT("tensor-name-duplicated", "duplicate tensor name 't.0'", {L->t[2].name + 8 + 2, 0, 0, "0"});
    MUT("n-dims-5", "5 dimensions", {L->t[0].n_dims, 4, 5, NULL});
    MUT("n-dims-0", "0 dimensions", {L->t[0].n_dims, 4, 0, NULL});
    MUT("n-dims-uint32-max", "dimensions", {L->t[0].n_dims, 4, 0xffffffffu, NULL});
    MUT("dim-negative", "negative", {L->t[0].ne[1], 8, (uint64_t)-1, NULL});
    MUT("dim-product-overflows-int64", "int64", {L->t[0].ne[0], 8, 1ull << 32, NULL},
        {L->t[0].ne[1], 8, 1ull << 32, NULL});
    MUT("nbytes-overflows-uint64", "2^64 bytes", {L->t[0].ne[0], 8, 1ull << 31, NULL},
        {L->t[0].ne[1], 8, 1ull << 31, NULL});
    MUT("dim-huge", "outside the data section", {L->t[0].ne[1], 8, 1ull << 40, NULL});
    MUT("ne0-not-block-multiple", "block size", {L->t[1].ne[0], 8, 33, NULL});
    MUT("tensor-type-4", "unknown tensor type 4", {L->t[0].type, 4, 4, NULL});
    MUT("tensor-type-1000", "unknown tensor type 1000", {L->t[0].type, 4, 1000, NULL});
    MUT("offset-near-uint64-max", "outside the data section", {L->t[2].offset, 8, UINT64_MAX - 8, NULL});
    MUT("offset-near-uint64-max-aligned", "outside the data section", {L->t[2].offset, 8, UINT64_MAX - 63, NULL});
    MUT("offset-plus-size-overflows", "overflows", {L->t[2].offset, 8, UINT64_MAX - 3, NULL});
    MUT("offset-outside-data", "lies outside the data section (256 bytes)", {L->t[2].offset, 8, 256, NULL});
    MUT("offset-misaligned", "not a multiple of the alignment (64)", {L->t[2].offset, 8, 196, NULL});
    MUT("data-overlapping", "overlaps tensor 't.0'", {L->t[1].offset, 8, 0, NULL});
    MUT("data-overlapping-same-offset", "overlaps", {L->t[2].offset, 8, 64, NULL});
}

/* Damage the writer cannot express and patches cannot reach. */
static void check_built(const char *name, const char *want, tb *b) {
    char why[700];
    if (expect_damaged(b->p, b->n, name, want, why, sizeof why)) T_CHECK(0, "%s: %s", name, why);
    save(g_corpus_dir, name, b->p, b->n);
    free(b->p);
    memset(b, 0, sizeof *b);
}

static void test_built_damage(void) {
    corpus_dirs();
    tb b = {0};
    tb_header(&b, 0, 1);
    tb_key(&b, "general.alignment", MOTE_GGUF_STRING);
    tb_str(&b, "32");
    check_built("alignment-as-string", "general.alignment has type string", &b);

    tb_header(&b, 1, 0);
    char name[65];
    memset(name, 'w', 64);
    name[64] = '\0';
    tb_str(&b, name);
    tb_u32(&b, 1); tb_u64(&b, 4); tb_u32(&b, MOTE_TYPE_F32); tb_u64(&b, 0);
    tb_pad(&b, 32);
    for (int i = 0; i < 16; i++) tb_u8(&b, 0);
    check_built("tensor-name-64-bytes", "at most 63", &b);

    tb_header(&b, 0, 1);
    tb_key(&b, "deep", MOTE_GGUF_ARRAY);
    for (int d = 0; d < 9; d++) { tb_u32(&b, MOTE_GGUF_ARRAY); tb_u64(&b, 1); }
    tb_u32(&b, MOTE_GGUF_UINT8); tb_u64(&b, 0);
    check_built("arrays-nested-9-deep", "nested more than 8 deep", &b);

    tb_header(&b, 0, 1);
    tb_key(&b, "many", MOTE_GGUF_ARRAY);
    tb_u32(&b, MOTE_GGUF_ARRAY); tb_u64(&b, 1000); /* 1000 empty arrays promised, 2 present */
    for (int i = 0; i < 2; i++) { tb_u32(&b, MOTE_GGUF_UINT8); tb_u64(&b, 0); }
    check_built("nested-array-length-past-end", "array length", &b);

    tb_header(&b, 0, 1);
    tb_key(&b, "k", MOTE_GGUF_ARRAY);
    tb_u32(&b, MOTE_GGUF_ARRAY); tb_u64(&b, 1); tb_u32(&b, 77); tb_u64(&b, 0);
    check_built("nested-array-element-type-77", "unknown array element type 77", &b);

    tb_header(&b, 1, 0); /* tensors but the file ends in the header padding */
    tb_str(&b, "t"); tb_u32(&b, 1); tb_u64(&b, 0); tb_u32(&b, MOTE_TYPE_F32); tb_u64(&b, 0);
    check_built("data-section-past-end", "past the end of the file", &b);

    tb_u32(&b, MOTE_GGUF_MAGIC); tb_u32(&b, 3);
    check_built("header-only-8-bytes", "count", &b);

    tb_bytes(&b, "GG", 2);
    check_built("two-bytes", "shorter than a GGUF header", &b);

    tb_bytes(&b, "{\"not\": \"gguf\"}\n", 16);
    check_built("json", "not a GGUF file", &b);
}

/* Valid oddities the reader must accept. */
static void test_accepted_oddities(void) {
    mote_error err = {0};
    mem_gguf m;
    /* GGUF v2, no tensors, no padding, an empty tensor at the end of a file. */
    tb b = {0};
    tb_u32(&b, MOTE_GGUF_MAGIC); tb_u32(&b, 2); tb_u64(&b, 0); tb_u64(&b, 1);
    tb_key(&b, "k", MOTE_GGUF_UINT8); tb_u8(&b, 1);
    T_CHECK(open_mem(b.p, b.n, "v2", &m, &err) == MOTE_OK && mote_gguf_version(m.g) == 2, "v2: %s", err.msg);
    if (m.g) close_mem(&m); else free(m.buf);
    free(b.p);
    memset(&b, 0, sizeof b);
    tb_header(&b, 2, 0);
    tb_str(&b, "e"); tb_u32(&b, 2); tb_u64(&b, 4); tb_u64(&b, 0); tb_u32(&b, MOTE_TYPE_F32); tb_u64(&b, 32);
    tb_str(&b, "f"); tb_u32(&b, 1); tb_u64(&b, 8); tb_u32(&b, MOTE_TYPE_F32); tb_u64(&b, 0);
    tb_pad(&b, 32);
    for (int i = 0; i < 32; i++) tb_u8(&b, (uint8_t)i);
    T_CHECK(open_mem(b.p, b.n, "empty-tensor", &m, &err) == MOTE_OK, "empty tensor at the end: %s", err.msg);
    if (m.g) {
        const mote_gguf_tensor *t = mote__gguf_find_tensor(m.g, "e");
        T_CHECK(t && t->nbytes == 0 && t->ne[1] == 0, "empty tensor");
        close_mem(&m);
    } else {
        free(m.buf);
    }
    free(b.p);
}

int main(void) {
    T_RUN(test_roundtrip_setters);
    T_RUN(test_roundtrip_every_type);
    T_RUN(test_stories260k);
    T_RUN(test_api_errors);
    T_RUN(test_base_file);
    T_RUN(test_truncated_everywhere);
    T_RUN(test_mutations);
    T_RUN(test_built_damage);
    T_RUN(test_accepted_oddities);
    free(g_base);
    return t_exit();
}
