/**
 * @file player.c  Loading music: decode, mix down, resample, pre-encode
 *
 * Everything costly happens once, here: libsndfile decodes any format it
 * knows (WAV, FLAC, Ogg/Vorbis, AIFF, ...) at any rate, channels are
 * averaged to mono, speexdsp resamples each file to 8 kHz (at a high
 * quality setting, since it runs once per file, not per call), and the
 * result is padded with silence to whole frames and encoded for PCMU and
 * PCMA. Playing is then a pointer into one block and an index increment.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <math.h>
#include <sndfile.h>
#include <speex/speex_resampler.h>
#include <re.h>
#include "media/codec.h"
#include "media/player.h"

enum {
	QUALITY = 8,  /**< speexdsp: 0..10; load time only */
	CHUNK = 4096, /**< frames per sf_readf_float */
};

/** One block: the struct, then pcm, then PCMU, then PCMA */
struct player {
	size_t frames;
	int16_t *pcm;
	uint8_t *pcmu;
	uint8_t *pcma;
};

/** The files decoded so far, 8 kHz mono, growing file by file */
struct pcmbuf {
	int16_t *v;
	size_t n;
	size_t cap;
};

/** One file on its way from the decoder into a pcmbuf */
struct conv {
	struct pcmbuf *pb;
	SpeexResamplerState *rs; /**< NULL if the file is at 8 kHz */
	uint32_t rate;
	size_t base; /**< where this file starts in pb */
	size_t in;   /**< its input frames so far */
};

static void why(char *reason, size_t sz, const char *fmt, ...)
{
	va_list ap;

	if (!reason || !sz)
		return;

	va_start(ap, fmt);
	(void)re_vsnprintf(reason, sz, fmt, ap);
	va_end(ap);
}

static int16_t to_s16(float x)
{
	float v = x * 32768.0f; /* libsndfile reads 16 bits as s / 32768 */

	if (v >= 32767.0f)
		return INT16_MAX;
	if (v <= -32768.0f)
		return INT16_MIN;
	return (int16_t)lrintf(v);
}

static int pcm_append(struct pcmbuf *pb, const float *x, size_t n)
{
	if (pb->n + n > pb->cap) {
		size_t cap = MAX(pb->cap * 2, pb->n + n);
		/* libre's mem_realloc does not take NULL */
		int16_t *v = pb->v ? mem_realloc(pb->v, cap * sizeof(*v))
				   : mem_alloc(cap * sizeof(*v), NULL);

		if (!v)
			return ENOMEM;
		pb->v = v;
		pb->cap = cap;
	}

	for (size_t i = 0; i < n; i++)
		pb->v[pb->n++] = to_s16(x[i]);

	return 0;
}

static int conv_push(struct conv *cv, const float *x, size_t n)
{
	float out[CHUNK];
	int err = 0;

	if (!cv->rs)
		return pcm_append(cv->pb, x, n);

	while (n && !err) {
		spx_uint32_t il = (spx_uint32_t)n, ol = CHUNK;

		speex_resampler_process_float(cv->rs, 0, x, &il, out, &ol);
		if (!il && !ol)
			return EPROTO; /* a resampler that makes no progress */
		x += il;
		n -= il;
		err = pcm_append(cv->pb, out, ol);
	}

	return err;
}

/* The resampler holds back its filter's length: push silence through
 * until the file's output has the file's duration, then cut to it. */
static int conv_finish(struct conv *cv)
{
	static const float zeros[CHUNK];
	size_t want = (size_t)(((uint64_t)cv->in * PLAYER_RATE + cv->rate / 2) /
			       cv->rate);
	int err = 0;

	for (int i = 0; cv->rs && !err && i < 64; i++) {
		if (cv->pb->n - cv->base >= want)
			break;
		err = conv_push(cv, zeros, CHUNK);
	}
	while (!err && cv->pb->n - cv->base < want)
		err = pcm_append(cv->pb, zeros, 1);

	cv->pb->n = cv->base + want;
	return err;
}

/* Decode, averaging the channels to mono, chunk by chunk */
static int conv_run(struct conv *cv, SNDFILE *sf, size_t ch)
{
	float *buf, mono[CHUNK];
	sf_count_t got;
	int err = 0;

	buf = mem_alloc(CHUNK * ch * sizeof(*buf), NULL);
	if (!buf)
		return ENOMEM;

	while (!err && (got = sf_readf_float(sf, buf, CHUNK)) > 0) {
		for (size_t f = 0; f < (size_t)got; f++) {
			float sum = 0;

			for (size_t c = 0; c < ch; c++)
				sum += buf[f * ch + c];
			mono[f] = sum / (float)ch;
		}
		cv->in += (size_t)got;
		/* the header's length was checked, but it may lie */
		if (cv->in / cv->rate > PLAYER_MAX_SECONDS)
			err = EFBIG;
		if (!err)
			err = conv_push(cv, mono, (size_t)got);
	}

	mem_deref(buf);
	return err ? err : conv_finish(cv);
}

static int file_convert(struct pcmbuf *pb, SNDFILE *sf, const SF_INFO *info)
{
	struct conv cv = {pb, NULL, (uint32_t)info->samplerate, pb->n, 0};
	int err = 0;

	if (cv.rate != PLAYER_RATE) {
		cv.rs = speex_resampler_init(1, cv.rate, PLAYER_RATE, QUALITY,
					     &err);
		if (!cv.rs)
			return ENOMEM;
		speex_resampler_skip_zeros(cv.rs);
	}

	err = conv_run(&cv, sf, (size_t)info->channels);
	if (cv.rs)
		speex_resampler_destroy(cv.rs);

	return err;
}

static int file_decode(struct pcmbuf *pb, const char *path, char *reason,
		       size_t sz)
{
	size_t base = pb->n;
	SF_INFO info;
	SNDFILE *sf;
	int err;

	memset(&info, 0, sizeof(info));
	sf = sf_open(path, SFM_READ, &info);
	if (!sf) {
		why(reason, sz, "\"%s\" is not an audio file: %s", path,
		    sf_strerror(NULL));
		return EINVAL;
	}

	if (info.channels < 1 || info.samplerate <= 0) {
		sf_close(sf);
		why(reason, sz, "\"%s\" is not an audio file", path);
		return EINVAL;
	}
	if (info.frames / info.samplerate > PLAYER_MAX_SECONDS) {
		sf_close(sf);
		why(reason, sz, "\"%s\" is longer than %u s", path,
		    PLAYER_MAX_SECONDS);
		return EFBIG;
	}

	err = file_convert(pb, sf, &info);
	sf_close(sf);

	if (err == EFBIG)
		why(reason, sz, "\"%s\" is longer than %u s", path,
		    PLAYER_MAX_SECONDS);
	else if (err)
		why(reason, sz, "\"%s\": %m", path, err);
	else if (pb->n == base) {
		why(reason, sz, "\"%s\" holds no samples", path);
		err = EINVAL;
	}

	return err;
}

static int visible(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

/* Every visible entry must be audio: a stray file is reported, as the
 * configuration check does, not skipped. */
static int folder_decode(struct pcmbuf *pb, const char *path, char *reason,
			 size_t sz)
{
	struct dirent **names;
	char *file = NULL;
	int n, err = 0;

	n = scandir(path, &names, visible, alphasort);
	if (n < 0) {
		err = errno;
		why(reason, sz, "cannot read folder \"%s\": %m", path, err);
		return err;
	}
	if (n == 0) {
		why(reason, sz, "folder \"%s\" holds no audio file", path);
		err = ENOENT;
	}

	for (int i = 0; i < n; i++) {
		if (!err && re_sdprintf(&file, "%s/%s", path, names[i]->d_name))
			err = ENOMEM;
		if (!err)
			err = file_decode(pb, file, reason, sz);
		file = mem_deref(file);
		free(names[i]);
	}
	free(names);

	return err;
}

/* Whole frames, the last one padded with silence, then encoded */
static int build(struct player **pp, const struct pcmbuf *pb)
{
	size_t frames = (pb->n + PLAYER_FRAME - 1) / PLAYER_FRAME;
	size_t ns = frames * PLAYER_FRAME;
	struct player *p;

	p = mem_zalloc(sizeof(*p) + ns * (sizeof(int16_t) + 2), NULL);
	if (!p)
		return ENOMEM;

	p->frames = frames;
	p->pcm = (int16_t *)(void *)(p + 1);
	p->pcmu = (uint8_t *)(p->pcm + ns);
	p->pcma = p->pcmu + ns;

	memcpy(p->pcm, pb->v, pb->n * sizeof(*pb->v));
	codec_encode(CODEC_PCMU, p->pcm, p->pcmu, ns);
	codec_encode(CODEC_PCMA, p->pcm, p->pcma, ns);

	*pp = p;
	return 0;
}

/**
 * Load a file, or a folder of files played in name order, into a new
 * player. On error, reason (if given) names the file and the problem.
 */
int player_load(struct player **pp, const char *path, char *reason, size_t sz)
{
	struct pcmbuf pb = {NULL, 0, 0};
	struct stat st;
	int err;

	if (!pp || !path)
		return EINVAL;

	if (stat(path, &st) < 0) {
		err = errno;
		why(reason, sz, "cannot read \"%s\": %m", path, err);
		return err;
	}

	if (S_ISDIR(st.st_mode))
		err = folder_decode(&pb, path, reason, sz);
	else
		err = file_decode(&pb, path, reason, sz);

	if (!err)
		err = build(pp, &pb);

	mem_deref(pb.v);
	return err;
}

size_t player_frames(const struct player *p)
{
	return p ? p->frames : 0;
}

/* The frame at *pos (0 if out of range), and *pos moved on, looping */
static size_t next(const struct player *p, size_t *pos)
{
	size_t i = *pos < p->frames ? *pos : 0;

	*pos = i + 1 < p->frames ? i + 1 : 0;
	return i * PLAYER_FRAME;
}

/** 160 encoded bytes for the listener at *pos; advances *pos */
const uint8_t *player_frame(const struct player *p, enum codec c, size_t *pos)
{
	size_t off = next(p, pos);

	return (c == CODEC_PCMA ? p->pcma : p->pcmu) + off;
}

/** 160 linear samples for the listener at *pos; advances *pos */
const int16_t *player_pcm(const struct player *p, size_t *pos)
{
	return p->pcm + next(p, pos);
}
