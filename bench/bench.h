/*
 * bench.h: the clock, ordering and memory figures every benchmark reports
 * with, so that they all measure the same way. Header only: each bench_*.c
 * is its own executable (CMakeLists.txt), with no library of its own.
 */
#ifndef PERFAGG_BENCH_BENCH_H
#define PERFAGG_BENCH_BENCH_H

#include <sys/resource.h>
#include <time.h>

/* Seconds on the monotonic clock, to the nanosecond. */
static inline double
bench_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* For qsort of latencies (doubles, ascending). */
static inline int
bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Peak resident set size of this process so far, in KiB. */
static inline long
bench_maxrss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

#endif
