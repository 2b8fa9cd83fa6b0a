/**
 * @file log.c  Log lines to stderr and the bridge from libre's dbg output
 *
 * Lines look like "2026-11-25T09:40:01.123Z info  reg: text": RFC 3339 UTC
 * time with milliseconds, level, module. The level is checked before any
 * formatting so disabled debug lines cost one comparison. Format strings use
 * libre's printf (%m, %J, %r, %H).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <re.h>

#define DEBUG_MODULE "log"
#define DEBUG_LEVEL  0
#include <re_dbg.h>

#include "log/log.h"

static enum log_level cur_level = LOG_INFO;

static const char *level_names[] = {"error", "warn", "info", "debug"};

static int print_time(struct re_printf *pf, void *arg)
{
	struct timespec ts;
	struct tm tm;
	char buf[32];
	(void)arg;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);

	return re_hprintf(pf, "%s.%03ldZ", buf, ts.tv_nsec / 1000000);
}

static void emit(enum log_level level, const char *module, const char *fmt,
		 va_list ap)
{
	char *text = NULL;

	if (re_vsdprintf(&text, fmt, ap))
		return;

	/* one fprintf per line keeps lines whole when threads log */
	(void)re_fprintf(stderr, "%H %-5s %s: %s\n", print_time, NULL,
			 level_names[level], module, text);
	mem_deref(text);
}

/** Log whatever the level: for lines an operator asked for (SIGUSR1) */
void log_always(const char *module, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(LOG_INFO, module, fmt, ap);
	va_end(ap);
}

void log_msg(enum log_level level, const char *module, const char *fmt, ...)
{
	va_list ap;

	if (level > cur_level)
		return;

	va_start(ap, fmt);
	emit(level, module, fmt, ap);
	va_end(ap);
}

/* libre prints "module: text\n" through dbg; map its levels onto ours. */
static void dbg_handler(int level, const char *p, size_t len, void *arg)
{
	enum log_level lvl;
	(void)arg;

	if (level <= DBG_WARNING)
		lvl = LOG_WARN;
	else if (level <= DBG_INFO)
		lvl = LOG_INFO;
	else
		lvl = LOG_DEBUG;

	while (len && (p[len - 1] == '\n' || p[len - 1] == '\r'))
		--len;

	log_msg(lvl, "libre", "%b", p, len);
}

static int dbg_level_for(enum log_level level)
{
	switch (level) {
	case LOG_ERROR:
		return DBG_ERR;
	case LOG_WARN:
		return DBG_WARNING;
	case LOG_INFO:
		return DBG_INFO;
	default:
		return DBG_DEBUG;
	}
}

void log_init(enum log_level level)
{
	setvbuf(stderr, NULL, _IOLBF, 0);
	log_level_set(level);
	dbg_handler_set(dbg_handler, NULL);
}

void log_close(void)
{
	dbg_handler_set(NULL, NULL);
}

void log_level_set(enum log_level level)
{
	cur_level = level;
	dbg_init(dbg_level_for(level), 0);
}

enum log_level log_level_get(void)
{
	return cur_level;
}

int log_level_parse(enum log_level *levelp, const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(level_names); i++) {
		if (0 == strcmp(name, level_names[i])) {
			*levelp = (enum log_level)i;
			return 0;
		}
	}

	return EINVAL;
}

const char *log_level_name(enum log_level level)
{
	return level_names[level];
}
