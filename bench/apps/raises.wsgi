# errors: an app that raises before start_response (500, a traceback in the error log); soak.
def application(environ, start_response):
    raise RuntimeError("the soak's failing app fails on purpose")
