/* logits_file.c — reading and writing mote's saved-logits file (layout in
 * logits_file.h). The reader treats the bytes as hostile: every count is
 * checked against the file's size before a row is touched, and each row's
 * values are checked when it is decoded. Not here: computing logits or KL
 * (perplexity.c).
 */
#include "logits_file.h"
#include <math.h>
#include <string.h>

static uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }
static void wr32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void wr64(uint8_t *p, uint64_t v) {
    wr32(p, (uint32_t)v);
    wr32(p + 4, (uint32_t)(v >> 32));
}

uint64_t mote__logits_hash_ids(const int32_t *ids, int64_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (int64_t i = 0; i < n; i++)
        for (int b = 0; b < 4; b++) {
            h ^= (uint8_t)((uint32_t)ids[i] >> (8 * b));
            h *= 0x100000001b3ull;
        }
    return h;
}

mote_status mote__logits_parse_header(const uint8_t *buf, uint64_t len, const char *name,
                                      mote_logits_header *h, mote_error *err) {
    memset(h, 0, sizeof *h);
    if (len < MOTE_LOGITS_HEADER_BYTES || memcmp(buf, MOTE_LOGITS_MAGIC, 8) != 0)
        return mote__err(err, MOTE_ERR_FORMAT,
                         "%s: not a mote logits file (it should start with \"%s\"; write one with "
                         "mote perplexity --save-logits)",
                         name, MOTE_LOGITS_MAGIC);
    h->version = rd32(buf + 8);
    h->n_vocab = rd32(buf + 12);
    h->n_ctx = rd32(buf + 16);
    h->flags = rd32(buf + 20);
    h->n_tokens = rd64(buf + 24);
    h->n_rows = rd64(buf + 32);
    h->tokens_hash = rd64(buf + 40);
    memcpy(h->model, buf + 48, 64);
    h->model[64] = '\0';
    for (int i = 0; i < 64 && h->model[i]; i++) /* printable in messages */
        if ((unsigned char)h->model[i] < 0x20) h->model[i] = '?';
    if (h->version != 1)
        return mote__err(err, MOTE_ERR_FORMAT, "%s: logits file version %u is not one this build reads (1)",
                         name, h->version);
    if (h->n_vocab == 0 || h->n_vocab > (1u << 24))
        return mote__err(err, MOTE_ERR_FORMAT, "%s: vocabulary size %u is out of range (1..%u)", name,
                         h->n_vocab, 1u << 24);
    if (h->n_ctx < 2)
        return mote__err(err, MOTE_ERR_FORMAT, "%s: window size %u is out of range (at least 2)", name,
                         h->n_ctx);
    if (h->flags & ~MOTE_LOGITS_FLAG_BOS)
        return mote__err(err, MOTE_ERR_FORMAT, "%s: unknown flags 0x%x", name, h->flags);
    if (h->n_rows > h->n_tokens)
        return mote__err(err, MOTE_ERR_FORMAT, "%s: %llu rows for a text of %llu tokens", name,
                         (unsigned long long)h->n_rows, (unsigned long long)h->n_tokens);
    uint64_t body = 0, want = 0;
    if (!mote__mul_u64(h->n_rows, mote__logits_row_bytes(h->n_vocab), &body) ||
        !mote__add_u64(body, MOTE_LOGITS_HEADER_BYTES, &want))
        return mote__err(err, MOTE_ERR_FORMAT, "%s: %llu rows of %u tokens is more than a file can hold",
                         name, (unsigned long long)h->n_rows, h->n_vocab);
    if (want != len)
        return mote__err(err, MOTE_ERR_FORMAT,
                         "%s: the header announces %llu rows of %u tokens (%llu bytes) but the file "
                         "has %llu bytes: %s",
                         name, (unsigned long long)h->n_rows, h->n_vocab, (unsigned long long)want,
                         (unsigned long long)len, len < want ? "it is truncated" : "trailing bytes");
    return MOTE_OK;
}

mote_status mote__logits_read_row(const uint8_t *buf, const mote_logits_header *h, uint64_t r,
                                  const char *name, double *lp, int32_t *top, mote_error *err) {
    const uint8_t *p = buf + MOTE_LOGITS_HEADER_BYTES + r * mote__logits_row_bytes(h->n_vocab);
    uint32_t bits = rd32(p);
    float lp_min;
    memcpy(&lp_min, &bits, 4);
    uint32_t t = rd32(p + 4);
    if (!(isfinite(lp_min) && lp_min <= 0.0f) || lp_min < -1e30f)
        return mote__err(err, MOTE_ERR_FORMAT, "%s: row %llu: smallest log-probability %g is not a finite value <= 0",
                         name, (unsigned long long)r, (double)lp_min);
    if (t >= h->n_vocab)
        return mote__err(err, MOTE_ERR_FORMAT, "%s: row %llu: top token %u is out of range (vocabulary %u)",
                         name, (unsigned long long)r, t, h->n_vocab);
    *top = (int32_t)t;
    p += 8;
    double mx = -1e300;
    for (uint32_t j = 0; j < h->n_vocab; j++) {
        uint32_t q = (uint32_t)p[2 * j] | (uint32_t)p[2 * j + 1] << 8;
        lp[j] = (double)lp_min * (1.0 - (double)q / 65535.0);
        if (lp[j] > mx) mx = lp[j];
    }
    /* Renormalize: the rounding of each entry leaves sum exp slightly off 1. */
    double z = 0.0;
    for (uint32_t j = 0; j < h->n_vocab; j++) z += exp(lp[j] - mx);
    double lse = mx + log(z);
    for (uint32_t j = 0; j < h->n_vocab; j++) lp[j] -= lse;
    return MOTE_OK;
}

bool mote__logits_write_header(FILE *f, const mote_logits_header *h) {
    uint8_t b[MOTE_LOGITS_HEADER_BYTES];
    memset(b, 0, sizeof b);
    memcpy(b, MOTE_LOGITS_MAGIC, 8);
    wr32(b + 8, h->version);
    wr32(b + 12, h->n_vocab);
    wr32(b + 16, h->n_ctx);
    wr32(b + 20, h->flags);
    wr64(b + 24, h->n_tokens);
    wr64(b + 32, h->n_rows);
    wr64(b + 40, h->tokens_hash);
    size_t n = strnlen(h->model, 64);
    memcpy(b + 48, h->model, n);
    return fwrite(b, 1, sizeof b, f) == sizeof b;
}

bool mote__logits_write_row(FILE *f, const double *lp, int32_t n_vocab, int32_t top, uint16_t *scratch) {
    double lp_min = 0.0;
    for (int32_t j = 0; j < n_vocab; j++)
        if (lp[j] < lp_min) lp_min = lp[j];
    float mn = (float)lp_min;
    if ((double)mn > lp_min) mn = nextafterf(mn, -INFINITY); /* every entry >= mn */
    uint8_t head[8];
    uint32_t bits;
    memcpy(&bits, &mn, 4);
    wr32(head, bits);
    wr32(head + 4, (uint32_t)top);
    uint8_t *q = (uint8_t *)scratch;
    for (int32_t j = 0; j < n_vocab; j++) {
        /* q = 65535 (1 - lp / mn): 0 at lp = mn, 65535 at lp = 0 */
        double v = mn < 0.0f ? 65535.0 * (1.0 - lp[j] / (double)mn) : 65535.0;
        uint32_t u = v <= 0.0 ? 0u : v >= 65535.0 ? 65535u : (uint32_t)(v + 0.5);
        q[2 * j] = (uint8_t)u;
        q[2 * j + 1] = (uint8_t)(u >> 8);
    }
    return fwrite(head, 1, 8, f) == 8 && fwrite(q, 2, (size_t)n_vocab, f) == (size_t)n_vocab;
}
