/**
 * @file dn.c  [dn:NAME] sections: the directory numbers
 *
 * A DN is an Extension (a phone that registers) or a Trunk (a route to
 * another site or a gateway). Options that belong to the other type are
 * errors rather than ignored, so a typo'd type cannot silently turn a trunk
 * into a phone.
 */
#include <stdio.h>
#include <string.h>
#include <re.h>
#include "cfg/cfg.h"
#include "cfg/priv.h"

/* Characters a DN may hold: it is the user part of SIP URIs and what
 * agents dial, so keep it to dialable, URI-safe characters. */
static const char dn_chars[] = "0123456789abcdefghijklmnopqrstuvwxyz"
			       "ABCDEFGHIJKLMNOPQRSTUVWXYZ._-+*#";

static void dn_destructor(void *arg)
{
	struct cfg_dn *dn = arg;

	mem_deref(dn->name);
	mem_deref(dn->password);
	mem_deref(dn->contact);
	mem_deref(dn->prefix);
}

int cfg_dn_section(struct cfg_parse *p, const char *name)
{
	const struct cfg_dn *old;
	struct cfg_dn *dn;

	if (!name[0] || strlen(name) > 64 ||
	    strspn(name, dn_chars) != strlen(name)) {
		cfg_problem(p, p->line, p->section, NULL,
			    "bad DN name \"%s\": use 1-64 of 0-9 A-Z a-z "
			    ". _ - + * #",
			    name);
		return EINVAL;
	}

	old = cfg_dn_find(p->conf, name);
	if (old) {
		cfg_problem(p, p->line, p->section, NULL,
			    "DN defined twice (first on line %u)", old->line);
		return EEXIST;
	}

	dn = mem_zalloc(sizeof(*dn), dn_destructor);
	if (!dn || str_dup(&dn->name, name) || str_dup(&dn->prefix, "")) {
		mem_deref(dn);
		cfg_problem(p, p->line, p->section, NULL, "out of memory");
		return ENOMEM;
	}
	dn->moh = true;
	dn->line = p->line;

	list_append(&p->conf->dnl, &dn->le, dn);
	hash_append(p->conf->dnh, hash_joaat_str(dn->name), &dn->he, dn);
	p->dn = dn;

	return 0;
}

static int set_str(char **field, const char *value)
{
	mem_deref(*field);
	*field = NULL;

	return str_dup(field, value);
}

static int contact_check(const char *value, char *reason, size_t sz)
{
	struct uri uri;
	struct pl pl;

	pl_set_str(&pl, value);
	if (uri_decode(&uri, &pl) || (pl_strcasecmp(&uri.scheme, "sip") &&
				      pl_strcasecmp(&uri.scheme, "sips"))) {
		re_snprintf(reason, sz, "\"%s\" is not a sip: or sips: URI",
			    value);
		return EINVAL;
	}

	return 0;
}

static int prefix_check(const char *value, char *reason, size_t sz)
{
	if (strspn(value, "0123456789*#+") != strlen(value)) {
		re_snprintf(reason, sz,
			    "\"%s\" is not made of digits, "
			    "*, # and +",
			    value);
		return EINVAL;
	}

	return 0;
}

static int dn_set(struct cfg_dn *dn, const char *name, const char *value,
		  char *reason, size_t sz)
{
	if (0 == strcmp(name, "type")) {
		if (0 == strcmp(value, "Extension"))
			dn->type = CFG_DN_EXTENSION;
		else if (0 == strcmp(value, "Trunk"))
			dn->type = CFG_DN_TRUNK;
		else {
			re_snprintf(reason, sz,
				    "\"%s\" is not Extension or "
				    "Trunk",
				    value);
			return EINVAL;
		}
		return 0;
	}
	if (0 == strcmp(name, "password")) {
		/* empty means no authentication, as if the option were absent */
		if (!value[0]) {
			dn->password = mem_deref(dn->password);
			return 0;
		}
		return set_str(&dn->password, value);
	}
	if (0 == strcmp(name, "contact")) {
		if (contact_check(value, reason, sz))
			return EINVAL;
		return set_str(&dn->contact, value);
	}
	if (0 == strcmp(name, "prefix")) {
		if (prefix_check(value, reason, sz))
			return EINVAL;
		return set_str(&dn->prefix, value);
	}
	if (0 == strcmp(name, "sip-server-inter-trunk") ||
	    0 == strcmp(name, "sip-enable-moh")) {
		bool *b = name[4] == 's' ? &dn->inter_trunk : &dn->moh;
		if (cfg_parse_bool(b, value)) {
			re_snprintf(reason, sz, "\"%s\" is not true or false",
				    value);
			return EINVAL;
		}
		return 0;
	}

	re_snprintf(reason, sz,
		    "unknown option (known: type, password, "
		    "contact, prefix, sip-server-inter-trunk, sip-enable-moh)");
	return ENOENT;
}

void cfg_dn_option(struct cfg_parse *p, const char *name, const char *value)
{
	char reason[256] = "out of memory";

	if (dn_set(p->dn, name, value, reason, sizeof(reason)))
		cfg_problem(p, p->line, p->section, name, "%s", reason);
}

static void dn_check_one(struct cfg_parse *p, const struct cfg_dn *dn)
{
	char section[80];

	re_snprintf(section, sizeof(section), "dn:%s", dn->name);

	if (dn->type == CFG_DN_EXTENSION) {
		if (dn->contact || dn->prefix[0] || dn->inter_trunk)
			cfg_problem(p, dn->line, section, NULL,
				    "contact, prefix and sip-server-inter-"
				    "trunk are Trunk options, and this DN "
				    "is an Extension");
		return;
	}

	if (dn->password)
		cfg_problem(p, dn->line, section, "password",
			    "is an Extension option, and this DN is a Trunk");
	if (!dn->contact)
		cfg_problem(p, dn->line, section, "contact",
			    "a Trunk needs the SIP URI of its peer");
}

/* Two trunks with one prefix would make routing depend on file order. */
static void prefix_unique(struct cfg_parse *p, const struct cfg_dn *dn)
{
	char section[80];

	re_snprintf(section, sizeof(section), "dn:%s", dn->name);
	for (struct le *le = p->conf->dnl.head; le && le->data != dn;
	     le = le->next) {
		const struct cfg_dn *o = le->data;

		if (o->type == CFG_DN_TRUNK && !strcmp(o->prefix, dn->prefix))
			cfg_problem(p, dn->line, section, "prefix",
				    "\"%s\" is also the prefix of "
				    "trunk %s (line %u)",
				    dn->prefix, o->name, o->line);
	}
}

void cfg_dn_check(struct cfg_parse *p)
{
	for (struct le *le = p->conf->dnl.head; le; le = le->next) {
		const struct cfg_dn *dn = le->data;

		dn_check_one(p, dn);
		if (dn->type == CFG_DN_TRUNK)
			prefix_unique(p, dn);
	}
}
