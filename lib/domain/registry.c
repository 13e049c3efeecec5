/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The registry of domains: creation of custom domains, reference counts,
 * iteration filtered by id, destruction, and the system domain.
 *
 * One mutex guards the list; each domain's refs is atomic. A destroyed
 * domain is marked dead and dropped from iteration at once, but stays
 * linked (so an iterator holding it can still step past it) until its last
 * reference is put.
 */
#include <stdlib.h>
#include <string.h>

#include "domain_internal.h"

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct udma_domain *reg_head, *reg_tail;
static struct udma_domain system_domain;

static int type_valid(enum udma_dev_type t)
{
	return t == UDMA_DEV_RDMA || t == UDMA_DEV_DMA || t == UDMA_DEV_ACCEL ||
	       (t >= UDMA_DEV_VENDOR_START && t <= UDMA_DEV_VENDOR_END);
}

int _udma_domain_init(struct udma_domain *d, enum udma_domain_kind kind, enum udma_dev_type type, const char *id)
{
	if (!id || !*id)
		return udma_fail(EINVAL, "domain id is %s", id ? "empty" : "NULL");
	if (strnlen(id, UDMA_DOMAIN_ID_MAX + 1) > UDMA_DOMAIN_ID_MAX)
		return udma_fail(EINVAL, "domain id longer than %d bytes", UDMA_DOMAIN_ID_MAX);
	if (!type_valid(type))
		return udma_fail(EINVAL, "unknown DMA device type %d", (int)type);
	d->kind = kind;
	d->dev_type = type;
	strcpy(d->id, id);
	d->dev.vfio_fd = -1;
	d->shm.fd = -1;
	pthread_mutex_init(&d->lock, NULL);
	return 0;
}

void _udma_domain_publish(struct udma_domain *d)
{
	d->refs = 1;
	pthread_mutex_lock(&reg_lock);
	d->prev = reg_tail;
	d->next = NULL;
	if (reg_tail)
		reg_tail->next = d;
	else
		reg_head = d;
	reg_tail = d;
	pthread_mutex_unlock(&reg_lock);
	udma_dbg("domain %s (kind %d, type %d) created", d->id, (int)d->kind, (int)d->dev_type);
}

void _udma_domain_free(struct udma_domain *d)
{
	switch (d->kind) {
	case UDMA_KIND_DEVICE:
		device_fini(d);
		break;
	case UDMA_KIND_SHM:
		shm_fini(d);
		break;
	case UDMA_KIND_REMOTE:
		if (d->remote_fini)
			d->remote_fini(d);
		break;
	default:
		break;
	}
	free(d->ctx);
	free(d->user_ctx);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

/* ---- references and iteration -------------------------------------------- */

struct udma_domain *udma_domain_get(struct udma_domain *d)
{
	if (d) /* relaxed: the caller already holds a reference, so d cannot go */
		__atomic_fetch_add(&d->refs, 1, __ATOMIC_RELAXED);
	return d;
}

void udma_domain_put(struct udma_domain *d)
{
	if (!d || d == &system_domain)
		return;
	/* Fast path: not the last reference. */
	unsigned r = __atomic_load_n(&d->refs, __ATOMIC_RELAXED);
	while (r > 1)
		if (__atomic_compare_exchange_n(&d->refs, &r, r - 1, 1, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
			return;
	/* Perhaps the last: drop it under the registry lock, so that iteration
	 * (which takes references under the same lock) never finds a domain
	 * whose count reached zero. */
	pthread_mutex_lock(&reg_lock);
	if (__atomic_sub_fetch(&d->refs, 1, __ATOMIC_ACQ_REL)) {
		pthread_mutex_unlock(&reg_lock);
		return;
	}
	if (d->prev)
		d->prev->next = d->next;
	else
		reg_head = d->next;
	if (d->next)
		d->next->prev = d->prev;
	else
		reg_tail = d->prev;
	pthread_mutex_unlock(&reg_lock);
	udma_dbg("domain %s freed", d->id);
	_udma_domain_free(d);
}

/* First live domain from d on whose id matches; takes a reference. Under reg_lock. */
static struct udma_domain *scan(struct udma_domain *d, const char *id)
{
	for (; d; d = d->next) {
		if (__atomic_load_n(&d->dead, __ATOMIC_ACQUIRE) || (id && strcmp(d->id, id)))
			continue;
		udma_domain_get(d);
		return d;
	}
	return NULL;
}

struct udma_domain *udma_domain_first(const char *id)
{
	pthread_mutex_lock(&reg_lock);
	struct udma_domain *d = scan(reg_head, id);
	pthread_mutex_unlock(&reg_lock);
	return d;
}

struct udma_domain *udma_domain_next(struct udma_domain *prev, const char *id)
{
	if (!prev)
		return udma_fail_null(EINVAL, "NULL previous domain");
	pthread_mutex_lock(&reg_lock);
	struct udma_domain *d = scan(prev->next, id); /* prev is still linked: we hold it */
	pthread_mutex_unlock(&reg_lock);
	udma_domain_put(prev);
	return d;
}

int udma_domain_destroy(struct udma_domain *d)
{
	if (!d)
		return udma_fail(EINVAL, "NULL domain");
	if (d == &system_domain)
		return udma_fail(EPERM, "the system domain cannot be destroyed");
	if (__atomic_load_n(&d->dead, __ATOMIC_ACQUIRE))
		return udma_fail(EINVAL, "domain %s was already destroyed", d->id);
	if (d->kind == UDMA_KIND_DEVICE) {
		int err = device_retire(d);
		if (err == -EALREADY)
			return udma_fail(EINVAL, "domain %s was already destroyed", d->id);
		if (err)
			return udma_fail(EBUSY, "domain %s still has memory allocated, registered or mapped", d->id);
	} else if (__atomic_exchange_n(&d->dead, 1, __ATOMIC_ACQ_REL)) {
		return udma_fail(EINVAL, "domain %s was already destroyed", d->id);
	}
	udma_domain_put(d); /* the creator's reference */
	return 0;
}

/* ---- custom domains -------------------------------------------------------- */

int udma_domain_create(struct udma_domain **out, const struct udma_domain_opts *uo)
{
	struct udma_domain_opts o = { 0 };
	struct udma_domain *d;
	int err;

	if (!out || !uo)
		return udma_fail(EINVAL, "NULL result or options");
	if (uo->size < offsetof(struct udma_domain_opts, id) + sizeof(char *))
		return udma_fail(EINVAL, "opts->size %zu too small", uo->size);
	memcpy(&o, uo, uo->size < sizeof(o) ? uo->size : sizeof(o));
	if (o.ctx && (!o.ctx->size || (o.ctx->user_ctx_size && !o.ctx->user_ctx)))
		return udma_fail(EINVAL, "context size is 0, or user_ctx NULL with a size");
	if (o.ops && o.ops->size < sizeof(size_t))
		return udma_fail(EINVAL, "ops->size %zu too small", o.ops->size);

	d = calloc(1, sizeof(*d));
	if (!d)
		return udma_fail(ENOMEM, "out of memory");
	err = _udma_domain_init(d, UDMA_KIND_CUSTOM, o.dev_type, o.id);
	if (err) {
		free(d);
		return err;
	}
	if (o.ctx) {
		size_t n = o.ctx->size < sizeof(*d->ctx) ? o.ctx->size : sizeof(*d->ctx);
		d->ctx = calloc(1, sizeof(*d->ctx));
		if (!d->ctx)
			goto nomem;
		memcpy(d->ctx, o.ctx, n);
		d->ctx->size = n;
		/* user_ctx_size is read only if the caller's struct has it */
		if (n >= offsetof(struct udma_domain_ctx, user_ctx_size) + sizeof(size_t) && o.ctx->user_ctx_size) {
			d->user_ctx = malloc(o.ctx->user_ctx_size);
			if (!d->user_ctx)
				goto nomem;
			memcpy(d->user_ctx, o.ctx->user_ctx, o.ctx->user_ctx_size);
			d->user_ctx_size = o.ctx->user_ctx_size;
		}
	}
	if (o.ops)
		memcpy(&d->ops, o.ops, o.ops->size < sizeof(d->ops) ? o.ops->size : sizeof(d->ops));
	d->ops.size = sizeof(d->ops);
	_udma_domain_publish(d);
	*out = d;
	return 0;
nomem:
	_udma_domain_free(d);
	return udma_fail(ENOMEM, "out of memory");
}

#define SETTER(name, field, type)                                                              \
	int udma_domain_set_##name(struct udma_domain *d, type fn)                            \
	{                                                                                      \
		if (!d)                                                                        \
			return udma_fail(EINVAL, "NULL domain");                               \
		if (d->builtin)                                                                \
			return udma_fail(EPERM, "the operations of built-in domain %s are fixed", d->id); \
		/* release: a thread that loads the new pointer sees what it needs */         \
		__atomic_store_n(&d->ops.field, fn, __ATOMIC_RELEASE);                        \
		return 0;                                                                      \
	}
SETTER(translate, translate, udma_translate_fn)
SETTER(pull, pull, udma_pull_fn)
SETTER(push, push, udma_push_fn)
SETTER(transfer, transfer, udma_transfer_fn)
SETTER(memzero, memzero, udma_memzero_fn)
SETTER(invalidate, invalidate, udma_invalidate_fn)

/* ---- getters ---------------------------------------------------------------- */

const char *udma_domain_id(const struct udma_domain *d)
{
	return d ? d->id : NULL;
}

enum udma_dev_type udma_domain_dev_type(const struct udma_domain *d)
{
	return d ? d->dev_type : UDMA_DEV_DMA;
}

enum udma_domain_kind udma_domain_kind(const struct udma_domain *d)
{
	return d ? d->kind : UDMA_KIND_CUSTOM;
}

struct udma_domain_ctx *udma_domain_ctx(struct udma_domain *d)
{
	return d ? d->ctx : NULL;
}

void *udma_domain_user_ctx(struct udma_domain *d, size_t *size)
{
	if (!d || !size || !d->user_ctx_size)
		return NULL;
	*size = d->user_ctx_size;
	return d->user_ctx;
}

/* ---- the system domain --------------------------------------------------- */

struct udma_domain *udma_system_domain(void)
{
	return &system_domain;
}

/* Exists from load and comes first in iteration. Never freed (refs never reach 0). */
__attribute__((constructor)) static void system_domain_init(void)
{
	_udma_domain_init(&system_domain, UDMA_KIND_SYSTEM, UDMA_DEV_DMA, "system");
	system_domain.ops = _udma_builtin_ops;
	system_domain.builtin = 1;
	_udma_domain_publish(&system_domain);
}
