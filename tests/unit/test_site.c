/**
 * @file test_site.c  The participant-info codec (src/site/codec.c): what
 * one site writes the other reads back unchanged, and every malformed
 * body is refused with a reason that names what is wrong
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "call/call.h"
#include "site/site.h"

static void remote_set(struct call_remote *r, const char *alias,
		       const char *loc, enum call_party_state st)
{
	memset(r, 0, sizeof(*r));
	strcpy(r->alias, alias);
	strcpy(r->location, loc);
	r->state = st;
}

static void test_round_trip(void **state)
{
	struct call_remote in[3], out[SITE_PARTIES_MAX];
	char *body = NULL;
	char why[256] = "";
	size_t n = 99;
	enum call_party_state you;
	(void)state;

	remote_set(&in[0], "5551234", "gw", PARTY_ESTABLISHED);
	remote_set(&in[1], "1001", "A", PARTY_HELD);
	remote_set(&in[2], "1002", "A", PARTY_LISTEN_DISCONNECTED);

	assert_int_equal(0,
			 site_parties_encode(&body, in, 3, PARTY_ESTABLISHED));
	assert_string_equal(
		"{\"version\":1,\"parties\":["
		"{\"alias\":\"5551234\",\"location\":\"gw\","
		"\"state\":\"Established\"},"
		"{\"alias\":\"1001\",\"location\":\"A\",\"state\":\"Held\"},"
		"{\"alias\":\"1002\",\"location\":\"A\","
		"\"state\":\"ListenDisconnected\"}]}",
		body);

	assert_int_equal(0,
			 site_parties_decode(out, &n, &you, body, strlen(body),
					     why, sizeof(why)));
	assert_int_equal(3, n);
	assert_memory_equal(in, out, sizeof(in));
	assert_int_equal(PARTY_ESTABLISHED, you); /* not written: Established */
	free(body);
}

/* "you": what the sender made of the receiving side, written only when
 * it is not Established */
static void test_you(void **state)
{
	struct call_remote in[1], out[SITE_PARTIES_MAX];
	char *body = NULL;
	char why[256] = "";
	size_t n = 0;
	enum call_party_state you = PARTY_ESTABLISHED;
	(void)state;

	remote_set(&in[0], "1001", "A", PARTY_ESTABLISHED);
	assert_int_equal(0, site_parties_encode(&body, in, 1,
						PARTY_LISTEN_DISCONNECTED));
	assert_string_equal("{\"version\":1,\"parties\":[{\"alias\":\"1001\","
			    "\"location\":\"A\",\"state\":\"Established\"}],"
			    "\"you\":\"ListenDisconnected\"}",
			    body);
	assert_int_equal(0,
			 site_parties_decode(out, &n, &you, body, strlen(body),
					     why, sizeof(why)));
	assert_int_equal(1, n);
	assert_int_equal(PARTY_LISTEN_DISCONNECTED, you);
	free(body);

	assert_int_equal(EINVAL,
			 site_parties_encode(&body, in, 1, PARTY_RINGING));
}

static void test_empty_list(void **state)
{
	static const char body[] = "{\"parties\":[],\"version\":1}";
	struct call_remote out[SITE_PARTIES_MAX];
	char *enc = NULL;
	char why[256];
	size_t n = 7;
	enum call_party_state you;
	(void)state;

	assert_int_equal(0,
			 site_parties_decode(out, &n, &you, body, strlen(body),
					     why, sizeof(why)));
	assert_int_equal(0, n);

	assert_int_equal(0,
			 site_parties_encode(&enc, NULL, 0, PARTY_ESTABLISHED));
	assert_string_equal("{\"version\":1,\"parties\":[]}", enc);
	free(enc);
}

static void test_whitespace_and_order(void **state)
{
	static const char body[] =
		"\r\n { \"parties\" : [ { \"state\" : \"Held\" , "
		"\"location\":\"B\", \"alias\":\"2001\" } ], "
		"\"version\" : 1 }\n";
	struct call_remote out[SITE_PARTIES_MAX];
	char why[256];
	size_t n = 0;
	enum call_party_state you;
	(void)state;

	assert_int_equal(0,
			 site_parties_decode(out, &n, &you, body, strlen(body),
					     why, sizeof(why)));
	assert_int_equal(1, n);
	assert_string_equal("2001", out[0].alias);
	assert_string_equal("B", out[0].location);
	assert_int_equal(PARTY_HELD, out[0].state);
}

static const struct {
	const char *body;
	const char *why; /* a part of the reason */
} bad[] = {
	{"", "not JSON"},
	{"not json", "not JSON"},
	{"{\"version\":1,\"parties\":[],\"you\":\"Ringing\"}",
	 "\"you\" \"Ringing\" is not Established"},
	{"{\"version\":1,\"parties\":[],\"you\":1}", "\"you\" is not a string"},
	{"{\"version\":1,\"parties\":[]} x", "not JSON"},
	{"{\"version\":1,\"parties\":[]}{}", "not JSON"},
	{"[]", "not a JSON object"},
	{"\"x\"", "not JSON"},
	{"{\"version\":1,\"version\":1,\"parties\":[]}", "duplicate"},
	{"{\"parties\":[]}", "no \"version\""},
	{"{\"version\":\"1\",\"parties\":[]}", "\"version\" is not an integer"},
	{"{\"version\":1.0,\"parties\":[]}", "\"version\" is not an integer"},
	{"{\"version\":2,\"parties\":[]}", "version 2 is not 1"},
	{"{\"version\":0,\"parties\":[]}", "version 0 is not 1"},
	{"{\"version\":99999999999999999999,\"parties\":[]}", "not JSON"},
	{"{\"version\":1}", "no \"parties\""},
	{"{\"version\":1,\"parties\":{}}", "\"parties\" is not an array"},
	{"{\"version\":1,\"parties\":null}", "\"parties\" is not an array"},
	{"{\"version\":1,\"parties\":[],\"site\":\"A\"}",
	 "unknown key \"site\""},
	{"{\"version\":1,\"parties\":[1]}", "parties[0] is not an object"},
	{"{\"version\":1,\"parties\":[{\"location\":\"A\",\"state\":"
	 "\"Held\"}]}",
	 "parties[0] has no \"alias\""},
	{"{\"version\":1,\"parties\":[{\"alias\":\"1\",\"state\":\"Held\"}]}",
	 "parties[0] has no \"location\""},
	{"{\"version\":1,\"parties\":[{\"alias\":\"1\",\"location\":\"A\"}]}",
	 "parties[0] has no \"state\""},
	{"{\"version\":1,\"parties\":[{\"alias\":1,\"location\":\"A\","
	 "\"state\":\"Held\"}]}",
	 "parties[0].alias is not a string"},
	{"{\"version\":1,\"parties\":[{\"alias\":\"\",\"location\":\"A\","
	 "\"state\":\"Held\"}]}",
	 "parties[0].alias is not 1-64"},
	{"{\"version\":1,\"parties\":[{\"alias\":\"a b\",\"location\":\"A\","
	 "\"state\":\"Held\"}]}",
	 "parties[0].alias is not 1-64"},
	{"{\"version\":1,\"parties\":[{\"alias\":\"a\\u0000b\",\"location\":"
	 "\"A\",\"state\":\"Held\"}]}",
	 "not JSON"},
	{"{\"version\":1,\"parties\":[{\"alias\":\"\\u00e9\",\"location\":"
	 "\"A\",\"state\":\"Held\"}]}",
	 "parties[0].alias is not 1-64"},
	{"{\"version\":1,\"parties\":[{\"alias\":\"1\",\"location\":\"A\\t\","
	 "\"state\":\"Held\"}]}",
	 "parties[0].location is not 1-64"},
	{"{\"version\":1,\"parties\":[{\"alias\":\"1\",\"location\":"
	 "\"12345678901234567890123456789012345678901234567890123456789012345"
	 "\",\"state\":\"Held\"}]}",
	 "parties[0].location is not 1-64"},
	{"{\"version\":1,\"parties\":[{\"alias\":\"1\",\"location\":\"A\","
	 "\"state\":\"Ringing\"}]}",
	 "parties[0].state \"Ringing\" is not Established"},
	{"{\"version\":1,\"parties\":[{\"alias\":\"1\",\"location\":\"A\","
	 "\"state\":\"held\"}]}",
	 "parties[0].state \"held\""},
	{"{\"version\":1,\"parties\":[{\"alias\":\"1\",\"location\":\"A\","
	 "\"state\":3}]}",
	 "parties[0].state is not a string"},
	{"{\"version\":1,\"parties\":[{\"alias\":\"1\",\"location\":\"A\","
	 "\"state\":\"Held\",\"x\\n\":1}]}",
	 "parties[0] has an unknown key \"x?\""},
	{"{\"version\":1,\"parties\":[{\"alias\":\"1\",\"location\":\"A\","
	 "\"state\":\"Held\"},{\"alias\":\"1\",\"location\":\"B\","
	 "\"state\":\"Held\"}]}",
	 "parties[1].alias is the alias of parties[0] too"},
};

static void test_malformed(void **state)
{
	struct call_remote out[SITE_PARTIES_MAX];
	enum call_party_state you;
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char why[256] = "";
		size_t n = 5;
		int err = site_parties_decode(out, &n, &you, bad[i].body,
					      strlen(bad[i].body), why,
					      sizeof(why));

		if (err != EBADMSG || !strstr(why, bad[i].why))
			print_error("body %zu: %s\nerr %d why \"%s\", wanted "
				    "\"%s\"\n",
				    i, bad[i].body, err, why, bad[i].why);
		assert_int_equal(EBADMSG, err);
		assert_non_null(strstr(why, bad[i].why));
		assert_int_equal(0, n);
	}
}

/* 32 parties is a full call; 33 is more than any call holds */
static void test_limits(void **state)
{
	struct call_remote in[SITE_PARTIES_MAX + 1], out[SITE_PARTIES_MAX];
	char *body = NULL, *big;
	char why[256] = "";
	size_t n = 0, len;
	enum call_party_state you;
	(void)state;

	for (int i = 0; i < SITE_PARTIES_MAX + 1; i++) {
		char alias[8];

		snprintf(alias, sizeof(alias), "%d", 2000 + i);
		remote_set(&in[i], alias, "B", PARTY_ESTABLISHED);
	}
	assert_int_equal(EINVAL,
			 site_parties_encode(&body, in, SITE_PARTIES_MAX + 1,
					     PARTY_ESTABLISHED));

	assert_int_equal(0, site_parties_encode(&body, in, SITE_PARTIES_MAX,
						PARTY_ESTABLISHED));
	assert_int_equal(0,
			 site_parties_decode(out, &n, &you, body, strlen(body),
					     why, sizeof(why)));
	assert_int_equal(SITE_PARTIES_MAX, n);
	free(body);

	/* 33 entries, written by hand */
	big = malloc(SITE_BODY_MAX + 2);
	assert_non_null(big);
	len = (size_t)snprintf(big, SITE_BODY_MAX,
			       "{\"version\":1,\"parties\":[");
	for (int i = 0; i < SITE_PARTIES_MAX + 1; i++)
		len += (size_t)snprintf(big + len, SITE_BODY_MAX - len,
					"%s{\"alias\":\"%d\",\"location\":"
					"\"B\",\"state\":\"Held\"}",
					i ? "," : "", i);
	len += (size_t)snprintf(big + len, SITE_BODY_MAX - len, "]}");
	assert_int_equal(EBADMSG, site_parties_decode(out, &n, &you, big, len,
						      why, sizeof(why)));
	assert_non_null(strstr(why, "has 33 entries, more than 32"));

	/* longer than the limit: refused before parsing */
	memset(big, ' ', SITE_BODY_MAX + 1);
	assert_int_equal(EBADMSG, site_parties_decode(out, &n, &you, big,
						      SITE_BODY_MAX + 1, why,
						      sizeof(why)));
	assert_non_null(strstr(why, "more than 16384"));
	free(big);
}

static void test_encode_refuses(void **state)
{
	struct call_remote r;
	char *body = (char *)1;
	(void)state;

	remote_set(&r, "1001", "A", PARTY_RINGING);
	assert_int_equal(EINVAL,
			 site_parties_encode(&body, &r, 1, PARTY_ESTABLISHED));
	assert_null(body);

	remote_set(&r, "10 01", "A", PARTY_HELD);
	assert_int_equal(EINVAL,
			 site_parties_encode(&body, &r, 1, PARTY_ESTABLISHED));
	remote_set(&r, "1001", "", PARTY_HELD);
	assert_int_equal(EINVAL,
			 site_parties_encode(&body, &r, 1, PARTY_ESTABLISHED));
}

static void test_name_check(void **state)
{
	(void)state;

	assert_int_equal(0, site_name_check("A", 1));
	assert_int_equal(0, site_name_check("Site-B.eu_1", 11));
	assert_int_equal(EINVAL, site_name_check("", 0));
	assert_int_equal(EINVAL, site_name_check(NULL, 1));
	assert_int_equal(EINVAL, site_name_check("a b", 3));
	assert_int_equal(EINVAL, site_name_check("a\x7f", 2));
	assert_int_equal(EINVAL, site_name_check("\xc3\xa9", 2));
	assert_int_equal(EINVAL, site_name_check("a\0b", 3));
	assert_int_equal(
		EINVAL,
		site_name_check("1234567890123456789012345678901234567890123456"
				"7890123456789012345",
				65));
}

/* --- requests carried to the owning site, and their answers --- */

static void test_request_round_trip(void **state)
{
	struct site_request in = {.disconnect = true}, out;
	char *body = NULL;
	char why[256] = "";
	(void)state;

	snprintf(in.by, sizeof(in.by), "2001");
	snprintf(in.other, sizeof(in.other), "5551234");
	assert_int_equal(0, site_request_encode(&body, &in));
	assert_string_equal("{\"version\":1,\"request\":\"TListenDisconnect\","
			    "\"by\":\"2001\",\"other\":\"5551234\"}",
			    body);
	assert_int_equal(0, site_request_decode(&out, body, strlen(body), why,
						sizeof(why)));
	assert_true(out.disconnect);
	assert_string_equal("2001", out.by);
	assert_string_equal("5551234", out.other);
	free(body);

	in.disconnect = false;
	assert_int_equal(0, site_request_encode(&body, &in));
	assert_int_equal(0, site_request_decode(&out, body, strlen(body), why,
						sizeof(why)));
	assert_false(out.disconnect);
	free(body);

	snprintf(in.by, sizeof(in.by), "20 01");
	assert_int_equal(EINVAL, site_request_encode(&body, &in));
}

static void test_request_malformed(void **state)
{
	static const struct {
		const char *body, *why;
	} badreq[] = {
		{"", "not JSON"},
		{"[]", "not a JSON object"},
		{"{\"version\":2,\"request\":\"TListenDisconnect\",\"by\":"
		 "\"2001\",\"other\":\"1\"}",
		 "version 2 is not 1"},
		{"{\"version\":1,\"request\":\"TReleaseCall\",\"by\":\"2001\","
		 "\"other\":\"1\"}",
		 "request \"TReleaseCall\" is not TListenDisconnect"},
		{"{\"version\":1,\"by\":\"2001\",\"other\":\"1\"}",
		 "no \"request\""},
		{"{\"version\":1,\"request\":\"TListenReconnect\","
		 "\"other\":\"1\"}",
		 "no \"by\""},
		{"{\"version\":1,\"request\":\"TListenReconnect\",\"by\":7,"
		 "\"other\":\"1\"}",
		 "\"by\" is not a string"},
		{"{\"version\":1,\"request\":\"TListenReconnect\",\"by\":"
		 "\"2001\",\"other\":\"\"}",
		 "\"other\" is not 1-64 printable"},
		{"{\"version\":1,\"request\":\"TListenReconnect\",\"by\":"
		 "\"2001\",\"other\":\"1\",\"music\":\"x\"}",
		 "unknown key \"music\""},
	};
	struct site_request r;
	(void)state;

	for (size_t i = 0; i < sizeof(badreq) / sizeof(badreq[0]); i++) {
		char why[256] = "";
		int err = site_request_decode(&r, badreq[i].body,
					      strlen(badreq[i].body), why,
					      sizeof(why));

		if (err != EBADMSG || !strstr(why, badreq[i].why))
			print_error("body %zu: %s\nerr %d why \"%s\"\n", i,
				    badreq[i].body, err, why);
		assert_int_equal(EBADMSG, err);
		assert_non_null(strstr(why, badreq[i].why));
	}
}

static void test_answer(void **state)
{
	char *body = NULL;
	char msg[64], why[256] = "";
	int err = -1;
	(void)state;

	assert_int_equal(0, site_answer_encode(&body, 0, "ignored"));
	assert_string_equal("{\"version\":1,\"result\":\"ok\"}", body);
	assert_int_equal(0, site_answer_decode(&err, msg, sizeof(msg), body,
					       strlen(body), why, sizeof(why)));
	assert_int_equal(0, err);
	assert_string_equal("", msg);
	free(body);

	assert_int_equal(0, site_answer_encode(&body, EALREADY,
					       "5551234 is already "
					       "disconnected"));
	assert_int_equal(0, site_answer_decode(&err, msg, sizeof(msg), body,
					       strlen(body), why, sizeof(why)));
	assert_int_equal(EALREADY, err);
	assert_string_equal("5551234 is already disconnected", msg);
	free(body);

	/* an error no result names is not written */
	assert_int_equal(EINVAL, site_answer_encode(&body, EIO, "x"));

	/* read strictly */
	body = "{\"version\":1,\"result\":\"maybe\"}";
	assert_int_equal(EBADMSG,
			 site_answer_decode(&err, msg, sizeof(msg), body,
					    strlen(body), why, sizeof(why)));
	assert_non_null(strstr(why, "result \"maybe\" is not one of"));
	body = "{\"version\":1,\"result\":\"invalid\",\"message\":\"a\\tb\"}";
	assert_int_equal(EBADMSG,
			 site_answer_decode(&err, msg, sizeof(msg), body,
					    strlen(body), why, sizeof(why)));
	assert_non_null(strstr(why, "not printable ASCII"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_you),
		cmocka_unit_test(test_request_round_trip),
		cmocka_unit_test(test_request_malformed),
		cmocka_unit_test(test_answer),
		cmocka_unit_test(test_empty_list),
		cmocka_unit_test(test_whitespace_and_order),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_encode_refuses),
		cmocka_unit_test(test_name_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
