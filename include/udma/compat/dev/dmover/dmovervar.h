/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NetBSD's dmover(9) (seed 004) in user space, on udma's movers.
 *
 * Clients: dmover_session_create/destroy, dmover_request_alloc/free,
 * dmover_process. Back-ends: dmover_backend_register/unregister and
 * dmover_done; a registered back-end becomes a udma engine, receives
 * requests on dmb_pendreqs through its dmb_process, and calls dmover_done.
 *
 * As in the kernel, functions return 0 or a positive errno, and errors of
 * a request arrive as DMOVER_REQ_ERROR with dreq_error set. Differences
 * (docs/compat-dmover.md): the scheduler picks a back-end per request, not
 * per session; unregister with pending requests moves them instead of
 * panicking; destroying a session with requests in flight waits for them;
 * caller-supplied input arrays are never freed; completion callbacks run in
 * the thread that completes the request, not at IPL_SOFTCLOCK.
 */
#ifndef UDMA_COMPAT_DEV_DMOVER_DMOVERVAR_H
#define UDMA_COMPAT_DEV_DMOVER_DMOVERVAR_H

#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <udma/core.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The kernel's struct uio, as user space can have it: an iovec list. */
#ifndef UDMA_HAVE_STRUCT_UIO
#define UDMA_HAVE_STRUCT_UIO
enum uio_rw { UIO_READ, UIO_WRITE };
struct uio {
	struct iovec *uio_iov;
	int uio_iovcnt;
	off_t uio_offset;
	size_t uio_resid;  /* bytes described (set it to the total of uio_iov) */
	enum uio_rw uio_rw;
	void *uio_vmspace; /* unused in user space */
};
#endif

/* Well-known function names. */
#define DMOVER_FUNC_ZERO "zero"
#define DMOVER_FUNC_FILL8 "fill8"
#define DMOVER_FUNC_COPY "copy"
#define DMOVER_FUNC_ISCSI_CRC32C "iscsi-crc32c"
#define DMOVER_FUNC_XOR2 "xor2"
#define DMOVER_FUNC_XOR3 "xor3"
#define DMOVER_FUNC_XOR4 "xor4"
#define DMOVER_FUNC_XOR5 "xor5"
#define DMOVER_FUNC_XOR6 "xor6"
#define DMOVER_FUNC_XOR7 "xor7"
#define DMOVER_FUNC_XOR8 "xor8"
#define DMOVER_FUNC_XOR9 "xor9"
#define DMOVER_FUNC_XOR10 "xor10"
#define DMOVER_FUNC_XOR11 "xor11"
#define DMOVER_FUNC_XOR12 "xor12"
#define DMOVER_FUNC_XOR13 "xor13"
#define DMOVER_FUNC_XOR14 "xor14"
#define DMOVER_FUNC_XOR15 "xor15"
#define DMOVER_FUNC_XOR16 "xor16"
/* udma's additions */
#define DMOVER_FUNC_FILL64 "fill64"
#define DMOVER_FUNC_COPY_CRC32C "copy-crc32c"
#define DMOVER_FUNC_COMPARE "compare"

typedef enum {
	DMOVER_BUF_NONE = 0,
	DMOVER_BUF_LINEAR = 1,
	DMOVER_BUF_UIO = 2,
} dmover_buffer_type;

typedef struct {
	void *l_addr;
	size_t l_len;
} dmover_buf_linear;

typedef union {
	dmover_buf_linear dmbuf_linear;
	struct uio *dmbuf_uio;
} dmover_buffer;

struct dmover_algdesc {
	const char *dad_name; /* algorithm name */
	void *dad_data;       /* opaque algorithm description */
	int dad_ninputs;      /* number of inputs */
};

struct dmover_backend;
struct dmover_session;
struct udma_session;
struct udma_req;
struct udma_engine;
struct udma_work;
struct dmover_chunk;

struct dmover_assignment {
	struct dmover_backend *das_backend;
	const struct dmover_algdesc *das_algdesc;
};

struct dmover_request {
	TAILQ_ENTRY(dmover_request) dreq_sesq; /* unused: sessions keep no queue here */
	TAILQ_ENTRY(dmover_request) dreq_dmbq; /* on the back-end's dmb_pendreqs */
	struct dmover_session *dreq_session;
	struct dmover_assignment *dreq_assignment;
	void (*dreq_callback)(struct dmover_request *);
	void *dreq_cookie;
	volatile int dreq_flags;
	int dreq_error;                 /* errno, valid if DMOVER_REQ_ERROR */
	uint8_t dreq_immediate[8];
	union { /* dreq_outbuf_type and dreq_outbuf.dreq_outbuf_type are the same field */
		dmover_buffer_type dreq_outbuf_type;
		struct {
			dmover_buffer_type dreq_outbuf_type;
			union {
				dmover_buf_linear dmbuf_linear;
				struct uio *dmbuf_uio;
			};
		} dreq_outbuf;
	};
	dmover_buffer_type dreq_inbuf_type;
	dmover_buffer *dreq_inbuf;
	/* private */
	struct udma_req *__dreq_req;      /* the udma request of a client's request */
	struct udma_work *__dreq_work;    /* the udma work a back-end's request stands for */
	struct dmover_assignment __dreq_assignment;
	dmover_buffer __dreq_inbufs[16];
	struct uio __dreq_uio[17];
	struct dmover_request *__dreq_next;
};

#define DMOVER_REQ_DONE 0x00000001    /* request is completed */
#define DMOVER_REQ_ERROR 0x00000002   /* error occurred */
#define DMOVER_REQ_RUNNING 0x00000004 /* request is being executed */
#define DMOVER_REQ_WAIT 0x00000008    /* wait for completion */

struct dmover_session {
	void *dses_cookie; /* for the client */
	int dses_ninputs;  /* number of inputs for function */
	/* private */
	LIST_ENTRY(dmover_session) __dses_list;
	struct dmover_chunk *__dses_chunks; /* the request pool, newest chunk first; it grows */
	struct dmover_request *__dses_free;
	void *__dses_lock;
};

struct dmover_backend {
	TAILQ_ENTRY(dmover_backend) dmb_list;
	const char *dmb_name;          /* name of back-end */
	unsigned int dmb_speed;        /* est. KB/s throughput */
	void *dmb_cookie;              /* back-end private */
	const struct dmover_algdesc *dmb_algdescs; /* algorithms we support */
	int dmb_nalgdescs;             /* number of above */
	void (*dmb_process)(struct dmover_backend *);
	LIST_HEAD(, dmover_session) dmb_sessions; /* unused: back-ends are chosen per request */
	int dmb_nsessions;
	TAILQ_HEAD(, dmover_request) dmb_pendreqs;
	int dmb_npendreqs;
	/* private */
	struct udma_engine *__dmb_engine;
	void *__dmb_lock;
};

/* Client interface. */
UDMA_API int dmover_session_create(const char *function, struct dmover_session **sessionp);
UDMA_API void dmover_session_destroy(struct dmover_session *session);
UDMA_API struct dmover_request *dmover_request_alloc(struct dmover_session *session, dmover_buffer *inbuf);
UDMA_API void dmover_request_free(struct dmover_request *req);
UDMA_API void dmover_process(struct dmover_request *req);

/* Back-end interface. */
UDMA_API void dmover_backend_register(struct dmover_backend *backend);
UDMA_API void dmover_backend_unregister(struct dmover_backend *backend);
UDMA_API void dmover_done(struct dmover_request *req);

#ifdef __cplusplus
}
#endif
#endif
