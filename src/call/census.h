/**
 * @file census.h  What the call model holds now, for the operator's pages
 * (after call/call.h)
 */

enum {
	CALL_TYPES = CALL_CONSULT + 1,
};

struct call_census {
	uint32_t calls;
	uint32_t types[CALL_TYPES];	  /**< calls by CallType */
	uint32_t conferences;		  /**< calls of 3+ joined parties */
	uint32_t parties[PARTY_RELEASED]; /**< by state, Released left out */
	uint32_t remote; /**< parties of other sites, as they reported */
};

void call_model_census(const struct call_model *m, struct call_census *c);
