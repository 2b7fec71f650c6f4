"""The words of problem documents in French, and of field messages in both languages.

service/api/errors.py answers in the request's language (``Accept-Language``: English by
default, or French). What changes with the language is only what people read: ``title``,
``detail`` and ``errors[].message``; ``type``, ``status``, ``instance``, the field names and
the ``errors[].code`` never do.

- ``CATALOGUE_FR``: a French title and default detail for every problem type of
  service/platform/problems.py. A raise site gives its own French detail (``Problem(..., detail_fr=)``)
  when its English one carries values (ids, limits, counts); otherwise the French answer
  falls back to the type's default here: never English text in a French answer.
- ``MESSAGES``: one message per field error ``code`` (pydantic's error ``type``, or one of
  ours raised with ``field_error``), in English and French, written for a worker who reads
  it beside the form field that caused it. Unknown codes fall back to pydantic's English,
  or to a plain "not valid" in French.

French is Canadian French (as 211 Ontario writes it: "courriel", "numéro de téléphone",
"transfert", "intervenant"). Write it with ordinary spaces before ``:`` ``;`` ``?`` ``!``
and inside « »: ``typeset_fr`` makes them the no-break spaces French typography wants.
Messages never repeat what was sent (a phone number is personal data).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from decimal import Decimal

from pydantic_core import PydanticCustomError

from spatial.tiles import ZOOM_LIMIT

NBSP = "\u00a0"  # before ":" and inside « »
NNBSP = "\u202f"  # narrow no-break space, before ";", "?" and "!"


def typeset_fr(text: str) -> str:
    """French spacing: the space before ``:`` (no-break) and ``;`` ``?`` ``!`` (narrow
    no-break), inside guillemets and before ``%``, so a line never breaks there."""
    for mark, space in ((":", NBSP), (";", NNBSP), ("?", NNBSP), ("!", NNBSP)):
        text = text.replace(" " + mark, space + mark)
    return text.replace("« ", "«" + NBSP).replace(" »", NBSP + "»").replace(" %", NBSP + "%")


def number(value, language: str) -> str:
    """A number as each language writes it: 31,200 and 0.5 / 31 200 et 0,5."""
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, int) or (isinstance(value, (float, Decimal)) and value == int(value) and -1e15 < value < 1e15):
        text = f"{int(value):,}"
    else:
        text = f"{value:,}"
    if language == "fr":
        return text.replace(",", NBSP).replace(".", ",")
    return text


def fr_number(value) -> str:
    return number(value, "fr")


def quoted_fr(values) -> str:
    """« a », « b » et « c »."""
    items = [f"« {v} »" for v in values]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " et " + items[-1]


# --- problem types -----------------------------------------------------------------------------

# slug -> (title, default detail). Every slug of service/platform/problems.py (tests/test_problem_language.py).
CATALOGUE_FR: dict[str, tuple[str, str]] = {
    # --- the request itself
    "bad-request": (
        "Requête incorrecte",
        "Le serveur ne peut pas lire cette requête. Corrigez-la avant de la renvoyer.",
    ),
    "validation-error": ("Demande non valide", "Certains champs ne sont pas valides. Corrigez-les, puis réessayez."),
    "unknown-category": (
        "Catégorie inconnue",
        "Cette catégorie n’existe pas. Choisissez-en une dans la liste des catégories.",
    ),
    "bbox-too-large": (
        "Zone trop grande",
        "La zone de recherche est trop grande : faites un zoom avant, ou cherchez autour d’un point.",
    ),
    "pack-too-large": (
        "Zone hors ligne trop grande",
        (
            "Cette zone hors ligne serait trop volumineuse : choisissez une zone plus petite, "
            "un zoom maximal plus bas ou moins de catégories."
        ),
    ),
    "payload-too-large": (
        "Contenu trop volumineux",
        "Le corps de la requête est plus volumineux que ce que le serveur accepte.",
    ),
    "headers-too-large": (
        "En-têtes trop volumineux",
        (
            "Les en-têtes de la requête dépassent ce que le serveur accepte : "
            "envoyez des en-têtes moins nombreux ou plus courts."
        ),
    ),
    "uri-too-long": (
        "Adresse trop longue",
        (
            "La ligne de requête dépasse ce que le serveur accepte : "
            "envoyez des paramètres moins nombreux ou plus courts."
        ),
    ),
    "unsupported-media-type": (
        "Type de contenu non pris en charge",
        "Le serveur ne lit que du JSON (application/json) : envoyez le corps dans ce format.",
    ),
    "not-acceptable": (
        "Format non disponible",
        "Le serveur ne peut produire aucun des formats demandés dans l’en-tête Accept.",
    ),
    "method-not-allowed": (
        "Méthode non permise",
        "Cette adresse existe, mais pas avec cette méthode ; l’en-tête Allow donne celles qu’elle accepte.",
    ),
    # --- identity and limits
    "unauthorized": ("Non autorisé", "Un jeton d’accès valide est requis. Reconnectez-vous, puis réessayez."),
    "forbidden": ("Accès refusé", "Votre rôle ne permet pas cette action."),
    "invalid-dpop-proof": (
        "Preuve DPoP non valide",
        (
            "La preuve DPoP est absente ou n’est pas valide : signez une nouvelle preuve pour cette "
            "requête avec la clé que vous enregistrez."
        ),
    ),
    "renew-with-identity-provider": (
        "Renouvelez par votre fournisseur d’identité",
        (
            "Votre jeton vient du fournisseur d’identité de votre organisme : renouvelez-le "
            "par ce fournisseur (actualisation OpenID Connect), et non par fieldnav."
        ),
    ),
    "device-key-in-use": (
        "Clé d’appareil déjà utilisée",
        "Cette clé appartient à l’appareil d’un autre utilisateur : créez une nouvelle paire de clés.",
    ),
    "rate-limited": (
        "Trop de requêtes",
        "Trop de requêtes en peu de temps. Attendez quelques secondes, puis réessayez.",
    ),
    # --- resources
    "not-found": (
        "Introuvable",
        "Rien ne correspond à cette adresse ou à cet identifiant (ou vous n’y avez pas accès).",
    ),
    "basemap-not-configured": (
        "Aucun fond de carte",
        "Ce serveur n’a pas de fond de carte : les services s’affichent sur un fond uni.",
    ),
    "range-not-satisfiable": ("Plage non disponible", "La plage d’octets demandée commence après la fin du fichier."),
    "invalid-cursor": (
        "Curseur non valide",
        "Ce curseur ne vient pas de ce serveur. Renvoyez next_cursor tel quel, ou recommencez sans curseur.",
    ),
    "cursor-expired": (
        "Curseur expiré",
        (
            "Ce curseur est plus ancien que l’historique des changements que le serveur conserve. "
            "Téléchargez de nouveau la zone hors ligne, puis recommencez la synchronisation sans curseur."
        ),
    ),
    # --- handoffs
    "idempotency-key-missing": (
        "En-tête Idempotency-Key manquant",
        (
            "Cette requête doit comporter un en-tête Idempotency-Key (un nouvel UUID par action, "
            "réutilisé pour chaque nouvelle tentative)."
        ),
    ),
    "idempotency-key-invalid": (
        "En-tête Idempotency-Key non valide",
        "L’en-tête Idempotency-Key doit compter de 1 à 255 caractères ASCII visibles.",
    ),
    "idempotency-key-reused": (
        "Clé Idempotency-Key déjà utilisée",
        (
            "Cette clé Idempotency-Key a déjà servi pour une autre requête ; "
            "utilisez une nouvelle clé pour une nouvelle action."
        ),
    ),
    "request-in-progress": (
        "Requête en cours",
        (
            "Une requête avec cette clé Idempotency-Key est encore en traitement ; "
            "réessayez dans un instant pour obtenir sa réponse."
        ),
    ),
    "invalid-transition": (
        "Changement de statut impossible",
        "Ce transfert ne peut pas passer à ce statut à partir de son statut actuel.",
    ),
    "transition-forbidden": (
        "Changement non permis",
        (
            "Ce changement de statut revient à l’autre partie : le centre du 211 accepte et termine "
            "les transferts ; l’organisme demandeur les annule."
        ),
    ),
    "reason-required": ("Motif requis", "Ce changement de statut exige un motif : indiquez-le, puis réessayez."),
    "claimed-by-another": (
        "Pris en charge par un autre intervenant",
        "Un autre intervenant du centre s’occupe de ce transfert ; reprenez-le avec take_over pour agir.",
    ),
    "purged": (
        "Données supprimées",
        (
            "Les données personnelles de ce transfert ont été supprimées après sa fermeture ; "
            "on ne peut plus rien y ajouter."
        ),
    ),
    "conflict": ("Conflit", "La requête entre en conflit avec l’état actuel de la ressource."),
    # --- live data
    "capacity-outdated": (
        "Compte plus ancien que celui affiché",
        (
            "Ce compte est plus ancien que celui que le service affiche déjà pour cette unité ; "
            "rien n’a changé. Envoyez le compte actuel avec une heure plus récente, ou sans heure."
        ),
    ),
    "report-exists": (
        "Déjà signalé",
        (
            "Vous avez déjà un signalement ouvert de ce type pour ce service. Il reste actif jusqu’à ce que "
            "le centre du 211 le règle."
        ),
    ),
    "report-resolved": ("Signalement déjà réglé", "Ce signalement est déjà réglé ; sa résolution ne change plus."),
    "too-many-reports": (
        "Trop de signalements",
        "Vous avez fait autant de signalements en une heure que permis. Réessayez plus tard.",
    ),
    "too-many-shares": (
        "Trop de partages",
        "Vous avez fait autant de partages en une heure que permis. Réessayez plus tard.",
    ),
    "share-expired": (
        "Partage expiré",
        "Cette liste de services a expiré ; les listes ne sont gardées que quelques jours.",
    ),
    "directory-busy": (
        "Répertoire occupé",
        (
            "Une importation met à jour le répertoire pour quelques secondes encore : renvoyez la même "
            "requête dans un instant."
        ),
    ),
    "gone": ("Ressource supprimée", "Cette ressource a existé, mais elle a été supprimée définitivement."),
    # --- the server
    "unavailable": (
        "Service non disponible",
        "La base de données n’est pas joignable pour le moment ; réessayez dans un instant.",
    ),
    "query-timeout": ("Délai dépassé", "La requête a pris trop de temps et a été arrêtée ; réessayez, ou précisez-la."),
    "pack-builds-busy": (
        "Préparation des zones hors ligne saturée",
        (
            "Le serveur prépare déjà autant de zones hors ligne qu’il le peut : réessayez dans "
            "quelques secondes. Les zones déjà prêtes restent disponibles."
        ),
    ),
    "pack-build-timeout": (
        "Préparation trop longue",
        (
            "La préparation de cette zone hors ligne a pris trop de temps et a été arrêtée : "
            "réessayez plus tard, ou choisissez une zone plus petite ou un zoom maximal plus bas."
        ),
    ),
    "pack-storage-not-shared": (
        "Zone gardée sur un autre serveur",
        ("Les fichiers de cette zone hors ligne sont sur un autre serveur : réessayez dans un instant."),
    ),
    "migrations-pending": (
        "Base de données à mettre à jour",
        ("Le schéma de la base de données n’est pas à jour : un administrateur doit exécuter `fieldnav db migrate`."),
    ),
    "no-navigator-centre": (
        "Aucun centre du 211",
        (
            "Aucun centre du 211 ne dessert cette zone et le centre par défaut n’est pas chargé : "
            "un administrateur doit exécuter `fieldnav centres load`."
        ),
    ),
    "app-not-built": (
        "Application terrain non installée",
        "L’application terrain (/app/) n’est pas construite sur ce serveur.",
    ),
    "internal-error": ("Erreur interne du serveur", "Une erreur s’est produite de notre côté ; elle a été consignée."),
    "http-error": ("Requête refusée", "Le serveur ne peut pas traiter cette requête."),
}

# HTTP statuses as French titles, for answers whose type has no title of its own (http-error).
STATUS_TITLES_FR: dict[int, str] = {
    400: "Requête incorrecte",
    401: "Non autorisé",
    403: "Accès refusé",
    404: "Introuvable",
    405: "Méthode non permise",
    406: "Format non disponible",
    408: "Délai de requête dépassé",
    409: "Conflit",
    410: "Ressource supprimée",
    411: "Longueur requise",
    412: "Condition préalable non remplie",
    413: "Contenu trop volumineux",
    414: "Adresse trop longue",
    415: "Type de contenu non pris en charge",
    416: "Plage non disponible",
    417: "Attente impossible à satisfaire",
    421: "Requête mal dirigée",
    422: "Demande non valide",
    423: "Ressource verrouillée",
    428: "Condition préalable requise",
    429: "Trop de requêtes",
    431: "En-têtes trop volumineux",
    500: "Erreur interne du serveur",
    501: "Non pris en charge",
    502: "Mauvaise passerelle",
    503: "Service non disponible",
    504: "Délai de passerelle dépassé",
}

# Handoff statuses (service/handoffs/model.py's Status) as the field client names them in French.
HANDOFF_STATUS_FR: dict[str, str] = {
    "requested": "demandé",
    "accepted": "accepté",
    "rejected": "refusé",
    "in-progress": "en cours",
    "on-hold": "en attente",
    "completed": "terminé",
    "failed": "échoué",
    "cancelled": "annulé",
    "entered-in-error": "saisi par erreur",
}


def status_fr(status) -> str:
    """« en cours » for in-progress."""
    value = getattr(status, "value", status)
    return f"« {HANDOFF_STATUS_FR.get(value, value)} »"


# --- field messages ----------------------------------------------------------------------------

Template = Callable[[Mapping, str], str]


def _s(count, language: str) -> str:
    """The plural s: English counts 0 as plural, French as singular."""
    try:
        many = abs(float(count)) >= 2 if language == "fr" else float(count) != 1
    except (TypeError, ValueError):
        many = True
    return "s" if many else ""


def _fixed(en: str, fr: str) -> dict[str, Template]:
    return {"en": lambda ctx, lang: en, "fr": lambda ctx, lang: fr}


def _with(en: str, fr: str) -> dict[str, Template]:
    """Templates over ctx, numbers written per language; ``{s_key}`` is the plural s of ``key``."""

    def render(template: str) -> Template:
        def fill(ctx: Mapping, lang: str) -> str:
            values = {}
            for key, value in ctx.items():
                values[key] = number(value, lang)
                values["s_" + key] = _s(value, lang)
            return template.format_map(values)

        return fill

    return {"en": render(en), "fr": render(fr)}


def _choices(ctx: Mapping, lang: str) -> str:
    expected = str(ctx.get("expected", ""))
    if lang == "fr":
        expected = re.sub(r"'([^']*)'", r"« \1 »", expected)
        head, sep, last = expected.rpartition(" or ")
        expected = f"{head} ou {last}" if sep else expected
        return f"Choisissez parmi : {expected}." if expected else "Cette valeur ne fait pas partie des choix possibles."
    return f"Choose one of: {expected}." if expected else "This is not one of the allowed values."


def _text_length(kind: str) -> dict[str, Template]:
    def en(ctx: Mapping, lang: str) -> str:
        n = ctx.get(kind + "_length")
        if kind == "min":
            return "This field cannot be empty." if n == 1 else f"Use at least {number(n, 'en')} characters."
        return f"This is too long: use at most {number(n, 'en')} character{_s(n, 'en')}."

    def fr(ctx: Mapping, lang: str) -> str:
        n = ctx.get(kind + "_length")
        if kind == "min":
            return "Ce champ ne peut pas être vide." if n == 1 else f"Entrez au moins {fr_number(n)} caractères."
        return f"Ce texte est trop long : au plus {fr_number(n)} caractère{_s(n, 'fr')}."

    return {"en": en, "fr": fr}


def _list_length(kind: str) -> dict[str, Template]:
    def en(ctx: Mapping, lang: str) -> str:
        if kind == "min":
            n = ctx.get("min_length")
            return "Give at least one." if n == 1 else f"Give at least {number(n, 'en')}."
        n, actual = ctx.get("max_length"), ctx.get("actual_length")
        sent = f" ({number(actual, 'en')} were sent)" if actual is not None else ""
        return f"Too many: give at most {number(n, 'en')}{sent}."

    def fr(ctx: Mapping, lang: str) -> str:
        if kind == "min":
            n = ctx.get("min_length")
            return "Indiquez-en au moins un." if n == 1 else f"Indiquez-en au moins {fr_number(n)}."
        n, actual = ctx.get("max_length"), ctx.get("actual_length")
        sent = f" ({fr_number(actual)} envoyés)" if actual is not None else ""
        return f"Trop d’éléments : au plus {fr_number(n)}{sent}."

    return {"en": en, "fr": fr}


def _codes(en_one: str, en_many: str, fr_one: str, fr_many: str) -> dict[str, Template]:
    """A message naming codes the client sent (category codes, statuses: never personal data)."""

    def pick(one: str, many: str, lang: str) -> Template:
        def fill(ctx: Mapping, _lang: str) -> str:
            codes = ctx.get("codes") or ()
            codes = [codes] if isinstance(codes, str) else list(codes)
            return (one if len(codes) == 1 else many).format(codes=", ".join(codes), choices=ctx.get("choices", ""))

        return fill

    return {"en": pick(en_one, en_many, "en"), "fr": pick(fr_one, fr_many, "fr")}


_NUMBER = _fixed("Enter a number.", "Entrez un nombre.")
_INTEGER = _fixed("Enter a whole number.", "Entrez un nombre entier.")
_BOOLEAN = _fixed("Enter true or false.", "Entrez true (oui) ou false (non).")
_DATETIME = _fixed(
    "Enter a date and time such as 2026-11-26T09:00:00-05:00.",
    "Entrez une date et une heure comme 2026-11-26T09:00:00-05:00.",
)
_DATE = _fixed("Enter a date such as 2026-11-26.", "Entrez une date comme 2026-11-26.")
_TIME = _fixed("Enter a time such as 09:30.", "Entrez une heure comme 09:30.")
_UUID = _fixed(
    "This is not a valid id: it should look like 5b0e3c1e-8a4f-4b6e-9d2a-1f3c5e7a9b0d.",
    "Cet identifiant n’est pas valide : il devrait ressembler à 5b0e3c1e-8a4f-4b6e-9d2a-1f3c5e7a9b0d.",
)
_OBJECT = _fixed(
    "This must be a JSON object (fields in braces).",
    "Cette valeur doit être un objet JSON (des champs entre accolades).",
)
_LIST = _fixed("This must be a list.", "Cette valeur doit être une liste.")
_TEXT = _fixed("This must be text.", "Cette valeur doit être du texte.")
_URL = _fixed("Enter a valid web address.", "Entrez une adresse Web valide.")

# code -> {"en": template, "fr": template}. The pydantic error types this API meets, then ours.
MESSAGES: dict[str, dict[str, Template]] = {
    "missing": _fixed("This field is required.", "Ce champ est obligatoire."),
    "extra_forbidden": _fixed(
        "This field is not expected here: check its spelling, or remove it.",
        "Ce champ n’est pas attendu ici : vérifiez son orthographe, ou retirez-le.",
    ),
    "string_type": _TEXT,
    "string_too_short": _text_length("min"),
    "string_too_long": _text_length("max"),
    "string_pattern_mismatch": _fixed("This is not in the expected format.", "Cette valeur n’a pas le format attendu."),
    "less_than": _with("The value must be less than {lt}.", "La valeur doit être inférieure à {lt}."),
    "less_than_equal": _with("The value must be {le} or less.", "La valeur doit être inférieure ou égale à {le}."),
    "greater_than": _with("The value must be more than {gt}.", "La valeur doit être supérieure à {gt}."),
    "greater_than_equal": _with("The value must be {ge} or more.", "La valeur doit être supérieure ou égale à {ge}."),
    "multiple_of": _with(
        "The value must be a multiple of {multiple_of}.", "La valeur doit être un multiple de {multiple_of}."
    ),
    "finite_number": _fixed("Enter a finite number.", "Entrez un nombre fini."),
    "int_type": _INTEGER,
    "int_parsing": _INTEGER,
    "int_from_float": _fixed("Enter a whole number, without decimals.", "Entrez un nombre entier, sans décimales."),
    "int_parsing_size": _fixed("This number is too large.", "Ce nombre est trop grand."),
    "float_type": _NUMBER,
    "float_parsing": _NUMBER,
    "decimal_type": _NUMBER,
    "decimal_parsing": _NUMBER,
    "bool_type": _BOOLEAN,
    "bool_parsing": _BOOLEAN,
    "uuid_type": _UUID,
    "uuid_parsing": _UUID,
    "uuid_version": _UUID,
    "datetime_type": _DATETIME,
    "datetime_parsing": _DATETIME,
    "datetime_from_date_parsing": _DATETIME,
    "datetime_object_invalid": _DATETIME,
    "date_type": _DATE,
    "date_parsing": _DATE,
    "date_from_datetime_parsing": _DATE,
    "date_from_datetime_inexact": _fixed(
        "Enter a date without a time, such as 2026-11-26.", "Entrez une date sans heure, comme 2026-11-26."
    ),
    "time_type": _TIME,
    "time_parsing": _TIME,
    "timezone_aware": _fixed(
        "Add the UTC offset to the time, e.g. 2026-11-26T09:00:00-05:00.",
        "Ajoutez le décalage UTC à l’heure, par exemple 2026-11-26T09:00:00-05:00.",
    ),
    "timezone_naive": _fixed("Remove the UTC offset from the time.", "Retirez le décalage UTC de l’heure."),
    "literal_error": {"en": _choices, "fr": _choices},
    "enum": {"en": _choices, "fr": _choices},
    "list_type": _LIST,
    "set_type": _LIST,
    "tuple_type": _LIST,
    "too_short": _list_length("min"),
    "too_long": _list_length("max"),
    "dict_type": _OBJECT,
    "model_type": _OBJECT,
    "model_attributes_type": _OBJECT,
    "json_invalid": _fixed("The request body is not valid JSON.", "Le corps de la requête n’est pas du JSON valide."),
    "json_type": _fixed("The request body is not valid JSON.", "Le corps de la requête n’est pas du JSON valide."),
    "url_type": _URL,
    "url_parsing": _URL,
    "url_scheme": _URL,
    "url_too_long": _URL,
    # --- ours: validators (service/handoffs/model.py, service/maps/packs/, service/api/schemas.py)
    # --- shares (service/shares/model.py, service/shares/commands.py)
    "share_item_one_of": _fixed(
        "Give each service as a site_key or a service_id, one of the two.",
        "Donnez chaque service par site_key ou par service_id, l’un des deux.",
    ),
    "share_service_unknown": _fixed(
        "This service is not in the directory (any more). Remove it from the list, or search for it again.",
        "Ce service n’est pas (ou plus) dans le répertoire. Retirez-le de la liste, ou cherchez-le de nouveau.",
    ),
    "share_recipient_missing_sms": _fixed(
        "Enter the phone number the text message goes to.",
        "Entrez le numéro de téléphone qui recevra le texto.",
    ),
    "share_recipient_missing_email": _fixed(
        "Enter the email address the list goes to.",
        "Entrez l’adresse courriel qui recevra la liste.",
    ),
    "share_recipient_not_allowed": _fixed(
        "A link or a printout goes to nobody: leave the recipient out, or choose SMS or email.",
        "Un lien ou une impression ne sont envoyés à personne : retirez le destinataire, ou choisissez texto ou "
        "courriel.",
    ),
    "share_phone_invalid": _fixed(
        "This is not a valid phone number. Check the digits and the area code.",
        "Ce numéro de téléphone n’est pas valide. Vérifiez les chiffres et l’indicatif régional.",
    ),
    "email_invalid": _fixed(
        "This is not a valid email address. Check it, for example name@example.org.",
        "Cette adresse courriel n’est pas valide. Vérifiez-la, par exemple nom@exemple.org.",
    ),
    "share_delivery_not_configured": _fixed(
        "This server does not send this kind of message. Share the link, print it, or use the phone's own share.",
        "Ce serveur n’envoie pas ce type de message. Partagez le lien, imprimez-le, ou utilisez le partage du "
        "téléphone.",
    ),
    "phone_invalid": _fixed(
        "This is not a valid phone number. Check the digits, or leave it empty for an anonymous handoff.",
        "Ce numéro de téléphone n’est pas valide. Vérifiez les chiffres, ou laissez le champ vide pour un transfert anonyme.",
    ),
    "do_not_contact_with_phone": _fixed(
        "The person asked not to be contacted, so leave the callback phone number empty (or untick “do not contact”).",
        "La personne ne veut pas être contactée : laissez le numéro de rappel vide (ou décochez « ne pas contacter »).",
    ),
    "do_not_contact_needs_alternative": _fixed(
        "The person must not be contacted: say how the navigator can follow up instead "
        "(for example, through a shelter’s front desk).",
        "La personne ne veut pas être contactée : indiquez comment l’intervenant peut faire le suivi autrement "
        "(par exemple, par l’accueil d’un refuge).",
    ),
    "unknown_need_group": _codes(
        "Unknown need group: {codes}. Choose needs from the list (GET /v1/categories).",
        "Unknown need groups: {codes}. Choose needs from the list (GET /v1/categories).",
        "Groupe de besoins inconnu : {codes}. Choisissez les besoins dans la liste (GET /v1/categories).",
        "Groupes de besoins inconnus : {codes}. Choisissez les besoins dans la liste (GET /v1/categories).",
    ),
    "not_a_number_time": _fixed(
        "Write the date or time as ISO 8601 text, such as 2026-11-26 or 2026-11-26T09:00:00-05:00, not as a number.",
        "Écrivez la date ou l’heure en texte au format ISO 8601, comme 2026-11-26 ou 2026-11-26T09:00:00-05:00, "
        "et non sous forme de nombre.",
    ),
    "local_time_invalid": _fixed(
        "Enter a local time as HH:MM on the 24-hour clock, e.g. 09:30.",
        "Entrez une heure locale au format HH:MM (sur 24 heures), par exemple 09:30.",
    ),
    "bbox_invalid": _fixed(
        "Give the area as min_lon,min_lat,max_lon,max_lat in degrees, with each min below its max.",
        "Indiquez la zone sous la forme min_lon,min_lat,max_lon,max_lat en degrés, chaque min étant inférieur à son max.",
    ),
    "bbox_not_finite": _fixed(
        "The area’s corners must be finite numbers.", "Les coins de la zone doivent être des nombres finis."
    ),
    "bbox_too_large": _with(
        "This area is too large (more than {max_area} square degrees): zoom in, or search around a point with near=.",
        "Cette zone est trop grande (plus de {max_area} degrés carrés) : faites un zoom avant, ou cherchez autour "
        "d’un point avec near=.",
    ),
    "h3_cells_invalid": _with(
        "Some of these are not H3 cells: {cells}.", "Certaines de ces valeurs ne sont pas des cellules H3 : {cells}."
    ),
    "area_one_of": _fixed(
        "Give the area either as bbox or as h3_cells (exactly one of them).",
        "Indiquez la zone soit avec bbox, soit avec h3_cells (l’un des deux seulement).",
    ),
    "zoom_range_invalid": _fixed(
        "min_zoom must not be greater than max_zoom.", "min_zoom ne doit pas dépasser max_zoom."
    ),
    "numbers_expected": _with(
        "Give {count} numbers separated by commas.", "Indiquez {count} nombres séparés par des virgules."
    ),
    "point_invalid": _fixed(
        "Give a point as lat,lon in degrees (latitude -90 to 90, longitude -180 to 180).",
        "Indiquez un point sous la forme lat,lon en degrés (latitude de -90 à 90, longitude de -180 à 180).",
    ),
    # serves= (service/api/request_params.py): "here" on a read that has no point of its own.
    "serves_here_without_point": _fixed(
        "serves=here means the point searched from: give near=lat,lon too, or serves=lat,lon.",
        "serves=here désigne le point de la recherche : indiquez aussi near=lat,lon, ou serves=lat,lon.",
    ),
    "unknown_category": _codes(
        "Unknown category: {codes}. Choose from: {choices}.",
        "Unknown categories: {codes}. Choose from: {choices}.",
        "Catégorie inconnue : {codes}. Choisissez parmi : {choices}.",
        "Catégories inconnues : {codes}. Choisissez parmi : {choices}.",
    ),
    "unknown_population": _codes(
        "Unknown population group: {codes}. Choose from: {choices}.",
        "Unknown population groups: {codes}. Choose from: {choices}.",
        "Groupe de population inconnu : {codes}. Choisissez parmi : {choices}.",
        "Groupes de population inconnus : {codes}. Choisissez parmi : {choices}.",
    ),
    "unknown_gender": _codes(
        "Unknown gender: {codes}. Use one of: {choices}.",
        "Unknown genders: {codes}. Use one of: {choices}.",
        "Genre inconnu : {codes}. Utilisez l’une de ces valeurs : {choices}.",
        "Genres inconnus : {codes}. Utilisez l’une de ces valeurs : {choices}.",
    ),
    "unknown_status": _codes(
        "Unknown status: {codes}. Use: {choices}.",
        "Unknown statuses: {codes}. Use: {choices}.",
        "Statut inconnu : {codes}. Utilisez : {choices}.",
        "Statuts inconnus : {codes}. Utilisez : {choices}.",
    ),
    "language_code_invalid": _codes(
        "Not a language code: {codes}. Use ISO 639 codes such as en or fr.",
        "Not language codes: {codes}. Use ISO 639 codes such as en or fr.",
        "Code de langue non valide : {codes}. Utilisez des codes ISO 639 comme en ou fr.",
        "Codes de langue non valides : {codes}. Utilisez des codes ISO 639 comme en ou fr.",
    ),
    "region_invalid": _fixed(
        "The region must be an H3 cell of resolution 0 to 7.", "La région doit être une cellule H3 de résolution 0 à 7."
    ),
    "date_range_invalid": _fixed(
        "since must be on or before until, at most two years apart.",
        "since doit précéder until (ou lui être égale), avec au plus deux ans d’écart.",
    ),
    "cursor_invalid": _fixed(
        "This cursor is not one the server gave: start again without it.",
        "Ce curseur ne vient pas du serveur : recommencez sans curseur.",
    ),
    "public_jwk_invalid": _fixed(
        "Send the device’s EC P-256 public key as a JWK, without private members.",
        "Envoyez la clé publique EC P-256 de l’appareil en JWK, sans membres privés.",
    ),
    "nul_character": _fixed(
        "Remove the NUL character (\\u0000): text cannot hold it.",
        "Retirez le caractère NUL (\\u0000) : un texte ne peut pas le contenir.",
    ),
    "unpaired_surrogate": _fixed(
        "This text holds half of a UTF-16 character (an escape from \\ud800 to \\udfff without its pair): send valid Unicode.",
        "Ce texte contient la moitié d’un caractère UTF-16 (un échappement de \\ud800 à \\udfff sans son complément) : "
        "envoyez de l’Unicode valide.",
    ),
    "date_out_of_range": _with(
        "Enter a date from {earliest} to {latest}.", "Entrez une date comprise entre le {earliest} et le {latest}."
    ),
    "unknown_unit": _with(
        "Unknown unit. Use one of: {choices}.", "Unité inconnue. Utilisez l’une de celles-ci : {choices}."
    ),
    "available_above_maximum": _fixed(
        "More available than the maximum: check both numbers.",
        "Le nombre disponible dépasse le maximum : vérifiez les deux nombres.",
    ),
    "duplicate_unit": _fixed(
        "This unit is given twice for the same service: send one count per unit.",
        "Cette unité figure deux fois pour le même service : envoyez un seul compte par unité.",
    ),
    "duplicate_service": _fixed(
        "This service is given twice: send each service once.",
        "Ce service figure deux fois : envoyez chaque service une seule fois.",
    ),
    "updated_in_future": _fixed(
        "This time is in the future: send the time the count was taken, or leave it out.",
        "Cette heure est dans le futur : envoyez l’heure du compte, ou omettez-la.",
    ),
    "offset_required": _fixed(
        "Give the time with its UTC offset, e.g. 2026-12-04T21:00:00-05:00.",
        "Indiquez l’heure avec son décalage UTC, par exemple 2026-12-04T21:00:00-05:00.",
    ),
    "service_not_found": _fixed(
        "No such service (or not one of yours).", "Ce service n’existe pas (ou ne fait pas partie des vôtres)."
    ),
    "capacity_outdated": _with(
        "A newer count is already shown for this unit ({as_of}): send a later time, or none.",
        "Un compte plus récent est déjà affiché pour cette unité ({as_of}) : envoyez une heure "
        "plus récente, ou aucune.",
    ),
    "unknown_report_kind": _with(
        "Unknown kind of report. Use one of: {choices}.",
        "Type de signalement inconnu. Utilisez l’un de ceux-ci : {choices}.",
    ),
    "value_error": _fixed("This value is not valid.", "Cette valeur n’est pas valide."),
    # The HSDS API's postcode and proximity (service/hsds/postcodes.py, service/api/routes/hsds.py).
    "postcode_invalid": _fixed(
        "Enter a postal or zip code: 2 to 10 letters and digits (spaces and dashes are ignored).",
        "Entrez un code postal : de 2 à 10 lettres et chiffres (les espaces et les tirets sont ignorés).",
    ),
    "postcode_unknown": _fixed(
        "No site in the directory has this postcode, so there is no centre to measure proximity from: "
        "try its first three characters.",
        "Aucun lieu du répertoire n’a ce code postal : impossible d’y mesurer la proximité. "
        "Essayez ses trois premiers caractères.",
    ),
    # Places (service/api/routes/places.py): a query of spaces alone.
    "text_blank": _fixed(
        "Enter a place name, a postal code or a street address, not only spaces.",
        "Entrez un nom de lieu, un code postal ou une adresse, pas seulement des espaces.",
    ),
    "proximity_needs_postcode": _fixed(
        "proximity is measured from the centre of a postcode: send postcode too.",
        "La proximité se mesure depuis le centre d’un code postal : envoyez aussi postcode.",
    ),
}

_NOT_VALID = {"en": "This value is not valid.", "fr": "Cette valeur n’est pas valide."}


def message(code: str, ctx: Mapping | None, language: str, english: str | None = None) -> str:
    """The message for a field error ``code`` in ``language``. ``english`` (pydantic's own
    message) serves codes this table does not know, in English only."""
    templates = MESSAGES.get(code)
    if code == "value_error" and english:
        templates = None  # a plain ValueError of ours: its own English, a plain "not valid" in French
    if templates is not None:
        try:
            text = templates[language](ctx or {}, language)
        except (KeyError, IndexError, ValueError, TypeError):
            text = _NOT_VALID[language]
    elif language == "en" and english:
        text = _sentence(english)
    else:
        text = _NOT_VALID[language]
    return typeset_fr(text) if language == "fr" else text


def _sentence(text: str) -> str:
    for prefix in ("Value error, ", "Assertion failed, "):
        text = text.removeprefix(prefix)
    text = text.strip() or _NOT_VALID["en"]
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."


def field_error(code: str, **ctx) -> PydanticCustomError:
    """What a validator raises: a stable ``code`` the API translates (``MESSAGES``). Its
    English message is the table's, so errors read the same outside the API."""
    return PydanticCustomError(code, message(code, ctx, "en"), ctx or None)


def field_problem(field: str, code: str, **ctx) -> dict:
    """One ``errors[]`` item of a problem a raise site builds itself (``Problem(..., errors=[...])``);
    service/api/errors.py writes its message in the request's language."""
    return {"field": field, "code": code, "ctx": ctx}


def summary(errors: list[dict], language: str, shown: int = 3) -> str:
    """The ``detail`` of a validation problem: its first errors, "field: message" each."""
    if not errors:
        return typeset_fr("La demande n’est pas valide.") if language == "fr" else "The request is not valid."
    colon = NBSP + ":" if language == "fr" else ":"
    parts = [f"{e['field']}{colon} {e['message']}" if e.get("field") else e["message"] for e in errors[:shown]]
    rest = len(errors) - shown
    if rest > 0:
        parts.append(f"(et {rest} autre{_s(rest, 'fr')})" if language == "fr" else f"(and {rest} more)")
    return " ".join(parts)


def no_such_tile_fr(z: int, x: int, y: int, max_zoom: int) -> str:
    """French of spatial.tiles.check_tile's refusal (the same two cases)."""
    max_zoom = min(max_zoom, ZOOM_LIMIT)
    if not 0 <= z <= max_zoom:
        return f"Le zoom {z} est hors limites : les tuiles existent du zoom 0 au zoom {max_zoom}."
    return f"La tuile {z}/{x}/{y} n’existe pas : au zoom {z}, x et y vont de 0 à {fr_number((1 << z) - 1)}."
