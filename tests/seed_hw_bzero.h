/* Seed 004's (NetBSD dmover) own client example, unchanged: the compat test
 * runs it as written, the fault sweep runs it with allocations failing. */
#ifndef UDMA_TEST_SEED_HW_BZERO_H
#define UDMA_TEST_SEED_HW_BZERO_H

#include <errno.h>
#include <dev/dmover/dmovervar.h>

/* ---- the seed's example, unchanged ---- */
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

#endif
