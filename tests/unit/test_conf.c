/**
 * @file test_conf.c  The configuration file: defaults, every kind of
 * invalid input, and what a reload compares and keeps
 *
 * Each file is written to a fresh folder holding a "music" link to the
 * bundled music, so that the default music/on_hold resolves as it does
 * beside etc/sipserver.conf.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <re.h>
#include "log/log.h"
#include "cfg/cfg.h"

static char dir[256];
static char path[300];

static int group_setup(void **state)
{
	char link[300];
	(void)state;

	strcpy(dir, "/tmp/sipserver-test-conf-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(link, sizeof(link), "%s/music", dir);
	snprintf(path, sizeof(path), "%s/test.conf", dir);
	return symlink(SRC_DIR "/music", link);
}

static int group_teardown(void **state)
{
	char link[300];
	(void)state;

	snprintf(link, sizeof(link), "%s/music", dir);
	unlink(link);
	unlink(path);
	return rmdir(dir);
}

static void write_file(const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static struct cfg *load_ok(const char *text)
{
	struct cfg *cfg = NULL;
	char *problems = NULL;
	int err;

	write_file(text);
	err = cfg_load(&cfg, path, &problems);
	if (err)
		print_error("unexpected problems:\n%s", problems);
	assert_int_equal(0, err);
	assert_null(problems);
	return cfg;
}

/* The file must be refused with a problem containing every fragment. */
static void load_bad(const char *text, const char *const *want)
{
	struct cfg *cfg = (struct cfg *)0x1; /* must stay untouched */
	char *problems = NULL;

	write_file(text);
	assert_int_equal(EINVAL, cfg_load(&cfg, path, &problems));
	assert_ptr_equal((struct cfg *)0x1, cfg);
	assert_non_null(problems);
	for (; *want; want++) {
		if (!strstr(problems, *want))
			print_error("\"%s\" not in:\n%s", *want, problems);
		assert_non_null(strstr(problems, *want));
	}
	mem_deref(problems);
}

static void test_defaults(void **state)
{
	struct cfg *cfg = load_ok("[TServer]\n");
	char want[400];
	(void)state;

	assert_string_equal("Home", cfg->location);
	assert_true(sa_is_loopback(&cfg->sip_address));
	assert_int_equal(5060, cfg->sip_port);
	assert_int_equal(3000, cfg->tlib_port);
	assert_int_equal(8080, cfg->http_port);
	assert_int_equal(20000, cfg->rtp_port_min);
	assert_int_equal(29999, cfg->rtp_port_max);
	assert_string_equal("", cfg->client_password);
	assert_false(cfg->call_info);
	assert_false(cfg->call_info_extended);
	snprintf(want, sizeof(want), "%s/music/on_hold", dir);
	assert_string_equal(want, cfg->music_listen_disconnect);
	assert_string_equal(want, cfg->default_music);
	assert_int_equal(LOG_INFO, cfg->log_level);
	snprintf(want, sizeof(want), "%s/web", dir);
	assert_string_equal(want, cfg->web_root);
	assert_true(sa_is_loopback(&cfg->http_address));
	assert_int_equal(sysconf(_SC_NPROCESSORS_ONLN) > 64
				 ? 64
				 : sysconf(_SC_NPROCESSORS_ONLN),
			 cfg->media_threads);
	assert_int_equal(30, cfg->rtp_timeout);
	assert_int_equal(60, cfg->no_answer_timeout);
	assert_int_equal(0, cfg->sip_tls_port);
	assert_int_equal(0, cfg->tlib_tls_port);
	assert_null(cfg->tls_certificate);
	assert_int_equal(10, cfg->auth_fail_limit);
	assert_null(cfg->dnl.head);
	mem_deref(cfg);
}

static void test_values_and_dns(void **state)
{
	const struct cfg_dn *dn;
	struct cfg *cfg =
		load_ok("; comment\n"
			"[TServer]\n"
			"location = SiteA\n"
			"sip-address = ::1\n"
			"sip-port = 5070\n"
			"http-port = 0\n"
			"sip-enable-call-info = TRUE\n"
			"default-music = music/on_hold/sipserver-loop.wav\n"
			"log-level = debug\n"
			"media-threads = 3\n"
			"rtp-timeout = 0\n"
			"\n"
			"[dn:1001]\n"
			"[dn:1002]\n"
			"password = secret\n"
			"[dn:1003]\n"
			"password =\n"
			"[dn:trunk-b]\n"
			"type = Trunk\n"
			"contact = sip:127.0.0.1:6060\n"
			"prefix = 9\n"
			"sip-server-inter-trunk = true\n"
			"sip-enable-moh = false\n");
	(void)state;

	assert_string_equal("SiteA", cfg->location);
	assert_int_equal(AF_INET6, sa_af(&cfg->sip_address));
	assert_int_equal(5070, cfg->sip_port);
	assert_int_equal(0, cfg->http_port);
	assert_true(cfg->call_info);
	assert_int_equal(LOG_DEBUG, cfg->log_level);
	assert_int_equal(3, cfg->media_threads);
	assert_int_equal(0, cfg->rtp_timeout);
	assert_non_null(strstr(cfg->default_music, "/sipserver-loop.wav"));

	dn = cfg_dn_find(cfg, "1001");
	assert_non_null(dn);
	assert_int_equal(CFG_DN_EXTENSION, dn->type);
	assert_null(dn->password);
	assert_string_equal("secret", cfg_dn_find(cfg, "1002")->password);
	assert_null(cfg_dn_find(cfg, "1003")->password);
	assert_null(cfg_dn_find(cfg, "1004"));

	dn = cfg_dn_find(cfg, "trunk-b");
	assert_int_equal(CFG_DN_TRUNK, dn->type);
	assert_string_equal("sip:127.0.0.1:6060", dn->contact);
	assert_string_equal("9", dn->prefix);
	assert_true(dn->inter_trunk);
	assert_false(dn->moh);
	assert_int_equal(18, dn->line);
	mem_deref(cfg);
}

#define BAD(text, ...)                                                         \
	do {                                                                   \
		const char *const want_[] = {__VA_ARGS__, NULL};               \
		load_bad(text, want_);                                         \
	} while (0)

static void test_invalid_tserver(void **state)
{
	(void)state;

	BAD("[TServer]\nbogus = 1\n", "test.conf:2: [TServer] bogus: unknown");
	BAD("[foo]\nx = 1\n", ":1: [foo]: unknown section");
	BAD("x = 1\n", ":1: [] x: option outside any section");
	BAD("[TServer]\nsip-port = abc\n",
	    ":2: [TServer] sip-port:", "\"abc\" is not a number");
	BAD("[TServer]\nsip-port = 70000\n", ":2: [TServer] sip-port:",
	    "\"70000\" is not in the range 1..65535");
	BAD("[TServer]\nsip-port = 0\n", "sip-port: \"0\" is not in the range");
	BAD("[TServer]\nsip-port = -1\n", "sip-port: \"-1\"");
	BAD("[TServer]\nsip-port = 5060x\n", "sip-port: \"5060x\"");
	BAD("[TServer]\nhttp-port = \n", "http-port: \"\"");
	BAD("[TServer]\nsip-address = localhost\n",
	    ":2: [TServer] sip-address: \"localhost\" is not an IPv4");
	BAD("[TServer]\nsip-address = 0.0.0.0\n", "sip-address: 0.0.0.0 is a "
						  "wildcard");
	BAD("[TServer]\nlog-level = loud\n", ":2: [TServer] log-level: "
					     "\"loud\" is not one of");
	BAD("[TServer]\nsip-enable-call-info = yes\n",
	    "sip-enable-call-info: \"yes\" is not true or false");
	BAD("[TServer]\nmedia-threads = 0\n", "media-threads: \"0\" is not in "
					      "the range 1..64");
	BAD("[TServer]\nmedia-threads = 65\n", "media-threads: \"65\"");
	BAD("[TServer]\nno-answer-timeout = 0\n", "no-answer-timeout: \"0\"");
	BAD("[TServer]\nlocation =\n", "location: must not be empty");
	BAD("[TServer]\nlocation = two words\n", "location: \"two words\" "
						 "contains a space");
	BAD("[TServer]\nsip-port = 5060\nsip-port = 5061\n",
	    ":3: [TServer] sip-port: set twice (first on line 2)");
}

static void test_invalid_music(void **state)
{
	(void)state;

	BAD("[TServer]\ndefault-music = /nonexistent/moh.wav\n",
	    ":2: [TServer] default-music: cannot read "
	    "\"/nonexistent/moh.wav\"");
	BAD("[TServer]\nmusic-listen-disconnect = test.conf\n",
	    ":2: [TServer] music-listen-disconnect:",
	    "test.conf\" is not an audio file");
	/* a folder with something that is not audio in it */
	BAD("[TServer]\ndefault-music = .\n",
	    "default-music:", "is not an audio file");
}

static void test_invalid_cross(void **state)
{
	(void)state;

	BAD("[TServer]\nsip-port = 3000\n",
	    "tlib-port: port 3000 is also sip-port");
	BAD("[TServer]\nrtp-port-min = 30000\nrtp-port-max = 30000\n",
	    ":3: [TServer] rtp-port-max: 30000 is not above rtp-port-min");
	BAD("[TServer]\nsip-port = 20000\n", ":2: [TServer] sip-port: 20000 "
					     "is inside the RTP range");
	BAD("[TServer]\nsip-tls-port = 5061\n", ":2: [TServer] "
						"tls-certificate: is needed");
	BAD("[TServer]\nsip-tls-port = 5061\ntls-certificate = nope.pem\n",
	    ":3: [TServer] tls-certificate: cannot read");
}

static void test_invalid_dn(void **state)
{
	(void)state;

	BAD("[dn:1001]\ntype = Phone\n",
	    ":2: [dn:1001] type: \"Phone\" is not Extension or Trunk");
	BAD("[dn:1001]\ncolour = red\n", ":2: [dn:1001] colour: unknown");
	BAD("[dn:1001]\n[dn:1001]\n", ":2: [dn:1001]: DN defined twice "
				      "(first on line 1)");
	BAD("[dn:]\n", ":1: [dn:]: bad DN name");
	BAD("[dn:10 01]\n", "bad DN name \"10 01\"");
	BAD("[dn:1001]\nprefix = 9\n", ":1: [dn:1001]: contact, prefix");
	BAD("[dn:t]\ntype = Trunk\n", ":1: [dn:t] contact: a Trunk needs");
	BAD("[dn:t]\ntype = Trunk\ncontact = http://x\n",
	    ":3: [dn:t] contact: \"http://x\" is not a sip:");
	BAD("[dn:t]\ntype = Trunk\ncontact = sip:a\npassword = x\n",
	    "[dn:t] password: is an Extension option");
	BAD("[dn:t]\ntype = Trunk\ncontact = sip:a\nprefix = 9a\n",
	    ":4: [dn:t] prefix: \"9a\" is not made of digits");
	BAD("[dn:a]\ntype = Trunk\ncontact = sip:a\nprefix = 9\n"
	    "[dn:b]\ntype = Trunk\ncontact = sip:b\nprefix = 9\n",
	    ":5: [dn:b] prefix: \"9\" is also the prefix of trunk a (line 1)");
	BAD("[dn:1001]\nsip-enable-moh = maybe\n",
	    ":2: [dn:1001] sip-enable-moh: \"maybe\" is not true or false");
}

static void test_invalid_syntax(void **state)
{
	char text[600];
	(void)state;

	BAD("[TServer]\njust words\n", ":2: [TServer]: syntax error");
	BAD("[TServer\n", ":1:", "syntax error");
	BAD("[TServer]\nsip-port = 5060\n  5061\n",
	    ":3: [TServer]: indented line");

	memset(text, 0, sizeof(text));
	strcpy(text, "[TServer]\nclient-password = ");
	memset(text + strlen(text), 'x', 300);
	strcat(text, "\nsip-port = abc\n");
	BAD(text, ":2: [TServer]: line longer than", ":3: [TServer] sip-port:");
}

/* A NUL byte ends no line: it is reported on its own line, and the next
 * line is read and numbered as itself (fuzz/corpus/cfg_file/nul-byte) */
static void test_nul_byte(void **state)
{
	static const char text[] = "[TServer]\nlo\0cation = A\n"
				   "sip-port = 99999\n";
	struct cfg *cfg = NULL;
	char *problems = NULL;
	FILE *f = fopen(path, "w");

	(void)state;

	assert_non_null(f);
	assert_int_equal(sizeof(text) - 1,
			 fwrite(text, 1, sizeof(text) - 1, f));
	fclose(f);

	assert_int_equal(EINVAL, cfg_load(&cfg, path, &problems));
	assert_non_null(problems);
	assert_non_null(strstr(problems, ":2: [TServer]: NUL byte"));
	assert_non_null(strstr(problems, ":3: [TServer] sip-port:"));
	assert_null(strstr(problems, "longer than"));
	assert_null(cfg);
	mem_deref(problems);
}

static void test_all_problems_reported(void **state)
{
	(void)state;

	BAD("[TServer]\nsip-port = x\nlog-level = y\n[dn:1]\ntype = z\n",
	    ":2: [TServer] sip-port", ":3: [TServer] log-level",
	    ":5: [dn:1] type");
}

static void test_unreadable_file(void **state)
{
	struct cfg *cfg = NULL;
	char *problems = NULL;
	(void)state;

	assert_int_equal(ENOENT,
			 cfg_load(&cfg, "/nonexistent/x.conf", &problems));
	assert_null(cfg);
	assert_non_null(strstr(problems, "/nonexistent/x.conf: cannot open"));
	mem_deref(problems);
}

struct changes {
	char text[1024];
};

static void change_h(const char *option, const char *oldval, const char *newval,
		     bool restart, void *arg)
{
	struct changes *c = arg;
	size_t len = strlen(c->text);

	snprintf(c->text + len, sizeof(c->text) - len, "%s:%s>%s%s;", option,
		 oldval, newval, restart ? "!" : "");
}

static void test_reload_diff_and_keep(void **state)
{
	struct cfg *old =
		load_ok("[TServer]\nsip-port = 5060\n"
			"client-password = a\n[dn:1001]\n[dn:1002]\n");
	struct cfg *cur = load_ok("[TServer]\nsip-port = 5070\nlog-level = "
				  "debug\nclient-password = b\n[dn:1002]\n"
				  "password = p\n[dn:1003]\n");
	struct changes c = {""};
	(void)state;

	assert_int_equal(0, cfg_diff(old, cur, change_h, &c));
	assert_string_equal("sip-port:5060>5070!;client-password:***>***;"
			    "log-level:info>debug;"
			    "dn:1001:Extension>(none);"
			    "dn:1002:Extension>Extension with password;"
			    "dn:1003:(none)>Extension;",
			    c.text);

	/* restart-only options keep their running value, others switch */
	cfg_keep_restart_options(cur, old);
	assert_int_equal(5060, cur->sip_port);
	assert_int_equal(LOG_DEBUG, cur->log_level);
	assert_string_equal("b", cur->client_password);

	/* the old snapshot can go first: nothing is shared unsafely */
	mem_deref(old);
	assert_string_equal("Home", cur->location);
	mem_deref(cur);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_values_and_dns),
		cmocka_unit_test(test_invalid_tserver),
		cmocka_unit_test(test_invalid_music),
		cmocka_unit_test(test_invalid_cross),
		cmocka_unit_test(test_invalid_dn),
		cmocka_unit_test(test_invalid_syntax),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_all_problems_reported),
		cmocka_unit_test(test_unreadable_file),
		cmocka_unit_test(test_reload_diff_and_keep),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
