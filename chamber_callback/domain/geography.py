"""Départements, the default regional units, and La Poste's postal code table.

The postal code table is La Poste's official one (open licence), shipped as JSON by the
npm package ``codes-postaux`` and compacted by ``scripts/build_postal_codes.py``.
"""
from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

POSTAL_TABLE = Path(__file__).resolve().parent.parent / "data" / "postal_codes.json.gz"

DEPARTEMENTS: dict[str, str] = {
    "01": "Ain", "02": "Aisne", "03": "Allier", "04": "Alpes-de-Haute-Provence", "05": "Hautes-Alpes",
    "06": "Alpes-Maritimes", "07": "Ardèche", "08": "Ardennes", "09": "Ariège", "10": "Aube", "11": "Aude",
    "12": "Aveyron", "13": "Bouches-du-Rhône", "14": "Calvados", "15": "Cantal", "16": "Charente",
    "17": "Charente-Maritime", "18": "Cher", "19": "Corrèze", "2A": "Corse-du-Sud", "2B": "Haute-Corse",
    "21": "Côte-d'Or", "22": "Côtes-d'Armor", "23": "Creuse", "24": "Dordogne", "25": "Doubs", "26": "Drôme",
    "27": "Eure", "28": "Eure-et-Loir", "29": "Finistère", "30": "Gard", "31": "Haute-Garonne", "32": "Gers",
    "33": "Gironde", "34": "Hérault", "35": "Ille-et-Vilaine", "36": "Indre", "37": "Indre-et-Loire",
    "38": "Isère", "39": "Jura", "40": "Landes", "41": "Loir-et-Cher", "42": "Loire", "43": "Haute-Loire",
    "44": "Loire-Atlantique", "45": "Loiret", "46": "Lot", "47": "Lot-et-Garonne", "48": "Lozère",
    "49": "Maine-et-Loire", "50": "Manche", "51": "Marne", "52": "Haute-Marne", "53": "Mayenne",
    "54": "Meurthe-et-Moselle", "55": "Meuse", "56": "Morbihan", "57": "Moselle", "58": "Nièvre", "59": "Nord",
    "60": "Oise", "61": "Orne", "62": "Pas-de-Calais", "63": "Puy-de-Dôme", "64": "Pyrénées-Atlantiques",
    "65": "Hautes-Pyrénées", "66": "Pyrénées-Orientales", "67": "Bas-Rhin", "68": "Haut-Rhin", "69": "Rhône",
    "70": "Haute-Saône", "71": "Saône-et-Loire", "72": "Sarthe", "73": "Savoie", "74": "Haute-Savoie",
    "75": "Paris", "76": "Seine-Maritime", "77": "Seine-et-Marne", "78": "Yvelines", "79": "Deux-Sèvres",
    "80": "Somme", "81": "Tarn", "82": "Tarn-et-Garonne", "83": "Var", "84": "Vaucluse", "85": "Vendée",
    "86": "Vienne", "87": "Haute-Vienne", "88": "Vosges", "89": "Yonne", "90": "Territoire de Belfort",
    "91": "Essonne", "92": "Hauts-de-Seine", "93": "Seine-Saint-Denis", "94": "Val-de-Marne", "95": "Val-d'Oise",
    "971": "Guadeloupe", "972": "Martinique", "973": "Guyane", "974": "La Réunion",
    "975": "Saint-Pierre-et-Miquelon", "976": "Mayotte",
}

# The five regional units a fresh installation starts with (editable by an admin later).
DEFAULT_UNITS: list[tuple[str, str, tuple[str, ...]]] = [
    ("idf-nord-om", "Île-de-France, Hauts-de-France et Outre-mer",
     ("75", "77", "78", "91", "92", "93", "94", "95", "02", "59", "60", "62", "80",
      "971", "972", "973", "974", "975", "976")),
    ("ouest", "Ouest : Bretagne, Normandie, Pays de la Loire, Centre-Val de Loire",
     ("22", "29", "35", "56", "14", "27", "50", "61", "76", "44", "49", "53", "72", "85",
      "18", "28", "36", "37", "41", "45")),
    ("est", "Est : Grand Est, Bourgogne-Franche-Comté",
     ("08", "10", "51", "52", "54", "55", "57", "67", "68", "88", "21", "25", "39", "58", "70", "71", "89", "90")),
    ("sud-ouest", "Sud-Ouest : Nouvelle-Aquitaine, Occitanie",
     ("16", "17", "19", "23", "24", "33", "40", "47", "64", "79", "86", "87",
      "09", "11", "12", "30", "31", "32", "34", "46", "48", "65", "66", "81", "82")),
    ("sud-est", "Sud-Est : Auvergne-Rhône-Alpes, Provence-Alpes-Côte d'Azur, Corse",
     ("01", "03", "07", "15", "26", "38", "42", "43", "63", "69", "73", "74",
      "04", "05", "06", "13", "83", "84", "2A", "2B")),
]

# Telephone region to try first for artisans in an overseas département.
OVERSEAS_PHONE_REGION = {"971": "GP", "972": "MQ", "973": "GF", "974": "RE", "975": "PM", "976": "YT"}


@dataclass(frozen=True)
class Commune:
    insee: str
    name: str

    @property
    def departement(self) -> str:
        return departement_of_insee(self.insee)


def departement_of_insee(insee: str) -> str:
    """'2A004' → '2A', '97411' → '974', '75056' → '75'."""
    return insee[:3] if insee.startswith("97") else insee[:2]


@lru_cache(maxsize=1)
def _postal_table() -> dict[str, list[list[str]]]:
    return json.loads(gzip.decompress(POSTAL_TABLE.read_bytes()))


def communes_for(postal_code: str) -> list[Commune]:
    """The communes served by a postal code; empty when the code does not exist."""
    return [Commune(insee, name) for insee, name in _postal_table().get(postal_code, ())]


@lru_cache(maxsize=1)
def _commune_names() -> dict[str, str]:
    return {insee: name for communes in _postal_table().values() for insee, name in communes}


def commune_name(insee: str | None) -> str | None:
    """The commune's name from its INSEE code (None when unknown)."""
    return _commune_names().get(insee) if insee else None


def departements_for(postal_code: str) -> list[str]:
    return sorted({c.departement for c in communes_for(postal_code)})
