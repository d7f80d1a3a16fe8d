/* bench/tg_replay.c — how close generation comes to its own matrix
 * products: the weight matrices one generated token reads (per layer q, k,
 * v, o, gate, up, down, then the output matrix), replayed through the gemv
 * kernels alone on T threads (each matrix split into T contiguous row
 * ranges, one thread barrier per token), against the same model decoding
 * through mote_ctx_decode, in alternating rounds inside one process.
 *
 * Why: generation's roofline fraction (`mote bench`) mixes two losses — the
 * kernels' streaming speed over these matrices, and everything else the
 * forward pass does (norms, RoPE, attention, quantizing activations, the
 * barriers between steps). The replay is the first alone; the ratio of the
 * two is the second. Alternating rounds in one process (medians of
 * per-round figures) keep the ratio meaningful on a machine whose bandwidth
 * moves minute to minute.
 *
 * Not a test (it checks nothing); not run by `make bench`. Usage:
 *   build/bench/tg_replay MODEL [THREADS=2] [TOKENS=32] [ROUNDS=7]
 * Needs a model whose matrices all have gemv kernels (q4_0, q8_0, f16,
 * bf16) and at most MOTE_GEMV_MAX_COLS columns.
 */
#include "bench_util.h"
#include "kernels/kernels.h"
#include "model/model.h"
#include "tensor/types.h"
#include "mote.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_THREADS 64
#define MAX_ROUNDS 64

typedef struct replay {
    const mote_matrix **seq; /* the matrices of one token, in order */
    int n_seq;
    int n_threads, n_tokens;
    pthread_barrier_t bar;
    void *act;               /* one activation row, zero: any values time the same */
    float *y;                /* (largest n_rows) outputs, threads write disjoint rows */
} replay;

typedef struct worker {
    replay *rp;
    int ith;
} worker;

/* Thread ith: its row range of every matrix, for n_tokens tokens, meeting
 * the others at a barrier after each token (as a decode call returns). */
static void *replay_thread(void *arg) {
    worker *wk = arg;
    replay *rp = wk->rp;
    const int nth = rp->n_threads;
    for (int t = 0; t < rp->n_tokens; t++) {
        for (int i = 0; i < rp->n_seq; i++) {
            const mote_matrix *w = rp->seq[i];
            const int64_t per = w->n_rows / nth, r0 = per * wk->ith;
            const int64_t r1 = wk->ith == nth - 1 ? w->n_rows : r0 + per;
            mote__kernels_for(w->type)->gemv(w->n_cols, (const uint8_t *)w->data + (size_t)r0 * w->row_bytes,
                                            w->row_bytes, r1 - r0, rp->act, rp->y + r0);
        }
        pthread_barrier_wait(&rp->bar);
    }
    return NULL;
}

/* One replay round: tokens/s. The caller's thread is thread 0. */
static double replay_round(replay *rp) {
    pthread_t th[MAX_THREADS];
    worker wk[MAX_THREADS];
    double t0 = mote_time_now();
    for (int i = 1; i < rp->n_threads; i++) {
        wk[i] = (worker){rp, i};
        pthread_create(&th[i], NULL, replay_thread, &wk[i]);
    }
    wk[0] = (worker){rp, 0};
    replay_thread(&wk[0]);
    for (int i = 1; i < rp->n_threads; i++) pthread_join(th[i], NULL);
    return rp->n_tokens / (mote_time_now() - t0);
}

/* One decode round from an empty cache: tokens/s, or -1 on error. */
static double decode_round(mote_ctx *c, int n_tokens, int32_t n_vocab) {
    mote_error err = {0};
    mote_ctx_reset(c);
    double t0 = mote_time_now();
    for (int i = 0; i < n_tokens; i++) {
        int32_t tok = (int32_t)((uint32_t)(i * 2654435761u + 7u) % (uint32_t)n_vocab);
        if (mote_ctx_decode(c, &tok, 1, NULL, &err)) {
            fprintf(stderr, "tg_replay: decode: %s\n", err.msg);
            return -1.0;
        }
    }
    return n_tokens / (mote_time_now() - t0);
}

static double median_of(const double *v, int n) {
    double s[MAX_ROUNDS];
    memcpy(s, v, (size_t)n * sizeof *v);
    qsort(s, (size_t)n, sizeof s[0], cmp_double);
    return s[n / 2];
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: tg_replay MODEL [THREADS=2] [TOKENS=32] [ROUNDS=7]\n");
        return 2;
    }
    const int n_threads = argc > 2 ? atoi(argv[2]) : 2, n_tokens = argc > 3 ? atoi(argv[3]) : 32;
    const int n_rounds = argc > 4 ? atoi(argv[4]) : 7;
    if (n_threads < 1 || n_threads > MAX_THREADS || n_tokens < 1 || n_rounds < 1 || n_rounds > MAX_ROUNDS) {
        fprintf(stderr, "tg_replay: threads 1..%d, tokens >= 1, rounds 1..%d\n", MAX_THREADS, MAX_ROUNDS);
        return 2;
    }
    mote_error err = {0};
    mote_model *m;
    if (mote_model_load(argv[1], &m, &err)) {
        fprintf(stderr, "tg_replay: %s\n", err.msg);
        return 1;
    }
    const int n_layer = m->hp.n_layer;
    replay rp = {.n_threads = n_threads, .n_tokens = n_tokens};
    rp.seq = malloc(sizeof *rp.seq * (size_t)(7 * n_layer + 1));
    int64_t max_rows = 0, max_cols = 0;
    double bytes = 0.0;
    for (int l = 0; l <= n_layer; l++) {
        const mote_layer *L = &m->layers[l < n_layer ? l : 0];
        const mote_matrix *ws[7] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
        const int n = l < n_layer ? 7 : 1;
        for (int i = 0; i < n; i++) {
            const mote_matrix *w = l < n_layer ? ws[i] : &m->output;
            const mote_kernel_table *k = mote__kernels_for(w->type);
            if (!k || !k->gemv || w->n_cols > MOTE_GEMV_MAX_COLS) {
                fprintf(stderr, "tg_replay: a %s matrix has no gemv kernel here\n", mote__type_name(w->type));
                return 1;
            }
            rp.seq[rp.n_seq++] = w;
            bytes += (double)w->row_bytes * (double)w->n_rows;
            if (w->n_rows > max_rows) max_rows = w->n_rows;
            if (w->n_cols > max_cols) max_cols = w->n_cols;
        }
    }
    rp.act = mote__malloc_aligned((size_t)max_cols * 4 + 64, 64); /* f32 is the widest activation */
    rp.y = malloc(sizeof(float) * (size_t)max_rows);
    memset(rp.act, 0, (size_t)max_cols * 4 + 64);
    pthread_barrier_init(&rp.bar, NULL, (unsigned)n_threads);

    mote_ctx_params cp = mote_ctx_default_params();
    cp.n_ctx = n_tokens;
    cp.n_threads = n_threads;
    mote_ctx *c;
    if (mote_ctx_new(m, &cp, &c, &err)) {
        fprintf(stderr, "tg_replay: %s\n", err.msg);
        return 1;
    }
    const int32_t n_vocab = m->hp.n_vocab;
    /* warm-up: page every weight in on both paths */
    rp.n_tokens = 1;
    replay_round(&rp);
    rp.n_tokens = n_tokens;
    if (decode_round(c, 1, n_vocab) < 0) return 1;

    double rr[MAX_ROUNDS], dr[MAX_ROUNDS], ratio[MAX_ROUNDS];
    for (int r = 0; r < n_rounds; r++) {
        rr[r] = replay_round(&rp);
        dr[r] = decode_round(c, n_tokens, n_vocab);
        if (dr[r] < 0) return 1;
        ratio[r] = dr[r] / rr[r];
    }
    const double mr = median_of(rr, n_rounds), md = median_of(dr, n_rounds);
    printf("tg_replay: %s, %d threads, %d rounds of %d tokens, %.1f MB of matrices a token\n", argv[1],
           n_threads, n_rounds, n_tokens, bytes / 1e6);
    printf("  matrix products alone (gemv replay): median %7.2f tokens/s, %6.1f GB/s\n", mr, mr * bytes / 1e9);
    printf("  mote_ctx_decode:                     median %7.2f tokens/s, %6.1f GB/s\n", md, md * bytes / 1e9);
    printf("  decode / replay: median of the rounds' ratios %.3f\n", median_of(ratio, n_rounds));
    mote_ctx_free(c);
    mote_model_free(m);
    pthread_barrier_destroy(&rp.bar);
    mote__free_aligned(rp.act);
    free(rp.y);
    free(rp.seq);
    return 0;
}
