/* SPDX-License-Identifier: BSD-3-Clause */
/* Device domains: the kind's table, creation, destruction, address-mode discovery. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/vfio.h>
#include <udma/memory.h>

#include "device.h"
#include "os.h"

static const char *const mode_names[] = { "va", "pa", "iommu" };

const char *udma_mode_name(enum udma_addr_mode mode)
{
	return (unsigned)mode < 3 ? mode_names[mode] : NULL;
}

int udma_mode_probe(enum udma_addr_mode mode, char *why, size_t whylen)
{
	switch (mode) {
	case UDMA_ADDR_VA:
		if (why && whylen)
			snprintf(why, whylen, "available (device address = virtual address)");
		return 0;
	case UDMA_ADDR_PA:
		return _udma_os_pa_probe(why, whylen);
	case UDMA_ADDR_IOMMU: {
		int fd = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
		int type1 = fd >= 0 && ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU) > 0;
		if (fd >= 0)
			close(fd);
		if (why && whylen)
			snprintf(why, whylen, type1 ? "available (VFIO type1 present; emulated without a container)"
						    : "available, emulated (no /dev/vfio/vfio with type1 here)");
		return 0;
	}
	}
	if (why && whylen)
		snprintf(why, whylen, "unknown mode %d", (int)mode);
	return -EINVAL;
}

/* -EBUSY while memory is in the domain, -EALREADY if dead, else marks it
 * dead under its lock so nothing new gets in. */
static int device_retire(struct udma_domain *d)
{
	int busy;

	pthread_mutex_lock(&d->lock);
	busy = d->dead ? -EALREADY : dev_of(d)->regions.n || dev_of(d)->streams.n ? -EBUSY : 0;
	if (!busy) /* under the lock: no allocation can slip in after the check */
		__atomic_store_n(&d->dead, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&d->lock);
	return busy;
}

static void device_fini(struct udma_domain *d)
{
	struct device_state *s = dev_of(d);
	_udma_xmap_fini(&s->fwd);
	_udma_xmap_fini(&s->rev);
	_udma_iova_space_fini(&s->iova);
	_udma_region_set_fini(&s->regions);
	_udma_stream_set_fini(&s->streams);
	_udma_page_refs_fini(&s->stream_pages);
}

/* Device addresses -> this process's VAs (a device range may be several pieces). */
static int device_view(struct udma_domain *d, const struct iovec *iov, uint32_t cnt, int write, struct iovbuf *out)
{
	int err = 0;

	for (uint32_t i = 0; i < cnt && !err; i++) {
		uint64_t a = (uintptr_t)iov[i].iov_base;
		size_t len = iov[i].iov_len;
		while (len && !err) {
			size_t piece = len;
			void *va = udma_iova_to_va(d, a, &piece);
			if (!va)
				return udma_fail(EFAULT, "device address 0x%llx is not mapped in %s",
						 (unsigned long long)a, d->id);
			err = _udma_iovbuf_push(out, va, piece);
			a += piece, len -= piece;
		}
	}
	return err;
}

/* VA pieces -> device addresses, split where they are discontiguous. */
static int device_from_local(struct udma_domain *d, const struct iovbuf *l, struct iovbuf *out)
{
	int err = 0;

	for (size_t i = 0; i < l->n && !err; i++) {
		uint64_t va = (uintptr_t)l->v[i].iov_base;
		size_t len = l->v[i].iov_len;
		while (len && !err) {
			size_t piece = len;
			uint64_t io = udma_va_to_iova(d, (void *)(uintptr_t)va, &piece);
			if (io == UDMA_BAD_IOVA)
				return udma_fail(EFAULT, "%p is not registered in %s", (void *)(uintptr_t)va, d->id);
			err = _udma_iovbuf_push(out, (void *)(uintptr_t)io, piece);
			va += piece, len -= piece;
		}
	}
	return err;
}

const struct domain_kind _udma_device_kind = {
	.kind = UDMA_KIND_DEVICE,
	.ops = &_udma_builtin_ops,
	.local_view = device_view,
	.from_local = device_from_local,
	.retire = device_retire,
	.fini = device_fini,
};

struct udma_domain *udma_device_domain_create(const struct udma_device_opts *uopts)
{
	struct udma_device_opts o = { .size = sizeof(o), .mode = UDMA_ADDR_VA, .vfio_container_fd = -1 };
	struct device_domain *dd;
	struct udma_domain *d;
	char why[128], name[64];
	int err;

	if (uopts) {
		if (uopts->size < offsetof(struct udma_device_opts, mode) + sizeof(o.mode))
			return udma_fail_null(EINVAL, "opts->size %zu too small", uopts->size);
		memcpy(&o, uopts, uopts->size < sizeof(o) ? uopts->size : sizeof(o));
		if (uopts->size < offsetof(struct udma_device_opts, vfio_container_fd) + sizeof(int))
			o.vfio_container_fd = -1;
	}
	if (!udma_mode_name(o.mode))
		return udma_fail_null(EINVAL, "unknown address mode %d", (int)o.mode);
	if (o.name && strlen(o.name) >= sizeof(name))
		return udma_fail_null(EINVAL, "name longer than %zu bytes", sizeof(name) - 1);
	if (o.mode != UDMA_ADDR_IOMMU && (o.vfio_container_fd >= 0 || o.iova_base || o.iova_size))
		return udma_fail_null(EINVAL, "IOVA window and VFIO container apply to IOMMU mode only");
	if (o.mode == UDMA_ADDR_PA) {
		udma_env_clear();
		err = _udma_os_pa_probe(why, sizeof(why));
		if (err) {
			udma_env(UDMA_ENV_PAGEMAP, "PA mode unavailable: %s; run with CAP_SYS_ADMIN, or use VA or IOMMU mode", why);
			return udma_fail_null(-err, "PA mode unavailable: %s", why);
		}
	}
	if (!o.iova_base && !o.iova_size) {
		o.iova_base = UDMA_IOVA_DEFAULT_BASE;
		o.iova_size = UDMA_IOVA_DEFAULT_SIZE;
	}
	if (o.mode == UDMA_ADDR_IOMMU &&
	    (!o.iova_size || ((o.iova_base | o.iova_size) & 4095) || o.iova_base + o.iova_size < o.iova_base ||
	     o.iova_base + o.iova_size > (1ull << XMAP_KEY_BITS) || !o.iova_base))
		return udma_fail_null(EINVAL, "bad IOVA window base 0x%llx size 0x%llx (page aligned, nonzero base, below 2^48)",
				      (unsigned long long)o.iova_base, (unsigned long long)o.iova_size);
	snprintf(name, sizeof(name), "%s", o.name ? o.name : "");
	if (!o.name)
		snprintf(name, sizeof(name), "dev-%s", udma_mode_name(o.mode));

	dd = calloc(1, sizeof(*dd));
	if (!dd)
		return udma_fail_null(ENOMEM, "out of memory");
	d = &dd->d;
	err = _udma_domain_init(d, &_udma_device_kind, UDMA_DEV_DMA, name);
	if (err) {
		free(dd);
		return udma_fail_null(-err, "bad domain name");
	}
	dd->dev.mode = o.mode;
	dd->dev.vfio_fd = o.mode == UDMA_ADDR_IOMMU ? o.vfio_container_fd : -1;
	err = _udma_xmap_init(&dev_of(d)->fwd);
	if (!err)
		err = _udma_xmap_init(&dev_of(d)->rev);
	if (!err && o.mode == UDMA_ADDR_IOMMU)
		err = _udma_iova_space_init(&dev_of(d)->iova, o.iova_base, o.iova_size);
	if (err) {
		_udma_domain_free(d);
		return udma_fail_null(-err, "cannot set up translation tables");
	}
	if (_udma_domain_publish(d)) {
		_udma_domain_free(d);
		errno = ENOMEM;
		return NULL;
	}
	return d;
}

enum udma_addr_mode udma_domain_mode(const struct udma_domain *d)
{
	return is_device(d) ? dev_of(d)->mode : UDMA_ADDR_VA;
}
