/**
 * @file tlibctl.c  A command-line tlib/1 client: requests in, events out
 *
 * The CTI interface's equivalent of curl: it connects, opens, registers
 * DNs, then sends one request per stdin line and prints every event as one
 * JSON line on stdout, in arrival order. Scripts and the e2e tests drive
 * the server through it, so its exit status is part of its interface: it
 * says whether what the caller waited for happened (see usage()).
 *
 * It is a thin shell over libtlib: the line syntax (tlib_line_parse), the
 * match syntax (tlib_match_parse) and the framing all live in the library,
 * so that tlibctl and programs that link libtlib read them alike.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "tlib.h"

enum {
	EXIT_OK = 0,
	EXIT_CONN = 1,
	EXIT_USAGE = 2,
	EXIT_TIMEOUT = 3,
	EXIT_ERROR_EVENT = 4,
	RUNNING = -1,
	IN_MAX = TLIB_LINE_MAX + 1,
};

struct opts {
	const char *host;
	uint16_t port;
	const char *app;
	const char *password;
	const char **dns;
	size_t ndns;
	const char *wait;
	long timeout_ms; /* 0: no bound */
	long count;	 /* 0: no count */
};

/** The run: what we wait for, what is outstanding, how it ended */
struct ctl {
	struct tlib *c;
	struct tlib_match *wait;
	long count;
	long seen;	 /* events counted towards --count */
	bool opened;	 /* EventServerConnected seen: counting starts after */
	long long *refs; /* requests sent and not yet answered */
	size_t nrefs;
	int status; /* RUNNING or the exit status */
	bool in_eof;
	size_t inlen;
	char in[IN_MAX + 1];
};

static const char help_text[] =
	"usage: tlibctl [options] < requests\n"
	"\n"
	"Connects to a tlib/1 server, sends TOpenServer and one\n"
	"TRegisterAddress per --register, then one request per stdin line,\n"
	"and prints every event (EventLinkConnected first) as one JSON line\n"
	"on stdout, flushed, in arrival order.\n"
	"\n"
	"Request lines (blank lines and lines starting with # are skipped):\n"
	"  TMakeCall ThisDN=1001 OtherDN=1002 Extensions.music=/x.wav\n"
	"  "
	"{\"request\":\"TAnswerCall\",\"ThisDN\":\"1002\",\"ConnID\":\"...\"}\n"
	"A.b=v sets key b of object A (Extensions, UserData); ReferenceID\n"
	"is sent as an integer, other values as strings; Key:=JSON sends a\n"
	"JSON value as written (UserData.priority:=5); \"double quotes\" hold\n"
	"spaces. A missing ReferenceID is assigned (increasing from 1).\n"
	"\n"
	"Options:\n"
	"  --host H        server address (127.0.0.1)\n"
	"  --port P        tlib port (3000)\n"
	"  --app NAME      ApplicationName (tlibctl)\n"
	"  --password PW   Password of TOpenServer\n"
	"  --register DN   TRegisterAddress DN, ModeShare (repeatable)\n"
	"  --wait SPEC     exit 0 as soon as an event matches SPEC,\n"
	"                  'EventName Key=Value Extensions.key=Value ...'\n"
	"                  (name * or none: any event), whether stdin is\n"
	"                  at EOF or not; checked from EventServerConnected\n"
	"  --count N       exit 0 once N events have arrived after\n"
	"                  EventServerConnected\n"
	"  --timeout MS    bound of the whole run (default: none)\n"
	"  --help          this text\n"
	"\n"
	"Without --wait or --count, tlibctl exits 0 at stdin EOF once every\n"
	"request it sent has been answered (an event carrying its\n"
	"ReferenceID arrived). With either, stdin EOF does not end the run:\n"
	"it ends at the match or count (whichever comes first), at\n"
	"--timeout, or when the server closes.\n"
	"\n"
	"Exit status:\n"
	"  0  done: --wait matched, --count reached, or all answered\n"
	"  1  connection or protocol error: cannot connect, bad\n"
	"     EventLinkConnected, TOpenServer unanswered, server closed\n"
	"  2  usage: bad option or unreadable request line\n"
	"  3  --timeout passed before the run was done\n"
	"  4  an EventError answered one of our requests, TOpenServer\n"
	"     included (it is printed; exit 0 instead if --wait matches it)\n";

static void usage(FILE *f)
{
	fputs(help_text, f);
}

static void finish(struct ctl *x, int status)
{
	if (x->status == RUNNING)
		x->status = status;
}

static void ref_add(struct ctl *x, long long ref)
{
	long long *r = realloc(x->refs, (x->nrefs + 1) * sizeof(*r));

	if (!r) {
		fprintf(stderr, "tlibctl: out of memory\n");
		finish(x, EXIT_CONN);
		return;
	}
	x->refs = r;
	x->refs[x->nrefs++] = ref;
}

/* An answer removes its request; true when the ReferenceID was ours. */
static bool ref_answered(struct ctl *x, long long ref)
{
	for (size_t i = 0; ref > 0 && i < x->nrefs; i++) {
		if (x->refs[i] == ref) {
			x->refs[i] = x->refs[--x->nrefs];
			return true;
		}
	}

	return false;
}

static void on_event(const struct tlib_event *ev, void *arg)
{
	struct ctl *x = arg;
	bool ours = ref_answered(x, ev->reference_id);

	printf("%s\n", ev->line);
	fflush(stdout);

	if (x->wait && tlib_match_event(x->wait, ev))
		finish(x, EXIT_OK);

	if (ours && 0 == strcmp(ev->name, "EventError")) {
		fprintf(stderr, "tlibctl: EventError %d: %s\n", ev->error_code,
			ev->error_message ? ev->error_message : "");
		finish(x, EXIT_ERROR_EVENT);
	}

	if (x->opened && x->count && ++x->seen >= x->count)
		finish(x, EXIT_OK);
	if (0 == strcmp(ev->name, "EventServerConnected"))
		x->opened = true;
}

/* A raw JSON line: an object with a "request" string. */
static int parse_raw(const char *line, char **namep, json_t **attrsp)
{
	json_t *obj = json_loads(line, JSON_REJECT_DUPLICATES, NULL);
	const char *name = json_string_value(json_object_get(obj, "request"));

	if (!json_is_object(obj) || !name) {
		json_decref(obj);
		return EINVAL;
	}

	*namep = strdup(name);
	*attrsp = obj;
	return *namep ? 0 : ENOMEM;
}

static void send_line(struct ctl *x, const char *line)
{
	const char *p = line + strspn(line, " \t\r");
	json_t *attrs = NULL;
	char *name = NULL;
	int err, ref;

	if (!*p || *p == '#' || *p == '\r')
		return;

	err = *p == '{' ? parse_raw(p, &name, &attrs)
			: tlib_line_parse(p, &name, &attrs);
	if (err) {
		fprintf(stderr, "tlibctl: cannot read request line: %s\n", p);
		json_decref(attrs);
		finish(x, EXIT_USAGE);
		return;
	}

	ref = tlib_request(x->c, name, attrs);
	if (ref > 0)
		ref_add(x, ref);
	else {
		fprintf(stderr, "tlibctl: cannot send %s: %s\n", name,
			strerror(-ref));
		finish(x, ref == -EINVAL ? EXIT_USAGE : EXIT_CONN);
	}

	json_decref(attrs);
	free(name);
}

/* Send every complete line of the stdin buffer (and the last one at EOF). */
static void send_lines(struct ctl *x)
{
	char *nl, *start = x->in;

	x->in[x->inlen] = '\0';
	while ((nl = memchr(start, '\n', x->inlen - (size_t)(start - x->in)))) {
		*nl = '\0';
		send_line(x, start);
		start = nl + 1;
	}

	x->inlen -= (size_t)(start - x->in);
	memmove(x->in, start, x->inlen);

	if (x->in_eof && x->inlen) {
		x->in[x->inlen] = '\0';
		send_line(x, x->in);
		x->inlen = 0;
	} else if (x->inlen == IN_MAX) {
		fprintf(stderr, "tlibctl: request line too long\n");
		finish(x, EXIT_USAGE);
	}
}

static void read_stdin(struct ctl *x)
{
	ssize_t n = read(STDIN_FILENO, x->in + x->inlen, IN_MAX - x->inlen);

	if (n < 0 && errno == EINTR)
		return;
	if (n <= 0)
		x->in_eof = true;
	else
		x->inlen += (size_t)n;

	send_lines(x);
}

static void read_server(struct ctl *x)
{
	int n = tlib_poll(x->c, 0);
	const char *msg;

	if (n >= 0)
		return;

	tlib_last_error(x->c, NULL, &msg);
	if (n == -EMSGSIZE || n == -EBADMSG) {
		/* The library skips the line and reads on; so do we. */
		fprintf(stderr, "tlibctl: %s\n", msg ? msg : strerror(-n));
		return;
	}

	fprintf(stderr, "tlibctl: %s\n",
		n == -ECONNRESET ? "server closed the connection"
				 : strerror(-n));
	finish(x, EXIT_CONN);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* What is left of --timeout for poll() (-1: no bound). */
static int left_ms(const struct opts *o, int64_t start)
{
	int64_t left;

	if (!o->timeout_ms)
		return -1;

	left = start + o->timeout_ms - now_ms();
	return left > 0 ? (int)left : 0;
}

static bool done_at_eof(const struct ctl *x)
{
	return x->in_eof && !x->wait && !x->count && !x->nrefs;
}

static void loop(struct ctl *x, const struct opts *o, int64_t start)
{
	struct pollfd pfd[2];
	int n;

	while (x->status == RUNNING) {
		if (tlib_pending(x->c)) {
			read_server(x);
			continue;
		}
		if (done_at_eof(x)) {
			finish(x, EXIT_OK);
			break;
		}

		pfd[0] = (struct pollfd){.fd = tlib_fd(x->c), .events = POLLIN};
		pfd[1] = (struct pollfd){.fd = x->in_eof ? -1 : STDIN_FILENO,
					 .events = POLLIN};
		n = poll(pfd, 2, left_ms(o, start));
		if (n < 0 && errno == EINTR)
			continue;
		/* A busy server keeps poll() returning: check the clock too. */
		if (n > 0 && left_ms(o, start) == 0)
			n = 0;
		if (n <= 0) {
			fprintf(stderr, "tlibctl: %s\n",
				n ? strerror(errno) : "timeout");
			finish(x, n ? EXIT_CONN : EXIT_TIMEOUT);
			break;
		}

		if (pfd[0].revents)
			read_server(x);
		if (x->status == RUNNING && pfd[1].revents)
			read_stdin(x);
	}
}

static int open_failed(struct ctl *x, int err)
{
	const char *msg;
	int code;

	if (err != EACCES) {
		fprintf(stderr, "tlibctl: TOpenServer: %s\n", strerror(err));
		return EXIT_CONN;
	}

	tlib_last_error(x->c, &code, &msg);
	fprintf(stderr, "tlibctl: TOpenServer: EventError %d: %s\n", code,
		msg ? msg : "");
	return EXIT_ERROR_EVENT;
}

static int session(struct ctl *x, const struct opts *o, int64_t start)
{
	int left = left_ms(o, start);
	int err;

	err = tlib_connect_timeout(&x->c, o->host, o->port,
				   left < 0 ? TLIB_TIMEOUT_MS : left);
	if (err) {
		fprintf(stderr, "tlibctl: cannot connect to %s:%u: %s\n",
			o->host, (unsigned)o->port, strerror(err));
		return EXIT_CONN;
	}

	printf("%s\n", tlib_link_event(x->c)->line);
	fflush(stdout);
	tlib_set_event_handler(x->c, on_event, x);
	/* --timeout bounds TOpenServer's answer and every send too. */
	left = left_ms(o, start);
	if (left >= 0 && left < TLIB_TIMEOUT_MS)
		tlib_set_timeout(x->c, left);

	err = tlib_open(x->c, o->app, o->password);
	if (err && x->status == RUNNING)
		return open_failed(x, err);

	for (size_t i = 0; i < o->ndns && x->status == RUNNING; i++) {
		int ref = tlib_register(x->c, o->dns[i], TLIB_MODE_SHARE);

		if (ref < 0) {
			fprintf(stderr, "tlibctl: TRegisterAddress %s: %s\n",
				o->dns[i], strerror(-ref));
			return EXIT_CONN;
		}
		ref_add(x, ref);
	}

	loop(x, o, start);
	return x->status;
}

static bool number(const char *s, long min, long max, long *vp)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return false;

	*vp = v;
	return true;
}

static int option(struct opts *o, int opt, const char *arg)
{
	long v;

	switch (opt) {
	case 'H':
		o->host = arg;
		return 0;
	case 'p':
		if (!number(arg, 1, 65535, &v))
			return EINVAL;
		o->port = (uint16_t)v;
		return 0;
	case 'a':
		o->app = arg;
		return 0;
	case 'P':
		o->password = arg;
		return 0;
	case 'w':
		o->wait = arg;
		return 0;
	case 't':
		return number(arg, 1, INT_MAX, &o->timeout_ms) ? 0 : EINVAL;
	case 'n':
		return number(arg, 1, LONG_MAX, &o->count) ? 0 : EINVAL;
	case 'r':
		o->dns[o->ndns++] = arg;
		return 0;
	default:
		return EINVAL;
	}
}

static int parse_args(struct opts *o, int argc, char *argv[])
{
	static const struct option longopts[] = {
		{"host", required_argument, NULL, 'H'},
		{"port", required_argument, NULL, 'p'},
		{"app", required_argument, NULL, 'a'},
		{"password", required_argument, NULL, 'P'},
		{"register", required_argument, NULL, 'r'},
		{"wait", required_argument, NULL, 'w'},
		{"timeout", required_argument, NULL, 't'},
		{"count", required_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (opt == 'h') {
			usage(stdout);
			exit(EXIT_OK);
		}
		if (option(o, opt, optarg))
			return EINVAL;
	}

	return optind == argc ? 0 : EINVAL;
}

int main(int argc, char *argv[])
{
	struct opts o = {.host = "127.0.0.1",
			 .port = TLIB_DEFAULT_PORT,
			 .app = "tlibctl"};
	struct ctl *x;
	int64_t start = now_ms();
	int status;

	/* No more --register options than arguments. */
	o.dns = calloc((size_t)argc, sizeof(*o.dns));
	x = calloc(1, sizeof(*x));
	if (!o.dns || !x) {
		fprintf(stderr, "tlibctl: out of memory\n");
		free(o.dns);
		free(x);
		return EXIT_CONN;
	}
	x->status = RUNNING;

	if (parse_args(&o, argc, argv) ||
	    (o.wait && tlib_match_parse(&x->wait, o.wait))) {
		usage(stderr);
		status = EXIT_USAGE;
		goto out;
	}
	x->count = o.count;

	status = session(x, &o, start);

out:
	tlib_close(x->c);
	tlib_match_free(x->wait);
	free(x->refs);
	free(x);
	free(o.dns);
	return status;
}
