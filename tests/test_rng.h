/* test_rng.h — the kernel and type tests' reproducible random numbers:
 * xorshift64* (rng_u64) and uniform floats in [-1, 1) (rng_f), from one
 * global state g_rng that a test may reseed at any point. The initial seed
 * is TEST_RNG_SEED, which a test defines before including this header to
 * keep its own input sequence. Included once per test binary. */
#ifndef MOTE_TEST_RNG_H
#define MOTE_TEST_RNG_H

#include <stdint.h>

#ifndef TEST_RNG_SEED
#define TEST_RNG_SEED 0x9E3779B97F4A7C15ull
#endif

static uint64_t g_rng = TEST_RNG_SEED;

/* The next 64 random bits (xorshift64*). */
static inline uint64_t rng_u64(void) {
    g_rng ^= g_rng >> 12;
    g_rng ^= g_rng << 25;
    g_rng ^= g_rng >> 27;
    return g_rng * 2685821657736338717ull;
}

/* Uniform in [-1, 1). */
static inline float rng_f(void) { return (float)((double)(rng_u64() >> 11) * 0x1p-52 - 1.0); }

#endif
