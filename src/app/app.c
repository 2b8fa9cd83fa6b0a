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
#include <sys/resource.h>
#include <re.h>
#include "log/log.h"
#include "cfg/cfg.h"
#include "reg/reg.h"
#include "sip/sipsrv.h"
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

static void reload(void)
{
	struct cfg *conf = NULL;
	char *problems = NULL;
	int err;

	log_info("conf", "SIGHUP: reloading %s", app.path);

	err = cfg_load(&conf, app.path, &problems);
	if (err) {
		log_problems(problems);
		log_error("conf",
			  "reload of %s rejected (%m): the running "
			  "configuration is kept",
			  app.path, err);
		mem_deref(problems);
		return;
	}

	(void)cfg_diff(app.conf, conf, change_h, NULL);
	cfg_keep_restart_options(conf, app.conf);
	log_level_set((enum log_level)conf->log_level);
	reg_conf_set(app.reg, conf);

	mem_deref(app.conf);
	app.conf = conf;
	log_info("conf", "reloaded %s", app.path);
}

static void signal_h(int sig, void *arg)
{
	(void)arg;

	if (sig == SIGHUP) {
		reload();
		return;
	}

	log_info("main", "signal %d: shutting down", sig);
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
		err = reg_alloc(&app.reg, sipsrv_sip(app.sip), app.conf);
	if (err)
		return err;

	sipsrv_reg_set(app.sip, app.reg);
	return 0;
}

static void modules_stop(void)
{
	sipsrv_reg_set(app.sip, NULL);
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
	fds_raise();

	err = modules_start();
	if (err) {
		log_error("main", "start-up failed: %m", err);
		status = 1;
	} else {
		log_info("main", "sipserver %s ready (config %s, location %s)",
			 SIPSERVER_VERSION, cfg_path, app.conf->location);
		(void)re_main(NULL);
	}

	modules_stop();
	app.conf = mem_deref(app.conf);
	app.path = mem_deref(app.path);
	log_info("main", "stopped");
	log_close();

	return status;
}
