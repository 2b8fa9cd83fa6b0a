/**
 * @file test_tsrv.c  The CTI server's codec: every kind of bad line, and
 * what an event line looks like
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <re_types.h>
#include <re_fmt.h>
#include "tlib/priv.h"

static int decode(const char *line, struct tsrv_req *req, char *why)
{
	return tsrv_req_decode(req, line, strlen(line), why, 256);
}

static void test_valid(void **state)
{
	struct tsrv_req req;
	char why[256];
	(void)state;

	assert_int_equal(0, decode("{\"request\":\"TRegisterAddress\","
				   "\"ReferenceID\":7,\"ThisDN\":\"1001\","
				   "\"Future\":{\"x\":1}}",
				   &req, why));
	assert_string_equal("TRegisterAddress", req.name);
	assert_int_equal(7, req.refid);
	assert_string_equal("1001", req.this_dn);
	tsrv_req_free(&req);

	/* no ReferenceID, ThisDN not a string: both simply absent */
	assert_int_equal(
		0, decode("{\"request\":\"X\",\"ThisDN\":1001}", &req, why));
	assert_int_equal(0, req.refid);
	assert_null(req.this_dn);
	tsrv_req_free(&req);
}

struct bad {
	const char *line;
	int err;
	const char *why;
};

static void test_invalid(void **state)
{
	static const struct bad cases[] = {
		{"not json", EBADMSG, "not valid JSON"},
		{"", EBADMSG, "not valid JSON"},
		{"{\"request\":\"X\"} trailing", EBADMSG, "not valid JSON"},
		{"{\"request\":\"X\",}", EBADMSG, "not valid JSON"},
		{"{\"request\":\"X\",\"a\":1,\"a\":2}", EBADMSG, "duplicate"},
		{"{\"request\":\"X\",\"ReferenceID\":"
		 "99999999999999999999}",
		 EBADMSG, "not valid JSON"},
		{"[\"request\"]", EINVAL, "not an object"},
		{"\"TOpenServer\"", EBADMSG, "not valid JSON"},
		{"{}", EINVAL, "no \"request\" string"},
		{"{\"request\":5}", EINVAL, "no \"request\" string"},
		{"{\"request\":null}", EINVAL, "no \"request\" string"},
		{"{\"request\":\"X\",\"ReferenceID\":0}", EINVAL,
		 "positive integer"},
		{"{\"request\":\"X\",\"ReferenceID\":-3}", EINVAL,
		 "positive integer"},
		{"{\"request\":\"X\",\"ReferenceID\":\"7\"}", EINVAL,
		 "positive integer"},
		{"{\"request\":\"X\",\"ReferenceID\":7.5}", EINVAL,
		 "positive integer"},
	};
	struct tsrv_req req;
	char why[256];
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int err = decode(cases[i].line, &req, why);

		if (err != cases[i].err || !strstr(why, cases[i].why))
			print_error("%s: err %d why \"%s\"\n", cases[i].line,
				    err, why);
		assert_int_equal(cases[i].err, err);
		assert_non_null(strstr(why, cases[i].why));
		tsrv_req_free(&req);
	}
}

static void test_event_line(void **state)
{
	json_t *ev = tsrv_event_new("EventError");
	size_t len = 0;
	char *line;
	json_t *back;
	(void)state;

	json_object_set_new(ev, "ErrorMessage", json_string("two\nlines"));
	line = tsrv_event_line(ev, 42, &len);
	assert_non_null(line);
	assert_int_equal(strlen(line), len);
	assert_int_equal('\n', line[len - 1]);
	assert_null(memchr(line, '\n', len - 1)); /* escaped inside */

	back = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
	assert_non_null(back);
	assert_string_equal("EventError",
			    json_string_value(json_object_get(back, "event")));
	assert_int_equal(42, json_integer_value(json_object_get(
				     back, "EventSequenceNumber")));
	assert_int_equal(
		24, strlen(json_string_value(json_object_get(back, "Time"))));
	json_decref(back);
	json_decref(ev);
	free(line);
}

static void test_modes(void **state)
{
	enum tsrv_mode m;
	(void)state;

	assert_int_equal(0, tsrv_mode_parse(&m, "ModePrivate"));
	assert_int_equal(MODE_PRIVATE, m);
	assert_string_equal("ModeMonitor", tsrv_mode_name(MODE_MONITOR));
	assert_int_equal(EINVAL, tsrv_mode_parse(&m, "modeshare"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_event_line),
		cmocka_unit_test(test_modes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
