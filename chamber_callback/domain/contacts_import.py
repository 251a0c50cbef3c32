"""Reading a campaign's contacts file as French spreadsheets produce it: UTF-8 or Windows-1252,
``;`` or ``,`` (or tab) between columns, the columns named in French or English. Every row is
checked like the public form (``domain.intake``); numbers repeated in the file are merged.

Pure: no Flask, no database. Messages are marked with ``N_`` and translated by the web layer.
"""
from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field

from flask_babel import gettext as _

from .intake import (
    N_,
    SECTORS,
    UNKNOWN_SECTOR,
    AmbiguousPostalCode,
    IntakeError,
    check_siret,
    normalise_phone,
    one_line,
    resolve_postal_code,
)

FIELDS: dict[str, str] = {
    "name": N_("Nom"),
    "business_name": N_("Entreprise"),
    "phone": N_("Téléphone"),
    "siret": N_("SIRET"),
    "postal_code": N_("Code postal"),
    "sector": N_("Secteur"),
}
REQUIRED = ("phone", "postal_code")
NAME_MAX, BUSINESS_MAX = 120, 200
# Usual column names, compared without accents, case, spaces or punctuation.
ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("nom", "nomducontact", "contact", "nomprenom", "prenomnom", "name", "fullname", "lastname",
             "contactname", "dirigeant", "gerant"),
    "business_name": ("entreprise", "raisonsociale", "societe", "denomination", "enseigne", "business",
                      "businessname", "company", "companyname", "etablissement"),
    "phone": ("telephone", "tel", "numerodetelephone", "portable", "mobile", "phone", "phonenumber",
              "telephoneportable", "numero", "gsm"),
    "siret": ("siret", "nsiret", "numerosiret", "nodesiret", "siretnumber"),
    "postal_code": ("codepostal", "cp", "postalcode", "zip", "zipcode", "postcode"),
    "sector": ("secteur", "secteurdactivite", "activite", "sector", "trade", "metier"),
}
SECTOR_WORDS: dict[str, tuple[str, ...]] = {
    "alimentation": ("alimentation", "alimentaire", "boulangerie", "boucherie", "patisserie", "food"),
    "batiment": ("batiment", "btp", "construction", "building"),
    "fabrication": ("fabrication", "production", "manufacturing"),
    "services": ("services", "service", "coiffure", "reparation"),
}
MAX_ROWS = 200_000


def _key(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", plain.lower())


class FileError(ValueError):
    """The file cannot be read at all (``message`` for the person who sent it)."""

    def __init__(self, message: str, **params):
        super().__init__(message)
        self.message, self.params = message, params


@dataclass(frozen=True)
class Table:
    header: list[str]
    rows: list[tuple[int, list[str]]]  # (line number as a spreadsheet shows it, values)
    encoding: str
    delimiter: str


def decode(data: bytes) -> tuple[str, str]:
    """The text and its encoding: UTF-8 (with or without a byte order mark), else Windows-1252."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        raise FileError(N_("Le fichier n'est ni en UTF-8 ni en Windows-1252 : enregistrez-le en CSV UTF-8.")) from None


def sniff_delimiter(text: str) -> str:
    """``;``, ``,`` or a tab: the one found most often outside quotes on the first line."""
    first = text.split("\n", 1)[0]
    outside, quoted = [], False
    for char in first:
        if char == '"':
            quoted = not quoted
        elif not quoted:
            outside.append(char)
    counts = {d: outside.count(d) for d in (";", ",", "\t")}
    best = max(counts, key=lambda d: (counts[d], d == ";"))
    return best if counts[best] else ";"


def read_table(data: bytes) -> Table:
    if not data.strip():
        raise FileError(N_("Le fichier est vide."))
    text, encoding = decode(data)
    delimiter = sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [cell.strip() for cell in next(reader)]
        rows: list[tuple[int, list[str]]] = []
        line = reader.line_num + 1
        for values in reader:
            if any(cell.strip() for cell in values):
                rows.append((line, values))
                if len(rows) > MAX_ROWS:
                    raise FileError(N_("Le fichier a plus de %(n)s lignes : découpez-le."), n=MAX_ROWS)
            line = reader.line_num + 1
    except csv.Error as error:
        raise FileError(N_("Le fichier n'est pas un CSV lisible (ligne %(line)s)."), line=reader.line_num) from error
    if not any(header):
        raise FileError(N_("La première ligne doit donner le nom des colonnes."))
    return Table(header, rows, encoding, delimiter)


def guess_mapping(header: list[str]) -> dict[str, int]:
    """Field → column index, from the usual column names (French or English)."""
    mapping: dict[str, int] = {}
    keys = [_key(name) for name in header]
    for name, aliases in ALIASES.items():
        for index, key in enumerate(keys):
            if index not in mapping.values() and key in aliases:
                mapping[name] = index
                break
    return mapping


def mapping_problems(mapping: dict[str, int], header: list[str]) -> list[str]:
    """What a mapping lacks (messages translated now, each column's name in them): the phone, the
    postal code, a name or business."""
    problems = [_("Choisissez la colonne « %(field)s ».", field=_(FIELDS[f])) for f in REQUIRED if f not in mapping]
    if "name" not in mapping and "business_name" not in mapping:
        problems.append(_("Choisissez la colonne du nom ou celle de l'entreprise."))
    if any(not 0 <= index < len(header) for index in mapping.values()):
        problems.append(_("Une colonne choisie n'existe pas dans le fichier."))
    return problems


@dataclass(frozen=True)
class Contact:
    line: int
    name: str
    business_name: str
    phone: str  # E.164
    siret: str | None
    sector: str
    postal_code: str
    departement: str
    commune_insee: str | None
    commune_name: str | None


@dataclass(frozen=True)
class RowError:
    line: int
    field: str  # a key of FIELDS
    message: str


def sector_code(raw: str) -> str:
    key = _key(raw)
    if not key:
        return UNKNOWN_SECTOR
    for code, words in SECTOR_WORDS.items():
        if key == code or key in words or _key(SECTORS[code]) == key:
            return code
    return UNKNOWN_SECTOR


def check_row(line: int, values: list[str], mapping: dict[str, int]) -> Contact | RowError:
    def cell(name: str) -> str:
        index = mapping.get(name)
        return values[index].strip() if index is not None and index < len(values) else ""

    name, business = one_line(cell("name")), one_line(cell("business_name"))
    if not name and not business:
        return RowError(line, "name", N_("Ni nom ni entreprise."))
    if len(name) > NAME_MAX or len(business) > BUSINESS_MAX:
        return RowError(line, "name", N_("Nom ou entreprise trop long."))
    postal = re.sub(r"\s", "", cell("postal_code"))
    if re.fullmatch(r"\d{4}", postal):
        postal = "0" + postal  # a spreadsheet dropped the leading zero (01000 → 1000)
    try:
        commune = resolve_postal_code(postal)
    except AmbiguousPostalCode:
        return RowError(line, "postal_code", N_("Ce code postal couvre plusieurs départements : ajoutez la commune "
                                                "ou appelez cet artisan depuis le formulaire."))
    except IntakeError as error:
        return RowError(line, "postal_code", error.message)
    raw_phone = cell("phone")
    digits = re.sub(r"\D", "", raw_phone)
    if len(digits) == 9 and not raw_phone.strip().startswith("+"):
        raw_phone = "0" + digits  # a spreadsheet dropped the leading zero (06… → 6…)
    try:
        phone = normalise_phone(raw_phone, commune.departement)
    except IntakeError as error:
        return RowError(line, "phone", error.message)
    try:
        siret = check_siret(cell("siret") or None)
    except IntakeError as error:
        return RowError(line, "siret", error.message)
    from .geography import communes_for

    same = [c for c in communes_for(postal) if c.departement == commune.departement]
    single = same[0] if len(same) == 1 else None
    return Contact(line, (name or business)[:NAME_MAX], (business or name)[:BUSINESS_MAX], phone, siret,
                   sector_code(cell("sector")), postal, commune.departement, single.insee if single else None,
                   single.name if single else None)


@dataclass
class Preview:
    contacts: list[Contact] = field(default_factory=list)  # valid and first of their number
    errors: list[RowError] = field(default_factory=list)
    merged_in_file: dict[int, list[int]] = field(default_factory=dict)  # first line → the lines merged into it
    rows: int = 0

    @property
    def merged_count(self) -> int:
        return sum(len(lines) for lines in self.merged_in_file.values())


def check_table(table: Table, mapping: dict[str, int]) -> Preview:
    preview = Preview(rows=len(table.rows))
    first_line: dict[str, int] = {}
    for line, values in table.rows:
        result = check_row(line, values, mapping)
        if isinstance(result, RowError):
            preview.errors.append(result)
        elif result.phone in first_line:
            preview.merged_in_file.setdefault(first_line[result.phone], []).append(line)
        else:
            first_line[result.phone] = line
            preview.contacts.append(result)
    return preview


__all__ = ["FIELDS", "Contact", "FileError", "Preview", "RowError", "Table", "check_row",
           "check_table", "decode", "guess_mapping", "mapping_problems", "read_table", "sniff_delimiter"]
