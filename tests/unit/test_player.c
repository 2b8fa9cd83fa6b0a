/**
 * @file test_player.c  Music files in, 8 kHz frames out, shared by path
 *
 * Test files are written at test time with libsndfile into a fresh
 * temporary folder: a tone in each format and rate the player must take,
 * checked after loading for its duration and, with a Goertzel filter,
 * for still being the same tone, in linear and in both codecs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <ftw.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>
#include <sndfile.h>
#include <re.h>
#include <rem.h>
#include "media/codec.h"
#include "media/player.h"

struct fixture {
	char dir[64];
	char path[256];
	char reason[256];
};

static const char *at(struct fixture *fx, const char *name)
{
	re_snprintf(fx->path, sizeof(fx->path), "%s/%s", fx->dir, name);
	return fx->path;
}

/* A sine of freq Hz at half scale, written in the given format */
static void write_tone(const char *path, int format, int rate, int channels,
		       double freq, double seconds)
{
	SF_INFO info = {
		.samplerate = rate, .channels = channels, .format = format};
	sf_count_t frames = (sf_count_t)(seconds * rate);
	float *buf = calloc((size_t)(frames * channels), sizeof(*buf));
	SNDFILE *sf;

	assert_non_null(buf);
	for (sf_count_t i = 0; i < frames; i++) {
		for (int c = 0; c < channels; c++)
			buf[i * channels + c] =
				0.5f *
				(float)sin(2 * M_PI * freq * (double)i / rate);
	}

	sf = sf_open(path, SFM_WRITE, &info);
	assert_non_null(sf);
	assert_int_equal(frames, sf_writef_float(sf, buf, frames));
	sf_close(sf);
	free(buf);
}

static double power(const int16_t *x, size_t n, double freq)
{
	struct goertzel g;

	goertzel_init(&g, freq, PLAYER_RATE);
	for (size_t i = 0; i < n; i++)
		goertzel_update(&g, x[i]);

	return goertzel_result(&g);
}

/* freq stands far (20 dB) above an octave below and above it */
static void assert_tone(const int16_t *x, size_t n, double freq)
{
	double p = power(x, n, freq);

	assert_true(p > 100 * power(x, n, freq / 2));
	assert_true(p > 100 * power(x, n, freq * 2));
}

enum {
	SKIP = 5,   /* frames: past any resampler transient */
	PROBE = 20, /* frames analysed */
};

/* The tone in linear and in both codecs, frames SKIP.. */
static void check_tone(const struct player *p, size_t from, double freq)
{
	static int16_t lin[PROBE * PLAYER_FRAME], dec[PROBE * PLAYER_FRAME];
	const enum codec cv[] = {CODEC_PCMU, CODEC_PCMA};
	size_t pos = from;

	for (size_t f = 0; f < PROBE; f++)
		memcpy(lin + f * PLAYER_FRAME, player_pcm(p, &pos),
		       PLAYER_FRAME * sizeof(int16_t));
	assert_tone(lin, PROBE * PLAYER_FRAME, freq);

	for (size_t k = 0; k < 2; k++) {
		pos = from;
		for (size_t f = 0; f < PROBE; f++)
			codec_decode(cv[k], player_frame(p, cv[k], &pos),
				     dec + f * PLAYER_FRAME, PLAYER_FRAME);
		assert_tone(dec, PROBE * PLAYER_FRAME, freq);
	}
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	strcpy(fx->dir, "/tmp/test_player.XXXXXX");
	if (!mkdtemp(fx->dir)) {
		free(fx);
		return -1;
	}
	*state = fx;
	return 0;
}

static int rm(const char *path, const struct stat *st, int flag,
	      struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	int err = nftw(fx->dir, rm, 8, FTW_DEPTH | FTW_PHYS);

	free(fx);
	return err;
}

struct format {
	const char *name;
	int format;
	int rate;
	int channels;
};

/* 1.01 s: not a whole number of frames, so the last one is padded */
static void test_formats(void **state)
{
	static const struct format fv[] = {
		{"8k.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1},
		{"44k.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 44100, 2},
		{"16k.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 16000, 1},
		{"48k.ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, 48000, 1},
		{"22k.aiff", SF_FORMAT_AIFF | SF_FORMAT_PCM_16, 22050, 1},
	};
	struct fixture *fx = *state;

	for (size_t k = 0; k < sizeof(fv) / sizeof(fv[0]); k++) {
		struct player *p = NULL;

		write_tone(at(fx, fv[k].name), fv[k].format, fv[k].rate,
			   fv[k].channels, 1000, 1.01);
		assert_int_equal(0, player_load(&p, fx->path, fx->reason,
						sizeof(fx->reason)));
		assert_int_equal(51, player_frames(p)); /* 8080 samples */
		check_tone(p, SKIP, 1000);
		check_tone(p, 30, 1000);
		mem_deref(p);
	}
}

/* At 8 kHz, 16 bits, nothing is resampled: the samples come out as they
 * were written, and the padding is silence. */
static void test_exact_8k(void **state)
{
	struct fixture *fx = *state;
	SF_INFO info = {.samplerate = 8000,
			.channels = 1,
			.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
	int16_t buf[400];
	struct player *p = NULL;
	size_t pos = 0;
	SNDFILE *sf;

	for (int i = 0; i < 400; i++)
		buf[i] = (int16_t)(i * 163 - 32768);
	sf = sf_open(at(fx, "ramp.wav"), SFM_WRITE, &info);
	assert_non_null(sf);
	assert_int_equal(400, sf_writef_short(sf, buf, 400));
	sf_close(sf);

	assert_int_equal(0, player_load(&p, fx->path, NULL, 0));
	assert_int_equal(3, player_frames(p));
	for (int k = 0; k < 3; k++) {
		const int16_t *f = player_pcm(p, &pos);

		for (int i = 0; i < PLAYER_FRAME; i++) {
			int j = k * PLAYER_FRAME + i;

			assert_int_equal(j < 400 ? buf[j] : 0, f[i]);
		}
	}

	/* and the padding is the codecs' silence */
	pos = 2;
	assert_int_equal(codec_silence(CODEC_PCMU),
			 player_frame(p, CODEC_PCMU, &pos)[PLAYER_FRAME - 1]);
	pos = 2;
	assert_int_equal(codec_silence(CODEC_PCMA),
			 player_frame(p, CODEC_PCMA, &pos)[PLAYER_FRAME - 1]);
	mem_deref(p);
}

static void test_loop(void **state)
{
	struct fixture *fx = *state;
	struct player *p = NULL;
	const int16_t *first;
	const uint8_t *u0;
	size_t pos = 0, n;

	write_tone(at(fx, "t.wav"), SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1,
		   1000, 0.2);
	assert_int_equal(0, player_load(&p, fx->path, NULL, 0));
	n = player_frames(p);
	assert_int_equal(10, n);

	first = player_pcm(p, &pos);
	assert_int_equal(1, pos);
	for (size_t k = 1; k < n; k++)
		assert_ptr_equal(first + k * PLAYER_FRAME, player_pcm(p, &pos));
	assert_int_equal(0, pos); /* wrapped after the last frame */
	assert_ptr_equal(first, player_pcm(p, &pos));

	pos = 0;
	u0 = player_frame(p, CODEC_PCMU, &pos);
	pos = n - 1;
	assert_ptr_equal(u0 + (n - 1) * PLAYER_FRAME,
			 player_frame(p, CODEC_PCMU, &pos));
	assert_int_equal(0, pos);

	/* a position from a longer, older copy starts over */
	pos = 12345;
	assert_ptr_equal(u0, player_frame(p, CODEC_PCMU, &pos));
	assert_int_equal(1, pos);
	mem_deref(p);
}

/* Two files, tones apart, written in the reverse of name order; a
 * hidden file is ignored. */
static void test_folder(void **state)
{
	struct fixture *fx = *state;
	struct player *p = NULL;
	FILE *f;

	assert_int_equal(0, mkdir(at(fx, "music"), 0700));
	write_tone(at(fx, "music/02-high.flac"),
		   SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 16000, 1, 1500, 0.6);
	write_tone(at(fx, "music/01-low.wav"), SF_FORMAT_WAV | SF_FORMAT_PCM_16,
		   44100, 2, 600, 0.6);
	f = fopen(at(fx, "music/.notes"), "w");
	assert_non_null(f);
	fputs("not audio\n", f);
	fclose(f);

	assert_int_equal(0, player_load(&p, at(fx, "music"), fx->reason,
					sizeof(fx->reason)));
	assert_int_equal(60, player_frames(p)); /* 2 x 4800 samples */
	check_tone(p, 2, 600);
	check_tone(p, 32, 1500);
	mem_deref(p);
}

static void test_cache(void **state)
{
	struct fixture *fx = *state;
	struct player_cache *c = NULL;
	struct player *a = NULL, *b = NULL, *d = NULL, *m = NULL;
	char file[256];

	assert_int_equal(0, player_cache_alloc(&c));
	write_tone(at(fx, "hold.wav"), SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000,
		   1, 1000, 0.4);
	strcpy(file, fx->path);

	assert_int_equal(0, player_cache_get(c, &a, file, NULL, 0));
	assert_int_equal(0, player_cache_get(c, &b, file, NULL, 0));
	assert_ptr_equal(a, b);
	assert_int_equal(20, player_frames(a));
	b = mem_deref(b);

	/* replaced by a longer file: the next get loads it, the holder of
	 * the old copy keeps it intact */
	write_tone(file, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, 1000, 0.6);
	assert_int_equal(0, player_cache_get(c, &b, file, NULL, 0));
	assert_ptr_not_equal(a, b);
	assert_int_equal(30, player_frames(b));
	assert_int_equal(20, player_frames(a));
	check_tone(a, 0, 1000);
	a = mem_deref(a);

	/* a folder reloads when a file is added */
	assert_int_equal(0, mkdir(at(fx, "f"), 0700));
	write_tone(at(fx, "f/1.wav"), SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1,
		   1000, 0.2);
	assert_int_equal(0, player_cache_get(c, &m, at(fx, "f"), NULL, 0));
	assert_int_equal(10, player_frames(m));
	assert_int_equal(0, player_cache_get(c, &d, at(fx, "f"), NULL, 0));
	assert_ptr_equal(m, d);
	d = mem_deref(d);
	write_tone(at(fx, "f/2.wav"), SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1,
		   1000, 0.2);
	assert_int_equal(0, player_cache_get(c, &d, at(fx, "f"), NULL, 0));
	assert_ptr_not_equal(m, d);
	assert_int_equal(20, player_frames(d));

	/* prune drops only what nobody holds */
	m = mem_deref(m);
	assert_int_equal(0, player_cache_prune(c));
	b = mem_deref(b);
	assert_int_equal(1, player_cache_prune(c));
	d = mem_deref(d);
	assert_int_equal(1, player_cache_prune(c));
	assert_int_equal(0, player_cache_prune(c));
	mem_deref(c);
}

/* The music the server ships with loads, and lasts more than a frame */
static void test_bundled(void **state)
{
	struct fixture *fx = *state;
	struct player *p = NULL;

	assert_int_equal(0, player_load(&p, SRC_DIR "/music/on_hold",
					fx->reason, sizeof(fx->reason)));
	assert_true(player_frames(p) > 1);
	mem_deref(p);
}

static void test_errors(void **state)
{
	struct fixture *fx = *state;
	struct player_cache *c = NULL;
	struct player *p = NULL;
	FILE *f;

	assert_int_equal(ENOENT, player_load(&p, at(fx, "none.wav"), fx->reason,
					     sizeof(fx->reason)));
	assert_non_null(strstr(fx->reason, "none.wav"));
	assert_null(p);

	f = fopen(at(fx, "text.wav"), "w");
	assert_non_null(f);
	fputs("this is not a wave file\n", f);
	fclose(f);
	assert_int_equal(EINVAL, player_load(&p, fx->path, fx->reason,
					     sizeof(fx->reason)));
	assert_non_null(strstr(fx->reason, "text.wav"));
	assert_non_null(strstr(fx->reason, "not an audio file"));

	assert_int_equal(0, mkdir(at(fx, "empty"), 0700));
	assert_int_equal(ENOENT, player_load(&p, fx->path, fx->reason,
					     sizeof(fx->reason)));
	assert_non_null(strstr(fx->reason, "empty"));

	/* a stray file in a folder is reported, not skipped */
	assert_int_equal(0, mkdir(at(fx, "mixed"), 0700));
	write_tone(at(fx, "mixed/a.wav"), SF_FORMAT_WAV | SF_FORMAT_PCM_16,
		   8000, 1, 1000, 0.1);
	f = fopen(at(fx, "mixed/b.txt"), "w");
	assert_non_null(f);
	fputs("notes\n", f);
	fclose(f);
	assert_int_equal(EINVAL, player_load(&p, at(fx, "mixed"), fx->reason,
					     sizeof(fx->reason)));
	assert_non_null(strstr(fx->reason, "b.txt"));
	assert_null(p);

	/* through the cache, with no reason buffer */
	assert_int_equal(0, player_cache_alloc(&c));
	assert_int_equal(ENOENT,
			 player_cache_get(c, &p, at(fx, "none"), NULL, 0));
	assert_int_equal(EINVAL, player_cache_get(c, &p, NULL, NULL, 0));
	assert_int_equal(EINVAL, player_load(NULL, "x", NULL, 0));
	assert_null(p);
	mem_deref(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_formats, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exact_8k, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_folder, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bundled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
