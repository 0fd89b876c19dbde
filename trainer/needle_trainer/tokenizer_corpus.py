"""A seeded, offline corpus of tool/query text for training the Needle tokenizer.

Three sources are interleaved by byte share:

* ``stdlib``  - signatures, parameter names and docstrings of the installed Python standard
  library, read with :mod:`inspect` at generation time, plus JSON tool schemas derived from them;
* ``tools``   - procedurally invented tool schemas and calls rendered as JSON (OpenAI style,
  compact, call lists) and as signatures, with names in snake_case, camelCase, PascalCase,
  dotted ``module.func`` and kebab-case;
* ``queries`` - natural user requests from hand-written templates over many domains, filled with
  Faker values from many locales and numbers/dates/units/currencies in many surface forms.

Output is one text line per item (no newline characters inside a line) and is deterministic for a
given ``seed`` and Python installation (the stdlib text depends on the interpreter version).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import importlib
import inspect
import io
import json
import random
import re
import sys
import warnings
from collections.abc import Callable, Iterator

DEFAULT_TARGET_BYTES = 12_000_000
MAX_LINE_CHARS = 3000

# share of output bytes per source
SOURCE_SHARES = {"queries": 0.42, "tools": 0.38, "stdlib": 0.20}

LOCALES = [
    ("en_US", 10), ("en_GB", 3), ("en_IN", 2), ("de_DE", 3), ("fr_FR", 3), ("es_ES", 3),
    ("es_MX", 1), ("it_IT", 2), ("pt_BR", 2), ("nl_NL", 1), ("pl_PL", 1), ("sv_SE", 1),
    ("tr_TR", 1), ("ru_RU", 1), ("ja_JP", 2), ("zh_CN", 2), ("zh_TW", 1), ("ko_KR", 1),
    ("hi_IN", 1), ("ar_SA", 1),
]


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------

def _seed_for(seed: int, name: str) -> int:
    """A stable per-source seed (no ``hash()``: it is salted per process)."""
    h = 0
    for ch in f"{seed}:{name}":
        h = (h * 1_000_003 + ord(ch)) % (1 << 61)
    return h


def _one_line(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return " ".join(p for p in text.split("\n")) if "\n" in text else text


_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
         "fifteen sixteen seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def number_words(n: int) -> str:
    """English words for 0 <= n < 1_000_000 ("twenty-five", "three hundred and four")."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else "-" + _ONES[n % 10])
    if n < 1000:
        rest = n % 100
        return _ONES[n // 100] + " hundred" + ("" if rest == 0 else " and " + number_words(rest))
    rest = n % 1000
    head = number_words(n // 1000) + " thousand"
    if rest == 0:
        return head
    return head + (" and " if rest < 100 else " ") + number_words(rest)


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _group(n: int, sep: str) -> str:
    s = f"{n:,}"
    return s.replace(",", sep)


# ---------------------------------------------------------------------------------------------
# values: Faker (many locales) + numbers, dates, units, currencies
# ---------------------------------------------------------------------------------------------

def stabilise_faker(f) -> None:
    """Make a Faker instance independent of PYTHONHASHSEED.

    Some providers build their word lists from a ``set`` (e.g. it_IT ``cities``), so the list
    order, and with it the seeded output, changes between processes.  Give this instance sorted
    copies (the class attributes stay untouched).
    """
    for provider in f.providers:
        for attr in ("cities",):
            value = getattr(type(provider), attr, None)
            if isinstance(value, list) and all(isinstance(x, str) for x in value):
                setattr(provider, attr, sorted(value))


class Values:
    """Random surface values for slots; all randomness comes from ``rng`` and seeded Fakers."""

    def __init__(self, rng: random.Random, seed: int) -> None:
        self.rng = rng
        self._seed = seed
        self._fakers: dict[str, object] = {}
        self._locales = [loc for loc, _ in LOCALES]
        self._weights = [w for _, w in LOCALES]

    # -- faker ------------------------------------------------------------------------------
    def faker(self, locale: str | None = None):
        if locale is None:
            locale = self.rng.choices(self._locales, self._weights)[0]
        f = self._fakers.get(locale)
        if f is None:
            from faker import Faker

            f = Faker(locale)
            stabilise_faker(f)
            f.seed_instance(_seed_for(self._seed, "faker:" + locale))
            self._fakers[locale] = f
        return f

    def fake(self, method: str, locale: str | None = None) -> str:
        f = self.faker(locale)
        try:
            value = getattr(f, method)()
        except (AttributeError, NotImplementedError, ValueError):
            value = getattr(self.faker("en_US"), method)()
        return _one_line(str(value)).replace("\n", ", ")

    def western(self) -> str:
        return self.rng.choice(["en_US", "en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT",
                                "pt_BR", "nl_NL"])

    # -- people / places / orgs -------------------------------------------------------------
    def person(self) -> str:
        return self.fake("name")

    def first(self) -> str:
        return self.fake("first_name")

    def last(self) -> str:
        return self.fake("last_name")

    def city(self) -> str:
        if self.rng.random() < 0.45:
            return self.rng.choice(REAL_CITIES)
        return self.fake("city")

    def country(self) -> str:
        return self.fake("country")

    def address(self) -> str:
        return self.fake("address").replace("\n", ", ")

    def street(self) -> str:
        return self.fake("street_address").replace("\n", ", ")

    def company(self) -> str:
        return self.fake("company")

    def email(self) -> str:
        return self.fake("email", self.western()) if self.rng.random() < 0.5 else self.fake("email")

    def phone(self) -> str:
        return self.fake("phone_number")

    def job(self) -> str:
        return self.fake("job")

    def postcode(self) -> str:
        return self.fake("postcode")

    def username(self) -> str:
        u = self.fake("user_name", "en_US")
        return "@" + u if self.rng.random() < 0.4 else u

    def url(self) -> str:
        return self.fake("url", "en_US") + self.rng.choice(["", "", "docs", "api/v2/items",
                                                           "login?next=/home", "blog/2024/05"])

    def domain(self) -> str:
        return self.fake("domain_name", "en_US")

    def ip(self) -> str:
        return self.fake("ipv4", "en_US") if self.rng.random() < 0.85 else self.fake("ipv6", "en_US")

    def filename(self) -> str:
        return self.fake("file_name", "en_US")

    def filepath(self) -> str:
        if self.rng.random() < 0.2:
            return "C:\\Users\\" + self.first() + "\\Documents\\" + self.filename()
        return self.fake("file_path", "en_US")

    def word(self) -> str:
        return self.fake("word")

    def words(self) -> str:
        f = self.faker(self.western())
        return " ".join(f.words(self.rng.randint(2, 5)))

    def sentence(self) -> str:
        if self.rng.random() < 0.5:
            return self.rng.choice(MESSAGES)
        loc = self.rng.choice(["en_US", "en_US", "de_DE", "fr_FR", "es_ES", "it_IT", "ja_JP",
                               "zh_CN", "ru_RU", "pt_BR"])
        return self.fake("sentence", loc).rstrip(".")

    def title(self) -> str:
        return self.fake("catch_phrase", self.western()).title() if self.rng.random() < 0.5 \
            else self.rng.choice(EVENT_TITLES)

    def color(self) -> str:
        return self.rng.choice(COLORS) if self.rng.random() < 0.7 else self.fake("color_name")

    def plate(self) -> str:
        return self.fake("license_plate")

    def iban(self) -> str:
        return self.fake("iban", self.western())

    # -- numbers ----------------------------------------------------------------------------
    def small(self) -> str:
        n = self.rng.choice([1, 2, 2, 3, 3, 4, 5, 6, 7, 8, 10, 12, 15, 20, 24, 25, 30])
        return number_words(n) if self.rng.random() < 0.3 else str(n)

    def num(self) -> str:
        r = self.rng.random()
        n = self.rng.choice([self.rng.randint(0, 99), self.rng.randint(100, 9999),
                             self.rng.randint(10_000, 2_000_000)])
        if r < 0.35:
            return str(n)
        if r < 0.5:
            return _group(n, ",")
        if r < 0.55:
            return _group(n, self.rng.choice([".", " ", "\u202f", "'"]))
        if r < 0.68 and n < 100_000:
            return number_words(n)
        if r < 0.78:
            k = n / 1000
            return (f"{k:.1f}".rstrip("0").rstrip(".") + self.rng.choice(["k", "K", " thousand"]))
        if r < 0.84:
            m = self.rng.choice([1.2, 2.5, 3, 4.75, 10, 0.5])
            return f"{m}" + self.rng.choice(["M", "m", " million", "B", " billion", "bn"])
        if r < 0.92:
            x = self.rng.uniform(-1000, 1000)
            return f"{x:.{self.rng.randint(1, 4)}f}"
        if r < 0.96:
            return self.rng.choice(["0.5", ".5", "1/2", "3/4", "2/3", "1e3", "2.5e-4", "-7", "+12",
                                    "10^6", "1.0", "0", "-0.25", "99.99", "3.14159"])
        return f"{self.rng.uniform(0, 1000):,.2f}".replace(",", "X").replace(".", ",").replace("X", ".")

    def integer(self) -> str:
        n = self.rng.choice([self.rng.randint(1, 12), self.rng.randint(10, 500),
                             self.rng.randint(1000, 99999)])
        return str(n) if self.rng.random() < 0.8 else number_words(n % 1000)

    def pct(self) -> str:
        v = self.rng.choice([5, 10, 12.5, 15, 20, 25, 33, 50, 75, 0.5, 3.2, 100, 7])
        return self.rng.choice([f"{v}%", f"{v} %", f"{v} percent", f"{v} pct"])

    def ordinal(self) -> str:
        n = self.rng.randint(1, 31)
        return _ordinal(n) if self.rng.random() < 0.8 else self.rng.choice(
            ["first", "second", "third", "fourth", "fifth", "last", "tenth", "twenty-first"])

    def money(self) -> str:
        amount = self.rng.choice([self.rng.randint(1, 99), self.rng.randint(100, 5000),
                                  round(self.rng.uniform(0.5, 999), 2),
                                  self.rng.randint(5, 900) * 1000])
        a = f"{amount:,.2f}" if isinstance(amount, float) else _group(amount, ",")
        a_eu = a.replace(",", "X").replace(".", ",").replace("X", ".")
        forms = [
            f"${a}", f"{a} USD", f"US$ {a}", f"€{a}", f"{a_eu} €", f"{a_eu} EUR", f"£{a}",
            f"{a} GBP", f"¥{_group(int(amount * 100), ',')}", f"{int(amount * 100)} JPY",
            f"₹{a}", f"{a} INR", f"R$ {a_eu}", f"CHF {a}", f"{a} CAD", f"A${a}", f"{a} dollars",
            f"{a} euros", f"{a} bucks", f"{a_eu} zł", f"{a} yuan", f"{a}元", f"₩{int(amount) * 1000}",
            f"{a} BTC" if amount < 10 else f"{a} USDT", f"{amount} dollars",
        ]
        if amount >= 1000 and isinstance(amount, int):
            forms += [f"${amount // 1000}k", f"{amount // 1000}K euros", f"{amount // 1000} grand"]
        return self.rng.choice(forms)

    def currency(self) -> str:
        return self.rng.choice(CURRENCIES) if self.rng.random() < 0.75 else \
            self.rng.choice(["dollars", "euros", "yen", "pounds", "rupees", "Swiss francs",
                             "bitcoin", "reais", "pesos", "won", "yuan", "złoty"])

    def temp(self) -> str:
        c = self.rng.randint(-10, 35)
        f = round(c * 9 / 5 + 32)
        return self.rng.choice([f"{c}°C", f"{c} °C", f"{f}°F", f"{f} degrees", f"{c} degrees celsius",
                                f"{f} F", f"{c}C", f"{c}.5°C", f"{number_words(abs(c))} degrees"])

    def distance(self) -> str:
        v = self.rng.choice([1, 2, 3.5, 5, 10, 12.4, 21.1, 42.195, 100, 250, 0.8, 1500])
        return self.rng.choice([f"{v} km", f"{v}km", f"{v} miles", f"{v} mi", f"{v} m",
                                f"{v} meters", f"{v} kilometres", f"{v} ft", f"{v} nautical miles"])

    def weight(self) -> str:
        v = self.rng.choice([0.25, 0.5, 1, 2, 2.5, 5, 12, 70, 150, 500, 1.2])
        return self.rng.choice([f"{v} kg", f"{v}kg", f"{v} lbs", f"{v} lb", f"{v} g", f"{v} oz",
                                f"{v} pounds", f"{v} grams", f"{v} stone"])

    def volume(self) -> str:
        v = self.rng.choice([0.33, 0.5, 1, 2, 250, 330, 500, 750, 16, 3.5])
        return self.rng.choice([f"{v} l", f"{v} L", f"{v} ml", f"{v}ml", f"{v} cups", f"{v} fl oz",
                                f"{v} gallons", f"{v} tablespoons", f"{v} tsp"])

    def datasize(self) -> str:
        v = self.rng.choice([1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1.5, 100])
        return self.rng.choice([f"{v} GB", f"{v}GB", f"{v} MB", f"{v}MiB", f"{v} GiB", f"{v} TB",
                                f"{v} Mbps", f"{v} cores", f"{v}Gi"])

    def duration(self) -> str:
        n = self.rng.choice([1, 2, 3, 5, 10, 15, 20, 25, 30, 45, 90])
        return self.rng.choice([f"{n} minutes", f"{n} min", f"{n}m", f"{n} hours", f"{n}h",
                                f"{n} seconds", f"{n}s", f"{n} days", f"{n} weeks",
                                f"{number_words(n)} minutes", "an hour and a half", "half an hour",
                                f"{n}:{self.rng.choice(['00', '30', '15'])}", "a quarter of an hour",
                                f"PT{n}M", f"{n} mins", f"{n} hrs"])

    # -- dates / times ----------------------------------------------------------------------
    def _date(self) -> _dt.date:
        return _dt.date(2019, 1, 1) + _dt.timedelta(days=self.rng.randrange(4000))

    def date(self) -> str:
        d = self._date()
        r = self.rng.random()
        if r < 0.25:
            return self.rng.choice(RELATIVE_DAYS)
        forms = [
            d.isoformat(), d.strftime("%B %d"), d.strftime("%b %d, %Y"), d.strftime("%d/%m/%Y"),
            d.strftime("%m/%d/%Y"), d.strftime("%d.%m.%Y"), d.strftime("%m/%d"),
            f"{d.strftime('%B')} {_ordinal(d.day)}", f"the {_ordinal(d.day)} of {d.strftime('%B')}",
            d.strftime("%A, %B %d"), d.strftime("%a %d %b"), f"{d.year}年{d.month}月{d.day}日",
            f"{d.day} {d.strftime('%b')} {d.year}", d.strftime("%Y%m%d"), d.strftime("%d-%b-%Y"),
        ]
        return self.rng.choice(forms)

    def iso_date(self) -> str:
        return self._date().isoformat()

    def time(self) -> str:
        h, m = self.rng.randint(0, 23), self.rng.choice([0, 0, 0, 15, 30, 30, 45, 5, 50])
        h12 = h % 12 or 12
        ap = "am" if h < 12 else "pm"
        return self.rng.choice([
            f"{h:02d}:{m:02d}", f"{h}:{m:02d}", f"{h12}{ap}", f"{h12} {ap.upper()}",
            f"{h12}:{m:02d} {ap}", f"{h12}:{m:02d}{ap.upper()}", "noon", "midnight",
            f"half past {number_words(h12)}", f"quarter to {number_words(h12)}", f"{h}h{m:02d}",
            f"{h12} o'clock", f"{h}.{m:02d}", f"T{h:02d}:{m:02d}:00Z",
        ])

    def when(self) -> str:
        r = self.rng.random()
        if r < 0.4:
            return self.rng.choice(RELATIVE_WHEN)
        if r < 0.7:
            return f"{self.date()} at {self.time()}"
        return f"on {self.date()}"

    def iso_datetime(self) -> str:
        d = self._date()
        h, m = self.rng.randint(0, 23), self.rng.choice([0, 15, 30, 45])
        tz = self.rng.choice(["Z", "+00:00", "+01:00", "-05:00", "+09:00", "+05:30", ""])
        return f"{d.isoformat()}T{h:02d}:{m:02d}:00{tz}"

    # -- domain vocab -----------------------------------------------------------------------
    def pick(self, name: str) -> str:
        return self.rng.choice(VOCAB[name])


# ---------------------------------------------------------------------------------------------
# authored vocabulary (all written for this project)
# ---------------------------------------------------------------------------------------------

REAL_CITIES = [
    "Paris", "London", "New York", "San Francisco", "Tokyo", "Berlin", "Madrid", "Rome", "Lisbon",
    "São Paulo", "Mexico City", "Toronto", "Sydney", "Mumbai", "Delhi", "Bengaluru", "Beijing",
    "Shanghai", "Seoul", "Osaka", "Kyoto", "Zürich", "Genève", "Wien", "München", "Köln",
    "Hamburg", "Amsterdam", "Brussels", "Copenhagen", "Stockholm", "Oslo", "Helsinki", "Reykjavík",
    "Dublin", "Edinburgh", "Kraków", "Warsaw", "Prague", "Budapest", "Athens", "Istanbul",
    "Cairo", "Lagos", "Nairobi", "Cape Town", "Dubai", "Doha", "Tel Aviv", "Singapore",
    "Kuala Lumpur", "Bangkok", "Hanoi", "Ho Chi Minh City", "Jakarta", "Manila", "Buenos Aires",
    "Santiago", "Lima", "Bogotá", "Montréal", "Québec", "Vancouver", "Chicago", "Los Angeles",
    "Seattle", "Austin", "Boston", "Miami", "Denver", "Honolulu", "Anchorage", "Auckland",
    "Wellington", "Marseille", "Lyon", "Nice", "Barcelona", "Sevilla", "Valencia", "Milano",
    "Napoli", "Firenze", "Torino", "Porto", "Rio de Janeiro", "北京", "上海", "東京", "大阪",
    "서울", "Москва", "Санкт-Петербург", "मुंबई", "القاهرة", "Kyiv", "Tbilisi", "Yerevan",
]

RELATIVE_DAYS = [
    "today", "tomorrow", "yesterday", "tonight", "this weekend", "next Monday", "next Tuesday",
    "this Friday", "on Saturday", "Sunday morning", "next week", "in two weeks", "in 3 days",
    "the day after tomorrow", "end of the month", "next month", "last Thursday", "this evening",
]

RELATIVE_WHEN = [
    "tomorrow at 9", "tonight", "this afternoon", "in an hour", "in 20 minutes", "at noon",
    "next Friday at 3pm", "Monday morning", "right now", "later today", "before lunch",
    "after work", "first thing tomorrow", "on the 15th", "every weekday at 7:30",
]

MESSAGES = [
    "running 10 minutes late, start without me", "can we move our call to Thursday?",
    "happy birthday!! 🎉", "the build is green again", "don't forget the milk",
    "I'll be there in 5", "meeting notes are in the shared drive", "call me when you land",
    "thanks for dinner last night ❤️", "is the report ready?", "see you at the station",
    "the package arrived", "running late — traffic on the A4", "let's grab coffee ☕ tomorrow",
    "prod is down, please check the dashboard", "invoice attached, due in 30 days",
    "can you review PR #482?", "on my way 🚗", "the kids are asleep", "ok 👍",
    "Bonjour, je serai en retard", "Bis später!", "¡Nos vemos mañana!", "明日よろしくお願いします",
    "我到了", "Ci vediamo alle otto", "Tudo bem? Já chegou?", "Спасибо, всё получил",
]

EVENT_TITLES = [
    "Team standup", "1:1 with manager", "Dentist appointment", "Quarterly review",
    "Sprint planning", "Lunch with Sam", "Yoga class", "Flight to Berlin", "Parent-teacher meeting",
    "Board meeting", "Design sync", "Doctor's visit", "Car service", "Book club", "Date night",
    "Hackathon kickoff", "Budget review Q3", "Interview: backend engineer", "Gym", "Piano lesson",
]

COLORS = ["red", "warm white", "cool white", "blue", "green", "purple", "orange", "pink",
          "#FF8800", "#00ccff", "rgb(255, 0, 128)", "teal", "amber", "daylight", "soft yellow"]

CURRENCIES = ["USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD", "INR", "CNY", "BRL", "MXN", "KRW",
              "SEK", "NOK", "PLN", "TRY", "ZAR", "SGD", "HKD", "BTC", "ETH"]

VOCAB: dict[str, list[str]] = {
    "stock": ["AAPL", "MSFT", "GOOGL", "AMZN", "TSLA", "NVDA", "META", "NFLX", "SAP", "ASML",
              "7203.T", "BABA", "TSM", "RELIANCE.NS", "BRK.B", "VOO", "SPY", "QQQ", "^GSPC", "BTC-USD"],
    "airport": ["JFK", "LHR", "CDG", "FRA", "HND", "NRT", "SFO", "LAX", "ORD", "AMS", "MAD", "BCN",
                "FCO", "MUC", "ZRH", "DXB", "SIN", "HKG", "GRU", "YYZ", "SYD", "BOM", "DEL", "ICN"],
    "airline": ["LH", "BA", "AF", "UA", "DL", "AA", "NH", "JL", "EK", "QR", "SQ", "KL", "IB", "TK"],
    "food": ["pizza", "sushi", "ramen", "tacos", "pad thai", "falafel", "a burger", "pho", "biryani",
             "dim sum", "poke bowl", "croissants", "paella", "kebab", "bibimbap", "lasagna", "salad"],
    "cuisine": ["Italian", "Japanese", "Mexican", "Thai", "Indian", "Ethiopian", "French", "Korean",
                "vegan", "Lebanese", "Vietnamese", "Greek", "Peruvian", "Georgian", "Sichuan"],
    "ingredient": ["chicken thighs", "tofu", "chickpeas", "spinach", "eggs", "salmon", "mushrooms",
                   "zucchini", "basmati rice", "lentils", "feta", "sweet potatoes", "oat milk"],
    "diet": ["vegetarian", "vegan", "gluten-free", "keto", "halal", "kosher", "low-sodium",
             "dairy-free", "nut-free", "paleo"],
    "sport": ["football", "soccer", "basketball", "tennis", "cricket", "baseball", "hockey", "F1",
              "rugby", "volleyball", "golf", "MMA", "cycling", "handball"],
    "team": ["Real Madrid", "FC Barcelona", "Bayern München", "Manchester United", "Liverpool",
             "PSG", "Juventus", "Lakers", "Warriors", "Celtics", "Yankees", "Dodgers", "Chiefs",
             "Mumbai Indians", "Boca Juniors", "Flamengo", "Yomiuri Giants", "All Blacks", "Ferrari"],
    "league": ["Premier League", "La Liga", "Bundesliga", "Serie A", "Ligue 1", "NBA", "NFL",
               "MLB", "NHL", "IPL", "Champions League", "MLS", "J1 League", "Wimbledon"],
    "artist": ["Taylor Swift", "Bad Bunny", "BTS", "Beyoncé", "Stromae", "Rosalía", "Radiohead",
               "Miles Davis", "Daft Punk", "Ed Sheeran", "Arijit Singh", "宇多田ヒカル", "Björk",
               "Kendrick Lamar", "Adele", "The Beatles", "Céline Dion", "Burna Boy"],
    "genre": ["jazz", "lo-fi", "classical", "k-pop", "reggaeton", "techno", "indie rock", "metal",
              "bossa nova", "ambient", "hip hop", "country", "afrobeats", "chanson"],
    "movie": ["Inception", "Spirited Away", "Parasite", "Amélie", "The Godfather", "Dune: Part Two",
              "Oppenheimer", "Coco", "Everything Everywhere All at Once", "Roma", "Arrival",
              "千と千尋の神隠し", "La La Land", "The Matrix", "Barbie", "Interstellar"],
    "show": ["The Office", "Breaking Bad", "Dark", "Money Heist", "Squid Game", "The Crown",
             "Severance", "Succession", "Stranger Things", "Shōgun", "The Bear", "Lupin"],
    "app": ["Spotify", "Slack", "WhatsApp", "Telegram", "Signal", "Teams", "Zoom", "Gmail",
            "Outlook", "Notion", "Jira", "GitHub", "Trello", "Discord", "WeChat", "LINE"],
    "room": ["living room", "kitchen", "bedroom", "office", "bathroom", "hallway", "garage",
             "kids' room", "basement", "patio", "dining room", "guest room"],
    "device": ["lights", "thermostat", "TV", "speaker", "air purifier", "robot vacuum", "fan",
               "heater", "garage door", "front door lock", "blinds", "coffee machine", "AC",
               "dishwasher", "washing machine", "doorbell camera", "humidifier"],
    "service": ["payments-api", "auth-service", "web-frontend", "search-indexer", "billing",
                "notification-worker", "user-db", "redis-cache", "gateway", "ml-inference",
                "checkout", "inventory-svc", "kafka-consumer", "etl-nightly"],
    "env": ["production", "prod", "staging", "dev", "qa", "eu-west-1", "us-east-1", "canary",
            "sandbox", "preprod", "ap-southeast-2"],
    "branch": ["main", "master", "develop", "feature/login-flow", "fix/null-pointer",
               "release/2.4", "hotfix/payment-timeout", "chore/deps", "feat/dark-mode"],
    "repo": ["acme/webapp", "infra/terraform", "data/pipelines", "mobile-ios", "docs-site",
             "ml/training", "core-api", "design-system", "backend-monorepo"],
    "version": ["v1.2.3", "2.0.0", "v3.1.0-rc.1", "1.18", "4.2.1", "v10", "0.9.7", "2024.05.1",
                "sha-3f9a2c1", "latest"],
    "k8s": ["pods", "deployments", "nodes", "services", "ingresses", "configmaps", "jobs",
            "statefulsets", "persistent volumes", "namespaces"],
    "language": ["English", "Spanish", "French", "German", "Japanese", "Mandarin", "Portuguese",
                 "Italian", "Korean", "Hindi", "Arabic", "Russian", "Dutch", "Turkish", "Polish",
                 "español", "français", "Deutsch", "日本語", "中文"],
    "lang_code": ["en", "es", "fr", "de", "ja", "zh", "pt-BR", "it", "ko", "hi", "ar", "ru", "nl",
                  "en-GB", "zh-TW", "tr", "pl", "sv"],
    "symptom": ["a headache", "a sore throat", "back pain", "a fever", "trouble sleeping",
                "a rash", "heartburn", "a cough", "dizziness", "knee pain", "allergies"],
    "medication": ["ibuprofen", "paracetamol", "amoxicillin", "cetirizine", "metformin",
                   "vitamin D", "omeprazole", "insulin", "melatonin", "aspirin"],
    "exercise": ["a 5k run", "30 push-ups", "yoga", "a HIIT session", "swimming laps",
                 "a bike ride", "leg day", "a long walk", "pilates", "rowing"],
    "product": ["wireless earbuds", "a standing desk", "running shoes size 42", "a 4K monitor",
                "an espresso machine", "a phone case", "USB-C cables", "a mechanical keyboard",
                "a winter jacket", "noise-cancelling headphones", "a yoga mat", "an air fryer",
                "a laptop stand", "printer ink", "a kids' bike", "LEGO Technic", "a backpack"],
    "store": ["Amazon", "IKEA", "Target", "Walmart", "Best Buy", "Zalando", "MediaMarkt", "Decathlon",
              "Rakuten", "Flipkart", "Mercado Libre", "Costco", "Etsy", "eBay", "Uniqlo"],
    "vehicle": ["car", "bike", "e-scooter", "train", "bus", "walking", "transit", "taxi", "ferry"],
    "place": ["the nearest pharmacy", "a gas station", "the airport", "an ATM", "a coffee shop",
              "the train station", "a vegan restaurant", "the closest hospital", "a parking garage",
              "a supermarket", "an EV charger", "the museum", "a bookstore", "a laundromat"],
    "crypto": ["BTC", "ETH", "SOL", "ADA", "DOGE", "USDC", "XRP", "DOT"],
    "math_expr": ["2^10", "sqrt(144)", "15% of 240", "3x + 7 = 22", "integral of x^2 from 0 to 3",
                  "log2(1024)", "7!", "(12.5 * 4) / 3", "sin(pi/6)", "the derivative of x^3 - 2x",
                  "17 mod 5", "1e6 / 365", "gcd(84, 36)", "45 degrees in radians",
                  "the area of a circle with radius 3.5", "∑ i for i=1..100", "x² − 5x + 6 = 0"],
    "shape_unit": ["inches", "centimeters", "feet", "meters", "miles", "kilometers", "pounds",
                   "kilograms", "ounces", "grams", "fahrenheit", "celsius", "liters", "gallons",
                   "cups", "mph", "km/h", "kelvin", "bytes", "gigabytes"],
    "podcast": ["Radiolab", "The Daily", "Lex Fridman", "99% Invisible", "Hardcore History",
                "Planet Money", "Darknet Diaries", "Hotel Bar Sessions"],
    "book": ["Dune", "1984", "Sapiens", "The Hobbit", "Cien años de soledad", "Les Misérables",
             "Norwegian Wood", "Der Steppenwolf", "Project Hail Mary", "Atomic Habits"],
    "note_topic": ["grocery list", "meeting notes", "gift ideas", "packing list", "book quotes",
                   "project ideas", "passwords to rotate", "recipes to try", "travel plans"],
    "status": ["open", "closed", "in progress", "blocked", "done", "pending", "failed", "shipped",
               "delivered", "cancelled", "refunded"],
    "priority": ["high", "low", "urgent", "P0", "P1", "P2", "critical", "medium", "normal"],
    "cabin": ["economy", "premium economy", "business", "first class", "window seat", "aisle seat"],
    "hotel_feature": ["free breakfast", "a pool", "free cancellation", "pet-friendly", "parking",
                      "a gym", "sea view", "two queen beds", "late checkout", "wifi"],
    "format": ["PDF", "CSV", "JSON", "XLSX", "Markdown", "PNG", "MP3", "docx", "YAML", "parquet"],
    "metric": ["CPU usage", "memory", "p99 latency", "error rate", "disk I/O", "requests per second",
               "queue depth", "GC pauses", "5xx count", "cache hit ratio"],
}


# ---------------------------------------------------------------------------------------------
# query templates (written for this project)
# ---------------------------------------------------------------------------------------------

QUERY_TEMPLATES: list[str] = [
    # weather
    "What's the weather like in {city} {day}?",
    "Will it rain in {city} {day}?",
    "Give me the 5-day forecast for {city} in {tunit}",
    "how cold is it in {city} right now",
    "Is it going to be above {temp} in {city} this weekend?",
    "Do I need an umbrella in {city} {day}?",
    "UV index and humidity for {city}, please",
    "Compare the weather in {city} and {city} {day}",
    "Any storm warnings near {postcode}?",
    # calendar
    "Schedule a meeting with {person} {when} about {title}",
    "Create an event called \"{title}\" on {date} from {time} to {time}",
    "Move my {title} to {date} at {time}",
    "What's on my calendar {day}?",
    "Cancel the {title} meeting {day}",
    "Invite {email} and {email} to {title} {when}",
    "Block {duration} for focus time {day}",
    "Find a free slot next week for a {duration} call with {person}",
    "Set a reminder to {chore} {when}",
    "Remind me in {duration} to call {first}",
    "Set an alarm for {time} {day}",
    "Start a timer for {duration}",
    # messaging / email
    "Send a message to {first} saying \"{message}\"",
    "Text {person} on {app}: {message}",
    "Email {email} with the subject \"{title}\" and say {message}",
    "Reply to {first}'s last email and tell them {message}",
    "Post \"{message}\" in the #{channel} channel",
    "Forward the invoice from {company} to {email}",
    "Call {person} at {phone}",
    "Read my unread messages from {first}",
    "Add {person}, {phone}, {email} to my contacts",
    "What's {first}'s phone number?",
    "Update {person}'s address to {address}",
    # travel
    "Book a flight from {city} to {city} on {date} for {small} people",
    "Find flights {airport} to {airport} departing {date}, {cabin}",
    "Is flight {airline}{flightno} on time?",
    "Book a hotel in {city} from {date} to {date} with {hotel_feature}",
    "Cheapest train from {city} to {city} {day}",
    "Rent a car in {city} for {small} days starting {date}",
    "What's the check-in time for my reservation at {company}?",
    "Find me a hotel under {money} per night near {place} in {city}",
    "Do I need a visa to travel from {country} to {country}?",
    "Track my flight {airline} {flightno} tomorrow",
    # finance
    "Convert {money} to {currency}",
    "How much is {num} {currency} in {currency}?",
    "What's the stock price of {stock}?",
    "Show me {stock}'s performance over the last {small} months",
    "Buy {integer} shares of {stock} at market price",
    "Sell {pct} of my {crypto} position",
    "Transfer {money} to {person}, IBAN {iban}",
    "Pay the {company} invoice of {money} due {date}",
    "What did I spend on {food_cat} last month?",
    "Split {money} between {small} people with a {pct} tip",
    "Calculate the monthly payment on a {money} loan at {pct} over {small} years",
    "What's the exchange rate between {currency} and {currency} today?",
    "Set a budget alert at {money} for dining out",
    "Show my last {integer} transactions over {money}",
    # shopping / food
    "Order {product} from {store}",
    "Find {product} under {money}",
    "Add {integer} of {product} to my cart",
    "Where's my order #{order_no}?",
    "Return the {product} I bought on {date}",
    "Order {food} from a {cuisine} place for delivery to {street}",
    "Book a table for {small} at a {cuisine} restaurant in {city} {when}",
    "Find a {diet} recipe with {ingredient} and {ingredient}",
    "How many calories are in {weight} of {ingredient}?",
    "Add {ingredient}, {ingredient} and {volume} of oat milk to my shopping list",
    "Scale this recipe from {small} to {small} servings",
    "Convert {volume} to {shape_unit}",
    # smart home
    "Turn on the {room} {device}",
    "Turn off all the {device} {when}",
    "Set the {room} lights to {pct} and {color}",
    "Set the thermostat to {temp}",
    "Lock the front door",
    "Is the garage door open?",
    "Start the {device} in the {room} {when}",
    "Dim the {room} to {pct}",
    "What's the temperature in the {room}?",
    "Run the good night scene at {time}",
    # devops
    "Deploy {service} version {version} to {env}",
    "Roll back {service} in {env} to {version}",
    "Scale {service} to {integer} replicas in {env}",
    "Show me the logs for {service} from the last {duration}",
    "Restart the {service} pods in namespace {env}",
    "What's the {metric} of {service} in {env}?",
    "Open an issue in {repo} titled \"{title}\" with priority {priority}",
    "Create a branch {branch} from main in {repo}",
    "Merge PR #{order_no} in {repo}",
    "List the failing CI jobs on {branch}",
    "Who's on call for {service} this week?",
    "Ping {ip} and check port {port}",
    "Provision a VM with {datasize} RAM and {datasize} disk in {env}",
    "Get all {k8s} in the {env} namespace",
    "Run the SQL query SELECT * FROM orders WHERE total > {num} LIMIT {integer}",
    "Download {url} to {filepath}",
    "Compress {filepath} and upload it to s3://backups/{filename}",
    "Rotate the API key for {service}",
    # math / conversions
    "What's {math_expr}?",
    "Solve {math_expr}",
    "Calculate {num} times {num}",
    "What is {pct} of {num}?",
    "Convert {distance} to {shape_unit}",
    "Convert {temp} to {shape_unit}",
    "How many {shape_unit} are in {weight}?",
    "Round {num} to {small} decimal places",
    "Is {integer} a prime number?",
    "Generate a random number between {integer} and {integer}",
    # sports
    "What was the score of the {team} game {day}?",
    "When do {team} play next?",
    "Show the {league} standings",
    "Who won {league} in {year}?",
    "Live {sport} scores please",
    "Get tickets for {team} vs {team} on {date}",
    # health / fitness
    "Log {exercise} for {duration}",
    "I've had {symptom} for {small} days, what should I do?",
    "Remind me to take {medication} every {small} hours",
    "Book an appointment with Dr. {last} {when}",
    "How many steps did I walk {day}?",
    "Log my weight: {weight}",
    "Track {volume} of water",
    "Find a {diet} meal plan for {small} days under {integer} kcal",
    # media
    "Play some {genre}",
    "Play {artist} on {app}",
    "Add this song to my {adjective} playlist",
    "Skip to the next track and set the volume to {pct}",
    "Play the latest episode of {podcast}",
    "Find showtimes for {movie} in {city} {day}",
    "Put on {show} season {small} episode {integer}",
    "What's {artist}'s newest album?",
    "Translate \"{message}\" to {language}",
    "How do you say {word} in {language}?",
    "Read me chapter {integer} of {book}",
    # maps / navigation
    "Directions from {address} to {address} by {vehicle}",
    "How long does it take to get to {place} by {vehicle}?",
    "Find {place} near {street}",
    "Navigate home avoiding tolls",
    "How far is {city} from {city}?",
    "What's the traffic like on the way to {company}?",
    "Share my location with {first} for {duration}",
    # notes / docs / files
    "Create a note called {note_topic}: {message}",
    "Add {ingredient} to my {note_topic}",
    "Find the document {filename} I edited {day}",
    "Export the Q{quarter} report as {format}",
    "Summarize {url}",
    "Search my drive for files about {words}",
    "Share {filename} with {email} as editor",
    "Rename {filepath} to {filename}",
    # business / crm / hr
    "Create a lead for {person} at {company}, phone {phone}",
    "Log a {duration} call with {company} about renewal",
    "Show open deals over {money} closing before {date}",
    "Submit a vacation request from {date} to {date}",
    "Who is the {job} at {company}?",
    "Send an invoice for {money} to {company}, {address}",
    "Add a task \"{title}\" with priority {priority} due {date}",
    "Mark ticket #{order_no} as {status}",
    "Assign {repo} issue #{order_no} to {username}",
    # misc / chit-chat (often no tool applies)
    "Tell me a joke about {word}",
    "Thanks, that's all",
    "What's the meaning of life?",
    "Who are you?",
    "hmm never mind",
    "What time is it in {city}?",
    "Spell {word} backwards",
    "How old is {person}?",
    "What's a good name for a {color} cat?",
    "Write a haiku about {city}",
    "Look up {username} on {app}",
    "Check the plate {plate}",
    "Is {domain} down?",
]

# non-English templates (written for this project)
QUERY_TEMPLATES_INTL: list[str] = [
    "Wie wird das Wetter morgen in {city}?",
    "Erinnere mich um {time} daran, {first} anzurufen",
    "Schick eine Nachricht an {first}: {message}",
    "Buche einen Tisch für {small} Personen heute Abend um {time}",
    "Stell das Licht im Wohnzimmer auf {pct}",
    "Rechne {money} in {currency} um",
    "Quel temps fera-t-il à {city} demain ?",
    "Envoie un e-mail à {email} : « {message} »",
    "Réserve un vol de {city} à {city} le {date}",
    "Mets le chauffage à {temp} dans la chambre",
    "Combien font {num} euros en {currency} ?",
    "Ajoute du lait et des œufs à ma liste de courses",
    "¿Qué tiempo hace en {city} hoy?",
    "Llama a {person} al {phone}",
    "Reserva un hotel en {city} del {date} al {date}",
    "Pon una alarma a las {time}",
    "Envía {money} a {first} por Bizum",
    "Che tempo fa a {city} domani?",
    "Prenota un tavolo per {small} persone stasera",
    "Manda un messaggio a {first}: {message}",
    "Qual é a previsão do tempo para {city} amanhã?",
    "Agende uma reunião com {person} {when}",
    "Transfira {money} para {person}",
    "Wat voor weer wordt het morgen in {city}?",
    "Jaka będzie pogoda w {city} jutro?",
    "Какая погода в {city} завтра?",
    "Отправь сообщение {first}: {message}",
    "{city}の明日の天気は？",
    "{time}にアラームをセットして",
    "{person}さんに「{message}」とメッセージを送って",
    "{city}から{city}までの新幹線を予約して",
    "明天{city}的天气怎么样？",
    "给{person}发消息说{message}",
    "帮我订一张{date}从{city}到{city}的机票",
    "把客厅的灯调到{pct}",
    "{city} 날씨 알려줘",
    "{time}에 알람 맞춰줘",
    "कल {city} में मौसम कैसा रहेगा?",
    "{person} को कॉल करो",
    "Yarın {city} için hava durumu nedir?",
    "Hur blir vädret i {city} i morgon?",
]

_CHORES = ["water the plants", "pay rent", "take out the trash", "renew my passport",
           "pick up the kids", "submit the expense report", "call mom", "book the vet",
           "back up the laptop", "buy a gift for {first}", "stretch", "check the oven"]
_ADJ = ["chill", "workout", "focus", "road trip", "Sunday morning", "party", "sleep", "coding"]
_FOOD_CAT = ["groceries", "restaurants", "coffee", "takeout", "transport", "subscriptions"]
_CHANNELS = ["general", "random", "eng-alerts", "design", "sales", "incidents", "announcements"]
_QUERY_PREFIX = ["", "", "", "", "", "Hey, ", "Please ", "Can you ", "could you ", "I need to ",
                 "hey needle, ", "Quick one: ", "Um, ", "I'd like to ", "pls ", "OK so ", "Yo "]
# prefixes that also fit in front of a question
_QUESTION_PREFIX = ["", "", "", "", "", "Hey, ", "hey needle, ", "Quick one: ", "Um, ", "OK so ",
                    "Yo ", "Sorry, ", "Question: "]
_QUESTION_START = {"what", "what's", "will", "how", "is", "do", "any", "who", "who's", "when",
                   "where", "where's", "live", "thanks,", "hmm", "i've", "compare", "is", "does"}
_QUERY_SUFFIX = ["", "", "", "", "", " please", " thanks!", " asap", " pls", " 🙏", " thx",
                 " if possible", " real quick", "?", " :)", "!!"]


def _make_slots(v: Values) -> dict[str, Callable[[], str]]:
    rng = v.rng
    slots: dict[str, Callable[[], str]] = {
        "city": v.city, "country": v.country, "person": v.person, "first": v.first,
        "last": v.last, "company": v.company, "address": v.address, "street": v.street,
        "email": v.email, "phone": v.phone, "job": v.job, "postcode": v.postcode,
        "username": v.username, "url": v.url, "domain": v.domain, "ip": v.ip,
        "filename": v.filename, "filepath": v.filepath, "word": v.word, "words": v.words,
        "message": v.sentence, "title": v.title, "color": v.color, "plate": v.plate, "iban": v.iban,
        "small": v.small, "num": v.num, "integer": v.integer, "pct": v.pct, "money": v.money,
        "currency": v.currency, "temp": v.temp, "distance": v.distance, "weight": v.weight,
        "volume": v.volume, "datasize": v.datasize, "duration": v.duration, "date": v.date,
        "time": v.time, "when": v.when, "day": lambda: rng.choice(RELATIVE_DAYS),
        "tunit": lambda: rng.choice(["celsius", "fahrenheit", "°C", "°F", "metric", "imperial"]),
        "chore": lambda: rng.choice(_CHORES).replace("{first}", v.first()),
        "adjective": lambda: rng.choice(_ADJ), "food_cat": lambda: rng.choice(_FOOD_CAT),
        "channel": lambda: rng.choice(_CHANNELS),
        "flightno": lambda: str(rng.randint(1, 9999)),
        "order_no": lambda: str(rng.randint(100, 99_999_999)) if rng.random() < 0.7
        else f"{rng.choice('ABCDEFGHXYZ')}{rng.randint(10, 99)}-{rng.randint(1000, 99999)}",
        "port": lambda: str(rng.choice([22, 80, 443, 5432, 6379, 8080, 8443, 9090, 3000, 27017])),
        "year": lambda: str(rng.randint(1990, 2025)),
        "quarter": lambda: str(rng.randint(1, 4)),
    }
    for name in VOCAB:
        slots.setdefault(name, (lambda n: lambda: rng.choice(VOCAB[n]))(name))
    return slots


_SLOT_RE = re.compile(r"\{(\w+)\}")


def _typo(rng: random.Random, s: str) -> str:
    if len(s) < 6:
        return s
    i = rng.randrange(1, len(s) - 2)
    op = rng.random()
    if op < 0.4 and s[i].isalpha() and s[i + 1].isalpha():
        return s[:i] + s[i + 1] + s[i] + s[i + 2:]
    if op < 0.7:
        return s[:i] + s[i + 1:]
    return s[:i] + s[i] + s[i:]


def iter_queries(seed: int) -> Iterator[str]:
    rng = random.Random(_seed_for(seed, "queries"))
    v = Values(rng, seed)
    slots = _make_slots(v)

    def fill(t: str) -> str:
        return _SLOT_RE.sub(lambda m: slots[m.group(1)](), t)

    while True:
        intl = rng.random() < 0.10
        t = rng.choice(QUERY_TEMPLATES_INTL if intl else QUERY_TEMPLATES)
        q = fill(t)
        if not intl:
            first_word = t.split(" ", 1)[0].lower()
            pre = rng.choice(_QUESTION_PREFIX if first_word in _QUESTION_START else _QUERY_PREFIX)
            suf = rng.choice(_QUERY_SUFFIX)
            if pre and q[:1].isupper() and rng.random() < 0.7:
                q = q[0].lower() + q[1:]
            q = pre + q + suf
            r = rng.random()
            if r < 0.12:
                q = q.lower()
            elif r < 0.17:
                q = q.rstrip("?.!")
            elif r < 0.22:
                q = _typo(rng, q)
            elif r < 0.25:
                q = q.replace(",", "").replace("'", "")
            elif r < 0.28:
                # disfluent / ASR-like
                w = q.split(" ")
                k = rng.randrange(len(w))
                w.insert(k, rng.choice(["uh", "um", "like", "I mean", "uhh", "er"]))
                q = " ".join(w).lower()
        if rng.random() < 0.06:
            # two requests in one line (parallel-call style)
            q = q.rstrip() + rng.choice([" and also ", ". Also, ", "; then ", " + "]) + \
                fill(rng.choice(QUERY_TEMPLATES)).lower()
        yield q


# ---------------------------------------------------------------------------------------------
# invented tools and calls rendered as JSON / signatures
# ---------------------------------------------------------------------------------------------

# param name -> (json type, description, value kind); value kind is a slot name, "enum:a|b|c",
# "int:lo:hi", "float:lo:hi", "bool", "list:slot", or "obj"
PARAMS: dict[str, tuple[str, str, str]] = {
    "city": ("string", "Name of the city, e.g. Paris or San Francisco", "city"),
    "location": ("string", "City, address or place name", "address"),
    "unit": ("string", "Temperature unit", "enum:celsius|fahrenheit|kelvin"),
    "units": ("string", "Unit system", "enum:metric|imperial|standard"),
    "days": ("integer", "Number of days to forecast (1-14)", "int:1:14"),
    "date": ("string", "Date in YYYY-MM-DD format", "iso_date"),
    "start_date": ("string", "First day (ISO 8601)", "iso_date"),
    "end_date": ("string", "Last day, inclusive (ISO 8601)", "iso_date"),
    "start_time": ("string", "Start as an ISO 8601 timestamp", "iso_datetime"),
    "end_time": ("string", "End as an ISO 8601 timestamp", "iso_datetime"),
    "time": ("string", "Time of day, HH:MM (24h)", "hhmm"),
    "timezone": ("string", "IANA time zone name", "enum:Europe/Paris|America/New_York|Asia/Tokyo|UTC|Europe/Berlin|Asia/Kolkata|America/Sao_Paulo"),
    "title": ("string", "Short title", "title"),
    "description": ("string", "Free-text description", "message"),
    "attendees": ("array", "Email addresses of the people to invite", "list:email"),
    "reminder_minutes": ("integer", "Minutes before the event to send a reminder", "int:0:120"),
    "recipient": ("string", "Name, phone number or email of the recipient", "person"),
    "to": ("string", "Recipient email address", "email"),
    "cc": ("array", "Carbon-copy recipients", "list:email"),
    "subject": ("string", "Subject line", "title"),
    "body": ("string", "Message body", "message"),
    "text": ("string", "The text to send or process", "message"),
    "message": ("string", "Message content", "message"),
    "channel": ("string", "Channel or chat to post in", "channel"),
    "phone_number": ("string", "Phone number in any format", "phone"),
    "contact_name": ("string", "Full name of the contact", "person"),
    "email": ("string", "Email address", "email"),
    "address": ("string", "Street address", "address"),
    "origin": ("string", "Departure city or IATA airport code", "airport"),
    "destination": ("string", "Arrival city or IATA airport code", "airport"),
    "departure_date": ("string", "Departure date (YYYY-MM-DD)", "iso_date"),
    "return_date": ("string", "Return date for round trips", "iso_date"),
    "passengers": ("integer", "Number of passengers", "int:1:9"),
    "cabin_class": ("string", "Cabin class", "enum:economy|premium_economy|business|first"),
    "flight_number": ("string", "Airline code and flight number, e.g. LH1234", "flightcode"),
    "check_in": ("string", "Check-in date", "iso_date"),
    "check_out": ("string", "Check-out date", "iso_date"),
    "guests": ("integer", "Number of guests", "int:1:8"),
    "max_price": ("number", "Maximum price per night in the given currency", "float:20:900"),
    "amenities": ("array", "Required amenities", "list:hotel_feature"),
    "amount": ("number", "Amount of money", "float:1:100000"),
    "from_currency": ("string", "ISO 4217 code of the source currency", "enum:USD|EUR|GBP|JPY|CHF|INR|CNY|BRL|CAD"),
    "to_currency": ("string", "ISO 4217 code of the target currency", "enum:USD|EUR|GBP|JPY|CHF|INR|CNY|BRL|CAD"),
    "currency": ("string", "Currency code", "enum:USD|EUR|GBP|JPY|CHF|INR"),
    "symbol": ("string", "Ticker symbol", "stock"),
    "quantity": ("integer", "How many units", "int:1:500"),
    "order_type": ("string", "Order type", "enum:market|limit|stop|stop_limit"),
    "limit_price": ("number", "Limit price", "float:1:2000"),
    "account_id": ("string", "Account identifier", "account"),
    "iban": ("string", "IBAN of the beneficiary", "iban"),
    "reference": ("string", "Payment reference shown to the payee", "title"),
    "query": ("string", "Search query", "words"),
    "category": ("string", "Product category", "enum:electronics|books|clothing|home|toys|grocery|sports"),
    "sort_by": ("string", "Sort order of the results", "enum:relevance|price_asc|price_desc|rating|newest"),
    "limit": ("integer", "Maximum number of results to return", "int:1:100"),
    "offset": ("integer", "Number of results to skip", "int:0:500"),
    "page": ("integer", "Page number, starting at 1", "int:1:20"),
    "order_id": ("string", "Order number", "order_no"),
    "product_id": ("string", "Product SKU", "sku"),
    "cuisine": ("string", "Type of cuisine", "cuisine"),
    "party_size": ("integer", "Number of people", "int:1:12"),
    "ingredients": ("array", "Ingredients to use", "list:ingredient"),
    "diet": ("string", "Dietary restriction", "enum:none|vegetarian|vegan|gluten_free|keto|halal"),
    "max_minutes": ("integer", "Maximum preparation time in minutes", "int:5:180"),
    "servings": ("integer", "Number of servings", "int:1:12"),
    "room": ("string", "Room name", "room"),
    "device_id": ("string", "Identifier of the device", "device_id"),
    "brightness": ("integer", "Brightness in percent (0-100)", "int:0:100"),
    "color": ("string", "Color name or hex code", "color"),
    "state": ("string", "Target power state", "enum:on|off|toggle"),
    "temperature": ("number", "Target temperature in degrees", "float:15:30"),
    "mode": ("string", "Operating mode", "enum:heat|cool|auto|eco|off|fan"),
    "service": ("string", "Service name", "service"),
    "environment": ("string", "Deployment environment", "enum:production|staging|development|qa"),
    "version": ("string", "Version or git tag to deploy", "version"),
    "replicas": ("integer", "Desired number of replicas", "int:0:64"),
    "namespace": ("string", "Kubernetes namespace", "env"),
    "since": ("string", "Only return entries newer than this (e.g. 15m, 2h, 1d)", "enum:5m|15m|1h|2h|24h|7d"),
    "level": ("string", "Minimum log level", "enum:debug|info|warning|error|critical"),
    "repo": ("string", "Repository in owner/name form", "repo"),
    "branch": ("string", "Git branch name", "branch"),
    "labels": ("array", "Labels to apply", "list:label"),
    "assignee": ("string", "Username of the assignee", "username"),
    "priority": ("string", "Priority", "enum:low|medium|high|urgent"),
    "status": ("string", "New status", "enum:open|in_progress|blocked|done|closed"),
    "sql": ("string", "SQL statement to execute", "sql"),
    "database": ("string", "Database name", "enum:analytics|users|orders|warehouse"),
    "timeout_seconds": ("integer", "Timeout in seconds", "int:1:600"),
    "expression": ("string", "Mathematical expression to evaluate", "math_expr"),
    "precision": ("integer", "Number of decimal places", "int:0:10"),
    "value": ("number", "The value to convert", "float:-100:10000"),
    "from_unit": ("string", "Unit to convert from", "shape_unit"),
    "to_unit": ("string", "Unit to convert to", "shape_unit"),
    "team": ("string", "Team name", "team"),
    "league": ("string", "League or competition", "league"),
    "season": ("string", "Season, e.g. 2023-24", "season"),
    "artist": ("string", "Artist name", "artist"),
    "track": ("string", "Song title", "title"),
    "genre": ("string", "Music genre", "genre"),
    "volume": ("integer", "Volume level 0-100", "int:0:100"),
    "shuffle": ("boolean", "Shuffle playback", "bool"),
    "playlist_id": ("string", "Playlist identifier", "uuid"),
    "source_language": ("string", "Language code of the input text", "lang_code"),
    "target_language": ("string", "Language code to translate into", "lang_code"),
    "mode_of_transport": ("string", "Travel mode", "enum:driving|walking|bicycling|transit"),
    "avoid_tolls": ("boolean", "Avoid toll roads", "bool"),
    "radius_km": ("number", "Search radius in kilometers", "float:0.5:50"),
    "latitude": ("number", "Latitude in decimal degrees", "float:-90:90"),
    "longitude": ("number", "Longitude in decimal degrees", "float:-180:180"),
    "path": ("string", "File path", "filepath"),
    "url": ("string", "URL", "url"),
    "format": ("string", "Output format", "enum:pdf|csv|json|xlsx|md"),
    "overwrite": ("boolean", "Overwrite if the file exists", "bool"),
    "recursive": ("boolean", "Include subfolders", "bool"),
    "user_id": ("string", "User identifier", "uuid"),
    "role": ("string", "Role to grant", "enum:viewer|editor|admin|owner"),
    "include_archived": ("boolean", "Include archived items", "bool"),
    "tags": ("array", "Tags", "list:word"),
    "notes": ("string", "Optional notes", "message"),
    "duration_minutes": ("integer", "Duration in minutes", "int:5:240"),
    "seconds": ("integer", "Duration in seconds", "int:1:7200"),
    "label": ("string", "Label", "title"),
    "medication": ("string", "Medication name", "medication"),
    "dose_mg": ("number", "Dose in milligrams", "float:5:1000"),
    "doctor": ("string", "Doctor's name", "person"),
    "reason": ("string", "Reason for the visit", "symptom"),
    "steps": ("integer", "Step count", "int:0:40000"),
    "weight_kg": ("number", "Body weight in kilograms", "float:40:150"),
    "filters": ("object", "Additional filters as key/value pairs", "obj"),
    "metadata": ("object", "Arbitrary metadata", "obj"),
    "ip_address": ("string", "IPv4 or IPv6 address", "ip"),
    "port": ("integer", "TCP port", "int:1:65535"),
    "hostname": ("string", "Host name", "domain"),
    "company": ("string", "Company name", "company"),
    "job_title": ("string", "Job title", "job"),
    "postal_code": ("string", "Postal / ZIP code", "postcode"),
    "country_code": ("string", "ISO 3166-1 alpha-2 country code", "enum:US|DE|FR|ES|IT|JP|CN|BR|IN|GB|KR|MX"),
    "language": ("string", "Language", "language"),
}

TOOL_NOUNS: list[tuple[str, str, list[str], list[str], list[str]]] = [
    # (domain, noun words, verbs, required params, optional params)
    ("weather", "weather", ["get", "fetch", "lookup"], ["city"], ["unit", "date", "units"]),
    ("weather", "forecast", ["get", "fetch"], ["location"], ["days", "unit", "timezone"]),
    ("weather", "air quality", ["get", "check"], ["city"], ["date"]),
    ("calendar", "event", ["create", "update", "delete", "get"], ["title", "start_time"],
     ["end_time", "attendees", "description", "reminder_minutes", "timezone"]),
    ("calendar", "events", ["list", "search"], ["start_date"], ["end_date", "query", "limit"]),
    ("calendar", "reminder", ["create", "set", "cancel"], ["text", "start_time"], ["notes"]),
    ("clock", "timer", ["start", "set", "cancel"], ["seconds"], ["label"]),
    ("clock", "alarm", ["set", "delete"], ["time"], ["label", "date"]),
    ("messaging", "message", ["send", "schedule"], ["recipient", "text"], ["channel", "start_time"]),
    ("email", "email", ["send", "draft", "search"], ["to", "subject", "body"], ["cc", "tags"]),
    ("contacts", "contact", ["create", "update", "find", "delete"], ["contact_name"],
     ["phone_number", "email", "address", "company", "job_title"]),
    ("phone", "call", ["start", "place"], ["phone_number"], ["contact_name"]),
    ("travel", "flights", ["search", "find"], ["origin", "destination", "departure_date"],
     ["return_date", "passengers", "cabin_class", "max_price"]),
    ("travel", "flight status", ["get", "track"], ["flight_number"], ["date"]),
    ("travel", "hotel", ["book", "search", "reserve"], ["city", "check_in", "check_out"],
     ["guests", "max_price", "amenities", "currency"]),
    ("travel", "rental car", ["book", "reserve"], ["location", "start_date", "end_date"],
     ["category", "max_price"]),
    ("finance", "currency", ["convert"], ["amount", "from_currency", "to_currency"], ["date"]),
    ("finance", "exchange rate", ["get"], ["from_currency", "to_currency"], ["date"]),
    ("finance", "stock quote", ["get", "fetch"], ["symbol"], ["date", "currency"]),
    ("finance", "order", ["place", "cancel"], ["symbol", "quantity", "order_type"],
     ["limit_price", "account_id"]),
    ("finance", "payment", ["send", "schedule", "create"], ["amount", "iban"],
     ["currency", "reference", "date"]),
    ("finance", "transactions", ["list", "search", "export"], ["account_id"],
     ["start_date", "end_date", "category", "limit", "format"]),
    ("shopping", "products", ["search", "find"], ["query"],
     ["category", "max_price", "sort_by", "limit", "page"]),
    ("shopping", "cart item", ["add", "remove"], ["product_id", "quantity"], []),
    ("shopping", "order status", ["get", "track"], ["order_id"], []),
    ("food", "restaurant", ["book", "search"], ["city", "party_size", "start_time"],
     ["cuisine", "notes"]),
    ("food", "recipes", ["search", "find"], ["ingredients"], ["diet", "max_minutes", "servings"]),
    ("home", "lights", ["set", "toggle", "dim"], ["room"], ["brightness", "color", "state"]),
    ("home", "thermostat", ["set", "adjust"], ["temperature"], ["mode", "room", "unit"]),
    ("home", "device state", ["get", "set"], ["device_id"], ["state"]),
    ("devops", "service", ["deploy", "restart", "scale", "rollback"], ["service", "environment"],
     ["version", "replicas"]),
    ("devops", "logs", ["get", "search", "tail"], ["service"], ["since", "level", "limit", "query"]),
    ("devops", "pods", ["list", "restart", "delete"], ["namespace"], ["labels", "limit"]),
    ("devops", "issue", ["create", "update", "close"], ["repo", "title"],
     ["description", "labels", "assignee", "priority"]),
    ("devops", "pull request", ["create", "merge", "review"], ["repo", "branch"],
     ["title", "description"]),
    ("devops", "ticket status", ["update", "set"], ["order_id", "status"], ["notes"]),
    ("data", "query", ["run", "execute"], ["sql"], ["database", "timeout_seconds", "limit"]),
    ("data", "report", ["export", "generate"], ["start_date", "end_date"], ["format", "filters"]),
    ("math", "expression", ["evaluate", "calculate", "solve"], ["expression"], ["precision"]),
    ("math", "units", ["convert"], ["value", "from_unit", "to_unit"], ["precision"]),
    ("sports", "scores", ["get", "fetch"], ["team"], ["league", "date"]),
    ("sports", "standings", ["get"], ["league"], ["season"]),
    ("media", "music", ["play", "search", "queue"], ["query"], ["artist", "genre", "shuffle", "volume"]),
    ("media", "track", ["add", "skip", "like"], ["track"], ["playlist_id", "artist"]),
    ("media", "volume", ["set"], ["volume"], ["device_id"]),
    ("language", "text", ["translate", "summarize", "detect language of"], ["text"],
     ["source_language", "target_language"]),
    ("maps", "directions", ["get", "compute"], ["origin", "destination"],
     ["mode_of_transport", "avoid_tolls", "start_time"]),
    ("maps", "places nearby", ["search", "find"], ["query", "latitude", "longitude"],
     ["radius_km", "limit"]),
    ("maps", "address", ["geocode", "validate"], ["address"], ["country_code", "postal_code"]),
    ("files", "file", ["read", "write", "delete", "upload", "download"], ["path"],
     ["overwrite", "format", "url"]),
    ("files", "directory", ["list", "create", "archive"], ["path"], ["recursive", "include_archived"]),
    ("users", "user", ["get", "create", "deactivate", "update"], ["user_id"],
     ["email", "role", "metadata", "language"]),
    ("users", "permission", ["grant", "revoke"], ["user_id", "role"], ["path"]),
    ("health", "medication reminder", ["create", "set"], ["medication", "time"], ["dose_mg", "notes"]),
    ("health", "appointment", ["book", "cancel", "reschedule"], ["doctor", "date"], ["time", "reason"]),
    ("health", "activity", ["log", "get"], ["date"], ["steps", "duration_minutes", "weight_kg"]),
    ("network", "host", ["ping", "scan", "resolve"], ["hostname"], ["port", "ip_address", "timeout_seconds"]),
    ("notes", "note", ["create", "append to", "search"], ["title"], ["text", "tags"]),
    ("crm", "lead", ["create", "update", "qualify"], ["contact_name", "company"],
     ["email", "phone_number", "notes", "tags"]),
    ("hr", "leave request", ["submit", "approve", "cancel"], ["start_date", "end_date"], ["reason", "notes"]),
]

_QUALIFIERS = ["", "", "", "", "current", "by id", "all", "v2", "async", "batch", "for user",
               "details", "info", "summary", "latest"]
_VERB_DESC = {
    "get": ["Get", "Retrieve", "Return", "Fetch"], "fetch": ["Fetch", "Download", "Load"],
    "lookup": ["Look up"], "list": ["List", "Enumerate", "Return all"],
    "search": ["Search for", "Find", "Query"], "find": ["Find", "Locate"],
    "create": ["Create", "Add", "Make"], "update": ["Update", "Modify", "Edit"],
    "delete": ["Delete", "Remove"], "cancel": ["Cancel"], "book": ["Book", "Reserve"],
    "reserve": ["Reserve"], "send": ["Send", "Deliver"], "schedule": ["Schedule"],
    "convert": ["Convert"], "calculate": ["Calculate", "Compute"], "set": ["Set", "Configure"],
}


def _split_words(name: str) -> list[str]:
    return [w for w in re.split(r"[\s_\-./]+", name) if w]


def style_name(words: list[str], style: str, module: str = "") -> str:
    words = [w.lower() for w in words]
    if style == "snake":
        return "_".join(words)
    if style == "camel":
        return words[0] + "".join(w.capitalize() for w in words[1:])
    if style == "pascal":
        return "".join(w.capitalize() for w in words)
    if style == "kebab":
        return "-".join(words)
    if style == "screaming":
        return "_".join(words).upper()
    if style == "dotted":
        inner = words[0] + "".join(w.capitalize() for w in words[1:]) if len(module) % 2 else "_".join(words)
        return f"{module}.{inner}"
    raise ValueError(style)


_STYLES = ["snake", "snake", "snake", "camel", "camel", "pascal", "dotted", "dotted", "kebab",
           "screaming"]


class ToolFactory:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(_seed_for(seed, "tools"))
        self.values = Values(self.rng, seed + 7919)
        self.slots = _make_slots(self.values)

    # -- values -----------------------------------------------------------------------------
    def value(self, kind: str):
        rng = self.rng
        if kind.startswith("enum:"):
            return rng.choice(kind[5:].split("|"))
        if kind.startswith("int:"):
            lo, hi = kind[4:].split(":")
            return rng.randint(int(lo), int(hi))
        if kind.startswith("float:"):
            lo, hi = kind[6:].split(":")
            return round(rng.uniform(float(lo), float(hi)), rng.choice([0, 1, 2, 2, 4]))
        if kind == "bool":
            return rng.random() < 0.5
        if kind.startswith("list:"):
            return [self.value(kind[5:]) for _ in range(rng.randint(1, 4))]
        if kind == "obj":
            return {self.rng.choice(["status", "region", "owner", "min_rating", "source", "tier"]):
                    self.value(self.rng.choice(["word", "int:1:5", "bool", "city"]))
                    for _ in range(rng.randint(1, 3))}
        special = {
            "hhmm": lambda: f"{rng.randint(0, 23):02d}:{rng.choice([0, 15, 30, 45]):02d}",
            "iso_date": self.values.iso_date, "iso_datetime": self.values.iso_datetime,
            "flightcode": lambda: f"{rng.choice(VOCAB['airline'])}{rng.randint(1, 9999)}",
            "account": lambda: f"acc_{rng.randint(10**7, 10**9)}",
            "sku": lambda: f"{rng.choice(['SKU', 'B0', 'P-', 'item_'])}{rng.randint(10**5, 10**9)}",
            "uuid": lambda: "%08x-%04x-4%03x-%04x-%012x" % (
                rng.getrandbits(32), rng.getrandbits(16), rng.getrandbits(12),
                rng.getrandbits(14) | 0x8000, rng.getrandbits(48)),
            "device_id": lambda: f"{rng.choice(VOCAB['room']).replace(' ', '_')}.{rng.choice(VOCAB['device']).replace(' ', '_').lower()}",
            "label": lambda: rng.choice(["bug", "enhancement", "p1", "good first issue", "docs", "security", "ui"]),
            "season": lambda: (lambda y: f"{y}-{(y + 1) % 100:02d}")(rng.randint(2000, 2024)),
            "sql": lambda: rng.choice([
                "SELECT id, email FROM users WHERE created_at > '2024-01-01'",
                "SELECT count(*) FROM orders GROUP BY status",
                f"UPDATE tickets SET status = 'closed' WHERE id = {rng.randint(1, 9999)}",
                "SELECT * FROM events ORDER BY ts DESC LIMIT 50"]),
        }
        if kind in special:
            return special[kind]()
        return self.slots[kind]()

    # -- schema -----------------------------------------------------------------------------
    def tool(self) -> dict:
        rng = self.rng
        domain, noun, verbs, req, opt = rng.choice(TOOL_NOUNS)
        verb = rng.choice(verbs)
        qual = rng.choice(_QUALIFIERS)
        words = _split_words(verb) + _split_words(noun) + _split_words(qual)
        style = rng.choice(_STYLES)
        name = style_name(words, style, module=domain)
        pstyle = rng.choice(["snake", "snake", "snake", "camel", "camel", "pascal", "kebab"])
        chosen_opt = [p for p in opt if rng.random() < 0.7]
        params = req + chosen_opt
        if rng.random() < 0.5:
            rng.shuffle(params)
        vdesc = rng.choice(_VERB_DESC.get(verb, [verb.capitalize()]))
        desc = f"{vdesc} {'the ' if rng.random() < 0.5 else ''}{noun}"
        if qual:
            desc += f" ({qual})"
        desc += rng.choice([".", "", " for the given parameters.", " and return the result as JSON.",
                            ". Requires authentication.", f" in the {domain} service."])
        props = {}
        for p in params:
            typ, pdesc, kind = PARAMS[p]
            key = style_name(_split_words(p), pstyle) if pstyle != "snake" else p
            spec: dict = {"type": typ, "description": pdesc}
            if kind.startswith("enum:"):
                spec["enum"] = kind[5:].split("|")
            if typ == "array":
                spec["items"] = {"type": "string"}
            if p in opt and rng.random() < 0.25:
                spec["default"] = self.value(kind)
            props[key] = (p, spec)
        return {
            "name": name, "description": desc, "domain": domain,
            "props": props, "required": [k for k, (p, _) in props.items() if p in req],
        }

    def args(self, tool: dict) -> dict:
        out = {}
        for key, (p, spec) in tool["props"].items():
            if key in tool["required"] or self.rng.random() < 0.5:
                out[key] = self.value(PARAMS[p][2])
        return out

    # -- renderings -------------------------------------------------------------------------
    def _schema(self, tool: dict) -> dict:
        return {"type": "object",
                "properties": {k: spec for k, (_, spec) in tool["props"].items()},
                "required": tool["required"]}

    def render_tool(self, tool: dict) -> str:
        rng = self.rng
        r = rng.random()
        ascii_ = rng.random() < 0.5
        if r < 0.3:
            obj = {"type": "function", "function": {"name": tool["name"], "description": tool["description"],
                                                     "parameters": self._schema(tool)}}
            return json.dumps(obj, ensure_ascii=ascii_)
        if r < 0.5:
            obj = {"name": tool["name"], "description": tool["description"],
                   "parameters": self._schema(tool)}
            return json.dumps(obj, separators=(",", ":"), ensure_ascii=ascii_)
        if r < 0.62:
            obj = {"name": tool["name"], "description": tool["description"],
                   "input_schema": self._schema(tool)}
            return json.dumps(obj, ensure_ascii=ascii_)
        if r < 0.82:
            tmap = {"string": "str", "integer": "int", "number": "float", "boolean": "bool",
                    "array": "list[str]", "object": "dict"}
            parts = []
            for k, (_, spec) in tool["props"].items():
                t = tmap[spec["type"]]
                if "enum" in spec:
                    t = "Literal[" + ", ".join(json.dumps(e) for e in spec["enum"]) + "]"
                s = f"{k}: {t}"
                if k not in tool["required"]:
                    s += " = " + (repr(spec["default"]) if "default" in spec else "None")
                parts.append(s)
            sig = f"{tool['name']}({', '.join(parts)})"
            return sig + rng.choice([f"  # {tool['description']}", f" -> dict: {tool['description']}",
                                     f' """{tool["description"]}"""', ""])
        # compact line format: name: description | param(type, required): desc; ...
        items = []
        for k, (_, spec) in tool["props"].items():
            flag = "*" if k in tool["required"] else "?"
            t = spec["type"] if "enum" not in spec else "|".join(spec["enum"])
            items.append(f"{k}{flag}:{t} {spec['description']}")
        sep = rng.choice(["; ", " | ", ", "])
        return f"{tool['name']}: {tool['description']} {sep.strip()} " + sep.join(items)

    def render_call(self, tool: dict, args: dict) -> str:
        rng = self.rng
        ascii_ = rng.random() < 0.4
        r = rng.random()
        if r < 0.45:
            return json.dumps({"name": tool["name"], "arguments": args}, ensure_ascii=ascii_)
        if r < 0.6:
            return json.dumps({"name": tool["name"], "arguments": args}, separators=(",", ":"),
                              ensure_ascii=ascii_)
        if r < 0.72:
            return json.dumps({"type": "function", "function": {
                "name": tool["name"], "arguments": json.dumps(args, ensure_ascii=ascii_)}},
                ensure_ascii=ascii_)
        if r < 0.85:
            kw = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in args.items())
            return f"{tool['name']}({kw})"
        return json.dumps({"tool": tool["name"], "args": args}, ensure_ascii=ascii_, indent=None)

    def lines(self) -> Iterator[str]:
        rng = self.rng
        while True:
            r = rng.random()
            if r < 0.38:
                yield self.render_tool(self.tool())
            elif r < 0.78:
                t = self.tool()
                yield self.render_call(t, self.args(t))
            elif r < 0.9:
                calls = []
                for _ in range(rng.randint(2, 4)):
                    t = self.tool()
                    calls.append({"name": t["name"], "arguments": self.args(t)})
                yield json.dumps(calls, ensure_ascii=rng.random() < 0.4)
            elif r < 0.95:
                tools = [self.tool() for _ in range(rng.randint(2, 4))]
                yield json.dumps([{"name": t["name"], "description": t["description"],
                                   "parameters": self._schema(t)} for t in tools],
                                 separators=(",", ":"), ensure_ascii=False)
            else:
                yield rng.choice(['{"calls": []}', "[]", '{"tool_calls": null}', "no_call",
                                  '{"name": null}', '{"error": "no matching tool"}'])


# ---------------------------------------------------------------------------------------------
# standard library text (read via inspect at generation time)
# ---------------------------------------------------------------------------------------------

_STDLIB_SKIP = {
    "antigravity", "this", "idlelib", "tkinter", "turtle", "turtledemo", "test", "lib2to3",
    "ensurepip", "pydoc_data", "msilib", "winreg", "winsound", "nt", "msvcrt", "xxsubtype",
    "xxlimited", "xxlimited_35", "sre_compile", "sre_constants", "sre_parse", "nturl2path",
    "_msi", "_winapi", "_overlapped", "_wmi", "crypt", "nis", "ossaudiodev", "spwd", "imp",
    "asynchat", "asyncore", "smtpd", "distutils", "tty", "pty", "readline", "curses", "dbm",
    "sqlite3", "venv", "webbrowser", "pydoc",
}
_ADDR_RE = re.compile(r" at 0x[0-9a-fA-F]+")
_TYPE_MAP = {int: "integer", float: "number", str: "string", bool: "boolean", list: "array",
             dict: "object", tuple: "array", bytes: "string"}


def _stdlib_modules() -> list[str]:
    names = getattr(sys, "stdlib_module_names", None)
    if names is None:  # Python < 3.10: a reasonable fixed list
        names = {"os", "re", "json", "math", "random", "string", "datetime", "collections",
                 "itertools", "functools", "pathlib", "shutil", "subprocess", "statistics",
                 "textwrap", "urllib", "http", "email", "csv", "zipfile", "tarfile", "hashlib",
                 "base64", "uuid", "decimal", "fractions", "calendar", "time", "logging"}
    return sorted(n for n in names if not n.startswith("_") and n not in _STDLIB_SKIP)


def _submodules(mod) -> list[str]:
    """Public submodules of a stdlib package (two levels deep), sorted."""
    import pkgutil

    path = getattr(mod, "__path__", None)
    if not path:
        return []
    out = []
    for info in pkgutil.walk_packages(path, prefix=mod.__name__ + ".", onerror=lambda _n: None):
        parts = info.name.split(".")
        if len(parts) > 3 or any(p.startswith("_") or p in ("test", "tests") for p in parts[1:]):
            continue
        if parts[-1] in _STDLIB_SKIP or parts[-1] == "__main__" or parts[0] == "encodings":
            continue
        out.append(info.name)
    return sorted(out)


@contextlib.contextmanager
def _quiet():
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
            contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


def _import_quietly(name: str):
    with _quiet():
        try:
            return importlib.import_module(name)
        except BaseException:  # noqa: BLE001 - anything can happen on import of odd modules
            return None


class _Opaque:
    def __repr__(self) -> str:
        return "..."


_OPAQUE = _Opaque()


def _safe_default(value) -> bool:
    """Only simple literal defaults go into the corpus.

    Others (``os.environ``, ``sys.prefix``-based paths, objects) would leak the local machine's
    environment or are noise; they are rendered as ``...``.
    """
    if value is None or isinstance(value, (bool, int, float)):
        return True
    if isinstance(value, (str, bytes)):
        text = value if isinstance(value, str) else value.decode("latin-1")
        return len(text) <= 40 and not (len(text) > 3 and ("/" in text or "\\" in text))
    if isinstance(value, tuple) and len(value) <= 6:
        return all(_safe_default(v) for v in value)
    return False


def _sig(obj) -> str | None:
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError, RuntimeError):
        return None
    params = []
    for p in sig.parameters.values():
        if p.default is not p.empty and not _safe_default(p.default):
            p = p.replace(default=_OPAQUE)
        params.append(p)
    try:
        return _ADDR_RE.sub("", str(sig.replace(parameters=params)))
    except (TypeError, ValueError):
        return None


def _doc(obj) -> list[str]:
    try:
        doc = inspect.getdoc(obj)
    except Exception:  # noqa: BLE001
        return []
    if not doc:
        return []
    out = []
    for line in doc.splitlines():
        line = _ADDR_RE.sub("", line.rstrip())
        if line.strip():
            out.append(line[:MAX_LINE_CHARS])
    return out[:60]


def _schema_from_signature(qualname: str, obj, doc: list[str]) -> str | None:
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError, RuntimeError):
        return None
    props, required = {}, []
    for p in sig.parameters.values():
        if p.name in ("self", "cls") or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        spec: dict = {}
        ann = p.annotation
        if ann is not inspect.Parameter.empty and ann in _TYPE_MAP:
            spec["type"] = _TYPE_MAP[ann]
        elif p.default is not inspect.Parameter.empty and p.default is not None \
                and type(p.default) in _TYPE_MAP:
            spec["type"] = _TYPE_MAP[type(p.default)]
        else:
            spec["type"] = "string"
        if p.default is inspect.Parameter.empty:
            required.append(p.name)
        elif (isinstance(p.default, (int, float, str, bool)) or p.default is None) \
                and _safe_default(p.default):
            if not (isinstance(p.default, float) and p.default != p.default):
                spec["default"] = p.default
        props[p.name] = spec
    if not props:
        return None
    desc = doc[0] if doc else ""
    try:
        return json.dumps({"name": qualname, "description": desc, "parameters": {
            "type": "object", "properties": props, "required": required}}, ensure_ascii=False)
    except (TypeError, ValueError):
        return None


def _module_lines(modname: str) -> list[str]:
    mod = _import_quietly(modname)
    if mod is None:
        return []
    lines: list[str] = []
    lines.extend(_doc(mod)[:20])
    try:
        names = sorted(n for n in dir(mod) if not n.startswith("_"))
    except Exception:  # noqa: BLE001
        return lines
    for name in names:
        try:
            obj = getattr(mod, name)
        except Exception:  # noqa: BLE001
            continue
        owner = getattr(obj, "__module__", None) or ""
        if not isinstance(owner, str) or not (owner == modname or owner.startswith(modname + ".")
                                              or owner == "_" + modname):
            continue
        if inspect.isclass(obj):
            sig = _sig(obj)
            lines.append(f"class {modname}.{name}{sig or ''}")
            lines.extend(_doc(obj)[:15])
            for mname, meth in sorted(vars(obj).items()):
                if mname.startswith("_") or not callable(meth):
                    continue
                msig = _sig(meth)
                if msig is not None:
                    lines.append(f"{modname}.{name}.{mname}{msig}")
                    mdoc = _doc(meth)
                    lines.extend(mdoc[:6])
        elif inspect.isroutine(obj):
            sig = _sig(obj)
            doc = _doc(obj)
            lines.append(f"{modname}.{name}{sig or '(...)'}")
            lines.extend(doc)
            schema = _schema_from_signature(f"{modname}.{name}", obj, doc)
            if schema:
                lines.append(schema)
    return [ln[:MAX_LINE_CHARS] for ln in lines if ln.strip()]


def iter_stdlib(seed: int) -> Iterator[str]:
    rng = random.Random(_seed_for(seed, "stdlib"))
    mods = _stdlib_modules()
    rng.shuffle(mods)
    for m in mods:
        names = [m]
        mod = _import_quietly(m)
        if mod is not None:
            with _quiet():
                names += _submodules(mod)
        for name in names:
            for ln in _module_lines(name):
                yield _one_line(ln)


# ---------------------------------------------------------------------------------------------
# the mixed stream
# ---------------------------------------------------------------------------------------------

def iter_corpus_lines(seed: int = 0, target_bytes: int = DEFAULT_TARGET_BYTES) -> Iterator[str]:
    """Yield corpus lines (no trailing newline) until about ``target_bytes`` UTF-8 bytes.

    Sources are interleaved deterministically so that each gets its share of bytes
    (``SOURCE_SHARES``); when the stdlib runs out, the other sources fill the rest.
    """
    sources: dict[str, Iterator[str]] = {
        "queries": iter_queries(seed),
        "tools": ToolFactory(seed).lines(),
        "stdlib": iter_stdlib(seed),
    }
    produced = {k: 0 for k in sources}
    total = 0
    while total < target_bytes and sources:
        # the live source furthest behind its share
        name = min(sources, key=lambda k: (produced[k] / SOURCE_SHARES[k], k))
        try:
            line = next(sources[name])
        except StopIteration:
            del sources[name]
            continue
        line = line.replace("\n", " ").replace("\r", " ")
        if not line.strip():
            continue
        n = len(line.encode("utf-8")) + 1
        produced[name] += n
        total += n
        yield line


def write_corpus(path, seed: int = 0, target_bytes: int = DEFAULT_TARGET_BYTES) -> tuple[int, int]:
    """Write the corpus to ``path``, one line each; return (lines, bytes)."""
    lines = nbytes = 0
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for line in iter_corpus_lines(seed, target_bytes):
            f.write(line)
            f.write("\n")
            lines += 1
            nbytes += len(line.encode("utf-8")) + 1
    return lines, nbytes
