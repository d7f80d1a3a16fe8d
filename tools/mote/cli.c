/* cli.c — argument parsing and error printing shared by the subcommands. */
#include "cli.h"
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void vprint(const char *cmd, const char *fmt, va_list ap) {
    fprintf(stderr, "mote %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

int cli_usage_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vprint(cmd, fmt, ap);
    va_end(ap);
    fprintf(stderr, "(see 'mote %s --help')\n", cmd);
    return 2;
}

int cli_fail(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vprint(cmd, fmt, ap);
    va_end(ap);
    return 1;
}

bool cli_parse_i64(const char *cmd, const char *flag, const char *s, int64_t lo, int64_t hi,
                   int64_t *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < lo || v > hi) {
        cli_usage_error(cmd, "%s expects a whole number from %lld to %lld, not '%s'", flag,
                        (long long)lo, (long long)hi, s);
        return false;
    }
    *out = v;
    return true;
}

bool cli_parse_u64(const char *cmd, const char *flag, const char *s, uint64_t *out) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end != '\0' || s[0] == '-') {
        cli_usage_error(cmd, "%s expects a non-negative whole number, not '%s'", flag, s);
        return false;
    }
    *out = v;
    return true;
}

bool cli_parse_f32(const char *cmd, const char *flag, const char *s, double lo, double hi,
                   float *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end != '\0' || isnan(v) || v < lo || v > hi) {
        cli_usage_error(cmd, "%s expects a number from %g to %g, not '%s'", flag, lo, hi, s);
        return false;
    }
    *out = (float)v;
    return true;
}

const char *cli_value(const char *cmd, int argc, char **argv, int *i) {
    if (*i + 1 >= argc) {
        cli_usage_error(cmd, "%s needs a value", argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

const char *cli_load_help =
    "  --mmap               map the model file (zero copy, shared with other\n"
    "                       processes; generation reads the file's small pages,\n"
    "                       25-40% slower on the machine we measured)\n"
    "  --no-mmap            read the model into memory (2 MiB pages) whatever its\n"
    "                       size. Default: read when the file is at most half of\n"
    "                       the machine's memory, map a larger one\n";

bool cli_parse_load_flag(const char *a, mote_load_mode *mode) {
    if (!strcmp(a, "--mmap")) *mode = MOTE_LOAD_MMAP;
    else if (!strcmp(a, "--no-mmap")) *mode = MOTE_LOAD_READ;
    else return false;
    return true;
}

char *cli_read_file(const char *cmd, const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        cli_fail(cmd, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap) break;
        char *nb = cap < ((size_t)1 << 40) ? realloc(buf, cap * 2 + 1) : NULL;
        if (!nb) { free(buf); buf = NULL; break; }
        buf = nb;
        cap *= 2;
    }
    if (!buf || ferror(f)) {
        cli_fail(cmd, "%s: cannot read: %s", path, buf ? strerror(errno) : "out of memory");
        free(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}
