/*
 * Shared DMA memory between real processes: the exported memfd crosses a
 * Unix socket (SCM_RIGHTS); the peer maps it, registers it in its own
 * domain and writes through it. In PA mode both processes see the same
 * physical pages; in IOMMU mode each has IOVAs of its own.
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common.h"
#include "fd_pass.h"

#define SZ (64 * 4096ul)

/* The peer: map, register, write a pattern, report the device address of page 5. */
static int peer(int sock, enum udma_addr_mode mode)
{
	int fd = recv_fd(sock);
	struct udma_domain *d = test_domain(mode);
	struct stat st;
	/* map the whole file: it may be hugepage-backed, so larger than SZ */
	char *p = fd >= 0 && !fstat(fd, &st) ? mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) : MAP_FAILED;
	struct udma_mem m;
	if (!d || p == MAP_FAILED || udma_mem_register(d, p, SZ, &m))
		return 1;
	for (size_t i = 0; i < SZ; i++)
		p[i] = (char)(i * 7 + 1);
	uint64_t io = udma_va_to_iova(d, p + 5 * 4096, NULL);
	if (write(sock, &io, sizeof(io)) != sizeof(io))
		return 2;
	udma_mem_unregister(d, p, SZ);
	return udma_domain_destroy(d) ? 3 : 0;
}

static void share_with_peer(enum udma_addr_mode mode)
{
	struct udma_domain *d = test_domain(mode);
	struct udma_mem_opts o = { .size = sizeof(o), .flags = UDMA_MEM_SHARED };
	struct udma_mem m;
	int sv[2];

	assert_non_null(d);
	assert_int_equal(udma_mem_alloc(d, SZ, &o, &m), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pid_t pid = fork();
	if (!pid) {
		close(sv[0]);
		_exit(peer(sv[1], mode));
	}
	close(sv[1]);
	assert_int_equal(send_fd(sv[0], m.fd), 0);
	uint64_t peer_io = 0;
	assert_int_equal(read(sv[0], &peer_io, sizeof(peer_io)), sizeof(peer_io));
	int st;
	waitpid(pid, &st, 0);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	for (size_t i = 0; i < SZ; i++) /* every byte the peer wrote is here */
		if (((char *)m.va)[i] != (char)(i * 7 + 1))
			fail_msg("byte %zu differs", i);
	uint64_t mine = udma_va_to_iova(d, (char *)m.va + 5 * 4096, NULL);
	if (mode == UDMA_ADDR_PA)
		assert_int_equal(peer_io, mine); /* the same physical page */
	close(sv[0]);
	assert_int_equal(udma_mem_free(d, m.va, m.len), 0);
	assert_int_equal(udma_domain_destroy(d), 0);
}

static void test_shared_va(void **state) { share_with_peer(UDMA_ADDR_VA); }
static void test_shared_iommu(void **state) { share_with_peer(UDMA_ADDR_IOMMU); }
static void test_shared_pa(void **state)
{
	if (!pa_available())
		skip_because("PA mode needs CAP_SYS_ADMIN");
	share_with_peer(UDMA_ADDR_PA);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shared_va),
		cmocka_unit_test(test_shared_iommu),
		cmocka_unit_test(test_shared_pa),
	};
	return tests_run(tests, NULL, NULL);
}
