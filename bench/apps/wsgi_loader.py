# For servers that import a module instead of a .wsgi file (gunicorn, waitress): executes the file
# named by $BENCH_WSGI_FILE once at import, as mod_wsgi does, and exposes its `application`.
import os
import sys
import types

_path = os.environ["BENCH_WSGI_FILE"]
_module = types.ModuleType("bench_app")
_module.__file__ = _path
sys.modules["bench_app"] = _module
with open(_path, "rb") as _file:
    exec(compile(_file.read(), _path, "exec"), _module.__dict__)
application = _module.application
