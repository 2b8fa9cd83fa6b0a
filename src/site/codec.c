/**
 * @file codec.c  Participant info: the body one site sends the other
 *
 * Version 1, as docs/multisite.md gives it:
 *
 *   {"version":1,"parties":[{"alias":"1001","location":"A",
 *                            "state":"Established"}, ...],
 *    "you":"ListenDisconnected"}
 *
 * The parties a site has on its side of the call (the trunk's own party
 * left out), in its join order; and, when it is not Established, the
 * state the sending site gives the trunk's party, that is the whole
 * receiving side ("you": e.g. disconnected by a TListenDisconnect there). The decoder takes exactly that and
 * nothing else: another version, an unknown or duplicate key, a name
 * that is empty, too long or not printable ASCII, a state that is not
 * one of a joined party, the same alias twice, more parties than a call
 * holds, or trailing bytes. A peer that sends something else is a bug
 * or not a sipserver, and guessing would show agents a wrong call; the
 * reason names the first thing wrong, so the log says what to fix.
 * jansson, not libre's JSON (libre-notes 9.9: it accepts invalid input).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "call/call.h"
#include "site/site.h"
#include "site/priv.h"

static const struct {
	const char *name;
	enum call_party_state state;
} states[] = {
	{"Established", PARTY_ESTABLISHED},
	{"Held", PARTY_HELD},
	{"ListenDisconnected", PARTY_LISTEN_DISCONNECTED},
};

/**
 * A site name or party alias: 1-64 bytes of printable ASCII, no space
 * (as the location option takes)
 *
 * @return 0 or EINVAL
 */
int site_name_check(const char *s, size_t len)
{
	if (!s || !len || len > SITE_NAME_MAX)
		return EINVAL;

	for (size_t i = 0; i < len; i++) {
		if (s[i] <= ' ' || s[i] > '~')
			return EINVAL;
	}

	return 0;
}

int site_refuse(char *why, size_t sz, const char *fmt, ...)
{
	if (why && sz) {
		va_list ap;

		va_start(ap, fmt);
		(void)vsnprintf(why, sz, fmt, ap);
		va_end(ap);
	}

	return EBADMSG;
}

/* The peer's text, for a reason: at most 32 characters, anything not
 * printable ASCII as '?', so a log line stays one harmless line */
const char *site_excerpt(char *buf, size_t bsz, const char *s)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < bsz && i < 32; i++)
		buf[i] = s[i] >= ' ' && s[i] <= '~' ? s[i] : '?';
	buf[i] = '\0';
	return buf;
}

/* Only the keys named in keys[] (NULL-terminated) */
const char *site_unknown_key(const json_t *obj, const char *const *keys)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)obj, key, v)
	{
		size_t i;

		for (i = 0; keys[i] && strcmp(keys[i], key); i++)
			;
		if (!keys[i])
			return key;
	}

	return NULL;
}

static int name_get(char *dst, const json_t *obj, const char *key, size_t i,
		    char *why, size_t sz)
{
	const json_t *v = json_object_get(obj, key);
	const char *s = json_string_value(v);

	if (!v)
		return site_refuse(why, sz, "parties[%zu] has no \"%s\"", i,
				   key);
	if (!s)
		return site_refuse(why, sz, "parties[%zu].%s is not a string",
				   i, key);
	if (site_name_check(s, json_string_length(v)))
		return site_refuse(
			why, sz,
			"parties[%zu].%s is not 1-%d printable ASCII "
			"characters without spaces",
			i, key, SITE_NAME_MAX);

	memcpy(dst, s, json_string_length(v) + 1);
	return 0;
}

/* A state named by the value v of what (e.g. "parties[2].state") */
static int state_of(enum call_party_state *st, const json_t *v,
		    const char *what, char *why, size_t sz)
{
	const char *s = json_string_value(v);
	char buf[40];

	if (!s)
		return site_refuse(why, sz, "%s is not a string", what);

	for (size_t k = 0; k < sizeof(states) / sizeof(states[0]); k++) {
		if (!strcmp(s, states[k].name)) {
			*st = states[k].state;
			return 0;
		}
	}

	return site_refuse(why, sz,
			   "%s \"%s\" is not Established, Held or "
			   "ListenDisconnected",
			   what, site_excerpt(buf, sizeof(buf), s));
}

static int state_get(enum call_party_state *st, const json_t *obj, size_t i,
		     char *why, size_t sz)
{
	const json_t *v = json_object_get(obj, "state");
	char what[32];

	if (!v)
		return site_refuse(why, sz, "parties[%zu] has no \"state\"", i);

	(void)snprintf(what, sizeof(what), "parties[%zu].state", i);
	return state_of(st, v, what, why, sz);
}

/* "you" is optional: without it, this side is Established there */
static int you_get(enum call_party_state *you, const json_t *obj, char *why,
		   size_t sz)
{
	const json_t *v = json_object_get(obj, "you");

	*you = PARTY_ESTABLISHED;
	return v ? state_of(you, v, "\"you\"", why, sz) : 0;
}

static int party_get(struct call_remote *r, const json_t *obj, size_t i,
		     char *why, size_t sz)
{
	static const char *const keys[] = {"alias", "location", "state", NULL};
	const char *bad;
	int err;

	if (!json_is_object(obj))
		return site_refuse(why, sz, "parties[%zu] is not an object", i);
	bad = site_unknown_key(obj, keys);
	if (bad) {
		char buf[40];

		return site_refuse(why, sz,
				   "parties[%zu] has an unknown key \"%s\"", i,
				   site_excerpt(buf, sizeof(buf), bad));
	}

	memset(r, 0, sizeof(*r));
	err = name_get(r->alias, obj, "alias", i, why, sz);
	if (!err)
		err = name_get(r->location, obj, "location", i, why, sz);
	if (!err)
		err = state_get(&r->state, obj, i, why, sz);

	return err;
}

static int parties_get(struct call_remote *v, size_t *np, const json_t *arr,
		       char *why, size_t sz)
{
	size_t n = json_array_size(arr);

	if (!json_is_array(arr))
		return site_refuse(why, sz, "\"parties\" is not an array");
	if (n > SITE_PARTIES_MAX)
		return site_refuse(why, sz,
				   "\"parties\" has %zu entries, more than %d",
				   n, SITE_PARTIES_MAX);

	for (size_t i = 0; i < n; i++) {
		int err = party_get(&v[i], json_array_get(arr, i), i, why, sz);

		if (err)
			return err;
		for (size_t k = 0; k < i; k++) {
			if (!strcmp(v[k].alias, v[i].alias))
				return site_refuse(why, sz,
						   "parties[%zu].alias is the "
						   "alias of parties[%zu] too",
						   i, k);
		}
	}

	*np = n;
	return 0;
}

int site_version_check(const json_t *obj, char *why, size_t sz)
{
	const json_t *v = json_object_get(obj, "version");

	if (!v)
		return site_refuse(why, sz, "no \"version\"");
	if (!json_is_integer(v))
		return site_refuse(why, sz, "\"version\" is not an integer");
	if (json_integer_value(v) != SITE_VERSION)
		return site_refuse(why, sz, "version %lld is not %d",
				   (long long)json_integer_value(v),
				   SITE_VERSION);

	return 0;
}

/**
 * Read a participant-info body
 *
 * @param v   SITE_PARTIES_MAX entries; on error their contents are
 *            undefined and *np is 0
 * @param youp The state the sender gives this side (Established when
 *            the body does not say)
 * @param why On error, what was wrong: the key or entry, and at most
 *            32 characters of the peer's text, made printable
 *
 * @return 0, EINVAL (no body given), EBADMSG (why says why)
 */
int site_parties_decode(struct call_remote *v, size_t *np,
			enum call_party_state *youp, const char *body,
			size_t len, char *why, size_t sz)
{
	static const char *const keys[] = {"version", "parties", "you", NULL};
	json_t *obj;
	int err;

	if (!v || !np || !youp || (!body && len))
		return EINVAL;
	*np = 0;

	err = site_load(&obj, body, len, keys, why, sz);
	if (err)
		return err;

	if (!json_object_get(obj, "parties"))
		err = site_refuse(why, sz, "no \"parties\"");
	if (!err)
		err = parties_get(v, np, json_object_get(obj, "parties"), why,
				  sz);
	if (!err)
		err = you_get(youp, obj, why, sz);

	json_decref(obj);
	if (err)
		*np = 0;
	return err;
}

/**
 * A body's top level, read strictly: at most SITE_BODY_MAX bytes of JSON
 * with no duplicate key, an object with only the keys given, of version 1
 *
 * @return 0 (*objp set: json_decref it), EBADMSG (why says why)
 */
int site_load(json_t **objp, const char *body, size_t len,
	      const char *const *keys, char *why, size_t sz)
{
	json_error_t jerr;
	const char *bad;
	char buf[40];
	json_t *obj;
	int err;

	if (len > SITE_BODY_MAX)
		return site_refuse(why, sz, "body of %zu bytes, more than %d",
				   len, SITE_BODY_MAX);

	obj = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &jerr);
	if (!obj)
		return site_refuse(why, sz, "not JSON: %s (line %d, column %d)",
				   jerr.text, jerr.line, jerr.column);

	if (!json_is_object(obj))
		err = site_refuse(why, sz, "not a JSON object");
	else if ((bad = site_unknown_key(obj, keys)))
		err = site_refuse(why, sz, "unknown key \"%s\"",
				  site_excerpt(buf, sizeof(buf), bad));
	else
		err = site_version_check(obj, why, sz);

	if (err) {
		json_decref(obj);
		return err;
	}

	*objp = obj;
	return 0;
}

static const char *state_name(enum call_party_state st)
{
	for (size_t k = 0; k < sizeof(states) / sizeof(states[0]); k++) {
		if (states[k].state == st)
			return states[k].name;
	}

	return NULL;
}

/**
 * Write a participant-info body
 *
 * @param bodyp Set to a NUL-terminated string; free() it
 *
 * @param you   The state this site gives the receiving side (the trunk's
 *              party here); written only when it is not Established
 *
 * @return 0, EINVAL (more than SITE_PARTIES_MAX parties, a state or name
 *         the decoder would refuse), ENOMEM
 */
int site_parties_encode(char **bodyp, const struct call_remote *v, size_t n,
			enum call_party_state you)
{
	json_t *obj, *arr;
	int err = 0;

	if (!bodyp || n > SITE_PARTIES_MAX || (n && !v) || !state_name(you))
		return EINVAL;

	obj = json_object();
	arr = json_array();
	if (!obj || !arr ||
	    json_object_set_new(obj, "version", json_integer(SITE_VERSION)) ||
	    json_object_set(obj, "parties", arr))
		err = ENOMEM;

	if (!err && you != PARTY_ESTABLISHED &&
	    json_object_set_new(obj, "you", json_string(state_name(you))))
		err = ENOMEM;

	for (size_t i = 0; i < n && !err; i++) {
		const struct call_remote *r = &v[i];
		const char *st = state_name(r->state);

		if (!st ||
		    site_name_check(r->alias,
				    strnlen(r->alias, sizeof(r->alias))) ||
		    site_name_check(
			    r->location,
			    strnlen(r->location, sizeof(r->location)))) {
			err = EINVAL;
			break;
		}
		if (json_array_append_new(arr,
					  json_pack("{ss ss ss}", "alias",
						    r->alias, "location",
						    r->location, "state", st)))
			err = ENOMEM;
	}

	*bodyp = err ? NULL : json_dumps(obj, JSON_COMPACT);
	if (!err && !*bodyp)
		err = ENOMEM;

	json_decref(arr);
	json_decref(obj);
	return err;
}
