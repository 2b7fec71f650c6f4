"""A share as an HTML page: small (a few KB before gzip, no script but the print button's, no
font, image or request to anyone), readable on an old phone over 3G, and one printed page
for ten services (print CSS: two columns, the QR code of the link in the corner).

Nothing about the worker or their agency is known here: the page is made from the share's
language and dates and the sites' public cards only. Every value is HTML-escaped.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from service.directory.results import hours_now
from service.platform.problem_texts import typeset_fr
from service.platform.settings import import_settings, share_settings
from service.shares import texts
from service.shares.page import SharedList
from service.shares.qr import qr_svg

# Phones shown per service: the first two (the main line and, often, a crisis or TTY line).
MAX_PHONES = 2

STYLE = (
    ":root{color-scheme:light dark}"
    "body{margin:0 auto;max-width:40em;padding:0 1em 2em;font:16px/1.4 system-ui,-apple-system,sans-serif}"
    "h1{font-size:1.4em;margin:.6em 0 .2em}.made{color:#555;margin:0 0 .6em}"
    "ol{padding-left:1.4em;margin:0}li{padding:.5em 0;border-bottom:1px solid #ccc}"
    "h2{font-size:1.1em;margin:0}p{margin:.15em 0}.org{color:#555}"
    "a{color:#0645ad}a[href^=tel]{font-weight:600}.gone{font-style:italic}"
    ".line{margin:1em 0;padding:.6em .8em;border:2px solid #0a6;border-radius:6px}"
    ".line a{display:inline-block;margin:.3em 1em .1em 0}.qr{display:none}"
    "button{font:inherit;padding:.5em 1.2em;margin:.6em 0}"
    "@media (prefers-color-scheme:dark){body{background:#111;color:#eee}.made,.org{color:#aaa}a{color:#8ab4f8}"
    "li{border-color:#444}}"
    "@media print{@page{margin:12mm}body{max-width:none;padding:0;font-size:9.5pt;line-height:1.25;"
    "background:#fff;color:#000}h1{font-size:14pt;margin:0 0 2pt}.made{color:#000}"
    "ol{columns:2;column-gap:8mm}li{break-inside:avoid;padding:3pt 0}h2{font-size:10.5pt}"
    ".org{color:#000}a{color:#000;text-decoration:none}.map,button{display:none}"
    ".qr{display:block;float:right;width:32mm;margin:0 0 2mm 4mm;text-align:center;font-size:7pt;"
    "word-break:break-all}.qr svg{width:30mm;height:30mm}.line{margin:6pt 0 0;padding:4pt 6pt}}"
)
# Opens the print dialog: on the button, and at once on a print link (?print=1).
SCRIPT = (
    'var b=document.getElementById("p");b.onclick=function(){print()};'
    'if(location.search.indexOf("print=1")>=0)addEventListener("load",function(){print()})'
)


def _csp_hash(source: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode() + "'"


# The page may load nothing from anywhere; only its own style and script run.
CSP = (
    f"default-src 'none'; style-src {_csp_hash(STYLE)}; script-src {_csp_hash(SCRIPT)}; img-src data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def _words(language: str) -> dict[str, str]:
    words = texts.PAGE[language]
    return {key: typeset_fr(value) for key, value in words.items()} if language == "fr" else words


def _address_lines(address: dict | None) -> list[str]:
    if not address:
        return []
    street = ", ".join(part for part in (address.get("address_1"), address.get("address_2")) if part)
    town = " ".join(
        part for part in (address.get("city"), address.get("state_province"), address.get("postal_code")) if part
    )
    return [line for line in (street, town) if line]


def _phones(card: dict) -> str:
    links = []
    for phone in (card.get("phones") or [])[:MAX_PHONES]:
        shown = phone["number"] + (f" ext. {phone['extension']}" if phone.get("extension") else "")
        links.append(f'<a href="{escape(phone["tel"])}">{escape(shown)}</a>' if phone.get("tel") else escape(shown))
    return f"<p>{' · '.join(links)}</p>" if links else ""


def _hours(card: dict, now: datetime, words: dict[str, str]) -> str:
    hours = hours_now(card, now)
    if hours["always_open"]:
        shown = words["open_24_7"]
    elif hours["state"] == "unknown":
        shown = words["hours_unknown"]
    elif not hours["today"]:
        shown = words["closed_today"]
    else:
        shown = words["today"].format(hours=", ".join(hours["today"]))
    return f"<p>{escape(shown)}</p>"


def _service(card: dict | None, now: datetime, words: dict[str, str]) -> str:
    if card is None:
        return f'<li><p class="gone">{escape(words["gone_service"])}</p></li>'
    parts = [f"<h2>{escape(card['name'] or '')}</h2>"]
    organization = card.get("organization_name")
    if organization and organization != card["name"]:
        parts.append(f'<p class="org">{escape(organization)}</p>')
    if card.get("confidential"):
        parts.append(f"<p>{escape(words['confidential'])}</p>")
    else:
        parts.extend(f"<p>{escape(line)}</p>" for line in _address_lines(card.get("address")))
    parts.append(_phones(card))
    parts.append(_hours(card, now, words))
    if not card.get("confidential") and card.get("lat") is not None and card.get("lon") is not None:
        link = share_settings().map_link.format(lat=card["lat"], lon=card["lon"])
        parts.append(f'<p class="map"><a href="{escape(link)}" rel="noreferrer">{escape(words["map"])}</a></p>')
    return f"<li>{''.join(parts)}</li>"


def _document(language: str, title: str, body: str, *, script: bool = False) -> bytes:
    return (
        f'<!doctype html><html lang="{language}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta name="robots" content="noindex,nofollow"><meta name="referrer" content="no-referrer">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>{body}"
        + (f"<script>{SCRIPT}</script>" if script else "")
        + "</body></html>"
    ).encode()


def _line_211(words: dict[str, str]) -> str:
    return (
        f'<p class="line">{escape(words["line_211"])}<br>'
        f'<a href="tel:211">{escape(words["call_211"])}</a><a href="sms:211">{escape(words["text_211"])}</a></p>'
        f"<p>{escape(words['emergency'])}</p>"
    )


def page(shared: SharedList, url: str, now: datetime) -> bytes:
    """The share's page; the same HTML prints as one page with the QR code of ``url``."""
    language = shared.language
    words = _words(language)
    zone = ZoneInfo(import_settings().default_timezone)
    made = texts.long_date(shared.created_at.astimezone(zone).date(), language)
    until = texts.long_date(shared.expires_at.astimezone(zone).date(), language)
    body = (
        f'<div class="qr">{qr_svg(url, inline=True)}<br>{escape(words["scan"])} {escape(url)}</div>'
        f"<h1>{escape(words['title'])}</h1>"
        f'<p class="made">{escape(words["made"].format(made=made, until=until))}</p>'
        f"<ol>{''.join(_service(card, now, words) for card in shared.cards)}</ol>"
        f"{_line_211(words)}"
        f'<button id="p" type="button">{escape(words["print"])}</button>'
    )
    return _document(language, words["title"], body, script=True)


def notice(language: str, gone: bool) -> bytes:
    """The page of an expired link (410) or of one that opens nothing (404)."""
    words = _words(language)
    title, text = (words["expired_title"], words["expired"]) if gone else (words["missing_title"], words["missing"])
    return _document(language, title, f"<h1>{escape(title)}</h1><p>{escape(text)}</p>{_line_211(words)}")
