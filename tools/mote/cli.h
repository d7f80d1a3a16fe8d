/* cli.h — shared pieces of the mote command line: the subcommand entry
 * points and strict argument parsing. The command line uses only the public
 * header mote.h. */
#ifndef MOTE_CLI_H
#define MOTE_CLI_H

#include "mote.h"
#include <stdbool.h>
#include <stdint.h>

int cmd_run(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_vocab(int argc, char **argv);
int cmd_vocab_train(int argc, char **argv); /* mote vocab train (argv[0] = "train") */
int cmd_synth(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_perplexity(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_finetune(int argc, char **argv);
int cmd_merge(int argc, char **argv);
/* "FILE[:SCALE]" of --lora (mote run, mote merge): *path (FILE, a static
 * copy when a scale was cut off; up to 8 per process) and *scale (1 when
 * absent). A suffix that is not a number belongs to the file name. false
 * (usage error printed) for an out-of-range scale. */
bool cli_parse_lora_arg(const char *cmd, const char *arg, const char **path, float *scale);
int cmd_quantize(int argc, char **argv);
int cmd_imatrix(int argc, char **argv);

/* The default model embedded in this binary (default_model.c): its GGUF
 * image, or false when the build had none. */
bool cli_default_model(const void **data, uint64_t *size);
#define CLI_DEFAULT_MODEL_NAME "mote-tiny (built in)"

/* Print "mote CMD: <message>" and a hint to stderr; return exit status 2
 * (usage) — for the callers' `return cli_usage_error(...)`. */
int cli_usage_error(const char *cmd, const char *fmt, ...);
/* Print "mote CMD: <message>" to stderr; return exit status 1. */
int cli_fail(const char *cmd, const char *fmt, ...);

/* Strict number parsing of a flag's value: the whole string must be a
 * number within [lo, hi]. On failure print a usage error naming the flag and
 * return false. */
bool cli_parse_i64(const char *cmd, const char *flag, const char *s, int64_t lo, int64_t hi,
                   int64_t *out);
bool cli_parse_f32(const char *cmd, const char *flag, const char *s, double lo, double hi,
                   float *out);
bool cli_parse_u64(const char *cmd, const char *flag, const char *s, uint64_t *out);

/* For "-x VALUE" flags: return argv[++*i] or print "FLAG needs a value" and
 * return NULL. */
const char *cli_value(const char *cmd, int argc, char **argv, int *i);

/* --mmap / --no-mmap of the commands that load a model to run it: true
 * and *mode set when a is one of them. cli_load_help: their help lines. */
bool cli_parse_load_flag(const char *a, mote_load_mode *mode);
extern const char *cli_load_help;

/* Read a whole file into a malloc'd buffer (*len bytes, plus a NUL). NULL
 * with a message on stderr on failure. */
char *cli_read_file(const char *cmd, const char *path, size_t *len);

/* ---- what `mote train` and `mote finetune` share (train_common.c) ---- */

typedef struct cli_train_opts {
    const char *data, *out_path;
    int64_t ctx, batch, accum, steps, warmup, threads, log_every, eval_every, val_windows;
    uint64_t seed;
    float lr, wd, clip, val_frac;
    bool warmup_set, lr_set;
    /* Checkpoints (mote train): every ckpt_every steps (0: never) write
     * ckpt_path with ckpt_vocab's tokenizer; resume: continue the state a
     * checkpoint saved (its rng, steps done and curve). */
    int64_t ckpt_every;
    const char *ckpt_path, *ckpt_vocab;
    const mote_train_state *resume;
} cli_train_opts;
/* Defaults: ctx 256, batch 16, accum 1, steps 100, warmup 10, lr 1e-3,
 * weight decay 0.1, clip 1, seed 1, 1 thread, no held-out part. */
cli_train_opts cli_train_opts_default(void);
/* The help lines of the shared options. */
extern const char *cli_train_help_common;
/* If argv[*i] is a shared option, parse it (and its value, advancing *i):
 * 1; not one: 0; a bad value: -1 (usage error printed). */
int cli_train_parse_opt(const char *cmd, cli_train_opts *o, int argc, char **argv, int *i);
/* Check required options and settle defaults (warm-up, eval interval);
 * returns 0 or an exit status (usage error printed). */
int cli_train_check_opts(const char *cmd, cli_train_opts *o);
/* Seed, threads and optimizer settings of o into p. */
void cli_train_fill_params(const cli_train_opts *o, mote_train_params *p);

/* The tokenized text (BOS first): tokens [0, n_train) train, the rest is
 * held out. */
typedef struct cli_train_data {
    int32_t *tokens;
    int64_t n_tokens, n_train;
} cli_train_data;
/* Read, check (empty, binary) and tokenize path; 0 or 1 (error printed). */
int cli_train_data_load(const char *cmd, const char *path, const mote_vocab *vocab, double val_frac,
                        cli_train_data *d);
void cli_train_data_free(cli_train_data *d);

/* Losses of a run: train[i] of step i + 1; val[j] measured after val_step[j] steps. */
typedef struct cli_train_curve {
    float *train, *val;
    int64_t *val_step;
    int64_t n_train, n_val;
} cli_train_curve;
void cli_train_curve_free(cli_train_curve *c);
/* The training loop (see train_common.c); curve may be NULL. 0 or 1
 * (error printed). */
int cli_train_run(const char *cmd, mote_trainer *tr, const cli_train_opts *o, const cli_train_data *d,
                  cli_train_curve *curve);
/* A fingerprint (FNV-1a) of the tokens and the split of d: a checkpoint
 * records it, and resuming on other data is refused. */
uint64_t cli_train_data_hash(const cli_train_data *d);

/* The loss curve as an SVG file (loss_svg.c): train[i] of step i + 1,
 * val[j] after val_step[j] steps. 0, or 1 with an error printed. */
int cli_write_loss_svg(const char *path, const char *title, const float *train, int64_t n_train,
                       const float *val, const int64_t *val_step, int64_t n_val);

#endif
