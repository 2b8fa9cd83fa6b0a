/**
 * @file signal.c  Signals as loop events
 *
 * SIGHUP (reload), SIGINT and SIGTERM (stop) are blocked and read from a
 * signalfd watched by libre's loop, so their handling runs as ordinary
 * loop code: it may log, allocate and touch any module, which a real
 * signal handler may not. Block them before any thread starts so no
 * thread receives them the old way.
 */
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/signalfd.h>
#include <re.h>
#include "log/log.h"
#include "app/app.h"

static struct {
	int fd;
	app_signal_h *h;
	void *arg;
} sigs = {-1, NULL, NULL};

static void sigset_get(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGUSR1);
}

static void signalfd_h(int flags, void *arg)
{
	struct signalfd_siginfo si;
	(void)flags;
	(void)arg;

	while (read(sigs.fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (sigs.h)
			sigs.h((int)si.ssi_signo, sigs.arg);
	}
}

int app_signals_start(app_signal_h *h, void *arg)
{
	sigset_t set;
	int err;

	sigset_get(&set);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL))
		return errno;

	sigs.fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sigs.fd < 0)
		return errno;

	sigs.h = h;
	sigs.arg = arg;
	err = fd_listen(sigs.fd, FD_READ, signalfd_h, NULL);
	if (err)
		app_signals_stop();

	return err;
}

void app_signals_stop(void)
{
	if (sigs.fd < 0)
		return;

	fd_close(sigs.fd);
	(void)close(sigs.fd);
	sigs.fd = -1;
	sigs.h = NULL;
}
