/* test_bench.c — what `mote bench` computes about a model and a machine:
 * mote_model_bytes_per_token against independent calculations (closed-form
 * arithmetic from the shape and the type's block layout; the GGUF reader's
 * own tensor sizes), including a model whose output is tied to the token
 * embedding; mote_model_weight_type / mote_model_kernel_isa; and the
 * contracts of mote_bench_bandwidth and of the kept-buffer meter
 * (mote_bandwidth_meter: a positive finite figure, the buffer size it
 * reports, clear errors). No speed is asserted: that is for
 * benchmarks. */
#include "mote.h"
#include "core/core.h"
#include "gguf/gguf.h"
#include "test.h"
#include <unistd.h>

static char g_tmpdir[64];

static const char *tmp_path(const char *name) {
    static char buf[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", g_tmpdir, name);
    return buf[k];
}

/* Weights read per token by a Llama model of this shape, all matrices of
 * one type, written out term by term: q and output projections (n_embd x
 * n_embd), k and v (n_embd x kv_dim), gate, up and down (n_embd x n_ff),
 * per block; the output matrix (n_vocab x n_embd); one embedding row.
 * Bytes of n elements = n / block * block_bytes. */
static uint64_t expected_bpt(uint64_t n_embd, uint64_t kv_dim, uint64_t n_ff, uint64_t n_layer,
                             uint64_t n_vocab, uint64_t block, uint64_t block_bytes) {
    uint64_t per_layer = 2 * n_embd * n_embd + 2 * n_embd * kv_dim + 3 * n_embd * n_ff;
    uint64_t elems = n_layer * per_layer + n_vocab * n_embd + n_embd;
    return elems / block * block_bytes;
}

/* Synthetic stories15M shape (6 heads = 6 KV heads) with 2 blocks, q4_0
 * (32 values in 18 bytes) and f16 (2 bytes a value). */
static void test_bytes_per_token_synthetic(void) {
    static const struct { const char *type; uint64_t block, bytes; } cases[] = {
        {"q4_0", 32, 18}, {"f16", 1, 2}, {"q8_0", 32, 34}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mote_synth_params p = mote_synth_default_params();
        p.preset = "stories15m";
        p.type = cases[i].type;
        p.n_layer = 2;
        const char *path = tmp_path("bpt.gguf");
        mote_error err = {0};
        T_REQUIRE(mote_synth_write(path, &p, &err) == MOTE_OK, "synth %s: %s", cases[i].type, err.msg);
        mote_model *m;
        T_REQUIRE(mote_model_load(path, &m, &err) == MOTE_OK, "load: %s", err.msg);
        uint64_t want = expected_bpt(288, 288, 768, 2, 32000, cases[i].block, cases[i].bytes);
        uint64_t got = mote_model_bytes_per_token(m);
        T_CHECK(got == want, "%s: bytes_per_token %llu, expected %llu", cases[i].type,
                (unsigned long long)got, (unsigned long long)want);
        T_CHECK(!strcmp(mote_model_weight_type(m), cases[i].type), "weight type '%s', expected '%s'",
                mote_model_weight_type(m), cases[i].type);
        const char *isa = mote_model_kernel_isa(m);
        T_CHECK(isa && isa[0] && strcmp(isa, "unknown") != 0, "kernel isa '%s'", isa ? isa : "(null)");
        mote_model_free(m);
        unlink(path);
    }
}

/* Sum of the reader's tensor sizes: block matrices and output.weight (or
 * token_embd.weight when there is none: tied) whole, plus one row of
 * token_embd.weight. */
static uint64_t bpt_from_tensor_table(const char *path) {
    mote_gguf *g;
    mote_error err = {0};
    if (mote_gguf_open(path, &g, &err)) return 0;
    uint64_t total = 0;
    bool has_output = false;
    uint64_t embd_bytes = 0;
    int64_t embd_rows = 1;
    for (int64_t i = 0; i < mote_gguf_n_tensors(g); i++) {
        const char *name, *type;
        int n_dims;
        int64_t ne[4];
        uint64_t nbytes;
        mote_gguf_tensor_get(g, i, &name, &type, &n_dims, ne, &nbytes);
        if (!strcmp(name, "token_embd.weight")) {
            embd_bytes = nbytes;
            embd_rows = ne[1];
        } else if (!strcmp(name, "output.weight")) {
            has_output = true;
            total += nbytes;
        } else if (!strncmp(name, "blk.", 4) && n_dims == 2) {
            total += nbytes;
        }
    }
    mote_gguf_close(g);
    return total + (has_output ? 0 : embd_bytes) + embd_bytes / (uint64_t)embd_rows;
}

/* The real stories260K (f32, 8 heads, 4 KV heads, separate output). */
static void test_bytes_per_token_stories260k(void) {
    const char *assets = t_assets();
    if (!assets) T_SKIP("../shared/assets/models/stories260K.gguf is absent");
    char path[4200];
    snprintf(path, sizeof path, "%s/models/stories260K.gguf", assets);
    mote_model *m;
    mote_error err = {0};
    T_REQUIRE(mote_model_load(path, &m, &err) == MOTE_OK, "%s", err.msg);
    mote_model_info info;
    mote_model_get_info(m, &info);
    uint64_t kv_dim = (uint64_t)info.n_embd / (uint64_t)info.n_head * (uint64_t)info.n_head_kv;
    uint64_t want = expected_bpt((uint64_t)info.n_embd, kv_dim, (uint64_t)info.n_ff,
                                 (uint64_t)info.n_layer, (uint64_t)info.n_vocab, 1, 4);
    uint64_t got = mote_model_bytes_per_token(m);
    /* stories260K: dim 64, 5 blocks, kv_dim 32, ffn 172, vocab 512, f32. */
    T_CHECK(want == 4ull * (5 * (2 * 64 * 64 + 2 * 64 * 32 + 3 * 64 * 172) + 512 * 64 + 64),
            "the closed form %llu disagrees with stories260K's known shape", (unsigned long long)want);
    T_CHECK(got == want, "bytes_per_token %llu, closed form %llu", (unsigned long long)got,
            (unsigned long long)want);
    uint64_t table = bpt_from_tensor_table(path);
    T_CHECK(got == table, "bytes_per_token %llu, tensor table %llu", (unsigned long long)got,
            (unsigned long long)table);
    T_CHECK(!strcmp(mote_model_weight_type(m), "f32"), "weight type %s", mote_model_weight_type(m));
    mote_model_free(m);
}

/* stories260K rewritten without output.weight: the output is the token
 * embedding, read whole, plus the embedding row. */
static void test_bytes_per_token_tied(void) {
    const char *assets = t_assets();
    if (!assets) T_SKIP("../shared/assets/models/stories260K.gguf is absent");
    char src[4200];
    snprintf(src, sizeof src, "%s/models/stories260K.gguf", assets);
    mote_gguf *g;
    mote_error err = {0};
    T_REQUIRE(mote_gguf_open(src, &g, &err) == MOTE_OK, "%s", err.msg);
    mote_gguf_writer *w = mote__gguf_writer_new();
    T_REQUIRE(w, "out of memory");
    for (int64_t i = 0; i < mote_gguf_n_kv(g); i++)
        T_CHECK(mote__gguf_set_from(w, g, i) == MOTE_OK, "copy key %lld", (long long)i);
    for (int64_t i = 0; i < mote__gguf_n_tensors(g); i++) {
        const mote_gguf_tensor *t = mote__gguf_tensor(g, i);
        if (!strcmp(t->name, "output.weight")) continue;
        T_CHECK(mote__gguf_add_tensor(w, t->name, t->type, t->n_dims, t->ne, t->data, &err) == MOTE_OK,
                "%s", err.msg);
    }
    const char *path = tmp_path("tied.gguf");
    mote_status s = mote__gguf_write(w, path, &err);
    mote__gguf_writer_free(w);
    mote_gguf_close(g);
    T_REQUIRE(s == MOTE_OK, "%s", err.msg);
    mote_model *m;
    T_REQUIRE(mote_model_load(path, &m, &err) == MOTE_OK, "%s", err.msg);
    uint64_t got = mote_model_bytes_per_token(m);
    /* 5 blocks of f32 (64x64 twice, 64x32 twice, 64x172 three times), the
     * 512x64 embedding read as the output, one 64-value row. */
    uint64_t want = 4 * (5 * (2 * 64 * 64 + 2 * 64 * 32 + 3 * 64 * 172) + 512 * 64 + 64);
    T_CHECK(got == want, "tied: bytes_per_token %llu, expected %llu", (unsigned long long)got,
            (unsigned long long)want);
    T_CHECK(got == bpt_from_tensor_table(path), "tied: disagrees with the tensor table");
    mote_model_free(m);
    unlink(path);
}

/* A small buffer (not a bandwidth figure, only the contract): a positive,
 * finite number, the buffer size rounded to whole cache lines per thread,
 * and errors for bad arguments. */
static void test_bandwidth_contract(void) {
    double gbs = -1;
    uint64_t used = 0;
    mote_error err = {0};
    T_REQUIRE(mote_bench_bandwidth(2, (8u << 20) + 100, 3, &gbs, &used, &err) == MOTE_OK, "%s", err.msg);
    T_CHECK(gbs > 0 && isfinite(gbs), "bandwidth %g", gbs);
    T_CHECK(used == (8u << 20), "buffer %llu bytes, expected %u", (unsigned long long)used, 8u << 20);
    T_CHECK(mote_bench_bandwidth(0, 0, 3, &gbs, NULL, &err) == MOTE_ERR_INVALID_ARG, "0 threads accepted");
    T_CHECK(strstr(err.msg, "threads") != NULL, "message '%s' does not name threads", err.msg);
    T_CHECK(mote_bench_bandwidth(1, 0, 0, &gbs, NULL, &err) == MOTE_ERR_INVALID_ARG, "0 repetitions accepted");
    T_CHECK(mote_bench_bandwidth(4, 64, 1, &gbs, NULL, &err) == MOTE_ERR_INVALID_ARG,
            "a buffer smaller than a cache line per thread accepted");
    /* the sustained rate: whole passes over the buffer, a positive finite
     * mean; the same argument checks */
    gbs = -1;
    T_REQUIRE(mote_bench_bandwidth_sustained(2, 8u << 20, 20u << 20, &gbs, &err) == MOTE_OK, "%s", err.msg);
    T_CHECK(gbs > 0 && isfinite(gbs), "sustained bandwidth %g", gbs);
    T_CHECK(mote_bench_bandwidth_sustained(0, 8u << 20, 1, &gbs, &err) == MOTE_ERR_INVALID_ARG &&
                strstr(err.msg, "threads") != NULL, "0 threads accepted: %s", err.msg);
    T_CHECK(mote_bench_bandwidth_sustained(1, 8u << 20, 1, NULL, &err) == MOTE_ERR_INVALID_ARG,
            "no result pointer accepted");
    T_CHECK(mote_bench_bandwidth_sustained(1, 8u << 20, (uint64_t)1 << 50, &gbs, &err) == MOTE_ERR_INVALID_ARG,
            "2^50 bytes to read accepted");
}

/* The kept-buffer meter: its size (rounded down to words), both tests
 * over it again and again with positive finite figures and the size used
 * (whole lines per thread), still usable after a refused read, and
 * errors for bad arguments. */
static void test_bandwidth_meter_contract(void) {
    mote_error err = {0};
    mote_bandwidth_meter *m = NULL;
    T_REQUIRE(mote_bandwidth_meter_new((8u << 20) + 100, &m, &err) == MOTE_OK, "%s", err.msg);
    T_CHECK(mote_bandwidth_meter_bytes(m) == (8u << 20) + 96, "meter of %llu bytes, expected %u",
            (unsigned long long)mote_bandwidth_meter_bytes(m), (8u << 20) + 96);
    for (int k = 0; k < 3; k++) {
        double gbs = -1, sus = -1;
        uint64_t used = 0;
        T_REQUIRE(mote_bandwidth_meter_read(m, 2, 3, &gbs, &used, &err) == MOTE_OK, "%s", err.msg);
        T_CHECK(gbs > 0 && isfinite(gbs), "bandwidth %g", gbs);
        /* whole cache lines per thread: 2 x 4 MiB (the 96 bytes are left) */
        T_CHECK(used == (8u << 20), "buffer %llu bytes used, expected %u", (unsigned long long)used, 8u << 20);
        T_REQUIRE(mote_bandwidth_meter_read_sustained(m, 2, 20u << 20, &sus, &err) == MOTE_OK, "%s", err.msg);
        T_CHECK(sus > 0 && isfinite(sus), "sustained bandwidth %g", sus);
    }
    double gbs;
    T_CHECK(mote_bandwidth_meter_read(m, 0, 3, &gbs, NULL, &err) == MOTE_ERR_INVALID_ARG &&
                strstr(err.msg, "threads") != NULL, "0 threads accepted: %s", err.msg);
    T_CHECK(mote_bandwidth_meter_read(m, 1, 0, &gbs, NULL, &err) == MOTE_ERR_INVALID_ARG, "0 repetitions accepted");
    T_CHECK(mote_bandwidth_meter_read(NULL, 1, 1, &gbs, NULL, &err) == MOTE_ERR_INVALID_ARG, "no meter accepted");
    T_CHECK(mote_bandwidth_meter_read_sustained(m, 1, 1, NULL, &err) == MOTE_ERR_INVALID_ARG,
            "no result pointer accepted");
    T_CHECK(mote_bandwidth_meter_read_sustained(m, 2000, 1, &gbs, &err) == MOTE_ERR_INVALID_ARG,
            "2000 threads accepted");
    T_CHECK(mote_bandwidth_meter_read_sustained(m, 1, (uint64_t)1 << 50, &gbs, &err) == MOTE_ERR_INVALID_ARG,
            "2^50 bytes to read accepted");
    /* refused reads leave it usable; 0 bytes to read is one pass */
    double sus = -1;
    T_CHECK(mote_bandwidth_meter_read_sustained(m, 1, 0, &sus, &err) == MOTE_OK && sus > 0 && isfinite(sus),
            "one pass: %g (%s)", sus, err.msg);
    mote_bandwidth_meter_free(m);
    /* a buffer smaller than a line per thread: made, but refused for 4 */
    T_REQUIRE(mote_bandwidth_meter_new(64, &m, &err) == MOTE_OK, "%s", err.msg);
    T_CHECK(mote_bandwidth_meter_read(m, 4, 1, &gbs, NULL, &err) == MOTE_ERR_INVALID_ARG,
            "a buffer smaller than a cache line per thread accepted");
    T_CHECK(mote_bandwidth_meter_read_sustained(m, 4, 1, &gbs, &err) == MOTE_ERR_INVALID_ARG,
            "a buffer smaller than a cache line per thread accepted (sustained)");
    mote_bandwidth_meter_free(m);
    T_CHECK(mote_bandwidth_meter_new(4, &m, &err) == MOTE_ERR_INVALID_ARG && m == NULL,
            "a buffer of less than a word accepted");
    T_CHECK(mote_bandwidth_meter_new(0, NULL, &err) == MOTE_ERR_INVALID_ARG, "no meter pointer accepted");
    mote_bandwidth_meter_free(NULL);
    T_CHECK(mote_bandwidth_meter_bytes(NULL) == 0, "NULL meter has bytes");
}

/* Every read pattern of the meter sums every word of a slice once: a
 * slice of 3 MiB and one line (three whole 1 MiB blocks and a part, odd
 * lines in the halves) and one of 5 lines, against a plain loop. */
static void test_bandwidth_patterns_read_all(void) {
    const size_t sizes[] = {(((size_t)3 << 20) + 64) / 8, 40};
    uint64_t *p = aligned_alloc(64, sizes[0] * sizeof(uint64_t));
    T_REQUIRE(p != NULL, "out of memory");
    for (size_t i = 0; i < sizes[0]; i++) p[i] = (uint64_t)i * 0x9e3779b97f4a7c15u + 1;
    int n_run = 0;
    for (size_t si = 0; si < 2; si++) {
        uint64_t want = 0;
        for (size_t i = 0; i < sizes[si]; i++) want += p[i];
        for (int r = 0; r < mote__membw_reader_count(); r++) {
            uint64_t got = 0;
            if (!mote__membw_sum(p, sizes[si], r, &got)) continue;
            n_run++;
            T_CHECK(got == want, "pattern %d over %zu words: sum %llx, expected %llx", r, sizes[si],
                    (unsigned long long)got, (unsigned long long)want);
        }
    }
    T_CHECK(n_run >= 2, "only %d pattern runs", n_run);
    uint64_t unused;
    T_CHECK(!mote__membw_sum(p, 8, mote__membw_reader_count(), &unused), "a pattern past the last ran");
    free(p);
}

int main(void) {
    snprintf(g_tmpdir, sizeof g_tmpdir, "/tmp/mote_test_bench.XXXXXX");
    if (!mkdtemp(g_tmpdir)) {
        printf("not ok - mkdtemp: cannot create a temporary folder\n");
        return 1;
    }
    T_RUN(test_bytes_per_token_synthetic);
    T_RUN(test_bytes_per_token_stories260k);
    T_RUN(test_bytes_per_token_tied);
    T_RUN(test_bandwidth_contract);
    T_RUN(test_bandwidth_meter_contract);
    T_RUN(test_bandwidth_patterns_read_all);
    rmdir(g_tmpdir);
    return t_exit();
}
