/**
 * @file codec.c  tlib/1 lines: a request in, an event out
 *
 * jansson with JSON_REJECT_DUPLICATES, because libre's JSON decoder takes
 * invalid input (trailing garbage, duplicate keys, silent overflow) and a
 * CTI request must mean exactly one thing. A request is valid here when it
 * is one JSON object with a "request" string and, if it has one, a
 * positive integer ReferenceID; what each request needs is checked where
 * it is handled. Unknown top-level keys are ignored (forward compatibility).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
/* not <re.h>: its re_json.h clashes with jansson's JSON_STRING */
#include <re_types.h>
#include <re_fmt.h>
#include <re_mem.h>
#include <re_mbuf.h>
#include <re_list.h>
#include <re_hash.h>
#include <re_sa.h>
#include <re_tcp.h>
#include <re_tmr.h>
#include "tlib/priv.h"

int tsrv_req_decode(struct tsrv_req *req, const char *line, size_t len,
		    char *why, size_t sz)
{
	json_error_t jerr;
	json_t *v;

	memset(req, 0, sizeof(*req));
	req->obj = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!req->obj) {
		/* jansson quotes the bytes it stumbled on ("near 'xyz'"):
		 * they may be a password, and this text is logged */
		char *near = strstr(jerr.text, " near ");

		if (near)
			*near = '\0';
		re_snprintf(why, sz,
			    "the line is not valid JSON: %s "
			    "(column %d)",
			    jerr.text, jerr.column);
		return EBADMSG;
	}
	if (!json_is_object(req->obj)) {
		re_snprintf(why, sz, "the line is JSON but not an object");
		goto bad;
	}

	v = json_object_get(req->obj, "ReferenceID");
	if (v && (!json_is_integer(v) || json_integer_value(v) <= 0)) {
		re_snprintf(why, sz, "ReferenceID must be a positive integer");
		goto bad;
	}
	req->refid = v ? json_integer_value(v) : 0;

	v = json_object_get(req->obj, "request");
	if (!json_is_string(v)) {
		re_snprintf(why, sz, "the object has no \"request\" string");
		goto bad;
	}
	req->name = json_string_value(v);

	v = json_object_get(req->obj, "ThisDN");
	req->this_dn = json_is_string(v) ? json_string_value(v) : NULL;
	return 0;

bad:
	/* keep the object: the error still carries its ReferenceID */
	return EINVAL;
}

void tsrv_req_free(struct tsrv_req *req)
{
	json_decref(req->obj);
	memset(req, 0, sizeof(*req));
}

json_t *tsrv_event_new(const char *name)
{
	return json_pack("{ss}", "event", name);
}

/* RFC 3339, UTC, milliseconds */
static void time_str(char *buf, size_t sz)
{
	struct timespec ts;
	struct tm tm;
	char base[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	re_snprintf(buf, sz, "%s.%03ldZ", base, ts.tv_nsec / 1000000);
}

/**
 * Stamp an event (EventSequenceNumber, Time) and print it as one line
 *
 * @return the line, '\n'-terminated (free() it), or NULL
 */
char *tsrv_event_line(json_t *ev, uint64_t seq, size_t *lenp)
{
	char tbuf[40];
	char *s, *line;
	size_t len;

	time_str(tbuf, sizeof(tbuf));
	json_object_set_new(ev, "EventSequenceNumber",
			    json_integer((json_int_t)seq));
	json_object_set_new(ev, "Time", json_string(tbuf));

	s = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!s)
		return NULL;

	len = strlen(s);
	line = realloc(s, len + 2);
	if (!line) {
		free(s);
		return NULL;
	}
	line[len] = '\n';
	line[len + 1] = '\0';
	*lenp = len + 1;
	return line;
}

static const char *const mode_names[] = {"ModeShare", "ModePrivate",
					 "ModeMonitor"};

const char *tsrv_mode_name(enum tsrv_mode mode)
{
	return mode_names[mode];
}

int tsrv_mode_parse(enum tsrv_mode *modep, const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(mode_names); i++) {
		if (0 == strcmp(name, mode_names[i])) {
			*modep = (enum tsrv_mode)i;
			return 0;
		}
	}

	return EINVAL;
}
