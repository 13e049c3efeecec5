#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# `make install PREFIX=...` into a scratch prefix gives a udma that runs, the
# section-3 man pages under share/man/man3, and an example built through
# pkg-config alone (the README's compile line, with the PKG_CONFIG_PATH and
# runpath it shows) that runs too.
#   usage: test_install.sh SRCDIR
set -u
src=${1:?usage: test_install.sh SRCDIR}
skip() { echo "SKIP: $*"; exit 77; }
command -v pkg-config >/dev/null 2>&1 || skip "no pkg-config"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; [ -f "$tmp/log" ] && tail -20 "$tmp/log"; exit 1; }

meson setup "$tmp/build" "$src" --prefix="$tmp/prefix" -Dtests=disabled -Ddpdk=disabled >"$tmp/log" 2>&1 ||
	fail "meson setup"
meson install -C "$tmp/build" >>"$tmp/log" 2>&1 || fail "meson install"
rm -rf "$tmp/build" # nothing may still point into the build tree
man3=$tmp/prefix/share/man/man3
for p in "$src"/docs/man3/*.3; do
	[ -f "$man3/$(basename "$p")" ] || fail "man page $(basename "$p") not installed in share/man/man3"
done
if command -v man >/dev/null 2>&1; then # a .so link resolves in the installed tree
	LC_ALL=C MANWIDTH=80 man -M "$tmp/prefix/share/man" 3 udma_pool_put 2>&1 | grep -q 'udma_pool_get_bulk(' ||
		fail "man -M PREFIX/share/man 3 udma_pool_put does not show udma_pool_get(3)"
fi
"$tmp/prefix/bin/udma" version >"$tmp/out" 2>&1 || fail "installed udma does not run: $(cat "$tmp/out")"
pc=$(dirname "$(find "$tmp/prefix" -name udma.pc | head -n 1)")
[ -n "$pc" ] || fail "no udma.pc installed"
export PKG_CONFIG_PATH="$pc"
cc "$src/examples/hello_dma.c" -o "$tmp/hello" $(pkg-config --cflags --libs udma) \
	-Wl,-rpath,"$(pkg-config --variable=libdir udma)" >"$tmp/log" 2>&1 || fail "building hello_dma through pkg-config"
"$tmp/hello" >"$tmp/out" 2>&1 || fail "hello_dma does not run: $(cat "$tmp/out")"
grep -q '"device"' "$tmp/out" || fail "hello_dma printed: $(cat "$tmp/out")"
echo "ok: installed udma runs, $(ls "$man3" | wc -l) man3 pages, hello_dma built by pkg-config runs ($pc)"
