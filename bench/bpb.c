/* bpb.c — held-out bits per byte of a model on a text file: the measure
 * tools/default_model.sh reports for mote's default model (against xz -9
 * on the same bytes). Uses only mote.h.
 *
 *   bpb MODEL TEXT [CTX]
 *
 * The text is tokenized without BOS and cut into chunks of CTX - 1 tokens
 * (default: the model's context); each chunk is evaluated from a fresh
 * context as BOS + chunk, so every token of the text is predicted once,
 * with at least BOS before it. bits per byte = the summed -log2 p(token) /
 * the text's bytes. Prints tokens, bytes, nats/token and bits/byte.
 * Not here: sampling or anything of training.
 */
#include "mote.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: bpb MODEL TEXT [CTX]\n");
        return 2;
    }
    mote_error err = {0};
    mote_model *m = NULL;
    if (mote_model_load(argv[1], &m, &err)) {
        fprintf(stderr, "bpb: %s\n", err.msg);
        return 1;
    }
    FILE *f = fopen(argv[2], "rb");
    if (!f) {
        fprintf(stderr, "bpb: cannot open %s\n", argv[2]);
        return 1;
    }
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)len + 1);
    if (!text || fread(text, 1, (size_t)len, f) != (size_t)len) {
        fprintf(stderr, "bpb: cannot read %s\n", argv[2]);
        return 1;
    }
    fclose(f);
    const mote_vocab *v = mote_model_vocab(m);
    mote_model_info info;
    mote_model_get_info(m, &info);
    int64_t n = 0;
    mote_tokenize(v, text, (size_t)len, 0, NULL, 0, &n, &err);
    int32_t *tok = malloc((size_t)(n + 1) * sizeof *tok);
    if (!tok || mote_tokenize(v, text, (size_t)len, 0, tok, n, &n, &err)) {
        fprintf(stderr, "bpb: tokenize: %s\n", err.msg);
        return 1;
    }
    int32_t ctx_len = argc > 3 ? atoi(argv[3]) : info.n_ctx_train;
    if (ctx_len < 2 || ctx_len > info.n_ctx_train) ctx_len = info.n_ctx_train;
    mote_ctx_params cp = mote_ctx_default_params();
    cp.n_ctx = ctx_len;
    cp.n_batch = ctx_len;
    mote_ctx *c = NULL;
    if (mote_ctx_new(m, &cp, &c, &err)) {
        fprintf(stderr, "bpb: %s\n", err.msg);
        return 1;
    }
    const int32_t V = info.n_vocab, chunk = ctx_len - 1;
    float *logits = malloc((size_t)ctx_len * (size_t)V * sizeof(float));
    int32_t *in = malloc((size_t)ctx_len * sizeof(int32_t));
    if (!logits || !in) return 1;
    double nll = 0.0; /* nats */
    for (int64_t s = 0; s < n; s += chunk) {
        int32_t k = (int32_t)(n - s < chunk ? n - s : chunk);
        in[0] = info.bos_id;
        for (int32_t i = 0; i < k; i++) in[i + 1] = tok[s + i];
        mote_ctx_reset(c);
        if (mote_ctx_decode(c, in, k + 1, logits, &err)) {
            fprintf(stderr, "bpb: %s\n", err.msg);
            return 1;
        }
        for (int32_t i = 0; i < k; i++) { /* row i predicts in[i + 1] */
            const float *r = logits + (size_t)i * V;
            double mx = r[0], z = 0.0;
            for (int32_t j = 1; j < V; j++) mx = r[j] > mx ? r[j] : mx;
            for (int32_t j = 0; j < V; j++) z += exp((double)r[j] - mx);
            nll += log(z) + mx - (double)r[in[i + 1]];
        }
    }
    printf("tokens %lld bytes %ld nats/token %.4f bits/byte %.4f\n", (long long)n, len,
           nll / (double)n, nll / log(2.0) / (double)len);
    free(logits);
    free(in);
    free(tok);
    free(text);
    mote_ctx_free(c);
    mote_model_free(m);
    return 0;
}
