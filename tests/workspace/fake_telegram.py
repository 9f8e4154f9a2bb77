"""A local Bot API server for the tests: getMe, getUpdates, sendMessage, setWebhook.

It checks requests as Telegram documents them (https://core.telegram.org/bots/api):
POST to ``/bot<token>/<method>`` with a JSON body (``application/json``); answers
``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code", "description"}``. A
request it finds malformed is a 400, the way Telegram refuses one, and is remembered in
``problems`` so a test can assert there were none. ``down`` makes it answer 502 as an
unreachable Telegram behind a proxy would.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN = "123456:TEST-token"
BOT = {"id": 123456, "is_bot": True, "first_name": "LeadRelay", "username": "leadrelay_test_bot"}
SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


class FakeTelegram:
    def __init__(self):
        self.updates: list[dict] = []
        self.sent: list[dict] = []
        self.calls: list[tuple[str, dict]] = []
        self.problems: list[str] = []
        self.webhook: dict | None = None
        self.down = False
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                self._answer(405, {"ok": False, "error_code": 405, "description": "POST only"})

            def do_POST(self):
                if server.down:
                    self._answer(502, None)
                    return
                match = re.fullmatch(r"/bot([^/]+)/(\w+)", self.path)
                if not match or match.group(1) != TOKEN:
                    self._answer(
                        401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
                    )
                    return
                if self.headers.get("Content-Type", "").split(";")[0] != "application/json":
                    self._refuse("Content-Type must be application/json")
                    return
                length = int(self.headers.get("Content-Length", 0))
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    self._refuse("body is not JSON")
                    return
                method = match.group(2)
                server.calls.append((method, body))
                handler = getattr(server, f"_{method}", None)
                if handler is None:
                    self._answer(404, {"ok": False, "error_code": 404, "description": "Not Found"})
                    return
                problem, result = handler(body)
                if problem:
                    self._refuse(problem)
                else:
                    self._answer(200, {"ok": True, "result": result})

            def _refuse(self, problem):
                server.problems.append(problem)
                self._answer(400, {"ok": False, "error_code": 400,
                                   "description": f"Bad Request: {problem}"})  # fmt: skip

            def _answer(self, status, body):
                data = json.dumps(body).encode() if body is not None else b"Bad Gateway"
                self.send_response(status)
                self.send_header("Content-Type", "application/json" if body else "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def reset(self):
        self.updates.clear(), self.sent.clear(), self.calls.clear(), self.problems.clear()
        self.webhook, self.down = None, False

    # --- the methods ------------------------------------------------------------------

    def _getMe(self, body):
        return None, BOT

    def _getUpdates(self, body):
        offset = body.get("offset", 0)
        if not isinstance(offset, int) or not isinstance(body.get("timeout", 0), int):
            return "offset and timeout must be integers", None
        if self.webhook is not None:
            return "can't use getUpdates method while webhook is active", None
        allowed = body.get("allowed_updates")
        if allowed is not None and not (
            isinstance(allowed, list) and all(isinstance(a, str) for a in allowed)
        ):
            return "allowed_updates must be an array of strings", None
        # Updates before the offset are confirmed: Telegram forgets them.
        self.updates[:] = [u for u in self.updates if u["update_id"] >= offset]
        return None, list(self.updates)

    def _sendMessage(self, body):
        chat_id, text = body.get("chat_id"), body.get("text")
        if not isinstance(chat_id, int | str) or chat_id == "":
            return "chat_id is required", None
        if not isinstance(text, str) or not text.strip():
            return "message text is empty", None
        if len(text) > 4096:
            return "message is too long", None
        markup = body.get("reply_markup")
        if markup is not None:
            rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                return "reply_markup.inline_keyboard must be an array of button rows", None
            for button in (b for r in rows for b in r):
                if not isinstance(button.get("text"), str) or not button["text"]:
                    return "a button needs text", None
                if not re.match(r"^https?://", button.get("url", "")):
                    return "an URL button needs an http(s) url", None
        self.sent.append(body)
        return None, {"message_id": len(self.sent), "chat": {"id": chat_id}, "text": text}

    def _setWebhook(self, body):
        url = body.get("url", "")
        if not url.startswith("https://"):
            return "bad webhook: An HTTPS URL must be provided for webhook", None
        secret = body.get("secret_token")
        if secret is not None and not SECRET.match(secret):
            return "secret_token may hold only A-Z, a-z, 0-9, _ and -", None
        self.webhook = body
        return None, True


def start_update(update_id: int, chat_id: int, text: str, language: str = "en") -> dict:
    """A private message as Telegram delivers it."""
    user = {"id": chat_id, "is_bot": False, "first_name": "Rita", "username": "rita_rep",
            "language_code": language}  # fmt: skip
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "from": user,
            "date": 1_780_000_000,
            "chat": {"id": chat_id, "type": "private", "first_name": "Rita"},
            "text": text,
        },  # fmt: skip
    }
