/* measure.c — what `mote bench` needs to know about a loaded model: the
 * bytes of weights a generated token reads, the type that holds most of the
 * weights, and the instruction set its kernels run on (mote.h, "measuring").
 *
 * Not here: timing (tools/mote/cmd_bench.c) or the memory-bandwidth test
 * (src/core/membw.c).
 */
#include "model.h"

/* Bytes of one matrix: n_rows rows of row_bytes (validated at load). */
static uint64_t matrix_bytes(const mote_matrix *w) {
    return (uint64_t)w->n_rows * (uint64_t)w->row_bytes;
}

/* Call fn(matrix, user) on every matrix a token's forward pass reads whole:
 * the seven of each block and the output matrix. */
static void for_each_matrix(const mote_model *m, void (*fn)(const mote_matrix *, void *), void *user) {
    for (int32_t l = 0; l < m->hp.n_layer; l++) {
        const mote_layer *L = &m->layers[l];
        const mote_matrix *mats[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
        for (size_t i = 0; i < sizeof mats / sizeof mats[0]; i++) fn(mats[i], user);
    }
    fn(&m->output, user);
}

static void add_bytes(const mote_matrix *w, void *user) { *(uint64_t *)user += matrix_bytes(w); }

uint64_t mote_model_bytes_per_token(const mote_model *m) {
    uint64_t total = 0;
    for_each_matrix(m, add_bytes, &total);
    return total + (uint64_t)m->tok_embd.row_bytes; /* the embedding: one row */
}

static void add_by_type(const mote_matrix *w, void *user) {
    uint64_t *by_type = user;
    if (w->type < MOTE_TYPE_COUNT) by_type[w->type] += matrix_bytes(w);
}

/* The type with the most matrix bytes (layers and output; ties: lowest id). */
static uint32_t main_type(const mote_model *m) {
    uint64_t by_type[MOTE_TYPE_COUNT] = {0};
    for_each_matrix(m, add_by_type, by_type);
    uint32_t best = m->output.type;
    for (uint32_t t = 0; t < MOTE_TYPE_COUNT; t++)
        if (by_type[t] > by_type[best]) best = t;
    return best;
}

const char *mote_model_weight_type(const mote_model *m) { return mote__type_name(main_type(m)); }

const char *mote_model_kernel_isa(const mote_model *m) {
    const mote_kernel_table *k = mote__kernels_for(main_type(m));
    return k && k->isa ? k->isa : "unknown";
}
