/**
 * @file line.c  The text forms people type: request lines and match specs
 *
 *   TMakeCall ThisDN=1001 OtherDN=1002 Extensions.music=/x.wav
 *   EventEstablished ThisDN=1002 ConnID=00000000000000a1
 *
 * Both are a name and then Key=Value tokens, so one tokenizer serves
 * tlibctl's stdin, its --wait and tlib_wait(). A value may be written in
 * double quotes to hold spaces ("\"" and "\\" escape inside). In request
 * lines, "A.b=v" sets key b of object A (Extensions, UserData), the
 * attributes the spec types as integers (ReferenceID) are sent as JSON
 * integers, every other value as a string, and "Key:=JSON" sends any JSON
 * value as written (UserData.priority:=5). The library owns this syntax so
 * that every client reads a line the same way.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tlib_int.h"

struct match_pair {
	char *key; /* top-level attribute */
	char *sub; /* key inside it ("Extensions.music"), or NULL */
	char *val; /* expected value as text */
};

struct tlib_match {
	char *name; /* NULL: any event */
	struct match_pair *pairs;
	size_t n;
};

static bool is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/*
 * The next token of *sp into a new string (quotes removed), *sp moved past
 * it. Returns 0, ENOENT at the end of the line, EINVAL for an unterminated
 * quote, ENOMEM.
 */
static int next_token(const char **sp, char **tokp)
{
	const char *s = *sp;
	bool quoted = false;
	size_t n = 0;
	char *tok;

	while (is_space(*s))
		s++;
	if (!*s)
		return ENOENT;

	tok = malloc(strlen(s) + 1);
	if (!tok)
		return ENOMEM;

	for (; *s && (quoted || !is_space(*s)); s++) {
		if (*s == '"') {
			quoted = !quoted;
			continue;
		}
		if (quoted && *s == '\\' && (s[1] == '"' || s[1] == '\\'))
			s++;
		tok[n++] = *s;
	}
	tok[n] = '\0';

	if (quoted) {
		free(tok);
		return EINVAL;
	}

	*sp = s;
	*tokp = tok;
	return 0;
}

/* Attributes the spec types as integers: sent as JSON integers. */
static bool integer_attr(const char *key)
{
	return 0 == strcmp(key, "ReferenceID") ||
	       0 == strcmp(key, "ErrorCode") ||
	       0 == strcmp(key, "EventSequenceNumber");
}

static json_t *integer_value(const char *text)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(text, &end, 10);
	if (errno || end == text || *end)
		return NULL;

	return json_integer(v);
}

static json_t *token_value(const char *key, const char *text, bool raw)
{
	if (raw)
		return json_loads(
			text, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
	if (integer_attr(key))
		return integer_value(text);

	return json_string(text);
}

/* Set attrs[key] or attrs[key][sub]; a key set twice is an error. */
static int set_attr(json_t *attrs, const char *key, const char *sub,
		    json_t *val)
{
	json_t *obj = attrs;

	if (sub) {
		obj = json_object_get(attrs, key);
		if (!obj) {
			obj = json_object();
			if (json_object_set_new(attrs, key, obj))
				return ENOMEM;
		}
		if (!json_is_object(obj))
			return EINVAL;
		key = sub;
	}

	if (json_object_get(obj, key))
		return EINVAL;

	return json_object_set(obj, key, val) ? ENOMEM : 0;
}

/*
 * Split "Key=Value", "Key:=Value" and "Key.sub=Value" in place. Returns
 * EINVAL when there is no '=' or the key is empty.
 */
static int split_pair(char *tok, char **keyp, char **subp, char **valp,
		      bool *rawp)
{
	char *eq = strchr(tok, '=');
	char *dot;

	if (!eq || eq == tok)
		return EINVAL;

	*rawp = eq[-1] == ':';
	if (*rawp)
		eq[-1] = '\0';
	*eq = '\0';
	*valp = eq + 1;

	dot = strchr(tok, '.');
	if (dot)
		*dot = '\0';
	*keyp = tok;
	*subp = dot ? dot + 1 : NULL;

	return (!**keyp || (dot && !**subp)) ? EINVAL : 0;
}

static int add_request_pair(json_t *attrs, char *tok)
{
	char *key, *sub, *text;
	json_t *val;
	bool raw;
	int err;

	err = split_pair(tok, &key, &sub, &text, &raw);
	if (err)
		return err;

	val = token_value(sub ? sub : key, text, raw);
	if (!val)
		return EINVAL;

	err = set_attr(attrs, key, sub, val);
	json_decref(val);
	return err;
}

static int parse_pairs(const char *s, json_t *attrs)
{
	char *tok;
	int err;

	while (0 == (err = next_token(&s, &tok))) {
		err = add_request_pair(attrs, tok);
		free(tok);
		if (err)
			return err;
	}

	return err == ENOENT ? 0 : err;
}

/**
 * Parse a request line "TName Key=Value ...".
 *
 * @param line   the line (a trailing newline is allowed)
 * @param namep  the request name, to free()
 * @param attrsp its attributes, a new JSON object
 *
 * @return 0, EINVAL (no name, a token without '=', a bad integer or JSON,
 *         a key set twice, an unterminated quote) or ENOMEM
 */
int tlib_line_parse(const char *line, char **namep, json_t **attrsp)
{
	json_t *attrs;
	char *name;
	int err;

	if (!line || !namep || !attrsp)
		return EINVAL;

	err = next_token(&line, &name);
	if (err)
		return err == ENOENT ? EINVAL : err;
	if (strchr(name, '=')) {
		free(name);
		return EINVAL;
	}

	attrs = json_object();
	err = attrs ? parse_pairs(line, attrs) : ENOMEM;
	if (err) {
		json_decref(attrs);
		free(name);
		return err;
	}

	*namep = name;
	*attrsp = attrs;
	return 0;
}

/**
 * Free a match spec.
 */
void tlib_match_free(struct tlib_match *m)
{
	if (!m)
		return;

	for (size_t i = 0; i < m->n; i++)
		free(m->pairs[i].key); /* sub and val point into it */
	free(m->pairs);
	free(m->name);
	free(m);
}

static int match_add(struct tlib_match *m, char *tok)
{
	struct match_pair *p;
	bool raw;
	int err;

	p = realloc(m->pairs, (m->n + 1) * sizeof(*p));
	if (!p)
		return ENOMEM;
	m->pairs = p;
	p = &m->pairs[m->n];

	err = split_pair(tok, &p->key, &p->sub, &p->val, &raw);
	if (err || raw)
		return EINVAL;

	m->n++;
	return 0;
}

static int match_tokens(struct tlib_match *m, const char *spec)
{
	bool first = true;
	char *tok;
	int err;

	while (0 == (err = next_token(&spec, &tok))) {
		if (first && !strchr(tok, '=')) {
			m->name = strcmp(tok, "*") ? tok : (free(tok), NULL);
			first = false;
			continue;
		}
		first = false;
		err = match_add(m, tok);
		if (err) {
			free(tok);
			return err;
		}
	}

	return err == ENOENT ? 0 : err;
}

/**
 * Parse a match spec: "[EventName|*] [Key=Value | Key.sub=Value]...".
 * An event matches when its name is EventName (any name for "*" or none)
 * and every Key has exactly that value: strings compare as text, integers
 * by their decimal form, true/false/null by those words.
 *
 * @return 0, EINVAL or ENOMEM
 */
int tlib_match_parse(struct tlib_match **mp, const char *spec)
{
	struct tlib_match *m;
	int err;

	if (!mp || !spec)
		return EINVAL;

	m = calloc(1, sizeof(*m));
	if (!m)
		return ENOMEM;

	err = match_tokens(m, spec);
	if (err) {
		tlib_match_free(m);
		return err;
	}

	*mp = m;
	return 0;
}

static bool value_is(const json_t *v, const char *want)
{
	char num[32];

	switch (json_typeof(v)) {
	case JSON_STRING:
		return 0 == strcmp(json_string_value(v), want);
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%lld",
			 (long long)json_integer_value(v));
		return 0 == strcmp(num, want);
	case JSON_TRUE:
		return 0 == strcmp(want, "true");
	case JSON_FALSE:
		return 0 == strcmp(want, "false");
	case JSON_NULL:
		return 0 == strcmp(want, "null");
	default:
		return false;
	}
}

/**
 * Does the event match the spec?
 */
bool tlib_match_event(const struct tlib_match *m, const struct tlib_event *ev)
{
	if (!m || !ev)
		return false;
	if (m->name && (!ev->name || strcmp(m->name, ev->name)))
		return false;

	for (size_t i = 0; i < m->n; i++) {
		const struct match_pair *p = &m->pairs[i];
		const json_t *v = json_object_get(ev->json, p->key);

		if (p->sub)
			v = json_object_get(v, p->sub);
		if (!v || !value_is(v, p->val))
			return false;
	}

	return true;
}
