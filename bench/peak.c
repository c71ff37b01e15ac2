/* The machine's peak rate of float32 multiply-add pairs (a multiply, then an add of its
 * rounded product: what a PE does) and of fused multiply-adds, on every core at once.
 *
 * Built and run by bench/peak.py: cc -O2 -march=native -ffp-contract=off -pthread.
 * Each thread runs twelve independent accumulators, acc = acc + x * w, on the widest
 * vectors the compiler was given (512, 256 or 128 bits), so the loop is bound by the vector
 * units' throughput, not by latency or memory. Prints one line:
 *     <threads> <pairs per second> <fused multiply-adds per second> <vector bits>
 */
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#if defined(__AVX512F__)
typedef __m512 vec;
#define LANES 16
#define SET _mm512_set1_ps
#define MUL _mm512_mul_ps
#define ADD _mm512_add_ps
#define FMA(a, x, w) _mm512_fmadd_ps(x, w, a)
#elif defined(__AVX__)
typedef __m256 vec;
#define LANES 8
#define SET _mm256_set1_ps
#define MUL _mm256_mul_ps
#define ADD _mm256_add_ps
#if defined(__FMA__)
#define FMA(a, x, w) _mm256_fmadd_ps(x, w, a)
#else
#define FMA(a, x, w) ADD(a, MUL(x, w))
#endif
#else
typedef __m128 vec;
#define LANES 4
#define SET _mm_set1_ps
#define MUL _mm_mul_ps
#define ADD _mm_add_ps
#define FMA(a, x, w) ADD(a, MUL(x, w))
#endif

#define ITERATIONS 20000000L
#define EACH(OP)                                                                              \
    a0 = OP(a0, x, w0); a1 = OP(a1, x, w1); a2 = OP(a2, x, w2); a3 = OP(a3, x, w3);           \
    a4 = OP(a4, x, w4); a5 = OP(a5, x, w5); a6 = OP(a6, x, w6); a7 = OP(a7, x, w7);           \
    a8 = OP(a8, x, w0); a9 = OP(a9, x, w1); a10 = OP(a10, x, w2); a11 = OP(a11, x, w3);
#define PAIR(a, x, w) ADD(a, MUL(x, w))

static float run(int fused) {
    vec a0 = SET(0), a1 = SET(1), a2 = SET(2), a3 = SET(3), a4 = SET(4), a5 = SET(5);
    vec a6 = SET(6), a7 = SET(7), a8 = SET(8), a9 = SET(9), a10 = SET(10), a11 = SET(11);
    vec x = SET(1.0f), w0 = SET(0.1f), w1 = SET(0.2f), w2 = SET(0.3f), w3 = SET(0.4f);
    vec w4 = SET(0.5f), w5 = SET(0.6f), w6 = SET(0.7f), w7 = SET(0.8f);
    for (long i = 0; i < ITERATIONS; i++) {
        if (fused) { EACH(FMA) } else { EACH(PAIR) }
        __asm__ volatile("" : "+x"(x)); /* x may change: nothing is hoisted out of the loop */
    }
    vec s = ADD(ADD(ADD(a0, a1), ADD(a2, a3)), ADD(ADD(a4, a5), ADD(a6, a7)));
    s = ADD(s, ADD(ADD(a8, a9), ADD(a10, a11)));
    float out[LANES];
    __builtin_memcpy(out, &s, sizeof out);
    return out[0];
}

static int fused_flag;
static void *worker(void *sink) { *(float *)sink = run(fused_flag); return NULL; }

static double rate(int threads, int fused) {
    pthread_t id[256];
    float sinks[256];
    struct timespec t0, t1;
    fused_flag = fused;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < threads; i++) pthread_create(&id[i], NULL, worker, &sinks[i]);
    for (int i = 0; i < threads; i++) pthread_join(id[i], NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double seconds = (t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec);
    return (double)threads * ITERATIONS * 12 * LANES / seconds;
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    if (threads < 1 || threads > 256) return 2;
    double pairs = 0, fused = 0;
    for (int round = 0; round < 3; round++) { /* the best of three */
        double p = rate(threads, 0), f = rate(threads, 1);
        pairs = p > pairs ? p : pairs;
        fused = f > fused ? f : fused;
    }
    printf("%d %.6e %.6e %d\n", threads, pairs, fused, LANES * 32);
    return 0;
}
