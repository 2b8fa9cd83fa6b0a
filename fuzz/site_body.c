/**
 * @file site_body.c  Fuzz target: the bodies one site sends another
 *
 * The same bytes go to the three decoders an INFO or its answer meets
 * (participant info, a carried TListen request, its answer). Whatever a
 * decoder takes must encode again and decode to the same thing: the two
 * sites must read each other exactly, so a round trip that changes a
 * value is a bug too, and stops the fuzzer like a crash.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "call/call.h"
#include "site/site.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void parties(const char *body, size_t len)
{
	struct call_remote v[SITE_PARTIES_MAX], w[SITE_PARTIES_MAX];
	enum call_party_state you, you2;
	size_t n, n2;
	char why[256];
	char *out = NULL;

	if (site_parties_decode(v, &n, &you, body, len, why, sizeof(why)))
		return;
	if (site_parties_encode(&out, v, n, you))
		__builtin_trap();
	if (site_parties_decode(w, &n2, &you2, out, strlen(out), why,
				sizeof(why)) ||
	    n2 != n || you2 != you)
		__builtin_trap();
	for (size_t i = 0; i < n; i++) {
		if (strcmp(v[i].alias, w[i].alias) ||
		    strcmp(v[i].location, w[i].location) ||
		    v[i].state != w[i].state)
			__builtin_trap();
	}
	free(out);
}

static void request(const char *body, size_t len)
{
	struct site_request r, r2;
	char why[256];
	char *out = NULL;

	if (site_request_decode(&r, body, len, why, sizeof(why)))
		return;
	if (site_request_encode(&out, &r))
		__builtin_trap();
	if (site_request_decode(&r2, out, strlen(out), why, sizeof(why)) ||
	    r2.disconnect != r.disconnect || strcmp(r2.by, r.by) ||
	    strcmp(r2.other, r.other))
		__builtin_trap();
	free(out);
}

static void answer(const char *body, size_t len)
{
	char msg[256], msg2[256], why[256];
	char *out = NULL;
	int res, res2;

	if (site_answer_decode(&res, msg, sizeof(msg), body, len, why,
			       sizeof(why)))
		return;
	if (site_answer_encode(&out, res, msg))
		__builtin_trap();
	if (site_answer_decode(&res2, msg2, sizeof(msg2), out, strlen(out), why,
			       sizeof(why)) ||
	    res2 != res || (res && strcmp(msg, msg2)))
		__builtin_trap();
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;

	parties(body, size);
	request(body, size);
	answer(body, size);
	return 0;
}
