/**
 * @file cti.c  tlib/1 requests and EventErrors, by request name and code
 *
 * The names are the requests of tlib-protocol.md and the codes those the
 * server sends (src/tlib/priv.h); a name or code outside them is
 * "other", so what a client sends cannot add series to /metrics.
 */
#include <string.h>
#include <re.h>
#include "stats/stats.h"
#include "stats/priv.h"

static const char *const requests[STATS_CTI_REQUESTS - 1] = {
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

static const int codes[STATS_CTI_CODES - 1] = {41, 43, 51, 52, 53, 56, 57, 59};

static size_t request_index(const char *name)
{
	for (size_t i = 0; name && i < ARRAY_SIZE(requests); i++) {
		if (0 == strcmp(name, requests[i]))
			return i;
	}

	return STATS_CTI_REQUESTS - 1;
}

static size_t code_index(int code)
{
	for (size_t i = 0; i < ARRAY_SIZE(codes); i++) {
		if (codes[i] == code)
			return i;
	}

	return STATS_CTI_CODES - 1;
}

/** A request line arrived; name NULL: it did not decode */
void stats_cti_request(const char *name)
{
	struct stats_counters *c = stats_mut();

	stats_count(&c->cti_req[request_index(name)]);
}

/** An EventError was sent; name NULL: to a line that did not decode */
void stats_cti_error(const char *name, int code)
{
	struct stats_counters *c = stats_mut();

	stats_count(&c->cti_err[request_index(name)][code_index(code)]);
}

/** Label of request index i: its name, or "other" */
const char *stats_cti_request_name(size_t i)
{
	return i < ARRAY_SIZE(requests) ? requests[i] : "other";
}

/** Error code of index i, or 0 for "other" */
int stats_cti_code(size_t i)
{
	return i < ARRAY_SIZE(codes) ? codes[i] : 0;
}
