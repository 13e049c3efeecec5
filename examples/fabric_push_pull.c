/*
 * Push and pull between two processes over libfabric (tcp on 127.0.0.1):
 * the exporter registers a buffer for remote reads and writes and sends
 * its descriptor (a short string) to the importer, which turns it into a
 * remote domain and writes into it (push, fi_write) and reads it back
 * (pull, fi_read). The exporter checks what arrived.
 *
 * The descriptor travels over a pipe here; between machines it would go
 * over any channel (a file, a socket, a command line). Every wait is
 * bounded (timeout_ms, alarm). Exit 77 (skipped) where libfabric or its
 * tcp provider is missing, saying why.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <udma/udma.h>

#define LEN 65536

static struct udma_fabric *open_fabric(void)
{
	struct udma_fabric_opts o = { .size = sizeof(o), .provider = "tcp;ofi_rxm", .node = "127.0.0.1",
				      .timeout_ms = 5000 };
	return udma_fabric_open(&o);
}

/* The exporter: export, send the descriptor, serve until told the peer is done. */
static int exporter(int to_peer, int from_peer)
{
	static unsigned char region[LEN];
	struct udma_fabric *fab = open_fabric();
	struct udma_fabric_desc desc;
	char str[UDMA_FABRIC_DESC_STR_MAX], done = 0;

	if (!fab || udma_fabric_export(fab, region, LEN, UDMA_FABRIC_READ | UDMA_FABRIC_WRITE, &desc))
		return 1;
	int n = udma_fabric_desc_encode(&desc, str, sizeof(str));
	if (n < 0 || write(to_peer, str, (size_t)n + 1) != n + 1)
		return 2;
	/* the fabric's progress thread (the default) serves the peer's reads and
	 * writes meanwhile; wait until the peer says it is done */
	if (read(from_peer, &done, 1) != 1)
		return 3;
	for (int i = 0; i < LEN; i++)
		if (region[i] != (unsigned char)(i * 3))
			return 4;
	return udma_fabric_close(fab) ? 5 : 0;
}

int main(void)
{
	int down[2], up[2], st;
	char str[UDMA_FABRIC_DESC_STR_MAX] = { 0 };
	struct udma_fabric_desc desc;

	alarm(30); /* bounded, whatever happens */
	struct udma_fabric *probe = open_fabric();
	if (!probe) { /* before forking: say why and skip */
		printf("SKIP: libfabric tcp unavailable: %s\n", *udma_strerror_last() ? udma_strerror_last() : strerror(errno));
		return 77;
	}
	udma_fabric_close(probe);
	if (pipe(down) || pipe(up))
		return perror("pipe"), 1;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0)
		_exit(exporter(down[1], up[0]));

	/* The importer: the descriptor, a remote domain, push then pull. */
	for (size_t got = 0; got < sizeof(str) - 1 && (!got || str[got - 1]);) {
		ssize_t n = read(down[0], str + got, 1);
		if (n <= 0)
			return fprintf(stderr, "fabric_push_pull: exporter failed\n"), 1;
		got += (size_t)n;
	}
	struct udma_fabric *fab = open_fabric();
	struct udma_domain *remote = NULL;
	if (!fab || udma_fabric_desc_decode(str, &desc) || !(remote = udma_fabric_import(fab, &desc, "peer")))
		return perror("import"), 1;
	static unsigned char out[LEN], back[LEN];
	for (int i = 0; i < LEN; i++)
		out[i] = (unsigned char)(i * 3);
	struct iovec at = { (void *)0, LEN }, src = { out, LEN }, dst = { back, LEN }; /* at: offset 0 of the region */
	int err = udma_domain_push(remote, NULL, &at, 1, &src, 1, NULL, NULL); /* no callback: completes here */
	err = err ? err : udma_domain_pull(remote, NULL, &at, 1, &dst, 1, NULL, NULL);
	int ok = !err && !memcmp(out, back, LEN);

	char done = 1;
	if (write(up[1], &done, 1) != 1 || waitpid(pid, &st, 0) != pid)
		return perror("exporter"), 1;
	printf("fabric_push_pull: %d bytes pushed and pulled over %s: %s; exporter saw them: %s\n", LEN,
	       udma_fabric_provider(fab), ok ? "same" : strerror(-err),
	       WIFEXITED(st) && !WEXITSTATUS(st) ? "yes" : "NO");
	udma_domain_destroy(remote);
	udma_fabric_close(fab);
	return ok && WIFEXITED(st) && !WEXITSTATUS(st) ? 0 : 1;
}
