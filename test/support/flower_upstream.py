#!/usr/bin/python3
"""A stand-in for Celery Flower 2.x, for flowergate's end-to-end tests.

Run it with Debian's interpreter and Tornado (``/usr/bin/python3``, package ``python3-tornado``):

    /usr/bin/python3 test/support/flower_upstream.py --port 0 --url_prefix flower --static_path DIR

It binds 127.0.0.1 (port 0 = ask the OS), then prints one line ``FLOWER_UPSTREAM_READY port=<n>`` on stdout.
With ``--exit_on_stdin_eof`` it exits when its standard input closes, so it dies with the process that started
it even when that process is killed.

What it copies from Flower 2.1.0 (research/flower.md sections 2, 3, 5, 6 and 11):

* ``--url_prefix=flower`` mounts every route, static files included, under ``/flower``; slashes around the
  prefix are stripped. ``GET /flower`` (no trailing slash) is **not** redirected: like Flower it matches the
  prefixed catch-all ``/flower.*`` and answers Flower's themed 404 page. Paths outside the prefix get
  Tornado's bare 404 page (69 bytes).
* Dynamic responses carry ``Access-Control-Allow-Origin: *`` (plus allow-methods/headers), static files do not.
* ``OPTIONS`` answers 204 on every dynamic route; ``HEAD``, ``PUT`` and ``DELETE`` answer 405 there (HEAD on
  ``/static/`` works). ``/healthcheck`` answers ``OK`` as text/html, ``/metrics`` Prometheus text as text/plain.
* API errors are plain text inside ``text/html`` (``Unknown worker 'x'``). Without ``--unauthenticated_api``
  every ``/api/*`` answers 401 with Flower's message, as Flower does without ``FLOWER_UNAUTHENTICATED_API``.
* No cookies, no redirects, no absolute URLs.

What it adds for tests (all under the prefix, so a proxy that forwards the prefix reaches them):

* ``GET /stream?size=N&chunk=M&delay_ms=D[&length=1]`` streams N bytes (byte i is ``i % 251``) in M-byte
  chunks, flushing each and sleeping D ms between them. Headers ``X-Body-Size`` and ``X-Body-Sha256`` describe
  the whole body. Chunked transfer encoding unless ``length=1``.
* ``POST|PUT /upload[?read_delay_ms=D]`` consumes the body as a stream and answers
  ``{"bytes", "sha256", "chunks", "contentLength", "transferEncoding"}``.
* ``/ws/echo``: WebSocket echo (text and binary), any Origin accepted.
* ``/__echo`` (any method): JSON of the request line and headers.
* ``GET /__status/<code>[?location=URL]``: answers that status.
* ``GET /__slow_headers?delay_ms=D``: waits D ms (default 5000) before sending anything.
* ``GET /__reset``: closes the connection with a TCP RST, without a response.

Control endpoint, always at the root and never recorded:

* ``GET /__requests``: JSON list of every request received so far (seq, time, method, uri, path, query,
  version, headers, headersUtf8, rawHeaders, remoteIp); ``DELETE /__requests`` clears it.
"""

import argparse
import asyncio
import hashlib
import json
import os
import signal
import socket
import struct
import sys
import time

import tornado.escape
import tornado.httpserver
import tornado.iostream
import tornado.netutil
import tornado.web
import tornado.websocket

CONTROL_PATH = "/__requests"
PATTERN_MODULUS = 251

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Headers": "x-requested-with,access-control-allow-origin,authorization,content-type",
    "Access-Control-Allow-Methods": " PUT, DELETE, OPTIONS, POST, GET, PATCH",
}

WORKER = "w1@host"
TASK_ID = "8d3c2b1a-0000-4000-8000-000000000001"


def initial_state():
    return {
        "workers": {WORKER: {"online": True, "stats": {"pid": 4242, "pool": {"max-concurrency": 2}}}},
        "tasks": {
            TASK_ID: {
                "uuid": TASK_ID,
                "name": "proj.add",
                "state": "SUCCESS",
                "args": "(1, 2)",
                "kwargs": "{}",
                "result": "3",
                "worker": WORKER,
                "received": 1700000000.0,
            }
        },
    }


STATE = initial_state()

STATIC_FILES = {
    "js/flower.js": """// flower_upstream.py: a tiny stand-in for Flower's flower.js
(function () {
  function urlPrefix() {
    var p = document.getElementById('url_prefix').value.replace(/^\\/+|\\/+$/g, '');
    return p ? '/' + p : '';
  }
  document.body.setAttribute('data-flower-js', 'loaded');
  var xhr = new XMLHttpRequest();
  xhr.open('GET', urlPrefix() + '/workers?json=1');
  xhr.onload = function () {
    var rows = JSON.parse(xhr.responseText).data;
    var tbody = document.querySelector('#workers-table tbody');
    rows.forEach(function (w) {
      var tr = document.createElement('tr');
      var td = document.createElement('td');
      td.textContent = w.hostname;
      tr.appendChild(td);
      tbody.appendChild(tr);
    });
    document.body.setAttribute('data-workers-loaded', String(rows.length));
  };
  xhr.send();
})();
""",
    "css/flower.css": "body { font-family: sans-serif; }\n#workers-table td { padding: 2px 8px; }\n",
    "swagger.json": json.dumps({"swagger": "2.0", "info": {"title": "Flower API", "version": "2.1.0"}, "paths": {}}),
}
# a 16x16 ICO header is enough for a favicon test
FAVICON = bytes([0, 0, 1, 0, 1, 0, 16, 16, 0, 0, 1, 0, 32, 0]) + bytes(50)


def write_static_files(directory):
    for rel, text in STATIC_FILES.items():
        path = os.path.join(directory, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    with open(os.path.join(directory, "favicon.ico"), "wb") as f:
        f.write(FAVICON)


def utf8_or_none(value):
    """A header as a WSGI app reads it back (PEP 3333): Tornado decoded the bytes as latin-1; None if not UTF-8."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return None


def record_of(seq, request):
    headers = {}
    raw = []
    for name, value in request.headers.get_all():
        raw.append([name, value])
        key = name.lower()
        if key in headers:
            headers[key] += ("; " if key == "cookie" else ", ") + value
        else:
            headers[key] = value
    return {
        "seq": seq,
        "time": time.time(),
        "method": request.method,
        "uri": request.uri,
        "path": request.path,
        "query": request.query,
        "version": request.version,
        "headers": headers,
        "headersUtf8": {key: utf8_or_none(value) for key, value in headers.items()},
        "rawHeaders": raw,
        "remoteIp": request.remote_ip,
    }


class RecordingApplication(tornado.web.Application):
    """Records every request at the moment its headers arrive, whichever handler (or 404) serves it."""

    def __init__(self, handlers, **settings):
        super().__init__(handlers, **settings)
        self.recorded = []
        self.seq = 0

    def find_handler(self, request, **kwargs):
        if request.path != CONTROL_PATH:
            self.seq += 1
            self.recorded.append(record_of(self.seq, request))
        return super().find_handler(request, **kwargs)


class BaseHandler(tornado.web.RequestHandler):
    """Flower's BaseHandler as far as a proxy can see: CORS headers, OPTIONS 204, themed 404 page."""

    def set_default_headers(self):
        for name, value in CORS_HEADERS.items():
            self.set_header(name, value)

    def options(self, *args, **kwargs):
        self.set_status(204)
        self.finish()

    @property
    def prefix(self):
        return self.application.settings["url_prefix"]

    def link(self, path):
        return ("/" + self.prefix if self.prefix else "") + path

    def write_error(self, status_code, **kwargs):
        message = None
        exc_info = kwargs.get("exc_info")
        if exc_info and isinstance(exc_info[1], tornado.web.HTTPError):
            message = exc_info[1].log_message
        if status_code in (404, 403):
            self.finish(
                "<!DOCTYPE html><html><head><title>Flower</title></head><body>"
                '<nav><a href="%s">Flower</a></nav><div class="container"><h1>404 - Page not found</h1>'
                "<p>%s</p></div></body></html>"
                % (self.link("/"), tornado.escape.xhtml_escape(message or "The page you are looking for can't be found"))
            )
        elif status_code == 500:
            self.finish("<!DOCTYPE html><html><body><h1>Error</h1></body></html>")
        else:
            if message:
                self.set_header("Content-Type", "text/plain")
                self.write(message)
            self.set_status(status_code)
            self.finish()


class ApiHandler(BaseHandler):
    def prepare(self):
        if not self.application.settings["unauthenticated_api"]:
            raise tornado.web.HTTPError(
                401,
                "FLOWER_UNAUTHENTICATED_API environment variable is required to enable API without authentication",
            )

    def write_error(self, status_code, **kwargs):
        exc_info = kwargs.get("exc_info")
        if exc_info and isinstance(exc_info[1], tornado.web.HTTPError) and exc_info[1].log_message:
            self.write(exc_info[1].log_message)
        self.set_status(status_code)
        self.finish()

    def known_worker(self, name):
        if name not in STATE["workers"]:
            raise tornado.web.HTTPError(404, "Unknown worker '%s'" % name)


def page(handler, title, body):
    static = handler.application.settings["static_urls"]
    return (
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>%s</title>"
        '<link href="%s" rel="stylesheet"><link rel="icon" href="%s"></head><body>'
        '<input type="hidden" id="url_prefix" value="%s">'
        '<nav><a href="%s">Workers</a> <a href="%s">Tasks</a> <a href="%s">Broker</a></nav>'
        "%s"
        '<script src="%s"></script></body></html>'
    ) % (
        title,
        static["css/flower.css"],
        static["favicon.ico"],
        handler.prefix,
        handler.link("/"),
        handler.link("/tasks"),
        handler.link("/broker"),
        body,
        static["js/flower.js"],
    )


def worker_rows():
    return [
        {"hostname": name, "status": w["online"], "active": 0, "processed": 1, "succeeded": 1, "failed": 0}
        for name, w in STATE["workers"].items()
    ]


class WorkersView(BaseHandler):
    def get(self):
        if self.get_query_argument("json", None):
            self.write({"data": worker_rows()})
            return
        self.write(
            page(
                self,
                "Flower",
                '<h1>Workers</h1><table id="workers-table"><thead><tr><th>Worker</th></tr></thead>'
                "<tbody></tbody></table>",
            )
        )


class WorkerView(BaseHandler):
    def get(self, name):
        if name not in STATE["workers"]:
            raise tornado.web.HTTPError(404, "Unknown worker '%s'" % name)
        self.write(page(self, "Flower", "<h1>%s</h1>" % tornado.escape.xhtml_escape(name)))


class TasksView(BaseHandler):
    def get(self):
        self.write(page(self, "Flower", '<h1>Tasks</h1><table id="tasks-table"></table>'))


class TaskView(BaseHandler):
    def get(self, task_id):
        if task_id not in STATE["tasks"]:
            raise tornado.web.HTTPError(404, "Unknown task '%s'" % task_id)
        self.write(page(self, "Flower", "<h1>%s</h1>" % tornado.escape.xhtml_escape(task_id)))


class TasksDataTable(BaseHandler):
    def get(self):
        tasks = list(STATE["tasks"].values())
        self.write({"draw": 1, "data": tasks, "recordsTotal": len(tasks), "recordsFiltered": len(tasks)})

    post = get


class BrokerView(BaseHandler):
    def get(self):
        self.write(page(self, "Flower", "<h1>Broker</h1><p>redis://127.0.0.1:6379/0</p>"))


class ListWorkers(ApiHandler):
    def get(self):
        if self.get_query_argument("status", None):
            self.write({name: w["online"] for name, w in STATE["workers"].items()})
            return
        name = self.get_query_argument("workername", None)
        self.write({n: w["stats"] for n, w in STATE["workers"].items() if name in (None, n)})


class WorkerShutdown(ApiHandler):
    def post(self, name):
        self.known_worker(name)
        STATE["workers"][name]["online"] = False
        self.write({"message": "Shutting down!"})


class WorkerControl(ApiHandler):
    def post(self, action, name):
        self.known_worker(name)
        self.write({"message": "%s '%s'" % (action, name)})


class ListTasks(ApiHandler):
    def prepare(self):
        # Flower answers this one with an empty 401 body when the API is gated off
        if not self.application.settings["unauthenticated_api"]:
            raise tornado.web.HTTPError(401)

    def get(self):
        self.write(dict(STATE["tasks"]))


class TaskTypes(ApiHandler):
    def get(self):
        self.write({"task-types": sorted({t["name"] for t in STATE["tasks"].values()})})


class TaskInfo(ApiHandler):
    def get(self, task_id):
        task = STATE["tasks"].get(task_id)
        if task is None:
            raise tornado.web.HTTPError(404, "Unknown task '%s'" % task_id)
        self.write(task)


class QueueLength(ApiHandler):
    def get(self):
        self.write({"active_queues": [{"name": "celery", "messages": 0}]})


class TaskRevoke(ApiHandler):
    def post(self, task_id):
        task = STATE["tasks"].get(task_id)
        if task is not None:
            task["state"] = "REVOKED"
        self.write({"message": "Revoked '%s'" % task_id})


class TaskControl(ApiHandler):
    def post(self, action, name):
        self.write({"task-id": TASK_ID, "state": "PENDING", "action": action, "name": name})


class Metrics(BaseHandler):
    def get(self):
        lines = [
            "# HELP flower_worker_online Worker online status",
            "# TYPE flower_worker_online gauge",
        ]
        for name, w in STATE["workers"].items():
            lines.append('flower_worker_online{worker="%s"} %s' % (name, "1.0" if w["online"] else "0.0"))
        lines += [
            "# HELP flower_events_total Number of events",
            "# TYPE flower_events_total counter",
            'flower_events_total{task="proj.add",type="task-succeeded",worker="%s"} 1.0' % WORKER,
        ]
        self.set_header("Content-Type", "text/plain")
        self.write("\n".join(lines) + "\n")


class Healthcheck(BaseHandler):
    def get(self):
        self.write("OK")


class NotFoundErrorHandler(BaseHandler):
    def get(self):
        raise tornado.web.HTTPError(404)

    def post(self):
        raise tornado.web.HTTPError(404)


# ---- test-only routes -------------------------------------------------------------------------------------


def pattern_block(offset, length):
    start = offset % PATTERN_MODULUS
    reps = (start + length) // PATTERN_MODULUS + 1
    return (bytes(range(PATTERN_MODULUS)) * reps)[start : start + length]


class Stream(BaseHandler):
    async def get(self):
        size = int(self.get_query_argument("size", str(1 << 20)))
        chunk = max(1, int(self.get_query_argument("chunk", str(64 << 10))))
        delay = float(self.get_query_argument("delay_ms", "0")) / 1000.0
        digest = hashlib.sha256()
        sent = 0
        while sent < size:
            n = min(chunk, size - sent)
            digest.update(pattern_block(sent, n))
            sent += n
        self.set_header("Content-Type", "application/octet-stream")
        self.set_header("X-Body-Size", str(size))
        self.set_header("X-Body-Sha256", digest.hexdigest())
        if self.get_query_argument("length", None) == "1":
            self.set_header("Content-Length", str(size))
        sent = 0
        try:
            while sent < size:
                n = min(chunk, size - sent)
                self.write(pattern_block(sent, n))
                await self.flush()
                sent += n
                if delay and sent < size:
                    await asyncio.sleep(delay)
        except tornado.iostream.StreamClosedError:
            return


@tornado.web.stream_request_body
class Upload(BaseHandler):
    def prepare(self):
        self.request.connection.set_max_body_size(1 << 40)
        self.digest = hashlib.sha256()
        self.size = 0
        self.chunks = 0
        self.read_delay = float(self.get_query_argument("read_delay_ms", "0")) / 1000.0

    async def data_received(self, chunk):
        self.digest.update(chunk)
        self.size += len(chunk)
        self.chunks += 1
        if self.read_delay:
            await asyncio.sleep(self.read_delay)

    def post(self):
        self.write(
            {
                "bytes": self.size,
                "sha256": self.digest.hexdigest(),
                "chunks": self.chunks,
                "contentLength": self.request.headers.get("Content-Length"),
                "transferEncoding": self.request.headers.get("Transfer-Encoding"),
            }
        )

    put = post


class WebSocketEcho(tornado.websocket.WebSocketHandler):
    def check_origin(self, origin):
        return True

    def on_message(self, message):
        self.write_message(message, binary=isinstance(message, bytes))


class Echo(BaseHandler):
    SUPPORTED_METHODS = ("GET", "POST", "DELETE", "PATCH", "PUT")

    def prepare(self):
        record = record_of(0, self.request)
        del record["seq"]
        record["bodyBytes"] = len(self.request.body or b"")
        self.finish(record)

    def get(self):
        pass

    post = delete = patch = put = get


class Status(BaseHandler):
    def get(self, code):
        location = self.get_query_argument("location", None)
        if location:
            self.set_header("Location", location)
        self.set_status(int(code))
        self.finish("status %s\n" % code)


class SlowHeaders(BaseHandler):
    async def get(self):
        await asyncio.sleep(float(self.get_query_argument("delay_ms", "5000")) / 1000.0)
        self.write("slow\n")


class Reset(BaseHandler):
    def get(self):
        # SO_LINGER 0 then close: the kernel sends RST instead of FIN. Tornado's own finish() afterwards sees a
        # closed stream and gives up quietly.
        stream = self.request.connection.stream
        if stream.socket is not None:
            stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        stream.close()


class Requests(tornado.web.RequestHandler):
    def get(self):
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(self.application.recorded))

    def delete(self):
        self.application.recorded.clear()
        self.set_status(204)
        self.finish()


def make_app(prefix, static_path, unauthenticated_api):
    def p(pattern):
        return "/" + prefix + pattern if prefix else pattern

    static_urls = {}
    for rel in list(STATIC_FILES) + ["favicon.ico"]:
        version = tornado.web.StaticFileHandler.get_version({"static_path": static_path}, rel)
        static_urls[rel] = p("/static/") + rel + "?v=" + version

    handlers = [
        (CONTROL_PATH, Requests),
        (p("/"), WorkersView),
        (p("/workers"), WorkersView),
        (p("/worker/(.+)"), WorkerView),
        (p("/task/(.+)"), TaskView),
        (p("/tasks"), TasksView),
        (p("/tasks/datatable"), TasksDataTable),
        (p("/broker"), BrokerView),
        (p("/api/workers"), ListWorkers),
        (p("/api/worker/shutdown/(.+)"), WorkerShutdown),
        (
            p("/api/worker/(pool/restart|pool/grow|pool/shrink|pool/autoscale|queue/add-consumer|queue/cancel-consumer)/(.+)"),
            WorkerControl,
        ),
        (p("/api/tasks"), ListTasks),
        (p("/api/task/types"), TaskTypes),
        (p("/api/queues/length"), QueueLength),
        (p("/api/task/info/(.*)"), TaskInfo),
        (p("/api/task/revoke/(.+)"), TaskRevoke),
        (p("/api/task/(apply|async-apply|send-task|abort|timeout|rate-limit)/(.+)"), TaskControl),
        (p("/metrics"), Metrics),
        (p("/healthcheck"), Healthcheck),
        (p("/static/(.*)"), tornado.web.StaticFileHandler, {"path": static_path}),
        (p("/stream"), Stream),
        (p("/upload"), Upload),
        (p("/ws/echo"), WebSocketEcho),
        (p("/__echo"), Echo),
        (p(r"/__status/(\d{3})"), Status),
        (p("/__slow_headers"), SlowHeaders),
        (p("/__reset"), Reset),
        (p(".*"), NotFoundErrorHandler),
    ]
    return RecordingApplication(
        handlers,
        url_prefix=prefix,
        static_urls=static_urls,
        unauthenticated_api=unauthenticated_api,
        # like Flower without --debug: no access log on stderr (handler exceptions are still logged)
        log_function=lambda handler: None,
    )


async def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--address", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--url_prefix", default="")
    parser.add_argument("--static_path", required=True, help="directory to write and serve the static files from")
    parser.add_argument(
        "--unauthenticated_api",
        choices=["true", "false"],
        default=os.environ.get("FLOWER_UNAUTHENTICATED_API", "false").lower(),
    )
    parser.add_argument("--exit_on_stdin_eof", action="store_true")
    args = parser.parse_args()

    prefix = args.url_prefix.strip("/")
    write_static_files(args.static_path)
    app = make_app(prefix, args.static_path, args.unauthenticated_api == "true")
    server = tornado.httpserver.HTTPServer(app, max_body_size=1 << 40, max_buffer_size=64 << 20)
    sockets = tornado.netutil.bind_sockets(args.port, args.address)
    server.add_sockets(sockets)

    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, done.set)
    if args.exit_on_stdin_eof:

        def on_stdin():
            if not os.read(sys.stdin.fileno(), 4096):
                loop.remove_reader(sys.stdin.fileno())
                done.set()

        loop.add_reader(sys.stdin.fileno(), on_stdin)

    port = sockets[0].getsockname()[1]
    print("FLOWER_UPSTREAM_READY port=%d" % port, flush=True)
    await done.wait()
    server.stop()


if __name__ == "__main__":
    asyncio.run(main())
