/**
 * @file server.c  The sipserver under test: its files, its process, and
 *                 what /proc and its status line say about it
 *
 * The generator starts the real server binary with a configuration of its
 * own (a temporary folder: the file, a short silent WAV for the music
 * options, the log), so a benchmark never depends on etc/ or music/. The
 * child dies with the generator (PR_SET_PDEATHSIG), so no error path can
 * leave it running. Counters come from the status line the server logs on
 * SIGUSR1; CPU time, threads and RSS from /proc/PID; socket drops from
 * /proc/net/udp. The folder is removed at the end unless something went
 * wrong (then its log is worth reading).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <re.h>
#include "lg.h"

enum {
	STATUS_WAIT_MS = 5000,
	STOP_WAIT_MS = 10000,
	POLL_MS = 10,
	WAV_SAMPLES = 800, /* 100 ms of silence at 8 kHz */
};

struct lg_server {
	char dir[64];
	char conf[96];
	char log[96];
	char wav[96];
	pid_t pid;
	bool reaped;
	int wstatus;
	bool keep; /**< something went wrong: leave the files */
};

static void nap_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000,
			      .tv_nsec = (long)(ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static void le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void le32(uint8_t *p, uint32_t v)
{
	le16(p, (uint16_t)v);
	le16(p + 2, (uint16_t)(v >> 16));
}

/* 8 kHz mono 16-bit silence: the music options must name a file */
static int wav_write(const char *path)
{
	uint8_t hdr[44] = "RIFF....WAVEfmt ";
	uint8_t pcm[WAV_SAMPLES * 2] = {0};
	FILE *f = fopen(path, "wb");
	size_t n;

	if (!f)
		return errno;

	le32(hdr + 4, 36 + sizeof(pcm));
	le32(hdr + 16, 16);
	le16(hdr + 20, 1); /* PCM */
	le16(hdr + 22, 1); /* mono */
	le32(hdr + 24, 8000);
	le32(hdr + 28, 16000);
	le16(hdr + 32, 2);
	le16(hdr + 34, 16);
	memcpy(hdr + 36, "data", 4);
	le32(hdr + 40, sizeof(pcm));
	n = fwrite(hdr, sizeof(hdr), 1, f) + fwrite(pcm, sizeof(pcm), 1, f);
	return fclose(f) || n != 2 ? EIO : 0;
}

static int conf_write(const struct lg_server *s, unsigned media_threads)
{
	FILE *f = fopen(s->conf, "w");
	int n;

	if (!f)
		return errno;

	n = fprintf(f,
		    "; written by bench/loadgen\n"
		    "[TServer]\n"
		    "sip-address = 127.0.0.1\n"
		    "sip-port = %d\n"
		    "tlib-port = %d\n"
		    "http-port = 0\n"
		    "rtp-port-min = %d\n"
		    "rtp-port-max = %d\n"
		    "media-threads = %u\n"
		    "rtp-timeout = 0\n"
		    "log-level = warn\n"
		    "default-music = hold.wav\n"
		    "music-listen-disconnect = hold.wav\n",
		    LG_SRV_SIP, LG_SRV_TLIB, LG_SRV_RTP_MIN, LG_SRV_RTP_MAX,
		    media_threads);
	for (size_t i = 0; n > 0 && i < LG_CONF_SIZE; i++)
		n = fprintf(f, "[dn:%s]\n", lg_dn[i]);

	return fclose(f) || n <= 0 ? EIO : 0;
}

static void files_remove(const struct lg_server *s)
{
	(void)unlink(s->conf);
	(void)unlink(s->wav);
	(void)unlink(s->log);
	(void)rmdir(s->dir);
}

static void server_destructor(void *arg)
{
	struct lg_server *s = arg;

	if (s->pid > 0 && !s->reaped) {
		(void)kill(s->pid, SIGKILL);
		(void)waitpid(s->pid, NULL, 0);
	}
	if (s->dir[0] && !s->keep)
		files_remove(s);
}

/* The child: stdin from /dev/null, stdout and stderr to the log; it gets
 * SIGKILL if the generator dies first */
static void child_exec(const struct lg_server *s, const char *bin, pid_t parent)
{
	int in = open("/dev/null", O_RDONLY);
	int out = open(s->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent || in < 0 ||
	    out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		_exit(127);

	execl(bin, bin, "-c", s->conf, (char *)NULL);
	fprintf(stderr, "loadgen: cannot run %s: %s\n", bin, strerror(errno));
	_exit(127);
}

static int files_make(struct lg_server *s, unsigned media_threads)
{
	int err;

	str_ncpy(s->dir, "/tmp/loadgen-XXXXXX", sizeof(s->dir));
	if (!mkdtemp(s->dir)) {
		s->dir[0] = '\0';
		return errno;
	}

	re_snprintf(s->conf, sizeof(s->conf), "%s/sipserver.conf", s->dir);
	re_snprintf(s->log, sizeof(s->log), "%s/sipserver.log", s->dir);
	re_snprintf(s->wav, sizeof(s->wav), "%s/hold.wav", s->dir);
	err = wav_write(s->wav);
	return err ? err : conf_write(s, media_threads);
}

/* Is 127.0.0.1:port listening (TCP)? Read, not connected to: a client
 * connection would take a port of the kernel's choosing */
static bool tcp_listening(uint16_t port)
{
	char line[256], want[32];
	FILE *f = fopen("/proc/net/tcp", "r");
	bool found = false;

	if (!f)
		return false;

	re_snprintf(want, sizeof(want), "0100007F:%04X 00000000:0000 0A", port);
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, want) != NULL;

	(void)fclose(f);
	return found;
}

/**
 * Start sipserver on a generated configuration and wait until its CTI
 * port listens (the SIP ports are bound before it)
 *
 * @return 0, or an errno value (a message has been printed)
 */
int lg_server_start(struct lg_server **sp, const char *bin,
		    unsigned media_threads)
{
	struct lg_server *s = mem_zalloc(sizeof(*s), server_destructor);
	pid_t parent = getpid();
	int err;

	if (!s)
		return ENOMEM;

	err = files_make(s, media_threads);
	if (err) {
		re_fprintf(stderr,
			   "loadgen: cannot write the server's "
			   "files: %m\n",
			   err);
		goto out;
	}

	s->pid = fork();
	if (s->pid == 0)
		child_exec(s, bin, parent);
	if (s->pid < 0) {
		err = errno;
		goto out;
	}

	for (unsigned ms = 0; !tcp_listening(LG_SRV_TLIB); ms += POLL_MS) {
		err = lg_server_alive(s);
		if (!err && ms >= STOP_WAIT_MS)
			err = ETIMEDOUT;
		if (err) {
			re_fprintf(stderr,
				   "loadgen: %s did not start; its "
				   "log: %s\n",
				   bin, s->log);
			goto out;
		}
		nap_ms(POLL_MS);
	}

out:
	if (err) {
		s->keep = s->dir[0] != '\0';
		mem_deref(s);
	} else
		*sp = s;
	return err;
}

/** 0 while the server runs; ESRCH (and a message) once it has ended */
int lg_server_alive(struct lg_server *s)
{
	if (!s->reaped && waitpid(s->pid, &s->wstatus, WNOHANG) == s->pid) {
		s->reaped = true;
		s->keep = true;
		if (WIFSIGNALED(s->wstatus))
			re_fprintf(stderr,
				   "loadgen: sipserver died: signal "
				   "%d\n",
				   WTERMSIG(s->wstatus));
		else
			re_fprintf(stderr,
				   "loadgen: sipserver exited: "
				   "status %d\n",
				   WEXITSTATUS(s->wstatus));
	}

	return s->reaped ? ESRCH : 0;
}

int lg_server_pid(const struct lg_server *s)
{
	return s->pid;
}

const char *lg_server_dir(const struct lg_server *s)
{
	return s->dir;
}

static long file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) ? -1 : (long)st.st_size;
}

/* The first "status: " line at or after offset into the log */
static bool status_find(const char *path, long offset, char *buf, size_t sz)
{
	FILE *f = fopen(path, "r");
	bool found = false;
	const char *p;

	if (!f)
		return false;

	if (fseek(f, offset, SEEK_SET) == 0) {
		while (!found && fgets(buf, (int)sz, f)) {
			p = strstr(buf, " status: ");
			found = p && strchr(buf, '\n');
			if (found)
				memmove(buf, p + 9, strlen(p + 9) + 1);
		}
	}

	(void)fclose(f);
	return found;
}

static void status_parse(struct lg_status *st, char *line)
{
	static const struct {
		const char *key;
		size_t off;
	} keys[] = {
		{"calls", offsetof(struct lg_status, calls)},
		{"parties", offsetof(struct lg_status, parties)},
		{"legs", offsetof(struct lg_status, legs)},
		{"rtp_legs", offsetof(struct lg_status, rtp_legs)},
		{"mixes", offsetof(struct lg_status, mixes)},
		{"frames", offsetof(struct lg_status, frames)},
		{"late", offsetof(struct lg_status, late)},
		{"rx", offsetof(struct lg_status, rx)},
		{"tx", offsetof(struct lg_status, tx)},
		{"rx_foreign", offsetof(struct lg_status, rx_foreign)},
		{"rx_bad", offsetof(struct lg_status, rx_bad)},
	};
	char *save = NULL;

	memset(st, 0, sizeof(*st));
	for (char *kv = strtok_r(line, " \n", &save); kv;
	     kv = strtok_r(NULL, " \n", &save)) {
		char *eq = strchr(kv, '=');

		if (!eq)
			continue;
		*eq = '\0';
		for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
			if (!strcmp(kv, keys[i].key))
				*(uint64_t *)(void *)((char *)st +
						      keys[i].off) =
					strtoull(eq + 1, NULL, 10);
		}
	}
}

/**
 * The server's counters: SIGUSR1, then its status line from the log
 *
 * @return 0, ESRCH (the server is gone) or ETIMEDOUT
 */
int lg_server_status(struct lg_server *s, struct lg_status *st)
{
	long offset = file_size(s->log);
	char line[512];

	if (offset < 0 || lg_server_alive(s) || kill(s->pid, SIGUSR1))
		return ESRCH;

	for (unsigned ms = 0; ms < STATUS_WAIT_MS; ms += POLL_MS) {
		if (status_find(s->log, offset, line, sizeof(line))) {
			status_parse(st, line);
			return 0;
		}
		nap_ms(POLL_MS);
	}

	return ETIMEDOUT;
}

/* utime + stime [clock ticks] from a /proc/.../stat file */
static int stat_ticks(const char *path, uint64_t *ticksp)
{
	unsigned long long ut = 0, st = 0;
	char buf[1024];
	FILE *f = fopen(path, "r");
	size_t n;
	char *p;

	if (!f)
		return errno;

	n = fread(buf, 1, sizeof(buf) - 1, f);
	(void)fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	/* after the name: state, then 10 fields, then utime, stime */
	if (!p || sscanf(p + 2,
			 "%*c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s "
			 "%llu %llu",
			 &ut, &st) != 2)
		return EPROTO;

	*ticksp = ut + st;
	return 0;
}

/** CPU time of the server and of each of its threads (up to 64) */
int lg_server_cpu(const struct lg_server *s, struct lg_cpu *c)
{
	char path[64];
	struct dirent *de;
	DIR *d;
	int err;

	memset(c, 0, sizeof(*c));
	re_snprintf(path, sizeof(path), "/proc/%d/stat", s->pid);
	err = stat_ticks(path, &c->total);
	if (err)
		return err;

	re_snprintf(path, sizeof(path), "/proc/%d/task", s->pid);
	d = opendir(path);
	if (!d)
		return errno;

	while ((de = readdir(d)) && c->ntask < ARRAY_SIZE(c->tid)) {
		int tid = atoi(de->d_name);

		re_snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", s->pid,
			    tid);
		if (tid <= 0 || stat_ticks(path, &c->ticks[c->ntask]))
			continue;
		c->tid[c->ntask++] = tid;
	}

	(void)closedir(d);
	return 0;
}

int lg_server_rss(const struct lg_server *s, uint64_t *kibp)
{
	char path[64], line[256];
	unsigned long long kib;
	bool found = false;
	FILE *f;

	re_snprintf(path, sizeof(path), "/proc/%d/status", s->pid);
	f = fopen(path, "r");
	if (!f)
		return errno;

	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "VmRSS: %llu", &kib) == 1;

	(void)fclose(f);
	if (found)
		*kibp = kib;
	return found ? 0 : EPROTO;
}

/** CPU time of the whole machine: what else ran shows beside ours */
int lg_host_cpu(struct lg_host *h)
{
	unsigned long long v[8] = {0};
	FILE *f = fopen("/proc/stat", "r");
	int n;

	if (!f)
		return errno;

	/* user nice system idle iowait irq softirq steal */
	n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
		   &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
	(void)fclose(f);
	if (n != 8)
		return EPROTO;

	h->idle = v[3] + v[4];
	h->softirq = v[6];
	return 0;
}

/** Drops of the UDP sockets on 127.0.0.1 ports min..max, added up */
int lg_udp_drops(uint16_t min, uint16_t max, uint64_t *dropsp)
{
	char line[512];
	uint64_t sum = 0;
	FILE *f = fopen("/proc/net/udp", "r");

	if (!f)
		return errno;

	while (fgets(line, sizeof(line), f)) {
		unsigned addr, port;
		const char *last = strrchr(line, ' ');

		if (sscanf(line, " %*u: %x:%x", &addr, &port) != 2 ||
		    port < min || port > max || !last)
			continue;
		sum += strtoull(last + 1, NULL, 10);
	}

	(void)fclose(f);
	*dropsp = sum;
	return 0;
}

/** Lines the server logged at warn or error level */
unsigned lg_server_log_problems(const struct lg_server *s)
{
	char line[1024], level[16];
	unsigned n = 0;
	FILE *f = fopen(s->log, "r");

	if (!f)
		return 0;

	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*s %15s", level) == 1 &&
		    (!strcmp(level, "warn") || !strcmp(level, "error")))
			++n;
	}

	(void)fclose(f);
	return n;
}

/**
 * Stop the server: SIGTERM (kill_it: SIGKILL), then wait; SIGKILL if it
 * has not ended after STOP_WAIT_MS
 *
 * @return 0 when it stopped cleanly (exit status 0), else EPROTO
 */
int lg_server_stop(struct lg_server *s, bool kill_it)
{
	if (!s)
		return 0;

	if (!s->reaped) {
		(void)kill(s->pid, kill_it ? SIGKILL : SIGTERM);
		for (unsigned ms = 0; ms < STOP_WAIT_MS; ms += POLL_MS) {
			if (waitpid(s->pid, &s->wstatus, WNOHANG) == s->pid) {
				s->reaped = true;
				break;
			}
			nap_ms(POLL_MS);
		}
	}
	if (!s->reaped) {
		(void)kill(s->pid, SIGKILL);
		(void)waitpid(s->pid, &s->wstatus, 0);
		s->reaped = true;
		s->keep = true;
		re_fprintf(stderr, "loadgen: sipserver did not stop on "
				   "SIGTERM: killed\n");
		return EPROTO;
	}

	if (kill_it || !WIFEXITED(s->wstatus) || WEXITSTATUS(s->wstatus)) {
		s->keep = true;
		return EPROTO;
	}
	if (lg_server_log_problems(s))
		s->keep = true;
	return 0;
}
