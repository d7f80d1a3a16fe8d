# mote — build, test, sanitize.
#   make            libmote.a and the mote binary (in build/)
#   make test       every test; last line "N passed, N failed, N skipped"
#   make sanitize   the same tests built with -fsanitize=address,undefined
#   make fuzz       build the libFuzzer targets (clang) and run each briefly
#   make check      test, fuzz briefly, sanitize, test-aarch64: what CI runs
#   make test-aarch64  cross-compile for aarch64 (build/aarch64) and run the
#                   tests under qemu-user; "skip" without the tools
#   make bench-kernels  GB/s of each kernel's matrix-vector product
#   make quant-report   per quantization type: bits/weight, size, perplexity,
#                   KL divergence, same-top %, tokens/s (build/quant-report.md)
# Sources and tests are discovered: src/**/*.c go into libmote.a,
# tools/mote/*.c into mote, tests/test_*.c each into a test binary.

CC      ?= cc
BUILD   ?= build
OPT     ?= -O2
CFLAGS  ?= $(OPT) -g
WARN    := -Wall -Wextra -Wshadow -Wno-unused-parameter -Wstrict-prototypes -Wvla
CPPFLAGS_ALL := -Iinclude -Isrc $(CPPFLAGS)
CFLAGS_ALL   := -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(EXTRA_CFLAGS)
# The core needs libc, libm and pthreads only; PCRE2 (Unicode pre-tokenizer
# regexes), utf8proc (BERT normalization) and jansson (tokenizer.json
# import) are Debian-packaged libraries around it.
LDLIBS  := -lm -lpthread -lpcre2-8 -lutf8proc -ljansson

# SIMD kernels are compiled per instruction set and chosen at run time
# (src/kernels/dispatch.c reads CPUID): only files under src/kernels/x86/ get
# AVX2 flags, only files under src/kernels/arm/ get the dot-product
# extension, so one binary runs on any CPU of its architecture.
TARGET_ARCH_NAME := $(shell $(CC) -dumpmachine)
ifneq (,$(findstring x86_64,$(TARGET_ARCH_NAME)))
SIMD_X86 := -mavx2 -mfma -mf16c
endif
ifneq (,$(findstring aarch64,$(TARGET_ARCH_NAME)))
SIMD_ARM := -march=armv8.2-a+dotprod+fp16
endif

LIB_SRC   := $(shell find src -name '*.c' | sort)
TOOL_SRC  := $(wildcard tools/mote/*.c)
TEST_SRC  := $(wildcard tests/test_*.c)

LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/%.o)
TOOL_OBJ  := $(TOOL_SRC:%.c=$(BUILD)/%.o)
# mote's default model, embedded in the binary when models/mote-tiny.gguf
# exists (tools/mote/default_model.S; `make default-model` remakes the file).
DEFAULT_MODEL := $(wildcard models/mote-tiny.gguf)
ifneq ($(DEFAULT_MODEL),)
TOOL_OBJ  += $(BUILD)/tools/mote/default_model_blob.o
endif
TEST_BIN  := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)

.PHONY: all test sanitize fuzz check bench clean test-aarch64 bench-kernels default-model
all: $(BUILD)/libmote.a $(BUILD)/mote

$(BUILD)/src/kernels/x86/%.o: SIMD_FLAGS := $(SIMD_X86)
$(BUILD)/src/kernels/arm/%.o: SIMD_FLAGS := $(SIMD_ARM)
$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) $(SIMD_FLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libmote.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/tools/mote/default_model_blob.o: tools/mote/default_model.S $(DEFAULT_MODEL)
	@mkdir -p $(dir $@)
	$(CC) -c $< -o $@

$(BUILD)/mote: $(TOOL_OBJ) $(BUILD)/libmote.a
	$(CC) $(CFLAGS_ALL) $(LDFLAGS) -o $@ $(TOOL_OBJ) $(BUILD)/libmote.a $(LDLIBS)

# Test binaries may #include a src/*.c file to reach internals.
$(BUILD)/tests/%: tests/%.c tests/test.h tests/test_rng.h $(BUILD)/libmote.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) -Itests $(CFLAGS_ALL) -MMD -MP $(LDFLAGS) -o $@ $< $(BUILD)/libmote.a $(LDLIBS)

test: all $(TEST_BIN)
	@sh tests/run.sh $(BUILD)

sanitize:
	@$(MAKE) --no-print-directory test BUILD=build/asan OPT=-O1 \
	  EXTRA_CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	  LDFLAGS="-fsanitize=address,undefined"

fuzz:
	@sh fuzz/run.sh

# What CI runs (the README's test command): the tests, a short fuzzing run
# of every parser, then the tests again under ASan/UBSan.
check:
	@$(MAKE) --no-print-directory test
	@FUZZ_SECONDS=$${FUZZ_SECONDS:-20} $(MAKE) --no-print-directory fuzz
	@$(MAKE) --no-print-directory sanitize
	@$(MAKE) --no-print-directory test-aarch64

# The aarch64 build (NEON kernels) tested under emulation: Debian's
# gcc-aarch64-linux-gnu and qemu-user, with arm64 builds of PCRE2, utf8proc
# and jansson from multiarch (.ci/run installs them). Binaries run through
# MOTE_EXEC (tests/run.sh). Only AARCH64_TESTS run; the rest reports
# "skip". CPU seconds of each under qemu (user + sys, measured on the 2-core
# development machine; qemu runs one guest thread per host thread, so on an
# idle 2-core runner wall time is about the same): test_bench_synth 46,
# test_bench 17, test_threads 15 (the pool's 1/2/3-thread tests included),
# test_tokenizer 11, test_tokenizer_vocab 9, test_train_ops 5,
# test_types_k 5, every other test binary 2-3; cli_perplexity.sh 46,
# cli_synth_bench.sh 37, cli_run.sh 6, cli_quantize.sh 4, cli_threads.sh 3,
# kquant_ref.sh 2: about 4 minutes in all. Left out: test_quantize (4 s
# natively, but it did not finish within 900 s of wall time under qemu on
# the loaded machine, so unmeasured); finetune_cli.sh (38 s) and
# default_model.sh (18 s), too long for what they add to the kernels' and
# model's coverage here; the other tests/*.sh scripts (reference checks in
# numpy that drive the CLI through many short runs, each paying qemu's
# start-up; not measured). -fno-tree-vectorize: Debian 12's
# aarch64 GCC 12 stops with an internal compiler error
# (vect_transform_reduction) on tests/test_train_*.c; the NEON kernels are
# intrinsics and unaffected.
AARCH64_CC     ?= aarch64-linux-gnu-gcc
AARCH64_CFLAGS ?= -fno-tree-vectorize
# The arm64 loader and C library must come from one package: the arm64
# libraries the tests link (multiarch, in /lib/aarch64-linux-gnu) pull in
# Debian's libc6:arm64, whose libc.so.6 the loader finds first even under
# -L /usr/aarch64-linux-gnu (the cross toolchain's sysroot, a different
# glibc build); that loader with that libc hangs in the first
# pthread_create. So run under / when libc6:arm64's loader is there.
AARCH64_SYSROOT ?= $(if $(wildcard /lib/ld-linux-aarch64.so.1),/,/usr/aarch64-linux-gnu)
AARCH64_EXEC   ?= qemu-aarch64 -L $(AARCH64_SYSROOT)
AARCH64_TESTS  ?= test_kernels test_kernels_k test_gemm test_types test_types_k test_gguf \
  test_tokenizer test_tokenizer_vocab test_vocab_import test_vocab_train test_threads \
  test_model test_kv_cache test_logits_file test_lora test_bench test_bench_synth \
  test_train_ops test_train_model gguf_corpus.sh cli_run.sh cli_quantize.sh cli_perplexity.sh \
  cli_synth_bench.sh cli_threads.sh kquant_ref.sh
test-aarch64:
	@if ! command -v $(AARCH64_CC) >/dev/null 2>&1 || ! command -v $(firstword $(AARCH64_EXEC)) >/dev/null 2>&1; then \
	  echo "skip - test-aarch64: needs $(AARCH64_CC) and $(firstword $(AARCH64_EXEC)) (Debian: gcc-aarch64-linux-gnu qemu-user)"; \
	elif ! echo 'int main(void) { return 0; }' | $(AARCH64_CC) -x c - -o /dev/null $(LDLIBS) >/dev/null 2>&1; then \
	  echo "skip - test-aarch64: no arm64 builds of the libraries ($(LDLIBS)); Debian: dpkg --add-architecture arm64 and apt-get install libpcre2-dev:arm64 libutf8proc-dev:arm64 libjansson-dev:arm64"; \
	else \
	  MOTE_EXEC="$(AARCH64_EXEC)" MOTE_ONLY_TESTS="$(AARCH64_TESTS)" \
	    $(MAKE) --no-print-directory test BUILD=build/aarch64 CC=$(AARCH64_CC) \
	      EXTRA_CFLAGS="$(AARCH64_CFLAGS)"; \
	fi

# Weight-streaming speed of each kernel (bench/kernels.c), one thread.
$(BUILD)/bench/kernels: bench/kernels.c bench/bench_util.h $(BUILD)/libmote.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -MMD -MP $(LDFLAGS) -o $@ $< $(BUILD)/libmote.a $(LDLIBS)

bench-kernels: $(BUILD)/bench/kernels
	@$(BUILD)/bench/kernels

# Generation's matrix products alone against mote_ctx_decode (bench/tg_replay.c):
#   $(BUILD)/bench/tg_replay MODEL [THREADS] [TOKENS] [ROUNDS]
$(BUILD)/bench/tg_replay: bench/tg_replay.c bench/bench_util.h $(BUILD)/libmote.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -MMD -MP $(LDFLAGS) -o $@ $< $(BUILD)/libmote.a $(LDLIBS)

bench: all
	@sh bench/run.sh $(BUILD)

# Quantization types side by side on MODEL (default: models/mote-tiny.gguf,
# else ../shared's stories260K): see bench/quant_report.sh.
.PHONY: quant-report
quant-report: all
	@sh bench/quant_report.sh $(BUILD)

# mote's default model, models/mote-tiny.gguf (tools/default_model.sh):
# English text from Debian packages, mote vocab train, mote train with a
# fixed seed and step count, Q8_0; then held-out bits per byte (mote
# perplexity) against xz -9. About an hour of two cores.
default-model: all
	@sh tools/default_model.sh $(BUILD)

clean:
	rm -rf build

-include $(LIB_OBJ:.o=.d) $(TOOL_OBJ:.o=.d) $(TEST_BIN:=.d)
