/**
 * @file request.c  A request carried to the site that owns a conference,
 * and its answer
 *
 * An agent on site B is a party of a conference whose mix is on site A.
 * When it disconnects or reconnects a party of A's side, only A can do it,
 * with A's rules; so B sends A, in an INFO in the trunk's dialog:
 *
 *   {"version":1,"request":"TListenDisconnect","by":"2001",
 *    "other":"5551234"}
 *
 * and A answers in the 200 to that INFO:
 *
 *   {"version":1,"result":"ok"}
 *   {"version":1,"result":"already","message":"5551234 is already
 *    disconnected"}
 *
 * The result names the class of refusal A's call model gave, so that B
 * answers its client with the very ErrorCode a client of A would get, and
 * A's sentence. Read as strictly as participant info (codec.c).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "site/site.h"
#include "site/priv.h"

static const struct {
	const char *name;
	int err;
} results[] = {
	{"ok", 0},
	{"already", EALREADY},	 /* already (not) disconnected */
	{"unsupported", EPROTO}, /* not a conference; would leave one */
	{"invalid", EINVAL},	 /* OtherDN not a party alias; = ThisDN */
	{"no-call", ENOENT},	 /* the call or the party is gone */
	{"busy", EBUSY},	 /* another request is under way */
};

enum { MESSAGE_MAX = 255 };

static int name_get(char *dst, const json_t *obj, const char *key, char *why,
		    size_t sz)
{
	const json_t *v = json_object_get(obj, key);
	const char *s = json_string_value(v);

	if (!v)
		return site_refuse(why, sz, "no \"%s\"", key);
	if (!s)
		return site_refuse(why, sz, "\"%s\" is not a string", key);
	if (site_name_check(s, json_string_length(v)))
		return site_refuse(why, sz,
				   "\"%s\" is not 1-%d printable ASCII "
				   "characters without spaces",
				   key, SITE_NAME_MAX);

	memcpy(dst, s, json_string_length(v) + 1);
	return 0;
}

static int request_get(bool *disconnect, const json_t *obj, char *why,
		       size_t sz)
{
	const char *s = json_string_value(json_object_get(obj, "request"));
	char buf[40];

	if (!json_object_get(obj, "request"))
		return site_refuse(why, sz, "no \"request\"");
	if (!s)
		return site_refuse(why, sz, "\"request\" is not a string");
	if (!strcmp(s, "TListenDisconnect") || !strcmp(s, "TListenReconnect")) {
		*disconnect = s[7] == 'D';
		return 0;
	}

	return site_refuse(why, sz,
			   "request \"%s\" is not TListenDisconnect or "
			   "TListenReconnect",
			   site_excerpt(buf, sizeof(buf), s));
}

/**
 * Read a request body
 *
 * @return 0, EINVAL (no body given), EBADMSG (why says why)
 */
int site_request_decode(struct site_request *r, const char *body, size_t len,
			char *why, size_t sz)
{
	static const char *const keys[] = {"version", "request", "by", "other",
					   NULL};
	json_t *obj;
	int err;

	if (!r || (!body && len))
		return EINVAL;
	memset(r, 0, sizeof(*r));

	err = site_load(&obj, body, len, keys, why, sz);
	if (err)
		return err;

	err = request_get(&r->disconnect, obj, why, sz);
	if (!err)
		err = name_get(r->by, obj, "by", why, sz);
	if (!err)
		err = name_get(r->other, obj, "other", why, sz);

	json_decref(obj);
	return err;
}

/**
 * Write a request body
 *
 * @param bodyp Set to a NUL-terminated string; free() it
 *
 * @return 0, EINVAL (a name the decoder would refuse), ENOMEM
 */
int site_request_encode(char **bodyp, const struct site_request *r)
{
	json_t *obj;

	if (!bodyp || !r ||
	    site_name_check(r->by, strnlen(r->by, sizeof(r->by))) ||
	    site_name_check(r->other, strnlen(r->other, sizeof(r->other))))
		return EINVAL;

	obj = json_pack("{si ss ss ss}", "version", SITE_VERSION, "request",
			r->disconnect ? "TListenDisconnect"
				      : "TListenReconnect",
			"by", r->by, "other", r->other);
	*bodyp = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
	json_decref(obj);
	return *bodyp ? 0 : ENOMEM;
}

static const char *result_name(int err)
{
	for (size_t i = 0; i < sizeof(results) / sizeof(results[0]); i++) {
		if (results[i].err == err)
			return results[i].name;
	}

	return NULL;
}

/**
 * Write an answer: 0, or the call model's refusal and its sentence
 *
 * @return 0, EINVAL (an error no result names), ENOMEM
 */
int site_answer_encode(char **bodyp, int err, const char *message)
{
	const char *name = result_name(err);
	json_t *obj;

	if (!bodyp || !name)
		return EINVAL;

	obj = json_pack("{si ss}", "version", SITE_VERSION, "result", name);
	if (obj && err && message && message[0])
		(void)json_object_set_new(
			obj, "message",
			json_stringn(message, strnlen(message, MESSAGE_MAX)));
	*bodyp = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
	json_decref(obj);
	return *bodyp ? 0 : ENOMEM;
}

static int result_get(int *errp, const json_t *obj, char *why, size_t sz)
{
	const char *s = json_string_value(json_object_get(obj, "result"));
	char buf[40];

	if (!json_object_get(obj, "result"))
		return site_refuse(why, sz, "no \"result\"");
	if (!s)
		return site_refuse(why, sz, "\"result\" is not a string");

	for (size_t i = 0; i < sizeof(results) / sizeof(results[0]); i++) {
		if (!strcmp(s, results[i].name)) {
			*errp = results[i].err;
			return 0;
		}
	}

	return site_refuse(why, sz,
			   "result \"%s\" is not one of ok, "
			   "already, unsupported, invalid, no-call, "
			   "busy",
			   site_excerpt(buf, sizeof(buf), s));
}

/* Printable ASCII only: the sentence goes to a client as it is */
static int message_get(char *msg, size_t msz, const json_t *obj, char *why,
		       size_t sz)
{
	const json_t *v = json_object_get(obj, "message");
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);

	if (!v)
		return 0;
	if (!s || len > MESSAGE_MAX)
		return site_refuse(why, sz,
				   "\"message\" is not a string of at most %d "
				   "characters",
				   MESSAGE_MAX);
	for (size_t i = 0; i < len; i++) {
		if (s[i] < ' ' || s[i] > '~')
			return site_refuse(why, sz,
					   "\"message\" is not printable "
					   "ASCII");
	}

	if (msz)
		(void)snprintf(msg, msz, "%s", s);
	return 0;
}

/**
 * Read an answer
 *
 * @param errp 0, or the refusal: EALREADY, EPROTO, EINVAL, ENOENT, EBUSY
 * @param msg  The refusal's sentence ("" when it gave none)
 *
 * @return 0, EINVAL (no body given), EBADMSG (why says why)
 */
int site_answer_decode(int *errp, char *msg, size_t msz, const char *body,
		       size_t len, char *why, size_t sz)
{
	static const char *const keys[] = {"version", "result", "message",
					   NULL};
	json_t *obj;
	int err;

	if (!errp || (!msg && msz) || (!body && len))
		return EINVAL;
	if (msz)
		msg[0] = '\0';

	err = site_load(&obj, body, len, keys, why, sz);
	if (err)
		return err;

	err = result_get(errp, obj, why, sz);
	if (!err)
		err = message_get(msg, msz, obj, why, sz);

	json_decref(obj);
	return err;
}
