/**
 * @file test_tmr.c  The interposed tmr_start keeps libre's timer order
 *
 * The order must be exactly libre's: sorted by due time, and among timers
 * due at the same time, the one started first fires first. Random
 * workloads of short and long timers, with cancels and restarts, are
 * checked against that rule; and a call made inside libre (tmr_cancel)
 * must land in our tmr_start, or the interposition silently stopped
 * working.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include <re.h>
#include "app/app.h"

enum { N = 4000 };

struct ent {
	struct tmr tmr;
	uint64_t seq; /* when it was (re)inserted */
};

static void never_h(void *arg)
{
	(void)arg;
}

static void check_order(const struct list *l, size_t n)
{
	const struct ent *prev = NULL;
	size_t count = 0;

	for (struct le *le = l->head; le; le = le->next) {
		const struct ent *e = le->data;

		if (prev) {
			assert_true(prev->tmr.jfs <= e->tmr.jfs);
			if (prev->tmr.jfs == e->tmr.jfs)
				assert_true(prev->seq < e->seq);
		}
		assert_ptr_equal(le->list, l);
		prev = e;
		++count;
	}
	assert_int_equal(count, n);
}

/* A mix like SIP's: many 32 s timers, 500 ms retransmissions, zeros. */
static uint64_t some_due(uint64_t now)
{
	switch (rand() % 4) {
	case 0:
		return now;
	case 1:
		return now + 500 + (uint64_t)(rand() % 3);
	case 2:
		return now + 32000;
	default:
		return now + (uint64_t)(rand() % 40000);
	}
}

static void insert_keeps_order(void **state)
{
	static struct ent ents[N];
	struct list l = LIST_INIT;
	uint64_t seq = 0, now = 1000;
	size_t in = 0;

	(void)state;
	srand(7);
	for (size_t i = 0; i < N; i++) {
		ents[i].tmr.jfs = some_due(now);
		ents[i].tmr.th = never_h;
		ents[i].seq = seq++;
		app_tmr_insert(&l, &ents[i].tmr);
		++in;
		now += (uint64_t)(rand() % 3);

		/* restart or cancel an earlier one now and then */
		if (i > 10 && rand() % 5 == 0) {
			struct ent *e = &ents[(size_t)rand() % i];

			if (!e->tmr.th)
				continue;
			list_unlink(&e->tmr.le);
			if (rand() % 2) {
				e->tmr.th = NULL;
				--in;
				continue;
			}
			e->tmr.jfs = some_due(now);
			e->seq = seq++;
			app_tmr_insert(&l, &e->tmr);
		}
	}

	check_order(&l, in);
	list_clear(&l);
}

static void edges(void **state)
{
	struct ent a = {.seq = 0}, b = {.seq = 1}, c = {.seq = 2};
	struct list l = LIST_INIT;

	(void)state;
	a.tmr.jfs = 10;
	b.tmr.jfs = 5;	/* before the head */
	c.tmr.jfs = 10; /* ties with the tail: after it */
	app_tmr_insert(&l, &a.tmr);
	app_tmr_insert(&l, &b.tmr);
	app_tmr_insert(&l, &c.tmr);
	assert_ptr_equal(l.head->data, &b);
	assert_ptr_equal(l.head->next->data, &a);
	assert_ptr_equal(l.tail->data, &c);
	list_clear(&l);
}

static void libre_calls_land_here(void **state)
{
	struct tmr t;
	uint64_t before;

	(void)state;
	assert_int_equal(libre_init(), 0);
	tmr_init(&t);
	tmr_start(&t, 1000, never_h, NULL);

	before = app_tmr_starts;
	tmr_cancel(&t); /* libre's own code, calling tmr_start inside */
	assert_true(app_tmr_starts > before);
	assert_false(tmr_isrunning(&t));

	libre_close();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(insert_keeps_order),
		cmocka_unit_test(edges),
		cmocka_unit_test(libre_calls_land_here),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
