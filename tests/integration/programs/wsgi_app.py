"""A WSGI application that computes a little on each request (holding the
GIL), for uWSGI's embedded interpreter."""


def application(environ, start_response):
    total = sum(range(20000))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(total).encode()]
