/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * udma over a fabric: remote memory domains and a mover engine on libfabric
 * (OFI). udma invents no protocol: the tcp provider (with ofi_rxm for
 * reliable datagram endpoints) runs anywhere; verbs, efa and cxi drive RDMA
 * NICs through the same calls (docs/fabric.md).
 *
 * A fabric (struct udma_fabric) is one libfabric fabric, domain, endpoint,
 * address vector and completion queue. It is separate from udma domains:
 *
 *   exporter:  udma_fabric_export(fab, va, len, rights, &desc)
 *              registers local memory with the given remote access rights;
 *              the descriptor (endpoint address, remote address, length,
 *              key, rights, version) travels to the peer out of band, as a
 *              short string (udma_fabric_desc_encode) or bytes (pack).
 *   importer:  udma_fabric_import(fab, &desc, id) gives a domain of kind
 *              UDMA_KIND_REMOTE (device type UDMA_DEV_RDMA) whose address
 *              space is the remote region: iov_base is a byte offset in the
 *              region (0 .. len), as in shared-memory domains. pull is
 *              fi_read, push and memzero are fi_write, transfer writes from
 *              any domain with a local view (or stages through local memory).
 *
 * Every access is checked against the descriptor before it is posted
 * (-ERANGE outside the region, -EACCES without the right), and the peer's
 * provider checks key, range and rights again: a forged descriptor gets an
 * error completion (-EREMOTEIO on tcp, -EACCES where the provider says so)
 * and the remote memory stays untouched.
 *
 * Completion: with a progress thread (the default), domain operations given
 * a callback complete asynchronously: they return 0 and the callback runs
 * later on the progress thread (with a negative errno on failure). Without
 * a callback, or with UDMA_FABRIC_MANUAL_PROGRESS, they complete before
 * returning, driving the completion queue themselves (polling, then asleep
 * if the peer is slow; meanwhile the progress thread stands down). The
 * completions such a caller reads for asynchronous operations still have
 * their callbacks run on the progress thread. Every wait is bounded:
 * an operation not completed within the fabric's timeout fails with
 * -ETIMEDOUT; a peer that goes away fails operations with -ECONNRESET
 * (after a short grace in which broken connections are re-established).
 *
 * Progress: libfabric's tcp provider progresses manually, on both sides: an
 * exporter must run a progress thread or call udma_fabric_progress() (or,
 * to sleep when idle, udma_fabric_progress_wait()) for peers' reads and
 * writes to be served.
 *
 * Thread safety: every function may be called from any thread.
 */
#ifndef UDMA_FABRIC_H
#define UDMA_FABRIC_H

#include <udma/core.h>
#include <udma/domain.h>

#ifdef __cplusplus
extern "C" {
#endif

struct udma_fabric;
struct udma_engine;

/* Fabric flags. */
#define UDMA_FABRIC_MANUAL_PROGRESS 0x1u /* no progress thread: udma_fabric_progress() (a POLL-mode mover session calls it) */
#define UDMA_FABRIC_REG_LOCAL 0x2u       /* register local buffers even where the provider does not ask for it */

struct udma_fabric_opts {
	size_t size;          /* sizeof(struct udma_fabric_opts) */
	/* libfabric provider, e.g. "tcp;ofi_rxm", "verbs;ofi_rxm", "efa", "cxi".
	 * NULL: any provider FI_PROVIDER allows if that is set, else "tcp;ofi_rxm". */
	const char *provider;
	/* Local address to bind (an IP for tcp and verbs). NULL: "127.0.0.1" for
	 * the default tcp provider, else the provider's first interface. */
	const char *node;
	const char *service;  /* port; NULL: chosen by the kernel */
	uint32_t flags;       /* UDMA_FABRIC_* */
	uint32_t timeout_ms;  /* bound on every operation; 0 = 10000 */
	uint32_t depth;       /* RMA operations on the wire at once; 0 = 256 (at most the provider's queue) */
};

/*
 * Open a fabric. NULL opts: all defaults. NULL + errno: EINVAL (bad opts,
 * unknown flags), ELIBACC (libfabric cannot be loaded; why:
 * udma_strerror_last()), ENODEV (no such provider, or it lacks RMA),
 * ENOTSUP (the provider needs something udma does not do, e.g. raw keys),
 * ENOMEM, or the provider's error. The first open loads libfabric, keeping
 * the program's signal dispositions (udma_fabric_libfabric_version).
 */
UDMA_API struct udma_fabric *udma_fabric_open(const struct udma_fabric_opts *opts);
/*
 * Close a fabric: its exports are withdrawn. -EBUSY (and nothing changes)
 * while domains imported through it exist, its engine is registered or
 * operations are in flight; -EINVAL for NULL or a fabric already closed
 * (checked against the open fabrics; every other call on a closed fabric
 * is undefined).
 */
UDMA_API int udma_fabric_close(struct udma_fabric *fab);
/* The provider in use, e.g. "tcp;ofi_rxm". */
UDMA_API const char *udma_fabric_provider(const struct udma_fabric *fab);
/*
 * Make progress: read completions (running their callbacks in this
 * thread; on a fabric with a progress thread, the callbacks of asynchronous
 * operations run there), post queued operations, serve peers, expire timed-out
 * operations. Returns completions handled (>= 0) or a negative errno.
 * Never blocks; a loop of it spins a CPU. max 0: no limit.
 */
UDMA_API int udma_fabric_progress(struct udma_fabric *fab, unsigned max);
/*
 * The same, but when nothing is ready, sleep up to timeout_ms (>= 0) in the
 * provider's wait, which wakes on its sockets' events: an idle server then
 * costs no CPU, and tcp and rxm handle connection requests there, so idle
 * connections do not starve honest ones as they do a polling server. The
 * loop of a server with UDMA_FABRIC_MANUAL_PROGRESS. Returns as
 * udma_fabric_progress; -EINVAL for NULL or a negative timeout.
 */
UDMA_API int udma_fabric_progress_wait(struct udma_fabric *fab, unsigned max, int timeout_ms);

/* ---- descriptors ----------------------------------------------------- */

#define UDMA_FABRIC_READ 0x1u  /* peers may read the region (fi_read) */
#define UDMA_FABRIC_WRITE 0x2u /* peers may write it (fi_write) */

#define UDMA_FABRIC_DESC_VERSION 1
#define UDMA_FABRIC_ADDR_MAX 56      /* bytes of endpoint address */
#define UDMA_FABRIC_DESC_BYTES_MAX 92 /* packed size with the longest address */
#define UDMA_FABRIC_DESC_STR_MAX 136  /* string size with the longest address, with its NUL */

/* An exported region, as a peer needs it. */
struct udma_fabric_desc {
	uint32_t version;     /* UDMA_FABRIC_DESC_VERSION */
	uint32_t rights;      /* UDMA_FABRIC_READ | UDMA_FABRIC_WRITE */
	uint32_t addr_format; /* libfabric's address format (FI_SOCKADDR_IN, ...) */
	uint32_t addr_len;    /* bytes of addr in use: 1..UDMA_FABRIC_ADDR_MAX */
	uint64_t base;        /* remote address of the region's first byte, as the
	                       * provider takes it: the VA with FI_MR_VIRT_ADDR, else 0 */
	uint64_t len;         /* bytes; base + len does not wrap */
	uint64_t key;         /* the registration's remote key */
	uint8_t addr[UDMA_FABRIC_ADDR_MAX];
};

/*
 * Check a descriptor: version, rights bits, address length, a nonzero
 * length, base + len without wrap. 0, or -EINVAL / -EPROTONOSUPPORT
 * (unknown version) / -EOVERFLOW (base + len wraps).
 */
UDMA_API int udma_fabric_desc_validate(const struct udma_fabric_desc *d);
/*
 * Serialise: "udma1:" + base64url (no padding) of the packed bytes. Returns
 * the string length, or -EINVAL (bad descriptor, NULL) / -ENOSPC (buf
 * too small: UDMA_FABRIC_DESC_STR_MAX always suffices).
 */
UDMA_API int udma_fabric_desc_encode(const struct udma_fabric_desc *d, char *buf, size_t buflen);
/*
 * Parse and validate a string from udma_fabric_desc_encode (surrounding
 * white space allowed). 0, or -EINVAL (not a descriptor, bad base64, bad
 * length or fields), -EPROTONOSUPPORT (other version), -EBADMSG (checksum
 * mismatch), -EOVERFLOW (base + len wraps).
 */
UDMA_API int udma_fabric_desc_decode(const char *s, struct udma_fabric_desc *d);
/*
 * Fixed little-endian layout: version u8, rights u8, addr_len u8, 0 u8,
 * addr_format u32, base u64, len u64, key u64, addr[addr_len], CRC-32C u32
 * of all that precedes it. pack returns the byte count (36 + addr_len) or a
 * negative errno; unpack validates as decode does.
 */
UDMA_API int udma_fabric_desc_pack(const struct udma_fabric_desc *d, void *buf, size_t buflen);
UDMA_API int udma_fabric_desc_unpack(const void *buf, size_t len, struct udma_fabric_desc *d);

/*
 * libfabric is loaded on the first udma_fabric_open (or this call), not
 * when libudma is: a program that never opens a fabric never loads it.
 * Loading keeps the program's signal dispositions (providers such as psm
 * install handlers; udma puts back what they change). Returns fi_version()
 * of the library loaded, or 0 with errno ELIBACC where it cannot be loaded
 * (the reason: udma_strerror_last()).
 */
UDMA_API uint32_t udma_fabric_libfabric_version(void);

/* ---- export and import ------------------------------------------------ */

/*
 * Register [va, va + len) for remote access with rights (READ, WRITE or
 * both) and describe it. The key is random where the provider lets udma
 * choose it (getrandom), the provider's otherwise. Every page of the range
 * must be mapped, readable, and writable for WRITE: peers' accesses run in
 * this process, and a hole would crash it. The memory must stay so until
 * udma_fabric_unexport or udma_fabric_close. Exports may overlap. 0, or
 * -EINVAL (NULL, zero length, wrap, bad rights), -EFAULT (not all mapped),
 * -EACCES (not readable, or not writable with WRITE), -ENOMEM, -ENOTSUP,
 * or the provider's error.
 */
UDMA_API int udma_fabric_export(struct udma_fabric *fab, void *va, size_t len, uint32_t rights,
				struct udma_fabric_desc *desc);
/* Withdraw an export (found by its key). Peers' later accesses fail.
 * 0, -EINVAL (NULL), -ENOENT (no such export). */
UDMA_API int udma_fabric_unexport(struct udma_fabric *fab, const struct udma_fabric_desc *desc);

/*
 * A domain for a peer's exported region (id: NULL gives "remote-<key>").
 * Kind UDMA_KIND_REMOTE, device type UDMA_DEV_RDMA; addresses are offsets
 * in the region. Operations are fixed (setters: -EPERM). The domain holds
 * the fabric: udma_fabric_close is -EBUSY until udma_domain_destroy.
 * NULL + errno: EINVAL (bad descriptor or id), EPROTO (the address is of
 * another format than this fabric's), ENOMEM, or the provider's error.
 * Nothing is sent until the first operation.
 */
UDMA_API struct udma_domain *udma_fabric_import(struct udma_fabric *fab, const struct udma_fabric_desc *desc,
						const char *id);
/* The descriptor a remote domain was imported from. 0 or -EINVAL. */
UDMA_API int udma_fabric_remote_desc(struct udma_domain *d, struct udma_fabric_desc *desc);

/*
 * Translation (udma_domain_translate) gives SPDK's RDMA view:
 *   remote -> remote   an offset in the region becomes the remote address
 *                      the wire uses (iov.iov_base = base + offset) and the
 *                      region's key (result.key);
 *   system -> remote   a local VA inside a region this process exported
 *                      on the remote domain's fabric becomes the remote
 *                      address a peer uses for it, and that export's key
 *                      (-EFAULT if no export covers the range).
 */

/* ---- the mover engine ---------------------------------------------------- */

struct udma_fabric_engine_opts {
	size_t size;       /* sizeof(struct udma_fabric_engine_opts) */
	const char *name;  /* NULL = "fabric" */
	uint64_t speed;    /* declared bytes/s; 0 = 2 GB/s (learned speeds refine it) */
};

/*
 * Register a mover engine on fab. It performs copy, zero, fill8 and fill64
 * between local buffers and remote domains of this fabric, which it takes
 * in their own addresses (accepts()): local -> remote is fi_write, remote ->
 * local fi_read, remote -> remote stages through local memory, zero/fill on
 * remote memory push from a local pattern buffer. Works are split into RMA
 * operations of at most 8 MiB; at most the fabric's depth are on the wire,
 * the rest wait in order. Completions come from the progress thread, or
 * from udma_session_poll() with UDMA_FABRIC_MANUAL_PROGRESS (use POLL-mode
 * sessions then). Unregister it with udma_engine_unregister().
 * NULL + errno: EINVAL, EBUSY (fab already has an engine), EEXIST, ENOMEM.
 */
UDMA_API struct udma_engine *udma_fabric_engine_create(struct udma_fabric *fab,
						       const struct udma_fabric_engine_opts *opts);

#ifdef __cplusplus
}
#endif
#endif
