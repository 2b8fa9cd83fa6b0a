/**
 * @file diff.c  What a reload changed
 *
 * A reload is only trustworthy if the operator can see what it did, so the
 * old and new snapshots are compared option by option and DN by DN.
 * Options that need a restart keep their running value in the new snapshot:
 * the sockets were bound with it, and every module must keep seeing the
 * value that is really in force. Passwords are never printed.
 */
#include <stdio.h>
#include <string.h>
#include <re.h>
#include "cfg/cfg.h"
#include "cfg/priv.h"

static int dn_print(struct re_printf *pf, void *arg)
{
	const struct cfg_dn *dn = arg;

	if (dn->type == CFG_DN_EXTENSION)
		return re_hprintf(pf, "Extension%s",
				  dn->password ? " with password" : "");

	return re_hprintf(pf,
			  "Trunk contact=%s prefix=%s inter-trunk=%s "
			  "moh=%s",
			  dn->contact, dn->prefix,
			  dn->inter_trunk ? "true" : "false",
			  dn->moh ? "true" : "false");
}

/* libre's str_cmp calls two NULLs different; here they are the same */
static bool same(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static bool dn_equal(const struct cfg_dn *a, const struct cfg_dn *b)
{
	return a->type == b->type && a->inter_trunk == b->inter_trunk &&
	       a->moh == b->moh && same(a->password, b->password) &&
	       same(a->contact, b->contact) && same(a->prefix, b->prefix);
}


static int dn_report(const char *dn, const struct cfg_dn *a,
		     const struct cfg_dn *b, cfg_change_h *changeh, void *arg)
{
	char *name = NULL, *va = NULL, *vb = NULL;
	int err;

	err = re_sdprintf(&name, "dn:%s", dn);
	if (!err && a)
		err = re_sdprintf(&va, "%H", dn_print, a);
	if (!err && b)
		err = re_sdprintf(&vb, "%H", dn_print, b);
	if (!err)
		changeh(name, va ? va : "(none)", vb ? vb : "(none)", false,
			arg);

	mem_deref(name);
	mem_deref(va);
	mem_deref(vb);
	return err;
}

static int dns_diff(const struct cfg *old, const struct cfg *cur,
		    cfg_change_h *changeh, void *arg)
{
	int err = 0;

	for (struct le *le = old->dnl.head; le && !err; le = le->next) {
		const struct cfg_dn *a = le->data;
		const struct cfg_dn *b = cfg_dn_find(cur, a->name);

		if (!b || !dn_equal(a, b))
			err = dn_report(a->name, a, b, changeh, arg);
	}
	for (struct le *le = cur->dnl.head; le && !err; le = le->next) {
		const struct cfg_dn *b = le->data;

		if (!cfg_dn_find(old, b->name))
			err = dn_report(b->name, NULL, b, changeh, arg);
	}

	return err;
}

struct value {
	const struct cfg *cfg;
	const struct cfg_option *opt;
};

static int value_print(struct re_printf *pf, void *arg)
{
	const struct value *v = arg;

	return cfg_option_print(pf, v->cfg, v->opt);
}

static int value_str(char **strp, const struct cfg *cfg,
		     const struct cfg_option *opt)
{
	struct value v = {cfg, opt};

	return re_sdprintf(strp, "%H", value_print, &v);
}

/**
 * Report every difference between two snapshots
 *
 * @param old     Running snapshot
 * @param cur     New snapshot, as read from the file
 * @param changeh Called once per changed option or DN
 * @param arg     Handler argument
 *
 * @return 0 if success, otherwise errorcode
 */
int cfg_diff(const struct cfg *old, const struct cfg *cur,
	     cfg_change_h *changeh, void *arg)
{
	char *va = NULL, *vb = NULL;
	int err = 0;

	if (!old || !cur || !changeh)
		return EINVAL;

	for (size_t i = 0; i < cfg_option_count && !err; i++) {
		const struct cfg_option *opt = &cfg_options[i];

		err = value_str(&va, old, opt);
		err |= value_str(&vb, cur, opt);
		if (!err && str_cmp(va, vb)) {
			bool secret = 0 == strcmp(opt->name, "client-password");
			changeh(opt->name, secret ? "***" : va,
				secret ? "***" : vb, opt->restart, arg);
		}
		va = mem_deref(va);
		vb = mem_deref(vb);
	}

	return err ? err : dns_diff(old, cur, changeh, arg);
}

/**
 * Put the running values of restart-only options into a new snapshot
 *
 * @param cur New snapshot (not yet shared with anyone)
 * @param old Running snapshot
 */
void cfg_keep_restart_options(struct cfg *cur, const struct cfg *old)
{
	if (!cur || !old)
		return;

	for (size_t i = 0; i < cfg_option_count; i++) {
		if (cfg_options[i].restart)
			cfg_option_copy(cur, old, &cfg_options[i]);
	}
}
