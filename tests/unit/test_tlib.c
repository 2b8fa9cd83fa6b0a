/**
 * @file test_tlib.c  libtlib against a scripted fake server
 *
 * The fake server is the other end of a socketpair, driven by the test in
 * the same thread: it writes the lines a server would send (they wait in
 * the socket) and reads back what the client sent. So every test is
 * deterministic, with no ports and no timing. One test connects over real
 * TCP on loopback (an ephemeral port, a thread that accepts).
 *
 * Pins down the spec's client side: the EventLinkConnected handshake,
 * TOpenServer answered by EventServerConnected or EventError 41, framing
 * (two events in one read, one split across reads, a 70,000-byte line,
 * invalid JSON, duplicate keys, end of stream), increasing ReferenceIDs,
 * the exact JSON of every request, every common attribute of an event,
 * and tlib_wait's matching.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>
#include "tlib.h"

#define LINK                                                                   \
	"{\"event\":\"EventLinkConnected\",\"ProtocolVersion\":\"tlib/1\","    \
	"\"ServerName\":\"sipserver\",\"Location\":\"Home\","                  \
	"\"EventSequenceNumber\":1,\"Time\":\"2024-01-01T00:00:00.000Z\"}\n"

enum { MAX_SEEN = 16 };

/** The test's side: the fake server's socket and what the handler saw */
struct fx {
	int peer;
	struct tlib *c;
	char *seen[MAX_SEEN]; /* event names, in order */
	size_t nseen;
	int reentry; /* what tlib_poll returned when called from a handler */
	bool try_reentry;
};

static void peer_write(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t k = write(fd, s, n);

		assert_true(k > 0);
		s += k;
		n -= (size_t)k;
	}
}

static void peer_send(struct fx *fx, const char *s)
{
	peer_write(fx->peer, s, strlen(s));
}

/* One line the client sent, as JSON (fails the test after 1 s). */
static json_t *peer_recv(struct fx *fx)
{
	char line[4096];
	size_t n = 0;
	json_error_t jerr;
	json_t *obj;

	for (;;) {
		struct pollfd pfd = {.fd = fx->peer, .events = POLLIN};

		assert_int_equal(1, poll(&pfd, 1, 1000));
		assert_int_equal(1, read(fx->peer, &line[n], 1));
		if (line[n] == '\n')
			break;
		assert_true(++n < sizeof(line));
	}

	obj = json_loadb(line, n, JSON_REJECT_DUPLICATES, &jerr);
	assert_non_null(obj);
	return obj;
}

/* Nothing more was sent by the client. */
static void peer_silent(struct fx *fx)
{
	struct pollfd pfd = {.fd = fx->peer, .events = POLLIN};

	assert_int_equal(0, poll(&pfd, 1, 0));
}

static void on_event(const struct tlib_event *ev, void *arg)
{
	struct fx *fx = arg;

	if (fx->nseen < MAX_SEEN)
		fx->seen[fx->nseen++] = strdup(ev->name);
	if (fx->try_reentry)
		fx->reentry = tlib_poll(fx->c, 0);
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	int sv[2], big = 1 << 20;

	assert_non_null(fx);
	assert_int_equal(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	fx->peer = sv[1];
	/* Room for the 70,000-byte line while nobody reads yet. */
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));

	peer_write(fx->peer, LINK, strlen(LINK));
	assert_int_equal(0, tlib_connect_fd(&fx->c, sv[0], 1000));
	tlib_set_event_handler(fx->c, on_event, fx);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	tlib_close(fx->c);
	close(fx->peer);
	for (size_t i = 0; i < fx->nseen; i++)
		free(fx->seen[i]);
	free(fx);
	return 0;
}

static void test_handshake(void **state)
{
	struct fx *fx = *state;
	const struct tlib_event *link = tlib_link_event(fx->c);

	assert_non_null(link);
	assert_string_equal("EventLinkConnected", link->name);
	assert_string_equal("sipserver", json_string_value(json_object_get(
						 link->json, "ServerName")));
	assert_int_equal(1, link->seq);
	assert_int_equal(0, fx->nseen);
}

/* tlib_connect_fd over a fresh pair, the server side pre-scripted. */
static int connect_with(const char *script, bool close_after, int timeout_ms)
{
	struct tlib *c = NULL;
	int sv[2], err;

	assert_int_equal(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	peer_write(sv[1], script, strlen(script));
	if (close_after)
		shutdown(sv[1], SHUT_WR);

	err = tlib_connect_fd(&c, sv[0], timeout_ms);
	assert_true(err ? c == NULL : c != NULL);
	tlib_close(c);
	close(sv[1]);
	return err;
}

static void test_handshake_refused(void **state)
{
	(void)state;

	assert_int_equal(EPROTO,
			 connect_with("{\"event\":\"EventLinkConnected\","
				      "\"ProtocolVersion\":\"tlib/2\"}\n",
				      false, 1000));
	assert_int_equal(EPROTO,
			 connect_with("{\"event\":\"EventRegistered\","
				      "\"ProtocolVersion\":\"tlib/1\"}\n",
				      false, 1000));
	assert_int_equal(ECONNRESET, connect_with("", true, 1000));
	assert_int_equal(ETIMEDOUT, connect_with("", false, 50));
	assert_int_equal(EBADMSG, connect_with("hello\n", false, 1000));
}

static void *accept_one(void *arg)
{
	int *lfd = arg;
	int fd = accept(*lfd, NULL, NULL);
	char buf[16];

	if (fd < 0)
		return NULL;
	if (write(fd, LINK, strlen(LINK)) < 0)
		perror("write");
	/* Keep it open until the client goes. */
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
	return NULL;
}

static int listen_any(uint16_t *portp)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(0, bind(fd, (struct sockaddr *)&sin, sizeof(sin)));
	assert_int_equal(0, getsockname(fd, (struct sockaddr *)&sin, &len));
	*portp = ntohs(sin.sin_port);
	return fd;
}

static void test_tcp_connect(void **state)
{
	struct tlib *c = NULL;
	pthread_t th;
	uint16_t port;
	int lfd = listen_any(&port);

	(void)state;
	assert_int_equal(0, listen(lfd, 1));
	assert_int_equal(0, pthread_create(&th, NULL, accept_one, &lfd));

	assert_int_equal(0, tlib_connect(&c, "127.0.0.1", port));
	assert_string_equal("EventLinkConnected", tlib_link_event(c)->name);
	assert_true(tlib_fd(c) >= 0);
	tlib_close(c);
	pthread_join(th, NULL);
	close(lfd);

	/* A port nobody listens on: bound but never listening. */
	lfd = listen_any(&port);
	assert_int_equal(ECONNREFUSED, tlib_connect(&c, "127.0.0.1", port));
	close(lfd);
	assert_int_equal(EADDRNOTAVAIL,
			 tlib_connect(&c, "no-such-host.invalid", port));
}

static void expect_json(struct fx *fx, const char *want)
{
	json_t *got = peer_recv(fx);
	json_t *exp = json_loads(want, JSON_REJECT_DUPLICATES, NULL);

	assert_non_null(exp);
	if (!json_equal(got, exp)) {
		char *s = json_dumps(got, JSON_COMPACT);

		fail_msg("sent %s\nwanted %s", s, want);
	}
	json_decref(got);
	json_decref(exp);
}

static void test_open_ok(void **state)
{
	struct fx *fx = *state;
	char line[256];
	size_t n = 0;

	peer_send(fx, "{\"event\":\"EventServerConnected\",\"ReferenceID\":1,"
		      "\"EventSequenceNumber\":2}\n");
	assert_int_equal(0, tlib_open(fx->c, "desk", "pw"));

	/* The exact bytes once: name, ReferenceID, attributes, '\n'. */
	while (n < sizeof(line) - 1 && read(fx->peer, &line[n], 1) == 1 &&
	       line[n] != '\n')
		n++;
	line[n + 1] = '\0';
	assert_string_equal(
		"{\"request\":\"TOpenServer\",\"ReferenceID\":1,"
		"\"ApplicationName\":\"desk\",\"Password\":\"pw\"}\n",
		line);
	assert_int_equal(1, fx->nseen);
	assert_string_equal("EventServerConnected", fx->seen[0]);
}

static void test_open_error(void **state)
{
	struct fx *fx = *state;
	const char *msg;
	int code;

	/* An unrelated event first: dispatched, not taken as the answer. */
	peer_send(fx,
		  "{\"event\":\"EventUserEvent\",\"EventSequenceNumber\":2}\n"
		  "{\"event\":\"EventError\",\"ReferenceID\":1,"
		  "\"ErrorCode\":41,\"ErrorMessage\":\"wrong password\"}\n");
	shutdown(fx->peer, SHUT_WR); /* the server closes after 41 */

	assert_int_equal(EACCES, tlib_open(fx->c, "desk", NULL));
	expect_json(fx, "{\"request\":\"TOpenServer\",\"ReferenceID\":1,"
			"\"ApplicationName\":\"desk\"}");
	tlib_last_error(fx->c, &code, &msg);
	assert_int_equal(41, code);
	assert_string_equal("wrong password", msg);
	assert_int_equal(2, fx->nseen);
	assert_string_equal("EventUserEvent", fx->seen[0]);
	assert_string_equal("EventError", fx->seen[1]);
	assert_int_equal(-ECONNRESET, tlib_poll(fx->c, 100));
}

static void test_two_in_one_read(void **state)
{
	struct fx *fx = *state;

	peer_send(fx, "{\"event\":\"EventRinging\"}\n"
		      "{\"event\":\"EventEstablished\"}\n");
	assert_int_equal(2, tlib_poll(fx->c, 1000));
	assert_string_equal("EventRinging", fx->seen[0]);
	assert_string_equal("EventEstablished", fx->seen[1]);
	assert_int_equal(0, tlib_poll(fx->c, 0));
}

static void test_split_across_reads(void **state)
{
	struct fx *fx = *state;
	struct tlib_event *ev = NULL;

	peer_send(fx, "{\"event\":\"EventRin");
	assert_int_equal(0, tlib_poll(fx->c, 100));
	assert_false(tlib_pending(fx->c));
	peer_send(fx, "ging\",\"ThisDN\":\"10");
	assert_int_equal(0, tlib_poll(fx->c, 100));
	peer_send(fx, "02\"}\n");
	assert_int_equal(0, tlib_wait(fx->c, "EventRinging", 1000, &ev));
	assert_string_equal("1002", ev->this_dn);
	assert_string_equal("{\"event\":\"EventRinging\",\"ThisDN\":\"1002\"}",
			    ev->line);
	tlib_event_free(ev);
}

/* Poll until an event or an error, whatever the read sizes. */
static int poll_until(struct fx *fx)
{
	for (int i = 0; i < 100; i++) {
		int r = tlib_poll(fx->c, 1000);

		if (r)
			return r;
	}

	return 0;
}

static void test_long_line(void **state)
{
	struct fx *fx = *state;
	size_t n = 70000;
	char *big = malloc(n + 1);
	const char *msg;
	int code;

	assert_non_null(big);
	memset(big, 'a', n);
	memcpy(big, "{\"event\":\"EventBig\",\"pad\":\"", 27);
	memcpy(big + n - 3, "\"}\n", 3);
	big[n] = '\0';
	peer_send(fx, big);
	peer_send(fx, "{\"event\":\"EventAfter\"}\n");
	free(big);

	assert_int_equal(-EMSGSIZE, poll_until(fx));
	tlib_last_error(fx->c, &code, &msg);
	assert_int_equal(0, code);
	assert_non_null(strstr(msg, "longer than 65536"));
	assert_int_equal(1, poll_until(fx));
	assert_int_equal(1, fx->nseen);
	assert_string_equal("EventAfter", fx->seen[0]);
}

static void test_line_at_limit(void **state)
{
	struct fx *fx = *state;
	size_t n = TLIB_LINE_MAX; /* the longest line allowed, plus '\n' */
	char *big = malloc(n + 2);

	assert_non_null(big);
	memset(big, 'a', n);
	memcpy(big, "{\"event\":\"EventBig\",\"pad\":\"", 27);
	memcpy(big + n - 2, "\"}\n", 4);
	peer_send(fx, big);
	free(big);

	assert_int_equal(1, poll_until(fx));
	assert_string_equal("EventBig", fx->seen[0]);
}

static void test_bad_lines(void **state)
{
	struct fx *fx = *state;
	const char *msg;
	static const char *const bad[] = {
		"{\"event\":\"EventA\"\n", /* truncated */
		"[1,2]\n",		   /* no object */
		"{\"ThisDN\":\"1001\"}\n", /* no event */
		"{\"event\":7}\n",	   /* not string */
		"{\"event\":\"EventA\",\"event\":\"EventB\"}\n", /* duplicate */
		"{\"event\":\"Event\xff\"}\n",			 /* not UTF-8 */
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		peer_send(fx, bad[i]);
		assert_int_equal(-EBADMSG, tlib_poll(fx->c, 1000));
	}
	tlib_last_error(fx->c, NULL, &msg);
	assert_non_null(strstr(msg, "bad line"));

	/* Blank lines are skipped; the connection goes on. */
	peer_send(fx, "\n{\"event\":\"EventOk\"}\n");
	assert_int_equal(1, tlib_poll(fx->c, 1000));
	assert_int_equal(1, fx->nseen);
}

/* A bad line between good ones: reported in stream order. */
static void test_error_in_order(void **state)
{
	struct fx *fx = *state;

	peer_send(fx,
		  "{\"event\":\"EventA\"}\nnot json\n{\"event\":\"EventB\"}\n");
	assert_int_equal(1, tlib_poll(fx->c, 1000));
	assert_true(tlib_pending(fx->c));
	assert_int_equal(-EBADMSG, tlib_poll(fx->c, 0));
	assert_int_equal(1, tlib_poll(fx->c, 0));
	assert_string_equal("EventB", fx->seen[1]);
}

static void test_eof(void **state)
{
	struct fx *fx = *state;

	peer_send(fx, "{\"event\":\"EventA\"}\n{\"event\":\"EventB\"}\n");
	close(fx->peer);
	fx->peer = -1;
	assert_int_equal(2, tlib_poll(fx->c, 1000));
	assert_int_equal(-ECONNRESET, tlib_poll(fx->c, 1000));
	assert_int_equal(ECONNRESET, tlib_wait(fx->c, "EventC", 1000, NULL));
	assert_true(tlib_register(fx->c, "1001", TLIB_MODE_SHARE) < 0);
}

static void test_reentry(void **state)
{
	struct fx *fx = *state;

	fx->try_reentry = true;
	peer_send(fx, "{\"event\":\"EventA\"}\n{\"event\":\"EventB\"}\n");
	assert_int_equal(2, tlib_poll(fx->c, 1000));
	assert_int_equal(-EDEADLK, fx->reentry);
}

static void test_reference_ids(void **state)
{
	struct fx *fx = *state;
	json_t *attrs = json_pack("{s:i}", "ReferenceID", 10);

	assert_int_equal(1, tlib_register(fx->c, "1001", TLIB_MODE_SHARE));
	assert_int_equal(2, tlib_query_address(fx->c, "1001"));
	assert_int_equal(3, tlib_request(fx->c, "TFoo", NULL));
	assert_int_equal(10, tlib_request(fx->c, "TFoo", attrs));
	assert_int_equal(11, tlib_unregister(fx->c, "1001"));
	json_decref(attrs);

	attrs = json_pack("{s:s}", "ReferenceID", "12");
	assert_int_equal(-EINVAL, tlib_request(fx->c, "TFoo", attrs));
	json_decref(attrs);
	attrs = json_pack("{s:i}", "ReferenceID", 0);
	assert_int_equal(-EINVAL, tlib_request(fx->c, "TFoo", attrs));
	json_decref(attrs);
	attrs = json_pack("{s:I}", "ReferenceID", (json_int_t)1 << 40);
	assert_int_equal(-EINVAL, tlib_request(fx->c, "TFoo", attrs));
	json_decref(attrs);

	for (int i = 0; i < 5; i++)
		json_decref(peer_recv(fx));
	peer_silent(fx);
}

static const struct tlib_kv_item music_items[] = {
	{.key = "music", .str = "/m/hold.wav"},
};
static const struct tlib_kv music = {music_items, 1};
static const struct tlib_kv_item ud_items[] = {
	{.key = "case", .str = "a\nb"},
	{.key = "priority", .num = 5},
};
static const struct tlib_kv ud = {ud_items, 2};

#define CONN	"00000000000000a1"
#define CONSULT "00000000000000b2"

static void test_requests(void **state)
{
	struct fx *fx = *state;
	struct tlib *c = fx->c;

	tlib_register(c, "1001", TLIB_MODE_MONITOR);
	expect_json(fx,
		    "{\"request\":\"TRegisterAddress\",\"ReferenceID\":1,"
		    "\"ThisDN\":\"1001\",\"RegisterMode\":\"ModeMonitor\"}");
	tlib_register(c, "1001", TLIB_MODE_PRIVATE);
	expect_json(fx,
		    "{\"request\":\"TRegisterAddress\",\"ReferenceID\":2,"
		    "\"ThisDN\":\"1001\",\"RegisterMode\":\"ModePrivate\"}");
	tlib_unregister(c, "1001");
	expect_json(fx, "{\"request\":\"TUnregisterAddress\",\"ReferenceID\":3,"
			"\"ThisDN\":\"1001\"}");
	tlib_query_address(c, "1001");
	expect_json(fx, "{\"request\":\"TQueryAddress\",\"ReferenceID\":4,"
			"\"ThisDN\":\"1001\"}");
	tlib_query_call(c, "1001", CONN);
	expect_json(fx, "{\"request\":\"TQueryCall\",\"ReferenceID\":5,"
			"\"ThisDN\":\"1001\",\"ConnID\":\"" CONN "\"}");
	tlib_make_call(c, "1001", "1002", NULL, NULL);
	expect_json(fx, "{\"request\":\"TMakeCall\",\"ReferenceID\":6,"
			"\"ThisDN\":\"1001\",\"OtherDN\":\"1002\"}");
	tlib_make_call(c, "1001", "1002", &ud, &music);
	expect_json(fx, "{\"request\":\"TMakeCall\",\"ReferenceID\":7,"
			"\"ThisDN\":\"1001\",\"OtherDN\":\"1002\","
			"\"UserData\":{\"case\":\"a\\nb\",\"priority\":5},"
			"\"Extensions\":{\"music\":\"/m/hold.wav\"}}");
	tlib_answer_call(c, "1002", CONN);
	expect_json(fx, "{\"request\":\"TAnswerCall\",\"ReferenceID\":8,"
			"\"ThisDN\":\"1002\",\"ConnID\":\"" CONN "\"}");
	tlib_release_call(c, "1002", CONN);
	expect_json(fx, "{\"request\":\"TReleaseCall\",\"ReferenceID\":9,"
			"\"ThisDN\":\"1002\",\"ConnID\":\"" CONN "\"}");
	tlib_hold_call(c, "1001", CONN, &music);
	expect_json(fx, "{\"request\":\"THoldCall\",\"ReferenceID\":10,"
			"\"ThisDN\":\"1001\",\"ConnID\":\"" CONN "\","
			"\"Extensions\":{\"music\":\"/m/hold.wav\"}}");
	tlib_retrieve_call(c, "1001", CONN, NULL);
	expect_json(fx, "{\"request\":\"TRetrieveCall\",\"ReferenceID\":11,"
			"\"ThisDN\":\"1001\",\"ConnID\":\"" CONN "\"}");
	tlib_initiate_conference(c, "1001", CONN, "1003", &ud);
	expect_json(fx, "{\"request\":\"TInitiateConference\","
			"\"ReferenceID\":12,\"ThisDN\":\"1001\","
			"\"ConnID\":\"" CONN "\",\"OtherDN\":\"1003\","
			"\"UserData\":{\"case\":\"a\\nb\",\"priority\":5}}");
	tlib_complete_conference(c, "1001", CONN, CONSULT);
	expect_json(fx, "{\"request\":\"TCompleteConference\","
			"\"ReferenceID\":13,\"ThisDN\":\"1001\","
			"\"ConnID\":\"" CONN "\",\"ConsultConnID\":\"" CONSULT
			"\"}");
	tlib_reconnect_call(c, "1001", CONN, CONSULT);
	expect_json(fx, "{\"request\":\"TReconnectCall\",\"ReferenceID\":14,"
			"\"ThisDN\":\"1001\",\"ConnID\":\"" CONN "\","
			"\"ConsultConnID\":\"" CONSULT "\"}");
	tlib_single_step_conference(c, "1001", CONN, "1004");
	expect_json(fx, "{\"request\":\"TSingleStepConference\","
			"\"ReferenceID\":15,\"ThisDN\":\"1001\","
			"\"ConnID\":\"" CONN "\",\"OtherDN\":\"1004\"}");
	tlib_delete_from_conference(c, "1001", CONN, "1004");
	expect_json(fx, "{\"request\":\"TDeleteFromConference\","
			"\"ReferenceID\":16,\"ThisDN\":\"1001\","
			"\"ConnID\":\"" CONN "\",\"OtherDN\":\"1004\"}");
	tlib_listen_disconnect(c, "1001", CONN, "1004", &music);
	expect_json(fx, "{\"request\":\"TListenDisconnect\","
			"\"ReferenceID\":17,\"ThisDN\":\"1001\","
			"\"ConnID\":\"" CONN "\",\"OtherDN\":\"1004\","
			"\"Extensions\":{\"music\":\"/m/hold.wav\"}}");
	tlib_listen_reconnect(c, "1001", CONN, "1004");
	expect_json(fx, "{\"request\":\"TListenReconnect\",\"ReferenceID\":18,"
			"\"ThisDN\":\"1001\",\"ConnID\":\"" CONN "\","
			"\"OtherDN\":\"1004\"}");
	peer_silent(fx);
}

static void test_requests_refused(void **state)
{
	struct fx *fx = *state;
	struct tlib *c = fx->c;

	assert_int_equal(-EINVAL, tlib_register(c, NULL, TLIB_MODE_SHARE));
	assert_int_equal(-EINVAL, tlib_register(c, "1001", 7));
	assert_int_equal(-EINVAL, tlib_make_call(c, "1001", NULL, NULL, NULL));
	assert_int_equal(-EINVAL, tlib_answer_call(c, "1001", NULL));
	assert_int_equal(-EINVAL,
			 tlib_complete_conference(c, "1001", CONN, NULL));
	assert_int_equal(-EINVAL,
			 tlib_listen_disconnect(c, NULL, CONN, "1", NULL));
	assert_int_equal(-EINVAL, tlib_request(c, "", NULL));
	assert_int_equal(-EINVAL, tlib_request(NULL, "TFoo", NULL));
	peer_silent(fx);
	/* Nothing refused used up a ReferenceID. */
	assert_int_equal(1, tlib_query_address(c, "1001"));
	json_decref(peer_recv(fx));
}

static void test_event_fields(void **state)
{
	struct fx *fx = *state;
	struct tlib_event *ev = NULL;

	peer_send(fx,
		  "{\"event\":\"EventPartyChanged\",\"ReferenceID\":7,"
		  "\"EventSequenceNumber\":42,"
		  "\"Time\":\"2024-05-01T10:00:00.123Z\","
		  "\"ThisDN\":\"1001\",\"OtherDN\":\"1002\","
		  "\"ThirdPartyDN\":\"1003\",\"ThisDNRole\":\"Origination\","
		  "\"OtherDNRole\":\"Destination\","
		  "\"ThirdPartyDNRole\":\"AddedBy\",\"ConnID\":\"" CONN "\","
		  "\"PreviousConnID\":\"00000000000000a0\","
		  "\"ConsultConnID\":\"" CONSULT "\",\"CallUUID\":\"u-1\","
		  "\"CallType\":\"Internal\",\"CallState\":\"Conferenced\","
		  "\"ANI\":\"1001\",\"DNIS\":\"1002\",\"ErrorCode\":56,"
		  "\"ErrorMessage\":\"no such call\","
		  "\"Extensions\":{\"music\":\"/m.wav\",\"n\":3,\"x\":[1]},"
		  "\"UserData\":{\"case\":\"k\"},\"Reasons\":{\"r\":1},"
		  "\"FutureKey\":{\"a\":1}}\n");
	assert_int_equal(0, tlib_wait(fx->c, "EventPartyChanged", 1000, &ev));

	assert_int_equal(7, ev->reference_id);
	assert_int_equal(42, ev->seq);
	assert_string_equal("2024-05-01T10:00:00.123Z", ev->time);
	assert_string_equal("1001", ev->this_dn);
	assert_string_equal("1002", ev->other_dn);
	assert_string_equal("1003", ev->third_party_dn);
	assert_string_equal("Origination", ev->this_dn_role);
	assert_string_equal("Destination", ev->other_dn_role);
	assert_string_equal("AddedBy", ev->third_party_dn_role);
	assert_string_equal(CONN, ev->conn_id);
	assert_string_equal("00000000000000a0", ev->previous_conn_id);
	assert_string_equal(CONSULT, ev->consult_conn_id);
	assert_string_equal("u-1", ev->call_uuid);
	assert_string_equal("Internal", ev->call_type);
	assert_string_equal("Conferenced", ev->call_state);
	assert_string_equal("1001", ev->ani);
	assert_string_equal("1002", ev->dnis);
	assert_int_equal(56, ev->error_code);
	assert_string_equal("no such call", ev->error_message);

	/* Extensions: the string and the integer; the array is left out. */
	assert_int_equal(2, ev->extensions.n);
	assert_string_equal("/m.wav", tlib_kv_get(&ev->extensions, "music"));
	assert_string_equal("n", ev->extensions.items[1].key);
	assert_null(ev->extensions.items[1].str);
	assert_int_equal(3, ev->extensions.items[1].num);
	assert_null(tlib_kv_get(&ev->extensions, "x"));
	assert_string_equal("k", tlib_kv_get(&ev->user_data, "case"));
	assert_int_equal(1, ev->reasons.n);
	assert_int_equal(1, ev->reasons.items[0].num);
	assert_non_null(json_object_get(ev->json, "FutureKey"));
	tlib_event_free(ev);
}

static void test_event_absent(void **state)
{
	struct fx *fx = *state;
	struct tlib_event *ev = NULL;

	/* Wrong types read as absent; a numeric CallState gets its name. */
	peer_send(fx, "{\"event\":\"EventHeld\",\"ConnID\":12,"
		      "\"ReferenceID\":\"3\",\"CallState\":50}\n");
	assert_int_equal(0, tlib_wait(fx->c, "EventHeld", 1000, &ev));
	assert_int_equal(0, ev->reference_id);
	assert_int_equal(-1, ev->seq);
	assert_null(ev->conn_id);
	assert_null(ev->this_dn);
	assert_null(ev->time);
	assert_int_equal(0, ev->error_code);
	assert_string_equal("Held", ev->call_state);
	assert_int_equal(0, ev->extensions.n);
	assert_null(tlib_kv_get(&ev->extensions, "music"));
	tlib_event_free(ev);
}

static void test_wait_match(void **state)
{
	struct fx *fx = *state;
	struct tlib_event *ev = NULL;

	peer_send(fx, "{\"event\":\"EventEstablished\",\"ThisDN\":\"1001\","
		      "\"ConnID\":\"" CONN "\"}\n"
		      "{\"event\":\"EventEstablished\",\"ThisDN\":\"1002\","
		      "\"ConnID\":\"" CONN "\",\"ReferenceID\":5,"
		      "\"Extensions\":{\"music\":\"/a b.wav\"}}\n"
		      "{\"event\":\"EventReleased\",\"ThisDN\":\"1002\"}\n");

	assert_int_equal(0, tlib_wait(fx->c,
				      "EventEstablished ThisDN=1002 "
				      "ConnID=" CONN " ReferenceID=5 "
				      "Extensions.music=\"/a b.wav\"",
				      1000, &ev));
	assert_string_equal("1002", ev->this_dn);
	tlib_event_free(ev);

	/* Both were dispatched; what follows the match stays buffered. */
	assert_int_equal(2, fx->nseen);
	assert_true(tlib_pending(fx->c));
	assert_int_equal(0, tlib_wait(fx->c, "* ThisDN=1002", 0, NULL));
	assert_string_equal("EventReleased", fx->seen[2]);

	assert_int_equal(ETIMEDOUT, tlib_wait(fx->c, "EventRinging", 50, NULL));
	assert_int_equal(EINVAL, tlib_wait(fx->c, "EventA ThisDN", 50, NULL));
	assert_int_equal(EINVAL, tlib_wait(fx->c, "EventA X=\"open", 50, NULL));
}

/* Other events arriving all the time do not stretch the timeout. */
static void test_wait_busy(void **state)
{
	struct fx *fx = *state;

	for (int i = 0; i < 200; i++)
		peer_send(fx, "{\"event\":\"EventA\"}\n");
	assert_int_equal(ETIMEDOUT, tlib_wait(fx->c, "EventB", 0, NULL));
	assert_true(fx->nseen > 0);
}

static void test_match_values(void **state)
{
	struct tlib_match *m = NULL;
	struct tlib_event ev = {.name = "EventA"};

	(void)state;
	ev.json = json_pack("{s:s,s:i,s:b,s:n,s:{s:i}}", "event", "EventA",
			    "ErrorCode", 53, "Flag", 1, "Nothing", "UserData",
			    "n", -4);

	assert_int_equal(0, tlib_match_parse(&m, "ErrorCode=53 Flag=true "
						 "Nothing=null UserData.n=-4"));
	assert_true(tlib_match_event(m, &ev));
	tlib_match_free(m);

	assert_int_equal(0, tlib_match_parse(&m, "EventA ErrorCode=5"));
	assert_false(tlib_match_event(m, &ev));
	tlib_match_free(m);

	assert_int_equal(0, tlib_match_parse(&m, "EventB"));
	assert_false(tlib_match_event(m, &ev));
	tlib_match_free(m);

	assert_int_equal(0, tlib_match_parse(&m, "UserData=x"));
	assert_false(tlib_match_event(m, &ev)); /* objects never match */
	tlib_match_free(m);
	json_decref(ev.json);
}

static void line_is(const char *line, const char *name, const char *json)
{
	json_t *attrs = NULL, *want = json_loads(json, 0, NULL);
	char *got = NULL;

	assert_int_equal(0, tlib_line_parse(line, &got, &attrs));
	assert_string_equal(name, got);
	assert_true(json_equal(want, attrs));
	free(got);
	json_decref(attrs);
	json_decref(want);
}

static void test_line_parse(void **state)
{
	json_t *attrs = NULL;
	char *name = NULL;

	(void)state;
	line_is("TMakeCall ThisDN=1001 OtherDN=1002\n", "TMakeCall",
		"{\"ThisDN\":\"1001\",\"OtherDN\":\"1002\"}");
	line_is("  THoldCall ReferenceID=7 ConnID=0001 Extensions.music=/x.wav",
		"THoldCall",
		"{\"ReferenceID\":7,\"ConnID\":\"0001\","
		"\"Extensions\":{\"music\":\"/x.wav\"}}");
	line_is("TMakeCall UserData.p:=5 UserData.s=\"a \\\"b\\\"\" X:=[1]",
		"TMakeCall",
		"{\"UserData\":{\"p\":5,\"s\":\"a \\\"b\\\"\"},\"X\":[1]}");
	line_is("TFoo", "TFoo", "{}");

	static const char *const bad[] = {
		"",
		"   ",
		"ThisDN=1001",
		"TFoo ThisDN",
		"TFoo =x",
		"TFoo ReferenceID=abc",
		"TFoo A=1 A=2",
		"TFoo X:={",
		"TFoo A.=1",
		"TFoo A=1 A.b=2",
		"TFoo A=\"open",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (tlib_line_parse(bad[i], &name, &attrs) != EINVAL)
			fail_msg("accepted: %s", bad[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_handshake, setup,
						teardown),
		cmocka_unit_test(test_handshake_refused),
		cmocka_unit_test(test_tcp_connect),
		cmocka_unit_test_setup_teardown(test_open_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_error, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_two_in_one_read, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_split_across_reads, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_long_line, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_line_at_limit, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bad_lines, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_error_in_order, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_eof, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reentry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reference_ids, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_requests_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_event_fields, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_event_absent, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_wait_match, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_wait_busy, setup,
						teardown),
		cmocka_unit_test(test_match_values),
		cmocka_unit_test(test_line_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
