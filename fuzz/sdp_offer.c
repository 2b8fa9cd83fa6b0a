/**
 * @file sdp_offer.c  Fuzz target: a phone's SDP, as a leg meets it
 *
 * Our session (leg_sdp_alloc), the phone's SDP decoded by libre as an
 * offer, then what leg.c does with it: our reading of it (codec, events,
 * address, direction: leg_sdp_remote), the answer, a hold and the
 * re-INVITE's offer. The same bytes then come again as the phone's answer
 * to that offer, as a re-INVITE's 200 would bring them.
 */
#include <stddef.h>
#include <stdint.h>
#include <re.h>
#include "media/media.h"
#include "sip/leg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void encode(struct sdp_session *sess, bool offer)
{
	struct mbuf *desc = NULL;

	if (!sdp_encode(&desc, sess, offer))
		mem_deref(desc);
}

static void remote(struct sdp_session *sess)
{
	struct media_remote r;
	const char *reason = NULL;

	if (leg_sdp_remote(&r, sess, &reason) && !reason)
		__builtin_trap(); /* a refusal always says why */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sdp_session *sess = NULL;
	struct mbuf mb = {.buf = (uint8_t *)data, .size = size, .end = size};
	struct sa laddr;

	(void)sa_set_str(&laddr, "127.0.0.1", 0);
	if (leg_sdp_alloc(&sess, &laddr, 16000))
		return 0;

	if (!sdp_decode(sess, &mb, true)) {
		remote(sess);
		encode(sess, false);
		leg_sdp_set_hold(sess, true);
		encode(sess, true);

		mb.pos = 0;
		if (!sdp_decode(sess, &mb, false))
			remote(sess);
		leg_sdp_set_hold(sess, false);
		encode(sess, true);
	}

	mem_deref(sess);
	return 0;
}
