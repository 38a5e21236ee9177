"""The admin pages in a real headless Chromium, for an owner and for staff.

Needs Debian's ``chromium`` and ``chromium-driver`` (``make test`` installs them
when it runs as root with apt). Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bookings.models import Booking
from tests.observability.conftest import PASSWORD, RANGE_END, RANGE_START, KnownCalls

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1100",
)

pytestmark = [
    pytest.mark.skipif(
        not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
        reason="needs Debian's chromium and chromium-driver: apt-get install -y chromium chromium-driver",
    ),
    pytest.mark.django_db(transaction=True),
]

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


@pytest.fixture
def browser(tmp_path):
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'chromium'}"):
        options.add_argument(flag)
    # An explicit driver path: Selenium never tries to download one.
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def _log_in(driver, base_url: str, username: str) -> None:
    driver.get(f"{base_url}/admin/login/?next=/admin/")
    driver.find_element(By.NAME, "username").send_keys(username)
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    WebDriverWait(driver, 15).until(expected_conditions.presence_of_element_located((By.ID, "user-tools")))


def _open(driver, url: str, screenshot: str, wait_for: str) -> None:
    driver.get(url)
    WebDriverWait(driver, 15).until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, wait_for)))
    ARTIFACTS.mkdir(exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / screenshot))


def _figures(driver) -> dict[str, tuple[str, str]]:
    rows = driver.find_elements(By.CSS_SELECTOR, "#comparison-table tbody tr")
    figures = {}
    for row in rows:
        title = row.find_element(By.TAG_NAME, "th").text
        streaming, recording = (cell.text for cell in row.find_elements(By.TAG_NAME, "td"))
        figures[title] = (streaming, recording)
    return figures


def test_owner_sees_their_call_bookings_and_comparison(browser, live_server, known_calls: KnownCalls):
    base = live_server.url
    _log_in(browser, base, known_calls.owner.username)
    call = known_calls.calls["S1"]

    _open(browser, f"{base}/admin/calls/call/{call.pk}/change/", "call-page-owner.png", "ol.conversation")
    assert len(browser.find_elements(By.CSS_SELECTOR, "ol.conversation li.turn")) == call.turns.count()
    assert "Streaming" in browser.find_element(By.CSS_SELECTOR, ".route").text

    _open(browser, f"{base}/admin/bookings/booking/?all=1", "bookings-owner.png", "#content")
    page = browser.page_source
    beta_customer = Booking.objects.get(source_call=known_calls.calls["B1"]).customer.name
    assert beta_customer not in page

    range_query = f"start={RANGE_START.isoformat()}&end={RANGE_END.isoformat()}"
    _open(browser, f"{base}/admin/calls/comparison/?{range_query}", "comparison-owner.png", "#comparison-table")
    figures = _figures(browser)
    assert figures["Calls"] == ("5", "3")
    assert figures["Voice-to-voice p95"] == ("1850 ms", "—")
    assert figures["Cost per call"] == ("$0.0130", "$0.0050")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#comparison-charts svg rect.bar-streaming")) == len(figures)
    assert "Beta Barbers" not in browser.page_source

    browser.get(f"{base}/admin/calls/comparison/?{range_query}&business={known_calls.other_business.slug}")
    assert "Not Found" in browser.page_source
    assert "comparison-table" not in browser.page_source


def test_staff_see_every_business(browser, live_server, known_calls: KnownCalls):
    base = live_server.url
    _log_in(browser, base, known_calls.staff.username)

    _open(browser, f"{base}/admin/bookings/booking/?all=1", "bookings-staff.png", "#content")
    beta_customer = Booking.objects.get(source_call=known_calls.calls["B1"]).customer.name
    assert beta_customer in browser.page_source

    range_query = f"start={RANGE_START.isoformat()}&end={RANGE_END.isoformat()}"
    _open(browser, f"{base}/admin/calls/comparison/?{range_query}", "comparison-staff.png", "#comparison-table")
    assert _figures(browser)["Calls"] == ("7", "3")
    options = [option.text for option in browser.find_elements(By.CSS_SELECTOR, "#id_business option")]
    assert {"Alpha Salon", "Beta Barbers"} <= set(options)

    call = known_calls.calls["B1"]
    _open(browser, f"{base}/admin/calls/call/{call.pk}/change/", "call-page-staff.png", "ol.conversation")
    assert call.sid in browser.page_source
