"""A real HTTP server on a free loopback port, in a thread, for tests of what we send out (webhooks, SMS)."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class JsonHandler(BaseHTTPRequestHandler):
    """A quiet request handler that answers JSON; a client that hung up meanwhile is no error."""

    def answer(self, status: int, body) -> None:
        data = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass

    def log_message(self, *args):
        pass


class LoopbackServer:
    """Serve `handler` (a BaseHTTPRequestHandler class) at http://127.0.0.1:<free port><path>."""

    def __init__(self, handler, path: str, queue_size: int = 5):
        self.path = path
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.server.request_queue_size = queue_size
        self.server.handle_error = lambda request, address: None  # a client that gave up is not an error here
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}{self.path}"

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
