"""`rampart serve` for the end-to-end tests: the real binary on 127.0.0.1 with a port of
its choosing, a fresh data directory, stderr to a log file."""

import os
import queue
import re
import subprocess
import threading
import time

STARTUP_SECONDS = 20  # for the server's first stdout lines


class Server:
    """Starts the server; `wait_until_ready` reads stdout until the listening address
    (and, with `setup_link=True`, the one-time first-administrator link) is known."""

    def __init__(self, binary: str, data_dir: str, env: dict, setup_link: bool = False):
        self.binary, self.data_dir, self.env = binary, data_dir, env
        self.log_path = os.path.join(data_dir, "server-stderr.log")
        self.base = self.setup_url = None
        self.wants_setup_link = setup_link
        self.output: "list[str]" = []
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [binary, "serve", "--data-dir", data_dir, "--listen", "127.0.0.1:0"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._log, text=True, env=env,
        )
        self._lines: "queue.Queue[str | None]" = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)  # end of output: the server exited

    def _ready(self) -> bool:
        return self.base is not None and (self.setup_url is not None or not self.wants_setup_link)

    def wait_until_ready(self, seconds: float = STARTUP_SECONDS):
        deadline = time.monotonic() + seconds
        while not self._ready():
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"the server did not get ready within {seconds} s; stdout so far: {self.output}")
            try:
                line = self._lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(f"the server exited with {self.proc.wait()}; stdout: {self.output}; stderr:\n{self.stderr_tail()}")
            self.output.append(line)
            m = re.match(r"Rampart is listening on (http://127\.0\.0\.1:\d+)", line)
            if m:
                self.base = m.group(1)
            m = re.search(r"(http://127\.0\.0\.1:\d+/setup\?token=[^\s]+)", line)
            if m:
                self.setup_url = m.group(1)

    def stderr_tail(self, lines: int = 20) -> str:
        try:
            with open(self.log_path) as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log.close()
