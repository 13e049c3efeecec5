/*
 * NetBSD dmover's client example, hw_bzero() from dmover(9), compiled as
 * written against <dev/dmover/dmovervar.h>: a session for "zero", one
 * request with DMOVER_REQ_WAIT, its error read from dreq_flags. udma's
 * scheduler picks the engine per request; the code does not change.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dev/dmover/dmovervar.h>

/* ---- dmover(9)'s example, as the man page gives it ---- */
int
hw_bzero(void *buf, size_t len)
{
	struct dmover_session *dses;
	struct dmover_request *dreq;
	int error;

	error = dmover_session_create(DMOVER_FUNC_ZERO, &dses);
	if (error)
		return (error);

	dreq = dmover_request_alloc(dses, NULL);
	if (dreq == NULL) {
		dmover_session_destroy(dses);
		return (ENOMEM);
	}

	dreq->dreq_flags = DMOVER_REQ_WAIT;
	dreq->dreq_callback = NULL;
	dreq->dreq_outbuf.dreq_outbuf_type = DMOVER_BUF_LINEAR;
	dreq->dreq_outbuf.dmbuf_linear.l_addr = buf;
	dreq->dreq_outbuf.dmbuf_linear.l_len = len;

	dmover_process(dreq);

	error = (dreq->dreq_flags & DMOVER_REQ_ERROR) ?
	    dreq->dreq_error : 0;

	dmover_request_free(dreq);
	dmover_session_destroy(dses);

	return (error);
}
/* ---- end of the example ---- */

int main(void)
{
	size_t len = 1 << 20;
	unsigned char *buf = malloc(len);

	if (!buf)
		return 1;
	memset(buf, 0xa5, len);
	int error = hw_bzero(buf, len);
	size_t nonzero = 0;
	for (size_t i = 0; i < len; i++)
		nonzero += buf[i] != 0;
	printf("dmover_bzero: hw_bzero of %zu bytes: error %d, %zu bytes left nonzero\n", len, error, nonzero);
	free(buf);
	return error || nonzero ? 1 : 0;
}
