"""The admin's streaming-versus-recording comparison page, for Zylin staff and owners.

Staff see every business; an owner sees only the businesses they own, and asking
for another business (``?business=<slug>``) is a 404, as if it did not exist.
Charts are inline SVG drawn here, so the page needs nothing from the internet.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.utils import timezone

from businesses.access import is_zylin_staff
from businesses.models import Business
from calls.comparison import Comparison, PathFigures, comparison_get

DEFAULT_DAYS = 7
MAX_DAYS = 366
CHART_BAR_MAX_PX = 260
MISSING = "—"


class ComparisonFilterForm(forms.Form):
    business = forms.CharField(required=False)
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict:
        cleaned = super().clean() or {}
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and start > end:
            raise forms.ValidationError("The start date must not be after the end date.")
        if start and end and (end - start).days >= MAX_DAYS:
            raise forms.ValidationError(f"Choose at most {MAX_DAYS} days.")
        return cleaned


@dataclass(frozen=True)
class Bar:
    label: str
    text: str
    width: int
    css_class: str
    y: int


@dataclass(frozen=True)
class Chart:
    title: str
    bars: tuple[Bar, ...]

    @property
    def height(self) -> int:
        return len(self.bars) * 26 + 4


def _percent(value: float | None) -> str:
    return MISSING if value is None else f"{value * 100:.1f}%"


def _milliseconds(value: float | None) -> str:
    return MISSING if value is None else f"{value:.0f} ms"


def _seconds(value: float | None) -> str:
    if value is None:
        return MISSING
    minutes, seconds = divmod(round(value), 60)
    return f"{minutes}m {seconds:02d}s"


def _money(value: Decimal | None) -> str:
    return MISSING if value is None else f"${value:.4f}"


# (title, value of one path, text of that value); rows of the table and charts alike.
FIGURES: tuple[tuple[str, Callable[[PathFigures], float | Decimal | None], Callable[..., str]], ...] = (
    ("Calls", lambda f: f.calls, str),
    ("Booking completion rate", lambda f: f.booking_completion_rate, _percent),
    ("Transfer rate", lambda f: f.transfer_rate, _percent),
    ("Hang-up before answer rate", lambda f: f.hangup_before_answer_rate, _percent),
    ("Voice-to-voice p50", lambda f: f.voice_to_voice_p50_ms, _milliseconds),
    ("Voice-to-voice p95", lambda f: f.voice_to_voice_p95_ms, _milliseconds),
    ("Average handle time", lambda f: f.average_handle_seconds, _seconds),
    ("Cost per call", lambda f: f.cost_per_call, _money),
)


def _chart(title: str, values: list[tuple[str, float | Decimal | None, str, str]]) -> Chart:
    largest = max((float(value) for _, value, _, _ in values if value is not None), default=0.0)
    bars = []
    for position, (label, value, text, css_class) in enumerate(values):
        width = round(float(value) / largest * CHART_BAR_MAX_PX) if value is not None and largest > 0 else 0
        bars.append(Bar(label=label, text=text, width=width, css_class=css_class, y=position * 26 + 2))
    return Chart(title=title, bars=tuple(bars))


def comparison_charts(comparison: Comparison) -> list[Chart]:
    """One bar chart per figure: streaming and recording on one scale."""
    charts = []
    for title, value_of, text_of in FIGURES:
        charts.append(
            _chart(
                title,
                [
                    (figures.path.title(), value_of(figures), text_of(value_of(figures)), f"bar-{figures.path}")
                    for figures in comparison.paths
                ],
            )
        )
    return charts


def comparison_rows(comparison: Comparison) -> list[tuple[str, str, str]]:
    return [
        (title, text_of(value_of(comparison.streaming)), text_of(value_of(comparison.recording)))
        for title, value_of, text_of in FIGURES
    ]


def _visible_businesses(request: HttpRequest) -> QuerySet[Business]:
    if is_zylin_staff(request.user):
        return Business.objects.all()
    owned = Business.objects.filter(owners=request.user)
    if not owned.exists():
        raise PermissionDenied("Only Zylin staff and business owners see the comparison.")
    return owned


def comparison_view(request: HttpRequest) -> HttpResponse:
    visible = _visible_businesses(request)
    form = ComparisonFilterForm(request.GET or None)
    cleaned = form.cleaned_data if form.is_bound and form.is_valid() else {}

    slug = request.GET.get("business", "")
    selected = get_object_or_404(visible, slug=slug) if slug else None
    businesses = visible.filter(pk=selected.pk) if selected else visible
    # Days are the business's own days when there is one; otherwise UTC.
    single = selected or (visible.first() if visible.count() == 1 else None)
    tz_name = single.timezone if single else "UTC"

    today = timezone.now().astimezone(single.tz if single else dt.UTC).date()
    end = cleaned.get("end") or today
    start = cleaned.get("start") or end - dt.timedelta(days=DEFAULT_DAYS - 1)

    comparison = comparison_get(businesses=businesses, start=start, end=end, timezone=tz_name)
    context = {
        **admin.site.each_context(request),
        "title": "Streaming vs recording",
        "form": form,
        "businesses": visible,
        "selected": selected,
        "comparison": comparison,
        "rows": comparison_rows(comparison),
        "charts": comparison_charts(comparison),
        "chart_width": CHART_BAR_MAX_PX + 200,
    }
    return TemplateResponse(request, "admin/calls/comparison.html", context)
