/**
 * @file expo.c  Writing the Prometheus text exposition format, 0.0.4
 *
 * The format's rules in one place, so the page (metrics.c) only says what
 * to show: a family is "# HELP" (backslash and newline escaped) and
 * "# TYPE", then its samples "name{label="value",...} value", label values
 * escaped (backslash, double quote, newline); a histogram is cumulative
 * "_bucket" samples with an "le" label ending in "+Inf", then "_sum" and
 * "_count". Floats are printed so that Go's ParseFloat reads them back.
 */
#include <stdio.h>
#include <string.h>
#include <re_types.h>
#include <re_fmt.h>
#include <re_mbuf.h>
#include <re_list.h>
#include <re_sa.h>
#include "stats/stats.h"
#include "call/call.h"
#include "call/census.h"
#include "tlib/tsrv.h"
#include "media/media.h"
#include "http/sample.h"

/* text with backslash, newline and, in a label value, double quote
 * escaped */
static int escaped(struct mbuf *mb, const char *s, bool quote)
{
	int err = 0;

	for (; s && *s && !err; s++) {
		if (*s == '\\')
			err = mbuf_write_str(mb, "\\\\");
		else if (*s == '\n')
			err = mbuf_write_str(mb, "\\n");
		else if (*s == '"' && quote)
			err = mbuf_write_str(mb, "\\\"");
		else
			err = mbuf_write_u8(mb, (uint8_t)*s);
	}

	return err;
}

/** "# HELP name help" and "# TYPE name type" */
int metrics_family(struct mbuf *mb, const char *name, const char *type,
		   const char *help)
{
	int err;

	if (!mb || !name || !type || !help)
		return EINVAL;

	err = mbuf_printf(mb, "# HELP %s ", name);
	err |= escaped(mb, help, false);
	err |= mbuf_printf(mb, "\n# TYPE %s %s\n", name, type);
	return err;
}

/* name{a="x",b="y"[,le="bound"]} */
static int series(struct mbuf *mb, const char *name,
		  const struct metrics_label *lv, size_t n, const char *le)
{
	int err = mbuf_write_str(mb, name);

	if (!n && !le)
		return err;

	err |= mbuf_write_u8(mb, '{');
	for (size_t i = 0; i < n; i++) {
		err |= mbuf_printf(mb, "%s%s=\"", i ? "," : "", lv[i].name);
		err |= escaped(mb, lv[i].value, true);
		err |= mbuf_write_u8(mb, '"');
	}
	if (le)
		err |= mbuf_printf(mb, "%sle=\"%s\"", n ? "," : "", le);
	err |= mbuf_write_u8(mb, '}');

	return err;
}

/** One sample of an integer value (a counter, or a gauge of things) */
int metrics_u64(struct mbuf *mb, const char *name,
		const struct metrics_label *lv, size_t n, uint64_t v)
{
	if (!mb || !name || (n && !lv))
		return EINVAL;

	return series(mb, name, lv, n, NULL) |
	       mbuf_printf(mb, " %llu\n", (unsigned long long)v);
}

/* %.12g: seconds to the nanosecond for a year's worth; Go reads it */
static void float_text(char *buf, size_t sz, double v)
{
	(void)snprintf(buf, sz, "%.12g", v);
}

/** One sample of a value with a fraction (seconds, a ratio) */
int metrics_f64(struct mbuf *mb, const char *name,
		const struct metrics_label *lv, size_t n, double v)
{
	char buf[32];

	if (!mb || !name || (n && !lv))
		return EINVAL;

	float_text(buf, sizeof(buf), v);
	return series(mb, name, lv, n, NULL) | mbuf_printf(mb, " %s\n", buf);
}

/**
 * One histogram's samples: cumulative buckets, sum and count
 *
 * @param bounds_ns [ns] the nb upper bounds, ascending (printed in seconds)
 * @param counts    nb + 1 counts, not cumulative: the last is above all
 *                  bounds
 * @param sum       [s] sum of the observations
 */
int metrics_histogram(struct mbuf *mb, const char *name,
		      const struct metrics_label *lv, size_t n,
		      const uint64_t *bounds_ns, const uint64_t *counts,
		      size_t nb, double sum)
{
	char metric[128], le[32];
	uint64_t total = 0;
	int err = 0;

	if (!mb || !name || !bounds_ns || !counts || (n && !lv) ||
	    strlen(name) + sizeof("_bucket") > sizeof(metric))
		return EINVAL;

	(void)snprintf(metric, sizeof(metric), "%s_bucket", name);
	for (size_t b = 0; b <= nb; b++) {
		total += counts[b];
		if (b < nb)
			float_text(le, sizeof(le), bounds_ns[b] / 1e9);
		else
			str_ncpy(le, "+Inf", sizeof(le));
		err |= series(mb, metric, lv, n, le);
		err |= mbuf_printf(mb, " %llu\n", (unsigned long long)total);
	}

	(void)snprintf(metric, sizeof(metric), "%s_sum", name);
	err |= metrics_f64(mb, metric, lv, n, sum);
	(void)snprintf(metric, sizeof(metric), "%s_count", name);
	err |= metrics_u64(mb, metric, lv, n, total);
	return err;
}
