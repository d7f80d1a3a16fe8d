/* sample.c — choosing the next token from logits: greedy, or repetition
 * penalty, top-k, top-p, min-p and temperature, with a seeded generator so
 * a run is repeatable.
 *
 * The order is llama.cpp's default chain: penalty, top-k, top-p, min-p
 * (the last three on probabilities at temperature 1), then temperature on
 * the survivors, then a draw. Every buffer is allocated in mote_sampler_new:
 * sampling allocates nothing. Not here: grammar constraints, mirostat.
 */
#include "../core/core.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct mote_sampler {
    mote_sampler_params p;
    int32_t n_vocab;
    uint64_t rng;
    float *work;      /* (n_vocab) penalised logits */
    int32_t *cand;    /* (n_vocab) candidate ids, best first */
    float *prob;      /* (n_vocab) candidate probabilities */
    uint32_t *stamp;  /* (n_vocab) marks tokens already penalised this call */
    struct logit_id *pairs; /* (n_vocab) for full sorts */
    uint32_t stamp_now;
    int32_t *recent;  /* ring of the last repeat_last_n accepted tokens */
    int32_t n_recent, recent_head;
};

mote_sampler_params mote_sampler_default_params(void) {
    return (mote_sampler_params){
        .temperature = 0.8f, .top_k = 40, .top_p = 0.95f, .min_p = 0.05f,
        .repeat_penalty = 1.0f, .repeat_last_n = 64, .seed = 0x6d6f7465ull /* "mote" */,
    };
}

/* xorshift64* (Vigna): small, fast, good enough for sampling. */
static uint64_t rng_next(uint64_t *s) {
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1Dull;
}
/* Uniform in [0, 1). */
static float rng_float(uint64_t *s) { return (float)(rng_next(s) >> 40) * (1.0f / 16777216.0f); }

mote_status mote_sampler_new(const mote_sampler_params *p, int32_t n_vocab, mote_sampler **out,
                             mote_error *err) {
    *out = NULL;
    mote_sampler_params prm = p ? *p : mote_sampler_default_params();
    if (n_vocab <= 0) return mote__err(err, MOTE_ERR_INVALID_ARG, "vocabulary size %d must be positive", (int)n_vocab);
    if (!(prm.temperature == prm.temperature) || !(prm.top_p == prm.top_p) || !(prm.min_p == prm.min_p))
        return mote__err(err, MOTE_ERR_INVALID_ARG, "sampler parameters must not be NaN");
    if (prm.top_p <= 0.0f) return mote__err(err, MOTE_ERR_INVALID_ARG, "top-p %g must be in (0, 1]", (double)prm.top_p);
    if (prm.min_p >= 1.0f) return mote__err(err, MOTE_ERR_INVALID_ARG, "min-p %g must be below 1", (double)prm.min_p);
    if (!(prm.repeat_penalty > 0.0f)) return mote__err(err, MOTE_ERR_INVALID_ARG, "repeat penalty %g must be positive", (double)prm.repeat_penalty);
    if (prm.repeat_last_n < 0) prm.repeat_last_n = 0;
    mote_sampler *s = mote__calloc(1, sizeof *s);
    if (!s) return mote__err(err, MOTE_ERR_NOMEM, "out of memory");
    s->p = prm;
    s->n_vocab = n_vocab;
    s->rng = prm.seed ? prm.seed : 0x9E3779B97F4A7C15ull; /* xorshift needs a non-zero state */
    s->work = mote__calloc((size_t)n_vocab, sizeof(float));
    s->cand = mote__calloc((size_t)n_vocab, sizeof(int32_t));
    s->prob = mote__calloc((size_t)n_vocab, sizeof(float));
    s->stamp = mote__calloc((size_t)n_vocab, sizeof(uint32_t));
    s->pairs = mote__calloc((size_t)n_vocab, 2 * sizeof(int32_t));
    s->recent = mote__calloc((size_t)prm.repeat_last_n + 1, sizeof(int32_t));
    if (!s->work || !s->cand || !s->prob || !s->stamp || !s->pairs || !s->recent) {
        mote_sampler_free(s);
        return mote__err(err, MOTE_ERR_NOMEM, "out of memory");
    }
    *out = s;
    return MOTE_OK;
}

void mote_sampler_free(mote_sampler *s) {
    if (!s) return;
    mote__free(s->work);
    mote__free(s->cand);
    mote__free(s->prob);
    mote__free(s->stamp);
    mote__free(s->pairs);
    mote__free(s->recent);
    mote__free(s);
}

void mote_sampler_accept(mote_sampler *s, int32_t token) {
    if (s->p.repeat_last_n == 0) return;
    s->recent[s->recent_head] = token;
    s->recent_head = (s->recent_head + 1) % s->p.repeat_last_n;
    if (s->n_recent < s->p.repeat_last_n) s->n_recent++;
}

/* Divide positive logits by the penalty and multiply negative ones (as
 * llama.cpp does), once per distinct recent token. */
static void apply_repeat_penalty(mote_sampler *s) {
    if (s->p.repeat_penalty == 1.0f || s->n_recent == 0) return;
    if (++s->stamp_now == 0) { /* wrapped: clear the marks */
        memset(s->stamp, 0, (size_t)s->n_vocab * sizeof(uint32_t));
        s->stamp_now = 1;
    }
    for (int32_t i = 0; i < s->n_recent; i++) {
        int32_t t = s->recent[i];
        if (t < 0 || t >= s->n_vocab || s->stamp[t] == s->stamp_now) continue;
        s->stamp[t] = s->stamp_now;
        float *l = &s->work[t];
        *l = *l > 0.0f ? *l / s->p.repeat_penalty : *l * s->p.repeat_penalty;
    }
}

/* qsort has no context argument, so full sorts go over (logit, id) pairs:
 * no global state, several samplers may run in several threads. */
typedef struct logit_id { float logit; int32_t id; } logit_id;
static int by_logit_desc(const void *a, const void *b) {
    const logit_id *x = a, *y = b;
    if (x->logit > y->logit) return -1;
    if (x->logit < y->logit) return 1;
    return x->id - y->id; /* ties: lower id first */
}

/* Move the k largest (by logit) to the front of cand[0..n), sorted. A
 * bounded insertion keeps this O(n k) for small k instead of sorting all. */
static int32_t select_top(mote_sampler *s, int32_t n, int32_t k) {
    const float *w = s->work;
    if (k <= 0 || k >= n || k > 256) {
        for (int32_t i = 0; i < n; i++) s->pairs[i] = (logit_id){w[i], i};
        qsort(s->pairs, (size_t)n, sizeof(logit_id), by_logit_desc);
        for (int32_t i = 0; i < n; i++) s->cand[i] = s->pairs[i].id;
        return k > 0 && k < n ? k : n;
    }
    int32_t m = 0;
    for (int32_t i = 0; i < n; i++) {
        if (m == k && !(w[i] > w[s->cand[k - 1]])) continue;
        int32_t j = m < k ? m++ : k - 1;
        while (j > 0 && w[s->cand[j - 1]] < w[i]) {
            s->cand[j] = s->cand[j - 1];
            j--;
        }
        s->cand[j] = i;
    }
    return m;
}

int32_t mote_sampler_sample(mote_sampler *s, const float *logits) {
    const int32_t n = s->n_vocab;
    memcpy(s->work, logits, (size_t)n * sizeof(float));
    apply_repeat_penalty(s);

    if (s->p.temperature <= 0.0f) { /* greedy: first maximum */
        int32_t best = 0;
        for (int32_t i = 1; i < n; i++)
            if (s->work[i] > s->work[best]) best = i;
        return best;
    }

    int32_t m = select_top(s, n, s->p.top_k);

    /* Probabilities at temperature 1 for the truncations. */
    float max = s->work[s->cand[0]];
    double sum = 0.0;
    for (int32_t i = 0; i < m; i++) sum += s->prob[i] = expf(s->work[s->cand[i]] - max);
    if (s->p.top_p < 1.0f) {
        double cum = 0.0;
        for (int32_t i = 0; i < m; i++) {
            cum += s->prob[i] / sum;
            if (cum >= s->p.top_p) { m = i + 1; break; }
        }
    }
    if (s->p.min_p > 0.0f) {
        /* prob[0] is the largest (= 1 before normalisation). */
        int32_t keep = 1;
        while (keep < m && s->prob[keep] >= s->p.min_p * s->prob[0]) keep++;
        m = keep;
    }

    /* Temperature on the survivors, then draw. */
    sum = 0.0;
    for (int32_t i = 0; i < m; i++)
        sum += s->prob[i] = expf((s->work[s->cand[i]] - max) / s->p.temperature);
    double r = (double)rng_float(&s->rng) * sum;
    double cum = 0.0;
    for (int32_t i = 0; i < m; i++) {
        cum += s->prob[i];
        if (r < cum) return s->cand[i];
    }
    return s->cand[m - 1];
}
