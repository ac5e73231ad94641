"""A tiny notes app: an HTML form, a JSON API and the environ mod_wsgi users look at."""
import threading

from flask import Flask, jsonify, redirect, render_template_string, request, url_for

app = Flask(__name__)
notes = []
lock = threading.Lock()

PAGE = """<!doctype html>
<title>wsgi-bin notes</title>
<h1>Notes</h1>
<p>Served by {{ software }} from application group <code>{{ group }}</code>.</p>
<form method="post" action="{{ url_for('add') }}">
  <input name="text" placeholder="a note" required> <button>Add</button>
</form>
<ul>{% for note in notes %}<li>{{ note }}</li>{% endfor %}</ul>
<p><a href="{{ url_for('api') }}">JSON</a></p>
"""


@app.get("/")
def index():
    return render_template_string(
        PAGE,
        notes=notes,
        software=request.environ.get("SERVER_SOFTWARE"),
        group=request.environ.get("mod_wsgi.application_group"),
    )


@app.post("/notes")
def add():
    text = request.form.get("text", "").strip()
    if text:
        with lock:
            notes.append(text)
    return redirect(url_for("index"))


@app.get("/api/notes")
def api():
    return jsonify(notes=notes, count=len(notes))
