/* cmd_info.c — `mote info`: a GGUF file's metadata and tensor table. */
#include "cli.h"
#include <stdio.h>
#include <string.h>

static const char *info_help =
    "usage: mote info [--all] MODEL.gguf\n"
    "\n"
    "Print the file's metadata (one key a line) and a table of its tensors:\n"
    "name, type, shape (innermost dimension first, as GGUF stores it) and bytes.\n"
    "\n"
    "  --all       print every element of long arrays (default: the first 8)\n"
    "  -h, --help  this text\n";

int cmd_info(int argc, char **argv) {
    const char *path = NULL;
    int max_items = 8;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) { fputs(info_help, stdout); return 0; }
        else if (!strcmp(argv[i], "--all")) max_items = 1 << 30;
        else if (argv[i][0] == '-' && argv[i][1]) return cli_usage_error("info", "unknown option '%s'", argv[i]);
        else if (path) return cli_usage_error("info", "give one file, not '%s' and '%s'", path, argv[i]);
        else path = argv[i];
    }
    if (!path) return cli_usage_error("info", "no file given");

    mote_gguf *g;
    mote_error err = {0};
    if (mote_gguf_open(path, &g, &err)) return cli_fail("info", "%s", err.msg);

    int64_t n_kv = mote_gguf_n_kv(g), n_t = mote_gguf_n_tensors(g);
    printf("%s: GGUF v%u, %lld metadata keys, %lld tensors\n\n", path, mote_gguf_version(g),
           (long long)n_kv, (long long)n_t);
    static char buf[1 << 16];
    for (int64_t i = 0; i < n_kv; i++) {
        mote_gguf_kv_format(g, i, buf, sizeof buf, max_items);
        printf("%-44s = %s\n", mote_gguf_kv_key(g, i), buf);
    }
    printf("\n%-5s %-40s %-8s %-28s %12s\n", "#", "tensor", "type", "shape", "bytes");
    uint64_t total = 0, n_elem = 0;
    for (int64_t i = 0; i < n_t; i++) {
        const char *name, *type;
        int n_dims;
        int64_t ne[4];
        uint64_t nbytes;
        mote_gguf_tensor_get(g, i, &name, &type, &n_dims, ne, &nbytes);
        char shape[64];
        int off = snprintf(shape, sizeof shape, "[");
        uint64_t e = 1;
        for (int d = 0; d < n_dims; d++) {
            off += snprintf(shape + off, sizeof shape - (size_t)off, "%s%lld", d ? ", " : "", (long long)ne[d]);
            if (off >= (int)sizeof shape) off = (int)sizeof shape - 1;
            e *= (uint64_t)ne[d];
        }
        snprintf(shape + off, sizeof shape - (size_t)off, "]");
        printf("%-5lld %-40s %-8s %-28s %12llu\n", (long long)i, name, type, shape, (unsigned long long)nbytes);
        total += nbytes;
        n_elem += e;
    }
    printf("\n%llu parameters, %llu bytes of tensor data (%.2f MiB)\n", (unsigned long long)n_elem,
           (unsigned long long)total, (double)total / 1048576.0);
    mote_gguf_close(g);
    return 0;
}
