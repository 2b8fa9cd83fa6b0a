/**
 * @file test_binding.c  The binding store, with time moved by hand
 *
 * Pins down RFC 3261 10.3 as the registrar applies it: several contacts
 * per DN, refresh, removal by Expires 0 and by "*", expiry exactly at its
 * time, out-of-order CSeq refused without changing anything, the per-DN
 * limit, and a reload dropping DNs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <re.h>
#include "reg/reg.h"

static struct reg_request req(const char *dn, const char *callid, uint32_t cseq)
{
	struct reg_request rq;

	memset(&rq, 0, sizeof(rq));
	rq.dn = dn;
	pl_set_str(&rq.callid, callid);
	rq.cseq = cseq;
	return rq;
}

static struct reg_contact contact(const char *uri, uint32_t expires)
{
	struct reg_contact c;

	pl_set_str(&c.uri, uri);
	c.expires = expires;
	return c;
}

static int setup(void **state)
{
	struct reg_bindings *bs = NULL;

	assert_int_equal(0, reg_bindings_alloc(&bs));
	*state = bs;
	return 0;
}

static int teardown(void **state)
{
	mem_deref(*state);
	return 0;
}

static void add_one(struct reg_bindings *bs, const char *dn, const char *uri,
		    uint32_t expires, uint32_t cseq, uint64_t now)
{
	struct reg_request rq = req(dn, "call-1", cseq);
	struct reg_contact c = contact(uri, expires);

	assert_int_equal(0, reg_bindings_update(bs, &rq, &c, 1, now));
}

static void test_add_and_expire(void **state)
{
	struct reg_bindings *bs = *state;

	add_one(bs, "1001", "sip:a@127.0.0.1:5070", 60, 1, 1000);
	assert_int_equal(1, reg_bindings_count(bs, "1001", 1000));
	assert_int_equal(0, reg_bindings_count(bs, "1002", 1000));

	/* still there 1 ms before its time, gone at its time */
	assert_int_equal(1, reg_bindings_count(bs, "1001", 60999));
	assert_int_equal(0, reg_bindings_count(bs, "1001", 61000));

	/* invisible before the sweep, removed by it */
	assert_int_equal(0, reg_bindings_expire(bs, 60999, NULL, NULL));
	assert_int_equal(1, reg_bindings_expire(bs, 61000, NULL, NULL));
	assert_int_equal(0, reg_bindings_expire(bs, 61000, NULL, NULL));
}

static void test_refresh_extends(void **state)
{
	struct reg_bindings *bs = *state;

	add_one(bs, "1001", "sip:a@127.0.0.1:5070", 10, 1, 0);
	add_one(bs, "1001", "sip:a@127.0.0.1:5070", 10, 2, 8000);
	assert_int_equal(1, reg_bindings_count(bs, "1001", 8000));
	assert_int_equal(1, reg_bindings_count(bs, "1001", 17999));
	assert_int_equal(0, reg_bindings_count(bs, "1001", 18000));
}

static void test_several_contacts(void **state)
{
	struct reg_bindings *bs = *state;
	struct reg_request rq = req("1001", "call-1", 1);
	struct reg_contact cv[2] = {contact("sip:a@127.0.0.1:5070", 60),
				    contact("sip:b@127.0.0.1:5072", 30)};

	assert_int_equal(0, reg_bindings_update(bs, &rq, cv, 2, 0));
	assert_int_equal(2, reg_bindings_count(bs, "1001", 0));
	assert_int_equal(1, reg_bindings_count(bs, "1001", 30000));

	/* Expires 0 removes just that contact */
	rq.cseq = 2;
	cv[0].expires = 0;
	assert_int_equal(0, reg_bindings_update(bs, &rq, cv, 1, 1000));
	assert_int_equal(1, reg_bindings_count(bs, "1001", 1000));
}

static void test_star_clears(void **state)
{
	struct reg_bindings *bs = *state;
	struct reg_request rq = req("1001", "other", 1);

	add_one(bs, "1001", "sip:a@127.0.0.1:5070", 60, 1, 0);
	add_one(bs, "1001", "sip:b@127.0.0.1:5072", 60, 2, 0);
	add_one(bs, "1002", "sip:c@127.0.0.1:5074", 60, 1, 0);

	assert_int_equal(0, reg_bindings_clear(bs, &rq, 0));
	assert_int_equal(0, reg_bindings_count(bs, "1001", 0));
	assert_int_equal(1, reg_bindings_count(bs, "1002", 0));
}

static void test_out_of_order_changes_nothing(void **state)
{
	struct reg_bindings *bs = *state;
	struct reg_request rq = req("1001", "call-1", 5);
	struct reg_contact cv[2] = {contact("sip:new@127.0.0.1:5090", 60),
				    contact("sip:a@127.0.0.1:5070", 0)};

	add_one(bs, "1001", "sip:a@127.0.0.1:5070", 60, 5, 0);

	/* same Call-ID, CSeq not above 5: refused, and the new contact in
	 * the same request is not added either */
	assert_int_equal(EALREADY, reg_bindings_update(bs, &rq, cv, 2, 10));
	assert_int_equal(1, reg_bindings_count(bs, "1001", 10));
	assert_int_equal(EALREADY, reg_bindings_clear(bs, &rq, 10));
	assert_int_equal(1, reg_bindings_count(bs, "1001", 10));

	/* another Call-ID (the phone restarted) may have any CSeq */
	rq = req("1001", "call-2", 1);
	assert_int_equal(0, reg_bindings_update(bs, &rq, cv, 2, 10));
	assert_int_equal(1, reg_bindings_count(bs, "1001", 10));
}

static void test_limit(void **state)
{
	struct reg_bindings *bs = *state;
	struct reg_request rq = req("1001", "call-1", 1);
	struct reg_contact c;
	char uri[64];

	for (uint32_t i = 0; i < REG_MAX_BINDINGS; i++) {
		re_snprintf(uri, sizeof(uri), "sip:p%u@127.0.0.1", i);
		add_one(bs, "1001", uri, 60, i + 1, 0);
	}

	c = contact("sip:one-too-many@127.0.0.1", 60);
	rq.cseq = 100;
	assert_int_equal(ENOSPC, reg_bindings_update(bs, &rq, &c, 1, 0));
	assert_int_equal(REG_MAX_BINDINGS, reg_bindings_count(bs, "1001", 0));

	/* an expired binding does not count */
	assert_int_equal(0, reg_bindings_update(bs, &rq, &c, 1, 60000));
}

static void expired_h(const char *dn, const struct reg_binding *b, void *arg)
{
	unsigned *n = arg;

	assert_string_equal("1001", dn);
	assert_string_equal("sip:a@127.0.0.1:5070", b->uri);
	++*n;
}

static void test_expire_reports(void **state)
{
	struct reg_bindings *bs = *state;
	unsigned n = 0;

	add_one(bs, "1001", "sip:a@127.0.0.1:5070", 1, 1, 0);
	add_one(bs, "1002", "sip:b@127.0.0.1:5072", 5, 1, 0);
	assert_int_equal(1, reg_bindings_expire(bs, 1000, expired_h, &n));
	assert_int_equal(1, n);
	assert_int_equal(1, reg_bindings_count(bs, "1002", 1000));
}

static bool keep_1002(const char *dn, void *arg)
{
	(void)arg;
	return 0 == strcmp(dn, "1002");
}

static void test_retain(void **state)
{
	struct reg_bindings *bs = *state;

	add_one(bs, "1001", "sip:a@127.0.0.1:5070", 60, 1, 0);
	add_one(bs, "1001", "sip:b@127.0.0.1:5071", 60, 2, 0);
	add_one(bs, "1002", "sip:c@127.0.0.1:5072", 60, 1, 0);
	assert_int_equal(2, reg_bindings_retain(bs, keep_1002, NULL));
	assert_int_equal(0, reg_bindings_count(bs, "1001", 0));
	assert_int_equal(1, reg_bindings_count(bs, "1002", 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_add_and_expire, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_refresh_extends, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_several_contacts, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_star_clears, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_out_of_order_changes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expire_reports, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_retain, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
