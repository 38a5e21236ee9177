"""The streaming-versus-recording figures, against calls whose figures are worked out by hand."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from calls.comparison import comparison_get, percentile
from tests.factories import UserFactory
from tests.observability.conftest import PASSWORD, RANGE_END, RANGE_START, KnownCalls

URL = "/admin/calls/comparison/"
RANGE = {"start": RANGE_START.isoformat(), "end": RANGE_END.isoformat()}


def test_percentile_interpolates_between_closest_ranks():
    assert percentile([], 50) is None
    assert percentile([7.0], 95) == 7.0
    # Ranks 0..3: p50 sits halfway between 20 and 30; p95 at 2.85 -> 30 + 0.85 * 10.
    assert percentile([40.0, 10.0, 30.0, 20.0], 50) == 25.0
    assert percentile([40.0, 10.0, 30.0, 20.0], 95) == pytest.approx(38.5)


def test_figures_match_the_hand_computed_values(known_calls: KnownCalls):
    comparison = comparison_get(
        businesses=[known_calls.business], start=RANGE_START, end=RANGE_END, timezone="America/New_York"
    )
    streaming, recording = comparison.streaming, comparison.recording

    # S1, S2, S3, S4, S7 (S5 after, S6 before the New York range; B1 another business).
    assert streaming.calls == 5
    assert streaming.booking_completion_rate == pytest.approx(1 / 5)  # S1 (S4's booking was cancelled)
    assert streaming.transfer_rate == pytest.approx(1 / 5)  # S2
    assert streaming.hangup_before_answer_rate == pytest.approx(1 / 5)  # S3
    # 600, 800, 1000, 1200, 1400, 2000: p50 = (1000 + 1200) / 2; p95 at rank 4.75 = 1400 + 0.75 * 600.
    assert streaming.latency_samples == 6
    assert streaming.voice_to_voice_p50_ms == pytest.approx(1100.0)
    assert streaming.voice_to_voice_p95_ms == pytest.approx(1850.0)
    assert streaming.average_handle_seconds == pytest.approx((120 + 60 + 180 + 30) / 4)  # S3 never answered
    assert streaming.total_cost == Decimal("0.0650")
    assert streaming.cost_per_call == Decimal("0.0130")

    # R1, R2, R3.
    assert recording.calls == 3
    assert recording.booking_completion_rate == pytest.approx(1 / 3)  # R1
    assert recording.transfer_rate == 0
    assert recording.hangup_before_answer_rate == pytest.approx(1 / 3)  # R2 ended; R3 is still in progress
    assert recording.voice_to_voice_p50_ms is None
    assert recording.latency_samples == 0
    assert recording.average_handle_seconds == pytest.approx(90.0)
    assert recording.cost_per_call == Decimal("0.0050")


def test_days_are_the_business_days(known_calls: KnownCalls):
    # In UTC, S6 (23:30 on 1 March in New York) is on 2 March and S7 stays in.
    in_utc = comparison_get(businesses=[known_calls.business], start=RANGE_START, end=RANGE_END, timezone="UTC")
    assert in_utc.streaming.calls == 6


def test_empty_range_has_no_rates(known_calls: KnownCalls):
    import datetime as dt

    empty = comparison_get(businesses=[known_calls.business], start=dt.date(2020, 1, 1), end=dt.date(2020, 1, 2))
    assert empty.streaming.calls == 0
    assert empty.streaming.booking_completion_rate is None
    assert empty.streaming.cost_per_call is None


def _client(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def test_page_shows_the_figures_for_an_owner(known_calls: KnownCalls):
    response = _client(known_calls.owner).get(URL, RANGE)
    assert response.status_code == 200
    rows = {title: (streaming, recording) for title, streaming, recording in response.context["rows"]}
    assert rows["Calls"] == ("5", "3")
    assert rows["Booking completion rate"] == ("20.0%", "33.3%")
    assert rows["Transfer rate"] == ("20.0%", "0.0%")
    assert rows["Hang-up before answer rate"] == ("20.0%", "33.3%")
    assert rows["Voice-to-voice p50"] == ("1100 ms", "—")
    assert rows["Voice-to-voice p95"] == ("1850 ms", "—")
    assert rows["Average handle time"] == ("1m 38s", "1m 30s")
    assert rows["Cost per call"] == ("$0.0130", "$0.0050")
    html = response.content.decode()
    assert "Beta Barbers" not in html
    assert html.count('<figure class="comparison-chart">') == len(rows)
    # The longer bar of each chart is the full width; the call-count bars are 5:3.
    calls_chart = response.context["charts"][0]
    assert [bar.width for bar in calls_chart.bars] == [260, 156]


def test_owner_cannot_reach_another_business(known_calls: KnownCalls):
    client = _client(known_calls.owner)
    assert client.get(URL, {**RANGE, "business": known_calls.other_business.slug}).status_code == 404
    assert client.get(URL, {**RANGE, "business": "no-such-business"}).status_code == 404
    assert client.get(URL, {**RANGE, "business": known_calls.business.slug}).status_code == 200


def test_other_owner_sees_only_their_business(known_calls: KnownCalls):
    response = _client(known_calls.other_owner).get(URL, RANGE)
    assert response.status_code == 200
    assert response.context["comparison"].streaming.calls == 1
    assert response.context["comparison"].streaming.transfer_rate == 1.0


def test_staff_see_every_business_and_can_pick_one(known_calls: KnownCalls):
    client = _client(known_calls.staff)
    everything = client.get(URL, RANGE)
    assert everything.status_code == 200
    # Several businesses: UTC days, so Alpha has six (S6 included) and Beta one.
    assert everything.context["comparison"].streaming.calls == 7
    beta = client.get(URL, {**RANGE, "business": known_calls.other_business.slug})
    assert beta.context["comparison"].streaming.calls == 1


def test_staff_user_without_a_business_is_refused(known_calls: KnownCalls):
    stranger = UserFactory(username="no-business")  # admin access, neither Zylin staff nor an owner
    assert _client(stranger).get(URL, RANGE).status_code == 403


def test_anonymous_is_sent_to_the_login(known_calls: KnownCalls):
    response = Client().get(URL, RANGE)
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_bad_range_shows_an_error_and_default_figures(known_calls: KnownCalls):
    response = _client(known_calls.owner).get(URL, {"start": "2026-03-08", "end": "2026-03-01"})
    assert response.status_code == 200
    assert "must not be after" in response.content.decode()


def test_the_calls_list_links_to_the_comparison(known_calls: KnownCalls):
    response = _client(known_calls.owner).get(reverse("admin:calls_call_changelist"))
    assert response.status_code == 200
    assert f'href="{URL}"' in response.content.decode()
