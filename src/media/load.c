/**
 * @file load.c  How long a worker's frames take: histogram and busy share
 *
 * A worker has 20 ms for each frame; what share of that it spends working
 * is its load, and the operator's early warning before frames start late.
 * The worker times each frame with two reads of the monotonic clock (vDSO,
 * no syscall) and adds it to relaxed atomics it alone writes; once per
 * LOAD_WINDOW it publishes the busy share and the longest frame of the
 * window just ended. The control thread only reads: no lock and no
 * allocation on the frame path.
 */
#include <time.h>
#include <re.h>
#include "media/codec.h"
#include "media/jb.h"
#include "media/mix.h"
#include "media/media.h"
#include "media/priv.h"

enum {
	LOAD_WINDOW = 1000000000, /* [ns] one second */
};

/* 50 us .. 20 ms: an idle worker's frame to one that used its whole
 * period (docs/operations.md) */
const uint64_t media_frame_bounds[MEDIA_FRAME_BUCKETS] = {
	50000,	 100000,  250000,   500000,   1000000,
	2500000, 5000000, 10000000, 20000000,
};

/** [ns] the monotonic clock, for frame times */
uint64_t media_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

static unsigned bucket_of(uint64_t ns)
{
	unsigned b = 0;

	while (b < MEDIA_FRAME_BUCKETS && ns > media_frame_bounds[b])
		++b;

	return b;
}

/** One frame ran from t0 to t1 [ns, monotonic] */
void worker_load(struct worker *w, uint64_t t0, uint64_t t1)
{
	const memory_order relaxed = memory_order_relaxed;
	uint64_t ns = t1 > t0 ? t1 - t0 : 0, busy;

	atomic_fetch_add_explicit(&w->frame_hist[bucket_of(ns)], 1, relaxed);
	busy = atomic_fetch_add_explicit(&w->busy_ns, ns, relaxed) + ns;
	if (ns > w->win_max)
		w->win_max = ns;

	if (!w->win_start) {
		w->win_start = t0;
		w->win_busy = busy - ns;
	}
	if (t1 - w->win_start < LOAD_WINDOW)
		return;

	atomic_store_explicit(&w->load_ppm,
			      (unsigned)((busy - w->win_busy) * 1000000 /
					 (t1 - w->win_start)),
			      relaxed);
	atomic_store_explicit(&w->frame_max_ns, w->win_max, relaxed);
	w->win_start = t1;
	w->win_busy = busy;
	w->win_max = 0;
}
