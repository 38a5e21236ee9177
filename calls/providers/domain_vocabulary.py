"""What callers of a small appointment business say, as sentence templates.

The lists and generators here feed ``domain_lm``: they describe the spoken
forms (dates, times, numbers, names, yes/no, FAQ questions) a receptionist
hears, written the way a recognizer spells them (lower case, numbers as
words). Sampling uses a fixed seed, so one business always gets the same model.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS = (
    "january", "february", "march", "april", "may", "june", "july",
    "august", "september", "october", "november", "december",
)  # fmt: skip
DIGIT_WORDS = ("zero", "oh", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

_ONES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
         "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
         "seventeen", "eighteen", "nineteen")  # fmt: skip
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_ORDINAL_ONES = ("", "first", "second", "third", "fourth", "fifth", "sixth", "seventh",
                 "eighth", "ninth", "tenth", "eleventh", "twelfth", "thirteenth",
                 "fourteenth", "fifteenth", "sixteenth", "seventeenth", "eighteenth",
                 "nineteenth")  # fmt: skip

FIRST_NAMES = (
    "maria", "james", "john", "robert", "michael", "william", "david", "richard", "joseph",
    "thomas", "charles", "daniel", "matthew", "anthony", "mark", "steven", "paul", "andrew",
    "joshua", "kevin", "brian", "george", "tim", "jose", "carlos", "luis", "juan", "mary",
    "patricia", "jennifer", "linda", "elizabeth", "barbara", "susan", "jessica", "sarah",
    "karen", "lisa", "nancy", "betty", "sandra", "ashley", "emily", "michelle", "amanda",
    "melissa", "laura", "anna", "emma", "olivia", "sophia", "isabella", "rachel", "hannah",
    "grace", "chloe", "alex", "sam", "chris", "tom", "peter", "ana", "rosa", "carmen", "sofia",
)  # fmt: skip
LAST_NAMES = (
    "lopez", "smith", "johnson", "williams", "brown", "jones", "garcia", "miller", "davis",
    "rodriguez", "martinez", "hernandez", "gonzalez", "wilson", "anderson", "thomas", "taylor",
    "moore", "jackson", "martin", "lee", "perez", "thompson", "white", "harris", "sanchez",
    "clark", "ramirez", "lewis", "robinson", "walker", "young", "allen", "king", "wright",
    "scott", "torres", "nguyen", "hill", "flores", "green", "adams", "nelson", "baker",
    "hall", "rivera", "campbell", "mitchell", "carter", "roberts", "kim", "chen", "patel",
)  # fmt: skip

YES_NO_SENTENCES = (
    "yes", "yes please", "yeah", "yep", "sure", "okay", "ok", "yes that's right",
    "that's right", "that's correct", "correct", "sounds good", "perfect", "that works",
    "that works for me", "great", "yes thank you", "no", "no thanks", "no thank you", "nope",
    "not really", "no that's wrong", "that's not right", "thank you", "thanks", "thanks bye",
    "bye", "goodbye", "that's all", "that's it thank you", "hello", "hi", "hi there",
    "sorry what", "can you repeat that", "say that again please", "i'm still here",
    "yes i'm here", "mm", "uh-huh", "hold on", "one moment",
)  # fmt: skip
# What a caller says while Zylin talks, to show they are listening. A word the model
# lacks comes out as other words ("got it" as "seventh"), and other words look like a
# real interruption. Each is counted once: weighted three times, a short "yes" came
# out as "yep".
BACKCHANNEL_SENTENCES = (
    "mm-hmm", "mm", "hmm", "uh-huh", "okay", "ok", "yeah", "yep", "right", "sure", "alright",
    "all right", "got it", "i see", "oh okay", "oh i see", "okay okay", "yeah yeah", "right right",
    "okay got it", "mm-hmm yeah", "yeah okay", "okay sure", "uh-huh right",
)  # fmt: skip
# How backchannels sound when CMUdict lacks or misses the hummed form.
BACKCHANNEL_PRONUNCIATIONS: dict[str, tuple[str, ...]] = {
    "mm-hmm": ("M HH M", "AH M HH AH M", "M M HH M"),
    "hmm": ("HH M", "M"),
    "uh-huh": ("AH HH AH",),
}
CORRECTION_SENTENCES = (
    "no i meant tomorrow", "actually can we do later", "actually earlier please",
    "something earlier", "something later", "anything in the morning",
    "anything in the afternoon", "what about the next day", "a different day please",
    "no a different time", "can we do another time", "what other times do you have",
    "what's available", "what times are available", "do you have anything earlier",
    "do you have anything later", "is there anything on the weekend",
)  # fmt: skip
HUMAN_SENTENCES = (
    "can i speak to a person", "i want to talk to a human", "let me talk to someone",
    "transfer me to a real person", "can i talk to a real person please", "operator",
    "can i speak to the manager", "i'd like to speak with someone", "put me through to a person",
    "is there a human i can talk to", "can i speak to the owner",
)  # fmt: skip
FAQ_SENTENCES = (
    "what are your hours", "what are your opening hours", "when are you open",
    "what time do you open", "what time do you close", "are you open today",
    "are you open tomorrow", "are you open on the weekend", "are you open on sundays",
    "how late are you open", "where are you located", "what's your address",
    "what is the address", "how do i get there", "is there parking", "do you have parking",
    "where can i park", "is parking free", "do you take walk-ins", "do you accept walk-ins",
    "can i just walk in", "do you take credit cards", "do you accept credit cards",
    "can i pay with cash", "can i pay by card", "what payment do you accept",
    "how much does it cost", "what are your prices", "how much do you charge",
    "what services do you offer", "what do you offer", "do you have a cancellation policy",
    "how do i cancel", "is there a fee to cancel", "how long does it take",
)  # fmt: skip
_CANCEL_SENTENCES = (
    "i need to cancel my appointment", "i want to cancel my appointment",
    "i'd like to cancel my booking", "can you cancel my appointment", "please cancel it",
    "cancel my appointment", "i need to reschedule", "i'd like to reschedule",
    "can i reschedule my appointment", "i need to change my appointment",
    "can i change my booking", "i want to move my appointment", "can you move my appointment",
    "i can't make it", "i won't be able to make it", "i have an appointment",
    "i already have an appointment", "i'm calling about my appointment",
)  # fmt: skip
_BOOK_LEADS = (
    "i'd like to book", "i would like to book", "i want to book", "can i book",
    "could i book", "i'd like to make an appointment for", "i'd like to schedule",
    "i need", "i'd like", "i would like", "i want", "can i get", "could i get",
    "can i come in for", "do you have any openings for", "do you have availability for",
    "book me for", "i'm calling to book", "i want to make an appointment for",
    "i'd like an appointment for", "hi i'd like to book", "hi can i book",
)  # fmt: skip
_HOURS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
          "eleven", "twelve")  # fmt: skip


def number_words(value: int) -> list[str]:
    """Cardinal number as words (0 to 9999), e.g. 45 -> ["forty", "five"]."""
    if value < 20:
        return [_ONES[value]]
    if value < 100:
        tens, ones = divmod(value, 10)
        return [_TENS[tens]] + ([_ONES[ones]] if ones else [])
    if value < 1000:
        hundreds, rest = divmod(value, 100)
        return [_ONES[hundreds], "hundred"] + (number_words(rest) if rest else [])
    thousands, rest = divmod(value, 1000)
    return number_words(thousands) + ["thousand"] + (number_words(rest) if rest else [])


def ordinal_words(value: int) -> list[str]:
    """Ordinal day of month as words (1 to 31), e.g. 23 -> ["twenty", "third"]."""
    if value < 20:
        return [_ORDINAL_ONES[value]]
    tens, ones = divmod(value, 10)
    if ones == 0:
        return [_TENS[tens][:-1] + "ieth"]
    return [_TENS[tens], _ORDINAL_ONES[ones]]


def date_phrases() -> list[str]:
    """Spoken dates: relative days, weekdays, ordinals, month and day."""
    ordinals = [" ".join(ordinal_words(day)) for day in range(1, 32)]
    phrases = ["today", "tomorrow", "the day after tomorrow", "this week", "next week",
               "this weekend", "tomorrow morning", "tomorrow afternoon"]  # fmt: skip
    for day in WEEKDAYS:
        phrases += [day, f"on {day}", f"this {day}", f"next {day}", f"{day} morning",
                    f"{day} afternoon"]  # fmt: skip
    for ordinal in ordinals:
        phrases += [f"the {ordinal}", f"on the {ordinal}"]
    for index, month in enumerate(MONTHS):
        for step in range(0, 31, 4):
            ordinal = ordinals[(step + index) % 31]
            phrases += [f"{month} {ordinal}", f"{month} the {ordinal}"]
    for index, day in enumerate(WEEKDAYS):
        phrases.append(f"{day} the {ordinals[(index * 5 + 2) % 31]}")
    return phrases


def time_phrases() -> list[str]:
    """Spoken times: hours, halves, quarters, noon, a.m./p.m., parts of day."""
    phrases = ["noon", "at noon", "midday", "in the morning", "in the afternoon",
               "in the evening", "first thing in the morning", "after lunch",
               "around lunchtime", "end of the day"]  # fmt: skip
    for hour in _HOURS:
        phrases += [
            hour,
            f"at {hour}",
            f"at {hour} o'clock",
            f"{hour} o'clock",
            f"at {hour} a.m.",
            f"at {hour} p.m.",
            f"{hour} p.m.",
            f"{hour} a.m.",
            f"at {hour} thirty",
            f"{hour} thirty",
            f"at {hour} fifteen",
            f"at {hour} forty five",
            f"at half past {hour}",
            f"half past {hour}",
            f"at a quarter past {hour}",
            f"at a quarter to {hour}",
            f"around {hour}",
            f"after {hour}",
            f"before {hour}",
            f"at {hour} thirty p.m.",
            f"at {hour} thirty a.m.",
            f"at {hour} in the afternoon",
            f"at {hour} in the morning",
        ]
    return phrases


def booking_sentences(services: Sequence[str], *, seed: int = 7, samples: int = 900) -> list[str]:
    """Booking, cancelling and rescheduling requests filled with ``services``."""
    rng = random.Random(seed)
    dates = date_phrases()
    times = time_phrases()
    sentences: list[str] = list(_CANCEL_SENTENCES)
    if not services:
        services = ("appointment",)
    for service in services:
        for lead in _BOOK_LEADS:
            sentences.append(f"{lead} a {service}")
        sentences += [f"a {service}", service, f"just a {service}", f"a {service} please"]
    for _ in range(samples):
        service = rng.choice(services)
        lead = rng.choice(_BOOK_LEADS)
        date = rng.choice(dates)
        time = rng.choice(times)
        shape = rng.randrange(9)
        if shape == 0:
            sentences.append(f"{lead} a {service} {date} {time}")
        elif shape == 1:
            sentences.append(f"{lead} a {service} for {date} {time}")
        elif shape == 2:
            sentences.append(f"{lead} a {service} {date}")
        elif shape == 3:
            sentences.append(f"{date} {time}")
        elif shape == 4:
            sentences.append(f"do you have anything {date} {time}")
        elif shape == 5:
            sentences.append(f"can i move my {service} to {date} {time}")
        elif shape == 6:
            sentences.append(f"i need to cancel my {service} {date}")
        elif shape == 7:
            sentences.append(f"is {date} {time} available")
        else:
            sentences.append(f"{lead} a {service} {time}")
    return sentences
