/**
 * @file test_call.c  The call model's basic call: the exact sequence of
 * leg commands, CTI events and media changes for each input
 *
 * Every output is recorded as one line of text, so a test reads as the
 * ladder it pins down.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <re.h>
#include "call/call.h"

static char out[4096];

static void add(const char *fmt, ...)
{
	size_t len = strlen(out);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out + len, sizeof(out) - len, fmt, ap);
	va_end(ap);
	strncat(out, "\n", sizeof(out) - strlen(out) - 1);
}

static void leg_h(const struct call_leg_cmd *cmd, void *arg)
{
	static const char *const ops[] = {"alert", "progress", "answer",
					  "reject", "hangup"};
	(void)arg;

	if (cmd->op == CALL_LEG_ALERT)
		add("leg alert p%u %s", cmd->party, cmd->target);
	else if (cmd->scode)
		add("leg %s p%u %u", ops[cmd->op], cmd->party, cmd->scode);
	else
		add("leg %s p%u", ops[cmd->op], cmd->party);
}

static void media_h(const struct call_media_cmd *cmd, void *arg)
{
	static const char *const src[] = {"none", "mix", "music", "silence"};
	(void)arg;

	if (cmd->remove)
		add("media p%u remove", cmd->party);
	else
		add("media p%u talk=%d listen=%d %s%s%s", cmd->party, cmd->talk,
		    cmd->listen, src[cmd->source], cmd->music ? " " : "",
		    cmd->music ? cmd->music : "");
}

static void event_h(const struct call_event *ev, void *arg)
{
	static const char *const names[] = {"Dialing",	   "Ringing",
					    "Established", "Released",
					    "Held",	   "Retrieved"};


	char cause[16] = "";
	(void)arg;

	if (ev->cause)
		snprintf(cause, sizeof(cause), " cause=%u", ev->cause);
	add("ev %s %s(%s) other=%s%s", names[ev->type], ev->this_dn,
	    ev->this_role, ev->other_dn ? ev->other_dn : "-", cause);
}


static void uuid_h(char *buf, size_t sz, void *arg)
{
	(void)arg;
	snprintf(buf, sz, "00000000-0000-4000-8000-000000000001");
}

static const struct call_env env = {leg_h, media_h, event_h, uuid_h, NULL};

static const struct call_endpoint ext1001 = {"1001", false, NULL, "Home", true};
static const struct call_endpoint ext1002 = {"1002", false, NULL, "Home", true};
static const struct call_endpoint gw = {"5551234", true, "gw", "PSTN", false};

static int setup(void **state)
{
	struct call_model *m = NULL;
	const struct call_settings s = {"/moh"};

	out[0] = '\0';
	assert_int_equal(0, call_model_alloc(&m, &env, 0x1000));
	call_model_settings(m, &s);
	*state = m;
	return 0;
}

static int teardown(void **state)
{
	mem_deref(*state);
	return 0;
}

/* compare and clear */
static void expect(const char *want)
{
	if (strcmp(want, out))
		print_error("got:\n%s\nwant:\n%s", out, want);
	assert_string_equal(want, out);
	out[0] = '\0';
}

static void originate(struct call_model *m, uint32_t *a, uint32_t *b)
{
	assert_int_equal(
		0, call_originate(m, a, b, &ext1001, &ext1002, CALL_INTERNAL));
	assert_int_equal(1, *a);
	assert_int_equal(2, *b);
}

static void test_basic_call(void **state)
{
	struct call_model *m = *state;
	const struct call *call;
	uint32_t a, b;

	originate(m, &a, &b);
	expect("leg alert p2 1002\n"
	       "ev Dialing 1001(Origination) other=1002\n"
	       "media p1 talk=0 listen=0 none\n"
	       "media p2 talk=0 listen=0 none\n");

	call = call_of_party(m, a);
	assert_int_equal(0x1000, call_connid(call));
	assert_ptr_equal(call, call_find(m, 0x1000));
	assert_int_equal(CALL_INTERNAL, call_type(call));

	assert_int_equal(0, call_party_progress(m, b, false));
	expect("leg progress p1 180\n"
	       "ev Ringing 1002(Destination) other=1001\n");

	/* a second 180 is relayed, but rings no second time */
	assert_int_equal(0, call_party_progress(m, b, false));
	expect("leg progress p1 180\n");

	assert_int_equal(0, call_party_answered(m, b));
	expect("leg answer p1 200\n"
	       "ev Established 1002(Destination) other=1001\n"
	       "ev Established 1001(Origination) other=1002\n"
	       "media p1 talk=1 listen=1 mix\n"
	       "media p2 talk=1 listen=1 mix\n");

	assert_int_equal(EPROTO, call_party_answered(m, b));
	assert_string_equal("", out);

	assert_int_equal(0, call_party_hangup(m, b));
	expect("leg hangup p1\n"
	       "ev Released 1002(Destination) other=1001\n"
	       "ev Released 1001(Origination) other=1002\n"
	       "media p1 remove\n"
	       "media p2 remove\n");
	assert_int_equal(0, call_model_count(m));
	assert_int_equal(0, call_model_parties(m));
	assert_null(call_find(m, 0x1000));
	assert_int_equal(ENOENT, call_party_hangup(m, a));
}

static void test_busy(void **state)
{
	struct call_model *m = *state;
	uint32_t a, b;

	originate(m, &a, &b);
	out[0] = '\0';
	assert_int_equal(0, call_party_failed(m, b, 486));
	expect("leg reject p1 486\n"
	       "ev Released 1001(Origination) other=1002 cause=486\n"
	       "media p1 remove\n"
	       "media p2 remove\n");
	assert_int_equal(0, call_model_count(m));
}

static void test_cancel_while_ringing(void **state)
{
	struct call_model *m = *state;
	uint32_t a, b;

	originate(m, &a, &b);
	assert_int_equal(0, call_party_progress(m, b, false));
	out[0] = '\0';
	assert_int_equal(0, call_party_hangup(m, a));
	expect("leg hangup p2\n"
	       "ev Released 1001(Origination) other=1002\n"
	       "ev Released 1002(Destination) other=1001\n"
	       "media p1 remove\n"
	       "media p2 remove\n");
}

static void test_early_media(void **state)
{
	struct call_model *m = *state;
	uint32_t a, b;

	originate(m, &a, &b);
	out[0] = '\0';
	assert_int_equal(0, call_party_progress(m, b, true));
	expect("leg progress p1 183\n"
	       "ev Ringing 1002(Destination) other=1001\n"
	       "media p1 talk=0 listen=1 mix\n"
	       "media p2 talk=1 listen=0 none\n");
	assert_int_equal(0, call_party_answered(m, b));
	expect("leg answer p1 200\n"
	       "ev Established 1002(Destination) other=1001\n"
	       "ev Established 1001(Origination) other=1002\n"
	       "media p1 talk=1 listen=1 mix\n"
	       "media p2 talk=1 listen=1 mix\n");
}

static void test_hold_music(void **state)
{
	struct call_model *m = *state;
	uint32_t a, b;
	enum call_party_state st;

	originate(m, &a, &b);
	call_party_answered(m, b);
	out[0] = '\0';

	/* 1001 holds: it is not heard, and 1002, alone, hears the music */
	assert_int_equal(0, call_party_hold(m, a, true, NULL));
	expect("ev Held 1001(Origination) other=1002\n"
	       "media p1 talk=0 listen=0 music /moh\n"
	       "media p2 talk=0 listen=0 music /moh\n");
	assert_int_equal(0, call_party_state(m, a, &st));
	assert_int_equal(PARTY_HELD, st);

	assert_int_equal(EALREADY, call_party_hold(m, a, true, NULL));
	assert_int_equal(EALREADY, call_party_hold(m, b, false, NULL));
	assert_string_equal("", out);

	assert_int_equal(0, call_party_hold(m, a, false, NULL));
	expect("ev Retrieved 1001(Origination) other=1002\n"
	       "media p1 talk=1 listen=1 mix\n"
	       "media p2 talk=1 listen=1 mix\n");
}

static void test_hold_no_moh_trunk(void **state)
{
	struct call_model *m = *state;
	uint32_t a, b;

	assert_int_equal(
		0, call_originate(m, &a, &b, &ext1001, &gw, CALL_OUTBOUND));
	call_party_answered(m, b);
	out[0] = '\0';

	/* no events for the external party; it hears silence, not music */
	assert_int_equal(0, call_party_hold(m, a, true, NULL));
	expect("ev Held 1001(Origination) other=5551234\n"
	       "media p1 talk=0 listen=0 music /moh\n"
	       "media p2 talk=0 listen=0 silence\n");
}

static void test_connids_unique(void **state)
{
	struct call_model *m = *state;
	uint32_t a, b, c, d;

	originate(m, &a, &b);
	assert_int_equal(0, call_party_hangup(m, a));
	assert_int_equal(0, call_originate(m, &c, &d, &ext1001, &ext1002,
					   CALL_INTERNAL));
	assert_int_equal(0x1001, call_connid(call_of_party(m, c)));
	assert_true(c > b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_basic_call, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_busy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_while_ringing,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_early_media, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_hold_music, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_hold_no_moh_trunk, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_connids_unique, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
