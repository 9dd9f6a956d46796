# ruff: noqa: SIM905
"""A generated web-like corpus with known dirty parts, for bench/quality.py and the tests.

Deterministic in its seed. Each document has a ``kind`` saying what was put in it: clean prose
(English and six other languages), the failures the Gopher/C4/FineWeb rules target
(short pages, navigation menus, bullet lists, repeated lines and paragraphs, lorem ipsum,
code with braces, hashtag and ellipsis spam, cookie notices) and personal data (e-mails, phone
numbers, public and private IPs, valid and Luhn-invalid card numbers, valid and bad IBANs,
random digit runs).
"""

from __future__ import annotations

import random

EN = ("the be to of and that have with a in it for not on he as you do at this but his by from "
      "they we say her she or an will my one all would there their what so up out if about who "
      "get which go me when make can like time no just him know take people into year your good "
      "some could them see other than then now look only come its over think also back after use "
      "two how our work first well way even new want because any these give day most us river "
      "market garden village teacher history music science winter summer city island library "
      "station museum kitchen forest mountain bridge harbour morning evening family student "
      "company country problem question answer system program number report weather travel "
      "recipe bread coffee engine network window letter picture building council hospital "
      "careful quiet bright ancient modern famous local public simple strong useful several "
      "opened walked carried visited studied painted measured noticed explained described "
      "repaired discovered collected prepared followed improved").split()
OTHER = {
    "de": ("der die das und ist nicht ein eine zu mit auf für von dem den wir sie ich auch "
           "sich werden haben wurde nach bei noch heute schon immer Stadt Haus Garten Zeit Jahr "
           "Arbeit Wasser Schule Kinder Straße Bahnhof Wetter Morgen gestern wichtig schön "
           "gearbeitet gesehen Brot Kaffee Fluss Berg Wald Sommer Winter").split(),
    "fr": ("le la les et est pas un une de des du que qui dans pour avec sur nous vous ils elle "
           "mais très aussi cette ville maison jardin temps année travail eau école enfants rue "
           "gare matin soir hier toujours important beau pain café rivière montagne forêt été "
           "hiver pendant beaucoup").split(),
    "es": ("el la los las y es no un una de del que en por para con sobre nosotros ellos pero "
           "muy también esta ciudad casa jardín tiempo año trabajo agua escuela niños calle "
           "estación mañana tarde ayer siempre importante bonito pan café río montaña bosque "
           "verano invierno").split(),
    "pt": ("o a os as e é não um uma de do da que em por para com sobre nós eles mas muito "
           "também esta cidade casa jardim tempo ano trabalho água escola crianças rua estação "
           "manhã tarde ontem sempre importante bonito pão café rio montanha floresta verão "
           "inverno").split(),
    "it": ("il la lo gli le e è non un una di del che in per con su noi loro ma molto anche "
           "questa città casa giardino tempo anno lavoro acqua scuola bambini strada stazione "
           "mattina sera ieri sempre importante bello pane caffè fiume montagna bosco estate "
           "inverno").split(),
    "nl": ("de het een en is niet van dat in op voor met zijn wij zij ook maar heel deze stad "
           "huis tuin tijd jaar werk water school kinderen straat station morgen avond gisteren "
           "altijd belangrijk mooi brood koffie rivier berg bos zomer winter").split(),
}
CARDS = ("4111 1111 1111 1111", "5500-0000-0000-0004", "378282246310005", "6011111111111117")
BAD_CARDS = ("4111 1111 1111 1112", "5500-0000-0000-0005", "378282246310006")
IBANS = ("DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432", "FR14 2004 1010 0505 0001 3M02 606")
BAD_IBANS = ("DE89 3704 0044 0532 0130 01", "GB82WEST12345698765433")
PHONES = ("+1 202-555-0173", "+44 20 7946 0958", "+49 30 901820", "(415) 555-2671")
PUBLIC_IPS = ("8.8.4.4", "93.184.216.34", "151.101.1.69")
PRIVATE_IPS = ("192.168.1.20", "10.0.0.7", "127.0.0.1")


def _sentence(rng: random.Random, words: list[str], lo: int = 8, hi: int = 18) -> str:
    ws = rng.choices(words, k=rng.randint(lo, hi))
    s = " ".join(ws)
    if len(ws) > 4 and rng.random() < 0.3:
        cut = rng.randrange(2, len(ws) - 1)
        s = " ".join(ws[:cut]) + ", " + " ".join(ws[cut:])
    return s[0].upper() + s[1:] + rng.choice(".....!?")


def _paragraph(rng: random.Random, words: list[str], n: int | None = None) -> str:
    return " ".join(_sentence(rng, words) for _ in range(n or rng.randint(3, 6)))


def prose(rng: random.Random, words: list[str] = EN) -> str:
    sep = rng.choice(["\n\n", "\n"])
    return sep.join(_paragraph(rng, words) for _ in range(rng.randint(2, 5)))


def _with(rng: random.Random, text: str, insert: str) -> str:
    paras = text.split("\n")
    i = rng.randrange(len(paras))
    paras[i] = paras[i] + f" You can reach the office at {insert} during the week."
    return "\n".join(paras)


def _dirty(rng: random.Random, kind: str) -> str:
    if kind == "short":
        return _sentence(rng, EN, 5, 12)
    if kind == "menu":
        return "\n".join(rng.choice(EN).title() for _ in range(rng.randint(10, 30)))
    if kind == "bullets":
        return "\n".join("- " + _sentence(rng, EN, 3, 8) for _ in range(rng.randint(10, 25)))
    if kind == "repeated_lines":
        line = _sentence(rng, EN)
        return "\n".join([line] * rng.randint(4, 8) + [_paragraph(rng, EN)])
    if kind == "repeated_paragraphs":
        p = _paragraph(rng, EN)
        return "\n\n".join([p] * rng.randint(2, 4))
    if kind == "lorem":
        return prose(rng) + "\nLorem ipsum dolor sit amet, consectetur adipiscing elit."
    if kind == "code":
        return prose(rng) + "\nThe config is { \"debug\": true } and it works."
    if kind == "hashtags":
        return _paragraph(rng, EN) + " " + " ".join("#" + rng.choice(EN) for _ in range(30))
    if kind == "ellipsis":
        return "\n".join(_sentence(rng, EN)[:-1] + "..." for _ in range(rng.randint(6, 12)))
    if kind == "cookies":
        return ("This site uses cookies. Read our privacy policy.\n"
                "Please enable javascript to continue.\n" + _paragraph(rng, EN, 2))
    raise ValueError(kind)


KINDS = ("short", "menu", "bullets", "repeated_lines", "repeated_paragraphs", "lorem", "code",
         "hashtags", "ellipsis", "cookies")
PII = {"email": lambda r: f"{r.choice(EN)}.{r.choice(EN)}{r.randint(1, 99)}@example.org",
       "phone": lambda r: r.choice(PHONES), "ip": lambda r: r.choice(PUBLIC_IPS),
       "private_ip": lambda r: r.choice(PRIVATE_IPS), "credit_card": lambda r: r.choice(CARDS),
       "bad_card": lambda r: r.choice(BAD_CARDS), "iban": lambda r: r.choice(IBANS),
       "bad_iban": lambda r: r.choice(BAD_IBANS),
       "digits": lambda r: " ".join(str(r.randint(1000, 9999)) for _ in range(4))}


def document(rng: random.Random) -> tuple[str, str]:
    """One document and its kind."""
    roll = rng.random()
    if roll < 0.62:
        return prose(rng), "clean"
    if roll < 0.72:
        lang = rng.choice(sorted(OTHER))
        return prose(rng, OTHER[lang]), f"lang:{lang}"
    if roll < 0.85:
        kind = rng.choice(KINDS)
        return _dirty(rng, kind), kind
    kind = rng.choice(sorted(PII))
    return _with(rng, prose(rng), PII[kind](rng)), f"pii:{kind}"


def corpus(n: int, *, seed: int = 0) -> tuple[list[str], list[str]]:
    """``n`` documents and their kinds."""
    rng = random.Random(seed)
    docs = [document(rng) for _ in range(n)]
    return [d for d, _ in docs], [k for _, k in docs]
