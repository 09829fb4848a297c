"""Browser tests of the screen pad page and the hall status page (issue 14), in real headless
Chromium (Debian's chromium + chromium-driver) driven by Selenium, against the real evaluatord
binary, with a real HTTP receiver on 127.0.0.1 as the central store.

Run by `make test` (scripts/test-browser.sh). Skipped (reported by unittest) where Chromium,
chromedriver or Selenium are missing; in CI they are installed and every test runs.
SCREENSHOTS_DIR=docs/screenshots also writes the pictures the README shows.
"""
import http.server
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request
import zlib

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
EVALUATORD = os.environ.get("EVALUATORD", os.path.join(ROOT, ".build", "debug", "evaluatord"))
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    HAVE_SELENIUM = True
except ImportError:
    HAVE_SELENIUM = False

READY = HAVE_SELENIUM and CHROMIUM and CHROMEDRIVER and os.access(EVALUATORD, os.X_OK)
WHY = "needs chromium, chromium-driver, selenium (pip) and a built evaluatord"

API_TOKEN = "queue-0123456789abcdefghijklmnopqrstuvwxyz"
READ_TOKEN = "hall-it-0123456789abcdefghijklmnopqrstuvwxyz"
PAD_TOKEN = "tablet-T1-0123456789abcdefghijklmnopqrstuvwxyz"
ADMIN_TOKEN = "admin-0123456789abcdefghijklmnopqrstuvwxyz"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def portrait_png(path, w=160, h=200):
    """A staff photo placeholder: a head-and-shoulders silhouette on blue, as a real PNG."""
    rows = []
    for y in range(h):
        row = bytearray([0])
        for x in range(w):
            head = (x - w / 2) ** 2 + (y - h * 0.38) ** 2 < (w * 0.2) ** 2
            body = y > h * 0.62 and abs(x - w / 2) < w * 0.38 - (h - y) * 0.15
            row += bytes((245, 247, 250) if head or body else (96, 139, 190))
        rows.append(bytes(row))
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(b"".join(rows))) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


class Receiver:
    """The central store: accepts every batch, keeps its records."""

    def __init__(self):
        self.records = []
        lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with lock:
                    outer.records += json.loads(body).get("records", [])
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def rated(self, case_id):
        return [r for r in self.records if r.get("case_id") == case_id and r.get("outcome") == "rated"]


class Gateway:
    """evaluatord on a config of its own: a screen pad T1 at W03, a window without a pad."""

    def __init__(self, receiver_port):
        self.dir = tempfile.mkdtemp(prefix="evaluatord-browser-")
        self.port = free_port()
        self.api = "http://127.0.0.1:%d" % self.port
        os.makedirs(self.dir + "/photos")
        portrait_png(self.dir + "/photos/S2048.png")
        with open(self.dir + "/tokens", "w") as f:
            f.write("queue api %s\nhall-it read %s\nT1 pad:W03 %s\n" % (API_TOKEN, READ_TOKEN, PAD_TOKEN))
        os.chmod(self.dir + "/tokens", 0o600)
        # The admin token file beside the tokens file (issue 20): only admin sees pads' links.
        with open(self.dir + "/admin.token", "w") as f:
            f.write(ADMIN_TOKEN + "\n")
        os.chmod(self.dir + "/admin.token", 0o600)
        with open(self.dir + "/evaluatord.toml", "w") as f:
            f.write("""
[gateway]
id = "370211-hall-01"
region = "370211"
state_dir = "{d}/state"

[api]
listen = "127.0.0.1:{port}"
tokens_file = "{d}/tokens"

[session]
timeout_s = 60

[screen]
photo_dir = "{d}/photos"
heartbeat_s = 5

[reasons.dissatisfied]
207 = "等候时间过长"
208 = "服务态度不好"
209 = "一次告知不清"

[reasons.very_dissatisfied]
108 = "办事效率低"
109 = "要求重复提交材料"
110 = "服务态度恶劣"

[[window]]
id = "W01"
name = "不动产登记1号窗"
department = "自然资源局"

[[window]]
id = "W03"
name = "综合受理3号窗"
department = "行政审批服务局"
pad = {{ screen = "T1" }}

[uplink]
url = "http://127.0.0.1:{rport}/records"
flush_interval_ms = 100
backoff_initial_ms = 100
backoff_max_ms = 500
""".format(d=self.dir, port=self.port, rport=receiver_port))
        self.proc = None
        self.start()

    def start(self):
        self.log = open(self.dir + "/evaluatord.log", "a")
        self.proc = subprocess.Popen([EVALUATORD, "--config", self.dir + "/evaluatord.toml"], stdout=self.log, stderr=self.log)
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                urllib.request.urlopen(self.api + "/healthz", timeout=1)
                return
            except urllib.error.HTTPError:
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("evaluatord did not start: " + open(self.dir + "/evaluatord.log").read())

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.log.close()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.log.close()

    def call(self, method, path, body=None, token=API_TOKEN):
        req = urllib.request.Request(self.api + path, method=method, data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")


def eventually(cond, seconds=15):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


@unittest.skipUnless(READY, WHY)
class PagesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.receiver = Receiver()
        cls.gw = Gateway(cls.receiver.port)
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        for a in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--lang=zh-CN",
                  "--window-size=800,1280", "--hide-scrollbars", "--force-device-scale-factor=1"]:
            opts.add_argument(a)
        cls.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
        cls.driver.set_window_size(800, 1280)
        cls.shots = os.environ.get("SCREENSHOTS_DIR")
        if cls.shots:
            os.makedirs(cls.shots, exist_ok=True)
        cls.cases = 0

    @classmethod
    def tearDownClass(cls):
        cls.driver.quit()
        cls.gw.stop()
        cls.receiver.server.shutdown()

    # Helpers

    def open_pad(self):
        self.driver.get("%s/pad/W03?token=%s" % (self.gw.api, PAD_TOKEN))
        # Every state the page goes through, in order (a MutationObserver on body[data-state]).
        self.driver.execute_script("""
            window.__states = [document.body.getAttribute('data-state')];
            new MutationObserver(function () { window.__states.push(document.body.getAttribute('data-state')); })
              .observe(document.body, { attributes: true, attributeFilter: ['data-state'] });""")
        self.wait_state("idle")

    def state(self):
        return self.driver.find_element(By.TAG_NAME, "body").get_attribute("data-state")

    def states(self):
        return self.driver.execute_script("return window.__states || []")

    def wait_state(self, want, seconds=15):
        WebDriverWait(self.driver, seconds, poll_frequency=0.05).until(lambda d: self.state() == want,
                                                                        "page never reached %s (at %s)" % (want, self.state()))

    def text(self, css):
        return self.driver.find_element(By.CSS_SELECTOR, css).text

    def click(self, css):
        self.driver.find_element(By.CSS_SELECTOR, css).click()

    def new_case(self, **extra):
        PagesTest.cases += 1
        case = "2026-SD-%06d" % (800 + PagesTest.cases)
        body = {"case_id": case, "matter_name": "企业开办登记"}
        body.update(extra)
        code, answer = self.gw.call("POST", "/v1/windows/W03/evaluations", body)
        self.assertEqual(code, 201, answer)
        return case, answer

    def shot(self, name):
        if self.shots:
            self.driver.save_screenshot(os.path.join(self.shots, name))

    # Tests

    def test_1_rating_with_a_reason(self):
        """idle → an evaluation opened through the API → staff and matter shown → a bad level →
        reasons → one picked → thanks; upstream the record carries level, reason and channel."""
        self.assertEqual(self.gw.call("PUT", "/v1/windows/W03/staff",
                                      {"staff_id": "S2048", "name": "李娜", "title": "综合受理岗", "photo": "S2048.png"})[0], 200)
        self.open_pad()
        WebDriverWait(self.driver, 10).until(lambda d: self.text("#staff-name") == "李娜")
        self.shot("pad-idle-portrait.png")
        case, answer = self.new_case()
        self.assertTrue(answer["prompted"])
        self.wait_state("prompt")
        self.assertEqual(self.text("#staff-name"), "李娜")
        self.assertEqual(self.text("#staff-title"), "综合受理岗")
        self.assertEqual(self.text("#matter-name"), "企业开办登记")
        self.assertEqual(self.text("#case-id"), "*" * (len(case) - 4) + case[-4:])
        self.assertTrue(0 < int(self.text("#countdown")) <= 60)
        self.assertTrue(self.driver.execute_script("return document.getElementById('staff-photo').naturalWidth") > 0)
        self.shot("pad-prompt-portrait.png")
        self.click('[data-level="very_dissatisfied"]')
        self.wait_state("reason")
        codes = [b.get_attribute("data-reason") for b in self.driver.find_elements(By.CSS_SELECTOR, "[data-reason]")]
        self.assertEqual(codes, ["108", "109", "110"])
        self.shot("pad-reason-portrait.png")
        self.click('[data-reason="109"]')
        self.wait_state("thanks")
        states = self.states()
        self.assertLess(states.index("sending"), states.index("thanks"), states)
        self.assertTrue(eventually(lambda: self.receiver.rated(case)), "no record upstream")
        r = self.receiver.rated(case)[0]
        self.assertEqual((r["level"], r["reason"], r["channel"], r["pad"], r["staff_id"]),
                         ("very_dissatisfied", "109", "screen", "screen:T1", "S2048"))
        self.assertNotIn("needs_reason", r["flags"])
        self.wait_state("idle", 10)

    def test_2_written_reason_and_landscape(self):
        """A written reason (#reason-text, [data-submit-text]) is the reason; the page works at 1920×1080."""
        self.driver.set_window_size(1920, 1080)
        try:
            self.open_pad()
            case, _ = self.new_case()
            self.wait_state("prompt")
            self.shot("pad-prompt-landscape.png")
            self.click('[data-level="dissatisfied"]')
            self.wait_state("reason")
            self.driver.find_element(By.ID, "reason-text").send_keys("窗口只开了一个，排队一小时")
            self.click("[data-submit-text]")
            self.wait_state("thanks")
            self.assertTrue(eventually(lambda: self.receiver.rated(case)))
            r = self.receiver.rated(case)[0]
            self.assertEqual((r["level"], r["reason"], r["reason_text"]), ("dissatisfied", None, "窗口只开了一个，排队一小时"))
        finally:
            self.driver.set_window_size(800, 1280)

    def test_3_double_tap_is_one_rating(self):
        self.open_pad()
        case, _ = self.new_case()
        self.wait_state("prompt")
        # Two taps within the same frame, as a nervous finger does.
        self.driver.execute_script("var b = document.querySelector('[data-level=\"satisfied\"]'); b.click(); b.click();")
        self.wait_state("thanks")
        time.sleep(0.5)
        self.assertTrue(eventually(lambda: self.receiver.rated(case)))
        time.sleep(0.5)
        self.assertEqual(len(self.receiver.rated(case)), 1)
        self.assertEqual(self.gw.call("GET", "/v1/windows")[1]["windows"][1]["session"]["rated"], True)

    def test_4_reconnect_during_the_prompt_loses_nothing(self):
        """The gateway dies with a rating in flight (sent, never read); the page shows offline,
        reconnects by itself when the gateway is back and sends the rating again: one record."""
        self.open_pad()
        case, _ = self.new_case()
        self.wait_state("prompt")
        os.kill(self.gw.proc.pid, signal.SIGSTOP)
        self.click('[data-level="very_satisfied"]')
        self.wait_state("sending")
        self.gw.kill()  # SIGKILL while stopped: the rating was never read
        self.wait_state("offline")
        self.assertNotIn("thanks", self.states())
        self.gw.start()
        self.wait_state("thanks", 30)
        self.assertTrue(eventually(lambda: self.receiver.rated(case)))
        time.sleep(0.5)
        rated = self.receiver.rated(case)
        self.assertEqual(len(rated), 1)
        self.assertEqual(rated[0]["level"], "very_satisfied")
        self.assertIn("restored", rated[0]["flags"])

    def test_5_no_thanks_when_refused(self):
        """The rating arrives after the evaluation's time (the gateway was frozen meanwhile): it is
        refused, and the page never shows thanks."""
        self.open_pad()
        case, _ = self.new_case(timeout_s=2)
        self.wait_state("prompt")
        os.kill(self.gw.proc.pid, signal.SIGSTOP)
        try:
            self.click('[data-level="basic"]')
            self.wait_state("sending")
            time.sleep(2.5)
        finally:
            os.kill(self.gw.proc.pid, signal.SIGCONT)
        WebDriverWait(self.driver, 10).until(lambda d: self.state() in ("idle", "paused"))
        time.sleep(1)
        self.assertNotIn("thanks", self.states())
        # expired (the rating was read first) or not open (the session clock ended it first).
        self.assertRegex(self.text("#notice"), "评价时间已过|评价未能提交")
        self.assertEqual(self.receiver.rated(case), [])

    def test_6_hall_status_page(self):
        """/ui with a read token: every window, no pad's link (only admin sees them, issue 20);
        with the admin token the screen pad's address with its token as a QR code — and that
        address opens the pad page."""
        self.driver.set_window_size(1440, 900)
        try:
            self.driver.get("%s/ui?token=%s" % (self.gw.api, READ_TOKEN))
            WebDriverWait(self.driver, 15).until(lambda d: d.find_elements(By.CSS_SELECTOR, '[data-window="W03"]'))
            WebDriverWait(self.driver, 15).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".pads-admin-only"))
            self.assertIn("管理员", self.text(".pads-admin-only"))
            self.assertFalse(self.driver.find_elements(By.CSS_SELECTOR, '[data-pad-window="W03"]'))
            self.assertNotIn(PAD_TOKEN, self.driver.page_source)
            self.driver.get("%s/ui?token=%s" % (self.gw.api, ADMIN_TOKEN))
            WebDriverWait(self.driver, 15).until(lambda d: d.find_elements(By.CSS_SELECTOR, '[data-window="W03"]'))
            self.assertTrue(self.driver.find_elements(By.CSS_SELECTOR, '[data-window="W01"]'))
            row = self.text('[data-window="W03"]')
            self.assertIn("李娜", row)
            # No pad page is open now: the screen pad is offline, and that row comes first.
            self.assertIn("离线", row)
            first = self.driver.find_element(By.CSS_SELECTOR, "#windows tr")
            self.assertEqual((first.get_attribute("data-window"), first.get_attribute("class")), ("W03", "problem"))
            self.assertTrue(self.driver.find_elements(By.CSS_SELECTOR, '[data-pad-window="W03"] svg path'))
            url = self.text('[data-pad-window="W03"] .addr')
            self.assertEqual(url, "%s/pad/W03?token=%s" % (self.gw.api, PAD_TOKEN))
            self.shot("status-page.png")
            # Problems in Chinese for hall staff; the operator's code and English detail on hover.
            item = self.driver.find_element(By.CSS_SELECTOR, '#problems li[data-code="pad_absent"]')
            self.assertIn("评价器未连接", item.text)
            self.assertTrue(item.get_attribute("title").startswith("pad_absent: pad "), item.get_attribute("title"))
            self.assertNotIn("is not attached", item.text)
            # Fits 800 px and 1920 px without sideways scrolling; no window name broken a
            # character per line (its cell is wider than two characters).
            for width, name in [(800, "status-800.png"), (1920, "status-1920.png")]:
                self.driver.set_window_size(width, 1000 if width == 800 else 1080)
                WebDriverWait(self.driver, 15).until(lambda d: d.find_elements(By.CSS_SELECTOR, '[data-window="W03"]'))
                over = self.driver.execute_script("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
                self.assertLessEqual(over, 0, "the page scrolls sideways by %s px at %s px" % (over, width))
                cells = self.driver.execute_script("""return Array.from(document.querySelectorAll('#windows tr td:first-child'))
                    .map(function (td) { var r = document.createRange(); r.selectNodeContents(td);
                        return [td.textContent, r.getClientRects().length, td.clientWidth]; })""")
                for text, lines, w in cells:
                    self.assertGreater(w, 40, "window name cell %r is %s px wide at %s px" % (text, w, width))
                    self.assertLessEqual(lines, 2, "window name %r takes %s lines at %s px" % (text, lines, width))
                self.shot(name)
            self.driver.set_window_size(1440, 900)
            # Without a token the page is refused.
            code = self.gw.call("GET", "/ui", token="x" * 40)[0]
            self.assertEqual(code, 401)
            self.driver.get(url)
            self.wait_state("idle")
            pads = self.gw.call("GET", "/v1/status", token=READ_TOKEN)[1]["pads"]
            self.assertTrue(eventually(lambda: [p["state"] for p in self.gw.call("GET", "/v1/status", token=READ_TOKEN)[1]["pads"]
                                                if p["pad"] == "screen:T1"] == ["attached"]), pads)
        finally:
            self.driver.set_window_size(800, 1280)

    def test_7_pairing(self):
        """Pairing (issue 20): admin's code in the address → the page trades it for the pad's
        secret, keeps it in localStorage and removes the code from the address bar; the page
        opened again without anything in its address still connects; a new pairing elsewhere
        revokes it and the page goes offline."""
        code, issued = self.gw.call("POST", "/v1/pads/W03/pair", {"address": "127.0.0.1:%d" % self.gw.port}, token=ADMIN_TOKEN)
        self.assertEqual(code, 201, issued)
        self.assertEqual(self.gw.call("POST", "/v1/pads/W03/pair", {}, token=API_TOKEN)[0], 403)
        self.driver.get(issued["url"])
        self.wait_state("idle")
        self.assertNotIn("pair=", self.driver.current_url)
        secret = self.driver.execute_script("return localStorage.getItem('evaluatord.pad.W03')")
        self.assertTrue(secret and secret.startswith("pad-"), secret)
        with open(self.gw.dir + "/state/pads.paired") as f:
            self.assertNotIn(secret, f.read())
        # The same code again (another tablet) is refused.
        self.assertEqual(self.gw.call("POST", "/pad/W03/pair", {"code": issued["code"]}, token="")[0], 403)
        self.driver.get("%s/pad/W03" % self.gw.api)
        self.wait_state("idle")
        # Paired again elsewhere: this tablet's secret is revoked, its socket closed.
        _, again = self.gw.call("POST", "/v1/pads/W03/pair", {}, token=ADMIN_TOKEN)
        self.assertEqual(self.gw.call("POST", "/pad/W03/pair", {"code": again["code"]}, token="")[0], 200)
        self.wait_state("offline")
        self.driver.execute_script("localStorage.clear()")


if __name__ == "__main__":
    unittest.main(verbosity=2)
