/* cmd_train.c — `mote train`: train a small Llama model on a text file and
 * write it as GGUF.
 *
 * The model starts from random weights of the given shape, or from --init;
 * the options, the text and the loop are train_common.c's (shared with
 * `mote finetune`). Writes the model (with the vocab's tokenizer) to -o,
 * and its loss curve to OUT.loss.svg (OUT without .gguf). With
 * --checkpoint-every it writes checkpoints (model + optimizer state) that
 * --resume continues exactly: the shape, schedule, batch and sampler come
 * from the checkpoint, and the text must be the same. Not here: anything
 * of the training itself (src/train/ through mote.h).
 */
#include "cli.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *train_help_head =
    "usage: mote train --data FILE --vocab VOCAB.gguf -o OUT.gguf [options]\n"
    "\n"
    "Train a Llama model on the text of FILE (tokenized with VOCAB's tokenizer)\n"
    "with AdamW, and write it to OUT.gguf (F32, with VOCAB's tokenizer), which\n"
    "`mote run -m OUT.gguf` loads. Each step takes --batch random windows of\n"
    "--ctx tokens from the text. (To start from an existing model, see also\n"
    "`mote finetune`.)\n"
    "\n"
    "  --vocab FILE       GGUF with the tokenizer (a model or a vocab-only file);\n"
    "                     the model's vocabulary is its size\n"
    "  --init FILE        start from this F32/F16/BF16 Llama GGUF instead of\n"
    "                     random weights (its shape wins over the flags below)\n"
    "  --dim N            embedding width (default 64)\n"
    "  --layers N         blocks (default 5)\n"
    "  --heads N          query heads (default 8)\n"
    "  --kv-heads N       key/value heads, dividing --heads (default 4)\n"
    "  --ffn N            feed-forward width (default 172)\n"
    "  --ctx N            tokens per training sequence (default 256)\n"
    "  --checkpoint-every N  write a checkpoint (weights + AdamW state) every N\n"
    "                     steps (default 0: never)\n"
    "  --checkpoint FILE  where (default OUT.ckpt.gguf; each one replaces the last)\n"
    "  --resume FILE      continue a checkpoint exactly where it stopped: its shape,\n"
    "                     schedule, batch and sampler win over the flags; --data\n"
    "                     and --val-frac must give the same text; --vocab defaults\n"
    "                     to the checkpoint's own tokenizer; -t should be the same\n"
    "                     for bit-identical results\n"
    "  Also writes the loss curve as OUT.loss.svg beside OUT.gguf.\n";

int cmd_train(int argc, char **argv) {
    const char *vocab_path = NULL, *init = NULL, *resume = NULL;
    int64_t dim = 64, layers = 5, heads = 8, kv_heads = 4, ffn = 172;
    cli_train_opts o = cli_train_opts_default();
    const char *C = "train";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
#define VAL() if (!(v = cli_value(C, argc, argv, &i))) return 2
#define INT(var, lo, hi) do { VAL(); if (!cli_parse_i64(C, a, v, lo, hi, &var)) return 2; } while (0)
        int got = cli_train_parse_opt(C, &o, argc, argv, &i);
        if (got < 0) return 2;
        if (got) continue;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(train_help_head, stdout);
            fputs(cli_train_help_common, stdout);
            fputs("  -h, --help         this text\n", stdout);
            return 0;
        }
        else if (!strcmp(a, "--vocab")) { VAL(); vocab_path = v; }
        else if (!strcmp(a, "--init")) { VAL(); init = v; }
        else if (!strcmp(a, "--dim")) INT(dim, 1, 65536);
        else if (!strcmp(a, "--layers")) INT(layers, 1, 1024);
        else if (!strcmp(a, "--heads")) INT(heads, 1, 1024);
        else if (!strcmp(a, "--kv-heads")) INT(kv_heads, 1, 1024);
        else if (!strcmp(a, "--ffn")) INT(ffn, 1, 1 << 20);
        else if (!strcmp(a, "--ctx")) INT(o.ctx, 1, 1 << 16);
        else if (!strcmp(a, "--checkpoint-every")) INT(o.ckpt_every, 1, 1 << 30);
        else if (!strcmp(a, "--checkpoint")) { VAL(); o.ckpt_path = v; }
        else if (!strcmp(a, "--resume")) { VAL(); resume = v; }
        else return cli_usage_error(C, "unknown option '%s'", a);
#undef INT
#undef VAL
    }
    if (!o.data) return cli_usage_error(C, "no training text given: pass --data FILE");
    if (!vocab_path && !resume) return cli_usage_error(C, "no tokenizer given: pass --vocab VOCAB.gguf");
    if (resume && init) return cli_usage_error(C, "give --resume or --init, not both");
    if (!vocab_path) vocab_path = resume; /* a checkpoint carries the tokenizer */
    int urc = cli_train_check_opts(C, &o);
    if (urc) return urc;
    /* OUT.gguf -> OUT.ckpt.gguf and OUT.loss.svg */
    size_t out_len = strlen(o.out_path);
    if (out_len > 5 && !strcmp(o.out_path + out_len - 5, ".gguf")) out_len -= 5;
    char *ckpt_default = malloc(out_len + 16), *svg_path = malloc(out_len + 16);
    if (!ckpt_default || !svg_path) {
        free(ckpt_default);
        free(svg_path);
        return cli_fail(C, "out of memory");
    }
    snprintf(ckpt_default, out_len + 16, "%.*s.ckpt.gguf", (int)out_len, o.out_path);
    snprintf(svg_path, out_len + 16, "%.*s.loss.svg", (int)out_len, o.out_path);
    if (!o.ckpt_path) o.ckpt_path = ckpt_default;
    o.ckpt_vocab = vocab_path;
    mote_train_state rst = {0};
    cli_train_curve curve = {0};

    int rc = 1;
    mote_error err = {0};
    mote_vocab *vocab = NULL;
    mote_trainer *tr = NULL;
    cli_train_data d = {0};
    if (mote_vocab_load(vocab_path, &vocab, &err)) { cli_fail(C, "%s", err.msg); goto done; }
    if (cli_train_data_load(C, o.data, vocab, o.val_frac, &d)) goto done;

    mote_train_params p = mote_train_default_params();
    p.n_vocab = mote_vocab_n_tokens(vocab);
    p.n_embd = (int32_t)dim, p.n_layer = (int32_t)layers, p.n_head = (int32_t)heads;
    p.n_head_kv = (int32_t)kv_heads, p.n_ff = (int32_t)ffn, p.n_ctx = (int32_t)o.ctx;
    cli_train_fill_params(&o, &p);
    if (resume) {
        if (mote_trainer_resume(resume, (int32_t)o.threads, &tr, &rst, &err)) { cli_fail(C, "%s", err.msg); goto done; }
        if (rst.data_hash != cli_train_data_hash(&d)) {
            cli_fail(C, "%s was made on other training text (or another --val-frac) than %s",
                     resume, o.data);
            goto done;
        }
        o.batch = rst.batch, o.ctx = rst.seq, o.accum = rst.n_micro, o.steps = rst.n_steps;
        if (o.eval_every > o.steps) o.eval_every = o.steps;
        o.resume = &rst;
        fprintf(stderr, "mote train: resuming %s at step %lld of %lld\n", resume, (long long)rst.n_train,
                (long long)rst.n_steps);
    } else if (mote_trainer_new(&p, init, &tr, &err)) {
        cli_fail(C, "%s", err.msg);
        goto done;
    }
    int32_t n_vocab, n_embd, n_layer, n_head, n_head_kv, n_ff, n_ctx;
    mote_trainer_shape(tr, &n_vocab, &n_embd, &n_layer, &n_head, &n_head_kv, &n_ff, &n_ctx);
    if (n_vocab != mote_vocab_n_tokens(vocab)) {
        cli_fail(C, "the model's vocabulary (%d) differs from %s's (%d)", n_vocab, vocab_path,
                 mote_vocab_n_tokens(vocab));
        goto done;
    }
    if (o.ctx > n_ctx) {
        cli_fail(C, "--ctx %lld is longer than the model's context %d", (long long)o.ctx, n_ctx);
        goto done;
    }
    fprintf(stderr,
            "mote train: %lld tokens of text; model dim %d, %d layers, %d heads (%d kv), ffn %d, "
            "vocab %d, ctx %d: %llu parameters; batch %lld x %lld x %lld accum, %lld steps, %d threads\n",
            (long long)d.n_tokens, n_embd, n_layer, n_head, n_head_kv, n_ff, n_vocab, n_ctx,
            (unsigned long long)mote_trainer_n_params(tr), (long long)o.batch, (long long)o.ctx,
            (long long)o.accum, (long long)o.steps, (int)o.threads);
    if (cli_train_run(C, tr, &o, &d, &curve)) goto done;
    if (mote_trainer_save(tr, o.out_path, vocab_path, &err)) { cli_fail(C, "%s", err.msg); goto done; }
    fprintf(stderr, "mote train: wrote %s\n", o.out_path);
    if (cli_write_loss_svg(svg_path, o.out_path, curve.train, curve.n_train, curve.val,
                           curve.val_step, curve.n_val))
        goto done;
    fprintf(stderr, "mote train: wrote %s\n", svg_path);
    rc = 0;
done:
    free(ckpt_default);
    free(svg_path);
    mote_train_state_free(&rst);
    cli_train_curve_free(&curve);
    cli_train_data_free(&d);
    mote_trainer_free(tr);
    mote_vocab_free(vocab);
    return rc;
}
