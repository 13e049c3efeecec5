#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Every public function has a section-3 man page, every page (and udma(1))
# renders without a warning, and udma(1) names every command (issue 20).
#   test_manpages.sh LIBUDMA_SO SRCDIR
#
# Public functions: what LIBUDMA_SO exports, and the static inline functions
# of the installed headers (udma_req_is_done, the pool's get/put, the
# dma-mapping wrappers). For each one, docs/man3/NAME.3 must exist (a page,
# or a one-line link ".so man3/PAGE.3"), and the page it resolves to must
# declare NAME in its SYNOPSIS and list it in its NAME section (apropos and
# whatis read that). The pool fast path's out-of-line halves (names ending
# in _) need the SYNOPSIS only. docs/man3/README.md says how to add a page.
set -u
so=${1:?usage: test_manpages.sh LIBUDMA_SO SRCDIR}
src=${2:?usage: test_manpages.sh LIBUDMA_SO SRCDIR}
dir=$src/docs/man3
# Pages about a subject rather than a function: no symbol of that name.
overviews='udma udma_backend'

skip() { echo "SKIP: $*"; exit 77; }
command -v man >/dev/null 2>&1 || skip "no man (Debian: man-db; make deps installs it)"
command -v lexgrog >/dev/null 2>&1 || skip "no lexgrog (Debian: man-db)"
command -v groff >/dev/null 2>&1 || skip "no groff (Debian: groff-base)"
command -v nm >/dev/null 2>&1 || skip "no nm"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
bad=0
fail() { echo "FAIL: $*"; bad=$((bad + 1)); }

# The public functions.
nm -D --defined-only "$so" | awk '{ print $NF }' | sed 's/@.*//' | grep -v '^UDMA_' >"$tmp/syms"
[ -s "$tmp/syms" ] || { echo "FAIL: no exported symbols in $so"; exit 1; }
grep -rhoE 'static inline [^(]*[ *][a-z_0-9]+\(' "$src/include/udma" | sed -E 's/.*[ *]([a-z_0-9]+)\($/\1/' \
	>>"$tmp/syms"
grep -rhoE 'UDMA_POOL_NAME_\(udma_[a-z_0-9]+\)' "$src/include/udma" | sed -E 's/.*\((.*)\)/\1/' >>"$tmp/syms"
sort -u -o "$tmp/syms" "$tmp/syms"

# The page NAME.3 resolves to ("" if none), following one .so link.
resolve() {
	p=$dir/$1.3
	[ -f "$p" ] || return 0
	t=$(sed -n 's/^\.so man3\/\(.*\)$/\1/p' "$p" | head -n 1)
	if [ -n "$t" ]; then
		[ -f "$dir/$t" ] && echo "$dir/$t"
	else
		echo "$p"
	fi
}
# The words of a page's SYNOPSIS section, font escapes and quotes removed.
synopsis() {
	sed -n '/^\.SH SYNOPSIS/,/^\.SH /p' "$1" | sed 's/\\f[BIRP]//g; s/\\-/-/g; s/"//g' | tr -c 'a-zA-Z0-9_\n' ' '
}

while read -r s; do
	page=$(resolve "$s")
	if [ -z "$page" ]; then
		fail "$s has no man page: add docs/man3/$s.3 (or a link '.so man3/PAGE.3' to the page that documents it; docs/man3/README.md)"
		continue
	fi
	synopsis "$page" | grep -qw -- "$s" || fail "$s: $(basename "$page") does not declare it in its SYNOPSIS"
	case $s in *_) continue ;; esac
	lexgrog "$page" | grep -q "\"$s - " || fail "$s: $(basename "$page") does not list it in its NAME section"
done <"$tmp/syms"

# udma(1)'s SYNOPSIS names every command tools/udma.c dispatches.
sed -n 's/.*strcmp(cmd, "\([a-z]*\)").*/\1/p' "$src/tools/udma.c" | sort -u >"$tmp/cmds"
[ -s "$tmp/cmds" ] || fail "no commands found in tools/udma.c"
while read -r c; do
	sed -n '/^\.SH SYNOPSIS/,/^\.SH /p' "$src/docs/udma.1" | grep -q "^\.B udma $c\( \|$\)" ||
		fail "docs/udma.1: SYNOPSIS lacks 'udma $c'"
done <"$tmp/cmds"

# Every page renders without a warning; links point at a page; every name a
# page gives is a public function (a stale page after a rename fails here).
pages=0
for p in "$dir"/*.3 "$src/docs/udma.1"; do
	t=$(sed -n 's/^\.so man3\/\(.*\)$/\1/p' "$p" | head -n 1)
	if [ -n "$t" ]; then
		[ -f "$dir/$t" ] || fail "$(basename "$p") links to $t, which does not exist"
		grep -qxF "$(basename "$p" .3)" "$tmp/syms" || fail "$(basename "$p"): no public function of that name"
		continue
	fi
	pages=$((pages + 1))
	LC_ALL=C MANWIDTH=80 man --warnings=all -l -Tutf8 "$p" >/dev/null 2>"$tmp/err"
	[ -s "$tmp/err" ] && fail "$(basename "$p") renders with warnings: $(cat "$tmp/err")"
	groff -man -ww -z -Tutf8 "$p" 2>"$tmp/err"
	[ -s "$tmp/err" ] && fail "$(basename "$p"): groff warns: $(cat "$tmp/err")"
	lexgrog "$p" >"$tmp/names" 2>&1 || fail "$(basename "$p"): no NAME section man-db can parse"
	sed -n 's/^[^"]*"\([^ ]*\) - .*/\1/p' "$tmp/names" | while read -r n; do
		case " $overviews " in *" $n "*) continue ;; esac
		grep -qxF "$n" "$tmp/syms" || echo "$(basename "$p") documents $n, which is no public function"
	done >"$tmp/stale"
	[ -s "$tmp/stale" ] && fail "$(cat "$tmp/stale")"
done

[ "$bad" -eq 0 ] || { echo "$bad problem(s)"; exit 1; }
echo "ok: $(wc -l <"$tmp/syms") public functions each with a page; $pages pages render without warnings"
