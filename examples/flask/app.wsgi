# A Flask application served by wsgi-bin, as a .wsgi file for WSGIScriptAlias would hold it.
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

from notes import app as application  # noqa: E402
