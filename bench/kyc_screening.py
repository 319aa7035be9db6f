"""KYC screening benchmark: one name against 20,000 list entries with 2-4 aliases each.

Synthetic entries (persons of Arabic, Russian, Chinese and European names, with native-script and
transliterated aliases, and organisations) go into the same NameIndex class `watchlists.matching`
builds from the current list versions, in memory, so the run leaves nothing in the database. About
1,000 client names are screened one by one at the default threshold (85): hits (an entry's name
reordered, without its middle name, with another transliteration, a typo or its diacritics),
near misses (real first and last names combined afresh), non-Latin names (Cyrillic, Arabic,
Chinese) and unrelated names. Printed: index build time and size, p50/p95/p99 ms per screening (wall
and CPU time: on a shared machine the wall time's tail is mostly waiting), name forms scored per
screening, and how many planted hits were found.

The baseline, measured in the same run: brute force, `rapidfuzz.process.extract` of each name over
all names and aliases (normalised the same way, so only the search differs), with token_sort_ratio
and with WRatio, on a sample of the names: p50/p95 ms and how many planted hits each finds at 85.
`screen()` also asks the database once per call which list versions are current: that query's
cost is printed too when a database answers.

Run: `.venv/bin/python bench/kyc_screening.py [--entries N] [--names N] [--baseline N] [--seed S]`.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "brokerage.settings")
os.environ.setdefault("BROKERAGE_DEMO", "1")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.db import DatabaseError, connection  # noqa: E402
from rapidfuzz import fuzz, process  # noqa: E402

from bench.support import percentiles  # noqa: E402
from watchlists.matching import CURRENT_VERSIONS_SQL, DEFAULT_THRESHOLD, MAX_LIFT, ListedEntry, NameIndex  # noqa: E402
from watchlists.names import name_tokens, normalise  # noqa: E402

# (Latin spellings, native script): the first spelling is the list's, the others are variants.
ARABIC_GIVEN = [
    (["Mohammed", "Muhammad", "Mohamed", "Mohamad"], "محمد"),
    (["Ahmed", "Ahmad"], "أحمد"),
    (["Ali", "Aly"], "علي"),
    (["Hassan", "Hasan"], "حسن"),
    (["Hussein", "Husain", "Hussain"], "حسين"),
    (["Omar", "Umar"], "عمر"),
    (["Yusuf", "Youssef", "Yousef"], "يوسف"),
    (["Ibrahim", "Ebrahim"], "إبراهيم"),
    (["Khalid", "Khaled"], "خالد"),
    (["Mahmoud", "Mahmud"], "محمود"),
    (["Mustafa", "Mostafa"], "مصطفى"),
    (["Osama", "Usama"], "أسامة"),
    (["Tariq", "Tarek"], "طارق"),
    (["Said", "Saeed"], "سعيد"),
    (["Karim", "Kareem"], "كريم"),
    (["Hamza", "Hamzah"], "حمزة"),
    (["Faisal", "Faysal"], "فيصل"),
    (["Jamal", "Gamal"], "جمال"),
    (["Nasser", "Nasir"], "ناصر"),
    (["Abdullah", "Abdallah"], "عبدالله"),
]
ARABIC_FAMILY = [
    (["al-Rashid", "Rashid"], "الرشيد"),
    (["Haddad"], "حداد"),
    (["Mansour", "Mansur"], "منصور"),
    (["Saleh", "Salih"], "صالح"),
    (["Hamdan"], "حمدان"),
    (["al-Zahir", "Zahir"], "الظاهر"),
    (["Farouk", "Faruq"], "فاروق"),
    (["Aziz"], "عزيز"),
    (["Qureshi", "Kureshi"], "قريشي"),
    (["Nasrallah"], "نصرالله"),
    (["al-Masri", "el-Masri"], "المصري"),
    (["Khoury", "Khouri"], "خوري"),
    (["Abd al-Rahman", "Abdulrahman", "Abdel Rahman"], "عبد الرحمن"),
    (["al-Tikriti"], "التكريتي"),
    (["Sharif", "Sherif"], "شريف"),
]
RUSSIAN_GIVEN = [
    (["Vladimir"], "Владимир"),
    (["Sergei", "Sergey"], "Сергей"),
    (["Alexei", "Aleksey"], "Алексей"),
    (["Dmitry", "Dmitri"], "Дмитрий"),
    (["Ivan"], "Иван"),
    (["Nikolai", "Nikolay"], "Николай"),
    (["Yevgeny", "Evgeniy"], "Евгений"),
    (["Mikhail"], "Михаил"),
    (["Andrei", "Andrey"], "Андрей"),
    (["Oleg"], "Олег"),
    (["Igor"], "Игорь"),
    (["Yuri", "Yuriy"], "Юрий"),
    (["Boris"], "Борис"),
    (["Viktor"], "Виктор"),
    (["Arkady", "Arkadiy"], "Аркадий"),
]
RUSSIAN_FAMILY = [
    (["Ivanov"], "Иванов"),
    (["Petrov"], "Петров"),
    (["Smirnov"], "Смирнов"),
    (["Kuznetsov"], "Кузнецов"),
    (["Popov"], "Попов"),
    (["Volkov"], "Волков"),
    (["Sokolov"], "Соколов"),
    (["Lebedev"], "Лебедев"),
    (["Kozlov"], "Козлов"),
    (["Novikov"], "Новиков"),
    (["Morozov"], "Морозов"),
    (["Rotenberg"], "Ротенберг"),
    (["Deripaska"], "Дерипаска"),
    (["Prigozhin"], "Пригожин"),
    (["Shcherbakov", "Scherbakov"], "Щербаков"),
    (["Khodorkovsky", "Chodorkowski"], "Ходорковский"),
]
# fmt: off
CHINESE_FAMILY = [
    ("Li", "李"), ("Wang", "王"), ("Zhang", "张"), ("Liu", "刘"), ("Chen", "陈"), ("Yang", "杨"), ("Zhao", "赵"),
    ("Huang", "黄"), ("Zhou", "周"), ("Wu", "吴"), ("Xu", "徐"), ("Sun", "孙"),
]
CHINESE_GIVEN = [
    ("Wei", "伟"), ("Na", "娜"), ("Jing", "静"), ("Min", "敏"), ("Jun", "军"), ("Yong", "勇"), ("Lei", "磊"),
    ("Tao", "涛"), ("Ming", "明"), ("Hui", "辉"), ("Xiuying", "秀英"), ("Jianguo", "建国"), ("Haiyan", "海燕"),
    ("Guoqiang", "国强"), ("Xiaoming", "晓明"), ("Jinping", "近平"),
]
EUROPEAN_GIVEN = [
    "John", "Michael", "David", "Maria", "Anna", "Peter", "Thomas", "José", "François", "Jürgen", "Søren",
    "Łukasz", "Zoë", "Małgorzata", "Hélène", "Björn", "Giuseppe", "Ana", "Nikos", "Dragan",
]
EUROPEAN_FAMILY = [
    "Smith", "Müller", "García", "Martínez", "Rossi", "Dubois", "Novák", "Kowalski", "O'Connor", "van der Berg",
    "Jansen", "Schröder", "Papadopoulos", "Jovanović", "Nielsen", "Fernández", "Lefèvre", "Brown", "Weiß",
    "Horváth",
]
ORG_WORDS = [
    "Global", "Trading", "Shipping", "Petro", "Star", "Ocean", "Eastern", "Union", "Industrial", "Gulf", "Capital",
    "Energy", "Maritime", "Crescent", "Northern", "Silk Road", "Falcon", "Delta", "Atlas", "Sino", "Orient",
    "Red Sea", "Baltic", "Caspian", "Golden", "Phoenix", "Pacific", "Alpha", "Zenith",
]
ORG_FORMS = ["LLC", "Ltd", "Co.", "FZE", "JSC", "GmbH", "OOO", "S.A.", "Holding", "Group", "Company"]
CYRILLIC = [
    ("shch", "щ"), ("zh", "ж"), ("kh", "х"), ("ch", "ч"), ("sh", "ш"), ("ts", "ц"), ("ya", "я"), ("yu", "ю"),
    ("ye", "е"), ("a", "а"), ("b", "б"), ("v", "в"), ("g", "г"), ("d", "д"), ("e", "е"), ("z", "з"), ("i", "и"),
    ("y", "й"), ("k", "к"), ("l", "л"), ("m", "м"), ("n", "н"), ("o", "о"), ("p", "п"), ("r", "р"), ("s", "с"),
    ("t", "т"), ("u", "у"), ("f", "ф"),
]
COUNTRIES = ["AE", "IQ", "SY", "IR", "RU", "BY", "CN", "KP", "GB", "DE", "ES", "FR", "SA", "EG", "LB", "YE"]
RUSSIAN_ROOTS = [
    "bel", "vol", "zar", "kor", "mal", "nov", "pet", "rud", "sem", "tar", "yer", "zhuk", "gol", "lav", "mor", "sok",
    "chern", "dub", "gor", "kras", "shil", "tkach", "bog", "zub", "lit", "prokh", "kuz", "mikh",
]
EUROPEAN_STEMS = [
    "berg", "hol", "mar", "stein", "lind", "kov", "bran", "dal", "fer", "gar", "mont", "ros", "val", "wil", "kar",
    "len", "pol", "sand", "tor", "vik", "hart", "new", "black", "west", "fair",
]
# fmt: on


def cyrillic(latin: str) -> str:
    out, rest = "", latin.lower()
    while rest:
        for written, letter in CYRILLIC:
            if rest.startswith(written):
                out, rest = out + letter, rest[len(written) :]
                break
        else:
            rest = rest[1:]
    return out.title()


def families_make(rng: random.Random) -> None:
    """Add generated family names to the pools, for a vocabulary the size of a real list's (a few
    thousand distinct family names beside a few hundred given names)."""
    consonants = ["b", "d", "f", "h", "j", "k", "l", "m", "n", "q", "r", "s", "t", "z", "sh", "kh"]
    patterns = ["CaCiC", "CaCCaC", "CuCaCi", "CaCaCi", "CaCCuC", "CiCCa"]
    arabic = set()
    while len(arabic) < 1500:
        word = "".join(rng.choice(consonants) if part == "C" else part for part in rng.choice(patterns))
        arabic.add(rng.choice(["al-", "", ""]) + word.title())
    ARABIC_FAMILY.extend(([word], "") for word in sorted(arabic))
    russian = {
        f"{a}{b}{suffix}".title()
        for a in RUSSIAN_ROOTS
        for b in ["a", "o", "i", "", "ush", "en"]
        for suffix in ["ov", "ev", "in", "enko", "sky", "uk"]
    }
    RUSSIAN_FAMILY.extend(([word], cyrillic(word)) for word in sorted(russian))
    european = {
        f"{a}{b}".title()
        for a in EUROPEAN_STEMS
        for b in ["er", "son", "sen", "ez", "ini", "ski", "mann", "ovic", "ard", "ton", "ley", "ing", "elli", "escu"]
    }
    EUROPEAN_FAMILY.extend(sorted(european))


def typo(word: str, rng: random.Random) -> str:
    """One letter replaced, not the first (a typo, not another name)."""
    letters = [at for at, char in enumerate(word) if char.isalpha() and at > 0]
    if len(word) < 5 or not letters:
        return word
    at = rng.choice(letters)
    return word[:at] + rng.choice("aeioulnrst") + word[at + 1 :]


def person(rng: random.Random) -> dict:
    """A person as a list publishes them, with the parts the queries perturb."""
    culture = rng.choice(["arabic", "arabic", "russian", "chinese", "european"])
    if culture == "arabic":
        given, family, middle = rng.choice(ARABIC_GIVEN), rng.choice(ARABIC_FAMILY), rng.choice(ARABIC_GIVEN)
        latin = [given[0][0], middle[0][0], family[0][0]]
        aliases = [
            f"{rng.choice(given[0])} {rng.choice(family[0])}",
            f"{given[1]} {middle[1]} {family[1]}" if family[1] else f"{family[0][0].upper()}, {given[0][-1]}",
            f"{rng.choice(given[0])} {rng.choice(middle[0])} {rng.choice(family[0])}",
            f"Abu {rng.choice(ARABIC_GIVEN)[0][0]} {rng.choice(family[0])}",
        ]
        native = f"{given[1]} {family[1]}" if family[1] else ""
    elif culture == "russian":
        given, family, father = rng.choice(RUSSIAN_GIVEN), rng.choice(RUSSIAN_FAMILY), rng.choice(RUSSIAN_GIVEN)
        patronymic = father[0][0] + "ovich"
        latin = [given[0][0], patronymic, family[0][0]]
        aliases = [
            f"{given[1]} {father[1]}ович {family[1]}",
            f"{family[0][-1]}, {given[0][-1]}",
            f"{rng.choice(given[0])} {family[0][0]}",
        ]
        native = f"{given[1]} {family[1]}"
    elif culture == "chinese":
        family, given = rng.choice(CHINESE_FAMILY), rng.choice(CHINESE_GIVEN)
        latin = [family[0], given[0]]
        aliases = [f"{family[1]}{given[1]}", f"{given[0]} {family[0]}", f"{family[0].upper()} {given[0]}"]
        native = f"{family[1]}{given[1]}"
    else:
        given, middle, family = rng.choice(EUROPEAN_GIVEN), rng.choice(EUROPEAN_GIVEN), rng.choice(EUROPEAN_FAMILY)
        latin = [given, middle, family]
        aliases = [f"{given} {family}", f"{family.upper()}, {given} {middle}", normalise(f"{given} {family}")]
        native = ""
    return {"culture": culture, "latin": latin, "aliases": aliases, "native": native}


def entries_make(count: int, rng: random.Random) -> tuple[list[ListedEntry], dict[str, dict]]:
    entries, people = [], {}
    for number in range(count):
        entry_id = f"SYN-{number}"
        born = date(1940, 1, 1) + timedelta(days=rng.randrange(0, 60 * 365))
        if rng.random() < 0.25:
            words = rng.sample(ORG_WORDS, rng.randint(2, 3))
            name = f"{' '.join(words)} {rng.choice(ORG_FORMS)}"
            aliases = [" ".join(reversed(words)), f"{words[0]} {rng.choice(ORG_FORMS)}"][: rng.randint(1, 2)]
            aliases.append(f"{name} (formerly {rng.choice(ORG_WORDS)} {rng.choice(ORG_FORMS)})")
            entries.append(ListedEntry("bench", entry_id, str(number), name, tuple(aliases), kind="organisation"))
            continue
        data = person(rng)
        aliases = rng.sample(data["aliases"], min(len(data["aliases"]), rng.randint(2, 4)))
        dates = (born.isoformat(),) if rng.random() < 0.7 else (str(born.year),)
        nationality = rng.choice(COUNTRIES)
        entries.append(
            ListedEntry("bench", entry_id, str(number), " ".join(data["latin"]), tuple(aliases), dates, (nationality,))
        )
        people[entry_id] = {**data, "born": born, "nationality": nationality}
    return entries, people


def queries_make(count: int, people: dict[str, dict], rng: random.Random) -> list[tuple[str, str, str, date | None]]:
    """(kind, client name, the entry it should hit or "", date of birth)."""
    ids = sorted(people)
    out = []
    for _ in range(count):
        roll = rng.random()
        entry_id = rng.choice(ids)
        data = people[entry_id]
        latin = list(data["latin"])
        if roll < 0.4:
            change = rng.choice(["reorder", "no_middle", "typo", "plain", "upper"])
            if change == "reorder":
                rng.shuffle(latin)
            elif change == "no_middle" and len(latin) == 3:
                latin = [latin[0], latin[2]]
            elif change == "typo":
                latin[-1] = typo(latin[-1], rng)
            elif change == "plain":
                latin = [normalise(part) for part in latin]
            else:
                latin = [part.upper() for part in latin]
            out.append(("hit", " ".join(latin), entry_id, data["born"]))
        elif roll < 0.6 and data["native"]:
            out.append(("non-latin hit", data["native"], entry_id, data["born"]))
        elif roll < 0.85:
            other = people[rng.choice(ids)]
            out.append(("near miss", f"{latin[0]} {other['latin'][-1]}", "", None))
        else:
            syllables = ["ka", "lo", "mi", "ren", "tus", "vo", "dar", "sel", "bri", "non", "quo", "zan"]
            name = " ".join("".join(rng.choices(syllables, k=rng.randint(2, 3))).title() for _ in range(2))
            out.append(("unrelated", name, "", None))
    return out


def version_check_cost() -> str:
    try:
        samples = []
        for _ in range(1000):
            started = time.perf_counter()
            with connection.cursor() as cursor:
                cursor.execute(CURRENT_VERSIONS_SQL)
                cursor.fetchall()
            samples.append(time.perf_counter() - started)
        return percentiles(samples)
    except DatabaseError as error:
        return f"not measured (no database: {error.__class__.__name__})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=20_000)
    parser.add_argument("--names", type=int, default=1_000)
    parser.add_argument("--baseline", type=int, default=200, help="names screened by brute force")
    parser.add_argument("--seed", type=int, default=6)
    options = parser.parse_args()
    rng = random.Random(options.seed)
    families_make(rng)

    entries, people = entries_make(options.entries, rng)
    started = time.perf_counter()
    index = NameIndex(entries)
    built = time.perf_counter() - started
    stats = index.stats()
    print(f"KYC screening benchmark on {os.cpu_count()} cores, threshold {DEFAULT_THRESHOLD}")
    print(
        f"index: {stats['entries']:,} entries, {stats['names']:,} names and aliases distinct per entry "
        f"({stats['forms']:,} distinct forms), {stats['tokens']:,} distinct "
        f"tokens, {stats['block_keys']:,} block keys; built in {built:.2f} s"
    )

    queries = queries_make(options.names, people, rng)
    timings: dict[str, list[float]] = {}
    cpu: list[float] = []
    scored, found, planted = [], 0, 0
    for kind, name, expected, born in queries:
        data = people.get(expected, {})
        started, started_cpu = time.perf_counter(), time.process_time()
        matches = index.screen([name], date_of_birth=born, nationality=data.get("nationality", ""))
        elapsed = time.perf_counter() - started
        cpu.append(time.process_time() - started_cpu)
        timings.setdefault(kind, []).append(elapsed)
        timings.setdefault("all", []).append(elapsed)
        scored.append(len(index.candidates(name_tokens(name), DEFAULT_THRESHOLD - MAX_LIFT)))
        if expected:
            planted += 1
            found += any(match.entry.entry_id == expected for match in matches)

    print(f"\nscreen() of one name, {len(queries):,} names")
    for kind in ["all", "hit", "non-latin hit", "near miss", "unrelated"]:
        if kind in timings:
            print(f"  {kind:<16} n={len(timings[kind]):<5} {percentiles(timings[kind])}")
    print(f"  CPU time only    n={len(cpu):<5} {percentiles(cpu)}   (wall time above includes waiting for a busy CPU)")
    print(
        f"  name forms scored per screening: median {statistics.median(scored):,.0f}, "
        f"p95 {sorted(scored)[int(len(scored) * 0.95)]:,}, max {max(scored):,} (of {stats['forms']:,})"
    )
    print(f"  planted hits found: {found}/{planted} ({found / planted:.1%})")
    print(f"  + the current-versions query screen() makes per call: {version_check_cost()}")

    choices, choice_entry = [], []
    for entry_at, entry in enumerate(entries):
        for text in (entry.name, *entry.aliases):
            choices.append(normalise(text, organisation=entry.kind == "organisation"))
            choice_entry.append(entry_at)
    sample = queries[: options.baseline]
    print(f"\nbaseline: brute-force process.extract over all {len(choices):,} names, {len(sample)} names")
    for scorer in (fuzz.token_sort_ratio, fuzz.WRatio):
        samples, hits, expected_count = [], 0, 0
        for _kind, name, expected, _born in sample:
            query = normalise(name)
            started = time.perf_counter()
            results = process.extract(
                query, choices, scorer=scorer, processor=None, limit=10, score_cutoff=DEFAULT_THRESHOLD
            )
            samples.append(time.perf_counter() - started)
            if expected:
                expected_count += 1
                hits += any(entries[choice_entry[at]].entry_id == expected for _, _, at in results)
        print(f"  {scorer.__name__:<16} {percentiles(samples)}   planted hits in its top 10: {hits}/{expected_count}")


if __name__ == "__main__":
    main()
