/**
 * @file test_mix.c  The N-1 mixer, sample by sample
 *
 * Each party talks a signal of its own (a distinct value per party and
 * sample), so an exact expected frame can be computed by hand for every
 * listener: the others' voices, never its own, saturated to int16; and
 * the talk, listen, source and has_in flags each remove exactly what the
 * call model says they remove.
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
