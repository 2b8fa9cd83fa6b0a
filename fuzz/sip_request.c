/**
 * @file sip_request.c  Fuzz target: a whole SIP request, no sockets
 *
 * The bytes of one datagram or one framed TCP message through libre's
 * parser (sip_msg_decode), then our first look at it (sipsrv.c's sanity
 * check, as a UDP and as a TCP request: Content-Length is checked against
 * the datagram only), then what the registrar reads of a request that
 * passed: its digest credentials (reg_auth_check) and its Contact and
 * Expires headers (reg_contacts_check), whatever the method.
 */
#include <stddef.h>
#include <stdint.h>
#include <re.h>
#include "reg/reg.h"
#include "sip/sipsrv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Made once: the nonce key is random, and no input changes it */
static struct reg_auth *auth;

static void credentials(const struct sip_msg *msg)
{
	const enum sip_hdrid ids[] = {SIP_HDR_AUTHORIZATION,
				      SIP_HDR_PROXY_AUTHORIZATION};

	for (size_t i = 0; i < 2; i++) {
		const struct sip_hdr *h = sip_msg_hdr(msg, ids[i]);

		if (h)
			(void)reg_auth_check(auth, &h->val, &msg->met, "1001",
					     "sipserver", "secret", 1000);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mbuf *mb = mbuf_alloc(size ? size : 1);
	struct sip_msg *msg = NULL;
	char buf[64];

	if (!auth && reg_auth_alloc(&auth))
		__builtin_trap();
	if (!mb || mbuf_write_mem(mb, data, size))
		goto out;
	mb->pos = 0;

	if (sip_msg_decode(&msg, mb))
		goto out;

	msg->tp = SIP_TRANSP_UDP;
	(void)sipsrv_bad_request(msg, buf, sizeof(buf));
	msg->tp = SIP_TRANSP_TCP;
	if (!sipsrv_bad_request(msg, buf, sizeof(buf))) {
		credentials(msg);
		(void)reg_contacts_check(msg);
	}

out:
	mem_deref(msg);
	mem_deref(mb);
	return 0;
}
