# Run by the python3 that wsgi-bin was pointed at: reports where its shared libpython lives and what a
# virtualenv adds, as one JSON line. Must run on every supported Python (3.9+) with no third-party imports.
import json
import os
import site
import sys
import sysconfig

config = sysconfig.get_config_vars()
libdir = config.get("LIBDIR") or ""
multiarch = config.get("MULTIARCH") or ""
names = [n for n in (config.get("INSTSONAME"), config.get("LDLIBRARY")) if n and ".so" in n]
dirs = [libdir, os.path.join(libdir, multiarch) if multiarch else "", os.path.join(sys.base_prefix, "lib")]
candidates = []
for d in dirs:
    for n in names:
        path = os.path.join(d, n)
        if d and path not in candidates:
            candidates.append(path)

in_venv = sys.prefix != sys.base_prefix
print(json.dumps({
    "version": "%d.%d.%d" % sys.version_info[:3],
    "executable": sys.executable,
    "base_prefix": sys.base_prefix,
    "prefix": sys.prefix,
    "shared": bool(config.get("Py_ENABLE_SHARED")),
    "candidates": candidates,
    # A virtualenv's own view (run with -I: no PYTHONPATH, no user site): what its python would import.
    "venv": {"prefix": sys.prefix, "path": [p for p in sys.path if p], "site_packages": site.getsitepackages()}
    if in_venv else None,
}))
