/**
 * @file session.h  One CTI client's connection (src/tlib/ internal)
 */

struct tsrv_session {
	struct le le;		 /**< in the server's session list */
	struct tcp_conn *tc;	 /**< TCP: the connection */
	struct websock_conn *wc; /**< WebSocket: the connection */
	struct tls_conn *sc;	 /**< TLS: the layer over tc */
	struct tmr hs;		 /**< TLS: handshake deadline */
	struct tmr open;	 /**< TOpenServer deadline */
	struct sa peer;
	struct mbuf *line; /**< the line being received */
	bool skipping;	   /**< in a line over the limit */
	bool dead;	   /**< cut off; freed soon */
	bool opened;	   /**< TOpenServer accepted */
	char *app;	   /**< its ApplicationName */
	struct list regl;  /**< struct tsrv_reg: its DNs */
	struct tsrv *srv;
};

typedef void(tsrv_line_h)(struct tsrv_session *ss, const char *line, size_t len,
			  void *arg);

int tsrv_session_alloc(struct tsrv_session **ssp, struct tcp_conn *tc,
		       const struct sa *peer);
int tsrv_session_alloc_ws(struct tsrv_session **ssp, const struct sa *peer);
void tsrv_session_ws_ready(struct tsrv_session *ss);
bool tsrv_session_send(struct tsrv_session *ss, const char *line, size_t len);
void tsrv_session_recv(struct tsrv_session *ss, struct mbuf *mb,
		       tsrv_line_h *lineh, void *arg);
