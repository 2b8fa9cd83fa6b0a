/**
 * @file event.c  One line from the server -> struct tlib_event
 *
 * Owns the decision "is this line an event": valid JSON (jansson, with
 * duplicate keys rejected, since two values for one attribute have no
 * meaning we could pick), an object, with an "event" string. Everything
 * else about the object is lenient, as the spec asks of both sides: unknown
 * keys are ignored and a common attribute of the wrong type reads as
 * absent, while the raw object and line stay available to the caller.
 *
 * An event owns its JSON (one reference) and a copy of its line; all its
 * string fields point into them, so there is exactly one thing to free.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tlib_int.h"

static const char *str_attr(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

static long long int_attr(const json_t *obj, const char *key, long long dflt)
{
	const json_t *v = json_object_get(obj, key);

	return json_is_integer(v) ? (long long)json_integer_value(v) : dflt;
}

/*
 * The spec types CallState as a string but also gives T-Library's numbers
 * (Ok=0, Conferenced=2, Held=50); a server that sends the number still
 * yields a name here, so callers compare one thing.
 */
static const char *call_state(const json_t *obj)
{
	const json_t *v = json_object_get(obj, "CallState");

	if (json_is_string(v))
		return json_string_value(v);
	if (!json_is_integer(v))
		return NULL;

	switch (json_integer_value(v)) {
	case 0:
		return "Ok";
	case 2:
		return "Conferenced";
	case 50:
		return "Held";
	default:
		return NULL;
	}
}

/* Values that are neither string nor integer are left out of the list (the
 * spec allows only those two); they stay in the raw JSON. */
static int kv_from_json(struct tlib_kv *kv, const json_t *obj)
{
	struct tlib_kv_item *items;
	const char *key;
	json_t *val;
	size_t n = 0;

	if (!json_is_object(obj) || !json_object_size(obj))
		return 0;

	items = calloc(json_object_size(obj), sizeof(*items));
	if (!items)
		return ENOMEM;

	json_object_foreach((json_t *)obj, key, val)
	{
		if (json_is_string(val)) {
			items[n].key = key;
			items[n++].str = json_string_value(val);
		} else if (json_is_integer(val)) {
			items[n].key = key;
			items[n++].num = (long long)json_integer_value(val);
		}
	}

	kv->items = items;
	kv->n = n;
	return 0;
}

static void fill_fields(struct tlib_event *ev, const json_t *o)
{
	ev->name = str_attr(o, "event");
	ev->reference_id = int_attr(o, "ReferenceID", 0);
	ev->seq = int_attr(o, "EventSequenceNumber", -1);
	ev->time = str_attr(o, "Time");
	ev->this_dn = str_attr(o, "ThisDN");
	ev->other_dn = str_attr(o, "OtherDN");
	ev->third_party_dn = str_attr(o, "ThirdPartyDN");
	ev->this_dn_role = str_attr(o, "ThisDNRole");
	ev->other_dn_role = str_attr(o, "OtherDNRole");
	ev->third_party_dn_role = str_attr(o, "ThirdPartyDNRole");
	ev->conn_id = str_attr(o, "ConnID");
	ev->previous_conn_id = str_attr(o, "PreviousConnID");
	ev->consult_conn_id = str_attr(o, "ConsultConnID");
	ev->call_uuid = str_attr(o, "CallUUID");
	ev->call_type = str_attr(o, "CallType");
	ev->call_state = call_state(o);
	ev->ani = str_attr(o, "ANI");
	ev->dnis = str_attr(o, "DNIS");
	ev->error_code = (int)int_attr(o, "ErrorCode", 0);
	ev->error_message = str_attr(o, "ErrorMessage");
}

void tlib_event_free(struct tlib_event *ev)
{
	if (!ev)
		return;

	free((void *)ev->extensions.items);
	free((void *)ev->user_data.items);
	free((void *)ev->reasons.items);
	free((void *)ev->line);
	json_decref(ev->json);
	free(ev);
}

static int event_build(struct tlib_event *ev, const char *line, size_t len)
{
	char *copy = malloc(len + 1);
	int err;

	if (!copy)
		return ENOMEM;
	memcpy(copy, line, len);
	copy[len] = '\0';
	ev->line = copy;
	ev->line_len = len;

	fill_fields(ev, ev->json);
	err = kv_from_json(&ev->extensions,
			   json_object_get(ev->json, "Extensions"));
	err = err ? err
		  : kv_from_json(&ev->user_data,
				 json_object_get(ev->json, "UserData"));
	err = err ? err
		  : kv_from_json(&ev->reasons,
				 json_object_get(ev->json, "Reasons"));
	return err;
}

/**
 * Parse one line (without its '\n') into a new event.
 *
 * @return 0, EBADMSG (with the reason in why) or ENOMEM
 */
int tlib_event_parse(struct tlib_event **evp, const char *line, size_t len,
		     char *why, size_t whysz)
{
	struct tlib_event *ev;
	json_error_t jerr;
	json_t *obj;
	int err;

	obj = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!obj) {
		snprintf(why, whysz, "invalid JSON: %s (column %d)", jerr.text,
			 jerr.column);
		return EBADMSG;
	}
	if (!json_is_object(obj) ||
	    !json_is_string(json_object_get(obj, "event"))) {
		snprintf(why, whysz, "%s",
			 json_is_object(obj)
				 ? "object without an \"event\" string"
				 : "not a JSON object");
		json_decref(obj);
		return EBADMSG;
	}

	ev = calloc(1, sizeof(*ev));
	if (!ev) {
		json_decref(obj);
		return ENOMEM;
	}
	ev->json = obj;

	err = event_build(ev, line, len);
	if (err) {
		tlib_event_free(ev);
		return err;
	}

	*evp = ev;
	return 0;
}

/**
 * The string value of key in a key-value list (NULL when absent or an
 * integer).
 */
const char *tlib_kv_get(const struct tlib_kv *kv, const char *key)
{
	for (size_t i = 0; kv && key && i < kv->n; i++) {
		if (0 == strcmp(kv->items[i].key, key))
			return kv->items[i].str;
	}

	return NULL;
}
