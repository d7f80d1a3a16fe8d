/* logits_file.h — mote's file of saved base logits (`mote perplexity
 * --save-logits` / `--kl-base`), internal to src/model/.
 *
 * What it is: the log-probabilities a model gave at every scored position
 * of a text, so that another model (a quantized one) can be compared with
 * them by KL divergence without holding both in memory. What it is not:
 * llama.cpp's format (whose header differs), or a general tensor file.
 *
 * Layout, little-endian, no padding:
 *   offset 0   char[8]  magic "MOTELGT1"
 *          8   u32      version (1)
 *         12   u32      n_vocab
 *         16   u32      n_ctx: the window size the positions were scored with
 *         20   u32      flags: bit 0 = windows start with BOS
 *         24   u64      n_tokens: tokens of the text (BOS not counted)
 *         32   u64      n_rows: scored positions that follow
 *         40   u64      tokens_hash: FNV-1a 64 of the text's token ids (u32 LE)
 *         48   char[64] model: general.name of the model that wrote it,
 *                       NUL-padded (informative: the compared model differs)
 *        112   rows, each 8 + 2 * n_vocab bytes:
 *                f32 lp_min    the row's smallest log-probability (finite, <= 0)
 *                u32 top       the id of the most likely token (< n_vocab)
 *                u16 q[n_vocab]  log p_j = lp_min * (1 - q_j / 65535)
 * The file is exactly 112 + n_rows * (8 + 2 * n_vocab) bytes: a longer or
 * shorter one is refused (a truncated write is caught).
 * Quantizing log p in 16 bits over [lp_min, 0] (as llama.cpp's KL file
 * does) errs by at most |lp_min| / 131070 nats per entry; the reader
 * renormalizes, so a model compared with its own file gives KL ~1e-8.
 */
#ifndef MOTE_LOGITS_FILE_H
#define MOTE_LOGITS_FILE_H

#include "../core/core.h"
#include <stdio.h>

#define MOTE_LOGITS_MAGIC "MOTELGT1"
#define MOTE_LOGITS_HEADER_BYTES 112u
#define MOTE_LOGITS_FLAG_BOS 1u

typedef struct mote_logits_header {
    uint32_t version, n_vocab, n_ctx, flags;
    uint64_t n_tokens, n_rows, tokens_hash;
    char model[65]; /* NUL-terminated */
} mote_logits_header;

/* FNV-1a 64 over ids as little-endian u32. */
uint64_t mote__logits_hash_ids(const int32_t *ids, int64_t n);

/* Bytes of one row for n_vocab tokens. */
static inline uint64_t mote__logits_row_bytes(uint32_t n_vocab) { return 8u + 2u * (uint64_t)n_vocab; }

/* Check the header at buf (len bytes: the whole file) and that len is
 * exactly what it announces; fill *h. MOTE_ERR_FORMAT naming `name` (the
 * path, for messages) and what is wrong: bad magic, unknown version, a
 * vocabulary of 0 or more than 2^24 tokens, a window < 2, unknown flags,
 * a size that does not match (truncated or trailing bytes). */
mote_status mote__logits_parse_header(const uint8_t *buf, uint64_t len, const char *name,
                                      mote_logits_header *h, mote_error *err);

/* Decode row r (< h->n_rows, of a buffer that passed parse_header) into
 * lp (n_vocab log-probabilities, renormalized so that sum exp = 1) and
 * *top. MOTE_ERR_FORMAT naming the row when lp_min is not finite and <= 0
 * or top is out of range. */
mote_status mote__logits_read_row(const uint8_t *buf, const mote_logits_header *h, uint64_t r,
                                  const char *name, double *lp, int32_t *top, mote_error *err);

/* Write the header (112 bytes) to f; false on a write error. */
bool mote__logits_write_header(FILE *f, const mote_logits_header *h);

/* Write one row from lp (n_vocab log-probabilities of a softmax, all
 * finite) and the argmax `top`. scratch: 2 * n_vocab bytes. false on a
 * write error. */
bool mote__logits_write_row(FILE *f, const double *lp, int32_t n_vocab, int32_t top, uint16_t *scratch);

#endif /* MOTE_LOGITS_FILE_H */
