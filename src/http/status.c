/**
 * @file status.c  /status: the server at a glance, as JSON
 *
 * For a person or a script asking "is it up, on which configuration, how
 * busy": version, uptime, the configuration file and its last reload,
 * registrations, calls, conferences, parties per state, CTI clients and
 * each media worker's load. Counts only: no password, no DN, no address
 * of a phone (docs/operations.md shows a page).
 */
#include <limits.h>
#include <stdlib.h>
#include <time.h>
#include <jansson.h>
/* not <re.h>: its re_json.h clashes with jansson's JSON_STRING */
#include <re_types.h>
#include <re_fmt.h>
#include <re_mbuf.h>
#include <re_list.h>
#include <re_sa.h>
#include "stats/stats.h"
#include "cfg/cfg.h"
#include "call/call.h"
#include "call/census.h"
#include "tlib/tsrv.h"
#include "media/media.h"
#include "http/sample.h"

/* Unix time as ISO 8601 UTC, "2024-05-01T12:00:00Z" */
static json_t *time_json(uint64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char buf[32];

	if (!t || !gmtime_r(&tt, &tm) ||
	    !strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm))
		return json_null();

	return json_string(buf);
}

/* The file as an absolute path: the server's working folder is not the
 * reader's */
static json_t *path_json(const char *path)
{
	char *abs = path ? realpath(path, NULL) : NULL;
	json_t *v = json_string(abs ? abs : path ? path : "");

	free(abs);
	return v;
}

static json_t *config_json(const struct httpd_sample *s)
{
	const struct stats_life *l = s->life;
	const struct stats_counters *c = s->ctr;
	json_t *reload = json_null();

	if (l->reloaded)
		reload = json_pack("{s:o, s:b}", "time", time_json(l->reloaded),
				   "failed", l->reload_failed);

	return json_pack("{s:o, s:o, s:o, s:I, s:I}", "file",
			 path_json(s->cfg ? s->cfg->path : NULL), "loaded",
			 time_json(l->loaded), "last_reload", reload, "reloads",
			 (json_int_t)atomic_load(&c->reloads_ok),
			 "reloads_failed",
			 (json_int_t)atomic_load(&c->reloads_failed));
}

static json_t *calls_json(const struct call_census *c)
{
	json_t *o = json_object();

	json_object_set_new(o, "total", json_integer(c->calls));
	for (int t = 0; t < CALL_TYPES; t++)
		json_object_set_new(o, call_type_name((enum call_type)t),
				    json_integer(c->types[t]));
	return o;
}

static json_t *parties_json(const struct call_census *c)
{
	json_t *o = json_object();
	uint32_t total = 0;

	for (int p = 0; p < PARTY_RELEASED; p++) {
		json_object_set_new(
			o, call_party_state_name((enum call_party_state)p),
			json_integer(c->parties[p]));
		total += c->parties[p];
	}
	json_object_set_new(o, "total", json_integer(total));
	json_object_set_new(o, "remote", json_integer(c->remote));
	return o;
}

static json_t *worker_json(unsigned i, const struct media_worker_stats *w)
{
	return json_pack("{s:i, s:f, s:f, s:I, s:I, s:i, s:i, s:i, s:I, s:I, "
			 "s:I, s:I}",
			 "worker", (int)i, "load", w->load, "frame_max_ms",
			 w->frame_max / 1e6, "frames", (json_int_t)w->frames,
			 "late_frames", (json_int_t)w->late, "legs",
			 (int)w->legs, "mixes", (int)w->mixes, "music",
			 (int)w->music, "rtp_in", (json_int_t)w->rx, "rtp_out",
			 (json_int_t)w->tx, "rtp_lost", (json_int_t)w->rx_lost,
			 "rtp_late", (json_int_t)w->rx_late);
}

static json_t *media_json(const struct httpd_sample *s)
{
	json_t *workers = json_array();
	uint64_t late = 0;
	uint32_t music = 0;

	for (unsigned i = 0; i < s->nworkers; i++) {
		json_array_append_new(workers, worker_json(i, &s->workers[i]));
		late += s->workers[i].late;
		music += s->workers[i].music;
	}

	return json_pack("{s:i, s:i, s:I, s:i, s:i, s:o}", "threads",
			 (int)s->nworkers, "rtp_legs", (int)s->rtp_legs,
			 "late_frames", (json_int_t)late, "music_streams",
			 (int)music, "music_files", (int)s->music_files,
			 "workers", workers);
}

static json_t *status_json(const struct httpd_sample *s)
{
	return json_pack(
		"{s:s, s:s, s:o, s:f, s:o, s:{s:i, s:i, s:i}, s:o, s:i, s:o, "
		"s:{s:i, s:i, s:I}, s:o}",
		"version", SIPSERVER_VERSION, "location",
		s->cfg && s->cfg->location ? s->cfg->location : "", "started",
		time_json(s->life->started), "uptime_seconds",
		s->uptime / 1000.0, "config", config_json(s), "registrations",
		"extensions", (int)s->extensions, "registered",
		(int)s->registered, "contacts", (int)s->contacts, "calls",
		calls_json(&s->calls), "conferences", (int)s->calls.conferences,
		"parties", parties_json(&s->calls), "cti", "clients",
		(int)s->cti.clients, "registrations", (int)s->cti.registrations,
		"events", (json_int_t)s->cti.events, "media", media_json(s));
}

/** The whole page; the sample's every pointer must be set */
int httpd_status_render(struct mbuf *mb, const struct httpd_sample *s)
{
	json_t *o;
	char *text;
	int err;

	if (!mb || !s || !s->life || !s->ctr)
		return EINVAL;

	o = status_json(s);
	text = o ? json_dumps(o, JSON_INDENT(2) | JSON_REAL_PRECISION(6))
		 : NULL;
	json_decref(o);
	if (!text)
		return ENOMEM;

	err = mbuf_write_str(mb, text);
	err |= mbuf_write_u8(mb, '\n');
	free(text);
	return err;
}
