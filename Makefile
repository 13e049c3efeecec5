# udma front door. `make run` and `make test` set up everything they need.
PREFIX ?= /usr/local
BUILD ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
SOAK_REQUESTS ?= 1000000
MESON_OPTS ?= -Dwerror=true

# Debian packages the build, the tests and the benchmarks use.
PKGS = meson ninja-build gcc clang pkg-config libcmocka-dev libnuma-dev libisal-dev \
       libdpdk-dev libfabric-dev gnuplot-nox valgrind iproute2 strace libclang-rt-14-dev \
       liburing-dev fio libfuse3-dev man-db groff-base

.PHONY: all deps build run test test-quick install bench tsan valgrind fuzz soak mutants clean

all: build

deps:
	@./scripts/deps.sh $(PKGS)

$(BUILD)/build.ninja:
	meson setup $(BUILD) $(MESON_OPTS)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

# The main job: the machine's state (hugepages, memlock, pagemap, VFIO) and
# what udma offers on it, then udma's movers against their
# peers (glibc, ISA-L, DPDK's dma_skeleton) in a short sweep: the table, and
# GB/s against size drawn in $(BUILD)/udma-perf.png (docs/udma.1 for more).
run: build
	$(BUILD)/tools/udma setup
	@echo
	$(BUILD)/tools/udma info
	@echo
	$(BUILD)/tools/udma perf --peers -f copy -s 64..4Mx4 -e cpu,threads,auto -d 0.1 --plot $(BUILD)/udma-perf.png

$(ASAN_BUILD)/build.ninja:
	CC=clang meson setup $(ASAN_BUILD) $(MESON_OPTS) -Db_sanitize=address,undefined -Db_lundef=false -Ddpdk=disabled

# Unit, stress and multi-process tests, plain and under ASan+UBSan.
test: build $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)
	@./scripts/run-tests.sh $(BUILD) $(ASAN_BUILD)

test-quick: build
	@./scripts/run-tests.sh $(BUILD)

$(TSAN_BUILD)/build.ninja:
	CC=clang meson setup $(TSAN_BUILD) $(MESON_OPTS) -Db_sanitize=thread -Db_lundef=false -Ddpdk=disabled

# The unit, multi-process and stress suites under ThreadSanitizer.
tsan: deps $(TSAN_BUILD)/build.ninja
	ninja -C $(TSAN_BUILD)
	TSAN_OPTIONS=halt_on_error=1 ./scripts/run-tests.sh --suite unit --suite mp --suite stress $(TSAN_BUILD)

# Unit tests under valgrind memcheck. --max-stackframe: a test keeps 2 MiB of buffers on its stack.
valgrind: build
	./scripts/run-tests.sh --suite unit --wrap 'valgrind --error-exitcode=1 --suppressions=$(CURDIR)/tests/valgrind.supp --leak-check=full --errors-for-leak-kinds=definite --max-stackframe=4194304' $(BUILD)

$(FUZZ_BUILD)/build.ninja:
	CC=clang meson setup $(FUZZ_BUILD) $(MESON_OPTS) -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false \
		-Ddpdk=disabled -Dc_args=-fsanitize=fuzzer-no-link

# Each libFuzzer target for FUZZ_SECONDS (docs/reliability.md). `make test` replays the corpora.
fuzz: deps $(FUZZ_BUILD)/build.ninja
	ninja -C $(FUZZ_BUILD)
	./scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

# The long soak: SOAK_REQUESTS requests over every engine, checked; `make test` runs 50,000.
soak: build
	$(BUILD)/tests/test_soak $(SOAK_REQUESTS)

# Each small bug of tests/mutants/list.txt in a scratch copy (build-mutants/), one at a
# time, with the tests that must catch it; fails if any survives (docs/reliability.md).
mutants: deps
	./scripts/mutants.sh

bench: build
	./scripts/bench.sh $(BUILD)

install: deps $(BUILD)/build.ninja
	meson configure $(BUILD) --prefix=$(abspath $(PREFIX))
	meson install -C $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(FUZZ_BUILD) build-mutants
