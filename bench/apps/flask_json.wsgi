# flask: a Flask JSON view (bench scenario "flask"); Debian's python3-flask.
from flask import Flask, jsonify

app = Flask(__name__)


@app.route("/")
def index():
    return jsonify(message="Hello World!", items=[{"id": i, "name": f"item {i}"} for i in range(10)])


application = app
