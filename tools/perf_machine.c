/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The machine a `udma perf` run's figures come from: how busy other
 * processes kept it, how far apart two of its CPUs are, its CPU (perf.h).
 */
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "perf.h"

/* ---- how busy the machine was ---------------------------------------------------- */

/* CPU seconds all processes spent (from /proc/stat), and this process's. */
static int cpu_seconds(double *all, double *self)
{
	unsigned long long v[10] = { 0 };
	struct rusage ru;
	FILE *f = fopen("/proc/stat", "r");
	long hz = sysconf(_SC_CLK_TCK);
	int n = f ? fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
			   &v[6], &v[7]) : 0;

	if (f)
		fclose(f);
	if (n < 8 || hz <= 0 || getrusage(RUSAGE_SELF, &ru))
		return -1;
	/* user nice system (idle iowait) irq softirq steal */
	*all = (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / (double)hz;
	*self = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
		(double)ru.ru_stime.tv_usec * 1e-6;
	return 0;
}

static double busy_t0, busy_all0, busy_self0;
static int busy_ok;

void perf_busy_start(void)
{
	busy_t0 = tool_now();
	busy_ok = !cpu_seconds(&busy_all0, &busy_self0);
}

double perf_other_load(void)
{
	double all, self, dt = tool_now() - busy_t0;

	if (!busy_ok || dt < 0.05 || cpu_seconds(&all, &self))
		return -1;
	double other = ((all - busy_all0) - (self - busy_self0)) / dt;
	return other < 0 ? 0 : other;
}

/* ---- how far apart two CPUs are ---------------------------------------------------- */

/* On a virtual machine the host places the vCPUs, and moves them while the
 * guest runs (docs/performance.md, Movers). Engines that hand work to
 * another CPU move with it, so each run says what it met. */
#define PINGS 20000

static long ping __attribute__((aligned(64)));

static void pin_to(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void *pong_main(void *arg)
{
	pin_to(*(int *)arg);
	for (long i = 0; i < PINGS; i++) {
		while (__atomic_load_n(&ping, __ATOMIC_ACQUIRE) != 2 * i + 1)
			perf_relax();
		__atomic_store_n(&ping, 2 * i + 2, __ATOMIC_RELEASE);
	}
	return NULL;
}

double perf_cross_cpu_ns(void)
{
	cpu_set_t mine;
	int a = -1, b = -1;
	pthread_t t;

	if (sched_getaffinity(0, sizeof(mine), &mine))
		return -1;
	for (int c = 0; c < CPU_SETSIZE && b < 0; c++)
		if (CPU_ISSET(c, &mine))
			*(a < 0 ? &a : &b) = c;
	if (b < 0)
		return -1;
	ping = 0;
	if (pthread_create(&t, NULL, pong_main, &b))
		return -1;
	pin_to(a);
	double t0 = tool_now();
	for (long i = 0; i < PINGS; i++) {
		__atomic_store_n(&ping, 2 * i + 1, __ATOMIC_RELEASE);
		while (__atomic_load_n(&ping, __ATOMIC_ACQUIRE) != 2 * i + 2)
			perf_relax();
	}
	double ns = (tool_now() - t0) * 1e9 / PINGS;
	pthread_join(t, NULL);
	sched_setaffinity(0, sizeof(mine), &mine);
	return ns;
}

/* ---- what CPU ---------------------------------------------------------------------- */

void perf_cpu_model(char *buf, size_t len)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[256];

	snprintf(buf, len, "unknown");
	while (f && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');
		if (colon && !strncmp(line, "model name", 10)) {
			colon += 2;
			colon[strcspn(colon, "\n")] = 0;
			snprintf(buf, len, "%s", colon);
			break;
		}
	}
	if (f)
		fclose(f);
}
