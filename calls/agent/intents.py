"""What a caller's turn is about: an intent with a confidence, and the details it names.

Rules over recognizer-style text (lower case, no punctuation, misheard words),
shared by both agents: the offline agent steers its dialogue with them, and the
OpenAI agent records them per turn. Each caller turn ends up as an
``IntentUpdate`` (name, confidence, slots so far) stored with the Turn.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import phonenumbers

from calls.voice.ports import Expecting, FaqInfo, IntentUpdate, ServiceInfo

from .words import words_normalize

# Intent names, as stored on the Intent row.
BOOK = "book"
RESCHEDULE = "reschedule"
CANCEL = "cancel"
PRICE = "price"
HOURS = "hours"
ADDRESS = "address"
SERVICES = "services"
FAQ = "faq"
TRANSFER = "transfer"
GOODBYE = "goodbye"
REPEAT = "repeat"
GREETING = "greeting"
DURATION = "duration"
CONFIRM = "confirm"
DENY = "deny"
UNKNOWN = "unknown"

QUESTION_INTENTS = (PRICE, DURATION, HOURS, ADDRESS, SERVICES, FAQ)
FLOW_INTENTS = (BOOK, RESCHEDULE, CANCEL)


@dataclass(frozen=True)
class IntentGuess:
    name: str
    confidence: float


_TRANSFER_STRONG = r"\b(?:human|real person|live person|actual person|operator|representative|receptionist)\b"
_TRANSFER_WHO = r"\b(?:person|someone|somebody|anyone|manager|owner|staff|stylist|team|people)\b"
_TRANSFER_VERB = r"\b(?:speak|talk|transfer|connect|put me through|get me)\b"
_REPEAT = (
    r"\b(?:repeat|say that again|say again|come again|pardon|what was that|sorry what|didnt catch|"
    r"didnt hear|did not catch|one more time|what did you say)\b|^(?:what|sorry|huh)$"
)
_CANCEL = r"\b(?:cancel|cancell?ed|cancelling|call off|cant make it|cannot make it|wont make it|not coming)\b"
_CANCEL_POLICY = r"\bcancell?ation\b|\bcancel\w* polic"
_RESCHEDULE = (
    r"\b(?:reschedule|re schedule|move|moving|change (?:my|the) (?:appointment|booking|time|day)|push (?:it|my)|"
    r"postpone|bring (?:it|my \w+) forward|different (?:time|day)|another (?:time|day))\b"
)
_BOOK = (
    r"\b(?:book|booking|appointment|schedule|reserve|come in|get a|get an|i d like|id like|i would like|"
    r"i want|i need|can i get|available|availability|opening|openings|slot|slots|spot)\b"
)
_PRICE = r"\b(?:how much|price|prices|pricing|cost|costs|charge|fee|fees|rates|expensive|cheap)\b"
_DURATION = r"\b(?:how long|take long|long does it take|how much time|duration)\b"
_GREETING = r"^(?:(?:hi|hello|hey|hiya|good (?:morning|afternoon|evening))(?: there)?(?: zylin)? ?)+$"
_HOURS = (
    r"\b(?:hours|are you open|you open|when do you open|when do you close|what time do you|"
    r"closing time|opening time|close today|closed on|open on|open at|open today|open tomorrow)\b"
)
_ADDRESS = r"\b(?:where are you|where is|address|located|location|directions|find you|how do i get)\b"
_SERVICES = r"\b(?:what services|which services|what do you offer|what do you do|services do you|what kind of)\b"
_GOODBYE = (
    r"\b(?:bye|goodbye|good bye|thats all|that is all|thats it|nothing else|no thanks|no thank you|"
    r"thatll be all|that will be all|im good|im done|hang up|have a good|have a nice|take care)\b"
)
_FAREWELL = r"\b(?:bye|goodbye|good bye|thats all|that is all|thats it|nothing else|have a good|take care|hang up)\b"
_YES = (
    r"\b(?:yes|yeah|yea|yep|yup|sure|correct|right|ok|okay|perfect|great|good|fine|alright|absolutely|definitely|"
    r"of course|please do|go ahead|book it|do it|confirm|works|exactly|sounds good|lovely)\b"
)
_NO = r"\b(?:no|nope|nah|not|dont|wrong|incorrect|wait|change|actually|instead|rather)\b"


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


_FAQ_STOPWORDS = _word_set(
    "a an the is are do does you your i we us our can could how what when where which who why there any to of "
    "for in on at it its be have has with my me and or if take get need want like would about please"
)
# Words that cannot be (part of) a name, so "i'm looking for a haircut" gives no name.
_NOT_NAME = _word_set(
    "a an the and or but to for of in on at with by from is are was be been am it its it's this that these "
    "those here there my your his her our their me you we they he she i yes yeah no not okay ok sure please "
    "thanks thank calling looking trying wondering just only also good fine great hi hello hey um uh er erm "
    "well so like want need would could can book booking appointment haircut cut trim color colour beard "
    "today tomorrow morning afternoon evening time day week am pm sorry what who why how when where "
    "interested available free busy here ready called name named call speak talk person id im ill ive youre "
    "dont cant wont wed thats whats lets gonna wanna got get make move change cancel reschedule "
    "one two three four five six seven eight nine ten eleven twelve thirty fifteen twenty forty fifty "
    "noon monday tuesday wednesday thursday friday saturday sunday january february march april june july "
    "august september october november december next last first"
)
_NAME_LEADS = (
    r"\bmy name is\b",
    r"\bmy names\b",
    r"\bname is\b",
    r"\bnames\b",
    r"\bthis is\b",
    r"\bits\b",
    r"\bim\b",
    r"\bi am\b",
    r"\bcall me\b",
    r"\bunder\b",
    r"\bput it under\b",
)


def _plain(text: str) -> str:
    """Lower case, apostrophes dropped ("i'm" -> "im"), digits for numbers."""
    return " ".join(words_normalize(text.replace("'", "").replace("\u2019", "")))


def _has(pattern: str, plain: str) -> bool:
    return re.search(pattern, plain) is not None


def intent_classify(text: str) -> IntentGuess:
    """The main thing a caller's sentence asks for, with a rough confidence."""
    plain = _plain(text)
    if not plain:
        return IntentGuess(UNKNOWN, 0.0)
    if _has(_TRANSFER_STRONG, plain) or (_has(_TRANSFER_VERB, plain) and _has(_TRANSFER_WHO, plain)):
        return IntentGuess(TRANSFER, 0.95)
    if _has(_REPEAT, plain):
        return IntentGuess(REPEAT, 0.9)
    if _has(_GREETING, plain):
        return IntentGuess(GREETING, 0.9)
    if _has(_CANCEL, plain) and not _has(_CANCEL_POLICY, plain):
        return IntentGuess(CANCEL, 0.9)
    if _has(_RESCHEDULE, plain):
        return IntentGuess(RESCHEDULE, 0.85)
    topic = question_topic(text)
    if _has(_BOOK, plain) and topic not in (HOURS, ADDRESS, FAQ):
        return IntentGuess(BOOK, 0.85)
    if topic:
        return IntentGuess(topic, 0.85)
    if _has(_GOODBYE, plain):
        return IntentGuess(GOODBYE, 0.9)
    answer = yes_no(text)
    if answer is not None:
        return IntentGuess(CONFIRM if answer else DENY, 0.8)
    return IntentGuess(UNKNOWN, 0.2)


def question_topic(text: str, faqs: Sequence[FaqInfo] = ()) -> str | None:
    """price, hours, address, services or faq, when the sentence asks one; else None."""
    plain = _plain(text)
    if _has(_DURATION, plain):
        return DURATION
    if _has(_PRICE, plain):
        return PRICE
    if _has(_CANCEL_POLICY, plain):
        return FAQ
    if _has(_HOURS, plain):
        return HOURS
    if _has(_SERVICES, plain):
        return SERVICES
    if _has(_ADDRESS, plain) and "parking" not in plain:
        return ADDRESS
    if faqs and faq_find(text, faqs) is not None:
        return FAQ
    return None


def is_farewell(text: str) -> bool:
    """The caller is leaving ("bye", "that's all"), as opposed to only declining ("no thanks")."""
    return _has(_FAREWELL, _plain(text))


def yes_no(text: str) -> bool | None:
    """True for yes, False for no, None when the sentence says neither. The first cue decides."""
    plain = _plain(text)
    yes = re.search(_YES, plain)
    no = re.search(_NO, plain)
    if yes and no:
        return yes.start() < no.start()
    if yes:
        return True
    if no:
        return False
    return None


def _stem(word: str) -> str:
    for suffix in ("ing", "es", "s"):
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            return word[: -len(suffix)]
    return word


def _content_words(text: str) -> set[str]:
    return {_stem(w) for w in _plain(text).split() if w not in _FAQ_STOPWORDS and len(w) > 2}


def faq_find(text: str, faqs: Sequence[FaqInfo]) -> FaqInfo | None:
    """The FAQ entry whose question (and, less, answer) shares the most words with ``text``."""
    said = _content_words(text)
    if not said:
        return None
    best: tuple[float, FaqInfo] | None = None
    for faq in faqs:
        score = 2 * len(said & _content_words(faq.question)) + len(said & _content_words(faq.answer))
        if score >= 2 and (best is None or score > best[0]):
            best = (score, faq)
    return best[1] if best else None


def _service_names(service: ServiceInfo) -> list[str]:
    return [service.name.lower(), *(s.lower() for s in service.synonyms)]


def service_find(text: str, services: Sequence[ServiceInfo]) -> ServiceInfo | None:
    """The service the caller names, by name or synonym, tolerating misheard words ("hair cot").

    Every window of one to three words is compared with every name and synonym;
    the longest, closest match wins, so "beard trim" (or a misheard "bear
    trim") is a beard trim even though "trim" alone means a haircut.
    """
    words = _plain(text).split()
    windows = [" ".join(words[i : i + size]) for size in (1, 2, 3) for i in range(len(words) - size + 1)]
    best: tuple[float, ServiceInfo] | None = None
    for service in services:
        for name in _service_names(service):
            phrase = " ".join(words_normalize(name.replace("'", "")))
            for window in windows:
                if window == phrase:
                    ratio = 1.0
                elif len(window) >= 5 and window[0] == phrase[0]:
                    # Misheard words keep their first sound ("hair cot", "bear trim"); "have" is not "shave".
                    ratio = difflib.SequenceMatcher(None, window, phrase).ratio()
                else:
                    continue
                score = ratio * len(phrase)
                if ratio >= 0.85 and (best is None or score > best[0]):
                    best = (score, service)
    return best[1] if best else None


def name_extract(text: str, *, asked: bool = False) -> str | None:
    """A caller's name: "my name is maria lopez" -> "Maria Lopez".

    Without a lead phrase the whole sentence is taken as the name only when the
    caller was just ``asked`` for it and it looks like one (one to three words
    that are not common words).
    """
    lowered = text.lower().replace("\u2019", "'")
    plain = " ".join(re.sub(r"[^a-z ]+", " ", lowered.replace("'", "")).split())
    # Apostrophes go for matching ("it's" reads as "its"); a name keeps its own (O'Neill).
    spelled = {word.replace("'", ""): word for word in re.findall(r"[a-z]+'[a-z]+", lowered)}
    candidates: list[str] = []
    for lead in _NAME_LEADS:
        for m in re.finditer(lead, plain):
            candidates.append(plain[m.end() :].strip())
    if asked:
        candidates.append(re.sub(r"^(?:(?:yes|yeah|sure|ok|okay|um|uh|hi|its|it is|thats|please)\s+)+", "", plain))
    for candidate in candidates:
        words: list[str] = []
        for word in candidate.split():
            if word in _NOT_NAME or len(word) < 2:
                break
            words.append(word)
            if len(words) == 3:
                break
        if words:
            return " ".join(_capitalize(spelled.get(word, word)) for word in words)
    return None


def _capitalize(word: str) -> str:
    if "'" in word:
        return "'".join(part.capitalize() for part in word.split("'"))
    if word.startswith("mc") and len(word) > 3:
        return "Mc" + word[2:].capitalize()
    return word.capitalize()


def phone_extract(text: str, *, region: str = "US") -> str | None:
    """A phone number spoken digit by digit ("five five five one two three ...") as E.164, or None."""
    digits: list[str] = []
    repeat = 1
    for token in words_normalize(text.replace("'", "")):
        if token in ("double", "triple"):
            repeat = 2 if token == "double" else 3
            continue
        if token in ("oh", "o"):
            token = "0"
        if token.startswith("+"):
            token = token[1:]
        if token.isdigit():
            digits.append(token * repeat if len(token) == 1 else token)
        repeat = 1
    number = "".join(digits)
    if len(number) < 10:
        return None
    try:
        parsed = phonenumbers.parse(number if not number.startswith("00") else "+" + number[2:], region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def choice_extract(text: str, count: int) -> int | None:
    """Which of ``count`` offered options the caller picks: "the first one", "the later one", "that one"."""
    plain = _plain(text)
    if count <= 0:
        return None
    picks = (
        (r"\b(?:1st|earlier|earliest|former)\b", 0),
        (r"\b(?:2nd|middle)\b", 1 if count > 1 else None),
        (r"\b3rd\b", 2 if count > 2 else None),
        (r"\b(?:last|latest|later|latter)\b", count - 1),
    )
    for pattern, index in picks:
        if index is not None and _has(pattern, plain):
            return index
    if count == 1 and _has(r"\b(?:that 1|that works|thats fine|sounds good|perfect|great)\b", plain):
        return 0
    return None


def intent_update(guess: IntentGuess, slots: dict[str, Any]) -> IntentUpdate:
    return IntentUpdate(name=guess.name, confidence=round(guess.confidence, 2), slots=dict(slots))


def expecting_from_reply(text: str, *, holding: bool) -> Expecting:
    """Guess what the caller will answer from the reply's last question (a turn-taking hint)."""
    question = text.strip().rsplit(".", 1)[-1].lower()
    if not question.endswith("?"):
        return "open"
    if re.search(r"\bname\b", question):
        return "name"
    if re.search(r"\b(?:number|phone)\b", question):
        return "phone"
    if holding or re.search(r"^\s*(?:shall|should|is that|would you like me|do you want me|can i book)", question):
        return "yes_no"
    if re.search(r"\b(?:day|date|time|when)\b", question):
        return "date"
    return "open"
