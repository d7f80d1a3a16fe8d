/* test_threads.c — the thread pool, the CPU topology probe, the batched
 * matrix product, and the context's threads and batches end to end:
 *   - the pool calls every thread exactly once per run (thousands of runs,
 *     some after the workers fell asleep), a parallel-for over the pool
 *     covers every index exactly once for many sizes, the barrier orders
 *     phases, and an idle pool or context uses (almost) no CPU;
 *   - the physical-core count from a fake sysfs tree (SMT siblings, an
 *     offline CPU, two packages, non-CPU entries);
 *   - mote__matmul_* against mote__matvec token by token for every weight
 *     type with kernels, and for f32 against a float64 dot product;
 *   - logits bit-identical for 1, 2 and 3 threads on stories260K and on
 *     generated models (Q4_0, Q8_0, F16, one mixing seven types, and a
 *     Q8_0 one with 8 query heads a kv head);
 *   - a batched prompt against token-by-token decoding; a prompt longer
 *     than n_batch (chunked); no allocation while decoding batches.
 * Tolerances are stated where the comparisons are made.
 */
#include "mote.h"
#include "test.h"
#include "core/threadpool.h"
#include "gguf/gguf.h"
#include "kernels/kernels.h"
#include "model/model.h"
#include <stdatomic.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- helpers ---- */

static uint64_t g_rng = 0x9E3779B97F4A7C15ull;
static void rng_seed(uint64_t s) { g_rng = s * 0x9E3779B97F4A7C15ull + 1; }
/* Uniform in [-1, 1). */
static float rng_u(void) {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (float)((double)(g_rng >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

static double cpu_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- the pool ---- */

typedef struct count_task {
    atomic_int calls[MOTE_MAX_THREADS];
    atomic_int bad_nth;
    int want_nth;
} count_task;

static void count_fn(void *arg, int ith, int nth) {
    count_task *t = arg;
    if (nth != t->want_nth || ith < 0 || ith >= nth) atomic_fetch_add(&t->bad_nth, 1);
    else atomic_fetch_add(&t->calls[ith], 1);
}

/* 3000 runs per pool size; every 500th run comes after a 3 ms pause, long
 * enough for the workers to stop spinning and sleep. After each run every
 * thread index must have been called exactly once more. */
static void test_pool_runs_every_thread_once(void) {
    const int sizes[] = {1, 2, 3, 4, 8};
    static count_task t;
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        int nth = sizes[s];
        mote_threadpool *tp;
        mote_error err = {0};
        T_REQUIRE(mote__threadpool_new(nth, &tp, &err) == MOTE_OK, "%s", err.msg);
        T_CHECK(mote__threadpool_n_threads(tp) == nth, "n_threads %d", mote__threadpool_n_threads(tp));
        memset(&t, 0, sizeof t);
        t.want_nth = nth;
        for (int run = 1; run <= 3000; run++) {
            if (run % 500 == 0) sleep_ms(3);
            mote__threadpool_run(tp, count_fn, &t);
            for (int i = 0; i < nth; i++) {
                int c = atomic_load(&t.calls[i]);
                T_CHECK(c == run, "%d threads, run %d: thread %d called %d times", nth, run, i, c);
                if (c != run) break;
            }
            if (t_cur_failed) break;
        }
        T_CHECK(atomic_load(&t.bad_nth) == 0, "%d calls with a wrong (ith, nth)", atomic_load(&t.bad_nth));
        mote__threadpool_free(tp);
    }
    mote_error err = {0};
    mote_threadpool *tp;
    T_CHECK(mote__threadpool_new(0, &tp, &err) == MOTE_ERR_INVALID_ARG, "0 threads");
    T_CHECK(mote__threadpool_new(MOTE_MAX_THREADS + 1, &tp, &err) == MOTE_ERR_INVALID_ARG, "too many");
}

typedef struct range_task {
    int64_t n;
    int *hits; /* (n) */
} range_task;

static void range_fn(void *arg, int ith, int nth) {
    range_task *t = arg;
    int64_t lo, hi;
    mote__split_range(t->n, ith, nth, &lo, &hi);
    for (int64_t i = lo; i < hi; i++) t->hits[i]++; /* disjoint: no race if the split is right */
}

/* A parallel-for over the pool (each thread takes mote__split_range of
 * 0..n) covers every index exactly once: n = 0..300 and some large n, for
 * 1, 2, 3, 5 and 7 threads. */
static void test_parallel_for_covers_every_index_once(void) {
    static int hits[100003];
    const int sizes[] = {1, 2, 3, 5, 7};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        mote_threadpool *tp;
        T_REQUIRE(mote__threadpool_new(sizes[s], &tp, NULL) == MOTE_OK, "new");
        for (int64_t n = 0; n <= 300 + 4; n++) {
            int64_t nn = n <= 300 ? n : (int64_t[]){1000, 4097, 65536, 100003}[n - 301];
            memset(hits, 0, sizeof hits);
            range_task t = {nn, hits};
            mote__threadpool_run(tp, range_fn, &t);
            int64_t bad = -1;
            for (int64_t i = 0; i < nn && bad < 0; i++)
                if (hits[i] != 1) bad = i;
            T_CHECK(bad < 0, "%d threads, n %lld: index %lld hit %d times", sizes[s], (long long)nn,
                    (long long)bad, bad >= 0 ? hits[bad] : 0);
            if (nn < (int64_t)(sizeof hits / sizeof hits[0]))
                T_CHECK(hits[nn] == 0, "%d threads, n %lld: wrote past the end", sizes[s], (long long)nn);
        }
        mote__threadpool_free(tp);
    }
}

typedef struct barrier_task {
    mote_threadpool *tp;
    int rounds;
    atomic_int slot[8];
    atomic_int mismatches;
    uint8_t buf[5000];         /* what the read-ahead barriers prefetch */
    mote_prefetch_range pf[3];
} barrier_task;

static void barrier_fn(void *arg, int ith, int nth) {
    barrier_task *t = arg;
    for (int r = 1; r <= t->rounds; r++) {
        atomic_store(&t->slot[ith], r);
        if (r % 2) mote__threadpool_barrier_prefetch(t->tp, t->pf, 3); /* the same contract */
        else mote__threadpool_barrier(t->tp);
        for (int j = 0; j < nth; j++)
            if (atomic_load(&t->slot[j]) != r) atomic_fetch_add(&t->mismatches, 1);
        mote__threadpool_barrier(t->tp);
    }
}

/* Within a run, no thread passes a barrier before all wrote their slot for
 * the round, and none writes the next round's before all have read; with
 * read-ahead ranges (empty, shorter than a line, longer) the same. */
static void test_barrier_orders_phases(void) {
    for (int nth = 1; nth <= 4; nth++) {
        static barrier_task t;
        memset(&t, 0, sizeof t);
        T_REQUIRE(mote__threadpool_new(nth, &t.tp, NULL) == MOTE_OK, "new");
        t.rounds = 500;
        t.pf[0] = (mote_prefetch_range){t.buf, 0};
        t.pf[1] = (mote_prefetch_range){t.buf + 7, 33};
        t.pf[2] = (mote_prefetch_range){t.buf + 100, 4900};
        mote__threadpool_run(t.tp, barrier_fn, &t);
        mote__threadpool_run(t.tp, barrier_fn, &t); /* a second run reuses the barrier */
        T_CHECK(atomic_load(&t.mismatches) == 0, "%d threads: %d stale reads across the barrier", nth,
                atomic_load(&t.mismatches));
        mote__threadpool_free(t.tp);
    }
}

static void noop_fn(void *arg, int ith, int nth) { (void)arg; (void)ith; (void)nth; }

/* An idle pool of 4 threads (2 more than this machine may have cores) uses
 * under 40 ms of CPU in 300 ms after a run: its workers went to sleep. A
 * pool that kept spinning would use ~300 ms per core it could get. */
static void test_idle_pool_sleeps(void) {
    mote_threadpool *tp;
    T_REQUIRE(mote__threadpool_new(4, &tp, NULL) == MOTE_OK, "new");
    mote__threadpool_run(tp, noop_fn, NULL);
    double c0 = cpu_seconds();
    sleep_ms(300);
    double used = cpu_seconds() - c0;
    T_CHECK(used < 0.040, "an idle pool used %.1f ms of CPU in 300 ms", used * 1e3);
    mote__threadpool_run(tp, noop_fn, NULL); /* and it wakes up again */
    mote__threadpool_free(tp);
}

/* ---- CPU topology ---- */

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* A fake /sys/devices/system/cpu: package 0 with cores 0-3 as SMT pairs
 * (cpu0-7), cpu7 offline, cpu5 without an online file; package 1 with core
 * 0 twice (cpu8, cpu9) and core 5 (cpu10); plus entries that are not CPUs
 * (cpufreq, cpuidle, online). Distinct online (package, core) pairs: 4 + 2. */
static void test_cpu_topology_counts_physical_cores(void) {
    char root[] = "/tmp/mote_cpu_XXXXXX";
    T_REQUIRE(mkdtemp(root) != NULL, "mkdtemp");
    char p[512];
    for (int cpu = 0; cpu <= 10; cpu++) {
        int pkg = cpu < 8 ? 0 : 1;
        int core = cpu < 8 ? cpu / 2 : (cpu == 10 ? 5 : 0);
        snprintf(p, sizeof p, "%s/cpu%d", root, cpu);
        mkdir(p, 0755);
        snprintf(p, sizeof p, "%s/cpu%d/topology", root, cpu);
        mkdir(p, 0755);
        char v[32];
        snprintf(p, sizeof p, "%s/cpu%d/topology/core_id", root, cpu);
        snprintf(v, sizeof v, "%d\n", core);
        write_file(p, v);
        snprintf(p, sizeof p, "%s/cpu%d/topology/physical_package_id", root, cpu);
        snprintf(v, sizeof v, "%d\n", pkg);
        write_file(p, v);
        if (cpu != 5) {
            snprintf(p, sizeof p, "%s/cpu%d/online", root, cpu);
            write_file(p, cpu == 7 ? "0\n" : "1\n");
        }
    }
    /* cpu7 is offline; make it the only CPU of a core so it would count */
    snprintf(p, sizeof p, "%s/cpu7/topology/core_id", root);
    write_file(p, "9\n");
    snprintf(p, sizeof p, "%s/cpufreq", root);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/cpuidle", root);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/online", root);
    write_file(p, "0-10\n");
    int n = mote__cpu_physical_cores_at(root);
    T_CHECK(n == 6, "fake sysfs: %d physical cores, want 6", n);
    T_CHECK(mote__cpu_physical_cores_at("/nonexistent/cpu") == 0, "missing folder gives 0");
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    T_CHECK(system(cmd) == 0, "cleanup");

    long online = sysconf(_SC_NPROCESSORS_ONLN);
    int real = mote__cpu_physical_cores();
    T_CHECK(real >= 1 && (online < 1 || real <= online), "this machine: %d cores of %ld CPUs", real, online);
}

/* ---- batched matrix product ---- */

/* Random weights (n_rows, n_cols) of `type` via its reference quantizer;
 * returns a malloc'd buffer and fills *w. */
static void *random_matrix(uint32_t type, int64_t n_rows, int64_t n_cols, float gain,
                           mote_matrix *w) {
    const mote_type_traits *tr = mote__type_traits(type);
    uint64_t rb = 0;
    if (!tr || !tr->quantize_ref || !mote__type_row_bytes(type, (uint64_t)n_cols, &rb)) return NULL;
    float *f = malloc((size_t)(n_rows * n_cols) * sizeof(float));
    void *q = malloc((size_t)rb * (size_t)n_rows);
    if (!f || !q) { free(f); free(q); return NULL; }
    for (int64_t i = 0; i < n_rows * n_cols; i++) f[i] = gain * rng_u();
    tr->quantize_ref(f, q, n_rows * n_cols);
    free(f);
    *w = (mote_matrix){q, type, n_cols, n_rows, (size_t)rb};
    return q;
}

/* For every weight type with kernels and n_tok = 1..9: quantize the
 * activations once, compute Y in three uneven row ranges, and compare with
 * mote__matvec of each token alone (the generation path). Where the type
 * has no vec_dot_4 both use the same vec_dot: bit-identical. Where it has
 * one, the two differ only in summation order: |diff| <= 1e-5 * sum_i
 * |w_i x_i| + 1e-6. For f32 also against a float64 dot product, within
 * 1e-5 * sum_i |w_i x_i|. */
static void test_matmul_matches_matvec(void) {
    const uint32_t types[] = {MOTE_TYPE_F32, MOTE_TYPE_F16, MOTE_TYPE_BF16, MOTE_TYPE_Q4_0,
                              MOTE_TYPE_Q4_1, MOTE_TYPE_Q5_0, MOTE_TYPE_Q5_1, MOTE_TYPE_Q8_0};
    const int64_t n_rows = 37, n_cols = 256, max_tok = 9;
    rng_seed(11);
    int n_tested = 0;
    for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
        const mote_kernel_table *k = mote__kernels_for(types[ti]);
        if (!k) continue;
        mote_matrix w;
        void *wdata = random_matrix(types[ti], n_rows, n_cols, 0.5f, &w);
        T_REQUIRE(wdata, "cannot make a %s matrix", mote__type_name(types[ti]));
        float *x = malloc(sizeof(float) * (size_t)(max_tok * n_cols));
        float *y = malloc(sizeof(float) * (size_t)(max_tok * n_rows));
        float *yv = malloc(sizeof(float) * (size_t)n_rows);
        float *wrow = malloc(sizeof(float) * (size_t)n_cols);
        size_t stride = mote__matmul_act_stride(types[ti], n_cols);
        void *act = mote__malloc_aligned(stride * (size_t)max_tok + 64, 64);
        void *scratch = mote__malloc_aligned(mote__matvec_scratch_bytes(types[ti], n_cols) + 64, 64);
        T_REQUIRE(x && y && yv && wrow && act && scratch, "malloc");
        for (int64_t i = 0; i < max_tok * n_cols; i++) x[i] = rng_u();
        for (int64_t n_tok = 1; n_tok <= max_tok; n_tok++) {
            const void *a = x;
            size_t a_stride = (size_t)n_cols * sizeof(float);
            if (stride) {
                mote__matmul_quantize(types[ti], x, (size_t)n_cols, n_cols, act, stride, 0, 2);
                mote__matmul_quantize(types[ti], x, (size_t)n_cols, n_cols, act, stride, 2, n_tok);
                a = act;
                a_stride = stride;
            }
            for (int64_t i = 0; i < n_tok * n_rows; i++) y[i] = NAN;
            mote__matmul_rows(&w, a, a_stride, n_tok, y, (size_t)n_rows, 0, 5);
            mote__matmul_rows(&w, a, a_stride, n_tok, y, (size_t)n_rows, 5, 22);
            mote__matmul_rows(&w, a, a_stride, n_tok, y, (size_t)n_rows, 22, n_rows);
            for (int64_t t = 0; t < n_tok; t++) {
                const float *xt = x + t * n_cols;
                mote__matvec(&w, xt, yv, scratch);
                for (int64_t r = 0; r < n_rows; r++) {
                    float got = y[t * n_rows + r];
                    mote__matrix_get_row(&w, r, wrow);
                    double abs_sum = 0, dot = 0;
                    for (int64_t i = 0; i < n_cols; i++) {
                        abs_sum += fabs((double)wrow[i] * xt[i]);
                        dot += (double)wrow[i] * xt[i];
                    }
                    if (!k->vec_dot_4) {
                        T_CHECK(memcmp(&got, &yv[r], sizeof got) == 0,
                                "%s n_tok %lld: y[%lld][%lld] = %.9g, matvec %.9g (want identical)",
                                mote__type_name(types[ti]), (long long)n_tok, (long long)t,
                                (long long)r, got, yv[r]);
                    } else {
                        T_CHECK(fabs((double)got - yv[r]) <= 1e-5 * abs_sum + 1e-6,
                                "%s n_tok %lld: y[%lld][%lld] = %.9g, matvec %.9g",
                                mote__type_name(types[ti]), (long long)n_tok, (long long)t,
                                (long long)r, got, yv[r]);
                    }
                    if (types[ti] == MOTE_TYPE_F32)
                        T_CHECK(fabs((double)got - dot) <= 1e-5 * abs_sum,
                                "f32 y[%lld][%lld] = %.9g, float64 %.9g", (long long)t, (long long)r,
                                got, dot);
                    if (t_cur_failed) break;
                }
                if (t_cur_failed) break;
            }
        }
        n_tested++;
        free(wdata);
        free(x);
        free(y);
        free(yv);
        free(wrow);
        mote__free_aligned(act);
        mote__free_aligned(scratch);
        if (t_cur_failed) return;
    }
    T_CHECK(n_tested >= 4, "only %d types have kernels", n_tested);
}

/* ---- models ---- */

static char g_stories[4200];

static mote_model *load_model(const char *path) {
    mote_model *m = NULL;
    mote_error err = {0};
    if (mote_model_load(path, &m, &err) != MOTE_OK) {
        fprintf(stderr, "load %s failed: %s\n", path, err.msg);
        return NULL;
    }
    return m;
}

static mote_model *load_stories(void) {
    const char *assets = t_assets();
    if (!assets) return NULL;
    snprintf(g_stories, sizeof g_stories, "%s/models/stories260K.gguf", assets);
    return load_model(g_stories);
}

/* Matrix types of a generated model: token embedding, q, k, v, attention
 * output, gate, up, down, output. */
typedef struct model_types {
    const char *name;
    uint32_t t[9];
    int heads, kv_heads; /* 0: 4 and 2 */
} model_types;

/* Write a random Llama model (n_embd 128, 4 heads, 2 KV heads unless mt
 * says otherwise, 2 blocks,
 * n_ff 160, vocabulary 96, context 256) with the given matrix types to
 * path, through mote's GGUF writer. Weights are uniform, scaled like
 * tests/ref/make_model.py so activations stay O(1). Returns 1 on success. */
static int write_model(const char *path, const model_types *mt, uint64_t seed) {
    enum { E = 128, NL = 2, FF = 160, V = 96 };
    const int H = mt->heads ? mt->heads : 4, HKV = mt->kv_heads ? mt->kv_heads : 2;
    const int64_t D = E / H;
    rng_seed(seed);
    mote_gguf_writer *w = mote__gguf_writer_new();
    if (!w) return 0;
    void *bufs[64];
    int n_bufs = 0, ok = 1;
    ok &= mote__gguf_set_str(w, "general.architecture", "llama") == MOTE_OK;
    ok &= mote__gguf_set_str(w, "general.name", mt->name) == MOTE_OK;
    ok &= mote__gguf_set_u32(w, "llama.context_length", 256) == MOTE_OK;
    ok &= mote__gguf_set_u32(w, "llama.embedding_length", E) == MOTE_OK;
    ok &= mote__gguf_set_u32(w, "llama.feed_forward_length", FF) == MOTE_OK;
    ok &= mote__gguf_set_u32(w, "llama.attention.head_count", H) == MOTE_OK;
    ok &= mote__gguf_set_u32(w, "llama.attention.head_count_kv", HKV) == MOTE_OK;
    ok &= mote__gguf_set_u32(w, "llama.block_count", NL) == MOTE_OK;
    ok &= mote__gguf_set_f32(w, "llama.attention.layer_norm_rms_epsilon", 1e-5f) == MOTE_OK;
#define ADD_MAT(name, type, rows, cols, gain)                                                 \
    do {                                                                                      \
        mote_matrix m_;                                                                       \
        void *d_ = random_matrix(type, rows, cols, (gain) * 1.732f / sqrtf((float)(cols)), &m_); \
        if (!d_ || n_bufs >= 64) { ok = 0; break; }                                           \
        bufs[n_bufs++] = d_;                                                                  \
        int64_t ne_[2] = {cols, rows};                                                        \
        ok &= mote__gguf_add_tensor(w, name, type, 2, ne_, d_, NULL) == MOTE_OK;              \
    } while (0)
#define ADD_NORM(name)                                                                        \
    do {                                                                                      \
        float *d_ = malloc(E * sizeof(float));                                                \
        if (!d_ || n_bufs >= 64) { free(d_); ok = 0; break; }                                 \
        for (int i_ = 0; i_ < E; i_++) d_[i_] = 1.0f + 0.1f * rng_u();                        \
        bufs[n_bufs++] = d_;                                                                  \
        int64_t ne_[1] = {E};                                                                 \
        ok &= mote__gguf_add_tensor(w, name, MOTE_TYPE_F32, 1, ne_, d_, NULL) == MOTE_OK;     \
    } while (0)
    char name[64];
    /* embeddings of rms ~0.5: uniform of half-width 0.866 */
    ADD_MAT("token_embd.weight", mt->t[0], V, E, 0.5f * sqrtf((float)E));
    for (int l = 0; l < NL && ok; l++) {
        snprintf(name, sizeof name, "blk.%d.attn_norm.weight", l); ADD_NORM(name);
        snprintf(name, sizeof name, "blk.%d.attn_q.weight", l); ADD_MAT(name, mt->t[1], H * D, E, 1.5f);
        snprintf(name, sizeof name, "blk.%d.attn_k.weight", l); ADD_MAT(name, mt->t[2], HKV * D, E, 1.5f);
        snprintf(name, sizeof name, "blk.%d.attn_v.weight", l); ADD_MAT(name, mt->t[3], HKV * D, E, 1.0f);
        snprintf(name, sizeof name, "blk.%d.attn_output.weight", l); ADD_MAT(name, mt->t[4], E, H * D, 1.0f);
        snprintf(name, sizeof name, "blk.%d.ffn_norm.weight", l); ADD_NORM(name);
        snprintf(name, sizeof name, "blk.%d.ffn_gate.weight", l); ADD_MAT(name, mt->t[5], FF, E, 1.0f);
        snprintf(name, sizeof name, "blk.%d.ffn_up.weight", l); ADD_MAT(name, mt->t[6], FF, E, 1.0f);
        snprintf(name, sizeof name, "blk.%d.ffn_down.weight", l); ADD_MAT(name, mt->t[7], E, FF, 2.0f);
    }
    ADD_NORM("output_norm.weight");
    ADD_MAT("output.weight", mt->t[8], V, E, 3.0f);
#undef ADD_MAT
#undef ADD_NORM
    mote_error err = {0};
    if (ok && mote__gguf_write(w, path, &err) != MOTE_OK) {
        fprintf(stderr, "write %s: %s\n", path, err.msg);
        ok = 0;
    }
    mote__gguf_writer_free(w);
    for (int i = 0; i < n_bufs; i++) free(bufs[i]);
    return ok;
}

#define Q4 MOTE_TYPE_Q4_0
#define Q8 MOTE_TYPE_Q8_0
#define F16 MOTE_TYPE_F16
static const model_types g_gen_models[] = {
    {"gen-q4_0", {Q4, Q4, Q4, Q4, Q4, Q4, Q4, Q4, Q4}, 0, 0},
    {"gen-q8_0", {Q8, Q8, Q8, Q8, Q8, Q8, Q8, Q8, Q8}, 0, 0},
    {"gen-f16", {F16, F16, F16, F16, F16, F16, F16, F16, F16}, 0, 0},
    /* q, k, v need three activation types at once (q8_0, q8_1, f16);
     * gate/up two (f32 direct, q8_1) */
    {"gen-mixed",
     {MOTE_TYPE_F32, Q4, MOTE_TYPE_Q4_1, F16, Q8, MOTE_TYPE_F32, MOTE_TYPE_Q5_1, MOTE_TYPE_BF16,
      MOTE_TYPE_Q5_0},
     0,
     0},
    /* 16 query heads on 2 kv heads: attention takes a kv head's 8 query
     * heads together (4 when the threads need more items), through the
     * f32 gemm where there is one */
    {"gen-q8_0-gqa8", {Q8, Q8, Q8, Q8, Q8, Q8, Q8, Q8, Q8}, 16, 2},
};
#define N_GEN (sizeof g_gen_models / sizeof g_gen_models[0])

static char g_gen_paths[N_GEN][64];
static int g_gen_ready;

/* Generate the test models once (in /tmp; removed at exit). */
static int gen_models(void) {
    if (g_gen_ready) return g_gen_ready > 0;
    g_gen_ready = 1;
    for (size_t i = 0; i < N_GEN; i++) {
        snprintf(g_gen_paths[i], sizeof g_gen_paths[i], "/tmp/mote_thr_%d_%zu.gguf", (int)getpid(), i);
        if (!write_model(g_gen_paths[i], &g_gen_models[i], 100 + i)) g_gen_ready = -1;
    }
    return g_gen_ready > 0;
}

static void gen_models_remove(void) {
    for (size_t i = 0; i < N_GEN; i++)
        if (g_gen_paths[i][0]) remove(g_gen_paths[i]);
}

/* Evaluate prompt (n_prompt ids) and then n_gen more tokens, one per call,
 * on a fresh context with n_threads threads and n_batch: the continuation
 * cont[0..n_gen), or greedy picks when cont is NULL. The prompt goes in one
 * mote_ctx_decode call (batched) or one token per call. rows receives the
 * logits of every position ((n_prompt + n_gen) rows of n_vocab). Returns 1
 * on success. */
/* The least one-token claim run_positions gives its contexts, in weight
 * bytes (0: the library's default). */
static size_t g_min_claim;
static size_t g_lane_chunk = SIZE_MAX; /* SIZE_MAX: the context's default */

static int run_positions(mote_model *m, int n_threads, int n_batch, int batched,
                         const int32_t *prompt, int n_prompt, const int32_t *cont, int n_gen,
                         float *rows) {
    mote_model_info info;
    mote_model_get_info(m, &info);
    const size_t V = (size_t)info.n_vocab;
    mote_ctx_params p = mote_ctx_default_params();
    p.n_threads = n_threads;
    p.n_batch = n_batch;
    p.n_ctx = 256;
    mote_ctx *c;
    mote_error err = {0};
    if (mote_ctx_new(m, &p, &c, &err) != MOTE_OK) {
        fprintf(stderr, "ctx: %s\n", err.msg);
        return 0;
    }
    int ok = mote_ctx_n_threads(c) == n_threads;
    if (g_min_claim) mote__ctx_set_min_claim(c, g_min_claim);
    if (g_lane_chunk != SIZE_MAX) mote__ctx_set_lane_chunk(c, g_lane_chunk);
    if (batched) {
        ok &= mote_ctx_decode(c, prompt, n_prompt, rows, &err) == MOTE_OK;
    } else {
        for (int i = 0; i < n_prompt && ok; i++) {
            ok &= mote_ctx_decode(c, &prompt[i], 1, NULL, &err) == MOTE_OK;
            memcpy(rows + (size_t)i * V, mote_ctx_logits(c), V * sizeof(float));
        }
    }
    for (int g = 0; g < n_gen && ok; g++) {
        const float *l = mote_ctx_logits(c);
        int32_t next = 0;
        if (cont) next = cont[g];
        else
            for (size_t i = 1; i < V; i++)
                if (l[i] > l[next]) next = (int32_t)i;
        ok &= mote_ctx_decode(c, &next, 1, NULL, &err) == MOTE_OK;
        memcpy(rows + (size_t)(n_prompt + g) * V, mote_ctx_logits(c), V * sizeof(float));
    }
    ok &= mote_ctx_n_past(c) == n_prompt + n_gen;
    if (!ok) fprintf(stderr, "decode: %s\n", err.msg);
    mote_ctx_free(c);
    return ok;
}

/* n ids below vocab (fixed pseudo-random; the first is 1 = BOS when bos). */
static void make_ids(int32_t *ids, int n, int vocab, uint64_t seed, int bos) {
    rng_seed(seed);
    for (int i = 0; i < n; i++) ids[i] = (int32_t)((rng_u() * 0.5f + 0.5f) * (float)(vocab - 1));
    if (bos && n > 0) ids[0] = 1;
}

/* Same logits, bit for bit, with 1, 2 and 3 threads: a 120-token batched
 * prompt and 20 greedily generated tokens (positions 120-139: one token's
 * attention in one part of MOTE_KV_PART = 128 positions, then in two,
 * merged; kv_cache.h), on stories260K and each
 * generated model; again with one-token claims of a single unit (8 rows)
 * and no lanes, so that even these small matrices are split over the
 * threads (fixed first claims, the counter, each thread's prepared
 * activation); and with lanes of one-unit chunks, where the CPU has a
 * prepared gemv for q4_0 and q8_0 (AVX-512: each thread's lane a chunk at a time,
 * the others' taken from their backs). */
static void logits_identical_across_threads(void);
static void test_logits_identical_across_threads(void) {
    for (int pass = 0; pass < 3; pass++) {
        g_min_claim = pass ? 1 : 0;
        g_lane_chunk = pass == 1 ? 0 : pass == 2 ? 1 : SIZE_MAX;
        logits_identical_across_threads();
    }
    g_min_claim = 0;
    g_lane_chunk = SIZE_MAX;
}

static void logits_identical_across_threads(void) {
    int n_models = 0;
    int have_gen = gen_models();
    T_CHECK(have_gen, "could not write the generated models");
    for (int mi = -1; mi < (int)N_GEN; mi++) {
        mote_model *m = mi < 0 ? load_stories() : (have_gen ? load_model(g_gen_paths[mi]) : NULL);
        if (!m) continue;
        n_models++;
        mote_model_info info;
        mote_model_get_info(m, &info);
        enum { NP = 120, NG = 20 };
        int32_t prompt[NP];
        make_ids(prompt, NP, info.n_vocab, 5 + (uint64_t)mi, 1);
        size_t n_floats = (size_t)(NP + NG) * (size_t)info.n_vocab;
        float *ref = malloc(n_floats * sizeof(float)), *got = malloc(n_floats * sizeof(float));
        T_REQUIRE(ref && got, "malloc");
        T_CHECK(run_positions(m, 1, 512, 1, prompt, NP, NULL, NG, ref), "1 thread failed");
        for (int nth = 2; nth <= 3; nth++) {
            memset(got, 0, n_floats * sizeof(float));
            T_CHECK(run_positions(m, nth, 512, 1, prompt, NP, NULL, NG, got), "%d threads failed", nth);
            size_t first = n_floats;
            for (size_t i = 0; i < n_floats && first == n_floats; i++)
                if (memcmp(&ref[i], &got[i], sizeof(float)) != 0) first = i;
            T_CHECK(first == n_floats, "%s, %d threads%s: position %zu token %zu differs (%.9g vs %.9g)",
                    mi < 0 ? "stories260K" : g_gen_models[mi].name, nth,
                    g_lane_chunk == 1 ? " (one-unit lane chunks)"
                    : g_min_claim    ? " (one-unit claims, no lanes)"
                                     : "",
                    first / info.n_vocab,
                    first % info.n_vocab, first < n_floats ? ref[first] : 0.0f,
                    first < n_floats ? got[first] : 0.0f);
        }
        free(ref);
        free(got);
        mote_model_free(m);
    }
    if (n_models == 0) T_SKIP("no model: stories260K is absent and generation failed");
}

/* The matrix types of model mi (-1: stories260K, all f32). */
static uint32_t model_type(int mi, int i) { return mi < 0 ? MOTE_TYPE_F32 : g_gen_models[mi].t[i]; }

/* 1 when no matrix type of the model has vec_dot_4: then the batched path
 * uses vec_dot for every element, as token-by-token decoding does. */
static int model_all_vec_dot(int mi) {
    for (int i = 1; i < 9; i++) {
        const mote_kernel_table *k = mote__kernels_for(model_type(mi, i));
        if (k && k->vec_dot_4) return 0;
    }
    return 1;
}

/* 1 when every matrix of the model computes on f32 activations. */
static int model_f32_acts(int mi) {
    for (int i = 1; i < 9; i++) {
        const mote_kernel_table *k = mote__kernels_for(model_type(mi, i));
        if (k && k->quantize_act) return 0;
    }
    return 1;
}

/* Check logits rows got against ref (n_rows rows of vocab) for two paths
 * that differ only in summation order (vec_dot_4 against vec_dot):
 *   - no type with vec_dot_4: bit-identical;
 *   - f32 activations: every dot differs by float32 rounding only (about
 *     (n/8 + 8) 2^-24 sum|w x|): max |diff| <= 1e-5 * (1 + max|ref|), the
 *     argmax the same at every position (measured on x86-64 AVX2:
 *     <= 6.1e-7);
 *   - activations rounded to f16/bf16/q8 before each product: a last-bit
 *     difference can flip one such rounding (2^-11 of an element, or 1/254
 *     of a block's largest), which the layers carry on: max |diff| <= 0.1
 *     std(ref) (as ref_forward.sh notes, such flips reach ~0.1 std), the
 *     argmax the same at >= 90% of the positions (measured on x86-64
 *     AVX2: 0.0016 std on the f16 model, 0.024 std on the mixed one, every
 *     argmax the same; q4_0/q8_0 agree to ~5e-7 std).
 * Prints the measured figures as a "#" line. */
static void check_close_as(const char *what, int mi, const float *ref, const float *got,
                           size_t n_rows, size_t vocab, int exact);
static void check_close(const char *what, int mi, const float *ref, const float *got,
                        size_t n_rows, size_t vocab) {
    check_close_as(what, mi, ref, got, n_rows, vocab, model_all_vec_dot(mi));
}

/* check_close, where `exact` says whether the two paths must agree bit for
 * bit (else the bounds above). */
static void check_close_as(const char *what, int mi, const float *ref, const float *got,
                           size_t n_rows, size_t vocab, int exact) {
    const size_t n = n_rows * vocab;
    if (exact) {
        T_CHECK(memcmp(ref, got, n * sizeof(float)) == 0, "%s: differs though both paths use vec_dot",
                what);
        printf("#   %s: bit-identical (no vec_dot_4)\n", what);
        return;
    }
    double max_abs = 0, max_ref = 0, mean = 0, var = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)ref[i] - got[i]);
        if (!(d <= max_abs)) max_abs = d; /* NaN propagates */
        if (fabs(ref[i]) > max_ref) max_ref = fabs(ref[i]);
        mean += ref[i];
    }
    mean /= (double)n;
    for (size_t i = 0; i < n; i++) var += (ref[i] - mean) * (ref[i] - mean);
    double sd = sqrt(var / (double)n);
    size_t same = 0;
    for (size_t r = 0; r < n_rows; r++) {
        size_t ia = 0, ib = 0;
        for (size_t i = 1; i < vocab; i++) {
            if (ref[r * vocab + i] > ref[r * vocab + ia]) ia = i;
            if (got[r * vocab + i] > got[r * vocab + ib]) ib = i;
        }
        same += ia == ib;
    }
    printf("#   %s: max diff %.3g = %.3g of 1+max|ref| = %.3g of std; argmax same %zu/%zu\n", what,
           max_abs, max_abs / (1.0 + max_ref), max_abs / sd, same, n_rows);
    if (model_f32_acts(mi)) {
        T_CHECK(max_abs <= 1e-5 * (1.0 + max_ref), "%s: max diff %.3g > 1e-5 * (1 + %.3g)", what,
                max_abs, max_ref);
        T_CHECK(same == n_rows, "%s: argmax differs at %zu of %zu positions", what, n_rows - same, n_rows);
    } else {
        T_CHECK(max_abs <= 0.1 * sd, "%s: max diff %.3g > 0.1 std (%.3g)", what, max_abs, sd);
        T_CHECK(same * 10 >= n_rows * 9, "%s: argmax the same at only %zu of %zu positions", what,
                same, n_rows);
    }
}

/* An np-token prompt in one call vs one token per call, then the same 8
 * tokens one per call either way, with 2 threads, on stories260K and each
 * generated model; compared by check_close_as (exact: -1 for check_close's
 * choice, else as given). */
static void batched_vs_token_by_token(int np, uint64_t seed, int exact) {
    enum { NG = 8 };
    int n_models = 0;
    int have_gen = gen_models();
    for (int mi = -1; mi < (int)N_GEN; mi++) {
        mote_model *m = mi < 0 ? load_stories() : (have_gen ? load_model(g_gen_paths[mi]) : NULL);
        if (!m) continue;
        n_models++;
        mote_model_info info;
        mote_model_get_info(m, &info);
        int32_t prompt[256], cont[NG];
        T_REQUIRE(np <= 256, "prompt of %d tokens", np);
        make_ids(prompt, np, info.n_vocab, seed + (uint64_t)mi, 1);
        make_ids(cont, NG, info.n_vocab, seed + 100 + (uint64_t)mi, 0);
        size_t n_floats = (size_t)(np + NG) * (size_t)info.n_vocab;
        float *seq = malloc(n_floats * sizeof(float)), *bat = malloc(n_floats * sizeof(float));
        T_REQUIRE(seq && bat, "malloc");
        T_CHECK(run_positions(m, 2, 512, 0, prompt, np, cont, NG, seq), "token by token failed");
        T_CHECK(run_positions(m, 2, 512, 1, prompt, np, cont, NG, bat), "batched failed");
        char what[96];
        snprintf(what, sizeof what, "%s batched vs token by token, %d positions",
                 mi < 0 ? "stories260K" : g_gen_models[mi].name, np + NG);
        check_close_as(what, mi, seq, bat, (size_t)(np + NG), (size_t)info.n_vocab,
                       exact < 0 ? model_all_vec_dot(mi) : exact);
        free(seq);
        free(bat);
        mote_model_free(m);
    }
    if (n_models == 0) T_SKIP("no model");
}

/* 60 prompt tokens (attention in one part of MOTE_KV_PART throughout). */
static void test_batched_prompt_matches_token_by_token(void) { batched_vs_token_by_token(60, 77, -1); }

/* One-token decoding past MOTE_KV_PART (128) positions, whose attention
 * is split by positions and merged (kv_cache.h), against the batched path
 * (attention over all positions at once): 150 prompt tokens; check_close's
 * bounds (merging parts sums in another order, so never bit for bit). */
static void test_token_by_token_past_one_part(void) { batched_vs_token_by_token(150, 91, 0); }

/* A 30-token prompt with n_batch 7 (5 chunks: 7+7+7+7+2), n_batch 512 (one)
 * and n_batch 1 (every token alone through the batched path), then 5 more
 * tokens: rows and n_past against token-by-token decoding (check_close).
 * And with logits == NULL over the chunks, the last row is kept. */
static void test_prompt_longer_than_batch_is_chunked(void) {
    int n_models = 0;
    int have_gen = gen_models();
    for (int mi = -1; mi < (int)N_GEN; mi += 2) { /* stories260K, gen-q8_0, gen-mixed */
        mote_model *m = mi < 0 ? load_stories() : (have_gen ? load_model(g_gen_paths[mi]) : NULL);
        if (!m) continue;
        n_models++;
        mote_model_info info;
        mote_model_get_info(m, &info);
        enum { NP = 30, NG = 5 };
        int32_t prompt[NP], cont[NG];
        make_ids(prompt, NP, info.n_vocab, 300 + (uint64_t)mi, 1);
        make_ids(cont, NG, info.n_vocab, 400 + (uint64_t)mi, 0);
        size_t n_floats = (size_t)(NP + NG) * (size_t)info.n_vocab;
        float *ref = malloc(n_floats * sizeof(float)), *got = malloc(n_floats * sizeof(float));
        T_REQUIRE(ref && got, "malloc");
        const char *name = mi < 0 ? "stories260K" : g_gen_models[mi].name;
        T_CHECK(run_positions(m, 2, 512, 0, prompt, NP, cont, NG, ref), "reference failed");
        const int batches[] = {7, 512, 1};
        for (int b = 0; b < 3; b++) {
            T_CHECK(run_positions(m, 2, batches[b], 1, prompt, NP, cont, NG, got), "n_batch %d failed",
                    batches[b]);
            char what[96];
            snprintf(what, sizeof what, "%s n_batch %d", name, batches[b]);
            check_close(what, mi, ref, got, NP + NG, (size_t)info.n_vocab);
        }
        mote_ctx_params p = mote_ctx_default_params();
        p.n_batch = 7;
        p.n_threads = 2;
        p.n_ctx = 64;
        mote_ctx *c;
        mote_error err = {0};
        T_REQUIRE(mote_ctx_new(m, &p, &c, &err) == MOTE_OK, "%s", err.msg);
        T_CHECK(mote_ctx_n_batch(c) == 7, "n_batch %d", mote_ctx_n_batch(c));
        T_CHECK(mote_ctx_decode(c, prompt, NP, NULL, &err) == MOTE_OK, "%s", err.msg);
        T_CHECK(mote_ctx_n_past(c) == NP, "n_past %d", mote_ctx_n_past(c));
        char what[96];
        snprintf(what, sizeof what, "%s n_batch 7, last row only", name);
        check_close(what, mi, ref + (size_t)(NP - 1) * info.n_vocab, mote_ctx_logits(c), 1,
                    (size_t)info.n_vocab);
        mote_ctx_free(c);
        free(ref);
        free(got);
        mote_model_free(m);
    }
    if (n_models == 0) T_SKIP("no model");
}

/* ---- no allocation while decoding batches ---- */
static atomic_long g_allocs;
static void *count_malloc(size_t n, void *u) { (void)u; atomic_fetch_add(&g_allocs, 1); return malloc(n); }
static void *count_realloc(void *p, size_t n, void *u) { (void)u; atomic_fetch_add(&g_allocs, 1); return realloc(p, n); }
static void count_free(void *p, void *u) { (void)u; free(p); }

/* Through the allocator hook: a 100-token batched prompt (with and without
 * rows, in one chunk and in chunks of 16), then 10 single tokens, with 3
 * threads, allocate nothing once the context exists. */
static void test_batched_decode_allocates_nothing(void) {
    mote_allocator a = {count_malloc, count_realloc, count_free, NULL};
    mote_set_allocator(&a);
    int have_gen = gen_models();
    mote_model *m = have_gen ? load_model(g_gen_paths[3]) : load_stories(); /* gen-mixed */
    if (!m) { mote_set_allocator(NULL); T_SKIP("no model"); }
    mote_model_info info;
    mote_model_get_info(m, &info);
    int32_t prompt[100];
    make_ids(prompt, 100, info.n_vocab, 9, 1);
    float *rows = malloc(sizeof(float) * 100 * (size_t)info.n_vocab);
    T_REQUIRE(rows, "malloc");
    const int batches[] = {512, 16};
    for (int b = 0; b < 2; b++) {
        mote_ctx_params p = mote_ctx_default_params();
        p.n_threads = 3;
        p.n_batch = batches[b];
        p.n_ctx = 256;
        mote_ctx *c;
        mote_error err = {0};
        T_REQUIRE(mote_ctx_new(m, &p, &c, &err) == MOTE_OK, "%s", err.msg);
        long before = atomic_load(&g_allocs);
        T_CHECK(mote_ctx_decode(c, prompt, 100, rows, &err) == MOTE_OK, "%s", err.msg);
        T_CHECK(mote_ctx_decode(c, prompt, 100, NULL, &err) == MOTE_OK, "%s", err.msg);
        for (int i = 0; i < 10; i++) T_CHECK(mote_ctx_decode(c, &prompt[i], 1, NULL, &err) == MOTE_OK, "%s", err.msg);
        long used = atomic_load(&g_allocs) - before;
        T_CHECK(used == 0, "n_batch %d: %ld allocations while decoding", batches[b], used);
        mote_ctx_free(c);
    }
    free(rows);
    mote_model_free(m);
    mote_set_allocator(NULL);
}

/* Generation, the hot loop: for every generated model (q4_0, q8_0, f16 and
 * mixed weights: each gemv / vec_dot path) and KV cache types f32, f16 and
 * q8_0, with 2 threads, a context decodes a 5-token prompt and then 16
 * tokens one at a time; from after mote_ctx_new to the last token nothing
 * goes through the allocator hook. */
static void test_generation_allocates_nothing(void) {
    mote_allocator a = {count_malloc, count_realloc, count_free, NULL};
    if (!gen_models()) T_SKIP("cannot write the generated models");
    static const char *kv_types[] = {"f32", "f16", "q8_0"};
    mote_set_allocator(&a);
    for (size_t mi = 0; mi < N_GEN && !t_cur_failed; mi++) {
        mote_model *m = load_model(g_gen_paths[mi]);
        T_REQUIRE(m, "cannot load %s", g_gen_models[mi].name);
        mote_model_info info;
        mote_model_get_info(m, &info);
        int32_t ids[21];
        make_ids(ids, 21, info.n_vocab, 5, (int)mi);
        for (size_t ki = 0; ki < sizeof kv_types / sizeof kv_types[0]; ki++) {
            /* the gqa8 model's cache rows (2 kv heads of 8) are not whole
             * q8_0 blocks */
            if (g_gen_models[mi].kv_heads && !strcmp(kv_types[ki], "q8_0")) continue;
            mote_ctx_params p = mote_ctx_default_params();
            p.n_threads = 2;
            p.n_ctx = 64;
            p.kv_type = kv_types[ki];
            mote_ctx *c;
            mote_error err = {0};
            T_REQUIRE(mote_ctx_new(m, &p, &c, &err) == MOTE_OK, "%s", err.msg);
            long before = atomic_load(&g_allocs);
            T_CHECK(mote_ctx_decode(c, ids, 5, NULL, &err) == MOTE_OK, "%s", err.msg);
            for (int i = 5; i < 21; i++)
                T_CHECK(mote_ctx_decode(c, &ids[i], 1, NULL, &err) == MOTE_OK, "%s", err.msg);
            long used = atomic_load(&g_allocs) - before;
            T_CHECK(used == 0, "%s, kv %s: %ld allocations while generating",
                    g_gen_models[mi].name, kv_types[ki], used);
            mote_ctx_free(c);
        }
        mote_model_free(m);
    }
    mote_set_allocator(NULL);
}

/* A context with 3 threads that has decoded uses under 40 ms of CPU while
 * idle for 300 ms; bad thread and batch counts are errors. */
static void test_ctx_threads_params(void) {
    mote_model *m = load_stories();
    if (!m && gen_models()) m = load_model(g_gen_paths[0]);
    if (!m) T_SKIP("no model");
    mote_ctx_params p = mote_ctx_default_params();
    T_CHECK(p.n_batch == 512 && p.n_threads == 0, "defaults: batch %d threads %d", p.n_batch, p.n_threads);
    mote_ctx *c;
    mote_error err = {0};
    T_REQUIRE(mote_ctx_new(m, &p, &c, &err) == MOTE_OK, "%s", err.msg);
    T_CHECK(mote_ctx_n_threads(c) == mote__cpu_physical_cores(), "default threads %d, cores %d",
            mote_ctx_n_threads(c), mote__cpu_physical_cores());
    mote_ctx_free(c);
    p.n_threads = 3;
    T_REQUIRE(mote_ctx_new(m, &p, &c, &err) == MOTE_OK, "%s", err.msg);
    int32_t bos = 1;
    T_CHECK(mote_ctx_decode(c, &bos, 1, NULL, &err) == MOTE_OK, "%s", err.msg);
    double c0 = cpu_seconds();
    sleep_ms(300);
    double used = cpu_seconds() - c0;
    T_CHECK(used < 0.040, "an idle context used %.1f ms of CPU in 300 ms", used * 1e3);
    mote_ctx_free(c);
    const int32_t bad_threads[] = {-1, MOTE_MAX_THREADS + 1};
    for (int i = 0; i < 2; i++) {
        p = mote_ctx_default_params();
        p.n_threads = bad_threads[i];
        T_CHECK(mote_ctx_new(m, &p, &c, &err) == MOTE_ERR_INVALID_ARG && strstr(err.msg, "thread"),
                "n_threads %d: %s", bad_threads[i], err.msg);
    }
    p = mote_ctx_default_params();
    p.n_batch = -1;
    T_CHECK(mote_ctx_new(m, &p, &c, &err) == MOTE_ERR_INVALID_ARG && strstr(err.msg, "batch"),
            "n_batch -1: %s", err.msg);
    mote_model_free(m);
}

int main(void) {
    T_RUN(test_pool_runs_every_thread_once);
    T_RUN(test_parallel_for_covers_every_index_once);
    T_RUN(test_barrier_orders_phases);
    T_RUN(test_idle_pool_sleeps);
    T_RUN(test_cpu_topology_counts_physical_cores);
    T_RUN(test_matmul_matches_matvec);
    T_RUN(test_logits_identical_across_threads);
    T_RUN(test_batched_prompt_matches_token_by_token);
    T_RUN(test_token_by_token_past_one_part);
    T_RUN(test_prompt_longer_than_batch_is_chunked);
    T_RUN(test_batched_decode_allocates_nothing);
    T_RUN(test_generation_allocates_nothing);
    T_RUN(test_ctx_threads_params);
    gen_models_remove();
    return t_exit();
}
