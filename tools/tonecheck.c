/**
 * @file tonecheck.c  The test suite's ear: which tones does a WAV hold, when
 *
 * Audio tests are "by ear": every phone sends its own tone, records what it
 * receives, and this tool says which tones a recording holds, window by
 * window. It owns the decision "is this tone present", so that every test
 * decides it the same way: a tone is present in a window when its Goertzel
 * power is at least --ratio of the window's total power (a fraction, not an
 * absolute level, so codec gain and mixing do not matter) and the window is
 * not near-silent (RMS at least --floor dBFS, so that a fraction of noise or
 * of comfort silence never counts as a tone).
 *
 * Only whole windows count: a trailing partial window has too few samples
 * for the Goertzel filter to tell neighbouring tones apart.
 *
 * Exit status: 0 the expectations hold (or none were given), 1 they do not,
 * 2 usage error or unreadable file.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sndfile.h>
#include <re.h>
#include <rem.h>

enum {
	MAX_FREQS = 16,
	EXIT_FAIL = 1,
	EXIT_USAGE = 2,
};

/* dBFS printed for digital silence, where log10(0) has no value. */
#define MIN_DB -120.0

enum want {
	WANT_REPORT, /* only reported, no verdict */
	WANT_PRESENT,
	WANT_ABSENT,
};

struct freq {
	double hz;
	enum want want;
	struct goertzel g;
	unsigned present; /* windows in range where it was present */
};

struct opts {
	unsigned window_ms;
	double ratio;
	double floor_db;
	double from;
	double to;
	double min_fraction;
	double max_fraction;
	bool expect;
	bool silent;
};

struct check {
	struct opts o;
	struct freq freqv[MAX_FREQS];
	size_t freqc;
	unsigned windows; /* windows in range */
	unsigned quiet;	  /* of which near-silent */
};

struct window {
	double t;
	size_t n;
	double energy; /* sum of squared samples */
	double rms_db;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: tonecheck [options] FILE.wav [FREQ...]\n"
		"\n"
		"Says, per window, which of the frequencies (Hz) FILE holds.\n"
		"Any sample rate; stereo is mixed to mono.\n"
		"\n"
		"  --window MS        window length (default 100)\n"
		"  --ratio R          present if tone power >= R of the "
		"window's (0.10)\n"
		"  --floor DB         windows below DB dBFS RMS are silent "
		"(-45)\n"
		"  --from S, --to S   only windows inside [S, S] seconds\n"
		"  --expect SPEC      e.g. 440,!1000: 440 present, 1000 "
		"absent\n"
		"  --silent           expect near-silence\n"
		"  --min-fraction F   'present'/'silent' need >= F of windows "
		"(0.8)\n"
		"  --max-fraction F   'absent' allows <= F of windows (0.05)\n"
		"  -h, --help         this text\n"
		"\n"
		"Without --expect/--silent: one line per window,\n"
		"  t=1.200 440:yes 1000:no rms=-18.3dB\n"
		"Exit status: 0 expectations hold, 1 they do not, 2 usage "
		"error or unreadable file.\n");
}

static int number(const char *s, double lo, double hi, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi)
		return EINVAL;

	*out = v;
	return 0;
}

static int add_freq(struct check *c, const char *s, enum want want)
{
	struct freq *f;
	double hz;

	if (number(s, 1.0, 1e6, &hz)) {
		fprintf(stderr, "tonecheck: bad frequency '%s'\n", s);
		return EINVAL;
	}
	if (c->freqc >= MAX_FREQS) {
		fprintf(stderr, "tonecheck: at most %d frequencies\n",
			MAX_FREQS);
		return E2BIG;
	}

	f = &c->freqv[c->freqc++];
	f->hz = hz;
	f->want = want;
	return 0;
}

/* "440,!1000": comma-separated, '!' marks a tone that must be absent. */
static int parse_spec(struct check *c, char *spec)
{
	char *save = NULL;
	char *tok;
	int err;

	for (tok = strtok_r(spec, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (tok[0] == '!')
			err = add_freq(c, tok + 1, WANT_ABSENT);
		else
			err = add_freq(c, tok, WANT_PRESENT);
		if (err)
			return err;
	}

	c->o.expect = true;
	return 0;
}

static int parse_opt(struct check *c, int opt, char *arg)
{
	struct opts *o = &c->o;
	double v;
	int err = 0;

	switch (opt) {
	case 'w':
		err = number(arg, 1.0, 10000.0, &v);
		o->window_ms = (unsigned)v;
		break;
	case 'r':
		err = number(arg, 0.0, 1.0, &o->ratio);
		break;
	case 'f':
		err = number(arg, -200.0, 0.0, &o->floor_db);
		break;
	case 'F':
		err = number(arg, 0.0, 1e9, &o->from);
		break;
	case 'T':
		err = number(arg, 0.0, 1e9, &o->to);
		break;
	case 'm':
		err = number(arg, 0.0, 1.0, &o->min_fraction);
		break;
	case 'M':
		err = number(arg, 0.0, 1.0, &o->max_fraction);
		break;
	case 'e':
		return parse_spec(c, arg);
	case 's':
		o->silent = true;
		break;
	default:
		return EINVAL;
	}

	if (err)
		fprintf(stderr, "tonecheck: bad value '%s'\n", arg);
	return err;
}

static int parse_args(struct check *c, int argc, char *argv[])
{
	static const struct option longopts[] = {
		{"window", required_argument, NULL, 'w'},
		{"ratio", required_argument, NULL, 'r'},
		{"floor", required_argument, NULL, 'f'},
		{"from", required_argument, NULL, 'F'},
		{"to", required_argument, NULL, 'T'},
		{"min-fraction", required_argument, NULL, 'm'},
		{"max-fraction", required_argument, NULL, 'M'},
		{"expect", required_argument, NULL, 'e'},
		{"silent", no_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (opt == 'h') {
			usage(stdout);
			exit(0);
		}
		if (parse_opt(c, opt, optarg))
			return EINVAL;
	}

	if (optind >= argc) {
		fprintf(stderr, "tonecheck: no WAV file given\n");
		return EINVAL;
	}
	for (int i = optind + 1; i < argc; i++) {
		if (add_freq(c, argv[i], WANT_REPORT))
			return EINVAL;
	}
	if (!c->freqc && !c->o.silent) {
		fprintf(stderr, "tonecheck: no frequency given\n");
		return EINVAL;
	}
	if (c->o.to < c->o.from) {
		fprintf(stderr, "tonecheck: --to is before --from\n");
		return EINVAL;
	}

	return 0;
}

static int open_wav(struct check *c, const char *path, SF_INFO *info,
		    SNDFILE **sfp)
{
	SNDFILE *sf;

	memset(info, 0, sizeof(*info));
	sf = sf_open(path, SFM_READ, info);
	if (!sf) {
		fprintf(stderr, "tonecheck: %s: %s\n", path, sf_strerror(NULL));
		return ENOENT;
	}

	for (size_t i = 0; i < c->freqc; i++) {
		if (c->freqv[i].hz >= info->samplerate / 2.0) {
			fprintf(stderr,
				"tonecheck: %g Hz is not below half the "
				"sample rate (%d Hz)\n",
				c->freqv[i].hz, info->samplerate);
			sf_close(sf);
			return EINVAL;
		}
		goertzel_init(&c->freqv[i].g, c->freqv[i].hz,
			      (unsigned)info->samplerate);
	}

	*sfp = sf;
	return 0;
}

static int16_t mono(const int16_t *frame, int channels)
{
	int32_t sum = 0;

	for (int ch = 0; ch < channels; ch++)
		sum += frame[ch];

	return (int16_t)(sum / channels);
}

/* Feeds one window of frames to every filter; the window's power too. */
static void feed(struct check *c, struct window *w, const int16_t *buf,
		 int channels)
{
	w->energy = 0.0;

	for (size_t i = 0; i < w->n; i++) {
		int16_t s = mono(&buf[i * channels], channels);

		w->energy += (double)s * s;
		for (size_t k = 0; k < c->freqc; k++)
			goertzel_update(&c->freqv[k].g, s);
	}

	if (w->energy > 0.0)
		w->rms_db = 20.0 * log10(sqrt(w->energy / w->n) / 32768.0);
	else
		w->rms_db = MIN_DB;
	if (w->rms_db < MIN_DB)
		w->rms_db = MIN_DB;
}

/*
 * librem's goertzel_result() is 2|X|^2 and resets the filter. For a sine
 * of amplitude A filling the window, |X| = A n / 2 and the energy is
 * n A^2 / 2, so result / (n energy) is the tone's share of the power: 1.0
 * for a pure tone, about 0.5 for either of two equal tones.
 */
static bool present(struct freq *f, const struct window *w,
		    const struct opts *o, bool loud)
{
	double res = goertzel_result(&f->g);

	if (!loud)
		return false;

	return res / ((double)w->n * w->energy) >= o->ratio;
}

static bool in_range(const struct opts *o, const struct window *w, double len)
{
	return w->t >= o->from - 1e-9 && w->t + len <= o->to + 1e-9;
}

static void window_done(struct check *c, const struct window *w, double len)
{
	const bool loud = w->rms_db >= c->o.floor_db;
	const bool count = in_range(&c->o, w, len);
	const bool print = count && !c->o.expect && !c->o.silent;

	if (print)
		printf("t=%.3f", w->t);
	for (size_t k = 0; k < c->freqc; k++) {
		bool yes = present(&c->freqv[k], w, &c->o, loud);

		if (count && yes)
			++c->freqv[k].present;
		if (print)
			printf(" %g:%s", c->freqv[k].hz, yes ? "yes" : "no");
	}
	if (print)
		printf(" rms=%.1fdB\n", w->rms_db);

	if (count) {
		++c->windows;
		if (!loud)
			++c->quiet;
	}
}

static int analyse(struct check *c, SNDFILE *sf, const SF_INFO *info)
{
	const size_t n = (size_t)info->samplerate * c->o.window_ms / 1000;
	const double len = c->o.window_ms / 1000.0;
	struct window w = {.n = n};
	int16_t *buf;

	if (n == 0) {
		fprintf(stderr, "tonecheck: window shorter than a sample\n");
		return EINVAL;
	}

	buf = calloc(n * (size_t)info->channels, sizeof(*buf));
	if (!buf)
		return ENOMEM;

	for (unsigned i = 0;; i++) {
		if (sf_readf_short(sf, buf, (sf_count_t)n) != (sf_count_t)n)
			break;
		if (i * len > c->o.to)
			break;

		w.t = i * len;
		feed(c, &w, buf, info->channels);
		window_done(c, &w, len);
	}

	free(buf);
	return 0;
}

static double fraction(const struct check *c, unsigned k)
{
	return c->windows ? (double)k / c->windows : 0.0;
}

static bool verdict_freq(const struct check *c, const struct freq *f)
{
	const double frac = fraction(c, f->present);
	const bool must = f->want == WANT_PRESENT;
	const double limit = must ? c->o.min_fraction : c->o.max_fraction;
	const char *cmp = must ? ">=" : "<=";
	const bool ok = must ? frac >= limit : frac <= limit;

	if (f->want == WANT_REPORT) {
		printf("%g: present in %.2f of %u windows (no expectation)\n",
		       f->hz, frac, c->windows);
		return true;
	}

	printf("%g: present in %.2f of %u windows (need %s %.2f) %s\n", f->hz,
	       frac, c->windows, cmp, limit, ok ? "ok" : "FAIL");
	if (!ok)
		fprintf(stderr,
			"tonecheck: %g Hz present in %.2f of %u windows, "
			"expected %s %.2f\n",
			f->hz, frac, c->windows, cmp, limit);
	return ok;
}

static bool verdict_silent(const struct check *c)
{
	const double frac = fraction(c, c->quiet);
	const bool ok = frac >= c->o.min_fraction;

	printf("silent: %.2f of %u windows below %.1f dBFS (need >= "
	       "%.2f) %s\n",
	       frac, c->windows, c->o.floor_db, c->o.min_fraction,
	       ok ? "ok" : "FAIL");
	if (!ok)
		fprintf(stderr,
			"tonecheck: silent in %.2f of %u windows, expected "
			">= %.2f\n",
			frac, c->windows, c->o.min_fraction);
	return ok;
}

static int verdict(const struct check *c)
{
	bool ok = true;

	if (!c->o.expect && !c->o.silent)
		return 0;

	if (!c->windows) {
		fprintf(stderr, "tonecheck: no whole window in range\n");
		return EXIT_FAIL;
	}

	for (size_t k = 0; k < c->freqc; k++)
		ok = verdict_freq(c, &c->freqv[k]) && ok;
	if (c->o.silent)
		ok = verdict_silent(c) && ok;

	return ok ? 0 : EXIT_FAIL;
}

int main(int argc, char *argv[])
{
	struct check c = {
		.o = {.window_ms = 100,
		      .ratio = 0.10,
		      .floor_db = -45.0,
		      .from = 0.0,
		      .to = 1e9,
		      .min_fraction = 0.8,
		      .max_fraction = 0.05},
	};
	SF_INFO info;
	SNDFILE *sf;
	int err;

	if (parse_args(&c, argc, argv)) {
		usage(stderr);
		return EXIT_USAGE;
	}

	if (open_wav(&c, argv[optind], &info, &sf))
		return EXIT_USAGE;

	err = analyse(&c, sf, &info);
	sf_close(sf);
	if (err)
		return EXIT_USAGE;

	return verdict(&c);
}
