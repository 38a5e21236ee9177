"""The admin pages in a real headless Chromium, for an owner and for staff.

Needs Debian's ``chromium`` and ``chromium-driver`` (``make test`` installs them
when it runs as root with apt). Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import io
import wave
from pathlib import Path

import pytest
from django.core.files.base import ContentFile

from bookings.models import Booking
from calls.models import Call
from tests.factories import RecordingFactory
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


def _half_second_wav() -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(b"\x00\x00" * 4000)
    return buffer.getvalue()


def _recording_with_audio(call: Call) -> None:
    recording = RecordingFactory(call=call)
    recording.audio.save(f"{recording.sid}.wav", ContentFile(_half_second_wav()))


def _played_seconds(driver) -> float:
    """Load the page's first player as a listener pressing play would, and return its duration."""
    script = """
        const done = arguments[arguments.length - 1];
        const audio = document.querySelector("audio");
        audio.addEventListener("loadedmetadata", () => done(audio.duration));
        audio.addEventListener("error", () => done(-1));
        audio.preload = "auto";
        audio.load();
    """
    return driver.execute_async_script(script)


def _figures(driver) -> dict[str, tuple[str, str]]:
    rows = driver.find_elements(By.CSS_SELECTOR, "#comparison-table tbody tr")
    figures = {}
    for row in rows:
        title = row.find_element(By.TAG_NAME, "th").text
        streaming, recording = (cell.text for cell in row.find_elements(By.TAG_NAME, "td"))
        figures[title] = (streaming, recording)
    return figures


def test_owner_sees_their_call_bookings_and_comparison(
    browser, live_server, known_calls: KnownCalls, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    base = live_server.url
    _log_in(browser, base, known_calls.owner.username)
    call = known_calls.calls["S1"]
    _recording_with_audio(call)

    _open(browser, f"{base}/admin/calls/call/{call.pk}/change/", "call-page-owner.png", "ol.conversation")
    assert len(browser.find_elements(By.CSS_SELECTOR, "ol.conversation li.turn")) == call.turns.count()
    assert "Streaming" in browser.find_element(By.CSS_SELECTOR, ".route").text
    # Two measured answers (800 and 1200 ms): ASR, agent, TTS and the rest, drawn to scale.
    bars = browser.find_elements(By.CSS_SELECTOR, "li.turn.assistant .latency-bar svg")
    assert [bar.get_attribute("aria-label") for bar in bars] == [
        "Latency: ASR 200 ms, agent 400 ms, TTS 160 ms, other 40 ms; voice-to-voice 800 ms",
        "Latency: ASR 300 ms, agent 600 ms, TTS 240 ms, other 60 ms; voice-to-voice 1200 ms",
    ]
    browser.execute_script("arguments[0].scrollIntoView()", browser.find_element(By.ID, "latency-legend"))
    browser.save_screenshot(str(ARTIFACTS / "call-page-owner-latency.png"))
    agent_widths = [bar.find_element(By.CSS_SELECTOR, "rect.stage-agent").size["width"] for bar in bars]
    assert agent_widths[1] == pytest.approx(agent_widths[0] * 1.5, rel=0.05)
    assert _played_seconds(browser) == pytest.approx(0.5, abs=0.01)

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
