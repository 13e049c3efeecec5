#!/usr/bin/env python3
"""Fail if an engine includes more of udma than the public headers.

engine-door.py STAMP SRCROOT CC... -- SOURCE...

Each source is preprocessed for its dependencies (-MM) with only include/ on
the include path. Backends may depend on include/ and their own folder; the fabric engine,
which is lib/fabric's own, also on lib/fabric and lib/core, never on
lib/mover, lib/domain or lib/memory.
"""
import os
import subprocess
import sys

stamp, root = sys.argv[1], os.path.realpath(sys.argv[2])
sep = sys.argv.index('--')
cc, sources = sys.argv[3:sep], sys.argv[sep + 1:]
allowed_fabric = ('include/', 'lib/fabric/', 'lib/core/')
bad = []
for src in sources:
    path = os.path.realpath(src)
    rel = os.path.relpath(path, root)
    own = os.path.dirname(rel) + '/'  # an engine's own headers
    allowed = allowed_fabric if rel.startswith('lib/fabric/') else ('include/', own)
    out = subprocess.run(cc + ['-MM', '-D_GNU_SOURCE', '-I', os.path.join(root, 'include'), path],
                         capture_output=True, text=True)
    if out.returncode:
        sys.exit(f'engine-door: {rel} does not compile with only include/ on the path:\n{out.stderr}')
    deps = out.stdout.replace('\\\n', ' ').split(':', 1)[1].split()
    for d in deps:
        drel = os.path.relpath(os.path.realpath(d), root)
        if drel == rel or drel.startswith('..'):
            continue  # the source itself, or a system header
        if not drel.startswith(allowed):
            bad.append(f'{rel} includes {drel}')
if bad:
    sys.exit('engine-door: engines see udma only through include/udma/backend.h:\n  ' + '\n  '.join(bad))
open(stamp, 'w').close()
