/* fuzz_imatrix.c — libFuzzer target for the importance-matrix reader
 * (mote__imatrix_from_gguf, src/compress/imatrix.c) behind the GGUF reader.
 *
 * Each input is opened as a GGUF file from memory; when the GGUF reader
 * accepts it, the imatrix reader parses it. When that accepts it, its
 * promises are checked: every entry has a name, a width that matches its
 * .in_sum2 tensor, and finite non-negative values, and can be found by
 * name. A refusal must come with a one-line message. Not a test of the
 * wording (tests/test_quantize.c does that).
 */
#include "compress/compress.h"
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    mote_gguf *g = NULL;
    mote_error err;
    if (mote__gguf_open_memory(data, size, "fuzz", &g, &err) != MOTE_OK) return 0;
    mote_imatrix *im = NULL;
    mote_status s = mote__imatrix_from_gguf(g, "fuzz", &im, &err);
    if (s != MOTE_OK) {
        CHECK(im == NULL && err.code == s && err.msg[0] && !strchr(err.msg, '\n'));
    } else {
        CHECK(im && im->n_entries > 0);
        for (int64_t i = 0; i < im->n_entries; i++) {
            const mote_imatrix_entry *e = &im->e[i];
            char tname[80];
            CHECK(e->name[0] && strlen(e->name) < sizeof e->name);
            snprintf(tname, sizeof tname, "%s.in_sum2", e->name);
            const mote_gguf_tensor *t = mote__gguf_find_tensor(g, tname);
            CHECK(t && t->ne[0] == e->n);
            for (int64_t j = 0; j < e->n; j++) CHECK(isfinite(e->values[j]) && e->values[j] >= 0.0f);
            CHECK(mote__imatrix_find(im, e->name) != NULL);
        }
        mote__imatrix_free(im);
    }
    mote_gguf_close(g);
    return 0;
}
