"""The words of a share, in English and in French: the page, the SMS and the email.

Messages are neutral on purpose: no service name, no word such as "shelter" or "crisis",
only the link and the 211 line, since a phone or an inbox is often read by someone else.
SMS texts stay in the GSM-7 alphabet (a straight apostrophe), so a message is one or two
segments, not five.
"""

from __future__ import annotations

from datetime import date

WEEKDAYS = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
}
MONTHS = {
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
    "fr": (
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ),
}

NBSP = "\u00a0"

PAGE = {
    "en": {
        "title": "Services for you",
        "made": "List made on {made}. This link works until {until}.",
        "today": "Today: {hours}",
        "closed_today": "Closed today",
        "open_24_7": "Open 24 hours",
        "hours_unknown": "Hours: call first",
        "confidential": "Address kept confidential: call first.",
        "map": "Map",
        "gone_service": "This service is no longer listed. Call 211 for another one.",
        "line_211": "211: community, social, health and government services, 24 hours a day, "
        "in many languages. Free and confidential.",
        "call_211": "Call 2-1-1",
        "text_211": "Text 2-1-1",
        "emergency": "In an emergency, call 9-1-1.",
        "scan": "Scan for the up-to-date list:",
        "print": "Print",
        "expired_title": "This list has expired",
        "expired": "Lists of services are kept for a few days only. Call or text 2-1-1 for the services "
        "near you, 24 hours a day.",
        "missing_title": "No list here",
        "missing": "This link does not open a list of services. Check that it was copied whole, or call or "
        "text 2-1-1 for the services near you, 24 hours a day.",
    },
    "fr": {
        "title": "Services pour vous",
        "made": "Liste faite le {made}. Ce lien fonctionne jusqu’au {until}.",
        "today": "Aujourd’hui : {hours}",
        "closed_today": "Fermé aujourd’hui",
        "open_24_7": "Ouvert 24 h sur 24",
        "hours_unknown": "Heures : appelez d’abord",
        "confidential": "Adresse confidentielle : appelez d’abord.",
        "map": "Carte",
        "gone_service": "Ce service n’est plus répertorié. Composez le 211 pour en trouver un autre.",
        "line_211": "211 : services communautaires, sociaux, de santé et gouvernementaux, 24 h sur 24, "
        "en plusieurs langues. Gratuit et confidentiel.",
        "call_211": "Appeler le 2-1-1",
        "text_211": "Texter le 2-1-1",
        "emergency": "En cas d’urgence, composez le 9-1-1.",
        "scan": "Balayez pour la liste à jour :",
        "print": "Imprimer",
        "expired_title": "Cette liste a expiré",
        "expired": "Les listes de services ne sont gardées que quelques jours. Appelez ou textez le 2-1-1 "
        "pour les services près de chez vous, 24 h sur 24.",
        "missing_title": "Aucune liste ici",
        "missing": "Ce lien n’ouvre pas de liste de services. Vérifiez qu’il a été copié en entier, ou "
        "appelez ou textez le 2-1-1 pour les services près de chez vous, 24 h sur 24.",
    },
}

SMS = {
    "en": "The services you asked about: {url} (until {until}). Help 24/7: call or text 211.",
    "fr": "Les services dont on a parle : {url} (jusqu'au {until}). Aide 24 h sur 24 : appelez ou textez le 211.",
}

EMAIL_SUBJECT = {"en": "The services you asked about", "fr": "Les services dont nous avons parlé"}

EMAIL_BODY = {
    "en": (
        "Here is the list of services you asked for, with their addresses, phone numbers and hours:\n\n"
        "{url}\n\n"
        "The link works until {until}.\n\n"
        "211 helps 24 hours a day, in many languages: call or text 2-1-1. It is free and confidential.\n"
        "In an emergency, call 9-1-1.\n\n"
        "You receive this message because you asked for it. Replies are not read.\n"
    ),
    "fr": (
        "Voici la liste des services que vous avez demandée, avec leurs adresses, numéros de téléphone "
        "et heures :\n\n"
        "{url}\n\n"
        "Le lien fonctionne jusqu’au {until}.\n\n"
        "Le 211 vous aide 24 h sur 24, en plusieurs langues : appelez ou textez le 2-1-1. C’est gratuit "
        "et confidentiel.\n"
        "En cas d’urgence, composez le 9-1-1.\n\n"
        "Vous recevez ce message parce que vous l’avez demandé. Les réponses ne sont pas lues.\n"
    ),
}


def long_date(day: date, language: str) -> str:
    """Saturday, December 5 / samedi 5 décembre."""
    weekday, month = WEEKDAYS[language][day.weekday()], MONTHS[language][day.month - 1]
    if language == "fr":
        return f"{weekday} {day.day}{NBSP}{month}"
    return f"{weekday}, {month} {day.day}"


def short_date(day: date, language: str) -> str:
    """Dec 12 / 12 dec (ASCII: it goes in an SMS)."""
    month = MONTHS[language][day.month - 1]
    if language == "fr":
        return f"{day.day} {month[:4].rstrip('.').replace('é', 'e').replace('û', 'u')}"
    return f"{month[:3]} {day.day}"
