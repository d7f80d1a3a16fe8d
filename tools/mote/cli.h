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
int cmd_train(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_imatrix(int argc, char **argv);

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

/* Read a whole file into a malloc'd buffer (*len bytes, plus a NUL). NULL
 * with a message on stderr on failure. */
char *cli_read_file(const char *cmd, const char *path, size_t *len);

#endif
