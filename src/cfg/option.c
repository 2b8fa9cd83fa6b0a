/**
 * @file option.c  The [TServer] option table: names, types, defaults
 *
 * One row per option drives parsing, defaults, printing, reload comparison
 * and freeing, so adding an option is adding a row. Defaults are written as
 * file text and go through the same parser as the file's own values.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <re.h>
#include "log/log.h"
#include "cfg/cfg.h"
#include "cfg/priv.h"

#define F(field) offsetof(struct cfg, field)

const struct cfg_option cfg_options[] = {
	{"location", OPT_NAME, F(location), "Home", 0, 0, true},
	{"sip-address", OPT_ADDR, F(sip_address), "127.0.0.1", 0, 0, true},
	{"sip-port", OPT_PORT, F(sip_port), "5060", 0, 0, true},
	{"tlib-port", OPT_PORT, F(tlib_port), "3000", 0, 0, true},
	{"http-port", OPT_PORT0, F(http_port), "8080", 0, 0, true},
	{"rtp-port-min", OPT_PORT, F(rtp_port_min), "20000", 0, 0, true},
	{"rtp-port-max", OPT_PORT, F(rtp_port_max), "29999", 0, 0, true},
	{"client-password", OPT_STR, F(client_password), "", 0, 0, false},
	{"sip-enable-call-info", OPT_BOOL, F(call_info), "false", 0, 0, false},
	{"sip-enable-call-info-extended", OPT_BOOL, F(call_info_extended),
	 "false", 0, 0, false},
	{"music-listen-disconnect", OPT_MUSIC, F(music_listen_disconnect),
	 "music/on_hold", 0, 0, false},
	{"default-music", OPT_MUSIC, F(default_music), "music/on_hold", 0, 0,
	 false},
	{"log-level", OPT_LOGLEVEL, F(log_level), "info", 0, 0, false},
	{"web-root", OPT_PATH, F(web_root), "web", 0, 0, true},
	{"http-address", OPT_ADDR, F(http_address), "127.0.0.1", 0, 0, true},
	{"http-status-allow", OPT_NETS, F(http_status_allow),
	 "127.0.0.0/8, ::1", 0, 0, false},
	{"media-threads", OPT_UINT, F(media_threads), NULL, 1, 64, true},
	{"rtp-timeout", OPT_UINT, F(rtp_timeout), "30", 0, 86400, false},
	{"no-answer-timeout", OPT_UINT, F(no_answer_timeout), "60", 1, 3600,
	 false},
	{"sip-tls-port", OPT_PORT0, F(sip_tls_port), "0", 0, 0, true},
	{"tlib-tls-port", OPT_PORT0, F(tlib_tls_port), "0", 0, 0, true},
	{"tls-certificate", OPT_PATH, F(tls_certificate), "", 0, 0, true},
	{"auth-fail-limit", OPT_UINT, F(auth_fail_limit), "10", 0, 1000000,
	 false},
};

const size_t cfg_option_count = ARRAY_SIZE(cfg_options);

#define FIELD(conf, opt, type) ((type *)((char *)(conf) + (opt)->off))

const struct cfg_option *cfg_option_find(const char *name)
{
	for (size_t i = 0; i < cfg_option_count; i++) {
		if (0 == strcmp(cfg_options[i].name, name))
			return &cfg_options[i];
	}

	return NULL;
}

int cfg_parse_bool(bool *bp, const char *value)
{
	if (0 == strcasecmp(value, "true"))
		*bp = true;
	else if (0 == strcasecmp(value, "false"))
		*bp = false;
	else
		return EINVAL;

	return 0;
}

/* Digits only: strtoul alone would take "-1", " 7" and "12abc". */
static int parse_uint(uint32_t *vp, const char *value, uint32_t min,
		      uint32_t max)
{
	unsigned long v;
	char *end;

	if (!value[0] || strspn(value, "0123456789") != strlen(value) ||
	    strlen(value) > 10)
		return EINVAL;

	v = strtoul(value, &end, 10);
	if (v < min || v > max)
		return ERANGE;

	*vp = (uint32_t)v;
	return 0;
}

static int parse_name(const char *value, char *reason, size_t sz)
{
	if (!value[0]) {
		re_snprintf(reason, sz, "must not be empty");
		return EINVAL;
	}
	if (strlen(value) > 64) {
		re_snprintf(reason, sz, "longer than 64 characters");
		return EINVAL;
	}
	for (const char *c = value; *c; c++) {
		if (*c <= ' ' || *c == 0x7f) {
			re_snprintf(reason, sz,
				    "\"%s\" contains a space or "
				    "control character",
				    value);
			return EINVAL;
		}
	}

	return 0;
}

static int parse_number(struct cfg_parse *p, const struct cfg_option *opt,
			const char *value, char *reason, size_t sz)
{
	uint32_t min = opt->min, max = opt->max, v;
	int err;

	if (opt->type == OPT_PORT || opt->type == OPT_PORT0) {
		min = opt->type == OPT_PORT ? 1 : 0;
		max = 65535;
	}

	err = parse_uint(&v, value, min, max);
	if (err) {
		re_snprintf(reason, sz, "\"%s\" is not %s %u..%u%s", value,
			    err == ERANGE ? "in the range" : "a number in", min,
			    max, opt->type == OPT_PORT0 ? " (0 = off)" : "");
		return err;
	}

	if (opt->type == OPT_UINT)
		*FIELD(p->conf, opt, uint32_t) = v;
	else
		*FIELD(p->conf, opt, uint16_t) = (uint16_t)v;

	return 0;
}

static int parse_addr(struct cfg_parse *p, const struct cfg_option *opt,
		      const char *value, char *reason, size_t sz)
{
	struct sa *sa = FIELD(p->conf, opt, struct sa);

	if (sa_set_str(sa, value, 0)) {
		re_snprintf(reason, sz, "\"%s\" is not an IPv4 or IPv6 address",
			    value);
		return EINVAL;
	}

	return 0;
}

static int parse_string(struct cfg_parse *p, const struct cfg_option *opt,
			const char *value, char *reason, size_t sz)
{
	char **field = FIELD(p->conf, opt, char *);
	char *s = NULL;
	int err;

	switch (opt->type) {
	case OPT_NAME:
		err = parse_name(value, reason, sz);
		if (err)
			return err;
		err = str_dup(&s, value);
		break;
	case OPT_MUSIC:
		err = cfg_path_resolve(&s, p->conf, value);
		if (!err && cfg_music_check(s, reason, sz)) {
			mem_deref(s);
			return EINVAL;
		}
		break;
	case OPT_PATH:
		err = value[0] ? cfg_path_resolve(&s, p->conf, value) : 0;
		break;
	case OPT_NETS:
		if (cfg_nets_check(value, reason, sz))
			return EINVAL;
		err = str_dup(&s, value);
		break;
	default:
		err = str_dup(&s, value);
		break;
	}

	if (err) {
		re_snprintf(reason, sz, "%m", err);
		return err;
	}

	mem_deref(*field);
	*field = s;
	return 0;
}

int cfg_option_parse(struct cfg_parse *p, const struct cfg_option *opt,
		     const char *value, char *reason, size_t sz)
{
	enum log_level level;

	switch (opt->type) {
	case OPT_BOOL:
		if (cfg_parse_bool(FIELD(p->conf, opt, bool), value)) {
			re_snprintf(reason, sz, "\"%s\" is not true or false",
				    value);
			return EINVAL;
		}
		return 0;
	case OPT_PORT:
	case OPT_PORT0:
	case OPT_UINT:
		return parse_number(p, opt, value, reason, sz);
	case OPT_ADDR:
		return parse_addr(p, opt, value, reason, sz);
	case OPT_LOGLEVEL:
		if (log_level_parse(&level, value)) {
			re_snprintf(reason, sz,
				    "\"%s\" is not one of error, "
				    "warn, info, debug",
				    value);
			return EINVAL;
		}
		*FIELD(p->conf, opt, uint32_t) = level;
		return 0;
	default:
		return parse_string(p, opt, value, reason, sz);
	}
}

int cfg_option_print(struct re_printf *pf, const struct cfg *conf,
		     const struct cfg_option *opt)
{
	switch (opt->type) {
	case OPT_BOOL:
		return re_hprintf(pf, "%s",
				  *FIELD(conf, opt, bool) ? "true" : "false");
	case OPT_PORT:
	case OPT_PORT0:
		return re_hprintf(pf, "%u", *FIELD(conf, opt, uint16_t));
	case OPT_UINT:
		return re_hprintf(pf, "%u", *FIELD(conf, opt, uint32_t));
	case OPT_ADDR:
		return re_hprintf(pf, "%j", FIELD(conf, opt, struct sa));
	case OPT_LOGLEVEL:
		return re_hprintf(pf, "%s",
				  log_level_name(*FIELD(conf, opt, uint32_t)));
	default: {
		const char *s = *FIELD(conf, opt, char *);
		return re_hprintf(pf, "%s", s ? s : "");
	}
	}
}

void cfg_option_copy(struct cfg *dst, const struct cfg *src,
		     const struct cfg_option *opt)
{
	switch (opt->type) {
	case OPT_BOOL:
		*FIELD(dst, opt, bool) = *FIELD(src, opt, bool);
		break;
	case OPT_PORT:
	case OPT_PORT0:
		*FIELD(dst, opt, uint16_t) = *FIELD(src, opt, uint16_t);
		break;
	case OPT_UINT:
	case OPT_LOGLEVEL:
		*FIELD(dst, opt, uint32_t) = *FIELD(src, opt, uint32_t);
		break;
	case OPT_ADDR:
		*FIELD(dst, opt, struct sa) = *FIELD(src, opt, struct sa);
		break;
	default: {
		char **d = FIELD(dst, opt, char *);
		mem_deref(*d);
		*d = mem_ref(*FIELD(src, opt, char *));
		break;
	}
	}
}

void cfg_option_free(struct cfg *conf, const struct cfg_option *opt)
{
	switch (opt->type) {
	case OPT_STR:
	case OPT_NAME:
	case OPT_MUSIC:
	case OPT_PATH:
	case OPT_NETS:
		*FIELD(conf, opt, char *) =
			mem_deref(*FIELD(conf, opt, char *));
		break;
	default:
		break;
	}
}
