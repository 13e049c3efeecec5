#!/bin/sh
# Every global symbol libudma defines is public API (udma_*, and the seed
# interfaces' own names) or carries the internal prefix _udma_, in the static
# archive; the shared library exports public API only.
#   test_symbols.sh LIBUDMA_A LIBUDMA_SO
a=$1 so=$2
public='^(udma_|wd_|dma_|spdk_memory_domain_|dmover_)'
bad=$(nm -g --defined-only "$a" | awk 'NF == 3 { print $3 }' | grep -Ev "$public|^_udma_" | sort -u)
if [ -n "$bad" ]; then
	echo "FAIL: global symbols in $(basename "$a") without a public name or the _udma_ prefix:"
	echo "$bad" | sed 's/^/  /'
	exit 1
fi
leak=$(nm -D --defined-only "$so" | awk '{ print $NF }' | sed 's/@.*//' | grep -Ev "$public" | grep -v '^UDMA_' | sort -u)
if [ -n "$leak" ]; then
	echo "FAIL: $(basename "$so") exports non-public symbols:"
	echo "$leak" | sed 's/^/  /'
	exit 1
fi
echo "ok: $(nm -g --defined-only "$a" | awk 'NF == 3' | grep -c ' _udma_') internal symbols prefixed, public API alone exported"
