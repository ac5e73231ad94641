# stats: the Python objects of the application group it runs in (the soak mounts every app in one
# group), after a full collection: tracked objects (gc.get_objects()) and pymalloc blocks in use.
import gc
import json
import sys


def application(environ, start_response):
    gc.collect()
    body = json.dumps({"objects": len(gc.get_objects()), "blocks": sys.getallocatedblocks()}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
