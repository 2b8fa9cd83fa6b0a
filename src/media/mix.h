/**
 * @file mix.h  The N-1 conference mixer: one sum, each listener minus itself
 *
 * Pure and allocation-free: the engine embeds a struct mix_party in each
 * leg and a struct mix in each conference, fills in[] on the tick, calls
 * mix_run once and sends out[]. O(N) per frame whatever N is.
 */

enum {
	MIX_FRAME = 160, /**< samples per tick (20 ms at 8 kHz) */
};

/** What the engine sends a party */
enum mix_source {
	MIX_SRC_MIX = 0, /**< the conference, minus its own voice */
	MIX_SRC_MUSIC,	 /**< the player: held, listen-disconnected */
	MIX_SRC_SILENCE,
};

/** One party's place in a mix; embedded in the engine's leg */
struct mix_party {
	struct le le;		/**< in mix.partyl */
	bool talk;		/**< its voice is in the sum */
	bool listen;		/**< it gets the sum minus its own voice */
	enum mix_source source; /**< not MIX: neither heard nor hearing */
	bool has_in;		/**< in[] holds this tick's frame */
	int16_t in[MIX_FRAME];
	int16_t out[MIX_FRAME]; /**< after mix_run: if listen, source MIX */
};

struct mix {
	struct list partyl;
	int32_t sum[MIX_FRAME];
};

void mix_init(struct mix *mix);
void mix_add(struct mix *mix, struct mix_party *p);
void mix_remove(struct mix_party *p);
void mix_run(struct mix *mix);
