/**
 * @file test_metrics.c  The operator's surface without a server: the
 * Prometheus text writer (src/http/expo.c), the /metrics and /status
 * pages made from a sample built by hand, the SIP and CTI counters'
 * label rules (src/stats/), who may read the pages (src/cfg/net.c) and a
 * media worker's frame times (src/media/load.c)
 *
 * The page is also checked against the format's rules line by line:
 * every family has one HELP and one TYPE before its samples, counters end
 * in _total, histograms end in +Inf with _count equal to it; promtool
 * checks the real page in tests/e2e/test_ops.py.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>
#include <re_types.h>
#include <re_fmt.h>
#include <re_mem.h>
#include <re_mbuf.h>
#include <re_list.h>
#include <re_sa.h>
#include "stats/stats.h"
#include "cfg/cfg.h"
#include "call/call.h"
#include "call/census.h"
#include "tlib/tsrv.h"
#include "media/codec.h"
#include "media/jb.h"
#include "media/mix.h"
#include "media/media.h"
#include "media/priv.h"
#include "http/sample.h"

/* The buffer's text, NUL-terminated (the buffer keeps its length) */
static const char *text(struct mbuf *mb)
{
	assert_int_equal(0, mbuf_write_u8(mb, 0));
	--mb->end;
	return (const char *)mb->buf;
}

static void test_family_and_escaping(void **state)
{
	struct mbuf *mb = mbuf_alloc(256);
	(void)state;

	assert_int_equal(0, metrics_family(mb, "a_total", "counter",
					   "back\\slash\nnew \"line\""));
	assert_int_equal(0, metrics_u64(mb, "a_total",
					(const struct metrics_label[]){
						{"x", "q\"b\\n\nl"},
						{"y", ""},
					},
					2, 18446744073709551615ULL));
	assert_int_equal(0, metrics_u64(mb, "b", NULL, 0, 0));
	assert_string_equal(
		"# HELP a_total back\\\\slash\\nnew \"line\"\n"
		"# TYPE a_total counter\n"
		"a_total{x=\"q\\\"b\\\\n\\nl\",y=\"\"} 18446744073709551615\n"
		"b 0\n",
		text(mb));
	assert_int_equal(EINVAL, metrics_family(mb, "c", NULL, "h"));
	assert_int_equal(EINVAL, metrics_u64(mb, "c", NULL, 1, 0));
	mem_deref(mb);
}

static void test_floats(void **state)
{
	struct mbuf *mb = mbuf_alloc(256);
	(void)state;

	assert_int_equal(0, metrics_f64(mb, "r", NULL, 0, 0.5));
	assert_int_equal(0, metrics_f64(mb, "r", NULL, 0, 2.8e-05));
	assert_int_equal(0, metrics_f64(mb, "r", NULL, 0, 1795618242.0));
	assert_int_equal(0, metrics_f64(mb, "r", NULL, 0, 0));
	assert_string_equal("r 0.5\nr 2.8e-05\nr 1795618242\nr 0\n", text(mb));
	mem_deref(mb);
}

static void test_histogram(void **state)
{
	static const uint64_t bounds[] = {500000, 2500000, 20000000};
	static const uint64_t counts[] = {3, 0, 2, 1};
	struct mbuf *mb = mbuf_alloc(512);
	(void)state;

	assert_int_equal(0, metrics_histogram(mb, "f_seconds",
					      (const struct metrics_label[]){
						      {"worker", "0"},
					      },
					      1, bounds, counts, 3, 0.0125));
	assert_string_equal("f_seconds_bucket{worker=\"0\",le=\"0.0005\"} 3\n"
			    "f_seconds_bucket{worker=\"0\",le=\"0.0025\"} 3\n"
			    "f_seconds_bucket{worker=\"0\",le=\"0.02\"} 5\n"
			    "f_seconds_bucket{worker=\"0\",le=\"+Inf\"} 6\n"
			    "f_seconds_sum{worker=\"0\"} 0.0125\n"
			    "f_seconds_count{worker=\"0\"} 6\n",
			    text(mb));
	mem_deref(mb);
}

static struct stats_counters ctr;
static struct stats_life life = {.started = 1700000000,
				 .loaded = 1700000100,
				 .reloaded = 1700000200,
				 .reload_failed = true};
static struct cfg conf;

static struct httpd_sample *sample_new(void)
{
	struct httpd_sample *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	conf.path = (char *)"/nonexistent/sipserver.conf";
	conf.location = (char *)"Home";
	conf.client_password = (char *)"sEcReT-client";
	s->cfg = &conf;
	s->life = &life;
	s->ctr = &ctr;
	s->now = 1700000300;
	s->uptime = 300500;
	s->extensions = 10;
	s->registered = 3;
	s->contacts = 4;
	s->calls.calls = 2;
	s->calls.types[CALL_INBOUND] = 1;
	s->calls.types[CALL_INTERNAL] = 1;
	s->calls.conferences = 1;
	s->calls.parties[PARTY_ESTABLISHED] = 4;
	s->calls.parties[PARTY_LISTEN_DISCONNECTED] = 1;
	s->cti.clients = 2;
	s->cti.registrations = 3;
	s->cti.events = 99;
	s->rtp_legs = 5;
	s->music_files = 1;
	s->nworkers = 2;
	s->workers[1].legs = 5;
	s->workers[1].music = 1;
	s->workers[1].rx = 1234;
	s->workers[1].rx_lost = 7;
	s->workers[1].late = 2;
	s->workers[1].load = 0.25;
	s->workers[1].hist[0] = 10;
	s->workers[1].hist[MEDIA_FRAME_BUCKETS] = 1;
	s->workers[1].busy = 21000000;
	return s;
}

/* Does the page hold this exact line? */
static bool has_line(const char *page, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = page; p; p = strchr(p, '\n')) {
		if (*p == '\n')
			++p;
		if (!strncmp(p, line, n) && (p[n] == '\n' || !p[n]))
			return true;
	}

	return false;
}

/* The family a sample line belongs to: its name, less a histogram's
 * suffix when the family is a histogram */
static void family_of(char *fam, size_t sz, const char *line,
		      const char *histogram)
{
	size_t n = strcspn(line, "{ ");

	assert_true(n < sz);
	memcpy(fam, line, n);
	fam[n] = '\0';
	if (!histogram)
		return;
	for (const char *suf = "_bucket\0_sum\0_count\0"; *suf;
	     suf += strlen(suf) + 1) {
		size_t k = strlen(suf), m = strlen(fam);

		if (m > k && !strcmp(fam + m - k, suf) &&
		    !strncmp(fam, histogram, m - k) && !histogram[m - k])
			fam[m - k] = '\0';
	}
}

/* Every family: HELP then TYPE, once, before its samples; counters end
 * in _total, nothing else does; sample names are their family's */
static void check_format(const char *page)
{
	char help[128] = "", type[128] = "", kind[32] = "", fam[128];
	const char *p = page;

	while (*p) {
		const char *nl = strchr(p, '\n');
		char line[512];
		size_t n;

		assert_non_null(nl); /* every line ends in \n */
		n = (size_t)(nl - p);
		assert_true(n < sizeof(line));
		memcpy(line, p, n);
		line[n] = '\0';
		p = nl + 1;

		if (!strncmp(line, "# HELP ", 7)) {
			assert_int_equal(1, sscanf(line, "# HELP %127s", help));
			assert_false(has_line(p, line)); /* once */
			continue;
		}
		if (!strncmp(line, "# TYPE ", 7)) {
			assert_int_equal(2, sscanf(line, "# TYPE %127s %31s",
						   type, kind));
			assert_string_equal(help, type);
			n = strlen(type);
			if (!strcmp(kind, "counter"))
				assert_string_equal("_total", type + n - 6);
			else
				assert_true(n < 6 ||
					    strcmp("_total", type + n - 6));
			continue;
		}

		family_of(fam, sizeof(fam), line,
			  strcmp(kind, "histogram") ? NULL : type);
		assert_string_equal(type, fam);
	}
}

static void test_metrics_page(void **state)
{
	struct httpd_sample *s = sample_new();
	struct mbuf *mb = mbuf_alloc(16384);
	const char *page;
	(void)state;

	memset(&ctr, 0, sizeof(ctr));
	atomic_store(&ctr.sip_req[STATS_IN][4], 3);
	atomic_store(&ctr.sip_resp[STATS_OUT][4][100], 2);
	atomic_store(&ctr.sip_resp[STATS_OUT][0][STATS_SIP_CODES - 1], 1);
	atomic_store(&ctr.cti_req[STATS_CTI_REQUESTS - 1], 4);
	atomic_store(&ctr.cti_err[15][1], 1);
	atomic_store(&ctr.listen_disconnects, 2);
	atomic_store(&ctr.listen_reconnects[STATS_RECONNECT_RELEASED], 1);

	assert_int_equal(0, httpd_metrics_render(mb, s));
	page = text(mb);
	check_format(page);

	assert_true(has_line(page,
			     "sipserver_build_info{version=\"" SIPSERVER_VERSION
			     "\"} 1"));
	assert_true(
		has_line(page, "sipserver_config_last_reload_successful 0"));
	assert_true(has_line(page, "sipserver_config_last_reload_success_"
				   "timestamp_seconds 1700000100"));
	assert_true(has_line(page, "sipserver_sip_requests_total{direction="
				   "\"in\",method=\"REGISTER\"} 3"));
	assert_true(has_line(page, "sipserver_sip_requests_total{direction="
				   "\"out\",method=\"BYE\"} 0"));
	assert_true(has_line(page, "sipserver_sip_responses_total{direction="
				   "\"out\",method=\"REGISTER\",code=\"200\"} "
				   "2"));
	assert_true(has_line(page, "sipserver_sip_responses_total{direction="
				   "\"out\",method=\"INVITE\",code=\"other\"} "
				   "1"));
	/* a response never sent is not listed */
	assert_null(strstr(page, "code=\"404\""));
	assert_true(has_line(page, "sipserver_registrations 3"));
	assert_true(has_line(page, "sipserver_registration_contacts 4"));
	assert_true(has_line(page, "sipserver_calls{type=\"Inbound\"} 1"));
	assert_true(has_line(page, "sipserver_calls{type=\"Consult\"} 0"));
	assert_true(has_line(page, "sipserver_conferences 1"));
	assert_true(has_line(page, "sipserver_parties{state="
				   "\"ListenDisconnected\"} 1"));
	assert_true(has_line(page, "sipserver_listen_disconnects_total 2"));
	assert_true(has_line(page, "sipserver_listen_reconnects_total{reason="
				   "\"conference_released\"} 1"));
	assert_true(has_line(page, "sipserver_cti_clients 2"));
	assert_true(has_line(page, "sipserver_cti_requests_total{request="
				   "\"other\"} 4"));
	assert_true(has_line(page, "sipserver_cti_requests_total{request="
				   "\"TListenReconnect\"} 0"));
	assert_true(has_line(page, "sipserver_cti_errors_total{request="
				   "\"TListenDisconnect\",code=\"43\"} 1"));
	assert_true(has_line(page, "sipserver_rtp_packets_received_total{"
				   "worker=\"1\"} 1234"));
	assert_true(has_line(page, "sipserver_rtp_packets_lost_total{"
				   "worker=\"1\"} 7"));
	assert_true(has_line(page, "sipserver_media_frames_late_total{"
				   "worker=\"1\"} 2"));
	assert_true(has_line(page, "sipserver_media_busy_ratio{worker=\"1\"} "
				   "0.25"));
	assert_true(has_line(page, "sipserver_media_frame_duration_seconds_"
				   "bucket{worker=\"1\",le=\"5e-05\"} 10"));
	assert_true(has_line(page, "sipserver_media_frame_duration_seconds_"
				   "bucket{worker=\"1\",le=\"+Inf\"} 11"));
	assert_true(has_line(page, "sipserver_media_frame_duration_seconds_"
				   "sum{worker=\"1\"} 0.021"));
	assert_true(has_line(page, "sipserver_media_frame_duration_seconds_"
				   "count{worker=\"1\"} 11"));
	assert_true(has_line(page, "sipserver_music_streams 1"));
	assert_null(strstr(page, "sEcReT"));

	mem_deref(mb);
	free(s);
}

static void test_status_page(void **state)
{
	struct httpd_sample *s = sample_new();
	struct mbuf *mb = mbuf_alloc(4096);
	json_error_t jerr;
	json_t *o, *w;
	const char *page;
	(void)state;

	memset(&ctr, 0, sizeof(ctr));
	atomic_store(&ctr.reloads_ok, 1);
	atomic_store(&ctr.reloads_failed, 1);
	assert_int_equal(0, httpd_status_render(mb, s));
	page = text(mb);
	assert_null(strstr(page, "sEcReT"));
	o = json_loads(page, 0, &jerr);
	assert_non_null(o);

	assert_string_equal(SIPSERVER_VERSION,
			    json_string_value(json_object_get(o, "version")));
	assert_true(json_real_value(json_object_get(o, "uptime_seconds")) ==
		    300.5);
	assert_string_equal("/nonexistent/sipserver.conf",
			    json_string_value(json_object_get(
				    json_object_get(o, "config"), "file")));
	assert_string_equal("2023-11-14T22:15:00Z",
			    json_string_value(json_object_get(
				    json_object_get(o, "config"), "loaded")));
	assert_true(json_is_true(json_object_get(
		json_object_get(json_object_get(o, "config"), "last_reload"),
		"failed")));
	assert_int_equal(
		3, json_integer_value(json_object_get(
			   json_object_get(o, "registrations"), "registered")));
	assert_int_equal(1, json_integer_value(json_object_get(
				    json_object_get(o, "calls"), "Inbound")));
	assert_int_equal(1,
			 json_integer_value(json_object_get(o, "conferences")));
	assert_int_equal(5, json_integer_value(json_object_get(
				    json_object_get(o, "parties"), "total")));
	assert_int_equal(2, json_integer_value(json_object_get(
				    json_object_get(o, "cti"), "clients")));
	w = json_array_get(
		json_object_get(json_object_get(o, "media"), "workers"), 1);
	assert_true(json_real_value(json_object_get(w, "load")) == 0.25);
	assert_int_equal(2,
			 json_integer_value(json_object_get(w, "late_frames")));
	assert_int_equal(2,
			 json_integer_value(json_object_get(
				 json_object_get(o, "media"), "late_frames")));

	json_decref(o);
	mem_deref(mb);
	free(s);
}

static void sip_parse(const char *msg, int err, bool req, const char *method,
		      size_t code)
{
	struct stats_sip_msg m;

	assert_int_equal(
		err, stats_sip_parse(&m, (const uint8_t *)msg, strlen(msg)));
	if (err)
		return;
	assert_int_equal(req, m.req);
	assert_string_equal(method, stats_sip_method_name(m.method));
	if (!req)
		assert_int_equal(code, m.code);
}

static void test_sip_labels(void **state)
{
	(void)state;

	sip_parse("INVITE sip:1002@h SIP/2.0\r\nCSeq: 1 INVITE\r\n\r\n", 0,
		  true, "INVITE", 0);
	sip_parse("FOO sip:x SIP/2.0\r\n\r\n", 0, true, "other", 0);
	sip_parse("invite sip:x SIP/2.0\r\n\r\n", 0, true, "other", 0);
	sip_parse("SIP/2.0 200 OK\r\nVia: x\r\ncseq:  7  REGISTER\r\n\r\n", 0,
		  false, "REGISTER", 100);
	sip_parse("SIP/2.0 486 Busy\r\nCSeq:1 BYE\r\n\r\n", 0, false, "BYE",
		  386);
	/* a CSeq in the body is not the header's */
	sip_parse("SIP/2.0 180 R\r\nTo: x\r\n\r\n\r\nCSeq: 1 BYE\r\n", 0, false,
		  "other", 80);
	sip_parse("SIP/2.0 099 Odd\r\nCSeq: 1 INFO\r\n\r\n", 0, false, "INFO",
		  STATS_SIP_CODES - 1);
	sip_parse("SIP/2.0 700 Odd\r\nCSeq: 1 INFO\r\n\r\n", 0, false, "INFO",
		  STATS_SIP_CODES - 1);
	sip_parse("SIP/2.0 2x0 OK\r\n\r\n", EBADMSG, false, "", 0);
	sip_parse("\r\n\r\n", EBADMSG, false, "", 0);
	sip_parse("INVITE", EBADMSG, false, "", 0);
	sip_parse("", EBADMSG, false, "", 0);
}

static void test_cti_labels(void **state)
{
	(void)state;

	assert_string_equal("TOpenServer", stats_cti_request_name(0));
	assert_string_equal("TListenReconnect",
			    stats_cti_request_name(STATS_CTI_REQUESTS - 2));
	assert_string_equal("other",
			    stats_cti_request_name(STATS_CTI_REQUESTS - 1));
	assert_int_equal(41, stats_cti_code(0));
	assert_int_equal(0, stats_cti_code(STATS_CTI_CODES - 1));

	memset((void *)stats_counters(), 0, sizeof(struct stats_counters));
	stats_cti_request("TMakeCall");
	stats_cti_request("TNoSuchThing");
	stats_cti_request(NULL);
	stats_cti_error("TMakeCall", 57);
	stats_cti_error("TMakeCall", 99);
	stats_cti_error(NULL, 53);
	assert_int_equal(1, atomic_load(&stats_counters()->cti_req[5]));
	assert_int_equal(
		2, atomic_load(
			   &stats_counters()->cti_req[STATS_CTI_REQUESTS - 1]));
	assert_int_equal(1, atomic_load(&stats_counters()->cti_err[5][6]));
	assert_int_equal(
		1, atomic_load(
			   &stats_counters()->cti_err[5][STATS_CTI_CODES - 1]));
	assert_int_equal(
		1,
		atomic_load(
			&stats_counters()->cti_err[STATS_CTI_REQUESTS - 1][4]));
}

static bool peer_in(const char *list, const char *addr)
{
	struct sa peer;

	assert_int_equal(0, sa_set_str(&peer, addr, 4711));
	return cfg_nets_match(list, &peer);
}

static void test_nets(void **state)
{
	static const char *const bad[] = {
		"1.2.3",      "10.0.0.0/33", "::1/129",	   "10.0.0.0/",
		"10.0.0.0/x", "host",	     "1.2.3.4/-1", "1.2.3.4/0008",
	};
	char why[128];
	(void)state;

	assert_int_equal(0, cfg_nets_check("", why, sizeof(why)));
	assert_int_equal(0,
			 cfg_nets_check("127.0.0.0/8, ::1", why, sizeof(why)));
	assert_int_equal(0, cfg_nets_check(" 10.1.0.0/16,,192.0.2.7 ::/0 ", why,
					   sizeof(why)));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(EINVAL,
				 cfg_nets_check(bad[i], why, sizeof(why)));
		assert_non_null(strstr(why, bad[i]));
	}

	assert_true(peer_in("127.0.0.0/8, ::1", "127.0.0.2"));
	assert_true(peer_in("127.0.0.0/8, ::1", "::1"));
	assert_true(peer_in("127.0.0.0/8", "::ffff:127.0.0.1"));
	assert_false(peer_in("127.0.0.0/8, ::1", "10.0.0.1"));
	assert_false(peer_in("127.0.0.1/32", "127.0.0.2"));
	assert_true(peer_in("127.0.0.1", "127.0.0.1"));
	assert_true(peer_in("10.1.2.0/23", "10.1.3.255"));
	assert_false(peer_in("10.1.2.0/23", "10.1.4.0"));
	assert_true(peer_in("0.0.0.0/0", "192.0.2.1"));
	assert_false(peer_in("0.0.0.0/0", "2001:db8::1"));
	assert_true(peer_in("2001:db8::/33", "2001:db8:7fff::1"));
	assert_false(peer_in("2001:db8::/33", "2001:db8:8000::1"));
	assert_false(peer_in("", "127.0.0.1"));
	assert_false(peer_in(NULL, "127.0.0.1"));
	assert_false(peer_in("bogus, 127.0.0.1", "127.0.0.1"));
}

static void test_frame_load(void **state)
{
	struct worker *w = calloc(1, sizeof(*w));
	const uint64_t t = 5000000000ULL, ms = 1000000;
	(void)state;

	assert_non_null(w);
	/* one second of frames every 20 ms, each taking 2 ms */
	for (uint64_t f = 0; f <= 50; f++)
		worker_load(w, t + f * 20 * ms, t + f * 20 * ms + 2 * ms);
	assert_int_equal(51, atomic_load(&w->frame_hist[5])); /* <= 2.5 ms */
	assert_int_equal(0, atomic_load(&w->frame_hist[4]));
	assert_int_equal(102 * ms, atomic_load(&w->busy_ns));
	/* the window closed at the 51st frame: 102 ms of 1002 ms */
	assert_int_equal(101796, atomic_load(&w->load_ppm));
	assert_int_equal(2 * ms, atomic_load(&w->frame_max_ns));

	/* an overrun goes above the last bound; exactly a bound is in it */
	worker_load(w, t + 2 * 1000 * ms, t + 2 * 1000 * ms + 25 * ms);
	worker_load(w, t + 3 * 1000 * ms, t + 3 * 1000 * ms + 50000);
	assert_int_equal(1, atomic_load(&w->frame_hist[MEDIA_FRAME_BUCKETS]));
	assert_int_equal(1, atomic_load(&w->frame_hist[0]));
	free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_family_and_escaping),
		cmocka_unit_test(test_floats),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_metrics_page),
		cmocka_unit_test(test_status_page),
		cmocka_unit_test(test_sip_labels),
		cmocka_unit_test(test_cti_labels),
		cmocka_unit_test(test_nets),
		cmocka_unit_test(test_frame_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
