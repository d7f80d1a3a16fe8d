/* test_vocab_import.c — tests of the tokenizer.json importer
 * (src/convert/hf_tokenizer.c, `mote vocab import`).
 *
 * Round trips: the hand-written fixtures tests/data/vocab_import/bpe,
 * .../wordpiece and .../spm (tokenizer.json + tokenizer_config.json) are
 * imported to a GGUF file under $MOTE_BUILD, read back through src/gguf, and
 * every key is checked — its presence, type and exact value — and that no
 * other key is there. The expected values follow llama.cpp's converter rules (stated in
 * hf_tokenizer.c) applied by hand to the fixtures.
 *
 * Bad input: each malformed or unsupported tokenizer.json (in memory) must
 * fail with a specific status and a message naming the JSON path, and leave
 * no writer behind. The Llama 3 / Qwen3 tokenizers and the token-id vectors
 * are checked by tests/vocab_import.sh.
 */
#include "test.h"
#include "convert/hf_tokenizer.h"
#include "gguf/gguf.h"
#include <unistd.h>

#define FIXTURES "tests/data/vocab_import"

static char out_dir[1024];

static const char *out_path(const char *name) {
    static char buf[2048];
    snprintf(buf, sizeof buf, "%s/%s", out_dir, name);
    return buf;
}

/* ---- reading back ---------------------------------------------------------- */

static bool has_str(const mote_gguf *g, const char *key, const char *want) {
    const char *p;
    uint64_t len;
    if (mote__gguf_get_str(g, key, &p, &len, NULL)) return false;
    return len == strlen(want) && !memcmp(p, want, len);
}

static bool has_u32(const mote_gguf *g, const char *key, uint32_t want) {
    int64_t i = mote__gguf_find_key(g, key);
    uint32_t v;
    return i >= 0 && mote__gguf_kv_type(g, i) == MOTE_GGUF_UINT32 &&
           !mote__gguf_get_u32(g, key, &v, NULL) && v == want;
}

static bool has_bool(const mote_gguf *g, const char *key, bool want) {
    bool v;
    return !mote__gguf_get_bool(g, key, &v, NULL) && v == want;
}

/* String array at key equal to want[0..n). On mismatch, *bad is the first
 * differing index (or n for a length mismatch). */
static bool has_strs(const mote_gguf *g, const char *key, const char *const *want, uint64_t n,
                     uint64_t *bad) {
    mote_gguf_vtype et;
    uint64_t len;
    const void *data;
    *bad = n;
    if (mote__gguf_get_arr(g, key, &et, &len, &data, NULL) || et != MOTE_GGUF_STRING || len != n)
        return false;
    int64_t ki = mote__gguf_find_key(g, key);
    for (uint64_t j = 0; j < n; j++) {
        const char *p;
        uint64_t l;
        if (mote__gguf_arr_str(g, ki, j, &p, &l) || l != strlen(want[j]) || memcmp(p, want[j], l)) {
            *bad = j;
            return false;
        }
    }
    return true;
}

static bool has_i32s(const mote_gguf *g, const char *key, const int32_t *want, uint64_t n) {
    mote_gguf_vtype et;
    uint64_t len;
    const void *data;
    if (mote__gguf_get_arr(g, key, &et, &len, &data, NULL) || et != MOTE_GGUF_INT32 || len != n) return false;
    for (uint64_t j = 0; j < n; j++) {
        int32_t v;
        memcpy(&v, (const char *)data + 4 * j, 4);
        if (v != want[j]) return false;
    }
    return true;
}

/* Import FIXTURES/dir through the public entry point and open the result. */
static mote_gguf *import_fixture(const char *dir, const char *out_name, mote_vocab_import_summary *sum) {
    char tj[512], cj[512];
    snprintf(tj, sizeof tj, FIXTURES "/%s/tokenizer.json", dir);
    snprintf(cj, sizeof cj, FIXTURES "/%s/tokenizer_config.json", dir);
    mote_error err = {0};
    if (mote_vocab_import_hf(tj, cj, out_path(out_name), NULL, sum, &err)) {
        T_CHECK(0, "import of %s failed: %s", dir, err.msg);
        return NULL;
    }
    mote_gguf *g = NULL;
    if (mote_gguf_open(out_path(out_name), &g, &err)) T_CHECK(0, "reading back %s: %s", out_name, err.msg);
    return g;
}

/* ---- round trips -------------------------------------------------------------- */

static void test_bpe_fixture_every_key(void) {
    mote_vocab_import_summary sum;
    mote_gguf *g = import_fixture("bpe", "vocab-import-bpe.gguf", &sum);
    T_REQUIRE(g, "no file");
    static const char *const tokens[] = {
        "a", "b", "c", "\xC4\xA0", "x", "y", "ab", "abc", "\xC4\xA0" "a", "[PAD9]",
        "\xC4\xA0" "ab", "xy", "<|endoftext|>", "<|user|>", "<tool>", " hi"};
    static const int32_t types[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 5, 1, 1, 3, 3, 4, 4};
    static const char *const merges[] = {"a b", "ab c", "\xC4\xA0 a", "\xC4\xA0" "a b", "x y"};
    static const char *const tpl_names[] = {"tool_use"};
    uint64_t bad;
    T_CHECK(mote_gguf_n_kv(g) == 15, "%lld keys, want 15", (long long)mote_gguf_n_kv(g));
    T_CHECK(mote_gguf_n_tensors(g) == 0, "has tensors");
    T_CHECK(has_str(g, "general.architecture", "llama"), "general.architecture");
    T_CHECK(has_str(g, "general.name", "vocab-import-bpe"), "general.name (the output file's stem)");
    T_CHECK(has_str(g, "tokenizer.ggml.model", "gpt2"), "tokenizer.ggml.model");
    T_CHECK(has_str(g, "tokenizer.ggml.pre", "gpt-2"), "tokenizer.ggml.pre");
    T_CHECK(has_strs(g, "tokenizer.ggml.tokens", tokens, 16, &bad), "tokens differ at %llu", (unsigned long long)bad);
    T_CHECK(has_i32s(g, "tokenizer.ggml.token_type", types, 16), "token_type");
    T_CHECK(has_strs(g, "tokenizer.ggml.merges", merges, 5, &bad), "merges differ at %llu", (unsigned long long)bad);
    T_CHECK(has_u32(g, "tokenizer.ggml.bos_token_id", 12), "bos_token_id");
    T_CHECK(has_u32(g, "tokenizer.ggml.eos_token_id", 12), "eos_token_id (object form in the config)");
    T_CHECK(has_u32(g, "tokenizer.ggml.padding_token_id", 13), "padding_token_id");
    T_CHECK(mote__gguf_find_key(g, "tokenizer.ggml.unknown_token_id") < 0, "unk_token null must write nothing");
    T_CHECK(has_bool(g, "tokenizer.ggml.add_bos_token", true), "add_bos_token (TemplateProcessing)");
    T_CHECK(has_bool(g, "tokenizer.ggml.add_eos_token", false), "add_eos_token (config)");
    T_CHECK(has_str(g, "tokenizer.chat_template", "{{ messages[0]['content'] }}"), "chat_template");
    T_CHECK(has_str(g, "tokenizer.chat_template.tool_use", "{{ tools }}"), "chat_template.tool_use");
    T_CHECK(has_strs(g, "tokenizer.chat_templates", tpl_names, 1, &bad), "chat_templates");
    T_CHECK(sum.n_tokens == 16 && sum.n_added == 4 && sum.n_filled == 1 && sum.n_merges == 5 &&
                sum.bos_id == 12 && sum.eos_id == 12 && sum.has_chat_template && !strcmp(sum.pre, "gpt-2") &&
                !strcmp(sum.model, "gpt2"),
            "summary %lld tokens %lld added %lld filled %lld merges bos %d eos %d pre %s",
            (long long)sum.n_tokens, (long long)sum.n_added, (long long)sum.n_filled,
            (long long)sum.n_merges, sum.bos_id, sum.eos_id, sum.pre);
    mote_gguf_close(g);
}

static void test_wordpiece_fixture_every_key(void) {
    mote_vocab_import_summary sum;
    mote_gguf *g = import_fixture("wordpiece", "vocab-import-wp.gguf", &sum);
    T_REQUIRE(g, "no file");
    static const char *const tokens[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
                                         "\xE2\x96\x81the", "s", "\xE2\x96\x81" "cat", "\xE2\x96\x81!",
                                         "[unused0]"};
    static const int32_t types[] = {3, 3, 3, 3, 3, 1, 1, 1, 1, 1};
    uint64_t bad;
    T_CHECK(mote_gguf_n_kv(g) == 16, "%lld keys, want 16", (long long)mote_gguf_n_kv(g));
    T_CHECK(has_str(g, "general.architecture", "bert"), "general.architecture");
    T_CHECK(has_str(g, "general.name", "vocab-import-wp"), "general.name");
    T_CHECK(has_u32(g, "tokenizer.ggml.token_type_count", 2), "token_type_count");
    T_CHECK(has_str(g, "tokenizer.ggml.model", "bert"), "tokenizer.ggml.model");
    T_CHECK(has_str(g, "tokenizer.ggml.pre", "bert-bge"), "tokenizer.ggml.pre");
    T_CHECK(has_strs(g, "tokenizer.ggml.tokens", tokens, 10, &bad), "tokens differ at %llu (phantom space)",
            (unsigned long long)bad);
    T_CHECK(has_i32s(g, "tokenizer.ggml.token_type", types, 10), "token_type");
    T_CHECK(mote__gguf_find_key(g, "tokenizer.ggml.merges") < 0, "WordPiece has no merges");
    T_CHECK(has_u32(g, "tokenizer.ggml.bos_token_id", 2), "bos_token_id (falls back to cls)");
    T_CHECK(has_u32(g, "tokenizer.ggml.eos_token_id", 3), "eos_token_id (falls back to sep)");
    T_CHECK(has_u32(g, "tokenizer.ggml.unknown_token_id", 1), "unknown_token_id");
    T_CHECK(has_u32(g, "tokenizer.ggml.seperator_token_id", 3), "seperator_token_id");
    T_CHECK(has_u32(g, "tokenizer.ggml.padding_token_id", 0), "padding_token_id");
    T_CHECK(has_u32(g, "tokenizer.ggml.cls_token_id", 2), "cls_token_id");
    T_CHECK(has_u32(g, "tokenizer.ggml.mask_token_id", 4), "mask_token_id");
    T_CHECK(has_bool(g, "tokenizer.ggml.add_bos_token", true), "add_bos_token");
    T_CHECK(has_bool(g, "tokenizer.ggml.add_eos_token", true), "add_eos_token");
    T_CHECK(sum.n_tokens == 10 && sum.n_added == 5 && sum.n_filled == 0 && sum.n_merges == 0,
            "summary");
    mote_gguf_close(g);
}

/* ---- in-memory imports ------------------------------------------------------------ */

#define BL "\"pre_tokenizer\":{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"use_regex\":true}"

/* Import json (no config); on success return the writer's file read back. */
static mote_status import_mem(const char *json, const mote_vocab_import_opts *o, mote_gguf **g,
                              mote_error *err) {
    mote_gguf_writer *w = NULL;
    *g = NULL;
    mote_status s = mote__vocab_import_hf_mem(json, strlen(json), "t.json", NULL, 0, "c.json", o, &w, NULL, err);
    if (s) {
        T_CHECK(w == NULL, "a writer is left after an error");
        return s;
    }
    s = mote__gguf_write(w, out_path("vocab-import-mem.gguf"), err);
    mote__gguf_writer_free(w);
    if (!s) s = mote_gguf_open(out_path("vocab-import-mem.gguf"), g, err);
    return s;
}

static void test_merges_as_pairs(void) {
    /* [a, b] pairs; a space inside a part is written as U+0120 (llama.cpp). */
    const char *json = "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"x\":0,\" y\":1,\"x y\":2,\"a\":3,\"b\":4,\"ab\":5},"
                       "\"merges\":[[\"x\",\" y\"],[\"a\",\"b\"]]}," BL "}";
    mote_gguf *g;
    mote_error err = {0};
    T_REQUIRE(import_mem(json, NULL, &g, &err) == MOTE_OK, "%s", err.msg);
    static const char *const merges[] = {"x \xC4\xA0y", "a b"};
    static const char *const tokens[] = {"x", " y", "x y", "a", "b", "ab"};
    uint64_t bad;
    T_CHECK(has_strs(g, "tokenizer.ggml.merges", merges, 2, &bad), "merges differ at %llu", (unsigned long long)bad);
    T_CHECK(has_strs(g, "tokenizer.ggml.tokens", tokens, 6, &bad), "tokens differ at %llu", (unsigned long long)bad);
    T_CHECK(has_str(g, "general.name", "vocab"), "default name of the in-memory entry");
    T_CHECK(mote__gguf_find_key(g, "tokenizer.ggml.add_bos_token") < 0, "no add_bos without a reason");
    mote_gguf_close(g);
}

static void test_pre_names(void) {
    static const struct { const char *pre_json; const char *want; } cases[] = {
        {"\"pre_tokenizer\":{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\",\"pattern\":{\"Regex\":"
         "\"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}{1,3}| ?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|"
         "\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+\"},\"behavior\":\"Isolated\",\"invert\":false},"
         "{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,\"use_regex\":false}]}",
         "llama-bpe"},
        {"\"pre_tokenizer\":{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\",\"pattern\":{\"Regex\":"
         "\"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}| ?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|"
         "\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+\"},\"behavior\":\"Isolated\",\"invert\":false},"
         "{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":false,\"use_regex\":false}]}",
         "qwen2"},
        {"\"pre_tokenizer\":{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Digits\",\"individual_digits\":true},"
         "{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,\"use_regex\":true}]}",
         "starcoder"},
        {BL ",\"post_processor\":{\"type\":\"RobertaProcessing\",\"sep\":[\"b\",1],\"cls\":[\"a\",0]}", "roberta-bpe"},
        {BL, "gpt-2"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char json[2048];
        snprintf(json, sizeof json, "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1},\"merges\":[]},%s}",
                 cases[i].pre_json);
        mote_gguf *g;
        mote_error err = {0};
        mote_status s = import_mem(json, NULL, &g, &err);
        T_CHECK(s == MOTE_OK, "case %zu (%s): %s", i, cases[i].want, err.msg);
        if (s) continue;
        T_CHECK(has_str(g, "tokenizer.ggml.pre", cases[i].want), "case %zu: want pre %s", i, cases[i].want);
        mote_gguf_close(g);
    }
    /* An unknown structure is refused naming it; --pre overrides. */
    const char *ws = "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]},"
                     "\"pre_tokenizer\":{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Whitespace\"},"
                     "{\"type\":\"Split\",\"pattern\":{\"String\":\"-\"},\"behavior\":\"Removed\"}]}}";
    mote_gguf *g;
    mote_error err = {0};
    T_CHECK(import_mem(ws, NULL, &g, &err) == MOTE_ERR_UNSUPPORTED &&
                strstr(err.msg, "t.json: pre_tokenizer: unknown structure [Whitespace + Split \"-\" Removed]") &&
                strstr(err.msg, "--pre NAME"),
            "unknown pre-tokenizer: %s", err.msg);
    mote_vocab_import_opts o = {.pre = "gpt-2", .name = "n", .arch = "qwen2", .n_vocab = 3};
    T_REQUIRE(import_mem(ws, &o, &g, &err) == MOTE_OK, "with an override: %s", err.msg);
    static const char *const tokens[] = {"a", "[PAD1]", "[PAD2]"};
    static const int32_t types[] = {1, 5, 5};
    uint64_t bad;
    T_CHECK(has_str(g, "tokenizer.ggml.pre", "gpt-2") && has_str(g, "general.name", "n") &&
                has_str(g, "general.architecture", "qwen2"),
            "overrides not written");
    T_CHECK(has_strs(g, "tokenizer.ggml.tokens", tokens, 3, &bad) && has_i32s(g, "tokenizer.ggml.token_type", types, 3),
            "n_vocab padding");
    mote_gguf_close(g);
}

static bool has_f32s(const mote_gguf *g, const char *key, const float *want, uint64_t n) {
    mote_gguf_vtype et;
    uint64_t len;
    const void *data;
    if (mote__gguf_get_arr(g, key, &et, &len, &data, NULL) || et != MOTE_GGUF_FLOAT32 || len != n) return false;
    for (uint64_t j = 0; j < n; j++) {
        float v;
        memcpy(&v, (const char *)data + 4 * j, 4);
        if (v != want[j]) return false;
    }
    return true;
}

/* SentencePiece-style BPE (byte_fallback): model "llama", byte and unknown
 * types, and scores -(rank of the first merge making the token), below all
 * of them -(n_merges + id) for unmerged pieces, 0 for byte/control/unknown. */
static void test_spm_style(void) {
    const char *json =
        "{\"added_tokens\":[{\"id\":0,\"content\":\"<unk>\",\"special\":true},"
        "{\"id\":1,\"content\":\"<s>\",\"special\":true},{\"id\":2,\"content\":\"</s>\",\"special\":true}],"
        "\"normalizer\":{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Prepend\",\"prepend\":\"\\u2581\"}]},"
        "\"pre_tokenizer\":null,"
        "\"model\":{\"type\":\"BPE\",\"unk_token\":\"<unk>\",\"byte_fallback\":true,\"fuse_unk\":true,"
        "\"vocab\":{\"<unk>\":0,\"<s>\":1,\"</s>\":2,\"<0x0A>\":3,\"\\u2581\":4,\"a\":5,\"b\":6,\"\\u2581a\":7,"
        "\"ab\":8,\"\\u2581ab\":9},\"merges\":[\"\\u2581 a\",\"a b\",\"\\u2581a b\"]}}";
    mote_gguf *g;
    mote_error err = {0};
    T_REQUIRE(import_mem(json, NULL, &g, &err) == MOTE_OK, "%s", err.msg);
    static const char *const tokens[] = {"<unk>", "<s>", "</s>", "<0x0A>", "\xE2\x96\x81", "a", "b",
                                         "\xE2\x96\x81" "a", "ab", "\xE2\x96\x81" "ab"};
    static const int32_t types[] = {2, 3, 3, 6, 1, 1, 1, 1, 1, 1};
    static const float scores[] = {0, 0, 0, 0, -7, -8, -9, 0, -1, -2};
    uint64_t bad;
    T_CHECK(mote_gguf_n_kv(g) == 7, "%lld keys, want 7", (long long)mote_gguf_n_kv(g));
    T_CHECK(has_str(g, "tokenizer.ggml.model", "llama") && has_str(g, "tokenizer.ggml.pre", "default"), "model/pre");
    T_CHECK(has_strs(g, "tokenizer.ggml.tokens", tokens, 10, &bad), "tokens differ at %llu", (unsigned long long)bad);
    T_CHECK(has_i32s(g, "tokenizer.ggml.token_type", types, 10), "token_type");
    T_CHECK(has_f32s(g, "tokenizer.ggml.scores", scores, 10), "scores");
    T_CHECK(mote__gguf_find_key(g, "tokenizer.ggml.merges") < 0, "a llama vocab has no merges");
    mote_gguf_close(g);
}

static void test_spm_fixture_every_key(void) {
    mote_vocab_import_summary sum;
    mote_gguf *g = import_fixture("spm", "vocab-import-spm.gguf", &sum);
    T_REQUIRE(g, "no file");
    static const char *const tokens[] = {"<unk>", "<s>", "</s>", "<0x0A>", "<0xE2>", "\xE2\x96\x81", "h", "i",
                                         "\xE2\x96\x81h", "\xE2\x96\x81hi", "hi", "<|user|>"};
    static const int32_t types[] = {2, 3, 3, 6, 6, 1, 1, 1, 1, 1, 1, 3};
    static const float scores[] = {0, 0, 0, 0, 0, -8, -9, -10, 0, -1, -2, 0};
    uint64_t bad;
    T_CHECK(mote_gguf_n_kv(g) == 13, "%lld keys, want 13", (long long)mote_gguf_n_kv(g));
    T_CHECK(has_str(g, "general.architecture", "llama") && has_str(g, "general.name", "vocab-import-spm"), "general.*");
    T_CHECK(has_str(g, "tokenizer.ggml.model", "llama") && has_str(g, "tokenizer.ggml.pre", "default"), "model/pre");
    T_CHECK(has_strs(g, "tokenizer.ggml.tokens", tokens, 12, &bad), "tokens differ at %llu", (unsigned long long)bad);
    T_CHECK(has_f32s(g, "tokenizer.ggml.scores", scores, 12), "scores");
    T_CHECK(has_i32s(g, "tokenizer.ggml.token_type", types, 12), "token_type");
    T_CHECK(has_u32(g, "tokenizer.ggml.bos_token_id", 1) && has_u32(g, "tokenizer.ggml.eos_token_id", 2) &&
                has_u32(g, "tokenizer.ggml.unknown_token_id", 0),
            "special ids");
    T_CHECK(has_bool(g, "tokenizer.ggml.add_bos_token", true) && has_bool(g, "tokenizer.ggml.add_eos_token", false),
            "add_bos/add_eos");
    T_CHECK(has_str(g, "tokenizer.chat_template", "{{ bos_token }}{% for m in messages %}{{ m['content'] }}{% endfor %}"),
            "chat_template");
    T_CHECK(sum.n_tokens == 12 && sum.n_added == 4 && sum.n_merges == 3 && !strcmp(sum.model, "llama"), "summary");
    mote_gguf_close(g);
}

/* Each bad input: the status, and a piece of the message it must contain. */
static void test_bad_inputs(void) {
    static const struct { const char *json; mote_status code; const char *msg; } cases[] = {
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1", MOTE_ERR_FORMAT,
         "t.json: not valid JSON (line 1, column 43)"},
        {"[1,2]", MOTE_ERR_FORMAT, "t.json: expected a JSON object at the top level, found an array"},
        {"{\"a\":1,\"a\":2}", MOTE_ERR_FORMAT, "duplicate object key"},
        {"{\"version\":\"1.0\"}", MOTE_ERR_FORMAT, "t.json: model: missing"},
        {"{\"model\":[]}", MOTE_ERR_FORMAT, "t.json: model: expected an object, found an array"},
        {"{\"model\":{\"type\":7}}", MOTE_ERR_FORMAT, "model.type: expected a string, found an integer"},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":[[\"a\",0]],\"merges\":[]}}", MOTE_ERR_FORMAT,
         "t.json: model.vocab: expected an object (token -> id), found an array"},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{},\"merges\":[]}}", MOTE_ERR_FORMAT, "model.vocab: empty"},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":\"0\"},\"merges\":[]}}", MOTE_ERR_FORMAT,
         "model.vocab[\"a\"]: expected an integer id, found a string"},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":-1},\"merges\":[]}}", MOTE_ERR_FORMAT,
         "model.vocab[\"a\"]: id -1 is out of range"},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":0},\"merges\":[]}}", MOTE_ERR_FORMAT,
         "model.vocab: \"a\" and \"b\" both have id 0"},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1}}}", MOTE_ERR_FORMAT, "model.merges: missing"},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1},\"merges\":{\"a\":\"b\"}}}", MOTE_ERR_FORMAT,
         "t.json: model.merges: expected an array, found an object"},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1,\"ab\":2},\"merges\":[\"a b\",5]}}", MOTE_ERR_FORMAT,
         "model.merges[1]: expected \"a b\" or [\"a\", \"b\"], found an integer"},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1,\"ab\":2},\"merges\":[[\"a\",\"b\",\"c\"]]}}",
         MOTE_ERR_FORMAT, "model.merges[0]: expected two strings, found an array of 3"},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1,\"ab\":2},\"merges\":[\"ab\"]}}", MOTE_ERR_FORMAT,
         "model.merges[0]: \"ab\" is not two tokens separated by one space"},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1,\"ab\":2},\"merges\":[\"a b\",\"a zz\"]}}",
         MOTE_ERR_FORMAT, "t.json: model.merges[1]: \"zz\" is not in model.vocab"},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1},\"merges\":[[\"a\",\"b\"]]}}", MOTE_ERR_FORMAT,
         "model.merges[0]: \"a\" + \"b\" = \"ab\" is not in model.vocab"},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]},\"added_tokens\":{}}", MOTE_ERR_FORMAT,
         "added_tokens: expected an array, found an object"},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]},\"added_tokens\":[{\"id\":0,\"content\":\"<s>\"}]}",
         MOTE_ERR_FORMAT, "added_tokens[0]: id 0 is \"<s>\" here but \"a\" in model.vocab"},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]},\"added_tokens\":[{\"id\":1,\"content\":\"a\"}]}",
         MOTE_ERR_FORMAT, "added_tokens[0]: \"a\" has id 1 here but 0 in model.vocab"},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]},\"added_tokens\":"
         "[{\"id\":1,\"content\":\"<s>\"},{\"id\":1,\"content\":\"</s>\"}]}",
         MOTE_ERR_FORMAT, "added_tokens[1]: id 1 is already taken by added_tokens[0]"},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]},\"added_tokens\":"
         "[{\"id\":1,\"content\":\"<s>\"},{\"id\":2,\"content\":\"<s>\"}]}",
         MOTE_ERR_FORMAT, "added_tokens[1]: \"<s>\" is also added_tokens[0], with id 1"},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]},\"added_tokens\":[{\"id\":\"1\",\"content\":\"x\"}]}",
         MOTE_ERR_FORMAT, "added_tokens[0].id: expected an integer, found a string"},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]},\"added_tokens\":[{\"id\":3000000,\"content\":\"x\"}]}",
         MOTE_ERR_FORMAT, "added_tokens[0].id: 3000000 is out of range"},
        {"{\"model\":{\"type\":\"Unigram\",\"vocab\":[[\"a\",-1.5]]}}", MOTE_ERR_UNSUPPORTED,
         "model.type is \"Unigram\": not supported"},
        {"{\"model\":{\"vocab\":[[\"a\",-1.5]],\"unk_id\":0}}", MOTE_ERR_UNSUPPORTED, "\"Unigram\": not supported"},
        {"{\"model\":{\"type\":\"WordLevel\",\"vocab\":{\"a\":0}}}", MOTE_ERR_UNSUPPORTED, "\"WordLevel\": not supported"},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]},\"pre_tokenizer\":{\"type\":\"Sequence\"}}",
         MOTE_ERR_FORMAT, "pre_tokenizer.pretokenizers: expected an array, found nothing"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mote_gguf *g = NULL;
        mote_error err = {0};
        mote_status s = import_mem(cases[i].json, NULL, &g, &err);
        T_CHECK(s == cases[i].code && strstr(err.msg, cases[i].msg) && !strchr(err.msg, '\n'),
                "case %zu: status %d, message '%s'; want %d with '%s'", i, (int)s, err.msg, (int)cases[i].code,
                cases[i].msg);
        if (g) mote_gguf_close(g);
    }
}

static void test_bad_config_and_files(void) {
    const char *tok = "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]}," BL "}";
    const char *cfg = "{\"bos_token\": \"<s>\",";
    mote_gguf_writer *w = NULL;
    mote_error err = {0};
    mote_status s = mote__vocab_import_hf_mem(tok, strlen(tok), "t.json", cfg, strlen(cfg), "c.json", NULL, &w,
                                              NULL, &err);
    T_CHECK(s == MOTE_ERR_FORMAT && w == NULL && strstr(err.msg, "c.json: not valid JSON"), "config: %s", err.msg);

    mote_vocab_import_opts o = {.n_vocab = 0};
    o.n_vocab = 0;
    const char *two = "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1},\"merges\":[]}," BL "}";
    o.n_vocab = 1;
    s = mote__vocab_import_hf_mem(two, strlen(two), "t.json", NULL, 0, "c.json", &o, &w, NULL, &err);
    T_CHECK(s == MOTE_ERR_INVALID_ARG && strstr(err.msg, "n_vocab 1 is out of range"), "n_vocab: %s", err.msg);

    /* Files: a missing input is an I/O error; a failed import leaves no file. */
    const char *out = out_path("vocab-import-never.gguf");
    unlink(out);
    s = mote_vocab_import_hf("tests/data/vocab_import/nope.json", NULL, out, NULL, NULL, &err);
    T_CHECK(s == MOTE_ERR_IO && strstr(err.msg, "nope.json: cannot open"), "missing file: %s", err.msg);
    s = mote_vocab_import_hf("tests/data/vocab_import/bpe/tokenizer.json", "tests/data/vocab_import/bpe/tokenizer.json",
                             out, &(mote_vocab_import_opts){.pre = ""}, NULL, &err);
    T_CHECK(s == MOTE_ERR_INVALID_ARG && access(out, F_OK) != 0, "empty --pre: %d %s", (int)s, err.msg);
}

int main(void) {
    const char *b = getenv("MOTE_BUILD");
    snprintf(out_dir, sizeof out_dir, "%s", b ? b : "build");
    (void)t_assets; /* the fixtures live in tests/data, not in ../shared */
    T_RUN(test_bpe_fixture_every_key);
    T_RUN(test_wordpiece_fixture_every_key);
    T_RUN(test_merges_as_pairs);
    T_RUN(test_pre_names);
    T_RUN(test_spm_style);
    T_RUN(test_spm_fixture_every_key);
    T_RUN(test_bad_inputs);
    T_RUN(test_bad_config_and_files);
    return t_exit();
}
