/* The clocks forktrace reads, in the units it uses: one home for the arithmetic. */
#ifndef FT_CLOCK_H
#define FT_CLOCK_H

#include <stdint.h>
#include <time.h>

/* clk's time in nanoseconds. */
static inline uint64_t clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* CLOCK_MONOTONIC in ns: durations and deadlines, immune to clock steps. */
static inline uint64_t mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

/* CLOCK_MONOTONIC in ms. */
static inline uint64_t mono_ms(void)
{
	return mono_ns() / 1000000;
}

/* CLOCK_REALTIME in ns: the time an event carries. */
static inline uint64_t realtime_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}

#endif /* FT_CLOCK_H */
