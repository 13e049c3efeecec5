/* SPDX-License-Identifier: BSD-3-Clause */
/* `udma perf --plot`: GB/s against size per engine and peer, drawn by gnuplot (perf.h). */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "perf.h"

int perf_plot_check(const char *file, char *why, size_t len)
{
	char dir[PATH_MAX];
	const char *dot = strrchr(file, '.');

	if (!dot || (strcmp(dot, ".png") && strcmp(dot, ".svg"))) {
		snprintf(why, len, "the file name ends in .png or .svg");
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s", file);
	/* the script FILE.gp is written there, then gnuplot writes FILE */
	if (access(dirname(dir), W_OK | X_OK)) {
		snprintf(why, len, "cannot write in %s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

const char *perf_gnuplot_path(char *buf, size_t len)
{
	const char *env = getenv("UDMA_GNUPLOT");
	const char *path = getenv("PATH");

	if (env)
		return *env && access(env, X_OK) == 0 ? snprintf(buf, len, "%s", env), buf : NULL;
	if (!path)
		path = "/usr/bin:/bin";
	while (*path) {
		size_t n = strcspn(path, ":");
		snprintf(buf, len, "%.*s/gnuplot", (int)n, path);
		if (n && access(buf, X_OK) == 0)
			return buf;
		path += n + (path[n] == ':');
	}
	return NULL;
}

static void gp_quote(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s; s++) {
		if (*s == '\'')
			fputc('\'', f); /* '' is a quote inside '...' */
		fputc(*s, f);
	}
	fputc('\'', f);
}

/* The names of the series (engines and peers), in the order of the rows. */
static unsigned series(const struct perf_ctx *px, const char **names, unsigned max)
{
	unsigned n = 0;

	for (unsigned i = 0; i < px->nres; i++) {
		unsigned k = 0;
		while (k < n && strcmp(names[k], px->res[i].name))
			k++;
		if (k == n && n < max)
			names[n++] = px->res[i].name;
	}
	return n;
}

static void script_head(const struct perf_opts *o, FILE *f)
{
	fprintf(f, "# udma perf: GB/s against bytes per request, per engine and peer\n");
	if (!strcmp(strrchr(o->plot, '.'), ".svg"))
		fprintf(f, "set terminal svg size 960,600 dynamic noenhanced font 'sans,11'\n");
	else
		fprintf(f, "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
			   "  set terminal pngcairo size 960,600 noenhanced font 'sans,10'\n"
			   "} else {\n  set terminal png size 960,600 noenhanced\n}\n");
	fprintf(f, "set output ");
	gp_quote(f, o->plot);
	fprintf(f, "\nset title 'udma perf: %s, %u thread%s, depth %u, %s completion, %.3g s per point'\n",
		udma_func_name(o->func), o->threads, o->threads > 1 ? "s" : "", o->depth, perf_mode_name(o->mode),
		o->duration);
	fprintf(f, "set logscale x 2\nset format x '%%.0b%%BB'\nset xlabel 'bytes per request'\n"
		   "set ylabel 'GB/s'\nset grid\nset key top left\nset yrange [0:*]\n");
}

static void script_data(const struct perf_ctx *px, FILE *f, const char **names, unsigned n)
{
	fprintf(f, "plot ");
	for (unsigned k = 0; k < n; k++) {
		char title[80];
		int peer = 0;
		for (unsigned i = 0; i < px->nres; i++)
			if (!strcmp(px->res[i].name, names[k]))
				peer = px->res[i].peer >= 0;
		snprintf(title, sizeof(title), "%s%s", names[k], peer ? " (peer)" : "");
		fprintf(f, "%s'-' using 1:2 with linespoints lw 2 %stitle ", k ? ", \\\n     " : "", peer ? "dt 2 " : "");
		gp_quote(f, title);
	}
	fputc('\n', f);
	for (unsigned k = 0; k < n; k++) {
		for (unsigned i = 0; i < px->nres; i++)
			if (!strcmp(px->res[i].name, names[k]))
				fprintf(f, "%zu %.6g\n", px->res[i].size, perf_gbps(&px->res[i]));
		fprintf(f, "e\n");
	}
}

/* Run gnuplot on the script; 0 if it drew. */
static int draw(const char *gp, const char *script)
{
	int st = 0;
	pid_t pid = fork();

	if (pid == 0) {
		execl(gp, "gnuplot", script, (char *)NULL);
		_exit(127);
	}
	return pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) ? -1 : 0;
}

int perf_plot(struct perf_ctx *px)
{
	const struct perf_opts *o = px->o;
	const char *names[64];
	char script[PATH_MAX + 8], gp[512];
	unsigned n = series(px, names, 64);

	if (!n) {
		fprintf(stderr, "udma perf: --plot: nothing measured, no plot\n");
		return -1;
	}
	snprintf(script, sizeof(script), "%s.gp", o->plot);
	FILE *f = fopen(script, "w");
	if (!f) {
		fprintf(stderr, "udma perf: --plot: cannot write %s: %s\n", script, strerror(errno));
		return -1;
	}
	script_head(o, f);
	script_data(px, f, names, n);
	if (fclose(f)) {
		fprintf(stderr, "udma perf: --plot: cannot write %s\n", script);
		return -1;
	}
	if (!perf_gnuplot_path(gp, sizeof(gp))) {
		fprintf(stderr,
			"udma perf: --plot: gnuplot not found (install it: Debian/Ubuntu gnuplot-nox), so %s was not drawn;\n"
			"  the plot script is %s (run: gnuplot %s)\n", o->plot, script, script);
		return 0;
	}
	if (draw(gp, script)) {
		fprintf(stderr, "udma perf: --plot: %s failed on %s; the script is kept\n", gp, script);
		return -1;
	}
	unlink(script);
	if (!o->json)
		printf("\nplot: %s (gnuplot)\n", o->plot);
	return 0;
}
