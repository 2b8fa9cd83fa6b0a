/**
 * @file stats.c  The process's counters and the server's life times
 *
 * Counting is one relaxed atomic add: the order between two counters
 * does not matter to a scrape, only that each is exact and never goes
 * back.
 */
#include <time.h>
#include <re.h>
#include "stats/stats.h"
#include "stats/priv.h"

static struct stats_counters counters;
static struct stats_life life;

const struct stats_counters *stats_counters(void)
{
	return &counters;
}

struct stats_counters *stats_mut(void)
{
	return &counters;
}

const struct stats_life *stats_life(void)
{
	return &life;
}

void stats_count(stats_counter *c)
{
	atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

/** At start, once the configuration is loaded */
void stats_started(void)
{
	life.started = (uint64_t)time(NULL);
	life.started_mono = tmr_jiffies();
	life.loaded = life.started;
	life.reloaded = 0;
	life.reload_failed = false;
}

/** A reload was tried: swapped in (ok) or rejected */
void stats_reloaded(bool ok)
{
	life.reloaded = (uint64_t)time(NULL);
	life.reload_failed = !ok;
	if (ok)
		life.loaded = life.reloaded;
	stats_count(ok ? &counters.reloads_ok : &counters.reloads_failed);
}

void stats_listen_disconnect(void)
{
	stats_count(&counters.listen_disconnects);
}

void stats_listen_reconnect(enum stats_reconnect why)
{
	if (why < STATS_RECONNECTS)
		stats_count(&counters.listen_reconnects[why]);
}
