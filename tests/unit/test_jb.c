/**
 * @file test_jb.c  The playout buffer, packet by packet and tick by tick
 *
 * Every sample a test puts is a known function of its timestamp, so each
 * frame taken out is checked sample by sample: continuity across 10, 20
 * and 30 ms packets, reordering, jitter, loss, lateness, timestamp wrap,
 * resyncs and reset. Time is simulated in samples (8 per ms); a tick
 * (jb_get) happens every 160, after the packets that arrived by then.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include <re.h>
#include "media/jb.h"

enum {
	DELAY = 480, /* the default 60 ms, in samples */
	MAXPKT = 12000,
};

struct pkt {
	uint32_t ts;
	uint32_t n;
	uint32_t at; /* arrival, in samples of simulated time */
};

static int16_t sample(uint32_t ts)
{
	/* never 0, so that 0 out means "missing" */
	return (int16_t)(((ts * 2654435761u) >> 16) | 1);
}

static void put(struct jb *jb, uint32_t ts, uint32_t n, bool marker)
{
	int16_t pcm[JB_PACKET_MAX];

	for (uint32_t i = 0; i < n; i++)
		pcm[i] = sample(ts + i);

	assert_int_equal(0, jb_put(jb, ts, pcm, n, marker));
}

static bool in_range(uint32_t ts, uint32_t lo, uint32_t hi)
{
	return (uint32_t)(ts - lo) < (uint32_t)(hi - lo);
}

/* Take the frame starting at fts; samples in [lo, hi) must be there,
 * all others must be 0. */
static void get_expect(struct jb *jb, uint32_t fts, uint32_t lo, uint32_t hi)
{
	int16_t out[JB_FRAME];
	bool any = false;

	bool got = jb_get(jb, out);

	for (uint32_t i = 0; i < JB_FRAME; i++) {
		uint32_t ts = fts + i;
		bool want = in_range(ts, lo, hi);

		assert_int_equal(want ? sample(ts) : 0, out[i]);
		any |= want;
	}
	assert_int_equal(any, got);
}

static struct jb *jb_new(void)
{
	struct jb *jb = NULL;

	assert_int_equal(0, jb_alloc(&jb, 0));
	return jb;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

static int by_arrival(const void *a, const void *b)
{
	const struct pkt *x = a, *y = b;

	if (x->at != y->at)
		return x->at < y->at ? -1 : 1;
	return x->ts < y->ts ? -1 : x->ts > y->ts; /* keep the given order */
}

/* Deliver pkts (sorted by arrival) and tick until all were played; every
 * frame must hold exactly the samples of [lo, hi). */
static void run(struct jb *jb, struct pkt *pv, size_t pc, uint32_t lo,
		uint32_t hi)
{
	uint32_t fts = 0, end = pv[pc - 1].at + 2 * JB_RING;
	bool synced = false;
	size_t k = 0;

	for (uint32_t t = 0; t <= end; t += 8) {
		for (; k < pc && pv[k].at <= t; k++) {
			if (!synced)
				fts = pv[k].ts - DELAY;
			synced = true;
			put(jb, pv[k].ts, pv[k].n, false);
		}
		if (t % JB_FRAME)
			continue;
		if (synced) {
			get_expect(jb, fts, lo, hi);
			fts += JB_FRAME;
		} else {
			int16_t out[JB_FRAME];
			assert_false(jb_get(jb, out));
		}
	}
}

/* n-sample packets from ts0, each arriving when its last sample exists */
static size_t stream(struct pkt *pv, uint32_t ts0, uint32_t n, size_t count)
{
	for (size_t k = 0; k < count; k++) {
		pv[k].ts = ts0 + (uint32_t)k * n;
		pv[k].n = n;
		pv[k].at = (uint32_t)(k + 1) * n;
	}
	return count;
}

static void in_order(uint32_t ts0, uint32_t n)
{
	static struct pkt pv[MAXPKT];
	struct jb *jb = jb_new();
	size_t pc = stream(pv, ts0, n, 300);
	const struct jb_stats *st = jb_stats(jb);

	run(jb, pv, pc, ts0, ts0 + 300 * n);

	assert_int_equal(300, st->put);
	assert_int_equal(0, st->late);
	assert_int_equal(0, st->lost);
	assert_int_equal(0, st->resyncs);
	assert_int_equal(0, st->depth_ms);
	mem_deref(jb);
}

static void test_in_order(void **state)
{
	(void)state;

	in_order(1000, 160); /* 20 ms */
	in_order(1000, 80);  /* 10 ms */
	in_order(1000, 240); /* 30 ms */
}

/* Swap neighbours, then reverse groups of three: all arrive at once
 * with the last of their group. */
static void test_reorder(void **state)
{
	static struct pkt pv[MAXPKT];
	struct pkt tmp;
	struct jb *jb = jb_new();
	size_t pc = stream(pv, 5000, 160, 300);

	(void)state;

	for (size_t k = 0; k + 1 < pc; k += 2) {
		tmp = pv[k];
		pv[k] = pv[k + 1];
		pv[k + 1] = tmp;
		pv[k].at = pv[k + 1].at =
			pv[k].at > pv[k + 1].at ? pv[k].at : pv[k + 1].at;
	}
	run(jb, pv, pc, 5000, 5000 + 300 * 160);
	assert_int_equal(0, jb_stats(jb)->late);
	assert_int_equal(0, jb_stats(jb)->lost);
	mem_deref(jb);

	jb = jb_new();
	pc = stream(pv, 5000, 80, 300);
	for (size_t k = 0; k + 2 < pc; k += 3) {
		tmp = pv[k];
		pv[k] = pv[k + 2];
		pv[k + 2] = tmp;
		pv[k + 1].at = pv[k].at; /* the group's last arrival */
		pv[k + 2].at = pv[k].at;
	}
	run(jb, pv, pc, 5000, 5000 + 300 * 80);
	assert_int_equal(0, jb_stats(jb)->late);
	assert_int_equal(0, jb_stats(jb)->lost);
	assert_int_equal(0, jb_stats(jb)->resyncs);
	mem_deref(jb);
}

/* +-40 ms of uniform jitter around each packet's due time; the first
 * packet, which the delay is measured from, arrives on time. */
static void jitter(uint32_t ts0, uint32_t n, size_t count)
{
	static struct pkt pv[MAXPKT];
	struct jb *jb = jb_new();
	const struct jb_stats *st = jb_stats(jb);

	stream(pv, ts0, n, count);
	for (size_t k = 1; k < count; k++)
		pv[k].at = pv[k].at - 320 + 8 * rnd(81);
	qsort(pv, count, sizeof(*pv), by_arrival);

	run(jb, pv, count, ts0, ts0 + (uint32_t)count * n);

	assert_int_equal(count, st->put);
	assert_int_equal(0, st->late);
	assert_int_equal(0, st->lost);
	assert_int_equal(0, st->resyncs);
	mem_deref(jb);
}

static void test_jitter(void **state)
{
	(void)state;

	rng = 42;
	jitter(123456, 160, 10000); /* 10,000 frames of 20 ms */
	jitter(123456, 80, 4000);
	jitter(0xfffff000u, 240, 4000); /* and across the wrap */
}

/* Packet 10 of 20 ms never comes: its frame is all zeros and counted;
 * half a frame missing (10 ms packets) is a hole too. */
static void test_lost(void **state)
{
	struct jb *jb = jb_new();
	const struct jb_stats *st = jb_stats(jb);
	uint32_t ts0 = 800, fts = ts0 - DELAY;

	(void)state;

	for (uint32_t k = 0; k < 20; k++) {
		if (k != 10)
			put(jb, ts0 + k * 160, 160, false);
	}
	for (uint32_t f = 0; f < 3 + 20; f++, fts += JB_FRAME) {
		uint32_t lo = ts0, hi = ts0 + 20 * 160;

		if (fts == ts0 + 10 * 160)
			get_expect(jb, fts, 0, 0);
		else
			get_expect(jb, fts, lo, hi);
	}
	assert_int_equal(1, st->lost);
	assert_int_equal(3, st->empty); /* the pre-roll */
	assert_int_equal(0, st->late);
	mem_deref(jb);

	jb = jb_new();
	st = jb_stats(jb);
	fts = ts0 - DELAY;
	for (uint32_t k = 0; k < 10; k++) {
		if (k != 5)
			put(jb, ts0 + k * 80, 80, false);
	}
	for (uint32_t f = 0; f < 3; f++, fts += JB_FRAME)
		get_expect(jb, fts, 0, 0);
	for (uint32_t f = 0; f < 3; f++, fts += JB_FRAME)
		get_expect(jb, fts, ts0, ts0 + 400); /* the third: half */
	for (uint32_t f = 0; f < 2; f++, fts += JB_FRAME)
		get_expect(jb, fts, ts0 + 480, ts0 + 800);
	get_expect(jb, fts, 0, 0);
	assert_int_equal(4, st->empty); /* pre-roll, and the end */
	mem_deref(jb);
}

/* A packet after its playout is dropped and counted; one that straddles
 * the playout point keeps its part still ahead. */
static void test_late(void **state)
{
	struct jb *jb = jb_new();
	const struct jb_stats *st = jb_stats(jb);
	uint32_t ts0 = 0, fts = ts0 - DELAY;

	(void)state;

	put(jb, ts0, 160, false);
	put(jb, ts0 + 320, 160, false);
	put(jb, ts0 + 480, 160, false);
	for (uint32_t f = 0; f < 5; f++, fts += JB_FRAME)
		get_expect(jb, fts, ts0, ts0 + 160);
	assert_int_equal(1, st->lost); /* [160, 320) before later audio */

	/* its frame was played (as zeros): too late now */
	put(jb, ts0 + 160, 160, false);
	assert_int_equal(1, st->late);
	get_expect(jb, fts, ts0 + 320, ts0 + 640);
	fts += JB_FRAME;

	/* [400, 640): 80 samples late, 160 still ahead (a duplicate) */
	put(jb, ts0 + 400, 240, false);
	assert_int_equal(2, st->late);
	get_expect(jb, fts, ts0 + 480, ts0 + 640);
	fts += JB_FRAME;
	get_expect(jb, fts, 0, 0);
	assert_int_equal(1, st->lost);
	assert_int_equal(0, st->resyncs);
	assert_int_equal(5, st->put);
	mem_deref(jb);
}

/* A sender slower than us: the buffer drains and its packets arrive
 * late, one after the other. After JB_LATE_RESYNC of them the playout
 * point moves back behind them, rather than drop them all forever. */
static void test_late_run(void **state)
{
	struct jb *jb = jb_new();
	const struct jb_stats *st = jb_stats(jb);
	uint32_t ts = 0, fts;
	int16_t out[JB_FRAME];

	(void)state;

	put(jb, ts, 160, false);
	for (int f = 0; f < 10; f++)
		(void)jb_get(jb, out);

	for (int k = 1; k < JB_LATE_RESYNC; k++)
		put(jb, ts + (uint32_t)k * 160, 160, false);
	assert_int_equal(JB_LATE_RESYNC - 1, st->late);
	assert_int_equal(0, st->resyncs);

	ts += JB_LATE_RESYNC * 160;
	put(jb, ts, 160, false);
	assert_int_equal(JB_LATE_RESYNC - 1, st->late);
	assert_int_equal(1, st->resyncs);
	put(jb, ts + 160, 160, false);

	fts = ts - DELAY;
	for (int f = 0; f < 6; f++, fts += JB_FRAME)
		get_expect(jb, fts, ts, ts + 320);
	assert_int_equal(0, st->lost);
	mem_deref(jb);
}

static void test_wrap(void **state)
{
	static struct pkt pv[MAXPKT];
	struct jb *jb = jb_new();
	uint32_t ts0 = 0xffffffffu - 1000;
	size_t pc = stream(pv, ts0, 240, 100);

	(void)state;

	run(jb, pv, pc, ts0, ts0 + 100 * 240);
	assert_int_equal(0, jb_stats(jb)->late);
	assert_int_equal(0, jb_stats(jb)->lost);
	assert_int_equal(0, jb_stats(jb)->resyncs);
	mem_deref(jb);

	/* playout starts before the wrap, audio after it */
	jb = jb_new();
	pc = stream(pv, 100, 160, 50);
	run(jb, pv, pc, 100, 100 + 50 * 160);
	assert_int_equal(0, jb_stats(jb)->lost);
	assert_int_equal(0, jb_stats(jb)->resyncs);
	mem_deref(jb);
}

/* A jump beyond the ring, forward or back, without a marker, is a new
 * timeline: resync to it with the same delay. */
static void test_jump(void **state)
{
	struct jb *jb = jb_new();
	const struct jb_stats *st = jb_stats(jb);
	uint32_t ts = 7000, fts = ts - DELAY;

	(void)state;

	for (uint32_t k = 0; k < 10; k++)
		put(jb, ts + k * 160, 160, false);
	for (int f = 0; f < 5; f++, fts += JB_FRAME)
		get_expect(jb, fts, ts, ts + 1600);

	/* forward by 10 s: the 5 frames still buffered are dropped */
	ts += 80000;
	put(jb, ts, 160, false);
	put(jb, ts + 160, 160, false);
	assert_int_equal(1, st->resyncs);
	assert_int_equal(0, st->late);
	for (fts = ts - DELAY; fts != ts + 320; fts += JB_FRAME)
		get_expect(jb, fts, ts, ts + 320);

	/* back by a minute */
	ts -= 480000;
	put(jb, ts, 160, false);
	assert_int_equal(2, st->resyncs);
	assert_int_equal(0, st->late);
	for (fts = ts - DELAY; fts != ts + 160; fts += JB_FRAME)
		get_expect(jb, fts, ts, ts + 160);
	assert_int_equal(0, st->lost);
	mem_deref(jb);
}

/* After a silence the phone's next talk spurt starts with the marker
 * bit, at a timestamp that need not fit our frame grid: the delay is
 * re-centred on it, and the silence is not loss. */
static void test_talk_spurt(void **state)
{
	struct jb *jb = jb_new();
	const struct jb_stats *st = jb_stats(jb);
	uint32_t ts = 0, fts = ts - DELAY;

	(void)state;

	put(jb, ts, 160, true);
	put(jb, ts + 160, 160, false);
	for (int f = 0; f < 50; f++, fts += JB_FRAME)
		get_expect(jb, fts, ts, ts + 320);

	ts = fts + 1037; /* ahead of the playout, off the grid */
	put(jb, ts, 160, true);
	put(jb, ts + 160, 160, false);
	assert_int_equal(1, st->resyncs);
	for (fts = ts - DELAY; fts != ts + 320; fts += JB_FRAME)
		get_expect(jb, fts, ts, ts + 320);
	assert_int_equal(0, st->lost);
	assert_int_equal(0, st->late);

	/* a marker into a non-empty buffer changes nothing */
	put(jb, ts + 320, 160, false);
	put(jb, ts + 480, 160, true);
	get_expect(jb, fts, ts + 320, ts + 640);
	assert_int_equal(1, st->resyncs);
	mem_deref(jb);
}

/* A new SSRC: forget everything; the next packet syncs afresh, even at
 * a timestamp the old stream had already played. */
static void test_reset(void **state)
{
	struct jb *jb = jb_new();
	const struct jb_stats *st = jb_stats(jb);
	uint32_t ts = 3000, fts = ts - DELAY;

	(void)state;

	for (uint32_t k = 0; k < 6; k++)
		put(jb, ts + k * 160, 160, false);
	for (int f = 0; f < 5; f++, fts += JB_FRAME)
		get_expect(jb, fts, ts, ts + 960);

	jb_reset(jb);
	assert_int_equal(0, st->depth_ms);
	get_expect(jb, 0, 0, 0); /* nothing left */

	put(jb, ts, 160, false);
	for (fts = ts - DELAY; fts != ts + 160; fts += JB_FRAME)
		get_expect(jb, fts, ts, ts + 160);
	assert_int_equal(0, st->resyncs);
	assert_int_equal(0, st->late);
	assert_int_equal(7, st->put);
	mem_deref(jb);
}

static void test_depth_and_args(void **state)
{
	struct jb *jb = NULL;
	int16_t pcm[JB_PACKET_MAX + 1] = {0};

	(void)state;

	assert_int_equal(EINVAL, jb_alloc(NULL, 0));
	assert_int_equal(EINVAL, jb_alloc(&jb, JB_DELAY_MAX + 1));
	assert_int_equal(0, jb_alloc(&jb, 100));

	assert_int_equal(EINVAL, jb_put(NULL, 0, pcm, 160, false));
	assert_int_equal(EINVAL, jb_put(jb, 0, NULL, 160, false));
	assert_int_equal(EINVAL, jb_put(jb, 0, pcm, JB_PACKET_MAX + 1, false));
	assert_int_equal(0, jb_put(jb, 0, NULL, 0, false));
	assert_int_equal(0, jb_stats(jb)->put);

	/* 100 ms delay + the 20 ms packet itself */
	put(jb, 0, 160, false);
	assert_int_equal(120, jb_stats(jb)->depth_ms);
	for (uint32_t fts = -800; fts != 160; fts += JB_FRAME)
		get_expect(jb, fts, 0, 160);
	assert_int_equal(0, jb_stats(jb)->depth_ms);

	/* the largest packet fits whatever the delay */
	assert_int_equal(0, jb_put(jb, 1000000, pcm, JB_PACKET_MAX, false));
	assert_int_equal(1, jb_stats(jb)->resyncs);
	mem_deref(jb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_order),
		cmocka_unit_test(test_reorder),
		cmocka_unit_test(test_jitter),
		cmocka_unit_test(test_lost),
		cmocka_unit_test(test_late),
		cmocka_unit_test(test_late_run),
		cmocka_unit_test(test_wrap),
		cmocka_unit_test(test_jump),
		cmocka_unit_test(test_talk_spurt),
		cmocka_unit_test(test_reset),
		cmocka_unit_test(test_depth_and_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
