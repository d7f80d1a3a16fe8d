/* train_common.c — what `mote train` and `mote finetune` share: the
 * training options (batch, steps, learning rate, threads, held-out split,
 * ...), reading and tokenizing the training text, and the training loop
 * with its progress lines and validation loss.
 *
 * The loop: each step draws batch x accum windows of ctx + 1 tokens at
 * seeded random offsets of the training part of the text (ids = a window's
 * first ctx tokens, targets its last ctx) and calls mote_trainer_step.
 * With --val-frac F the last F of the token stream is held out: its loss
 * (mean over up to --val-windows consecutive windows of ctx tokens) is
 * measured before the first step, every --eval-every steps and after the
 * last. Not here: anything of the training itself (mote.h).
 */
#include "cli.h"
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *cli_train_help_common =
    "  --data FILE|DIR    training text (plain text, read byte for byte); a folder:\n"
    "                     its files (not those starting with '.'), in name order,\n"
    "                     joined by blank lines\n"
    "  -o, --output FILE  where to write the result\n"
    "  --batch N          sequences per micro-batch (default 16)\n"
    "  --accum N          micro-batches per step (gradient accumulation, default 1)\n"
    "  --steps N          optimizer steps (default 100)\n"
    "  --lr X             peak learning rate; cosine decay to lr/10\n"
    "  --warmup N         linear warm-up steps (default 10, at most steps)\n"
    "  --weight-decay X   AdamW weight decay on matrices (default 0.1)\n"
    "  --clip X           gradient norm limit, 0 = off (default 1.0)\n"
    "  --val-frac F       hold out the last F of the text (0..0.5, default 0:\n"
    "                     none) and report the loss on it\n"
    "  --eval-every N     validation every N steps (default: steps/10)\n"
    "  --val-windows N    most held-out windows of --ctx tokens measured (default 64)\n"
    "  --seed N           initial weights and batch sampling (default 1)\n"
    "  -t, --threads N    threads (default: the physical cores, at most 64)\n"
    "  --log-every N      print every N steps (default 1; the last always)\n";

cli_train_opts cli_train_opts_default(void) {
    return (cli_train_opts){.ctx = 256, .batch = 16, .accum = 1, .steps = 100, .warmup = 10,
                            .threads = mote_cpu_physical_cores() < 64 ? mote_cpu_physical_cores() : 64,
                            .log_every = 1, .val_windows = 64, .seed = 1,
                            .lr = 1e-3f, .wd = 0.1f, .clip = 1.0f};
}

int cli_train_parse_opt(const char *C, cli_train_opts *o, int argc, char **argv, int *i) {
    const char *a = argv[*i], *v;
#define VAL() if (!(v = cli_value(C, argc, argv, i))) return -1
#define INT(var, lo, hi) do { VAL(); if (!cli_parse_i64(C, a, v, lo, hi, &o->var)) return -1; } while (0)
    if (!strcmp(a, "--data")) { VAL(); o->data = v; }
    else if (!strcmp(a, "-o") || !strcmp(a, "--output")) { VAL(); o->out_path = v; }
    else if (!strcmp(a, "--batch")) INT(batch, 1, 1 << 16);
    else if (!strcmp(a, "--accum")) INT(accum, 1, 1 << 16);
    else if (!strcmp(a, "--steps")) INT(steps, 1, 1 << 30);
    else if (!strcmp(a, "--warmup")) { INT(warmup, 0, 1 << 30); o->warmup_set = true; }
    else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) INT(threads, 1, 64);
    else if (!strcmp(a, "--log-every")) INT(log_every, 1, 1 << 30);
    else if (!strcmp(a, "--eval-every")) INT(eval_every, 1, 1 << 30);
    else if (!strcmp(a, "--val-windows")) INT(val_windows, 1, 1 << 20);
    else if (!strcmp(a, "--seed")) { VAL(); if (!cli_parse_u64(C, a, v, &o->seed)) return -1; }
    else if (!strcmp(a, "--lr")) { VAL(); if (!cli_parse_f32(C, a, v, 1e-9, 10.0, &o->lr)) return -1; o->lr_set = true; }
    else if (!strcmp(a, "--weight-decay")) { VAL(); if (!cli_parse_f32(C, a, v, 0.0, 10.0, &o->wd)) return -1; }
    else if (!strcmp(a, "--clip")) { VAL(); if (!cli_parse_f32(C, a, v, 0.0, 1e9, &o->clip)) return -1; }
    else if (!strcmp(a, "--val-frac")) { VAL(); if (!cli_parse_f32(C, a, v, 0.0, 0.5, &o->val_frac)) return -1; }
    else return 0;
#undef INT
#undef VAL
    return 1;
}

int cli_train_check_opts(const char *C, cli_train_opts *o) {
    if (!o->data) return cli_usage_error(C, "no training text given: pass --data FILE");
    if (!o->out_path) return cli_usage_error(C, "no output given: pass -o OUT.gguf");
    if (!o->warmup_set && o->warmup > o->steps) o->warmup = o->steps;
    if (o->warmup > o->steps)
        return cli_usage_error(C, "--warmup %lld is more than --steps %lld", (long long)o->warmup,
                               (long long)o->steps);
    if (o->batch * o->ctx * o->accum > (1 << 24))
        return cli_usage_error(C, "--batch x --ctx x --accum = %lld tokens per step is too many (at most %d)",
                               (long long)(o->batch * o->ctx * o->accum), 1 << 24);
    if (!o->eval_every) o->eval_every = o->steps >= 10 ? o->steps / 10 : 1;
    return 0;
}

void cli_train_fill_params(const cli_train_opts *o, mote_train_params *p) {
    p->seed = o->seed;
    p->n_threads = (int32_t)o->threads;
    p->lr = o->lr;
    p->lr_min = o->lr / 10;
    p->warmup = (int32_t)o->warmup;
    p->n_steps = (int32_t)o->steps;
    p->weight_decay = o->wd;
    p->grad_clip = o->clip;
}

void cli_train_data_free(cli_train_data *d) {
    free(d->tokens);
    memset(d, 0, sizeof *d);
}

/* The files of folder dir (regular files whose names do not start with
 * '.', in strcmp order) read and joined by "\n\n" into one malloc'd,
 * NUL-terminated text of *len bytes; NULL after printing why. A file with a
 * NUL byte is named here, since the joined text no longer says which. */
static char *read_text_dir(const char *C, const char *dir, size_t *len) {
    struct dirent **names = NULL;
    int n = scandir(dir, &names, NULL, alphasort);
    if (n < 0) { cli_fail(C, "%s: cannot list: %s", dir, strerror(errno)); return NULL; }
    char *all = NULL;
    size_t used = 0, n_files = 0;
    bool ok = true;
    for (int i = 0; i < n && ok; i++) {
        const char *name = names[i]->d_name;
        if (name[0] == '.') continue;
        size_t plen = strlen(dir) + strlen(name) + 2;
        char *path = malloc(plen);
        if (!path) { cli_fail(C, "out of memory"); ok = false; break; }
        snprintf(path, plen, "%s/%s", dir, name);
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) { free(path); continue; }
        size_t flen = 0;
        char *text = cli_read_file(C, path, &flen);
        if (!text) { free(path); ok = false; break; }
        const char *nul = memchr(text, '\0', flen);
        if (nul) {
            cli_fail(C, "%s is not text: it has a NUL byte at offset %zu", path, (size_t)(nul - text));
            ok = false;
        } else if (flen > 0) {
            char *grown = realloc(all, used + 2 + flen + 1);
            if (!grown) { cli_fail(C, "out of memory"); ok = false; }
            else {
                all = grown;
                if (used) { memcpy(all + used, "\n\n", 2); used += 2; }
                memcpy(all + used, text, flen);
                used += flen;
                all[used] = '\0';
                n_files++;
            }
        }
        free(text);
        free(path);
    }
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
    if (!ok) { free(all); return NULL; }
    if (!n_files) { cli_fail(C, "%s: no non-empty text files in the folder: nothing to train on", dir); free(all); return NULL; }
    *len = used;
    return all;
}

int cli_train_data_load(const char *C, const char *path, const mote_vocab *vocab, double val_frac,
                        cli_train_data *d) {
    memset(d, 0, sizeof *d);
    size_t len = 0;
    struct stat st;
    bool is_dir = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
    char *text = is_dir ? read_text_dir(C, path, &len) : cli_read_file(C, path, &len);
    if (!text) return 1;
    int rc = 1;
    mote_error err = {0};
    const char *nul = memchr(text, '\0', len);
    if (len == 0) { cli_fail(C, "%s is empty: nothing to train on", path); goto done; }
    if (nul) {
        cli_fail(C, "%s is not text: it has a NUL byte at offset %zu", path, (size_t)(nul - text));
        goto done;
    }
    int64_t n = 0;
    mote_status s = mote_tokenize(vocab, text, len, MOTE_TOKENIZE_ADD_SPECIAL, NULL, 0, &n, &err);
    if (s && s != MOTE_ERR_RANGE) { cli_fail(C, "%s: %s", path, err.msg); goto done; }
    if (!(d->tokens = malloc((size_t)(n > 0 ? n : 1) * sizeof(int32_t)))) { cli_fail(C, "out of memory"); goto done; }
    if (mote_tokenize(vocab, text, len, MOTE_TOKENIZE_ADD_SPECIAL, d->tokens, n, &n, &err)) {
        cli_fail(C, "%s: %s", path, err.msg);
        goto done;
    }
    d->n_tokens = n;
    d->n_train = n - (int64_t)((double)n * val_frac);
    rc = 0;
done:
    free(text);
    if (rc) cli_train_data_free(d);
    return rc;
}

uint64_t cli_train_data_hash(const cli_train_data *d) {
    uint64_t h = 0xcbf29ce484222325ull ^ (uint64_t)d->n_train;
    for (int64_t i = 0; i < d->n_tokens; i++) h = (h ^ (uint32_t)d->tokens[i]) * 0x100000001b3ull;
    return h;
}

/* xorshift64*: the window sampler. */
static uint64_t next_rand(uint64_t *s) {
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

/* The mean loss over the held-out windows, evaluated `batch` at a time. */
static int val_loss(const char *C, mote_trainer *tr, const cli_train_opts *o,
                    const cli_train_data *d, int32_t *ids, int32_t *targets, double *out) {
    const int64_t ctx = o->ctx, start = d->n_train;
    int64_t n_win = (d->n_tokens - start - 1) / ctx;
    if (n_win > o->val_windows) n_win = o->val_windows;
    double sum = 0.0;
    mote_error err = {0};
    for (int64_t w0 = 0; w0 < n_win; w0 += o->batch) {
        int64_t nb = n_win - w0 < o->batch ? n_win - w0 : o->batch;
        for (int64_t b = 0; b < nb; b++) {
            const int32_t *src = d->tokens + start + (w0 + b) * ctx;
            memcpy(ids + b * ctx, src, (size_t)ctx * sizeof(int32_t));
            memcpy(targets + b * ctx, src + 1, (size_t)ctx * sizeof(int32_t));
        }
        float l = 0;
        if (mote_trainer_eval(tr, ids, targets, (int32_t)nb, (int32_t)ctx, &l, &err)) {
            cli_fail(C, "validation: %s", err.msg);
            return 1;
        }
        sum += (double)l * (double)nb;
    }
    *out = sum / (double)n_win;
    return 0;
}

int cli_train_run(const char *C, mote_trainer *tr, const cli_train_opts *o, const cli_train_data *d,
                  cli_train_curve *curve) {
    const int64_t ctx = o->ctx, batch = o->batch, accum = o->accum, steps = o->steps;
    if (d->n_train < ctx + 1) {
        cli_fail(C, "%s has %lld training tokens%s; sequences of --ctx %lld need at least %lld",
                 o->data, (long long)d->n_train, d->n_train < d->n_tokens ? " after the held-out part" : "",
                 (long long)ctx, (long long)ctx + 1);
        return 1;
    }
    const bool validate = d->n_train < d->n_tokens;
    if (validate && d->n_tokens - d->n_train < ctx + 1) {
        cli_fail(C, "the held-out part of %s has %lld tokens, less than one window of --ctx %lld: "
                 "raise --val-frac or lower --ctx", o->data, (long long)(d->n_tokens - d->n_train),
                 (long long)ctx);
        return 1;
    }
    size_t per_step = (size_t)(batch * ctx * accum);
    int32_t *ids = malloc(per_step * sizeof(int32_t)), *targets = malloc(per_step * sizeof(int32_t));
    cli_train_curve own_curve = {0}; /* checkpoints carry the curve even when the caller keeps none */
    if (!curve && o->ckpt_every) curve = &own_curve;
    if (curve) {
        memset(curve, 0, sizeof *curve);
        curve->train = calloc((size_t)steps, sizeof(float));
        curve->val = calloc((size_t)steps + 1, sizeof(float));
        curve->val_step = calloc((size_t)steps + 1, sizeof(int64_t));
    }
    int rc = 1;
    mote_error err = {0};
    if (!ids || !targets || (curve && (!curve->train || !curve->val || !curve->val_step))) {
        cli_fail(C, "out of memory");
        goto done;
    }
    uint64_t rng = o->seed * 0x9E3779B97F4A7C15ull + 0x1234567ull;
    int64_t step0 = 0; /* steps done before this run: a resumed checkpoint's */
    const mote_train_state *rs = o->resume;
    if (rs) {
        if (rs->n_train > steps || rs->n_val > steps + 1) {
            cli_fail(C, "the checkpoint has %lld steps done of a %lld-step run", (long long)rs->n_train,
                     (long long)steps);
            goto done;
        }
        rng = rs->rng;
        step0 = rs->n_train;
        if (curve) {
            if (rs->n_train) memcpy(curve->train, rs->train_loss, (size_t)rs->n_train * sizeof(float));
            if (rs->n_val) memcpy(curve->val, rs->val_loss, (size_t)rs->n_val * sizeof(float));
            if (rs->n_val) memcpy(curve->val_step, rs->val_step, (size_t)rs->n_val * sizeof(int64_t));
            curve->n_train = rs->n_train;
            curve->n_val = rs->n_val;
        }
    }
    const uint64_t data_hash = o->ckpt_every ? cli_train_data_hash(d) : 0;
    double t_start = mote_time_now(), v;
    if (validate && step0 == 0) {
        if (val_loss(C, tr, o, d, ids, targets, &v)) goto done;
        printf("val step 0 loss %.4f\n", v);
        fflush(stdout);
        if (curve) curve->val[curve->n_val] = (float)v, curve->val_step[curve->n_val++] = 0;
    }
    for (int64_t step = step0; step < steps; step++) {
        for (size_t b = 0; b < (size_t)(batch * accum); b++) {
            uint64_t start = next_rand(&rng) % (uint64_t)(d->n_train - ctx);
            memcpy(ids + b * ctx, d->tokens + start, (size_t)ctx * sizeof(int32_t));
            memcpy(targets + b * ctx, d->tokens + start + 1, (size_t)ctx * sizeof(int32_t));
        }
        float lr_now = mote_trainer_next_lr(tr), loss = 0, norm = 0;
        double t0 = mote_time_now();
        if (mote_trainer_step(tr, ids, targets, (int32_t)batch, (int32_t)ctx, (int32_t)accum, &loss,
                              &norm, &err)) {
            cli_fail(C, "step %lld: %s", (long long)step + 1, err.msg);
            goto done;
        }
        double dt = mote_time_now() - t0;
        if (curve) curve->train[curve->n_train++] = loss;
        if ((step + 1) % o->log_every == 0 || step + 1 == steps) {
            double left = (mote_time_now() - t_start) / (double)(step + 1 - step0) * (double)(steps - step - 1);
            printf("step %lld/%lld loss %.4f lr %.3g norm %.3f %.0f tok/s, %.0f s left\n",
                   (long long)step + 1, (long long)steps, loss, lr_now, norm, (double)per_step / dt, left);
            fflush(stdout);
        }
        if (validate && ((step + 1) % o->eval_every == 0 || step + 1 == steps)) {
            if (val_loss(C, tr, o, d, ids, targets, &v)) goto done;
            printf("val step %lld loss %.4f\n", (long long)step + 1, v);
            fflush(stdout);
            if (curve) curve->val[curve->n_val] = (float)v, curve->val_step[curve->n_val++] = step + 1;
        }
        if (o->ckpt_every && (step + 1) % o->ckpt_every == 0 && step + 1 < steps) {
            mote_train_state st = {.rng = rng, .data_hash = data_hash, .batch = (int32_t)batch,
                                   .seq = (int32_t)ctx, .n_micro = (int32_t)accum,
                                   .train_loss = curve->train, .n_train = curve->n_train,
                                   .val_loss = curve->val, .val_step = curve->val_step,
                                   .n_val = curve->n_val};
            if (mote_trainer_save_checkpoint(tr, o->ckpt_path, o->ckpt_vocab, &st, &err)) {
                cli_fail(C, "checkpoint at step %lld: %s", (long long)step + 1, err.msg);
                goto done;
            }
            fprintf(stderr, "mote %s: step %lld: checkpoint %s\n", C, (long long)step + 1, o->ckpt_path);
        }
    }
    double total = mote_time_now() - t_start;
    fprintf(stderr, "mote %s: %lld steps in %.2f s, %.0f tokens/s on average\n", C,
            (long long)(steps - step0), total, (double)per_step * (double)(steps - step0) / total);
    rc = 0;
done:
    cli_train_curve_free(&own_curve);
    free(ids);
    free(targets);
    return rc;
}

void cli_train_curve_free(cli_train_curve *c) {
    free(c->train);
    free(c->val);
    free(c->val_step);
    memset(c, 0, sizeof *c);
}
