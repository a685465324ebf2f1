#!/usr/bin/env python3
"""End-to-end test of Rampart in headless Chromium: the real binary, a real browser.

Starts `rampart serve` on a fresh data directory (SQLite, or an empty PostgreSQL
database with --database), then drives it like a person would: first-administrator
setup from the one-time link, sign-in with TOTP enrolment and challenge, the language
switch, a citizen's report filed without JavaScript, its triage into an incident, a
reply through `rampart mailgate`, and the deadline clocks.

Prints `ok - <step>` per passed step (and where its screenshot is) and ends with
`N passed, M failed`; exits 1 on the first failure.
"""

import argparse
import base64
import hashlib
import hmac
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import traceback

import rampart_server
from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM_ARGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--window-size=1280,900",
)
WAIT_SECONDS = 15  # for a page or an element to appear

ADMIN_EMAIL = "chief@cert.example.tw"
ADMIN_NAME = "Chief Analyst"
PASSWORD = "a long and memorable passphrase"  # ≥ 12 characters
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


# TOTP (RFC 6238) ---------------------------------------------------------------

def totp(secret: str, step: int) -> str:
    """The 6-digit HMAC-SHA1 code of a base32 secret for a 30-second time step."""
    secret = re.sub(r"[\s=]", "", secret).upper()
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    code = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
    return f"{code % 1_000_000:06d}"


def current_step() -> int:
    return int(time.time()) // 30


def fresh_step(after: int = -1, margin: float = 3.0) -> int:
    """A time step later than `after` with at least `margin` seconds of it left, so that
    a code typed now is still current when the server checks it."""
    while True:
        now = time.time()
        step = int(now) // 30
        if step > after and (step + 1) * 30 - now >= margin:
            return step
        time.sleep(min(1.0, max(0.05, (step + 1) * 30 - now)))


# The server --------------------------------------------------------------------

class Server(rampart_server.Server):
    """The shared server, with TOTP required of staff (as the defaults have it), and the mailgate."""

    def __init__(self, binary: str, data_dir: str, database: "str | None"):
        env = dict(os.environ, RAMPART_REQUIRE_TOTP_FOR_STAFF="true", RAMPART_LOG="warn")
        if database:
            env["RAMPART_DATABASE"] = database
        super().__init__(binary, data_dir, env, setup_link=True)

    def mailgate(self, message: str) -> str:
        out = subprocess.run([self.binary, "mailgate", "--data-dir", self.data_dir], input=message,
                             capture_output=True, text=True, env=self.env, timeout=60)
        if out.returncode != 0:
            raise AssertionError(f"mailgate exited {out.returncode}: {out.stderr}")
        return out.stdout.strip()


# The browser -------------------------------------------------------------------

class Browser:
    """Headless Chromium through Debian's chromedriver (Selenium Manager never runs)."""

    def __init__(self, javascript: bool = True):
        self.profile = tempfile.mkdtemp(prefix="rampart-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for arg in CHROMIUM_ARGS:
            options.add_argument(arg)
        options.add_argument("--user-data-dir=" + self.profile)
        if not javascript:
            options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
        self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)

    def quit(self):
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)


def wait(driver, condition, seconds: float = WAIT_SECONDS):
    # While a submission replaces the page, elements of the old one go stale or vanish.
    return WebDriverWait(driver, seconds, ignored_exceptions=(StaleElementReferenceException, NoSuchElementException)).until(condition)


def gone(element):
    """Wait condition: `element` no longer belongs to the page (the browser navigated away).
    Besides a stale-element error, chromedriver may answer with an inspector error."""
    def check(_driver):
        try:
            element.tag_name
            return False
        except StaleElementReferenceException:
            return True
        except WebDriverException as e:
            if "does not belong to the document" in str(e) or "no such element" in str(e):
                return True
            raise
    return check


def submit(driver, css: str):
    """Click the submit button `css` and wait until the browser has left the current page."""
    page = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.CSS_SELECTOR, css).click()
    wait(driver, gone(page))


def fill(driver, **fields: str):
    for name, value in fields.items():
        box = driver.find_element(By.NAME, name)
        box.clear()
        box.send_keys(value)


def path_of(driver) -> str:
    return re.sub(r"^https?://[^/]+", "", driver.current_url)


def on_path(path: str):
    """Wait condition: the current URL's path (without query) is exactly `path`."""
    return lambda d: path_of(d).split("?")[0].split("#")[0] == path


def html_lang(driver) -> str:
    return driver.find_element(By.TAG_NAME, "html").get_attribute("lang")


# The test ----------------------------------------------------------------------

class Run:
    def __init__(self, binary: str, shots: str, database: "str | None"):
        self.binary, self.shots, self.database = binary, shots, database
        self.data = tempfile.mkdtemp(prefix="rampart-e2e-")
        self.server: "Server | None" = None
        self.staff: "Browser | None" = None
        self.citizen: "Browser | None" = None
        self.passed = 0
        self.secret = ""
        self.enrol_step = -1
        self.state: dict = {}

    @property
    def d(self):
        return self.staff.driver

    @property
    def c(self):
        return self.citizen.driver

    def go(self, driver, path: str):
        driver.get(self.server.base + path)

    def shot(self, driver, name: str) -> str:
        path = os.path.join(self.shots, f"{self.passed + 1:02d}-{name}.png")
        driver.save_screenshot(path)
        return path

    def sign_in_with_password(self):
        self.go(self.d, "/login")
        fill(self.d, email=ADMIN_EMAIL, password=PASSWORD)
        submit(self.d, "#login-submit")

    # Steps: each returns the browser to screenshot afterwards, or None ---------

    def start(self):
        if not os.access(self.binary, os.X_OK):
            raise AssertionError(f"no executable server binary at {self.binary}")
        self.server = Server(self.binary, self.data, self.database)
        self.server.wait_until_ready()
        self.staff = Browser(javascript=True)
        self.citizen = Browser(javascript=False)
        print(f"  # server at {self.server.base}", flush=True)
        return None

    def setup_form_opens(self):
        self.d.get(self.server.setup_url)
        wait(self.d, EC.visibility_of_element_located((By.ID, "setup-submit")))
        for name in ("email", "display_name", "password", "confirm_password"):
            self.d.find_element(By.NAME, name)
        return self.d

    def first_admin_is_created(self):
        fill(self.d, email=ADMIN_EMAIL, display_name=ADMIN_NAME, password=PASSWORD, confirm_password=PASSWORD)
        submit(self.d, "#setup-submit")
        wait(self.d, on_path("/login"))
        wait(self.d, EC.visibility_of_element_located((By.ID, "login-submit")))
        return self.d

    def setup_link_works_once(self):
        self.d.get(self.server.setup_url)
        wait(self.d, EC.presence_of_element_located((By.TAG_NAME, "main")))
        assert not self.d.find_elements(By.ID, "setup-submit"), "the setup form is offered a second time"
        body = self.d.find_element(By.TAG_NAME, "body").text
        assert "404" in body, f"expected a 404 page, got: {body[:300]!r}"
        return self.d

    def sign_in_requires_totp_enrolment(self):
        self.sign_in_with_password()
        wait(self.d, on_path("/account/totp"))
        self.secret = wait(self.d, EC.visibility_of_element_located((By.ID, "totp-secret"))).text.strip()
        assert re.fullmatch(r"[A-Z2-7 ]{16,}=*", self.secret), f"not a base32 secret: {self.secret!r}"
        return self.d

    def enrolment_with_a_valid_code(self):
        self.enrol_step = fresh_step()
        fill(self.d, code=totp(self.secret, self.enrol_step))
        submit(self.d, "#totp-enrol-submit")
        wait(self.d, on_path("/"))
        title = wait(self.d, EC.visibility_of_element_located((By.ID, "home-title"))).text
        assert title.strip(), "the home page has a title"
        return self.d

    def sign_out(self):
        submit(self.d, 'form[action="/logout"] button')
        wait(self.d, on_path("/login"))
        wait(self.d, EC.visibility_of_element_located((By.ID, "login-submit")))
        return self.d

    def wrong_totp_code_is_refused(self):
        self.sign_in_with_password()
        wait(self.d, on_path("/login/totp"))
        step = current_step()
        valid = {totp(self.secret, s) for s in range(step - 2, step + 3)}
        wrong = next(c for c in ("000000", "123456", "999999", "314159") if c not in valid)
        fill(self.d, code=wrong)
        submit(self.d, "#totp-submit")
        flash = wait(self.d, EC.visibility_of_element_located((By.CSS_SELECTOR, '[class*="flash"]')))
        assert "error" in (flash.get_attribute("class") or ""), f"not an error flash: class={flash.get_attribute('class')!r}"
        assert on_path("/login/totp")(self.d), f"left the TOTP challenge for {self.d.current_url}"
        assert self.d.find_elements(By.ID, "totp-submit"), "the challenge form is offered again"
        print(f"  # flash: {flash.text!r}", flush=True)
        return self.d

    def totp_code_of_the_next_step_signs_in(self):
        # A code's time step can be used once per user and enrolment used one: wait for the next.
        step = fresh_step(after=self.enrol_step)
        fill(self.d, code=totp(self.secret, step))
        submit(self.d, "#totp-submit")
        wait(self.d, on_path("/"))
        wait(self.d, EC.visibility_of_element_located((By.ID, "home-title")))
        return self.d

    def choose_language(self, locale: str):
        Select(self.d.find_element(By.CSS_SELECTOR, "form#language-form select[name=locale]")).select_by_value(locale)
        submit(self.d, "form#language-form button")
        wait(self.d, lambda d: html_lang(d) == locale)
        wait(self.d, on_path("/"))
        return wait(self.d, EC.visibility_of_element_located((By.ID, "home-title"))).text

    def language_switches_to_zh_tw(self):
        assert html_lang(self.d) == "en", f"lang={html_lang(self.d)!r} before the switch"
        english = self.d.find_element(By.ID, "home-title").text
        chinese = self.choose_language("zh-TW")
        assert chinese != english, f"the title stayed {english!r}"
        assert CJK.search(chinese), f"no CJK characters in {chinese!r}"
        self.state["english_title"] = english
        print(f"  # home title: {english!r} -> {chinese!r}", flush=True)
        return self.d

    def language_switches_back_to_en(self):
        english = self.choose_language("en")
        assert english == self.state["english_title"], f"{english!r} != {self.state['english_title']!r}"
        return self.d

    def citizen_reports_without_javascript(self):
        c = self.c
        self.go(c, "/report")
        wait(c, EC.visibility_of_element_located((By.ID, "report-submit")))
        assert "js" not in (c.find_element(By.TAG_NAME, "html").get_attribute("class") or "").split(), "JavaScript ran"
        fill(c, title="Fake tax refund text message",
             description="A text message sent me to hxxps://tax-refund-tw[.]example.com to enter my card.",
             reporter_email="citizen@example.tw", affected="tax-refund-tw.example.com")
        upload = os.path.join(self.data, "screenshot.txt")
        with open(upload, "w") as f:
            f.write("screenshot of the message")
        c.find_element(By.NAME, "attachments").send_keys(upload)
        submit(c, "#report-submit")
        reference = wait(c, EC.visibility_of_element_located((By.ID, "report-reference"))).text.strip()
        assert reference.startswith("RPT-"), reference
        self.state["status_url"] = c.find_element(By.ID, "status-link").get_attribute("href")
        return c

    def analyst_triages_into_an_incident(self):
        d = self.d
        self.go(d, "/queue")
        wait(d, EC.element_to_be_clickable((By.CSS_SELECTOR, "#reports-table a[href^='/reports/']"))).click()
        wait(d, EC.visibility_of_element_located((By.ID, "triage-submit")))
        d.find_element(By.CSS_SELECTOR, "input[name=action][value=promote]").click()
        Select(d.find_element(By.NAME, "rsit")).select_by_value("fraud/phishing")
        Select(d.find_element(By.NAME, "tw_level")).select_by_value("2")
        Select(d.find_element(By.NAME, "severity")).select_by_value("medium")
        submit(d, "#triage-submit")
        wait(d, EC.visibility_of_element_located((By.ID, "deadlines")))
        self.state["incident_url"] = d.current_url
        self.state["reference"] = d.find_element(By.ID, "incident-reference").text.strip()
        assert re.fullmatch(r"INC-\d{4}-\d{6}", self.state["reference"]), self.state["reference"]
        assert "tax-refund-tw.example.com" in d.find_element(By.ID, "observables").text, "the report's observables are on the incident"
        return d

    def reply_by_mail_lands_on_the_incident(self):
        ref = self.state["reference"]
        message = (f"From: Citizen <citizen@example.tw>\r\nTo: cert@rampart.example.tw\r\nSubject: Re: [{ref}] Fake tax refund\r\n"
                   f"Message-ID: <e2e-{time.time()}@example.tw>\r\n\r\nI received another one from 203.0.113.55 today.\r\n")
        assert self.server.mailgate(message) == ref
        self.d.get(self.state["incident_url"])
        timeline = wait(self.d, EC.visibility_of_element_located((By.ID, "timeline")))
        assert "203.0.113.55" in timeline.text, timeline.text
        self.d.execute_script("arguments[0].scrollIntoView()", timeline)  # for the screenshot
        return self.d

    def deadlines_show_and_move_with_the_level(self):
        d = self.d
        d.get(self.state["incident_url"])
        wait(d, EC.presence_of_element_located((By.CSS_SELECTOR, "#deadlines [data-state]")))
        due = lambda: [e.get_attribute("data-due") for e in d.find_elements(By.CSS_SELECTOR, "#deadlines [data-due]")]
        before = due()
        assert before, "no running deadline clock"
        # rampart.js replaces the due time with a live countdown such as "2h 14m 05s".
        wait(d, lambda d: re.search(r"\d+h \d+m", d.find_element(By.CSS_SELECTOR, "#deadlines [data-due]").text))
        Select(d.find_element(By.CSS_SELECTOR, "form[action$='/classify'] select[name=tw_level]")).select_by_value("4")
        submit(d, "#classify-submit")
        wait(d, EC.visibility_of_element_located((By.CSS_SELECTOR, ".flash-ok")))
        after = due()
        assert before != after, f"the deadlines did not move: {before} -> {after}"
        self.c.get(self.state["status_url"])
        shown = wait(self.c, EC.visibility_of_element_located((By.ID, "report-incident-reference"))).text.strip()
        assert shown == self.state["reference"], f"the reporter's status page names {shown!r}"
        return d

    def close(self):
        for browser in (self.staff, self.citizen):
            if browser:
                try:
                    browser.quit()
                except Exception:
                    pass
        if self.server:
            self.server.stop()
        shutil.rmtree(self.data, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default="target/debug/rampart", help="the rampart server binary (default: %(default)s)")
    parser.add_argument("--screenshots", default=None, help="folder for the PNG screenshots (default: a new temporary folder)")
    parser.add_argument("--database", default=None, help="postgres://… (an empty database); default: SQLite in a temporary folder")
    args = parser.parse_args()
    shots = os.path.abspath(args.screenshots or tempfile.mkdtemp(prefix="rampart-shots-"))
    os.makedirs(shots, exist_ok=True)
    run = Run(os.path.abspath(args.binary), shots, args.database)
    steps = [
        ("the server starts and prints its one-time setup link", run.start),
        ("the setup link opens the first-administrator form", run.setup_form_opens),
        ("the first administrator is created and sent to sign-in", run.first_admin_is_created),
        ("the setup link cannot be used twice", run.setup_link_works_once),
        ("staff sign-in requires TOTP enrolment", run.sign_in_requires_totp_enrolment),
        ("enrolment with a valid code leads home", run.enrolment_with_a_valid_code),
        ("signing out returns to the sign-in page", run.sign_out),
        ("the next sign-in asks for a TOTP code and refuses a wrong one", run.wrong_totp_code_is_refused),
        ("a code of the next time step signs in", run.totp_code_of_the_next_step_signs_in),
        ("the language switches to zh-TW", run.language_switches_to_zh_tw),
        ("the language switches back to en", run.language_switches_back_to_en),
        ("a citizen reports through the form without JavaScript", run.citizen_reports_without_javascript),
        ("the analyst triages the report into an incident", run.analyst_triages_into_an_incident),
        ("a reply through the mailgate lands on the incident", run.reply_by_mail_lands_on_the_incident),
        ("deadlines show and move with the level", run.deadlines_show_and_move_with_the_level),
    ]
    failed = 0
    try:
        for name, step in steps:
            slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:48]
            try:
                browser = step()
                shot = run.shot(browser, slug) if browser else None
            except Exception:
                failed = 1
                print(f"not ok - {name}", flush=True)
                # chromedriver's native stack (lines "#0 0x55…") says nothing about the test.
                print(re.sub(r"(?m)^(Stacktrace:\n)?#\d+ 0x[0-9a-f]+ .*\n", "", traceback.format_exc()), end="")
                for label, b in (("staff", run.staff), ("citizen", run.citizen)):
                    if b:
                        try:
                            print(f"  # {label} browser at {b.driver.current_url} (page title {b.driver.title!r}); "
                                  f"screenshot {run.shot(b.driver, 'failure-' + label)}")
                        except Exception as e:
                            print(f"  # {label} browser: no screenshot ({e.__class__.__name__})")
                if run.server:
                    tail = run.server.stderr_tail()
                    if tail:
                        print("  # server stderr (last lines):\n" + "".join("  #   " + l for l in tail.splitlines(True)))
                break
            run.passed += 1
            print(f"ok - {name}", flush=True)
            if shot:
                print(f"  # screenshot: {shot}", flush=True)
    finally:
        run.close()
    print(f"screenshots in {shots}")
    print(f"{run.passed} passed, {failed} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
