/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libfabric, loaded on first use. libudma does not link it: loading it
 * loads its providers' libraries, and psm's (libpsm_infinipath) installs
 * handlers for SIGSEGV, SIGBUS, SIGILL, SIGABRT, SIGINT and SIGTERM from a
 * constructor, so a program that linked libudma and never opened a fabric
 * lost its core dumps and its exit statuses. Now such a program never
 * loads libfabric, and one that opens a fabric gets its own dispositions
 * back (_udma_fab_signals_keep): providers may not change them.
 *
 * Only a few libfabric functions are real exports; fi_domain, fi_mr_reg,
 * fi_read and the rest are inline calls through the objects' ops tables,
 * which need nothing here.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fabric_internal.h"

struct _udma_fab_ofi _udma_fab_ofi;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static int load_err;
static char load_why[256];

/* The symbol versions a program built with these headers binds (meson probes
 * them, lib/meson.build); without the probe, the library's defaults. */
#ifndef UDMA_FI_VER_INFO
#define UDMA_FI_VER_INFO NULL
#endif
#ifndef UDMA_FI_VER_FABRIC
#define UDMA_FI_VER_FABRIC NULL
#endif

static void *sym(void *h, const char *name, const char *version)
{
	void *p = version ? dlvsym(h, name, version) : dlsym(h, name);
	if (!p && !load_why[0])
		snprintf(load_why, sizeof(load_why), "libfabric.so.1 has no %s%s%s", name, version ? "@" : "",
			 version ? version : "");
	return p;
}

static void load(void)
{
	void *h = dlopen("libfabric.so.1", RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		const char *e = dlerror();
		snprintf(load_why, sizeof(load_why), "%s", e ? e : "libfabric.so.1 not found");
		load_err = ELIBACC;
		return;
	}
	/* never closed: providers keep threads and handlers of their own */
	_udma_fab_ofi.getinfo = sym(h, "fi_getinfo", UDMA_FI_VER_INFO);
	_udma_fab_ofi.freeinfo = sym(h, "fi_freeinfo", UDMA_FI_VER_INFO);
	_udma_fab_ofi.dupinfo = sym(h, "fi_dupinfo", UDMA_FI_VER_INFO);
	_udma_fab_ofi.fabric = sym(h, "fi_fabric", UDMA_FI_VER_FABRIC);
	_udma_fab_ofi.strerror = sym(h, "fi_strerror", NULL);
	_udma_fab_ofi.version = sym(h, "fi_version", NULL);
	if (!_udma_fab_ofi.getinfo || !_udma_fab_ofi.freeinfo || !_udma_fab_ofi.dupinfo || !_udma_fab_ofi.fabric || !_udma_fab_ofi.strerror ||
	    !_udma_fab_ofi.version)
		load_err = ELIBACC;
}

int _udma_fab_ofi_load(void)
{
	pthread_once(&load_once, load);
	if (load_err)
		udma_env(UDMA_ENV_LIBFABRIC, "cannot load libfabric (%s): install it (Debian: libfabric1) or set "
			 "LD_LIBRARY_PATH to where libfabric.so.1 is", load_why);
	return -load_err;
}

const char *_udma_fab_strerror(int err)
{
	return _udma_fab_ofi.strerror ? _udma_fab_ofi.strerror(err) : strerror(err);
}

uint32_t udma_fabric_libfabric_version(void)
{
	struct fab_signals keep;

	_udma_fab_signals_save(&keep);
	int err = _udma_fab_ofi_load();
	_udma_fab_signals_keep(&keep);
	if (err) {
		errno = -err;
		return 0;
	}
	return _udma_fab_ofi.version();
}

/* ---- signal dispositions ------------------------------------------------------------ */

void _udma_fab_signals_save(struct fab_signals *keep)
{
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &keep->mask);
	for (int s = 1; s < NSIG; s++)
		if (sigaction(s, NULL, &keep->act[s]))
			keep->act[s].sa_handler = SIG_ERR; /* SIGKILL, SIGSTOP, libc's own: nobody changes them */
}

static int same(const struct sigaction *a, const struct sigaction *b)
{
	if (a->sa_handler != b->sa_handler || a->sa_flags != b->sa_flags)
		return 0;
	/* member by member: past the kernel's 64 bits, glibc copies stack garbage into sa_mask */
	for (int s = 1; s < NSIG; s++)
		if (sigismember(&a->sa_mask, s) != sigismember(&b->sa_mask, s))
			return 0;
	return 1;
}

void _udma_fab_signals_keep(const struct fab_signals *keep)
{
	for (int s = 1; s < NSIG; s++) {
		struct sigaction now;
		if (keep->act[s].sa_handler == SIG_ERR || sigaction(s, NULL, &now) || same(&now, &keep->act[s]))
			continue;
		udma_dbg("libfabric changed the disposition of signal %d (%s): put back", s, strsignal(s));
		sigaction(s, &keep->act[s], NULL);
	}
	pthread_sigmask(SIG_SETMASK, &keep->mask, NULL);
}
