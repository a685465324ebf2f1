#!/usr/bin/env python3
"""End-to-end test of Rampart in headless Chromium: the real binary, a real browser."""

import argparse
import base64
import hashlib
import hmac
import os
import queue
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback

from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

PASSWORD = "a long and memorable passphrase"


def totp(secret: str, step: int) -> str:
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[19] & 0x0F
    code = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{code % 1_000_000:06d}"


class Server:
    def __init__(self, binary: str, data_dir: str, database: "str | None"):
        env = dict(os.environ, RAMPART_REQUIRE_TOTP_FOR_STAFF="true", RAMPART_LOG="warn")
        if database:
            env["RAMPART_DATABASE"] = database
        self.binary, self.data_dir, self.env = binary, data_dir, env
        self.proc = subprocess.Popen(
            [binary, "serve", "--data-dir", data_dir, "--listen", "127.0.0.1:0"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
        )
        lines: "queue.Queue[str]" = queue.Queue()
        threading.Thread(target=lambda: [lines.put(l) for l in self.proc.stdout], daemon=True).start()
        self.base = self.setup_url = None
        deadline = time.time() + 30
        while time.time() < deadline and self.base is None:
            try:
                line = lines.get(timeout=1)
            except queue.Empty:
                continue
            m = re.search(r"(http://\S+/setup\?token=\S+)", line)
            if m:
                self.setup_url = m.group(1)
            m = re.match(r"Rampart is listening on (http://\S+)", line)
            if m:
                self.base = m.group(1)
        if self.base is None:
            raise RuntimeError("the server did not start")

    def mailgate(self, message: str) -> str:
        out = subprocess.run([self.binary, "mailgate", "--data-dir", self.data_dir], input=message, capture_output=True, text=True, env=self.env, timeout=60)
        if out.returncode != 0:
            raise AssertionError(f"mailgate exited {out.returncode}: {out.stderr}")
        return out.stdout.strip()

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def browser(javascript: bool) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking "
                "--disable-component-update --disable-sync --disable-dev-shm-usage --window-size=1280,900").split():
        options.add_argument(arg)
    options.add_argument("--user-data-dir=" + tempfile.mkdtemp(prefix="rampart-chromium-"))
    if not javascript:
        options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


class Run:
    def __init__(self, binary: str, shots: str, database: "str | None"):
        self.shots = shots
        self.data = tempfile.mkdtemp(prefix="rampart-e2e-")
        self.server = Server(binary, self.data, database)
        self.staff = browser(javascript=True)
        self.citizen = browser(javascript=False)
        self.passed = 0
        self.state: dict = {}

    def shot(self, driver, name: str):
        path = os.path.join(self.shots, f"{self.passed + 1:02d}-{name}.png")
        driver.save_screenshot(path)
        return path

    def wait(self, driver, condition, seconds=15):
        # A form submission replaces the page; elements of the old one go stale meanwhile.
        return WebDriverWait(driver, seconds, ignored_exceptions=(StaleElementReferenceException, NoSuchElementException)).until(condition)

    def go(self, driver, path: str):
        driver.get(self.server.base + path)

    def sign_in(self, driver):
        self.go(driver, "/login")
        driver.find_element(By.NAME, "email").send_keys("chief@cert.example.tw")
        driver.find_element(By.NAME, "password").send_keys(PASSWORD)
        driver.find_element(By.ID, "login-submit").click()

    # Steps ---------------------------------------------------------------

    def first_admin_setup(self):
        d = self.staff
        d.get(self.server.setup_url)
        d.find_element(By.NAME, "email").send_keys("chief@cert.example.tw")
        d.find_element(By.NAME, "display_name").send_keys("Chief Analyst")
        d.find_element(By.NAME, "password").send_keys(PASSWORD)
        d.find_element(By.NAME, "confirm_password").send_keys(PASSWORD)
        d.find_element(By.ID, "setup-submit").click()
        self.wait(d, EC.url_contains("/login"))
        d.get(self.server.setup_url)
        assert not d.find_elements(By.ID, "setup-submit"), "the setup link works once"

    def sign_in_and_enrol_totp(self):
        d = self.staff
        self.sign_in(d)
        self.wait(d, EC.url_contains("/account/totp"))
        secret = d.find_element(By.ID, "totp-secret").text.strip()
        step = int(time.time()) // 30
        d.find_element(By.NAME, "code").send_keys(totp(secret, step))
        self.shot(d, "totp-enrol")
        d.find_element(By.ID, "totp-enrol-submit").click()
        self.wait(d, EC.presence_of_element_located((By.ID, "home-title")))
        self.state.update(secret=secret, step=step)

    def totp_challenge_at_next_sign_in(self):
        d = self.staff
        d.find_element(By.CSS_SELECTOR, 'form[action="/logout"] button').click()
        self.wait(d, EC.url_contains("/login"))
        self.sign_in(d)
        self.wait(d, EC.url_contains("/login/totp"))
        d.find_element(By.NAME, "code").send_keys("000000")
        d.find_element(By.ID, "totp-submit").click()
        self.wait(d, EC.presence_of_element_located((By.CSS_SELECTOR, ".flash-error")))
        # Each code is used once: wait for the step after the enrolment's.
        while int(time.time()) // 30 <= self.state["step"]:
            time.sleep(0.5)
        d.find_element(By.NAME, "code").send_keys(totp(self.state["secret"], int(time.time()) // 30))
        d.find_element(By.ID, "totp-submit").click()
        self.wait(d, EC.presence_of_element_located((By.ID, "home-title")))

    def switch_language(self):
        d = self.staff
        english = d.find_element(By.ID, "home-title").text
        Select(d.find_element(By.CSS_SELECTOR, "#language-form select[name=locale]")).select_by_value("zh-TW")
        d.find_element(By.CSS_SELECTOR, "#language-form button").click()
        self.wait(d, lambda drv: drv.find_element(By.TAG_NAME, "html").get_attribute("lang") == "zh-TW")
        chinese = d.find_element(By.ID, "home-title").text
        assert chinese != english and re.search(r"[\u4e00-\u9fff]", chinese), chinese
        self.shot(d, "home-zh-TW")
        Select(d.find_element(By.CSS_SELECTOR, "#language-form select[name=locale]")).select_by_value("en")
        d.find_element(By.CSS_SELECTOR, "#language-form button").click()
        self.wait(d, lambda drv: drv.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en")

    def citizen_reports_without_javascript(self):
        c = self.citizen
        self.go(c, "/report")
        assert c.execute_script is not None
        c.find_element(By.NAME, "title").send_keys("Fake tax refund text message")
        c.find_element(By.NAME, "description").send_keys("A text message sent me to hxxps://tax-refund-tw[.]example.com to enter my card.")
        c.find_element(By.NAME, "reporter_email").send_keys("citizen@example.tw")
        c.find_element(By.NAME, "affected").send_keys("tax-refund-tw.example.com")
        upload = os.path.join(self.data, "screenshot.txt")
        with open(upload, "w") as f:
            f.write("screenshot of the message")
        c.find_element(By.NAME, "attachments").send_keys(upload)
        c.find_element(By.ID, "report-submit").click()
        reference = self.wait(c, EC.presence_of_element_located((By.ID, "report-reference"))).text
        assert reference.startswith("RPT-"), reference
        self.state["status_url"] = c.find_element(By.ID, "status-link").get_attribute("href")
        self.shot(c, "report-received")

    def analyst_triages_into_an_incident(self):
        d = self.staff
        self.go(d, "/queue")
        d.find_element(By.CSS_SELECTOR, "a[href^='/reports/']").click()
        self.wait(d, EC.presence_of_element_located((By.ID, "triage-submit")))
        promote = d.find_elements(By.CSS_SELECTOR, "input[name=action][value=promote]")
        if promote:
            promote[0].click()
        else:
            Select(d.find_element(By.NAME, "action")).select_by_value("promote")
        Select(d.find_element(By.NAME, "rsit")).select_by_value("fraud/phishing")
        Select(d.find_element(By.NAME, "tw_level")).select_by_value("2")
        Select(d.find_element(By.NAME, "severity")).select_by_value("medium")
        d.find_element(By.ID, "triage-submit").click()
        self.wait(d, EC.presence_of_element_located((By.ID, "deadlines")))
        self.state["incident_url"] = d.current_url
        self.state["reference"] = re.search(r"INC-\d{4}-\d{6}", d.page_source).group(0)
        assert "tax-refund-tw.example.com" in d.page_source, "the report's observables are on the incident"

    def reply_by_mail_lands_on_the_incident(self):
        ref = self.state["reference"]
        message = (f"From: Citizen <citizen@example.tw>\r\nTo: cert@rampart.example.tw\r\nSubject: Re: [{ref}] Fake tax refund\r\n"
                   f"Message-ID: <e2e-{time.time()}@example.tw>\r\n\r\nI received another one from 203.0.113.55 today.\r\n")
        assert self.server.mailgate(message) == ref
        d = self.staff
        d.get(self.state["incident_url"])
        timeline = d.find_element(By.ID, "timeline").text
        assert "203.0.113.55" in timeline, timeline

    def deadlines_show_and_move_with_the_level(self):
        d = self.staff
        d.get(self.state["incident_url"])
        rows = d.find_elements(By.CSS_SELECTOR, "#deadlines [data-state]")
        assert rows, "deadline rows"
        before = [e.get_attribute("data-due") for e in d.find_elements(By.CSS_SELECTOR, "#deadlines [data-due]")]
        countdown = d.find_elements(By.CSS_SELECTOR, "#deadlines [data-due]")[0].text
        assert re.search(r"\d+h|\d+m|\d+s", countdown), f"the clock counts down: {countdown!r}"
        self.shot(d, "incident-level-2")
        Select(d.find_element(By.CSS_SELECTOR, "form[action$='/classify'] select[name=tw_level]")).select_by_value("4")
        d.find_element(By.ID, "classify-submit").click()
        self.wait(d, EC.presence_of_element_located((By.CSS_SELECTOR, ".flash-ok")))
        after = [e.get_attribute("data-due") for e in d.find_elements(By.CSS_SELECTOR, "#deadlines [data-due]")]
        assert before != after, f"deadlines moved: {before} -> {after}"
        self.shot(d, "incident-level-4")
        self.citizen.get(self.state["status_url"])
        assert self.state["reference"] in self.citizen.page_source, "the reporter's status page names the incident"

    def close(self):
        for d in (self.staff, self.citizen):
            try:
                d.quit()
            except Exception:
                pass
        self.server.stop()
        shutil.rmtree(self.data, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--binary", default="target/debug/rampart")
    parser.add_argument("--screenshots", default=None)
    parser.add_argument("--database", default=None, help="postgres://… (an empty database); default: SQLite in a temporary folder")
    args = parser.parse_args()
    shots = args.screenshots or tempfile.mkdtemp(prefix="rampart-shots-")
    os.makedirs(shots, exist_ok=True)
    run = Run(os.path.abspath(args.binary), shots, args.database)
    steps = [
        ("first administrator sets up with the one-time link", run.first_admin_setup),
        ("sign-in requires TOTP enrolment for staff", run.sign_in_and_enrol_totp),
        ("the next sign-in asks for a TOTP code", run.totp_challenge_at_next_sign_in),
        ("the language switches to zh-TW and back", run.switch_language),
        ("a citizen reports through the form without JavaScript", run.citizen_reports_without_javascript),
        ("the analyst triages the report into an incident", run.analyst_triages_into_an_incident),
        ("a reply through the mailgate lands on the incident", run.reply_by_mail_lands_on_the_incident),
        ("deadlines show and move with the level", run.deadlines_show_and_move_with_the_level),
    ]
    failed = 0
    try:
        for name, step in steps:
            try:
                step()
                run.passed += 1
                print(f"ok - {name}", flush=True)
            except Exception:
                failed = 1
                print(f"not ok - {name}", flush=True)
                traceback.print_exc()
                for label, d in (("staff", run.staff), ("citizen", run.citizen)):
                    try:
                        print(f"  {label} at {d.current_url}; screenshot {run.shot(d, 'failure-' + label)}")
                    except Exception:
                        pass
                break
    finally:
        run.close()
    print(f"screenshots in {shots}")
    print(f"{run.passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
