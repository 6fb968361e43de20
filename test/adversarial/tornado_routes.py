"""Which handler would Celery Flower 2.1 run for a raw request path? Tornado's own router says.

Builds Flower's real URL table (flower/urls.py of the release in FLOWER_SOURCE, rewritten for
--url_prefix by flower/app.py's own rewrite_handler, as Flower.__init__ does) into a
tornado.web.Application and asks Application.find_handler, the call Tornado's HTTP server makes,
which handler class a request routes to. Nothing is served and no Celery app is started.

Input (stdin), JSON: {"prefix": "flower" or "", "requests": [{"method": "POST", "uri": "/flower/x"}]}
Output (stdout), JSON:
  {"tornado": "6.2",
   "table": [{"pattern": "/flower/api/task/revoke/(.+)$", "handler": "flower.api.control.TaskRevoke",
              "methods": ["POST"]}],
   "routes": [{"method": ..., "uri": ..., "path": ..., "handler": ..., "methods": [...], "args": [...]}]}
`methods` are the HTTP methods the handler class implements (Tornado answers 405 to the others);
`path` is request.path, the part of the URI Tornado routes on.
"""

import json
import os
import sys

FLOWER_SOURCE = os.environ["FLOWER_SOURCE"]
sys.path.insert(0, FLOWER_SOURCE)

import tornado  # noqa: E402
import tornado.httputil  # noqa: E402
import tornado.web  # noqa: E402
from flower.app import rewrite_handler  # noqa: E402
from flower.urls import handlers as default_handlers  # noqa: E402

BASE_METHODS = {
    name: getattr(tornado.web.RequestHandler, name.lower())
    for name in tornado.web.RequestHandler.SUPPORTED_METHODS
}


def qualified(cls):
    return f"{cls.__module__}.{cls.__qualname__}"


def methods_of(cls):
    """The methods a handler overrides: Tornado's base class answers 405 for the rest."""
    return sorted(
        name
        for name, base in BASE_METHODS.items()
        if getattr(cls, name.lower(), base) is not base
    )


def application(prefix):
    handlers = default_handlers
    if prefix:
        # exactly Flower.__init__: `if options.url_prefix: handlers = [rewrite_handler(...)]`
        handlers = [rewrite_handler(h, prefix) for h in handlers]
    return tornado.web.Application(handlers)


def describe(cls):
    return {"handler": qualified(cls), "methods": methods_of(cls)}


def main():
    spec = json.load(sys.stdin)
    app = application(spec.get("prefix") or "")
    table = [
        {"pattern": rule.matcher.regex.pattern, **describe(rule.target)}
        for rule in app.wildcard_router.rules
    ]
    routes = []
    for item in spec["requests"]:
        request = tornado.httputil.HTTPServerRequest(method=item["method"], uri=item["uri"])
        delegate = app.find_handler(request)
        routes.append(
            {
                "method": item["method"],
                "uri": item["uri"],
                "path": request.path,
                **describe(delegate.handler_class),
                "args": [
                    a.decode("latin-1") if isinstance(a, bytes) else a
                    for a in delegate.path_args
                ],
            }
        )
    json.dump({"tornado": tornado.version, "table": table, "routes": routes}, sys.stdout)


if __name__ == "__main__":
    main()
