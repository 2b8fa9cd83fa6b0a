/**
 * @file test_mix.c  The N-1 mixer, sample by sample
 *
 * Each party talks a signal of its own (a distinct value per party and
 * sample), so an exact expected frame can be computed by hand for every
 * listener: the others' voices, never its own, saturated to int16; and
 * the talk, listen, source and has_in flags each remove exactly what the
 * call model says they remove. At conference size (up to 32 parties) each
 * party talks a constant of its own, so a listener's whole frame is one
 * known value: the others' sum, saturated; a membership change shows in
 * every sample of the next frame or in none.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <re.h>
#include "media/mix.h"

enum {
	MAXP = 32,
	CANARY = 0x5a5a,
};

static int16_t voice(size_t party, size_t i)
{
	/* distinct per party, small enough that 32 never saturate */
	return (int16_t)((int)(party + 1) * 31 - (int)i * 3 +
			 (int)(party * i % 97));
}

/* A new tick's input, leaving its list links alone */
static void refill(struct mix_party *p, size_t idx)
{
	p->has_in = true;
	for (size_t i = 0; i < MIX_FRAME; i++) {
		p->in[i] = voice(idx, i);
		p->out[i] = CANARY;
	}
}

static void party_init(struct mix_party *p, size_t idx)
{
	memset(p, 0, sizeof(*p));
	p->talk = true;
	p->listen = true;
	p->source = MIX_SRC_MIX;
	refill(p, idx);
}

/* Everyone heard by everyone but itself: out = sum of the others. */
static void check_n_minus_1(struct mix_party *pv, size_t n, const bool *heard)
{
	for (size_t l = 0; l < n; l++) {
		for (size_t i = 0; i < MIX_FRAME; i++) {
			int32_t want = 0;

			for (size_t t = 0; t < n; t++) {
				if (t != l && heard[t])
					want += voice(t, i);
			}
			assert_int_equal(want, pv[l].out[i]);
		}
	}
}

static void n_parties(size_t n)
{
	static struct mix_party pv[MAXP];
	bool heard[MAXP];
	struct mix mix;

	mix_init(&mix);
	for (size_t k = 0; k < n; k++) {
		party_init(&pv[k], k);
		mix_add(&mix, &pv[k]);
		heard[k] = true;
	}

	mix_run(&mix);
	check_n_minus_1(pv, n, heard);

	for (size_t k = 0; k < n; k++) {
		assert_false(pv[k].has_in); /* consumed */
		mix_remove(&pv[k]);
	}
	assert_int_equal(0, list_count(&mix.partyl));
}

static void test_two(void **state)
{
	static struct mix_party a, b;
	struct mix mix;

	(void)state;

	mix_init(&mix);
	party_init(&a, 0);
	party_init(&b, 1);
	mix_add(&mix, &a);
	mix_add(&mix, &b);
	mix_run(&mix);

	/* each hears exactly the other */
	assert_memory_equal(b.in, a.out, sizeof(a.out));
	assert_memory_equal(a.in, b.out, sizeof(b.out));
}

static void test_three_and_32(void **state)
{
	(void)state;

	n_parties(3);
	n_parties(MAXP);
}

/* Two loud talkers: a third party hears the clipped sum; each of the
 * two still hears the other unclipped. */
static void test_saturation(void **state)
{
	static struct mix_party pv[3];
	struct mix mix;

	(void)state;

	mix_init(&mix);
	for (size_t k = 0; k < 3; k++) {
		party_init(&pv[k], k);
		mix_add(&mix, &pv[k]);
	}
	for (size_t i = 0; i < MIX_FRAME; i++) {
		bool pos = i & 1;

		pv[0].in[i] = pos ? 30000 : -30000;
		pv[1].in[i] = pos ? 32767 : -32768;
		pv[2].in[i] = 0;
	}

	mix_run(&mix);
	for (size_t i = 0; i < MIX_FRAME; i++) {
		bool pos = i & 1;

		assert_int_equal(pos ? 32767 : -32768, pv[2].out[i]);
		assert_int_equal(pv[1].in[i], pv[0].out[i]);
		assert_int_equal(pv[0].in[i], pv[1].out[i]);
	}
}

/* talk=false: not in the sum, but still hears everyone. */
/* A reference saturation, written apart from mix.c's */
static int16_t clip(int32_t v)
{
	return (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
}

/* One constant frame per present party; every out[] to the canary */
static void talk_const(struct mix_party *pv, const int16_t *val, const bool *in,
		       size_t n)
{
	for (size_t k = 0; k < n; k++) {
		for (size_t i = 0; i < MIX_FRAME; i++) {
			pv[k].in[i] = in[k] ? val[k] : 0;
			pv[k].out[i] = CANARY;
		}
		pv[k].has_in = in[k];
	}
}

/* Every present listener's whole frame is the others' sum, saturated */
static void check_const(const struct mix_party *pv, const int16_t *val,
			const bool *in, size_t n)
{
	for (size_t l = 0; l < n; l++) {
		int32_t want = 0;

		if (!in[l])
			continue;
		for (size_t t = 0; t < n; t++) {
			if (t != l && in[t])
				want += val[t];
		}
		for (size_t i = 0; i < MIX_FRAME; i++)
			assert_int_equal(clip(want), pv[l].out[i]);
	}
}

static void conf_start(struct mix *mix, struct mix_party *pv, bool *in,
		       size_t n)
{
	mix_init(mix);
	for (size_t k = 0; k < n; k++) {
		party_init(&pv[k], k);
		mix_add(mix, &pv[k]);
		in[k] = true;
	}
}

/* 32 parties, distinct constants of both signs: each hears the others,
 * and never itself (its own value is what separates its frame from the
 * whole sum). */
static void test_conf_32(void **state)
{
	static struct mix_party pv[MAXP];
	int16_t val[MAXP];
	bool in[MAXP];
	int32_t all = 0;
	struct mix mix;

	(void)state;

	conf_start(&mix, pv, in, MAXP);
	for (size_t k = 0; k < MAXP; k++) {
		val[k] = (int16_t)((k & 1 ? -1 : 1) * (int)(k + 1) * 101);
		all += val[k];
	}

	talk_const(pv, val, in, MAXP);
	mix_run(&mix);
	check_const(pv, val, in, MAXP);
	for (size_t k = 0; k < MAXP; k++) {
		assert_int_equal(all, pv[k].out[0] + val[k]);
		assert_int_not_equal(all, pv[k].out[0]);
	}

	/* from 3 to 32, every size mixes the same way */
	for (size_t n = 3; n <= MAXP; n++) {
		conf_start(&mix, pv, in, n);
		talk_const(pv, val, in, n);
		mix_run(&mix);
		check_const(pv, val, in, n);
	}
}

/* Membership changes between two runs take effect whole in the next
 * one: every sample of every listener's frame, none before. */
static void test_conf_join_leave(void **state)
{
	static struct mix_party pv[MAXP];
	int16_t val[MAXP];
	bool in[MAXP];
	struct mix mix;

	(void)state;

	for (size_t k = 0; k < MAXP; k++)
		val[k] = (int16_t)(((int)k + 1) * 37);

	/* 31 parties */
	conf_start(&mix, pv, in, MAXP - 1);
	in[MAXP - 1] = false;
	talk_const(pv, val, in, MAXP);
	mix_run(&mix);
	check_const(pv, val, in, MAXP);

	/* the 32nd joins: nobody's last frame changes until the next run */
	party_init(&pv[MAXP - 1], MAXP - 1);
	mix_add(&mix, &pv[MAXP - 1]);
	check_const(pv, val, in, MAXP);
	in[MAXP - 1] = true;
	talk_const(pv, val, in, MAXP);
	mix_run(&mix);
	check_const(pv, val, in, MAXP);

	/* three leave: the first, the last and one between */
	mix_remove(&pv[0]);
	mix_remove(&pv[17]);
	mix_remove(&pv[MAXP - 1]);
	in[0] = in[17] = in[MAXP - 1] = false;
	talk_const(pv, val, in, MAXP);
	mix_run(&mix);
	check_const(pv, val, in, MAXP);
	for (size_t i = 0; i < MIX_FRAME; i++) {
		/* left alone: not written by a mix it is no longer in */
		assert_int_equal(CANARY, pv[0].out[i]);
		assert_int_equal(CANARY, pv[17].out[i]);
		assert_int_equal(CANARY, pv[MAXP - 1].out[i]);
	}
}

/* Many loud parties: both ends clip, per sample, and the int32 sum keeps
 * each listener exact until the final saturation. */
static void test_conf_saturation(void **state)
{
	static struct mix_party pv[MAXP];
	int16_t val[MAXP];
	bool in[MAXP];
	struct mix mix;

	(void)state;

	/* all +20000: each hears 31 of them, clipped high */
	conf_start(&mix, pv, in, MAXP);
	for (size_t k = 0; k < MAXP; k++)
		val[k] = 20000;
	talk_const(pv, val, in, MAXP);
	mix_run(&mix);
	check_const(pv, val, in, MAXP);
	assert_int_equal(32767, pv[5].out[7]);

	/* all at the low end: clipped low */
	for (size_t k = 0; k < MAXP; k++)
		val[k] = -32768;
	talk_const(pv, val, in, MAXP);
	mix_run(&mix);
	check_const(pv, val, in, MAXP);
	assert_int_equal(-32768, pv[5].out[7]);

	/* 16 at each end: the sum is -16, far inside int16 although every
	 * partial sum on the way is not; each hears the others exactly,
	 * clipped only if that is out of range */
	for (size_t k = 0; k < MAXP; k++)
		val[k] = k < MAXP / 2 ? 32767 : -32768;
	talk_const(pv, val, in, MAXP);
	mix_run(&mix);
	check_const(pv, val, in, MAXP);
	assert_int_equal(-32768, pv[0].out[0]);	      /* -16 - 32767 */
	assert_int_equal(32752, pv[MAXP - 1].out[0]); /* -16 + 32768 */

	/* both ends in one frame: alternate signs sample by sample */
	for (size_t k = 0; k < MAXP; k++) {
		for (size_t i = 0; i < MIX_FRAME; i++)
			pv[k].in[i] = (int16_t)(i & 1 ? 25000 : -25000);
		pv[k].has_in = true;
	}
	mix_run(&mix);
	for (size_t k = 0; k < MAXP; k++) {
		for (size_t i = 0; i < MIX_FRAME; i++)
			assert_int_equal(i & 1 ? 32767 : -32768, pv[k].out[i]);
	}
}

static void test_no_talk(void **state)
{
	static struct mix_party pv[3];
	bool heard[3] = {true, false, true};
	struct mix mix;

	(void)state;

	mix_init(&mix);
	for (size_t k = 0; k < 3; k++) {
		party_init(&pv[k], k);
		mix_add(&mix, &pv[k]);
	}
	pv[1].talk = false;
	mix_run(&mix);
	check_n_minus_1(pv, 3, heard);
}

/* listen=false: still heard, but out is left alone. */
static void test_no_listen(void **state)
{
	static struct mix_party pv[3];
	struct mix mix;

	(void)state;

	mix_init(&mix);
	for (size_t k = 0; k < 3; k++) {
		party_init(&pv[k], k);
		mix_add(&mix, &pv[k]);
	}
	pv[1].listen = false;
	mix_run(&mix);

	for (size_t i = 0; i < MIX_FRAME; i++) {
		assert_int_equal((int16_t)CANARY, pv[1].out[i]);
		assert_int_equal(voice(1, i) + voice(2, i), pv[0].out[i]);
		assert_int_equal(voice(0, i) + voice(1, i), pv[2].out[i]);
	}
}

/* On music or silence: neither heard nor hearing the mix, even though
 * its talk and listen flags are set. */
static void test_music_and_silence(void **state)
{
	static struct mix_party pv[4];
	struct mix mix;

	(void)state;

	mix_init(&mix);
	for (size_t k = 0; k < 4; k++) {
		party_init(&pv[k], k);
		mix_add(&mix, &pv[k]);
	}
	pv[1].source = MIX_SRC_MUSIC;
	pv[2].source = MIX_SRC_SILENCE;
	mix_run(&mix);

	for (size_t i = 0; i < MIX_FRAME; i++) {
		assert_int_equal((int16_t)CANARY, pv[1].out[i]);
		assert_int_equal((int16_t)CANARY, pv[2].out[i]);
		assert_int_equal(voice(3, i), pv[0].out[i]);
		assert_int_equal(voice(0, i), pv[3].out[i]);
	}
}

/* No frame this tick (a lost packet, a phone that stopped sending):
 * nothing in the sum, and nothing of it taken from its own out. */
static void test_no_input(void **state)
{
	static struct mix_party pv[3];
	bool heard[3] = {true, true, false};
	struct mix mix;

	(void)state;

	mix_init(&mix);
	for (size_t k = 0; k < 3; k++) {
		party_init(&pv[k], k);
		mix_add(&mix, &pv[k]);
	}
	pv[2].has_in = false;
	mix_run(&mix);
	check_n_minus_1(pv, 3, heard);

	/* the next tick without new input: silence, not the last frame */
	mix_run(&mix);
	for (size_t k = 0; k < 3; k++) {
		for (size_t i = 0; i < MIX_FRAME; i++)
			assert_int_equal(0, pv[k].out[i]);
	}
}

static void test_add_remove(void **state)
{
	static struct mix_party pv[3];
	struct mix mix;

	(void)state;

	mix_init(&mix);
	party_init(&pv[0], 0);
	party_init(&pv[1], 1);
	mix_add(&mix, &pv[0]);
	mix_add(&mix, &pv[1]);
	mix_run(&mix);
	assert_memory_equal(pv[1].in, pv[0].out, sizeof(pv[0].out));

	/* a third joins */
	party_init(&pv[2], 2);
	mix_add(&mix, &pv[2]);
	pv[0].has_in = pv[1].has_in = true;
	mix_run(&mix);
	for (size_t i = 0; i < MIX_FRAME; i++)
		assert_int_equal(voice(1, i) + voice(2, i), pv[0].out[i]);

	/* the first leaves: the other two hear only each other */
	mix_remove(&pv[0]);
	for (size_t k = 0; k < 3; k++)
		refill(&pv[k], k);
	mix_run(&mix);
	assert_memory_equal(pv[2].in, pv[1].out, sizeof(pv[1].out));
	assert_memory_equal(pv[1].in, pv[2].out, sizeof(pv[2].out));
	for (size_t i = 0; i < MIX_FRAME; i++)
		assert_int_equal((int16_t)CANARY, pv[0].out[i]);

	/* alone: hears silence */
	mix_remove(&pv[1]);
	mix_run(&mix);
	for (size_t i = 0; i < MIX_FRAME; i++)
		assert_int_equal(0, pv[2].out[i]);
	mix_remove(&pv[2]);
	mix_remove(&pv[2]); /* twice is harmless */
	assert_int_equal(0, list_count(&mix.partyl));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two),
		cmocka_unit_test(test_three_and_32),
		cmocka_unit_test(test_saturation),
		cmocka_unit_test(test_no_talk),
		cmocka_unit_test(test_no_listen),
		cmocka_unit_test(test_music_and_silence),
		cmocka_unit_test(test_no_input),
		cmocka_unit_test(test_add_remove),
		cmocka_unit_test(test_conf_32),
		cmocka_unit_test(test_conf_join_leave),
		cmocka_unit_test(test_conf_saturation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
