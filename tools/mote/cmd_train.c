/* cmd_train.c — `mote train`: train a small Llama model on a text file and
 * write it as GGUF.
 *
 * Reads the text, tokenizes it once with the vocab (BOS first), and for
 * each step draws `batch` windows of ctx + 1 tokens at seeded random
 * offsets: ids are a window's first ctx tokens, targets its last ctx. The
 * model starts from random weights of the given shape, or from --init.
 * Prints step, loss, learning rate, gradient norm and tokens/s; writes the
 * model (with the vocab's tokenizer) to -o. Not here: anything of the
 * training itself (src/train/ through mote.h).
 */
#include "cli.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *train_help =
    "usage: mote train --data FILE --vocab VOCAB.gguf -o OUT.gguf [options]\n"
    "\n"
    "Train a Llama model on the text of FILE (tokenized with VOCAB's tokenizer)\n"
    "with AdamW, and write it to OUT.gguf (F32, with VOCAB's tokenizer), which\n"
    "`mote run -m OUT.gguf` loads. Each step takes --batch random windows of\n"
    "--ctx tokens from the text.\n"
    "\n"
    "  --data FILE        training text (read byte for byte)\n"
    "  --vocab FILE       GGUF with the tokenizer (a model or a vocab-only file);\n"
    "                     the model's vocabulary is its size\n"
    "  -o, --output FILE  where to write the trained model\n"
    "  --init FILE        start from this F32/F16/BF16 Llama GGUF instead of\n"
    "                     random weights (its shape wins over the flags below)\n"
    "  --dim N            embedding width (default 64)\n"
    "  --layers N         blocks (default 5)\n"
    "  --heads N          query heads (default 8)\n"
    "  --kv-heads N       key/value heads, dividing --heads (default 4)\n"
    "  --ffn N            feed-forward width (default 172)\n"
    "  --ctx N            tokens per training sequence (default 256)\n"
    "  --batch N          sequences per micro-batch (default 16)\n"
    "  --accum N          micro-batches per step (gradient accumulation, default 1)\n"
    "  --steps N          optimizer steps (default 100)\n"
    "  --lr X             peak learning rate (default 1e-3); cosine decay to lr/10\n"
    "  --warmup N         linear warm-up steps (default 10, at most steps)\n"
    "  --weight-decay X   AdamW weight decay on matrices (default 0.1)\n"
    "  --clip X           gradient norm limit, 0 = off (default 1.0)\n"
    "  --seed N           weights and batch sampling (default 1)\n"
    "  -t, --threads N    threads (default 1)\n"
    "  --log-every N      print every N steps (default 1; the last always)\n"
    "  -h, --help         this text\n";

/* xorshift64*: the window sampler. */
static uint64_t next_rand(uint64_t *s) {
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

int cmd_train(int argc, char **argv) {
    const char *data = NULL, *vocab_path = NULL, *out_path = NULL, *init = NULL;
    int64_t dim = 64, layers = 5, heads = 8, kv_heads = 4, ffn = 172, ctx = 256, batch = 16;
    int64_t accum = 1, steps = 100, warmup = 10, threads = 1, log_every = 1;
    uint64_t seed = 1;
    float lr = 1e-3f, wd = 0.1f, clip = 1.0f;
    bool warmup_set = false;
    const char *C = "train";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
#define VAL() if (!(v = cli_value(C, argc, argv, &i))) return 2
#define INT(var, lo, hi) do { VAL(); if (!cli_parse_i64(C, a, v, lo, hi, &var)) return 2; } while (0)
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { fputs(train_help, stdout); return 0; }
        else if (!strcmp(a, "--data")) { VAL(); data = v; }
        else if (!strcmp(a, "--vocab")) { VAL(); vocab_path = v; }
        else if (!strcmp(a, "-o") || !strcmp(a, "--output")) { VAL(); out_path = v; }
        else if (!strcmp(a, "--init")) { VAL(); init = v; }
        else if (!strcmp(a, "--dim")) INT(dim, 1, 65536);
        else if (!strcmp(a, "--layers")) INT(layers, 1, 1024);
        else if (!strcmp(a, "--heads")) INT(heads, 1, 1024);
        else if (!strcmp(a, "--kv-heads")) INT(kv_heads, 1, 1024);
        else if (!strcmp(a, "--ffn")) INT(ffn, 1, 1 << 20);
        else if (!strcmp(a, "--ctx")) INT(ctx, 1, 1 << 16);
        else if (!strcmp(a, "--batch")) INT(batch, 1, 1 << 16);
        else if (!strcmp(a, "--accum")) INT(accum, 1, 1 << 16);
        else if (!strcmp(a, "--steps")) INT(steps, 1, 1 << 30);
        else if (!strcmp(a, "--warmup")) { INT(warmup, 0, 1 << 30); warmup_set = true; }
        else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) INT(threads, 1, 64);
        else if (!strcmp(a, "--log-every")) INT(log_every, 1, 1 << 30);
        else if (!strcmp(a, "--seed")) { VAL(); if (!cli_parse_u64(C, a, v, &seed)) return 2; }
        else if (!strcmp(a, "--lr")) { VAL(); if (!cli_parse_f32(C, a, v, 1e-9, 10.0, &lr)) return 2; }
        else if (!strcmp(a, "--weight-decay")) { VAL(); if (!cli_parse_f32(C, a, v, 0.0, 10.0, &wd)) return 2; }
        else if (!strcmp(a, "--clip")) { VAL(); if (!cli_parse_f32(C, a, v, 0.0, 1e9, &clip)) return 2; }
        else return cli_usage_error(C, "unknown option '%s'", a);
#undef INT
#undef VAL
    }
    if (!data) return cli_usage_error(C, "no training text given: pass --data FILE");
    if (!vocab_path) return cli_usage_error(C, "no tokenizer given: pass --vocab VOCAB.gguf");
    if (!out_path) return cli_usage_error(C, "no output given: pass -o OUT.gguf");
    if (!warmup_set && warmup > steps) warmup = steps;
    if (warmup > steps) return cli_usage_error(C, "--warmup %lld is more than --steps %lld", (long long)warmup, (long long)steps);
    if (batch * ctx * accum > (1 << 24))
        return cli_usage_error(C, "--batch x --ctx x --accum = %lld tokens per step is too many (at most %d)",
                               (long long)(batch * ctx * accum), 1 << 24);

    int rc = 1;
    mote_error err = {0};
    mote_vocab *vocab = NULL;
    mote_trainer *tr = NULL;
    int32_t *tokens = NULL, *ids = NULL, *targets = NULL;
    size_t text_len = 0;
    char *text = cli_read_file(C, data, &text_len);
    if (!text) return 1;
    if (mote_vocab_load(vocab_path, &vocab, &err)) { cli_fail(C, "%s", err.msg); goto done; }

    /* tokenize the whole text once */
    int64_t n_tok = 0;
    mote_status s = mote_tokenize(vocab, text, text_len, MOTE_TOKENIZE_ADD_SPECIAL, NULL, 0, &n_tok, &err);
    if (s && s != MOTE_ERR_RANGE) { cli_fail(C, "%s: %s", data, err.msg); goto done; }
    if (!(tokens = malloc((size_t)(n_tok > 0 ? n_tok : 1) * sizeof(int32_t)))) { cli_fail(C, "out of memory"); goto done; }
    if (mote_tokenize(vocab, text, text_len, MOTE_TOKENIZE_ADD_SPECIAL, tokens, n_tok, &n_tok, &err)) {
        cli_fail(C, "%s: %s", data, err.msg);
        goto done;
    }

    mote_train_params p = mote_train_default_params();
    p.n_vocab = mote_vocab_n_tokens(vocab);
    p.n_embd = (int32_t)dim, p.n_layer = (int32_t)layers, p.n_head = (int32_t)heads;
    p.n_head_kv = (int32_t)kv_heads, p.n_ff = (int32_t)ffn, p.n_ctx = (int32_t)ctx;
    p.seed = seed, p.n_threads = (int32_t)threads;
    p.lr = lr, p.lr_min = lr / 10, p.warmup = (int32_t)warmup, p.n_steps = (int32_t)steps;
    p.weight_decay = wd, p.grad_clip = clip;
    if (mote_trainer_new(&p, init, &tr, &err)) { cli_fail(C, "%s", err.msg); goto done; }
    int32_t n_vocab, n_embd, n_layer, n_head, n_head_kv, n_ff, n_ctx;
    mote_trainer_shape(tr, &n_vocab, &n_embd, &n_layer, &n_head, &n_head_kv, &n_ff, &n_ctx);
    if (n_vocab != mote_vocab_n_tokens(vocab)) {
        cli_fail(C, "the model's vocabulary (%d) differs from %s's (%d)", n_vocab, vocab_path,
                 mote_vocab_n_tokens(vocab));
        goto done;
    }
    if (ctx > n_ctx) {
        cli_fail(C, "--ctx %lld is longer than the model's context %d", (long long)ctx, n_ctx);
        goto done;
    }
    if (n_tok < ctx + 1) {
        cli_fail(C, "%s has %lld tokens; training sequences of --ctx %lld need at least %lld",
                 data, (long long)n_tok, (long long)ctx, (long long)ctx + 1);
        goto done;
    }
    size_t per_step = (size_t)(batch * ctx * accum);
    ids = malloc(per_step * sizeof(int32_t));
    targets = malloc(per_step * sizeof(int32_t));
    if (!ids || !targets) { cli_fail(C, "out of memory"); goto done; }
    fprintf(stderr,
            "mote train: %lld tokens of text; model dim %d, %d layers, %d heads (%d kv), ffn %d, "
            "vocab %d, ctx %d: %llu parameters; batch %lld x %lld x %lld accum, %lld steps, %d threads\n",
            (long long)n_tok, n_embd, n_layer, n_head, n_head_kv, n_ff, n_vocab, n_ctx,
            (unsigned long long)mote_trainer_n_params(tr), (long long)batch, (long long)ctx,
            (long long)accum, (long long)steps, (int)threads);

    uint64_t rng = seed * 0x9E3779B97F4A7C15ull + 0x1234567ull;
    double t_start = mote_time_now();
    for (int64_t step = 0; step < steps; step++) {
        for (size_t b = 0; b < (size_t)(batch * accum); b++) {
            uint64_t start = next_rand(&rng) % (uint64_t)(n_tok - ctx);
            memcpy(ids + b * ctx, tokens + start, (size_t)ctx * sizeof(int32_t));
            memcpy(targets + b * ctx, tokens + start + 1, (size_t)ctx * sizeof(int32_t));
        }
        float lr_now = mote_trainer_next_lr(tr), loss = 0, norm = 0;
        double t0 = mote_time_now();
        if (mote_trainer_step(tr, ids, targets, (int32_t)batch, (int32_t)ctx, (int32_t)accum, &loss,
                              &norm, &err)) {
            cli_fail(C, "step %lld: %s", (long long)step + 1, err.msg);
            goto done;
        }
        double dt = mote_time_now() - t0;
        if ((step + 1) % log_every == 0 || step + 1 == steps) {
            printf("step %lld/%lld loss %.4f lr %.3g norm %.3f %.0f tok/s\n", (long long)step + 1,
                   (long long)steps, loss, lr_now, norm, (double)per_step / dt);
            fflush(stdout);
        }
    }
    double total = mote_time_now() - t_start;
    fprintf(stderr, "mote train: %lld steps in %.2f s, %.0f tokens/s on average\n", (long long)steps,
            total, (double)per_step * (double)steps / total);
    if (mote_trainer_save(tr, out_path, vocab_path, &err)) { cli_fail(C, "%s", err.msg); goto done; }
    fprintf(stderr, "mote train: wrote %s\n", out_path);
    rc = 0;
done:
    free(text);
    free(tokens);
    free(ids);
    free(targets);
    mote_trainer_free(tr);
    mote_vocab_free(vocab);
    return rc;
}
