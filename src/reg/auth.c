/**
 * @file auth.c  Digest authentication of REGISTER (RFC 7616 / RFC 2617)
 *
 * MD5 with qop=auth, as phones speak it. Nonces are stateless: the time
 * they were made and an HMAC of that time under a per-process secret, so
 * the server keeps no table of them, recognises its own, and can tell an
 * expired nonce (answer with stale=true: the phone retries without asking
 * anyone) from a forged one. The response is checked here, not by libre's
 * httpauth_digest_response_auth(): that one compares with memcmp(), whose
 * time tells a guesser how many leading bytes were right. Every secret is
 * compared with mem_seccmp() instead.
 */
#include <string.h>
#include <re.h>
#include "reg/reg.h"

enum {
	SECRET_SIZE = 20,
	SHA1_SIZE = 20,

	MAC_SIZE = 8,
	NONCE_LEN = 16 + 2 * MAC_SIZE,
	FUTURE_SLACK = 5, /* [s] */
};

struct reg_auth {
	uint8_t secret[SECRET_SIZE];
};

int reg_auth_alloc(struct reg_auth **authp)
{
	struct reg_auth *auth;

	if (!authp)
		return EINVAL;

	auth = mem_zalloc(sizeof(*auth), NULL);
	if (!auth)
		return ENOMEM;

	rand_bytes(auth->secret, sizeof(auth->secret));
	*authp = auth;
	return 0;
}

static void nonce_mac(const struct reg_auth *auth, const char *ts, uint8_t *mac)
{
	/* libre's OpenSSL build ignores the size and writes all 20 bytes */
	uint8_t full[SHA1_SIZE];

	hmac_sha1(auth->secret, sizeof(auth->secret), (const uint8_t *)ts, 16,
		  full, sizeof(full));
	memcpy(mac, full, MAC_SIZE);
}


/**
 * Make a nonce: 16 hex digits of seconds, then 16 of HMAC-SHA1
 *
 * @param now [ms] on the caller's clock
 */
int reg_auth_nonce(const struct reg_auth *auth, uint64_t now, char *buf,
		   size_t sz)
{
	uint8_t mac[MAC_SIZE];
	char ts[17];

	if (!auth || !buf || sz < NONCE_LEN + 1)
		return EINVAL;

	re_snprintf(ts, sizeof(ts), "%016llx",
		    (unsigned long long)(now / 1000));
	nonce_mac(auth, ts, mac);
	re_snprintf(buf, sz, "%s%w", ts, mac, sizeof(mac));

	return 0;
}

/* 0 = ours and fresh, ETIMEDOUT = ours but old, EINVAL = not ours */
static int nonce_verify(const struct reg_auth *auth, const struct pl *nonce,
			uint64_t now)
{
	uint8_t mac[MAC_SIZE];
	char ts[17], want[2 * MAC_SIZE + 1];
	uint64_t made;

	if (nonce->l != NONCE_LEN)
		return EINVAL;

	memcpy(ts, nonce->p, 16);
	ts[16] = '\0';
	nonce_mac(auth, ts, mac);
	re_snprintf(want, sizeof(want), "%w", mac, sizeof(mac));
	if (mem_seccmp((const uint8_t *)want, (const uint8_t *)nonce->p + 16,
		       2 * MAC_SIZE))
		return EINVAL;

	made = pl_x64(&(struct pl){ts, 16});
	if (made > now / 1000 + FUTURE_SLACK)
		return EINVAL;

	return now / 1000 - made > REG_NONCE_TTL ? ETIMEDOUT : 0;
}

/** HA1 = MD5(user:realm:password), the stored-secret form of RFC 7616 */
void reg_auth_ha1(uint8_t *ha1, const char *user, const char *realm,
		  const char *password)
{
	(void)md5_printf(ha1, "%s:%s:%s", user, realm, password);
}

/* RFC 2617 3.2.2.1, MD5 with or without qop=auth; 0 or EAUTH */
static int response_verify(const struct httpauth_digest_resp *resp,
			   const struct pl *method, const uint8_t *ha1)
{
	uint8_t ha2[MD5_SIZE], want[MD5_SIZE], got[MD5_SIZE];
	int err;

	if (resp->response.l != 2 * MD5_SIZE)
		return EAUTH;

	for (size_t i = 0; i < sizeof(got); i++)
		got[i] = (uint8_t)(ch_hex(resp->response.p[2 * i]) << 4 |
				   ch_hex(resp->response.p[2 * i + 1]));

	err = md5_printf(ha2, "%r:%r", method, &resp->uri);
	if (!err && pl_isset(&resp->qop))
		err = md5_printf(want, "%w:%r:%r:%r:%r:%w", ha1,
				 (size_t)MD5_SIZE, &resp->nonce, &resp->nc,
				 &resp->cnonce, &resp->qop, ha2, sizeof(ha2));
	else if (!err)
		err = md5_printf(want, "%w:%r:%w", ha1, (size_t)MD5_SIZE,
				 &resp->nonce, ha2, sizeof(ha2));
	if (err)
		return EAUTH;

	return mem_seccmp(want, got, sizeof(want)) ? EAUTH : 0;
}

/**
 * Check the Authorization header of a request
 *
 * @param hval     Header value, or NULL/unset when there is none
 * @param method   Request method
 * @param user     The DN being registered: the only user accepted
 * @param realm    Our realm
 * @param password The DN's password
 * @param now      [ms] on the clock reg_auth_nonce was given
 */
enum reg_auth_result reg_auth_check(const struct reg_auth *auth,
				    const struct pl *hval,
				    const struct pl *method, const char *user,
				    const char *realm, const char *password,
				    uint64_t now)
{
	struct httpauth_digest_resp resp;
	uint8_t ha1[MD5_SIZE];
	int nerr;

	if (!auth || !hval || !pl_isset(hval))
		return REG_AUTH_CHALLENGE;

	if (httpauth_digest_response_decode(&resp, hval))
		return REG_AUTH_MALFORMED;

	/* credentials for another realm are no answer to our challenge */
	if (pl_strcmp(&resp.realm, realm))
		return REG_AUTH_CHALLENGE;

	if (pl_isset(&resp.qop) && pl_strcasecmp(&resp.qop, "auth"))
		return REG_AUTH_MALFORMED;

	nerr = nonce_verify(auth, &resp.nonce, now);
	if (nerr == EINVAL)
		return REG_AUTH_CHALLENGE;

	if (pl_strcmp(&resp.username, user))
		return REG_AUTH_FORBIDDEN;

	reg_auth_ha1(ha1, user, realm, password);
	if (response_verify(&resp, method, ha1))
		return REG_AUTH_FORBIDDEN;

	return nerr ? REG_AUTH_STALE : REG_AUTH_OK;
}
