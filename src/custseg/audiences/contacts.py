"""Contact values as each marketing tool reads them: e-mail, phone in E.164, names, country code,
and Google Customer Match's SHA-256 of the normalised value.

Contacts are personal data: they come from the log's contact columns (the table
``customer_contacts`` of :mod:`custseg.sources.flat`) and go into the audience files only —
never into the customer table, the report, summary.json or a progress or error line (errors
name columns and counts, never values).
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from typing import TYPE_CHECKING

from custseg.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

ROLES = ("email", "phone", "first_name", "last_name", "zip", "country")
_SPACES = re.compile(r"\s+")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_E164 = re.compile(r"\+[1-9]\d{7,14}")  # already E.164: taken as it is (parsing costs ~30 µs a number)


def sha256_hex(text: str) -> str:
    """SHA-256 of the UTF-8 text as 64 lower-case hex digits (what Google Customer Match takes)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def clean(value) -> str:
    """A contact value trimmed, runs of white space as one space; "" for none."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return _SPACES.sub(" ", str(value)).strip()


def normal_email(value) -> str:
    """Trimmed and lower-cased (Google's rule for hashing; harmless for the others); "" when it is
    not an address (no single @ with a dotted domain)."""
    text = _SPACES.sub("", clean(value)).lower()
    return text if _EMAIL.fullmatch(text) else ""


def normal_name(value, *, keep_case: bool) -> str:
    """Trimmed, inner white space as one space; lower-cased unless ``keep_case`` (a greeting)."""
    text = clean(value)
    return text if keep_case else text.lower()


@lru_cache(maxsize=1)
def _country_names() -> dict[str, str]:
    """English country name (case-folded) -> ISO 3166-1 alpha-2 code, from the phonenumbers
    package's geocoder (one example number per region it knows, ~240 regions)."""
    import phonenumbers
    from phonenumbers import geocoder

    names = {}
    for region in phonenumbers.SUPPORTED_REGIONS:
        example = phonenumbers.example_number(region)
        name = geocoder.country_name_for_number(example, "en") if example is not None else ""
        if name:
            names[name.casefold()] = region
    return names


def country_code(value) -> str:
    """ISO 3166-1 alpha-2 code of a country given as a code ("br", "BR") or an English name
    ("Brazil", "United Kingdom"); "" when it is neither."""
    text = clean(value)
    if len(text) == 2 and text.isalpha():
        return text.upper()
    return _country_names().get(text.casefold(), "") if text else ""


def check_phone_country(code: str | None) -> str | None:
    """``--phone-country``: a region code phonenumbers knows (BR, GB, US), upper-cased."""
    if code is None or code == "":
        return None
    import phonenumbers

    upper = str(code).strip().upper()
    if upper not in phonenumbers.SUPPORTED_REGIONS:
        raise InputError(f"--phone-country {code}: not a two-letter country code of a phone region; give e.g. BR, GB or US")
    return upper


def e164(value, region: str | None) -> str | None:
    """The phone number in E.164 (+ country code, digits: +5511987654321); "" when it cannot be
    a phone number; None when it has no + country code and ``region`` is None (the caller says so)."""
    import phonenumbers

    text = clean(value)
    if not text:
        return ""
    if _E164.fullmatch(text):
        return text
    plus = text.startswith("+")
    if not plus and region is None:
        return None
    try:
        number = phonenumbers.parse(text, None if plus else region)
    except phonenumbers.NumberParseException:
        return ""
    if not phonenumbers.is_possible_number(number):
        return ""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise(contacts: pd.DataFrame, *, keep_case=(), phone_country: str | None = None) -> tuple[pd.DataFrame, dict[str, int]]:
    """Every mapped contact role as the tools read it (email, phone E.164, names, zip, country
    code), and per role how many customers gave a value that could not be used.

    A phone without + country code is read in the customer's country (from the country column,
    when it is a code or an English name), else in ``phone_country``; a phone that has neither is
    an InputError naming the column and how many (no value is shown).
    """
    import pandas as pd

    out = pd.DataFrame({"customer_id": contacts["customer_id"]})
    unusable: dict[str, int] = {}
    countries = [country_code(v) for v in contacts["country"]] if "country" in contacts else None
    if countries is not None:
        out["country"] = countries
    for role in ROLES:
        if role not in contacts or role == "country":
            continue
        values = contacts[role].tolist()
        if role == "email":
            column = [normal_email(v) for v in values]
        elif role == "phone":
            regions = countries or [""] * len(values)
            column = [e164(v, region or phone_country) for v, region in zip(values, regions)]
            no_region = sum(v is None for v in column)
            if no_region:
                where = f"{contacts.attrs.get('source', 'the log')}, column {contacts.attrs.get('columns', {}).get('phone', 'phone')!r} (phone)"
                raise InputError(
                    f"{where}: {no_region:,} customers' numbers have no + country code and no country to read them in; "
                    "give --phone-country (e.g. --phone-country BR), or map a country column"
                )
        elif role in ("first_name", "last_name"):
            column = [normal_name(v, keep_case=role in keep_case) for v in values]
        else:  # zip
            column = [clean(v) for v in values]
        out[role] = column
        unusable[role] = sum(1 for raw, new in zip(values, column) if clean(raw) and not new)
    if countries is not None:
        unusable["country"] = sum(1 for raw, new in zip(contacts["country"], countries) if clean(raw) and not new)
    return out, {role: n for role, n in unusable.items() if n}
