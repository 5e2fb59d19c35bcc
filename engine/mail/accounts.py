"""What customers' accounts send, composed: the sign-in code mail, the activation mail and the
activation SMS, in German or English by the customer's ``language`` (English for any other).

Pure functions. Mails come as (subject, plain text, HTML); subjects are fixed texts, never made of
what a customer or a member of staff typed, and every such value is escaped in the HTML part.
The Mailer makes the headers (``mailer.build_message``) from the customer's stored address.
"""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import quote

from .qr import QR_CONTENT_ID

# The customer's account page, which the activation mail links to (below FRONTDESK_PUBLIC_URL),
# in the mail's language; the address goes in the fragment, which no server or proxy log sees.
SIGNIN_PATH = "/account"

_UNITS = {"en": (("day", "days"), ("hour", "hours"), ("minute", "minutes")),
          "de": (("Tag", "Tage"), ("Stunde", "Stunden"), ("Minute", "Minuten"))}

_TEXTS: dict[str, dict[str, Any]] = {
    "en": {
        "hello": "Hello {name},", "hello_nameless": "Hello,",
        "code_subject": "Your sign-in code",
        "code_is": "your sign-in code is:",
        "code_rules": "It is valid for {duration} and works once. If you did not ask for it, you can ignore "
                      "this mail: nobody can sign in without the code.",
        "activation_subject": "Your customer account is ready",
        "activation_intro": "you can now follow all your conversations with us and write to us at any time.",
        "signin_here": "Sign in here:", "email": "E-mail address:", "activation_code": "Activation code:",
        "code_by_sms": "Your activation code comes to your mobile phone by SMS.",
        "activation_rules": "The code is valid for {duration}. At your first sign-in you choose a password.",
        "setup_title": "Setting up on your phone",
        "setup_steps": ["Scan this QR code with your phone's camera, or open the link above.",
                        "Enter your e-mail address and the activation code.",
                        "Choose a password: from then on you sign in with it, or with a code we mail you."],
        "qr_alt": "QR code of the sign-in link",
        "sms": "Your activation code: {code} (valid for {duration}). Sign in with your e-mail address and this code.",
    },
    "de": {
        "hello": "Hallo {name},", "hello_nameless": "Hallo,",
        "code_subject": "Ihr Anmeldecode",
        "code_is": "Ihr Anmeldecode lautet:",
        "code_rules": "Er ist {duration} gültig und funktioniert einmal. Wenn Sie ihn nicht angefordert haben, "
                      "können Sie diese E-Mail ignorieren: Ohne den Code kann sich niemand anmelden.",
        "activation_subject": "Ihr Kundenkonto ist freigeschaltet",
        "activation_intro": "Sie können jetzt alle Ihre Gespräche mit uns verfolgen und uns jederzeit schreiben.",
        "signin_here": "Hier melden Sie sich an:", "email": "E-Mail-Adresse:", "activation_code": "Aktivierungscode:",
        "code_by_sms": "Ihren Aktivierungscode erhalten Sie per SMS auf Ihr Mobiltelefon.",
        "activation_rules": "Der Code ist {duration} gültig. Bei der ersten Anmeldung wählen Sie ein Passwort.",
        "setup_title": "Einrichtung auf dem Mobiltelefon",
        "setup_steps": ["Scannen Sie diesen QR-Code mit der Kamera Ihres Mobiltelefons oder öffnen Sie den Link oben.",
                        "Geben Sie Ihre E-Mail-Adresse und den Aktivierungscode ein.",
                        "Wählen Sie ein Passwort: Danach melden Sie sich damit an oder mit einem Code, den wir "
                        "Ihnen mailen."],
        "qr_alt": "QR-Code des Anmeldelinks",
        "sms": "Ihr Aktivierungscode: {code} ({duration} gültig). Melden Sie sich mit Ihrer E-Mail-Adresse und "
               "diesem Code an.",
    },
}


def language_of(stored: str | None) -> str:
    """The language of a customer's mails: ``de`` for German (``de``, ``de-CH``, ...), else ``en``."""
    primary = (stored or "").split("-")[0].lower()
    return primary if primary in _TEXTS else "en"


def duration(seconds: int, language: str) -> str:
    """``seconds`` in the largest whole unit (``10 minutes``, ``3 Tage``); minutes round up."""
    day, hour, minute = _UNITS[language_of(language)]
    for unit, size in ((day, 86400), (hour, 3600)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit[count != 1]}"
    count = max(1, -(-seconds // 60))
    return f"{count} {minute[count != 1]}"


def signin_link(link_base: str, email: str, language: str) -> str:
    return f"{link_base}{SIGNIN_PATH}?lang={language_of(language)}#email={quote(email, safe='@')}"


def _greeting(texts: dict[str, str], name: str) -> tuple[str, str]:
    """The greeting as plain text and as HTML."""
    if not name:
        return texts["hello_nameless"], html.escape(texts["hello_nameless"])
    return texts["hello"].format(name=name), html.escape(texts["hello"]).format(name=html.escape(name))


def _page(paragraphs: list[str], blocks: str = "") -> str:
    """An HTML mail of ``paragraphs`` (each made a ``<p>``) and then ready-made ``blocks``."""
    body = "".join(f"<p>{p}</p>" for p in paragraphs) + blocks
    return f"<!doctype html><html><body style=\"font-family:sans-serif\">{body}</body></html>"


def compose_code_mail(language: str, name: str, code: str, ttl_s: int) -> tuple[str, str, str]:
    """(subject, plain text, HTML) of a sign-in code mail."""
    texts = _TEXTS[language_of(language)]
    hello, hello_html = _greeting(texts, name)
    rules = texts["code_rules"].format(duration=duration(ttl_s, language))
    text = f"{hello}\n\n{texts['code_is']} {code}\n\n{rules}\n"
    page = _page([hello_html, f"{html.escape(texts['code_is'])} <strong style=\"font-size:1.4em;letter-spacing:"
                              f"0.15em\">{html.escape(code)}</strong>", html.escape(rules)])
    return texts["code_subject"], text, page


def compose_activation_mail(language: str, name: str, email: str, link: str, code: str | None,
                            ttl_s: int) -> tuple[str, str, str]:
    """(subject, plain text, HTML) of the activation mail; ``code`` None: it goes by SMS."""
    texts = _TEXTS[language_of(language)]
    hello, hello_html = _greeting(texts, name)
    rules = texts["activation_rules"].format(duration=duration(ttl_s, language))
    code_line = f"{texts['activation_code']} {code}" if code is not None else texts["code_by_sms"]
    code_html = (f"{html.escape(texts['activation_code'])} <strong>{html.escape(code)}</strong>"
                 if code is not None else html.escape(texts["code_by_sms"]))
    steps = texts["setup_steps"]
    text = (f"{hello}\n\n{texts['activation_intro']}\n\n{texts['signin_here']} {link}\n"
            f"{texts['email']} {email}\n{code_line}\n\n{rules}\n\n{texts['setup_title']}\n"
            + "".join(f"{n}. {step}\n" for n, step in enumerate(steps, 1)))
    setup = (f"<h2 style=\"font-size:1.1em\">{html.escape(texts['setup_title'])}</h2>"
             f"<p><img src=\"cid:{QR_CONTENT_ID}\" alt=\"{html.escape(texts['qr_alt'], quote=True)}\" "
             "width=\"200\" height=\"200\" style=\"image-rendering:pixelated\"></p>"
             "<ol>" + "".join(f"<li>{html.escape(step)}</li>" for step in steps) + "</ol>")
    page = _page([hello_html, html.escape(texts["activation_intro"]),
                  f"{html.escape(texts['signin_here'])} <a href=\"{html.escape(link, quote=True)}\">"
                  f"{html.escape(link)}</a><br>{html.escape(texts['email'])} {html.escape(email)}<br>{code_html}",
                  html.escape(rules)], setup)
    return texts["activation_subject"], text, page


def activation_sms(language: str, code: str, ttl_s: int) -> str:
    texts = _TEXTS[language_of(language)]
    return texts["sms"].format(code=code, duration=duration(ttl_s, language))
