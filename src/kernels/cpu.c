/* cpu.c — run-time CPU feature detection (CPUID + XGETBV on x86-64,
 * getauxval on aarch64) and the choice of kernel level, lowered by the
 * MOTE_ISA environment variable. See cpu.h. Not here: the kernels or the
 * tables that use the choice (dispatch.c). */
#include "cpu.h"
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>
#elif defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMD
#define HWCAP_ASIMD (1UL << 1)
#endif
#ifndef HWCAP_FPHP
#define HWCAP_FPHP (1UL << 9)
#endif
#ifndef HWCAP_ASIMDHP
#define HWCAP_ASIMDHP (1UL << 10)
#endif
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1UL << 20)
#endif
#endif

static mote_cpu_features g_features;
static mote_isa g_active;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

#if defined(__x86_64__)
/* XCR0: which register states the OS saves on a context switch. Only called
 * when CPUID says OSXSAVE, so the instruction exists. */
static uint64_t read_xcr0(void) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (uint64_t)hi << 32 | lo;
}

/* CPUID leaf 1 ECX: FMA bit 12, OSXSAVE 27, AVX 28, F16C 29. Leaf 7.0 EBX:
 * AVX2 bit 5, AVX512F 16, AVX512BW 30, AVX512VL 31; ECX: AVX512_VBMI 1,
 * AVX512_VNNI 11.
 * Leaf 7.1 EAX: AVX-VNNI 4.
 * XCR0 bits 1|2 = SSE and AVX state; bits 5..7 = AVX-512 state. */
static void detect(mote_cpu_features *f) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return;
    const bool osxsave = c >> 27 & 1, avx = c >> 28 & 1;
    const bool fma = c >> 12 & 1, f16c = c >> 29 & 1;
    if (!osxsave || !avx) return;
    const uint64_t xcr0 = read_xcr0();
    if ((xcr0 & 6) != 6) return; /* OS does not save YMM: no AVX at all */
    const bool zmm = (xcr0 & 0xe0) == 0xe0;
    unsigned max_leaf = __get_cpuid_max(0, NULL);
    if (max_leaf >= 7) {
        __cpuid_count(7, 0, a, b, c, d);
        f->avx2 = b >> 5 & 1;
        f->avx512f = zmm && (b >> 16 & 1);
        f->avx512_vnni = f->avx512f && (c >> 11 & 1);
        f->avx512bw = f->avx512f && (b >> 30 & 1);
        f->avx512vl = f->avx512f && (b >> 31 & 1);
        f->avx512vbmi = f->avx512f && (c >> 1 & 1);
        unsigned sub_max = a;
        if (sub_max >= 1) {
            __cpuid_count(7, 1, a, b, c, d);
            f->avx_vnni = f->avx2 && (a >> 4 & 1);
        }
    }
    f->fma = fma;
    f->f16c = f16c;
}
#elif defined(__aarch64__) && defined(__linux__)
static void detect(mote_cpu_features *f) {
    unsigned long hw = getauxval(AT_HWCAP);
    f->neon = (hw & HWCAP_ASIMD) != 0;
    f->dotprod = (hw & HWCAP_ASIMDDP) != 0;
    f->fp16 = (hw & HWCAP_FPHP) && (hw & HWCAP_ASIMDHP);
}
#else
static void detect(mote_cpu_features *f) { (void)f; }
#endif

static bool supported(mote_isa isa) {
    switch (isa) {
    case MOTE_ISA_SCALAR: return true;
#if defined(__x86_64__)
    case MOTE_ISA_AVX2: return g_features.avx2 && g_features.fma && g_features.f16c;
#endif
#if defined(__aarch64__)
    /* The arm kernels are built for armv8.2-a+dotprod+fp16; fp16 here only
     * means conversions, which every ASIMD has, so dotprod decides. */
    case MOTE_ISA_NEON: return g_features.neon && g_features.dotprod;
#endif
    default: return false;
    }
}

/* The best supported level, lowered to the one `env` names when that one
 * is supported and not higher. Needs detect() done. */
static mote_isa choose(const char *env) {
    mote_isa best = MOTE_ISA_SCALAR;
    for (int i = MOTE_ISA_COUNT - 1; i > 0; i--)
        if (supported((mote_isa)i)) {
            best = (mote_isa)i;
            break;
        }
    if (env && *env)
        for (int i = 0; i < (int)best; i++)
            if (strcmp(env, mote__isa_name((mote_isa)i)) == 0 && supported((mote_isa)i))
                return (mote_isa)i;
    return best;
}

static void init(void) {
    detect(&g_features);
    g_active = choose(getenv("MOTE_ISA"));
}

mote_isa mote__isa_choose(const char *env) {
    pthread_once(&g_once, init);
    return choose(env);
}

const mote_cpu_features *mote__cpu_features(void) {
    pthread_once(&g_once, init);
    return &g_features;
}

bool mote__isa_supported(mote_isa isa) {
    pthread_once(&g_once, init);
    return supported(isa);
}

mote_isa mote__isa_active(void) {
    pthread_once(&g_once, init);
    return g_active;
}

const char *mote__isa_name(mote_isa isa) {
    static const char *names[MOTE_ISA_COUNT] = {"scalar", "avx2", "neon"};
    return (unsigned)isa < MOTE_ISA_COUNT ? names[isa] : "unknown";
}
