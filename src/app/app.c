/**
 * @file app.c  Start, reload and stop: the server's life on the control thread
 *
 * Holds the running configuration snapshot and the modules built from it.
 * A reload builds a whole new snapshot and either swaps it in (logging
 * every change) or rejects it (logging every problem) and keeps running on
 * the old one; there is no state in between.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <re.h>
#include "log/log.h"
#include "cfg/cfg.h"
#include "reg/reg.h"
#include "sip/sipsrv.h"
#include "sip/b2bua.h"
#include "tlib/tsrv.h"
#include "http/httpd.h"
#include "media/codec.h"
#include "media/player.h"
#include "media/media.h"
#include "call/call.h"
#include "call/census.h"
#include "stats/stats.h"
#include "http/ops.h"
#include "http/sample.h"
#include "app/app.h"

enum {
	EXIT_CONFIG = 2, /* the configuration file is invalid */
	MAX_FDS = 65536,
};

static struct {
	char *path;
	struct cfg *conf;
	struct sipsrv *sip;
	struct reg *reg;
	struct player_cache *players;
	struct player *music[2]; /**< the configured music, kept decoded */
	struct media *media;
	struct b2bua *b2bua;
	struct tsrv *tsrv;
	struct httpd *httpd;
} app;

static void print_problems(const char *problems)
{
	(void)re_fprintf(stderr, "%s", problems ? problems : "");
}

int app_check_config(const char *cfg_path)
{
	struct cfg *conf = NULL;
	char *problems = NULL;
	int err;

	log_init(LOG_ERROR); /* libre's own warnings would repeat ours */
	err = cfg_load(&conf, cfg_path, &problems);
	if (err) {
		if (problems)

			print_problems(problems);
		else
			(void)re_fprintf(stderr, "%s: %m\n", cfg_path, err);
		(void)re_fprintf(stderr, "%s: configuration is invalid\n",
				 cfg_path);
	} else {
		(void)re_printf("%s: configuration is valid\n", cfg_path);
	}

	mem_deref(problems);
	mem_deref(conf);
	return err ? EXIT_CONFIG : 0;
}

static void change_h(const char *option, const char *oldval, const char *newval,
		     bool restart, void *arg)
{
	(void)arg;
	log_info("conf", "%s: %s -> %s%s", option, oldval, newval,
		 restart ? " (needs a restart; running value kept)" : "");
}

static bool problem_line_h(const char *line, size_t len, void *arg)
{
	(void)arg;
	if (len)
		log_error("conf", "%b", line, len);
	return false;
}

static void log_problems(const char *problems)
{
	const char *p = problems, *nl;

	while (p && *p) {
		nl = strchr(p, '\n');
		(void)problem_line_h(p, nl ? (size_t)(nl - p) : strlen(p),
				     NULL);
		p = nl ? nl + 1 : NULL;
	}
}

/*
 * Decode the configured music now, not when the first call is held (a
 * long file would stall the loop then), and keep it: the cache drops, on
 * prune, whatever nobody else holds, which would be all of it
 */
static void music_preload(const struct cfg *conf)
{
	const char *paths[ARRAY_SIZE(app.music)] = {
		conf->default_music, conf->music_listen_disconnect};
	char reason[256];

	for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
		struct player *p = NULL;

		if (player_cache_get(app.players, &p, paths[i], reason,
				     sizeof(reason)))
			log_warn("main", "music: %s", reason);
		mem_deref(app.music[i]);
		app.music[i] = p;
	}
	(void)player_cache_prune(app.players);
}

static void reload(void)
{
	struct cfg *conf = NULL;
	char *problems = NULL;
	int err;

	log_info("conf", "SIGHUP: reloading %s", app.path);
	(void)app_notify("RELOADING=1");

	err = cfg_load(&conf, app.path, &problems);
	stats_reloaded(!err);
	if (err) {
		log_problems(problems);
		log_error("conf",
			  "reload of %s rejected (%m): the running "
			  "configuration is kept",
			  app.path, err);
		mem_deref(problems);
		(void)app_notify("READY=1\nSTATUS=reload rejected: the running "
				 "configuration is kept");
		return;
	}

	(void)cfg_diff(app.conf, conf, change_h, NULL);
	cfg_keep_restart_options(conf, app.conf);
	log_level_set((enum log_level)conf->log_level);
	reg_conf_set(app.reg, conf);
	b2bua_cfg_set(app.b2bua, conf);
	tsrv_cfg_set(app.tsrv, conf);
	music_preload(conf);

	mem_deref(app.conf);
	app.conf = conf;
	log_info("conf", "reloaded %s", app.path);
	(void)app_notify("READY=1\nSTATUS=running (reloaded)");
}

/* One line with every counter a test or an operator needs to see that
 * nothing was left behind */
static void status_log(void)
{
	struct b2bua_stats bs;
	struct media_stats ms;

	b2bua_stats(app.b2bua, &bs);
	media_stats(app.media, &ms);
	log_always("status",
		   "calls=%u parties=%u legs=%u rtp_legs=%u mixes=%u "
		   "frames=%llu late=%llu rx=%llu tx=%llu rx_foreign=%llu "
		   "rx_bad=%llu",
		   bs.calls, bs.parties, bs.legs, ms.legs, ms.mixes,
		   (unsigned long long)ms.ticks, (unsigned long long)ms.late,
		   (unsigned long long)ms.rx, (unsigned long long)ms.tx,
		   (unsigned long long)ms.rx_foreign,
		   (unsigned long long)ms.rx_bad);
}

/* --- the operator's pages (/status, /metrics): a sample of everything --- */

static const struct cfg *ops_cfg(void *arg)
{
	(void)arg;
	return app.conf;
}

static void ops_registrations(struct httpd_sample *s)
{
	const struct reg_bindings *bs = reg_bindings(app.reg);
	uint64_t now = tmr_jiffies();

	for (struct le *le = app.conf->dnl.head; le; le = le->next) {
		const struct cfg_dn *dn = le->data;
		uint32_t n;

		if (dn->type != CFG_DN_EXTENSION)
			continue;
		n = reg_bindings_count(bs, dn->name, now);
		++s->extensions;
		s->registered += n > 0;
		s->contacts += n;
	}
}

static void ops_sample(struct httpd_sample *s, void *arg)
{
	struct media_stats ms;
	(void)arg;

	s->cfg = app.conf;
	s->life = stats_life();
	s->ctr = stats_counters();
	s->now = (uint64_t)time(NULL);
	s->uptime = tmr_jiffies() - s->life->started_mono;
	ops_registrations(s);
	call_model_census(b2bua_model(app.b2bua), &s->calls);
	tsrv_stats(app.tsrv, &s->cti);
	media_stats(app.media, &ms);
	s->rtp_legs = ms.legs;
	s->music_files = player_cache_count(app.players);
	s->nworkers = MIN(media_workers(app.media), HTTPD_WORKERS_MAX);
	for (unsigned i = 0; i < s->nworkers; i++)
		(void)media_worker_stats(app.media, i, &s->workers[i]);
}

static void signal_h(int sig, void *arg)
{
	(void)arg;

	if (sig == SIGHUP) {
		reload();
		return;
	}
	if (sig == SIGUSR1) {
		status_log();
		return;
	}

	log_info("main", "signal %d: shutting down", sig);
	(void)app_notify("STOPPING=1");
	re_cancel();
}

/* Each RTP leg needs two sockets: lift the soft limit to the hard one. */
static void fds_raise(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		(void)fd_setsize((int)MIN(rl.rlim_cur, (rlim_t)MAX_FDS));
}

static void rtp_timeout_h(uint32_t party, void *arg)
{
	(void)arg;
	b2bua_rtp_timeout(app.b2bua, party);
}

static void cti_event_h(const struct call_event *ev, void *arg)
{
	(void)arg;
	tsrv_call_event(app.tsrv, ev);
}

static int cti_answer(uint64_t connid, const char *dn, void *arg)
{
	(void)arg;
	return b2bua_answer(app.b2bua, connid, dn);
}

static int cti_release(uint64_t connid, const char *dn, void *arg)
{
	(void)arg;
	return b2bua_release(app.b2bua, connid, dn);
}

static bool cti_registered(const char *dn, void *arg)
{
	(void)arg;
	return b2bua_registered(app.b2bua, dn);
}

static const struct call_model *cti_model(void *arg)
{
	(void)arg;
	return b2bua_model(app.b2bua);
}

static int cti_make(const char *this_dn, const char *other_dn, char *why,
		    size_t sz, void *arg)
{
	(void)arg;
	return b2bua_make_call(app.b2bua, this_dn, other_dn, why, sz);
}

static int cti_conference(const struct call_conf_req *r, uint64_t *consultp,
			  char *why, size_t sz, void *arg)
{
	(void)arg;
	return b2bua_conference(app.b2bua, r, consultp, why, sz);
}

static int cti_listen(uint64_t connid, const char *dn, const char *other,
		      bool disconnect, const char *music, char *why, size_t sz,
		      void *arg)
{
	(void)arg;
	return b2bua_listen(app.b2bua, connid, dn, other, disconnect, music,
			    why, sz);
}

static int cti_hold(uint64_t connid, const char *dn, bool hold,
		    const char *music, char *why, size_t sz, void *arg)
{
	(void)arg;
	return b2bua_hold(app.b2bua, connid, dn, hold, music, why, sz);
}

static int modules_start(void)
{
	int err;

	err = app_signals_start(signal_h, NULL);
	if (err) {
		log_error("main", "cannot watch signals: %m", err);
		return err;
	}

	err = sipsrv_alloc(&app.sip, app.conf);
	if (!err)
		stats_sip_attach(sipsrv_sip(app.sip));
	err = err ? err : reg_alloc(&app.reg, sipsrv_sip(app.sip), app.conf);
	err = err ? err : player_cache_alloc(&app.players);
	err = err ? err
		  : media_alloc(&app.media, app.conf, rtp_timeout_h, NULL);
	err = err ? err
		  : b2bua_alloc(&app.b2bua, sipsrv_sip(app.sip), app.reg,
				app.media, app.players, app.conf);
	err = err ? err : sipsrv_listen(app.sip);
	err = err ? err : tsrv_alloc(&app.tsrv, app.conf);
	err = err ? err : httpd_alloc(&app.httpd, app.conf, app.tsrv);
	if (err)
		return err;

	b2bua_set_event_handler(app.b2bua, cti_event_h, NULL);
	tsrv_set_calls(app.tsrv, &(struct tsrv_calls){
					 .release = cti_release,
					 .answer = cti_answer,
					 .hold = cti_hold,
					 .make = cti_make,
					 .conference = cti_conference,
					 .listen = cti_listen,
					 .registered = cti_registered,
					 .model = cti_model,
				 });

	sipsrv_reg_set(app.sip, app.reg);
	httpd_ops_set(&(struct httpd_ops){
		.cfg = ops_cfg,
		.sample = ops_sample,
	});
	music_preload(app.conf);
	return 0;
}

static void modules_stop(void)
{
	httpd_ops_set(NULL);
	sipsrv_reg_set(app.sip, NULL);
	b2bua_set_event_handler(app.b2bua, NULL, NULL);
	app.httpd = mem_deref(app.httpd);
	app.tsrv = mem_deref(app.tsrv);
	app.b2bua = mem_deref(app.b2bua);
	app.media = mem_deref(app.media);
	for (size_t i = 0; i < ARRAY_SIZE(app.music); i++)
		app.music[i] = mem_deref(app.music[i]);
	app.players = mem_deref(app.players);
	app.reg = mem_deref(app.reg);
	app.sip = mem_deref(app.sip);
	app_signals_stop();
}

/**
 * Run the server until SIGINT or SIGTERM
 *
 * @return Exit status: 0 after a clean stop, 2 for an invalid
 *         configuration, 1 when start-up failed otherwise
 */
int app_run(const char *cfg_path)
{
	char *problems = NULL;
	int err, status = 0;

	err = cfg_load(&app.conf, cfg_path, &problems);
	if (err) {
		print_problems(problems);
		(void)re_fprintf(stderr, "%s: %m: not starting\n", cfg_path,
				 err);
		mem_deref(problems);
		return EXIT_CONFIG;
	}

	log_init((enum log_level)app.conf->log_level);
	(void)str_dup(&app.path, cfg_path);
	stats_started();
	fds_raise();

	err = modules_start();
	if (err) {
		log_error("main", "start-up failed: %m", err);
		status = 1;
	} else {
		log_info("main", "sipserver %s ready (config %s, location %s)",
			 SIPSERVER_VERSION, cfg_path, app.conf->location);
		(void)app_notify("READY=1\nSTATUS=running");
		(void)re_main(NULL);
	}

	modules_stop();
	app.conf = mem_deref(app.conf);
	app.path = mem_deref(app.path);
	log_info("main", "stopped");
	log_close();

	return status;
}
