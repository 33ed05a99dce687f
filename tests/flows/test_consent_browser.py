"""A real browser (headless Chromium) signs in, passes MFA, consents and lands on our listener.

CI installs Debian's chromium and chromium-driver (.ci/run); this test must run there, never
skip. Selenium is pointed at those binaries, so nothing is downloaded.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from urllib.parse import parse_qsl, urlsplit

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import WebDriverWait

from tests.support import ROOT, PartnerWorld

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def chromium(tmp_path_factory):
    """One headless Chromium for the module (its start costs more than a sign-in)."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tmp_path_factory.mktemp("chromium") / "profile"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--no-first-run", "--disable-quic", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-extensions",
                 f"--user-data-dir={profile}"):
        options.add_argument(flag)
    # The double's certificate comes from a throwaway test CA the browser does not know; what is
    # under test here is our sign-in flow, not the browser's trust store.
    options.accept_insecure_certs = True
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture
def browser(chromium):
    """The module's Chromium as a fresh one is: no cookies, cache or storage from an earlier
    test, on a blank page."""
    chromium.execute_cdp_cmd("Network.clearBrowserCookies", {})
    chromium.execute_cdp_cmd("Network.clearBrowserCache", {})
    chromium.execute_cdp_cmd("Storage.clearDataForOrigin",
                             {"origin": "*", "storageTypes": "all"})
    chromium.get("about:blank")
    return chromium


def sign_in_in_the_browser(browser, cloud, world: PartnerWorld, url: str):
    wait = WebDriverWait(browser, 20)
    browser.get(url)
    wait.until(ready.presence_of_element_located((By.ID, "username"))).send_keys(world.admin.upn)
    browser.find_element(By.ID, "password").send_keys(world.password)
    browser.find_element(By.ID, "next").click()
    otp = wait.until(ready.presence_of_element_located((By.ID, "otp")))
    otp.send_keys(cloud.mfa_code(world.admin.upn))
    browser.find_element(By.ID, "next").click()
    wait.until(ready.element_to_be_clickable((By.ID, "consent-org"))).click()
    browser.find_element(By.ID, "accept").click()
    return wait.until(ready.presence_of_element_located((By.ID, "result")))


@pytest.mark.browser
def test_admin_signs_in_with_mfa_and_consents_in_a_real_browser(cloud, tmp_path, browser):
    world = PartnerWorld(cloud, tmp_path / "home")
    proc = subprocess.Popen(
        [sys.executable, "-m", "scripts.cli", "consent", "--no-browser", "--redirect-port",
         str(world.port), "--timeout", "60", "--format", "json"],
        cwd=ROOT, env=world.env(), text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    url = next(line.strip() for line in proc.stderr if line.startswith("https://"))
    result = sign_in_in_the_browser(browser, cloud, world, url)

    assert result.text == "Signed in"
    assert browser.current_url.startswith(f"http://localhost:{world.port}/?code=")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    [version] = world.vault.secret_versions(world.secret_name)
    assert version.version in out


@pytest.mark.browser
def test_a_real_browser_follows_the_one_time_start_address(cloud, tmp_path, browser):
    """consent opens the browser on its local start address (the command line every user can
    read holds no state, nonce or challenge); Chromium follows it to the sign-in page and back
    to the listener, on whichever loopback address it picks for localhost."""
    world = PartnerWorld(cloud, tmp_path / "home")
    opened = tmp_path / "opened.txt"
    stand_in = tmp_path / "browser"
    stand_in.write_text(f"#!{sys.executable}\nimport sys\n"
                        f"open({str(opened)!r}, 'w').write(sys.argv[-1])\n")
    stand_in.chmod(0o700)
    proc = subprocess.Popen(
        [sys.executable, "-m", "scripts.cli", "consent", "--redirect-port", str(world.port),
         "--timeout", "60", "--format", "json"],
        cwd=ROOT, env=world.env(BROWSER=str(stand_in)), text=True, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE)
    assert proc.stderr is not None
    url = next(line.strip() for line in proc.stderr if line.startswith("https://"))
    deadline = time.monotonic() + 20
    while not opened.exists() or not opened.read_text():
        assert time.monotonic() < deadline, "consent never opened the browser"
        time.sleep(0.05)
    start = opened.read_text()
    assert start.startswith(f"http://localhost:{world.port}/start/")
    query = dict(parse_qsl(urlsplit(url).query))
    assert all(query[name] not in start for name in ("state", "nonce", "code_challenge"))

    result = sign_in_in_the_browser(browser, cloud, world, start)

    assert result.text == "Signed in"
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    [version] = world.vault.secret_versions(world.secret_name)
    assert version.version in out
