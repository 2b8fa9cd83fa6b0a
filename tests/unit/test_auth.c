/**
 * @file test_auth.c  Digest authentication and the failure limit
 *
 * The digest arithmetic is checked against the worked examples of
 * RFC 2617 (3.5) and RFC 7616 (3.9.1, MD5); the nonce's freshness,
 * staleness and forgery with an injected clock; the per-address limit
 * with time moved by hand.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <re.h>
#include "reg/reg.h"

static void rfc_vector(const char *hval, const char *user, const char *realm,
		       const char *password, const char *method)
{
	struct httpauth_digest_resp resp;
	uint8_t ha1[MD5_SIZE];
	struct pl pl, met;

	pl_set_str(&pl, hval);
	pl_set_str(&met, method);
	assert_int_equal(0, httpauth_digest_response_decode(&resp, &pl));

	reg_auth_ha1(ha1, user, realm, password);
	assert_int_equal(0, httpauth_digest_response_auth(&resp, &met, ha1));

	/* one letter of the password wrong: refused */
	reg_auth_ha1(ha1, user, realm, "Circle Of Lifx");
	assert_int_not_equal(0,
			     httpauth_digest_response_auth(&resp, &met, ha1));
}

static void test_rfc2617_example(void **state)
{
	(void)state;
	rfc_vector("Digest username=\"Mufasa\", realm=\"testrealm@host.com\", "
		   "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", "
		   "uri=\"/dir/index.html\", qop=auth, nc=00000001, "
		   "cnonce=\"0a4f113b\", "
		   "response=\"6629fae49393a05397450978507c4ef1\", "
		   "opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"",
		   "Mufasa", "testrealm@host.com", "Circle Of Life", "GET");
}

static void test_rfc7616_md5_example(void **state)
{
	(void)state;
	rfc_vector(
		"Digest username=\"Mufasa\", realm=\"http-auth@example.org\", "
		"uri=\"/dir/index.html\", algorithm=MD5, "
		"nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", "
		"nc=00000001, "
		"cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\", "
		"qop=auth, response=\"8ca523f5e9506fed4657c9700eebdbec\", "
		"opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"",
		"Mufasa", "http-auth@example.org", "Circle of Life", "GET");
}

/* What a phone sends: computed here independently of reg_auth_ha1 */
static void answer(char *hval, size_t sz, const char *user,
		   const char *password, const char *nonce)
{
	uint8_t ha1[MD5_SIZE], ha2[MD5_SIZE], resp[MD5_SIZE];

	md5_printf(ha1, "%s:Home:%s", user, password);
	md5_printf(ha2, "REGISTER:sip:127.0.0.1");
	md5_printf(resp, "%w:%s:00000001:abcdef:auth:%w", ha1, sizeof(ha1),
		   nonce, ha2, sizeof(ha2));
	re_snprintf(hval, sz,
		    "Digest username=\"%s\", realm=\"Home\", nonce=\"%s\", "
		    "uri=\"sip:127.0.0.1\", response=\"%w\", algorithm=MD5, "
		    "qop=auth, nc=00000001, cnonce=\"abcdef\"",
		    user, nonce, resp, sizeof(resp));
}

static enum reg_auth_result check(const struct reg_auth *auth, const char *hval,
				  const char *user, const char *password,
				  uint64_t now)
{
	struct pl pl, met = PL("REGISTER");

	pl_set_str(&pl, hval);
	return reg_auth_check(auth, &pl, &met, user, "Home", password, now);
}

static void test_nonce_life(void **state)
{
	struct reg_auth *auth = NULL;
	char nonce[64], hval[512];
	const uint64_t t0 = 5000000;
	(void)state;

	assert_int_equal(0, reg_auth_alloc(&auth));
	assert_int_equal(0, reg_auth_nonce(auth, t0, nonce, sizeof(nonce)));
	answer(hval, sizeof(hval), "1009", "secret", nonce);

	assert_int_equal(REG_AUTH_OK, check(auth, hval, "1009", "secret", t0));
	assert_int_equal(REG_AUTH_OK, check(auth, hval, "1009", "secret",
					    t0 + REG_NONCE_TTL * 1000));
	assert_int_equal(REG_AUTH_STALE,
			 check(auth, hval, "1009", "secret",
			       t0 + (REG_NONCE_TTL + 1) * 1000));

	/* wrong password, and right password for another DN */
	assert_int_equal(REG_AUTH_FORBIDDEN,
			 check(auth, hval, "1009", "wrong", t0));
	assert_int_equal(REG_AUTH_FORBIDDEN,
			 check(auth, hval, "1010", "secret", t0));

	/* no header, or credentials for another realm: challenge */
	assert_int_equal(
		REG_AUTH_CHALLENGE,
		reg_auth_check(auth, NULL, NULL, "1009", "Home", "secret", t0));
	assert_int_equal(REG_AUTH_MALFORMED,
			 check(auth, "Digest nonsense", "1009", "secret", t0));
	mem_deref(auth);
}

static void test_nonce_forged(void **state)
{
	struct reg_auth *auth = NULL, *other = NULL;
	char nonce[64], hval[512];
	(void)state;

	assert_int_equal(0, reg_auth_alloc(&auth));
	assert_int_equal(0, reg_auth_alloc(&other));

	/* a nonce from another secret (another process) is not ours */
	assert_int_equal(0, reg_auth_nonce(other, 1000, nonce, sizeof(nonce)));
	answer(hval, sizeof(hval), "1009", "secret", nonce);
	assert_int_equal(REG_AUTH_CHALLENGE,
			 check(auth, hval, "1009", "secret", 1000));

	/* ours with its time changed is not ours either */
	assert_int_equal(0, reg_auth_nonce(auth, 1000, nonce, sizeof(nonce)));
	nonce[15] = nonce[15] == '1' ? '2' : '1';
	answer(hval, sizeof(hval), "1009", "secret", nonce);
	assert_int_equal(REG_AUTH_CHALLENGE,
			 check(auth, hval, "1009", "secret", 1000));

	mem_deref(auth);
	mem_deref(other);
}

static void test_fail_limit(void **state)
{
	struct reg_limit *lim = NULL;
	struct sa a, b;
	(void)state;

	sa_set_str(&a, "127.0.0.1", 5070);
	sa_set_str(&b, "127.0.0.2", 5070);
	assert_int_equal(0, reg_limit_alloc(&lim));

	for (int i = 0; i < 2; i++)
		reg_limit_fail(lim, &a, 3, 1000);
	assert_false(reg_limit_blocked(lim, &a, 1000));

	/* a new minute starts the count again */
	reg_limit_fail(lim, &a, 3, 61000);
	assert_false(reg_limit_blocked(lim, &a, 61000));
	assert_false(reg_limit_fail(lim, &a, 3, 61001));
	/* the failure that starts a block says so, once */
	assert_true(reg_limit_fail(lim, &a, 3, 61002));
	assert_true(reg_limit_blocked(lim, &a, 61002));
	assert_false(reg_limit_fail(lim, &a, 3, 61003));
	assert_false(reg_limit_blocked(lim, &b, 61002));

	/* blocked five minutes, whatever the port */
	sa_set_port(&a, 9999);
	assert_true(reg_limit_blocked(lim, &a, 61002 + 299999));
	assert_false(reg_limit_blocked(lim, &a, 61002 + 300000));

	/* limit 0: never blocked */
	for (int i = 0; i < 100; i++)
		reg_limit_fail(lim, &b, 0, 1000);
	assert_false(reg_limit_blocked(lim, &b, 1000));

	mem_deref(lim);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc2617_example),
		cmocka_unit_test(test_rfc7616_md5_example),
		cmocka_unit_test(test_nonce_life),
		cmocka_unit_test(test_nonce_forged),
		cmocka_unit_test(test_fail_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
