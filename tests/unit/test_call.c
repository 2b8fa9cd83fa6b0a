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

static char out[16384];
static const struct call_model *call_model_of_test;

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
	static const char *const ops[] = {"alert",  "progress", "answer",
					  "reject", "hangup",	"parties",
					  "request"};
	(void)arg;

	if (cmd->op == CALL_LEG_REQUEST)
		add("leg request p%u %s %s by %s", cmd->party,
		    cmd->disconnect ? "disconnect" : "reconnect", cmd->other,
		    cmd->by);
	else if (cmd->op == CALL_LEG_ALERT)
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

	char in[24] = "";

	/* the first call is 1000; any other call is named */
	if (cmd->connid != 0x1000)
		snprintf(in, sizeof(in), "@%llx",
			 (unsigned long long)cmd->connid);
	if (cmd->remove)
		add("media p%u%s remove", cmd->party, in);
	else
		add("media p%u%s talk=%d listen=%d %s%s%s", cmd->party, in,
		    cmd->talk, cmd->listen, src[cmd->source],
		    cmd->music ? " " : "", cmd->music ? cmd->music : "");
}

static void party_h(const struct call_party_info *pi, void *arg)
{
	char *buf = arg;
	size_t len = strlen(buf);

	snprintf(buf + len, 256 - len, " %s%s%s", pi->name,
		 pi->state == PARTY_ESTABLISHED ? "" : ":",
		 pi->state == PARTY_ESTABLISHED
			 ? ""
			 : call_party_state_name(pi->state));
}

/* The LCTParty view: every party of the call, with a state unless plain */
static const char *parties(const struct call *call)
{
	static char buf[256];

	buf[0] = '\0';
	(void)call_parties_all(call_model_of_test, call_connid(call), 0,
			       party_h, buf);
	return buf;
}

static void event_h(const struct call_event *ev, void *arg)
{
	static const char *const names[] = {
		"Dialing",	     "Ringing",	     "Established",
		"Released",	     "Held",	     "Retrieved",
		"PartyAdded",	     "PartyChanged", "PartyDeleted",
		"Parties",	     "AddFailed",    "ListenDisconnected",
		"ListenReconnected", "SiteFailed"};
	char more[160] = "";
	size_t n;
	(void)arg;

	if (ev->type == CALL_EV_PARTIES) {
		add("ev Parties %s%s", ev->this_dn, parties(ev->call));
		return;
	}
	if (ev->other_dn && ev->third_dn && ev->other_role)
		snprintf(more, sizeof(more), "(%s)", ev->other_role);
	if (ev->third_dn) {
		n = strlen(more);
		snprintf(more + n, sizeof(more) - n, " third=%s%s%s%s",
			 ev->third_dn, ev->third_role ? "(" : "",
			 ev->third_role ? ev->third_role : "",
			 ev->third_role ? ")" : "");
	}
	if (ev->call_state) {
		n = strlen(more);
		snprintf(more + n, sizeof(more) - n, " state=%s",
			 ev->call_state);
	}
	if (ev->prev_connid) {
		n = strlen(more);
		snprintf(more + n, sizeof(more) - n, " prev=%llx",
			 (unsigned long long)ev->prev_connid);
	}
	if (ev->cause) {
		n = strlen(more);
		snprintf(more + n, sizeof(more) - n, " cause=%u", ev->cause);
	}
	if (ev->reason) {
		n = strlen(more);
		snprintf(more + n, sizeof(more) - n, " reason=%s", ev->reason);
	}
	if (ev->err) {
		n = strlen(more);
		snprintf(more + n, sizeof(more) - n, " err=%d why=%s", ev->err,
			 ev->why);
	}
	add("ev %s %s(%s) other=%s%s", names[ev->type], ev->this_dn,
	    ev->this_role, ev->other_dn ? ev->other_dn : "-", more);
}

static void uuid_h(char *buf, size_t sz, void *arg)
{
	(void)arg;
	snprintf(buf, sz, "00000000-0000-4000-8000-000000000001");
}

static const struct call_env env = {leg_h, media_h, event_h, uuid_h, NULL};

static const struct call_endpoint ext1001 = {"1001", false, NULL,
					     "Home", true,  false};
static const struct call_endpoint ext1002 = {"1002", false, NULL,
					     "Home", true,  false};
static const struct call_endpoint ext1003 = {"1003", false, NULL,
					     "Home", true,  false};
static const struct call_endpoint ext1004 = {"1004", false, NULL,
					     "Home", true,  false};
static const struct call_endpoint gw = {"5551234", true,  "gw",
					"PSTN",	   false, false};

static int setup(void **state)
{
	struct call_model *m = NULL;
	const struct call_settings s = {"/moh"};

	out[0] = '\0';
	assert_int_equal(0, call_model_alloc(&m, &env, 0x1000));
	call_model_settings(m, &s);
	call_model_of_test = m;
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
	       "media p2 talk=1 listen=1 mix\n"
	       "ev Parties 1001 1001 1002\n"
	       "ev Parties 1002 1001 1002\n");

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
	       "media p2 talk=1 listen=1 mix\n"
	       "ev Parties 1001 1001 1002\n"
	       "ev Parties 1002 1001 1002\n");
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
	       "media p2 talk=0 listen=0 music /moh\n"
	       "ev Parties 1001 1001:Held 1002\n"
	       "ev Parties 1002 1001:Held 1002\n");
	assert_int_equal(0, call_party_state(m, a, &st));
	assert_int_equal(PARTY_HELD, st);

	assert_int_equal(EALREADY, call_party_hold(m, a, true, NULL));
	assert_int_equal(EALREADY, call_party_hold(m, b, false, NULL));
	assert_string_equal("", out);

	assert_int_equal(0, call_party_hold(m, a, false, NULL));
	expect("ev Retrieved 1001(Origination) other=1002\n"
	       "media p1 talk=1 listen=1 mix\n"
	       "media p2 talk=1 listen=1 mix\n"
	       "ev Parties 1001 1001 1002\n"
	       "ev Parties 1002 1001 1002\n");
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
	       "media p2 talk=0 listen=0 silence\n"
	       "ev Parties 1001 1001:Held 5551234\n");
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

/* 1001 and 1002 talking (the first time: p1 and p2 in call 1000) */
static void connected(struct call_model *m)
{
	uint32_t a, b;

	assert_int_equal(0, call_originate(m, &a, &b, &ext1001, &ext1002,
					   CALL_INTERNAL));
	assert_int_equal(0, call_party_answered(m, b));
	out[0] = '\0';
}

static uint32_t party_of(struct call_model *m, uint64_t connid, const char *dn)
{
	uint32_t p = 0;

	assert_int_equal(0, call_party_find(m, connid, dn, &p));
	return p;
}

static void test_consult_conference(void **state)
{
	struct call_model *m = *state;
	char why[160];
	uint64_t c2 = 0;

	connected(m);
	/* 1001 consults 1003: 1002 hears music, 1003 rings */
	assert_int_equal(0, call_initiate_conference(m, 1, &ext1003, &c2, why,
						     sizeof(why)));
	assert_int_equal(0x1001, c2);
	expect("ev Held 1001(Origination) other=1002\n"
	       "leg alert p4 1003\n"
	       "ev Dialing 1001(Origination) other=1003\n"
	       "media p2 talk=0 listen=0 music /moh\n"
	       "media p1@1001 talk=0 listen=0 none\n"
	       "media p4@1001 talk=0 listen=0 none\n"
	       "ev Parties 1001 1001:Held 1002\n"
	       "ev Parties 1002 1001:Held 1002\n");
	assert_int_equal(0, call_party_progress(m, 4, false));
	expect("ev Ringing 1003(Destination) other=1001\n");
	assert_int_equal(0, call_party_answered(m, 4));
	expect("ev Established 1003(Destination) other=1001\n"
	       "ev Established 1001(Origination) other=1003\n"
	       "media p1@1001 talk=1 listen=1 mix\n"
	       "media p4@1001 talk=1 listen=1 mix\n"
	       "ev Parties 1001 1001 1003\n"
	       "ev Parties 1003 1001 1003\n");

	/* 1001 completes: 1003 joins call 1000 */
	assert_int_equal(0,
			 call_complete_conference(m, 1, c2, why, sizeof(why)));
	expect("ev Released 1001(Origination) other=-\n"
	       "media p1 talk=1 listen=1 mix\n"
	       "media p2 talk=1 listen=1 mix\n"
	       "ev PartyChanged 1003(ConferenceMember) "
	       "other=1001(ConferencedBy) third=1001(AddedBy) "
	       "state=Conferenced prev=1001\n"
	       "ev PartyAdded 1001(ConferenceMember) other=1003(NewParty) "
	       "third=1001(AddedBy) state=Conferenced\n"
	       "ev PartyAdded 1002(ConferenceMember) other=1003(NewParty) "
	       "third=1001(AddedBy) state=Conferenced\n"
	       "media p4 talk=1 listen=1 mix\n"
	       "ev Parties 1001 1001 1002 1003\n"
	       "ev Parties 1002 1001 1002 1003\n"
	       "ev Parties 1003 1001 1002 1003\n");
	assert_null(call_find(m, c2));

	/* 1002 hangs up: two left, a plain call again */
	assert_int_equal(0, call_party_hangup(m, 2));
	expect("ev Released 1002(ConferenceMember) other=-\n"
	       "ev PartyDeleted 1001(ConferenceMember) "
	       "other=1002(DeletedParty) third=1002(DeletedBy) state=Ok\n"
	       "ev PartyDeleted 1003(ConferenceMember) "
	       "other=1002(DeletedParty) third=1002(DeletedBy) state=Ok\n"
	       "media p2 remove\n"
	       "ev Parties 1001 1001 1003\n"
	       "ev Parties 1003 1001 1003\n");
	/* 1003 hangs up: one left, released */
	assert_int_equal(0, call_party_hangup(m, 4));
	expect("leg hangup p1\n"
	       "ev Released 1003(ConferenceMember) other=1001\n"
	       "ev Released 1001(ConferenceMember) other=1003\n"
	       "media p1 remove\n"
	       "media p4 remove\n");
	assert_int_equal(0, call_model_count(m));
	assert_int_equal(0, call_model_parties(m));
	(void)party_of;
}

static void test_reconnect_and_single_step(void **state)
{
	struct call_model *m = *state;
	char why[160];
	uint64_t c2 = 0;

	connected(m);
	assert_int_equal(0, call_initiate_conference(m, 1, &ext1003, &c2, why,
						     sizeof(why)));
	out[0] = '\0';
	assert_int_equal(0, call_reconnect(m, 1, c2, why, sizeof(why)));
	expect("leg hangup p4\n"
	       "ev Released 1001(Origination) other=1003\n"
	       "media p1 talk=0 listen=0 music /moh\n"
	       "media p4@1001 remove\n"
	       "ev Retrieved 1001(Origination) other=1002\n"
	       "media p1 talk=1 listen=1 mix\n"
	       "media p2 talk=1 listen=1 mix\n"
	       "ev Parties 1001 1001 1002\n"
	       "ev Parties 1002 1001 1002\n");
	assert_int_equal(1, call_model_count(m));

	assert_int_equal(0, call_single_step(m, 1, &ext1004, why, sizeof(why)));
	expect("leg alert p5 1004\n"
	       "media p5 talk=0 listen=0 none\n");
	assert_int_equal(0, call_party_progress(m, 5, false));
	expect("ev Ringing 1004(NewParty) other=1001\n");
	assert_int_equal(0, call_party_answered(m, 5));
	expect("ev Established 1004(ConferenceMember) "
	       "other=1001(ConferencedBy) third=1001(AddedBy) "
	       "state=Conferenced\n"
	       "ev PartyAdded 1001(ConferenceMember) other=1004(NewParty) "
	       "third=1001(AddedBy) state=Conferenced\n"
	       "ev PartyAdded 1002(ConferenceMember) other=1004(NewParty) "
	       "third=1001(AddedBy) state=Conferenced\n"
	       "media p5 talk=1 listen=1 mix\n"
	       "ev Parties 1001 1001 1002 1004\n"
	       "ev Parties 1002 1001 1002 1004\n"
	       "ev Parties 1004 1001 1002 1004\n");
	assert_int_equal(0, call_delete_party(m, 1, "1002", why, sizeof(why)));
	expect("leg hangup p2\n"
	       "ev Released 1002(ConferenceMember) other=- "
	       "third=1001(DeletedBy)\n"
	       "ev PartyDeleted 1001(ConferenceMember) "
	       "other=1002(DeletedParty) third=1001(DeletedBy) state=Ok\n"
	       "ev PartyDeleted 1004(ConferenceMember) "
	       "other=1002(DeletedParty) third=1001(DeletedBy) state=Ok\n"
	       "media p2 remove\n"
	       "ev Parties 1001 1001 1004\n"
	       "ev Parties 1004 1001 1004\n");
	assert_int_equal(0, call_party_release(m, party_of(m, 0x1000, "1004")));
	expect("leg hangup p5\n"
	       "leg hangup p1\n"
	       "ev Released 1004(ConferenceMember) other=1001\n"
	       "ev Released 1001(ConferenceMember) other=1004\n"
	       "media p1 remove\n"
	       "media p5 remove\n");
}

static void test_consult_hangups(void **state)
{
	struct call_model *m = *state;
	char why[160];
	uint64_t c2 = 0;

	/* 1002 hangs up while 1001 consults 1003: 1001 goes on with 1003 */
	connected(m);
	assert_int_equal(0, call_initiate_conference(m, 1, &ext1003, &c2, why,
						     sizeof(why)));
	assert_int_equal(0, call_party_answered(m, 4));
	out[0] = '\0';
	assert_int_equal(0, call_party_hangup(m, 2));
	expect("ev Released 1002(Destination) other=1001\n"
	       "ev Released 1001(Origination) other=1002\n"
	       "media p2 remove\n");
	assert_int_equal(1, call_model_count(m));
	/* its phone still reports under its leg: a re-INVITE holds */
	assert_int_equal(0,
			 call_party_hold(m, call_leg_party(m, 1), true, NULL));
	expect("ev Held 1001(Origination) other=1003\n"
	       "media p1@1001 talk=0 listen=0 music /moh\n"
	       "media p4@1001 talk=0 listen=0 music /moh\n"
	       "ev Parties 1001 1001:Held 1003\n"
	       "ev Parties 1003 1001:Held 1003\n");
	assert_int_equal(0, call_party_hangup(m, 1));
	expect("leg hangup p4\n"
	       "ev Released 1001(Origination) other=1003\n"
	       "ev Released 1003(Destination) other=1001\n"
	       "media p1@1001 remove\n"
	       "media p4@1001 remove\n");
	assert_int_equal(0, call_model_count(m));
	assert_int_equal(0, call_model_parties(m));

	/* 1001's phone hangs up while it consults: both calls end */
	connected(m);
	assert_int_equal(0, call_initiate_conference(m, 5, &ext1003, &c2, why,
						     sizeof(why)));
	out[0] = '\0';
	assert_int_equal(0, call_party_hangup(m, 5));
	expect("leg hangup p8\n"
	       "ev Released 1001(Origination) other=1003\n"
	       "media p5@1002 talk=0 listen=0 music /moh\n"
	       "media p8@1003 remove\n"
	       "leg hangup p6\n"
	       "ev Released 1001(Origination) other=1002\n"
	       "ev Released 1002(Destination) other=1001\n"
	       "media p5@1002 remove\n"
	       "media p6@1002 remove\n");
	assert_int_equal(0, call_model_count(m));
	assert_int_equal(0, call_model_parties(m));
}

static void test_conference_refusals(void **state)
{
	struct call_model *m = *state;
	char why[160];
	uint64_t c2 = 0;

	connected(m);
	assert_int_equal(EINVAL, call_initiate_conference(m, 1, &ext1002, &c2,
							  why, sizeof(why)));
	assert_true(why[0]);
	assert_int_equal(EPROTO,
			 call_delete_party(m, 1, "1002", why, sizeof(why)));
	assert_true(why[0]);
	assert_int_equal(EINVAL,
			 call_single_step(m, 1, &ext1002, why, sizeof(why)));
	assert_true(why[0]);
	assert_int_equal(0, call_initiate_conference(m, 1, &ext1003, &c2, why,
						     sizeof(why)));
	out[0] = '\0';
	assert_int_equal(EPROTO, call_initiate_conference(m, 1, &ext1004, &c2,
							  why, sizeof(why)));
	assert_true(why[0]);
	assert_int_equal(EPROTO,
			 call_complete_conference(m, 1, c2, why, sizeof(why)));
	assert_true(why[0]);
	assert_int_equal(ENOENT, call_complete_conference(m, 1, 0x999, why,
							  sizeof(why)));
	assert_true(why[0]);
	assert_int_equal(EPROTO, call_complete_conference(m, 1, 0x1000, why,
							  sizeof(why)));
	assert_true(why[0]);
	assert_int_equal(EPROTO,
			 call_single_step(m, 1, &ext1004, why, sizeof(why)));
	assert_true(why[0]);
	assert_string_equal("", out); /* nothing changed */

	assert_int_equal(0, call_party_answered(m, 4));
	assert_int_equal(0,
			 call_complete_conference(m, 1, c2, why, sizeof(why)));
	out[0] = '\0';
	assert_int_equal(EINVAL,
			 call_delete_party(m, 1, "1009", why, sizeof(why)));
	assert_true(why[0]);
	assert_int_equal(EINVAL,
			 call_delete_party(m, 1, "1001", why, sizeof(why)));
	assert_true(why[0]);
	assert_string_equal("", out);
}

static void test_conference_hold_and_fail(void **state)
{
	struct call_model *m = *state;
	char why[160];

	connected(m);
	assert_int_equal(0, call_single_step(m, 1, &gw, why, sizeof(why)));
	assert_int_equal(0, call_party_answered(m, 3));
	out[0] = '\0';
	/* 1002 holds inside the conference: music for it, the others talk */
	assert_int_equal(0, call_party_hold(m, 2, true, NULL));
	expect("ev Held 1002(ConferenceMember) other=-\n"
	       "media p2 talk=0 listen=0 music /moh\n"
	       "ev Parties 1001 1001 1002:Held 5551234\n"
	       "ev Parties 1002 1001 1002:Held 5551234\n");
	/* a second external party with the same number gets its own alias */
	assert_int_equal(0, call_single_step(m, 1, &gw, why, sizeof(why)));
	assert_int_equal(0, call_party_answered(m, 4));
	expect("leg alert p4 5551234\n"
	       "media p4 talk=0 listen=0 none\n"
	       "ev PartyAdded 1001(ConferenceMember) other=5551234-2(NewParty) "
	       "third=1001(AddedBy) state=Conferenced\n"
	       "ev PartyAdded 1002(ConferenceMember) other=5551234-2(NewParty) "
	       "third=1001(AddedBy) state=Conferenced\n"
	       "media p4 talk=1 listen=1 mix\n"
	       "ev Parties 1001 1001 1002:Held 5551234 5551234-2\n"
	       "ev Parties 1002 1001 1002:Held 5551234 5551234-2\n");
	/* an invitee that is busy: only the requester hears of it */
	assert_int_equal(0, call_single_step(m, 1, &ext1004, why, sizeof(why)));
	out[0] = '\0';
	assert_int_equal(0, call_party_failed(m, 5, 486));
	expect("ev AddFailed 1001(ConferenceMember) other=1004 cause=486\n"
	       "media p5 remove\n");
	assert_int_equal(
		0, call_delete_party(m, 1, "5551234-2", why, sizeof(why)));
	expect("leg hangup p4\n"
	       "ev PartyDeleted 1001(ConferenceMember) "
	       "other=5551234-2(DeletedParty) third=1001(DeletedBy) "
	       "state=Conferenced\n"
	       "ev PartyDeleted 1002(ConferenceMember) "
	       "other=5551234-2(DeletedParty) third=1001(DeletedBy) "
	       "state=Conferenced\n"
	       "media p4 remove\n"
	       "ev Parties 1001 1001 1002:Held 5551234\n"
	       "ev Parties 1002 1001 1002:Held 5551234\n");
}

static const struct call_endpoint ext1005 = {"1005", false, NULL,
					     "Home", true,  false};

/* A conference of 1001 (p1), 1002 (p2), then each of more[] by
 * single-step (p3, p4, ...), all talking */
static void conference(struct call_model *m, const struct call_endpoint *more,
		       size_t n)
{
	char why[160];

	connected(m);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(
			0, call_single_step(m, 1, &more[i], why, sizeof(why)));
		assert_int_equal(0, call_party_answered(m, (uint32_t)(3 + i)));
	}
	out[0] = '\0';
}

static void test_listen_disconnect(void **state)
{
	struct call_model *m = *state;
	const struct call_endpoint more[] = {ext1003};
	char why[160];

	conference(m, more, 1);
	assert_int_equal(0, call_listen_disconnect(m, 1, "1003", "/ld", why,
						   sizeof(why)));
	expect("ev ListenDisconnected 1001(ConferenceMember) other=1003 "
	       "third=1001 state=Held\n"
	       "ev ListenDisconnected 1002(ConferenceMember) other=1003 "
	       "third=1001 state=Held\n"
	       "ev ListenDisconnected 1003(ConferenceMember) other=1003 "
	       "third=1001 state=Held\n"
	       "media p3 talk=0 listen=0 music /ld\n"
	       "ev Parties 1001 1001 1002 1003:ListenDisconnected\n"
	       "ev Parties 1002 1001 1002 1003:ListenDisconnected\n"
	       "ev Parties 1003 1001 1002 1003:ListenDisconnected\n");
	assert_int_equal(EALREADY, call_listen_disconnect(m, 1, "1003", "/ld",
							  why, sizeof(why)));
	assert_true(why[0]);
	assert_int_equal(EPROTO, call_listen_disconnect(m, 1, "1002", "/ld",
							why, sizeof(why)));
	assert_true(why[0]);
	assert_int_equal(EINVAL, call_listen_disconnect(m, 1, "1001", "/ld",
							why, sizeof(why)));
	assert_int_equal(EINVAL, call_listen_disconnect(m, 1, "9999", "/ld",
							why, sizeof(why)));
	assert_int_equal(EALREADY,
			 call_listen_reconnect(m, 1, "1002", why, sizeof(why)));
	assert_string_equal("", out);

	/* another agent reconnects */
	assert_int_equal(0,
			 call_listen_reconnect(m, 2, "1003", why, sizeof(why)));
	expect("ev ListenReconnected 1001(ConferenceMember) other=1003 "
	       "third=1002 state=Conferenced\n"
	       "ev ListenReconnected 1002(ConferenceMember) other=1003 "
	       "third=1002 state=Conferenced\n"
	       "ev ListenReconnected 1003(ConferenceMember) other=1003 "
	       "third=1002 state=Conferenced\n"
	       "media p3 talk=1 listen=1 mix\n"
	       "ev Parties 1001 1001 1002 1003\n"
	       "ev Parties 1002 1001 1002 1003\n"
	       "ev Parties 1003 1001 1002 1003\n");

	/* disconnected again; the requester leaves: one active left, so
	 * the conference collapses into a plain call */
	assert_int_equal(0, call_listen_disconnect(m, 1, "1003", "/ld", why,
						   sizeof(why)));
	out[0] = '\0';
	assert_int_equal(0, call_party_hangup(m, 1));
	expect("ev Released 1001(ConferenceMember) other=-\n"
	       "ev PartyDeleted 1002(ConferenceMember) "
	       "other=1001(DeletedParty) third=1001(DeletedBy) state=Ok\n"
	       "ev PartyDeleted 1003(ConferenceMember) "
	       "other=1001(DeletedParty) third=1001(DeletedBy) state=Ok\n"
	       "media p1 remove\n"
	       "ev ListenReconnected 1002(ConferenceMember) other=1003 "
	       "state=Ok reason=ConferenceReleased\n"
	       "ev ListenReconnected 1003(ConferenceMember) other=1003 "
	       "state=Ok reason=ConferenceReleased\n"
	       "media p3 talk=1 listen=1 mix\n"
	       "ev Parties 1002 1002 1003\n"
	       "ev Parties 1003 1002 1003\n");
}

static void test_listen_collapse(void **state)
{
	struct call_model *m = *state;
	const struct call_endpoint more[] = {ext1003, ext1004, ext1005};
	char why[160];

	/* 1001, 1002, 1003, 1004, 1005; 1004 and 1005 disconnected */
	conference(m, more, 3);
	assert_int_equal(0, call_listen_disconnect(m, 1, "1004", "/ld", why,
						   sizeof(why)));
	assert_int_equal(0, call_listen_disconnect(m, 1, "1005", NULL, why,
						   sizeof(why)));
	out[0] = '\0';
	/* the requester leaves: 1002 and 1003 active, both stay out */
	assert_int_equal(0, call_party_hangup(m, 1));
	expect("ev Released 1001(ConferenceMember) other=-\n"
	       "ev PartyDeleted 1002(ConferenceMember) "
	       "other=1001(DeletedParty) third=1001(DeletedBy) "
	       "state=Conferenced\n"
	       "ev PartyDeleted 1003(ConferenceMember) "
	       "other=1001(DeletedParty) third=1001(DeletedBy) "
	       "state=Conferenced\n"
	       "ev PartyDeleted 1004(ConferenceMember) "
	       "other=1001(DeletedParty) third=1001(DeletedBy) "
	       "state=Conferenced\n"
	       "ev PartyDeleted 1005(ConferenceMember) "
	       "other=1001(DeletedParty) third=1001(DeletedBy) "
	       "state=Conferenced\n"
	       "media p1 remove\n"
	       "ev Parties 1002 1002 1003 1004:ListenDisconnected "
	       "1005:ListenDisconnected\n"
	       "ev Parties 1003 1002 1003 1004:ListenDisconnected "
	       "1005:ListenDisconnected\n"
	       "ev Parties 1004 1002 1003 1004:ListenDisconnected "
	       "1005:ListenDisconnected\n"
	       "ev Parties 1005 1002 1003 1004:ListenDisconnected "
	       "1005:ListenDisconnected\n");
	/* 1003 leaves: one active, two disconnected: all back */
	assert_int_equal(0, call_party_hangup(m, 3));
	expect("ev Released 1003(ConferenceMember) other=-\n"
	       "ev PartyDeleted 1002(ConferenceMember) "
	       "other=1003(DeletedParty) third=1003(DeletedBy) "
	       "state=Conferenced\n"
	       "ev PartyDeleted 1004(ConferenceMember) "
	       "other=1003(DeletedParty) third=1003(DeletedBy) "
	       "state=Conferenced\n"
	       "ev PartyDeleted 1005(ConferenceMember) "
	       "other=1003(DeletedParty) third=1003(DeletedBy) "
	       "state=Conferenced\n"
	       "media p3 remove\n"
	       "ev ListenReconnected 1002(ConferenceMember) other=1004 "
	       "state=Conferenced reason=ConferenceReleased\n"
	       "ev ListenReconnected 1004(ConferenceMember) other=1004 "
	       "state=Conferenced reason=ConferenceReleased\n"
	       "ev ListenReconnected 1005(ConferenceMember) other=1004 "
	       "state=Conferenced reason=ConferenceReleased\n"
	       "ev ListenReconnected 1002(ConferenceMember) other=1005 "
	       "state=Conferenced reason=ConferenceReleased\n"
	       "ev ListenReconnected 1004(ConferenceMember) other=1005 "
	       "state=Conferenced reason=ConferenceReleased\n"
	       "ev ListenReconnected 1005(ConferenceMember) other=1005 "
	       "state=Conferenced reason=ConferenceReleased\n"
	       "media p4 talk=1 listen=1 mix\n"
	       "media p5 talk=1 listen=1 mix\n"
	       "ev Parties 1002 1002 1004 1005\n"
	       "ev Parties 1004 1002 1004 1005\n"
	       "ev Parties 1005 1002 1004 1005\n");
	/* a disconnected party that hangs up leaves like any party */
	assert_int_equal(0, call_listen_disconnect(m, 2, "1004", "/ld", why,
						   sizeof(why)));
	out[0] = '\0';
	assert_int_equal(0, call_party_hangup(m, 4));
	expect("ev Released 1004(ConferenceMember) other=-\n"
	       "ev PartyDeleted 1002(ConferenceMember) "
	       "other=1004(DeletedParty) third=1004(DeletedBy) state=Ok\n"
	       "ev PartyDeleted 1005(ConferenceMember) "
	       "other=1004(DeletedParty) third=1004(DeletedBy) state=Ok\n"
	       "media p4 remove\n"
	       "ev Parties 1002 1002 1005\n"
	       "ev Parties 1005 1002 1005\n");
}

static void test_listen_no_moh_trunk(void **state)
{
	struct call_model *m = *state;
	const struct call_endpoint more[] = {ext1003, gw};
	char why[160];

	/* a party behind a trunk without music hears silence, not music */
	conference(m, more, 2);
	assert_int_equal(0, call_listen_disconnect(m, 1, "5551234", "/ld", why,
						   sizeof(why)));
	expect("ev ListenDisconnected 1001(ConferenceMember) other=5551234 "
	       "third=1001 state=Held\n"
	       "ev ListenDisconnected 1002(ConferenceMember) other=5551234 "
	       "third=1001 state=Held\n"
	       "ev ListenDisconnected 1003(ConferenceMember) other=5551234 "
	       "third=1001 state=Held\n"
	       "media p4 talk=0 listen=0 silence\n"
	       "ev Parties 1001 1001 1002 1003 5551234:ListenDisconnected\n"
	       "ev Parties 1002 1001 1002 1003 5551234:ListenDisconnected\n"
	       "ev Parties 1003 1001 1002 1003 5551234:ListenDisconnected\n");
}


/* --- inter-site trunks (src/call/site.c) --- */

static const struct call_endpoint site2001 = {"2001",  true,  "siteB",
					      "siteB", false, true};

static void where_h(const struct call_party_info *pi, void *arg)
{
	char *buf = arg;
	size_t len = strlen(buf);

	snprintf(buf + len, 256 - len, " %s@%s%s%s%s", pi->name, pi->location,
		 pi->remote ? "(remote)" : "",
		 pi->state == PARTY_ESTABLISHED ? "" : ":",
		 pi->state == PARTY_ESTABLISHED
			 ? ""
			 : call_party_state_name(pi->state));
}

/* Every party of the whole call, with its location, or without one */
static const char *where(const struct call_model *m, uint64_t connid,
			 uint32_t except)
{
	static char buf[256];

	buf[0] = '\0';
	(void)call_parties_all(m, connid, except, where_h, buf);
	return buf;
}

static void remote_set(struct call_remote *r, const char *alias,
		       const char *loc, enum call_party_state st)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->alias, sizeof(r->alias), "%s", alias);
	snprintf(r->location, sizeof(r->location), "%s", loc);
	r->state = st;
}

/* 1001 calls 2001 on site B: B names itself in its answer, and is told
 * who is here after every change */
static void site_call(struct call_model *m)
{
	uint32_t a, b;

	assert_int_equal(0, call_originate(m, &a, &b, &ext1001, &site2001,
					   CALL_OUTBOUND));
	assert_int_equal(0, call_party_location(m, b, "B"));
	assert_int_equal(0, call_party_answered(m, b));
	out[0] = '\0';
}

static void test_site_call(void **state)
{
	struct call_model *m = *state;
	uint32_t a, b;

	assert_int_equal(0, call_originate(m, &a, &b, &ext1001, &site2001,
					   CALL_OUTBOUND));
	expect("leg alert p2 2001\n"
	       "ev Dialing 1001(Origination) other=2001\n"
	       "media p1 talk=0 listen=0 none\n"
	       "media p2 talk=0 listen=0 none\n");

	/* the site names itself in its answer: nothing to tell yet */
	assert_int_equal(0, call_party_location(m, b, "B"));
	assert_int_equal(EPROTO, call_party_location(m, a, "B"));
	assert_int_equal(EINVAL, call_party_location(m, b, ""));
	expect("");

	/* answered: the site is told, 2001 stands for itself until then */
	assert_int_equal(0, call_party_answered(m, b));
	expect("leg answer p1 200\n"
	       "ev Established 1001(Origination) other=2001\n"
	       "media p1 talk=1 listen=1 mix\n"
	       "media p2 talk=1 listen=1 mix\n"
	       "ev Parties 1001 1001 2001\n"
	       "leg parties p2\n");
	assert_string_equal(" 1001@Home 2001@B", where(m, 0x1000, 0));
	assert_string_equal(" 1001@Home", where(m, 0x1000, b));
}

static void test_site_remote(void **state)
{
	struct call_model *m = *state;
	struct call_remote v[2];

	site_call(m);

	/* the site reports 2001 and 2002: they take the trunk party's place */
	remote_set(&v[0], "2001", "B", PARTY_ESTABLISHED);
	remote_set(&v[1], "2002", "B", PARTY_HELD);
	assert_int_equal(0, call_party_remote(m, 2, v, 2, PARTY_ESTABLISHED));
	expect("ev Parties 1001 1001 2001 2002:Held\n"
	       "leg parties p2\n");
	assert_string_equal(" 1001@Home 2001@B(remote) 2002@B(remote):Held",
			    where(m, 0x1000, 0));
	assert_string_equal(" 1001@Home", where(m, 0x1000, 2));

	/* the same report again changes nothing */
	assert_int_equal(0, call_party_remote(m, 2, v, 2, PARTY_ESTABLISHED));
	expect("");

	/* 2002 left on B */
	assert_int_equal(0, call_party_remote(m, 2, v, 1, PARTY_ESTABLISHED));
	expect("ev Parties 1001 1001 2001\n"
	       "leg parties p2\n");

	/* a hold here is told to the site */
	assert_int_equal(0, call_party_hold(m, 1, true, NULL));
	expect("ev Held 1001(Origination) other=2001\n"
	       "media p1 talk=0 listen=0 music /moh\n"
	       "media p2 talk=0 listen=0 silence\n"
	       "ev Parties 1001 1001:Held 2001\n"
	       "leg parties p2\n");
}

/* The other site disconnected this side (its trunk party there): this
 * side's connected parties are shown so; its own states do not change */
static void test_site_seen_as(void **state)
{
	struct call_model *m = *state;
	struct call_remote v[1];

	site_call(m);
	remote_set(&v[0], "2001", "B", PARTY_ESTABLISHED);
	assert_int_equal(
		0, call_party_remote(m, 2, v, 1, PARTY_LISTEN_DISCONNECTED));
	expect("ev Parties 1001 1001:ListenDisconnected 2001\n"
	       "leg parties p2\n");
	assert_string_equal(" 1001@Home:ListenDisconnected 2001@B(remote)",
			    where(m, 0x1000, 0));

	/* the same again: nothing; reconnected there: shown connected */
	assert_int_equal(
		0, call_party_remote(m, 2, v, 1, PARTY_LISTEN_DISCONNECTED));
	expect("");
	assert_int_equal(0, call_party_remote(m, 2, v, 1, PARTY_ESTABLISHED));
	expect("ev Parties 1001 1001 2001\n"
	       "leg parties p2\n");
}

/* On the far site (B, a plain call with the trunk party): a request on a
 * party the owning site (A) reported goes there; A's answer comes back to
 * the requester and every Extension party here; one at a time */
static void test_site_request(void **state)
{
	struct call_model *m = *state;
	struct call_remote v[2];
	char why[160], want[160];

	site_call(m);
	remote_set(&v[0], "5551234", "B", PARTY_ESTABLISHED);
	remote_set(&v[1], "2001", "B", PARTY_ESTABLISHED);
	assert_int_equal(0, call_party_remote(m, 2, v, 2, PARTY_ESTABLISHED));
	out[0] = '\0';

	assert_int_equal(EINPROGRESS,
			 call_listen_disconnect(m, 1, "5551234", NULL, why,
						sizeof(why)));
	expect("leg request p2 disconnect 5551234 by 1001\n");

	/* one at a time */
	assert_int_equal(EBUSY,
			 call_listen_reconnect(m, 1, "2001", why, sizeof(why)));
	assert_non_null(strstr(why, "under way"));
	expect("");

	/* done there: the requester hears of it as the owning site's do,
	 * with the whole call's CallState */
	assert_int_equal(0, call_site_answer(m, 2, 0, NULL));
	expect("ev ListenDisconnected 1001(Origination) other=5551234 "
	       "third=1001 state=Held\n");
	assert_int_equal(EPROTO, call_site_answer(m, 2, 0, NULL));

	/* refused there: the requester gets the refusal and its reason */
	assert_int_equal(EINPROGRESS,
			 call_listen_disconnect(m, 1, "5551234", NULL, why,
						sizeof(why)));
	expect("leg request p2 disconnect 5551234 by 1001\n");
	assert_int_equal(0,
			 call_site_answer(m, 2, EALREADY,
					  "5551234 is already disconnected"));
	snprintf(want, sizeof(want),
		 "ev SiteFailed 1001(Origination) other=5551234 err=%d "
		 "why=5551234 is already disconnected\n",
		 EALREADY);
	expect(want);

	/* reconnected there */
	assert_int_equal(EINPROGRESS, call_listen_reconnect(m, 1, "5551234",
							    why, sizeof(why)));
	expect("leg request p2 reconnect 5551234 by 1001\n");
	assert_int_equal(0, call_site_answer(m, 2, 0, NULL));
	expect("ev ListenReconnected 1001(Origination) other=5551234 "
	       "third=1001 state=Conferenced\n");

	/* the requester's call ends while a request is under way: its
	 * EventReleased is all it hears */
	assert_int_equal(EINPROGRESS, call_listen_disconnect(m, 1, "2001", NULL,
							     why, sizeof(why)));
	out[0] = '\0';
	assert_int_equal(0, call_party_hangup(m, 2));
	assert_non_null(strstr(out, "ev Released 1001(Origination)"));
	assert_null(strstr(out, "SiteFailed"));
}

/* The trunk party leaves a conference while a request it carries is
 * under way: the requester, still in the call, is refused */
static void test_site_request_gone(void **state)
{
	struct call_model *m = *state;
	struct call_remote v[2];
	char why[160];

	site_call(m);
	assert_int_equal(0, call_single_step(m, 1, &ext1003, why, sizeof(why)));
	assert_int_equal(0, call_party_answered(m, 3));
	remote_set(&v[0], "5551234", "A", PARTY_ESTABLISHED);
	remote_set(&v[1], "2001", "A", PARTY_ESTABLISHED);
	assert_int_equal(0, call_party_remote(m, 2, v, 2, PARTY_ESTABLISHED));
	assert_int_equal(EINPROGRESS,
			 call_listen_disconnect(m, 1, "5551234", NULL, why,
						sizeof(why)));
	out[0] = '\0';
	assert_int_equal(0, call_party_hangup(m, 2));
	snprintf(why, sizeof(why),
		 "ev SiteFailed 1001(ConferenceMember) other=5551234 err=%d "
		 "why=the site of 5551234 left the call\n",
		 ENOENT);
	assert_non_null(strstr(out, why));
}

/* On the owning site (A): a request carried from the trunk party's site
 * runs here, in the name of its requester; only from such a party */
static void test_site_request_here(void **state)
{
	struct call_model *m = *state;
	char why[160];

	site_call(m);
	assert_int_equal(EPROTO, call_listen_by(m, 1, "2001", "1001", true,
						NULL, why, sizeof(why)));
	/* a plain call here: the same refusal as for a request made here */
	assert_int_equal(EPROTO, call_listen_by(m, 2, "2001", "1001", true,
						NULL, why, sizeof(why)));
	assert_non_null(strstr(why, "not a conference"));
	assert_int_equal(ENOENT, call_listen_by(m, 99, "2001", "1001", true,
						NULL, why, sizeof(why)));
	expect("");
}

static void test_site_refusals(void **state)
{
	struct call_model *m = *state;
	struct call_remote v[CALL_MAX_PARTIES + 1];

	site_call(m);
	remote_set(&v[0], "2001", "B", PARTY_ESTABLISHED);

	/* not from an inter-site trunk party; no such party */
	assert_int_equal(EPROTO,
			 call_party_remote(m, 1, v, 1, PARTY_ESTABLISHED));
	assert_int_equal(ENOENT,
			 call_party_remote(m, 99, v, 1, PARTY_ESTABLISHED));

	/* what the codec never gives: a state not joined, no name, too many */
	remote_set(&v[0], "2001", "B", PARTY_RINGING);
	assert_int_equal(EINVAL,
			 call_party_remote(m, 2, v, 1, PARTY_ESTABLISHED));
	remote_set(&v[0], "", "B", PARTY_HELD);
	assert_int_equal(EINVAL,
			 call_party_remote(m, 2, v, 1, PARTY_ESTABLISHED));
	remote_set(&v[0], "2001", "", PARTY_HELD);
	assert_int_equal(EINVAL,
			 call_party_remote(m, 2, v, 1, PARTY_ESTABLISHED));
	for (int i = 0; i <= CALL_MAX_PARTIES; i++)
		remote_set(&v[i], "x", "B", PARTY_HELD);
	assert_int_equal(EINVAL,
			 call_party_remote(m, 2, v, CALL_MAX_PARTIES + 1,
					   PARTY_ESTABLISHED));
	assert_int_equal(EINVAL,
			 call_party_remote(m, 2, NULL, 1, PARTY_ESTABLISHED));
	remote_set(&v[0], "2001", "B", PARTY_HELD);
	assert_int_equal(EINVAL, call_party_remote(m, 2, v, 1, PARTY_RINGING));
	expect("");
	assert_string_equal(" 1001@Home 2001@B", where(m, 0x1000, 0));

	/* an empty report: the site has nobody else (the trunk party itself
	 * is never listed) */
	assert_int_equal(0, call_party_remote(m, 2, v, 0, PARTY_ESTABLISHED));
	expect("ev Parties 1001 1001\n"
	       "leg parties p2\n");
}

/* A call from site A: the caller is the trunk party; a party joining
 * here is told to A, and A's report is listed where the trunk joined */
static void test_site_inbound(void **state)
{
	struct call_model *m = *state;
	const struct call_endpoint from_a = {"1001", true, "siteA",
					     "A",    true, true};
	struct call_remote v[1];
	char why[160];
	uint32_t a, b;

	assert_int_equal(
		0, call_originate(m, &a, &b, &from_a, &ext1002, CALL_INBOUND));
	assert_int_equal(0, call_party_answered(m, b));
	expect("leg alert p2 1002\n"
	       "media p1 talk=0 listen=0 none\n"
	       "media p2 talk=0 listen=0 none\n"
	       "leg answer p1 200\n"
	       "ev Established 1002(Destination) other=1001\n"
	       "media p1 talk=1 listen=1 mix\n"
	       "media p2 talk=1 listen=1 mix\n"
	       "ev Parties 1002 1001 1002\n"
	       "leg parties p1\n");

	/* the first report names the party the trunk stood for: no news */
	remote_set(&v[0], "1001", "A", PARTY_ESTABLISHED);
	assert_int_equal(0, call_party_remote(m, a, v, 1, PARTY_ESTABLISHED));
	expect("");
	assert_string_equal(" 1001@A(remote) 1002@Home", where(m, 0x1000, 0));

	assert_int_equal(0, call_single_step(m, b, &ext1003, why, sizeof(why)));
	assert_int_equal(0, call_party_answered(m, 3));
	out[0] = '\0';
	assert_string_equal(" 1001@A(remote) 1002@Home 1003@Home",
			    where(m, 0x1000, 0));
	assert_string_equal(" 1002@Home 1003@Home", where(m, 0x1000, a));
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
		cmocka_unit_test_setup_teardown(test_consult_conference, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reconnect_and_single_step,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_consult_hangups, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_conference_refusals, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_conference_hold_and_fail,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_listen_disconnect, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_listen_collapse, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_listen_no_moh_trunk, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_site_call, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_site_remote, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_site_seen_as, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_site_request, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_site_request_here, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_site_request_gone, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_site_refusals, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_site_inbound, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
