/**
 * @file tlib_line.c  Fuzz target: one tlib/1 line, decoded and checked
 *
 * What session.c hands server.c for every line a CTI client sends: the
 * strict JSON decoder, then the request's spec and every attribute check.
 * Decoding alone would reach the checks only by the request names the
 * fuzzer happens to spell, so the line is also checked against every
 * spec in turn: each request's attribute rules see every object.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "tlib/priv.h"

static const char *const names[] = {
	"TOpenServer",
	"TRegisterAddress",
	"TUnregisterAddress",
	"TQueryAddress",
	"TQueryCall",
	"TMakeCall",
	"TAnswerCall",
	"TReleaseCall",
	"THoldCall",
	"TRetrieveCall",
	"TInitiateConference",
	"TCompleteConference",
	"TReconnectCall",
	"TSingleStepConference",
	"TDeleteFromConference",
	"TListenDisconnect",
	"TListenReconnect",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct tsrv_spec *sp;
	struct tsrv_req req;
	char why[256];

	if (size > TSRV_LINE_MAX)
		return 0; /* session.c cuts such a client off unread */

	if (tsrv_req_decode(&req, (const char *)data, size, why, sizeof(why))) {
		tsrv_req_free(&req);
		return 0;
	}

	sp = tsrv_spec_find(req.name);
	if (sp)
		(void)tsrv_attrs_check(&req, sp, why, sizeof(why));

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		sp = tsrv_spec_find(names[i]);
		if (!sp)
			__builtin_trap(); /* the table lost a request */
		(void)tsrv_attrs_check(&req, sp, why, sizeof(why));
	}

	tsrv_req_free(&req);
	return 0;
}
