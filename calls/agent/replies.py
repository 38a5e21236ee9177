"""What Zylin says: the sentences of the offline agent, and the fallbacks of both agents.

Replies are short (one or two sentences), name the caller's options and end
with a clear question when something is needed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from calls.voice.ports import BusinessInfo, FaqInfo, ServiceInfo

from .speech import (
    WEEKDAY_NAMES,
    join_and,
    join_or,
    say_duration,
    say_opening_hours,
    say_price,
    say_time,
    say_times,
    with_article,
)

OPEN_MENU = "I can book, move or cancel an appointment, or tell you about our prices and opening hours."


def hello_sentence() -> str:
    return f"Hi there! {OPEN_MENU} What can I do for you?"


def tidy(text: str) -> str:
    """One space between words and no doubled full stop after "p.m." or "a.m."."""
    return " ".join(text.replace("m..", "m.").replace("m.?", "m.?").split())


def service_list(business: BusinessInfo) -> str:
    return join_or([with_article(s.name) for s in business.services])


def offered_times(offer: dict[str, Any]) -> str:
    """The times of an offer joined for speech: "two fifteen, two thirty or three thirty p.m."."""
    return say_times([dt.time.fromisoformat(slot["time"]) for slot in offer["slots"]])


def offer_sentence(offer: dict[str, Any], *, same_day_as: str | None = None) -> str:
    """ "On Friday the fourteenth I have ten a.m., noon or two p.m. Which would suit you?" """
    day = offer["date_spoken"]
    where = "" if same_day_as == offer["date"] else (f"{day} " if day in ("today", "tomorrow") else f"on {day} ")
    if len(offer["slots"]) == 1:
        return f"I have {offered_times(offer)} {where}free. Would that work?".replace("  ", " ")
    lead = f"{where[0].upper()}{where[1:]}I have" if where else "I have"
    return f"{lead} {offered_times(offer)}. Which would suit you?"


def earliest_sentence(offer: dict[str, Any]) -> str:
    """ "The earliest I have is today at ten thirty a.m. Would that work?" """
    day = offer["date_spoken"]
    on_day = day if day in ("today", "tomorrow") else f"on {day}"
    return f"The earliest I have is {on_day} at {offered_times(offer)}. Would that work?"


def nearest_sentence(offer: dict[str, Any]) -> str:
    if len(offer["slots"]) == 1:
        return f"The closest time I have is {offered_times(offer)}. Would that work?"
    return f"The closest times I have are {offered_times(offer)}. Would one of those work?"


def next_day_sentence(offer: dict[str, Any]) -> str:
    question = "Would that work?" if len(offer["slots"]) == 1 else "Would one of those work?"
    return f"The next day I have free is {offer['date_spoken']}, at {offered_times(offer)}. {question}"


def refusal_sentence(error: str, *, time_spoken: str, day_spoken: str, day_hours: str) -> str:
    """Why a wished time cannot be booked, in one short sentence."""
    if error == "slot_taken":
        return f"Sorry, {time_spoken} {day_spoken} is already taken."
    if error == "outside_hours":
        return f"Sorry, {time_spoken} is outside our hours; {day_hours}."
    if error == "closed":
        return f"Sorry, we're closed {day_spoken}."
    if error == "in_past":
        return f"Sorry, {time_spoken} {day_spoken} has already passed."
    if error == "hold_expired":
        return "I'm sorry, that time was just taken."
    return "Sorry, I couldn't hold that time."


def day_hours(business: BusinessInfo, day: dt.date) -> str:
    """ "on Friday we're open from nine a.m. to six p.m." or "we're closed on Sunday"."""
    name = WEEKDAY_NAMES[day.weekday()]
    intervals = business.opening_hours[day.weekday()]
    if day in business.closures or not intervals:
        return f"we're closed on {name}" + ("" if intervals else "s")
    spans = join_and([f"from {say_time(o)} to {say_time(c)}" for o, c in intervals])
    return f"on {name} we're open {spans}"


def price_answer(business: BusinessInfo, service: ServiceInfo | None) -> str:
    if service is not None:
        return (
            f"{with_article(service.name).capitalize()} is {say_price(service.price, service.currency)} "
            f"and takes about {say_duration(service.duration_minutes)}."
        )
    parts = [f"{with_article(s.name)} is {say_price(s.price, s.currency)}" for s in business.services]
    text = join_and(parts)
    return f"{text[0].upper()}{text[1:]}."


def hours_answer(business: BusinessInfo, day: dt.date | None) -> str:
    if day is not None:
        text = day_hours(business, day)
        return f"{text[0].upper()}{text[1:]}."
    return say_opening_hours(business.opening_hours)


def address_answer(business: BusinessInfo) -> str:
    if business.address:
        return f"We're at {business.address}."
    return "I'm sorry, I don't have our address to hand."


def services_answer(business: BusinessInfo) -> str:
    return f"We offer {join_and([with_article(s.name) for s in business.services])}."


def faq_answer(faq: FaqInfo | None) -> str:
    return faq.answer if faq else "I'm sorry, I don't know the answer to that one."


def transfer_sentence(business: BusinessInfo, *, after_trouble: bool = False) -> str:
    lead = "I'm sorry, I'm having trouble understanding. " if after_trouble else "Of course. "
    if business.transfer_number:
        return f"{lead}Let me put you through to someone from the team, one moment please."
    return f"{lead}Nobody can come to the phone right now, so let me take a message and the team will call you back."


def failure_sentence(business: BusinessInfo) -> str:
    """Said when the agent itself fails: short, calm, and says what happens next."""
    if business.transfer_number:
        return "I'm sorry, I'm having trouble on my end. Let me put you through to someone from the team."
    return "I'm sorry, I'm having trouble on my end. Let me take a message so the team can call you back."


def goodbye_sentence(business: BusinessInfo) -> str:
    return f"Thanks for calling {business.name}. Have a lovely day, goodbye!"


def first_name(full_name: str) -> str:
    return full_name.split()[0] if full_name.strip() else ""
