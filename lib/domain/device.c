/* SPDX-License-Identifier: BSD-3-Clause */
/* Device domains: creation, destruction, address-mode discovery. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/vfio.h>

#include "../memory/os.h"
#include "domain_internal.h"

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

struct udma_domain *udma_device_domain_create(const struct udma_device_opts *uopts)
{
	struct udma_device_opts o = { .size = sizeof(o), .mode = UDMA_ADDR_VA, .vfio_container_fd = -1 };
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
		err = _udma_os_pa_probe(why, sizeof(why));
		if (err)
			return udma_fail_null(-err, "PA mode unavailable: %s", why);
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

	d = calloc(1, sizeof(*d));
	if (!d)
		return udma_fail_null(ENOMEM, "out of memory");
	err = _udma_domain_init(d, UDMA_KIND_DEVICE, UDMA_DEV_DMA, name);
	if (err) {
		free(d);
		return udma_fail_null(-err, "bad domain name");
	}
	d->dev.mode = o.mode;
	d->dev.vfio_fd = o.mode == UDMA_ADDR_IOMMU ? o.vfio_container_fd : -1;
	d->ops = _udma_builtin_ops;
	d->builtin = 1;
	err = _udma_xmap_init(&d->dev.fwd);
	if (!err)
		err = _udma_xmap_init(&d->dev.rev);
	if (!err && o.mode == UDMA_ADDR_IOMMU)
		err = _udma_iova_space_init(&d->dev.iova, o.iova_base, o.iova_size);
	if (err) {
		_udma_domain_free(d);
		return udma_fail_null(-err, "cannot set up translation tables");
	}
	_udma_domain_publish(d);
	return d;
}

int device_retire(struct udma_domain *d)
{
	int busy;

	pthread_mutex_lock(&d->lock);
	busy = d->dead ? -EALREADY : d->dev.regions.n || d->dev.streams.n ? -EBUSY : 0;
	if (!busy) /* under the lock: no allocation can slip in after the check */
		__atomic_store_n(&d->dead, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&d->lock);
	return busy;
}

void device_fini(struct udma_domain *d)
{
	_udma_xmap_fini(&d->dev.fwd);
	_udma_xmap_fini(&d->dev.rev);
	_udma_iova_space_fini(&d->dev.iova);
	_udma_region_set_fini(&d->dev.regions);
	_udma_stream_set_fini(&d->dev.streams);
	_udma_page_refs_fini(&d->dev.stream_pages);
}

enum udma_addr_mode udma_domain_mode(const struct udma_domain *d)
{
	return d && d->kind == UDMA_KIND_DEVICE ? d->dev.mode : UDMA_ADDR_VA;
}
