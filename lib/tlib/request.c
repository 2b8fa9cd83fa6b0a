/**
 * @file request.c  Requests: one function per row of the spec's table
 *
 * Owns the JSON each request puts on the wire, so that attribute names and
 * types (strings, integer ReferenceID, key-value objects) are written in
 * exactly one place, and the ReferenceID counter: positive and increasing
 * per connection, so that a caller can tell answers apart without keeping
 * its own. Every named function is a list of (attribute, value) rows given
 * to one sender; a required string that is NULL is refused with EINVAL
 * before anything is sent, since the server would only answer 53.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include "tlib_int.h"

/** One attribute of a request: a string or a key-value list */
struct attr {
	const char *name;
	const char *str;	  /* required string, or NULL for kv */
	const struct tlib_kv *kv; /* optional list: NULL leaves it out */
};

/**
 * A key-value list as a JSON object (NULL on ENOMEM or a NULL key).
 */
json_t *tlib_kv_to_json(const struct tlib_kv *kv)
{
	json_t *obj = json_object();

	for (size_t i = 0; obj && i < kv->n; i++) {
		const struct tlib_kv_item *it = &kv->items[i];
		json_t *v =
			it->str ? json_string(it->str) : json_integer(it->num);

		if (!it->key || json_object_set_new(obj, it->key, v)) {
			json_decref(obj);
			return NULL;
		}
	}

	return obj;
}

static int take_ref(struct tlib *c, const json_t *attrs, long long *refp)
{
	const json_t *v = json_object_get(attrs, "ReferenceID");

	if (!v) {
		*refp = c->next_ref++;
		return 0;
	}

	/* The caller chose it (tlibctl's raw lines): keep ours above it. */
	if (!json_is_integer(v) || json_integer_value(v) <= 0 ||
	    json_integer_value(v) > INT_MAX)
		return EINVAL;
	*refp = (long long)json_integer_value(v);
	if (*refp >= c->next_ref)
		c->next_ref = *refp + 1;
	return 0;
}

/* {"request": name, "ReferenceID": ref, ...attrs}, in that order. */
static json_t *request_obj(const char *name, long long ref, const json_t *attrs)
{
	json_t *obj = json_object();
	const char *key;
	json_t *val;

	if (!obj || json_object_set_new(obj, "request", json_string(name)) ||
	    json_object_set_new(obj, "ReferenceID", json_integer(ref))) {
		json_decref(obj);
		return NULL;
	}

	json_object_foreach((json_t *)attrs, key, val)
	{
		if (0 == strcmp(key, "request") ||
		    0 == strcmp(key, "ReferenceID"))
			continue;
		if (json_object_set(obj, key, val)) {
			json_decref(obj);
			return NULL;
		}
	}

	return obj;
}

/**
 * Send any request: name plus the attributes of attrs (borrowed; NULL for
 * none). A ReferenceID in attrs is used as given (a positive integer),
 * otherwise the next one is assigned.
 *
 * @return the ReferenceID, or -EINVAL, -ENOMEM, -EMSGSIZE, socket errors
 */
int tlib_request(struct tlib *c, const char *name, const json_t *attrs)
{
	long long ref;
	json_t *obj;
	int err;

	if (!c || !name || !*name || (attrs && !json_is_object(attrs)))
		return -EINVAL;

	err = take_ref(c, attrs, &ref);
	if (err)
		return -err;

	obj = request_obj(name, ref, attrs);
	if (!obj)
		return -ENOMEM;

	err = tlib_send_json(c, obj);
	json_decref(obj);
	return err ? -err : (int)ref;
}

static int attr_set(json_t *attrs, const struct attr *a)
{
	json_t *v;

	if (a->str)
		return json_object_set_new(attrs, a->name, json_string(a->str))
			       ? ENOMEM
			       : 0;
	if (!a->kv)
		return 0;

	v = tlib_kv_to_json(a->kv);
	if (!v)
		return EINVAL;
	return json_object_set_new(attrs, a->name, v) ? ENOMEM : 0;
}

static int send_attrs(struct tlib *c, const char *name, const struct attr *a,
		      size_t n)
{
	json_t *attrs;
	int ret = 0;

	if (!c)
		return -EINVAL;

	attrs = json_object();
	if (!attrs)
		return -ENOMEM;

	for (size_t i = 0; i < n && !ret; i++)
		ret = -attr_set(attrs, &a[i]);

	if (!ret)
		ret = tlib_request(c, name, attrs);
	json_decref(attrs);
	return ret;
}

/* REQ(c, name, rows...): the rows of a request, counted by the compiler. */
#define REQ(c, name, ...)                                                      \
	send_attrs(c, name, (const struct attr[]){__VA_ARGS__},                \
		   sizeof((const struct attr[]){__VA_ARGS__}) /                \
			   sizeof(struct attr))
#define S(n, v)	 ((struct attr){.name = (n), .str = (v)})
#define KV(n, v) ((struct attr){.name = (n), .kv = (v)})

int tlib_register(struct tlib *c, const char *dn, enum tlib_register_mode mode)
{
	static const char *const modes[] = {"ModeShare", "ModePrivate",
					    "ModeMonitor"};

	if (!dn || (unsigned)mode > TLIB_MODE_MONITOR)
		return -EINVAL;

	return REQ(c, "TRegisterAddress", S("ThisDN", dn),
		   S("RegisterMode", modes[mode]));
}

int tlib_unregister(struct tlib *c, const char *dn)
{
	if (!dn)
		return -EINVAL;

	return REQ(c, "TUnregisterAddress", S("ThisDN", dn));
}

int tlib_query_address(struct tlib *c, const char *this_dn)
{
	if (!this_dn)
		return -EINVAL;

	return REQ(c, "TQueryAddress", S("ThisDN", this_dn));
}

/* The many requests that are exactly ThisDN + ConnID. */
static int dn_conn(struct tlib *c, const char *name, const char *this_dn,
		   const char *connid)
{
	if (!this_dn || !connid)
		return -EINVAL;

	return REQ(c, name, S("ThisDN", this_dn), S("ConnID", connid));
}

/* ThisDN + ConnID + a third string attribute. */
static int dn_conn_3(struct tlib *c, const char *name, const char *this_dn,
		     const char *connid, const char *key, const char *val)
{
	if (!this_dn || !connid || !val)
		return -EINVAL;

	return REQ(c, name, S("ThisDN", this_dn), S("ConnID", connid),
		   S(key, val));
}

int tlib_query_call(struct tlib *c, const char *this_dn, const char *connid)
{
	return dn_conn(c, "TQueryCall", this_dn, connid);
}

int tlib_make_call(struct tlib *c, const char *this_dn, const char *other_dn,
		   const struct tlib_kv *userdata, const struct tlib_kv *ext)
{
	if (!this_dn || !other_dn)
		return -EINVAL;

	return REQ(c, "TMakeCall", S("ThisDN", this_dn), S("OtherDN", other_dn),
		   KV("UserData", userdata), KV("Extensions", ext));
}

int tlib_answer_call(struct tlib *c, const char *this_dn, const char *connid)
{
	return dn_conn(c, "TAnswerCall", this_dn, connid);
}

int tlib_release_call(struct tlib *c, const char *this_dn, const char *connid)
{
	return dn_conn(c, "TReleaseCall", this_dn, connid);
}

static int dn_conn_ext(struct tlib *c, const char *name, const char *this_dn,
		       const char *connid, const struct tlib_kv *ext)
{
	if (!this_dn || !connid)
		return -EINVAL;

	return REQ(c, name, S("ThisDN", this_dn), S("ConnID", connid),
		   KV("Extensions", ext));
}

int tlib_hold_call(struct tlib *c, const char *this_dn, const char *connid,
		   const struct tlib_kv *ext)
{
	return dn_conn_ext(c, "THoldCall", this_dn, connid, ext);
}

int tlib_retrieve_call(struct tlib *c, const char *this_dn, const char *connid,
		       const struct tlib_kv *ext)
{
	return dn_conn_ext(c, "TRetrieveCall", this_dn, connid, ext);
}

int tlib_initiate_conference(struct tlib *c, const char *this_dn,
			     const char *connid, const char *other_dn,
			     const struct tlib_kv *userdata)
{
	if (!this_dn || !connid || !other_dn)
		return -EINVAL;

	return REQ(c, "TInitiateConference", S("ThisDN", this_dn),
		   S("ConnID", connid), S("OtherDN", other_dn),
		   KV("UserData", userdata));
}

int tlib_complete_conference(struct tlib *c, const char *this_dn,
			     const char *connid, const char *consult_connid)
{
	return dn_conn_3(c, "TCompleteConference", this_dn, connid,
			 "ConsultConnID", consult_connid);
}

int tlib_reconnect_call(struct tlib *c, const char *this_dn, const char *connid,
			const char *consult_connid)
{
	return dn_conn_3(c, "TReconnectCall", this_dn, connid, "ConsultConnID",
			 consult_connid);
}

int tlib_single_step_conference(struct tlib *c, const char *this_dn,
				const char *connid, const char *other_dn)
{
	return dn_conn_3(c, "TSingleStepConference", this_dn, connid, "OtherDN",
			 other_dn);
}

int tlib_delete_from_conference(struct tlib *c, const char *this_dn,
				const char *connid, const char *other_dn)
{
	return dn_conn_3(c, "TDeleteFromConference", this_dn, connid, "OtherDN",
			 other_dn);
}

int tlib_listen_disconnect(struct tlib *c, const char *this_dn,
			   const char *connid, const char *other_dn,
			   const struct tlib_kv *ext)
{
	if (!this_dn || !connid || !other_dn)
		return -EINVAL;

	return REQ(c, "TListenDisconnect", S("ThisDN", this_dn),
		   S("ConnID", connid), S("OtherDN", other_dn),
		   KV("Extensions", ext));
}

int tlib_listen_reconnect(struct tlib *c, const char *this_dn,
			  const char *connid, const char *other_dn)
{
	return dn_conn_3(c, "TListenReconnect", this_dn, connid, "OtherDN",
			 other_dn);
}

static bool open_answer(const struct tlib_event *ev, void *arg)
{
	const long long *ref = arg;

	if (strcmp(ev->name, "EventServerConnected") &&
	    strcmp(ev->name, "EventError"))
		return false;

	/* An EventError about an unreadable line carries no ReferenceID. */
	return ev->reference_id == 0 || ev->reference_id == *ref;
}

/**
 * TOpenServer, then wait (the connection's timeout) for its answer. Other
 * events meanwhile go to the handler.
 *
 * @return 0 (EventServerConnected), EACCES (EventError: its code and
 *         message from tlib_last_error), ETIMEDOUT, ECONNRESET, ...
 */
int tlib_open(struct tlib *c, const char *app_name, const char *password)
{
	struct tlib_event *ev = NULL;
	long long ref;
	int r, err;

	if (!c || !app_name)
		return EINVAL;

	/* Password is optional: the row is there only when there is one. */
	if (password)
		r = REQ(c, "TOpenServer", S("ApplicationName", app_name),
			S("Password", password));
	else
		r = REQ(c, "TOpenServer", S("ApplicationName", app_name));
	if (r < 0)
		return -r;

	ref = r;
	err = tlib_conn_wait(c, open_answer, &ref, c->timeout_ms, &ev);
	if (err)
		return err;

	err = strcmp(ev->name, "EventError") ? 0 : EACCES;
	tlib_event_free(ev);
	return err;
}
