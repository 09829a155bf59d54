#!/usr/bin/env python3
"""Drives the web console (`/console`) in headless Chromium with Selenium (PyPI) and Debian's
chromium + chromium-driver.

Usage: console_browser.py [--bin-dir target/release] --screenshots DIR

Starts the bench crate's fake OpenAI upstream (`astra-bench fake`, which answers `#tool` with a
`calculator` call) and `astra` on a temporary SQLite data directory, then, as a person would:
registers in the console, onboards a workspace, chats with `chad` (the reply streams and the
tool card appears), tries XSS in a message and in an agent name (both must render as text),
stops a slowly streaming reply (`#chunk=MS`: the stream ends and the turn's trace says
`cancelled`), creates and edits an agent (field errors, a new version and its diff), opens the
costs page (a non-zero chart and the monthly token budget burn-down), a trace's waterfall,
sessions and operations (the members list shows the owner), looks at a page on a phone-sized
screen, reloads (the session comes back from the HttpOnly cookie; no token is ever in the
URL) and signs out. A screenshot of each
page goes to --screenshots. Prints one line per check and a closing
`console-browser: N passed, N failed`; exits non-zero on any failure.
"""

import argparse
import pathlib
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from harness import default_bin_dir, run_against_gateway

XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'
PASSWORD = "console-browser-pass"


def browser():
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1100,760", "--no-first-run", "--disable-extensions"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)


class Console:
    """The steps of the walk-through, sharing one browser."""

    def __init__(self, driver, base, shots, work):
        self.d = driver
        self.base = base
        self.shots = shots
        self.work = work
        self.wait = WebDriverWait(driver, 30)
        self.email = f"browser-{int(time.time())}@example.com"

    # -- helpers
    def el(self, css):
        return self.wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, css)))

    def visible(self, css):
        return self.wait.until(EC.visibility_of_element_located((By.CSS_SELECTOR, css)))

    def text_in(self, css, text):
        self.wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, css), text))

    def fill(self, css, value):
        e = self.visible(css)
        e.clear()
        e.send_keys(value)

    def shot(self, name):
        self.d.save_screenshot(str(self.shots / f"{name}.png"))

    def go(self, route):
        self.d.get(f"{self.base}/console/#/{route}")

    def no_token_in_url(self):
        url = self.d.current_url
        assert "token" not in url.lower() and "eyJ" not in url, url

    def errors_in_log(self):
        return [e for e in self.d.get_log("browser") if e["level"] == "SEVERE"]

    # -- steps
    def register(self):
        self.d.get(f"{self.base}/console")
        self.el("form[aria-label='Sign in']")
        self.shot("01-sign-in")
        self.visible("#tab-register").click()
        self.el("form[aria-label='Register']")
        self.fill("#f-email", self.email)
        self.fill("#f-password", PASSWORD)
        self.visible("#auth-submit").click()
        self.text_in("main h1", "Create your workspace")
        self.no_token_in_url()

    def onboard(self):
        self.fill("#ws-name", "Browser test")
        self.visible("main button[type='submit']").click()
        self.el("#chat-input")
        self.el("#agent-pick option[value='chad']")
        ws = self.visible("#workspace")
        assert "Browser test" in ws.text, ws.text

    def all_cookies(self):
        # Through DevTools: WebDriver's own list holds only cookies whose path covers the page.
        return self.d.execute_cdp_cmd("Network.getAllCookies", {})["cookies"]

    def the_refresh_cookie_is_http_only_strict_and_secure(self):
        cookies = {c["name"]: c for c in self.all_cookies()}
        c = cookies.get("astra_console_refresh")
        assert c, cookies
        assert c["httpOnly"] and c["secure"] and c["sameSite"] == "Strict", c
        assert c["path"] == "/console/session", c
        # The page's script cannot read it, and keeps nothing in localStorage.
        assert self.d.execute_script("return document.cookie") == ""
        assert self.d.execute_script("return window.localStorage.length") == 0

    def chat_streams_with_a_tool_card(self):
        self.fill("#chat-input", "What is 6*7? #tool")
        self.visible("#send").click()
        card = self.el(".msg.assistant details.tool[data-tool='calculator']")
        self.el(".msg.assistant .usage")
        text = self.visible(".msg.assistant .text").text
        assert text.strip(), "empty reply"
        card.find_element(By.TAG_NAME, "summary").click()
        self.wait.until(lambda d: "done" in card.text)
        args = card.find_element(By.CSS_SELECTOR, "dd pre").text
        assert args and args != "…", args
        usage = self.visible(".msg.assistant .usage").text
        assert "completion tokens" in usage, usage
        self.shot("02-chat")

    def xss_in_a_message_is_text(self):
        self.fill("#chat-input", XSS)
        self.visible("#send").click()
        self.wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".msg.assistant .usage")) >= 2)
        users = self.d.find_elements(By.CSS_SELECTOR, ".msg.user .text")
        assert users[-1].text == XSS, users[-1].text
        assert not self.d.find_elements(By.CSS_SELECTOR, ".messages img, .messages script")
        assert self.d.execute_script("return window.__xss") is None

    def stop_cancels_a_streaming_turn(self):
        # The fake sends 60 words 400 ms apart (24 s): Stop must end it long before that.
        self.fill("#chat-input", "Tell me a long story #chunk=400 #tokens=60")
        self.visible("#send").click()
        stop = self.visible("#stop")
        last = ".msg.assistant:last-of-type .text"
        self.wait.until(lambda d: len(d.find_element(By.CSS_SELECTOR, last).text.strip("▍ ")) > 0)
        stop.click()
        self.text_in(".msg.assistant:last-of-type", "Stopped.")
        self.visible("#send")
        shown = self.d.find_element(By.CSS_SELECTOR, last).text
        time.sleep(1.5)  # three more chunks would have arrived by now
        assert self.d.find_element(By.CSS_SELECTOR, last).text == shown, "the reply kept streaming"
        assert "completion tokens" not in self.d.find_element(By.CSS_SELECTOR, ".msg.assistant:last-of-type").text
        # Server side: the turn ended as cancelled (its trace), not after the 24 s stream.
        deadline = time.monotonic() + 20
        while True:
            self.go("traces")
            self.el("#trace-list")
            statuses = [td.text for td in self.d.find_elements(By.CSS_SELECTOR, "#trace-list tbody td:nth-child(3)")]
            if "cancelled" in statuses:
                break
            assert time.monotonic() < deadline, statuses
            time.sleep(1)
        self.go("chat")
        self.el("#chat-input")

    def stop_and_new_session(self):
        self.visible("#new-session").click()
        self.wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, ".msg"))

    def agent_form_shows_field_errors(self):
        self.go("agents/new")
        self.fill("#f-id", "xss-agent")
        self.fill("#f-displayName", XSS)
        self.fill("#f-temperature", "7")
        self.visible("#save-agent").click()
        err = self.visible("#f-temperature-err")
        assert err.text, "no field error"
        assert self.visible("#f-temperature").get_attribute("aria-invalid") == "true"

    def xss_in_an_agent_name_is_text(self):
        self.fill("#f-temperature", "0.5")
        self.visible("#save-agent").click()
        self.text_in("main h1", "xss-agent")
        h1 = self.visible("main h1").text
        assert XSS in h1, h1
        self.go("agents")
        self.el("table.list")
        assert XSS in self.visible("table.list").text
        assert not self.d.find_elements(By.CSS_SELECTOR, "main img, main table script")
        assert self.d.execute_script("return window.__xss") is None

    def edit_agent_new_version_and_diff(self):
        self.go("agents/xss-agent")
        self.text_in("main h1", "v1")
        self.fill("#f-systemPromptTemplate", "You are a careful console test agent.")
        self.visible("#save-agent").click()
        self.text_in("main h1", "v2")
        self.wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "table.versions tbody tr")) >= 1)
        self.el("table.diff")
        self.wait.until(lambda d: any("careful console test agent" in td.text
                                      for td in d.find_elements(By.CSS_SELECTOR, "table.diff td.add")))
        assert self.d.find_elements(By.CSS_SELECTOR, "table.diff td.del")
        self.d.execute_script("document.querySelector('table.diff').scrollIntoView()")
        self.shot("03-agent-versions")
        self.go("agents")
        self.el("table.list")
        self.shot("04-agents")

    def costs_chart_is_not_zero(self):
        self.go("costs")
        self.el("#chart-day-tokens")
        bars = self.d.find_elements(By.CSS_SELECTOR, "#chart-day-tokens rect[data-value]")
        values = [float(b.get_attribute("data-value")) for b in bars]
        assert values and max(values) > 0, values
        heights = [float(b.get_attribute("height")) for b in bars]
        assert max(heights) > 0, heights
        agent_bars = self.d.find_elements(By.CSS_SELECTOR, "#chart-agent rect[data-value]")
        assert agent_bars, "no bar per agent"
        # Spend per day is stacked by model: each part names its provider/model, with a legend.
        parts = self.d.find_elements(By.CSS_SELECTOR, "#chart-day-cost rect[data-key]")
        keys = {p.get_attribute("data-key") for p in parts}
        assert keys and all("/" in k for k in keys), keys
        assert self.d.find_elements(By.CSS_SELECTOR, "#chart-day-cost g.legend"), "no legend"
        self.shot("05-costs")

    def budget_burn_down_renders(self):
        self.el("#chart-budget")
        points = [float(c.get_attribute("data-value"))
                  for c in self.d.find_elements(By.CSS_SELECTOR, "#chart-budget circle[data-value]")]
        assert points and points[-1] > 0 and points == sorted(points), points
        budget = self.d.find_element(By.CSS_SELECTOR, "#chart-budget line.budget")
        assert float(budget.get_attribute("data-value")) > points[-1]
        used = int(self.visible("#budget-used").text.replace(",", ""))
        assert used > 0, used
        rows = self.d.find_elements(By.CSS_SELECTOR, "#budget-table tbody tr")
        assert len(rows) == len(points), (len(rows), len(points))
        self.d.execute_script("document.getElementById('budget').scrollIntoView()")
        self.shot("05b-budget")

    def traces_waterfall_shows_the_turn(self):
        self.go("traces")
        self.el("#trace-list tbody tr")
        links = self.d.find_elements(By.CSS_SELECTOR, "#trace-list tbody a")
        links[-1].click()  # the oldest: the turn with the tool round
        self.el("#waterfall")
        self.el("#waterfall .span.inference")
        self.el("#waterfall .span.tool")
        assert len(self.d.find_elements(By.CSS_SELECTOR, "#waterfall .span.inference")) >= 2
        self.no_token_in_url()
        self.shot("06-trace-waterfall")

    def sessions_search_and_transcript(self):
        self.go("sessions")
        self.fill("#search", "careful")  # no match yet: the search itself works
        self.visible("form[role='search'] button").click()
        self.el("section[aria-label='Search results']")
        self.fill("#search", "calculator")
        self.fill("#search", "6*7")
        self.visible("form[role='search'] button").click()
        self.el("section[aria-label='Search results'] li mark")
        self.shot("07-sessions")
        self.d.find_elements(By.CSS_SELECTOR, "table.list tbody a")[0].click()
        self.el(".transcript .msg.user")
        assert XSS in self.visible(".transcript").text

    def operations_page(self):
        self.go("ops")
        self.el("section[aria-label='Webhooks']")
        self.el("section[aria-label='Members']")
        self.text_in("#restrictions", "providers any")
        self.text_in("#members tbody", self.email)
        row = self.d.find_element(By.CSS_SELECTOR, "#members tbody tr")
        assert self.email in row.text, row.text
        role = row.find_element(By.CSS_SELECTOR, "select.member-role")
        assert role.get_attribute("value") == "owner", role.get_attribute("value")
        assert self.visible("#your-role").text == "owner"
        # The last owner cannot be demoted: the refusal is shown and the list is unchanged.
        role.find_element(By.CSS_SELECTOR, "option[value='member']").click()
        self.visible("section[aria-label='Members'] p.error")
        self.wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#members select.member-role")
                        .get_attribute("value") == "owner")
        self.visible("#edit-restrictions").click()
        self.fill("#f-allowedProviders", "openai")
        self.visible("section[aria-label='Restrictions'] button[type='submit']").click()
        self.text_in("#restrictions", "providers openai; models any")
        self.d.execute_script("document.querySelector(\"section[aria-label='Members']\").scrollIntoView()")
        self.shot("08b-members")
        self.fill("#f-url", "http://127.0.0.1:9/console-hook")
        self.visible("section[aria-label='Webhooks'] button[type='submit']").click()
        self.text_in("section[aria-label='Webhooks']", "http://127.0.0.1:9/console-hook")
        self.el("section[aria-label='Webhooks'] .notice code")
        self.shot("08-operations")

    def phone_sized_screen(self):
        self.d.set_window_size(390, 844)
        try:
            self.go("costs")
            self.el("#chart-budget")
            menu = self.visible("button.menu")
            assert not self.d.find_element(By.ID, "nav").is_displayed()
            width, inner, wide = self.d.execute_script("""
                const w = window.innerWidth;
                const wide = [...document.querySelectorAll('body *')]
                  .filter((e) => e.getBoundingClientRect().right > w + 1)
                  .slice(0, 5).map((e) => `${e.tagName.toLowerCase()}#${e.id}.${e.className}`);
                return [document.documentElement.scrollWidth, w, wide];""")
            assert width <= inner, f"the page scrolls sideways: {width} > {inner} px: {wide}"
            self.shot("09-phone-costs")
            menu.click()
            self.visible("#nav a")
            self.shot("10-phone-menu")
        finally:
            self.d.set_window_size(1100, 760)

    def reload_resumes_from_the_cookie(self):
        self.d.refresh()
        self.el("#sign-out")
        self.no_token_in_url()

    def sign_out(self):
        self.visible("#sign-out").click()
        self.el("form[aria-label='Sign in']")
        self.d.refresh()
        self.el("form[aria-label='Sign in']")
        names = [c["name"] for c in self.all_cookies()]
        assert "astra_console_refresh" not in names, names

    def no_errors_in_the_console_log(self):
        # CSP violations and script errors are SEVERE; failed API calls a test provokes are
        # logged as network errors (4xx), which are expected here.
        bad = [e for e in self.errors_in_log() if "Content Security Policy" in e["message"]
               or "Uncaught" in e["message"]]
        assert not bad, bad

    def no_token_in_the_server_log(self):
        log = (self.work / "astra.log").read_text(errors="replace")
        assert "eyJ" not in log, "a JWT is in the server log"
        assert "astra_console_refresh=" not in log, "the refresh cookie is in the server log"


def run(base, shots, work, checks):
    d = browser()
    try:
        c = Console(d, base, shots, work)
        for name, fn in [
            ("register in the console", c.register),
            ("onboard a workspace", c.onboard),
            ("refresh cookie: HttpOnly, Secure, SameSite=Strict, unreadable",
             c.the_refresh_cookie_is_http_only_strict_and_secure),
            ("chat: streamed reply with a tool card and usage", c.chat_streams_with_a_tool_card),
            ("XSS in a message rendered as text", c.xss_in_a_message_is_text),
            ("stop cancels a streaming turn", c.stop_cancels_a_streaming_turn),
            ("new session", c.stop_and_new_session),
            ("agent form: field errors from details", c.agent_form_shows_field_errors),
            ("XSS in an agent name rendered as text", c.xss_in_an_agent_name_is_text),
            ("edit an agent: new version and its diff", c.edit_agent_new_version_and_diff),
            ("costs: non-zero chart", c.costs_chart_is_not_zero),
            ("costs: monthly token budget burn-down", c.budget_burn_down_renders),
            ("traces: waterfall of the turn", c.traces_waterfall_shows_the_turn),
            ("sessions: search with highlights and transcript", c.sessions_search_and_transcript),
            ("operations page: members list shows the owner", c.operations_page),
            ("phone-sized screen: one column and a menu", c.phone_sized_screen),
            ("reload resumes from the cookie, no token in the URL", c.reload_resumes_from_the_cookie),
            ("sign out", c.sign_out),
            ("no CSP violation or script error", c.no_errors_in_the_console_log),
            ("no token in the server log", c.no_token_in_the_server_log),
        ]:
            checks.run(name, fn)
            if checks.failed:
                try:
                    d.save_screenshot(str(shots / "failure.png"))
                except Exception:  # noqa: BLE001
                    pass
                break
    finally:
        d.quit()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin-dir", type=pathlib.Path, default=default_bin_dir())
    parser.add_argument("--screenshots", type=pathlib.Path, required=True)
    args = parser.parse_args()
    args.screenshots.mkdir(parents=True, exist_ok=True)
    print(f"binaries from {args.bin_dir}; screenshots in {args.screenshots}", flush=True)
    env = {"JWT_SECRET": "console-browser-test-secret-0123456789", "RUST_LOG": "info"}

    def body(base, work, checks):
        run(base, args.screenshots, work, checks)

    # `localhost`: a potentially trustworthy origin, where Chromium keeps `Secure` cookies even
    # over plain http.
    return run_against_gateway("console-browser", args.bin_dir, env, body, host="localhost")

if __name__ == "__main__":
    sys.exit(main())
