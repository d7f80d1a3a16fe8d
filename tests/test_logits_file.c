/* test_logits_file.c — mote's saved-logits file (src/model/logits_file.c):
 * rows written and read back within the 16-bit quantization bound, the
 * header's fields kept, and every malformed file refused with a message
 * naming what is wrong (truncated, trailing bytes, bad magic/version/
 * vocabulary/window/flags, more rows than tokens, a row's bad minimum or
 * top id). The end-to-end use is in tests/cli_perplexity.sh and
 * tests/ppl_ref.sh. */
#include "test.h"
#include "model/logits_file.h"

#define NV 100
#define NR 3

static uint8_t g_buf[MOTE_LOGITS_HEADER_BYTES + NR * (8 + 2 * NV) + 16];
static double g_lp[NR][NV];

/* Write a header and NR rows of log-softmax values into g_buf (via a
 * temporary file); returns the byte count. */
static size_t write_file(mote_logits_header *h) {
    *h = (mote_logits_header){.version = 1, .n_vocab = NV, .n_ctx = 64, .flags = MOTE_LOGITS_FLAG_BOS,
                              .n_tokens = 10, .n_rows = NR, .tokens_hash = 0x1234567890abcdefull};
    snprintf(h->model, sizeof h->model, "%s", "a model name");
    uint64_t s = 12345;
    for (int r = 0; r < NR; r++) {
        double z[NV], mx = -1e300, sum = 0.0;
        for (int j = 0; j < NV; j++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            /* spreads from ~5 to ~40 nats: row 2 has a very unlikely tail */
            z[j] = ((double)(s >> 11) / 9007199254740992.0 - 0.5) * (10.0 + 30.0 * r);
            if (z[j] > mx) mx = z[j];
        }
        for (int j = 0; j < NV; j++) sum += exp(z[j] - mx);
        for (int j = 0; j < NV; j++) g_lp[r][j] = z[j] - mx - log(sum);
    }
    FILE *f = tmpfile();
    if (!f) return 0;
    uint16_t scratch[NV];
    bool ok = mote__logits_write_header(f, h);
    for (int r = 0; r < NR; r++) {
        int32_t top = 0;
        for (int j = 1; j < NV; j++)
            if (g_lp[r][j] > g_lp[r][top]) top = j;
        ok = ok && mote__logits_write_row(f, g_lp[r], NV, top, scratch);
    }
    rewind(f);
    size_t n = ok ? fread(g_buf, 1, sizeof g_buf, f) : 0;
    fclose(f);
    return n;
}

/* Decoded log-probabilities within |lp_min| / 65535 of the written ones
 * (half a step of rounding, and as much again for the renormalization),
 * the top id kept, the header's fields kept. */
static void test_roundtrip(void) {
    mote_logits_header h, got;
    size_t n = write_file(&h);
    T_REQUIRE(n == MOTE_LOGITS_HEADER_BYTES + NR * (8 + 2 * NV), "wrote %zu bytes", n);
    mote_error err = {0};
    T_REQUIRE(mote__logits_parse_header(g_buf, n, "t", &got, &err) == MOTE_OK, "%s", err.msg);
    T_CHECK(got.n_vocab == NV && got.n_ctx == 64 && got.flags == 1 && got.n_tokens == 10 &&
                got.n_rows == NR && got.tokens_hash == h.tokens_hash && !strcmp(got.model, "a model name"),
            "header fields differ");
    for (int r = 0; r < NR; r++) {
        double lp[NV], mn = 0.0, worst = 0.0;
        int32_t top = -1, want_top = 0;
        T_REQUIRE(mote__logits_read_row(g_buf, &got, (uint64_t)r, "t", lp, &top, &err) == MOTE_OK, "%s",
                  err.msg);
        for (int j = 0; j < NV; j++) {
            if (g_lp[r][j] < mn) mn = g_lp[r][j];
            if (g_lp[r][j] > g_lp[r][want_top]) want_top = j;
            double e = fabs(lp[j] - g_lp[r][j]);
            if (e > worst) worst = e;
        }
        T_CHECK(top == want_top, "row %d: top %d, want %d", r, top, want_top);
        T_CHECK(worst <= -mn / 65535.0 * 1.01, "row %d: error %.3g > %.3g", r, worst, -mn / 65535.0);
    }
}

/* Expect parse_header to refuse buf[0..len) with a message containing want. */
static void expect_bad(const uint8_t *buf, uint64_t len, const char *want, const char *what) {
    mote_logits_header h;
    mote_error err = {0};
    mote_status s = mote__logits_parse_header(buf, len, "f.lgt", &h, &err);
    T_CHECK(s == MOTE_ERR_FORMAT, "%s: accepted", what);
    T_CHECK(strstr(err.msg, want) && strstr(err.msg, "f.lgt"), "%s: message '%s'", what, err.msg);
}

static void put32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void test_bad_headers(void) {
    mote_logits_header h;
    size_t n = write_file(&h);
    T_REQUIRE(n > 0, "write failed");
    static uint8_t b[sizeof g_buf];
    expect_bad(g_buf, n - 1, "truncated", "one byte short");
    expect_bad(g_buf, 50, "not a mote logits file", "shorter than a header");
    memcpy(b, g_buf, n);
    b[n] = 0;
    expect_bad(b, n + 1, "trailing", "one byte more");
    memcpy(b, g_buf, n);
    b[0] = 'X';
    expect_bad(b, n, "not a mote logits file", "magic");
    memcpy(b, g_buf, n);
    put32(b + 8, 2);
    expect_bad(b, n, "version 2", "version");
    memcpy(b, g_buf, n);
    put32(b + 12, 0);
    expect_bad(b, n, "vocabulary size 0", "vocabulary 0");
    memcpy(b, g_buf, n);
    put32(b + 12, (1u << 24) + 1);
    expect_bad(b, n, "out of range", "vocabulary 2^24 + 1");
    memcpy(b, g_buf, n);
    put32(b + 16, 1);
    expect_bad(b, n, "window size 1", "window");
    memcpy(b, g_buf, n);
    put32(b + 20, 6);
    expect_bad(b, n, "unknown flags", "flags");
    memcpy(b, g_buf, n);
    put32(b + 24, 2); /* 2 tokens, 3 rows */
    expect_bad(b, n, "3 rows for a text of 2 tokens", "rows > tokens");
    memcpy(b, g_buf, n);
    put32(b + 24, 0xffffffffu);
    put32(b + 28, 0xffffffffu);
    put32(b + 32, 0xffffffffu);
    put32(b + 36, 0x7fffffffu); /* n_rows * row bytes overflows */
    expect_bad(b, n, "more than a file can hold", "overflow");
}

static void test_bad_rows(void) {
    mote_logits_header h, got;
    size_t n = write_file(&h);
    static uint8_t b[sizeof g_buf];
    memcpy(b, g_buf, n);
    mote_error err = {0};
    T_REQUIRE(mote__logits_parse_header(b, n, "f.lgt", &got, &err) == MOTE_OK, "%s", err.msg);
    double lp[NV];
    int32_t top;
    uint8_t *row1 = b + MOTE_LOGITS_HEADER_BYTES + (8 + 2 * NV);
    const uint32_t nan_bits = 0x7fc00000u, pos_bits = 0x3f800000u; /* NaN, 1.0f */
    put32(row1, nan_bits);
    T_CHECK(mote__logits_read_row(b, &got, 1, "f.lgt", lp, &top, &err) == MOTE_ERR_FORMAT &&
                strstr(err.msg, "row 1"), "NaN minimum: '%s'", err.msg);
    put32(row1, pos_bits);
    T_CHECK(mote__logits_read_row(b, &got, 1, "f.lgt", lp, &top, &err) == MOTE_ERR_FORMAT,
            "positive minimum accepted");
    memcpy(b, g_buf, n);
    put32(row1 + 4, NV);
    T_CHECK(mote__logits_read_row(b, &got, 1, "f.lgt", lp, &top, &err) == MOTE_ERR_FORMAT &&
                strstr(err.msg, "top token 100"), "top out of range: '%s'", err.msg);
    T_CHECK(mote__logits_read_row(b, &got, 0, "f.lgt", lp, &top, &err) == MOTE_OK, "row 0: %s", err.msg);
}

/* FNV-1a 64: the offset basis for nothing; order matters. */
static void test_hash(void) {
    int32_t a[3] = {1, 2, 3}, b[3] = {3, 2, 1};
    T_CHECK(mote__logits_hash_ids(a, 0) == 0xcbf29ce484222325ull, "empty hash");
    T_CHECK(mote__logits_hash_ids(a, 3) != mote__logits_hash_ids(b, 3), "order ignored");
    /* one id 0: four zero bytes through FNV-1a */
    uint64_t h = 0xcbf29ce484222325ull;
    for (int i = 0; i < 4; i++) h *= 0x100000001b3ull;
    int32_t z = 0;
    T_CHECK(mote__logits_hash_ids(&z, 1) == h, "id 0");
}

int main(void) {
    (void)t_assets; /* test.h's helper; these tests need no assets */
    T_RUN(test_roundtrip);
    T_RUN(test_bad_headers);
    T_RUN(test_bad_rows);
    T_RUN(test_hash);
    return t_exit();
}
