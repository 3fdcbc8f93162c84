"""A real SMTP server for tests (Debian's python3-aiosmtpd): every message it accepts is written
to DIR/NNNN.json as {"mail_from", "rcpt_tos", "content", "tls", "received"} and announced
on stdout. Usage: smtp_sink.py PORT DIR [CERT KEY]; with CERT and KEY it offers STARTTLS.
Prints "ready" once it listens."""
import json
import ssl
import sys
import threading
import time
from pathlib import Path

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, directory: Path):
        self.directory = directory
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
            path = self.directory / f"{self.count:04d}.json"
        record = {"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
                  "content": envelope.content.decode("utf-8", "replace"),
                  "tls": session.ssl is not None, "received": time.time()}
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record))
        tmp.rename(path)
        print(f"message {path.name} from {envelope.mail_from} to {envelope.rcpt_tos}", flush=True)
        return "250 OK"


def main():
    port, directory = int(sys.argv[1]), Path(sys.argv[2])
    directory.mkdir(parents=True, exist_ok=True)
    kwargs = {}
    if len(sys.argv) > 4:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(sys.argv[3], sys.argv[4])
        kwargs = {"tls_context": context, "require_starttls": True}
    controller = Controller(Sink(directory), hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    print("ready", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
