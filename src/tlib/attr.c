/**
 * @file attr.c  What each tlib/1 request must carry, checked in one place
 *
 * Every request's attributes are checked here, before anything acts on
 * it, so a malformed one is refused (ErrorCode 53) with a sentence that
 * names the attribute and the value it had, and no handler ever sees it.
 * The handlers check only what needs the state of the server (is the DN
 * registered, is there such a call). The table follows the Requests table
 * of shared/spec/tlib-protocol.md; attributes it does not list are
 * ignored, for clients newer than this server.
 */
#include <string.h>
#include <re_types.h>
#include <re_fmt.h>
#include "tlib/priv.h"

static const struct tsrv_spec specs[] = {
	{"TOpenServer", A_APPNAME | O_PASSWORD},
	{"TRegisterAddress", A_THISDN | O_MODE},
	{"TUnregisterAddress", A_THISDN},
	{"TQueryAddress", A_THISDN},
	{"TQueryCall", A_THISDN | A_CONNID},
	{"TMakeCall", A_THISDN | A_OTHERDN | O_UDATA | O_EXT},
	{"TAnswerCall", A_THISDN | A_CONNID},
	{"TReleaseCall", A_THISDN | A_CONNID},
	{"THoldCall", A_THISDN | A_CONNID | O_EXT},
	{"TRetrieveCall", A_THISDN | A_CONNID | O_EXT},
	{"TInitiateConference", A_THISDN | A_CONNID | A_OTHERDN | O_UDATA},
	{"TCompleteConference", A_THISDN | A_CONNID | A_CONSULT},
	{"TReconnectCall", A_THISDN | A_CONNID | A_CONSULT},
	{"TSingleStepConference", A_THISDN | A_CONNID | A_OTHERDN},
	{"TDeleteFromConference", A_THISDN | A_CONNID | A_OTHERDN},
	{"TListenDisconnect", A_THISDN | A_CONNID | A_OTHERDN | O_EXT},
	{"TListenReconnect", A_THISDN | A_CONNID | A_OTHERDN},
};

const struct tsrv_spec *tsrv_spec_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(specs); i++) {
		if (0 == strcmp(name, specs[i].name))
			return &specs[i];
	}

	return NULL;
}

/* A value as the client sent it, cut short for a message */
static void show(char *buf, size_t sz, const json_t *v)
{
	char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
	size_t len = s ? strlen(s) : 0;

	if (len > 64)
		re_snprintf(buf, sz, "%.60s...", s);
	else
		re_snprintf(buf, sz, "%s", s ? s : "?");
	free(s);
}

static int need_string(const json_t *obj, const char *key, const char *req,
		       char *why, size_t sz)
{
	const json_t *v = json_object_get(obj, key);
	char val[80];

	if (!v) {
		re_snprintf(why, sz, "%s needs %s", req, key);
		return EINVAL;
	}
	if (json_is_string(v) && json_string_length(v) &&
	    !memchr(json_string_value(v), '\0', json_string_length(v)))
		return 0;

	show(val, sizeof(val), v);
	re_snprintf(why, sz, "%s must be a non-empty string, not %s", key, val);
	return EINVAL;
}

/* ConnID and ConsultConnID: 16 lowercase hex digits, as we send them */
static int need_connid(const json_t *obj, const char *key, const char *req,
		       char *why, size_t sz)
{
	const json_t *v = json_object_get(obj, key);
	const char *s = json_is_string(v) ? json_string_value(v) : NULL;
	char val[80];

	if (!v) {
		re_snprintf(why, sz, "%s needs %s", req, key);
		return EINVAL;
	}
	if (s && strlen(s) == 16 && strspn(s, "0123456789abcdef") == 16)
		return 0;

	show(val, sizeof(val), v);
	re_snprintf(why, sz, "%s %s is not 16 lowercase hex digits", key, val);
	return EINVAL;
}

/* Extensions, UserData: an object of string or integer values */
static int need_kvlist(const json_t *obj, const char *key, char *why, size_t sz)
{
	const json_t *kv = json_object_get(obj, key), *v;
	const char *k;
	char val[80];

	if (!kv)
		return 0;
	if (!json_is_object(kv)) {
		show(val, sizeof(val), kv);
		re_snprintf(why, sz, "%s must be an object, not %s", key, val);
		return EINVAL;
	}

	json_object_foreach((json_t *)kv, k, v)
	{
		if (json_is_string(v) || json_is_integer(v))
			continue;
		show(val, sizeof(val), v);
		re_snprintf(why, sz,
			    "%s.%s must be a string or an integer, not %s", key,
			    k, val);
		return EINVAL;
	}

	/* the one extension we act on is a file name */
	v = json_object_get(kv, "music");
	if (0 == strcmp(key, "Extensions") && v && !json_is_string(v)) {
		show(val, sizeof(val), v);
		re_snprintf(why, sz,
			    "Extensions.music must be a file name "
			    "(a string), not %s",
			    val);
		return EINVAL;
	}

	return 0;
}

static int need_mode(const json_t *obj, char *why, size_t sz)
{
	const json_t *v = json_object_get(obj, "RegisterMode");
	enum tsrv_mode mode;
	char val[80];

	if (!v || (json_is_string(v) &&
		   !tsrv_mode_parse(&mode, json_string_value(v))))
		return 0;

	show(val, sizeof(val), v);
	re_snprintf(why, sz,
		    "RegisterMode %s is not ModeShare, ModePrivate or "
		    "ModeMonitor",
		    val);
	return EINVAL;
}

/**
 * Check the attributes of a request against its spec
 *
 * @return 0, or EINVAL with why naming the attribute and its value
 */
int tsrv_attrs_check(const struct tsrv_req *req, const struct tsrv_spec *sp,
		     char *why, size_t sz)
{
	const json_t *o = req->obj;
	const char *n = req->name;
	unsigned a = sp->attrs;
	int err = 0;

	if (a & A_APPNAME)
		err = need_string(o, "ApplicationName", n, why, sz);
	if (!err && (a & O_PASSWORD) && json_object_get(o, "Password") &&
	    !json_is_string(json_object_get(o, "Password"))) {
		re_snprintf(why, sz, "Password must be a string");
		err = EINVAL;
	}
	if (!err && (a & A_THISDN))
		err = need_string(o, "ThisDN", n, why, sz);
	if (!err && (a & A_CONNID))
		err = need_connid(o, "ConnID", n, why, sz);
	if (!err && (a & A_CONSULT))
		err = need_connid(o, "ConsultConnID", n, why, sz);
	if (!err && (a & A_OTHERDN))
		err = need_string(o, "OtherDN", n, why, sz);
	if (!err && (a & O_MODE))
		err = need_mode(o, why, sz);
	if (!err && (a & O_EXT))
		err = need_kvlist(o, "Extensions", why, sz);
	if (!err && (a & O_UDATA))
		err = need_kvlist(o, "UserData", why, sz);

	return err;
}
