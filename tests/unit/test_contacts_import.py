"""Reading contacts files as spreadsheets write them: encodings, separators, headers, bad lines."""
import pytest

from chamber_callback.domain import contacts_import as reading

HEADER = "Nom;Entreprise;Téléphone;SIRET;Code postal;Secteur"


def table(text: str, encoding="utf-8"):
    return reading.read_table(text.encode(encoding))


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_utf8_with_or_without_bom_and_windows_1252_read_the_same(encoding):
    read = table(f"{HEADER}\nHélène Noël;Pâtisserie Noël;06 12 34 56 78;;71100;Alimentation\n", encoding)
    assert read.header[2] == "Téléphone" and read.rows == [(2, ["Hélène Noël", "Pâtisserie Noël", "06 12 34 56 78",
                                                                 "", "71100", "Alimentation"])]


@pytest.mark.parametrize("separator", [";", ",", "\t"])
def test_the_separator_is_found(separator):
    read = table(separator.join(["Name", "Company", "Phone", "Zip"]) + "\n" +
                 separator.join(["A", "B", "0612345678", "75011"]) + "\n")
    assert read.delimiter == separator and reading.guess_mapping(read.header) == {
        "name": 0, "business_name": 1, "phone": 2, "postal_code": 3}


def test_french_headers_are_mapped_whatever_their_accents_and_case():
    assert reading.guess_mapping(["RAISON SOCIALE", "Tél.", "N° SIRET", "CP", "Secteur d'activité", "Nom"]) == {
        "business_name": 0, "phone": 1, "siret": 2, "postal_code": 3, "sector": 4, "name": 5}
    assert reading.mapping_problems({"name": 0}, ["Nom"])  # no phone, no postal code


def test_rows_are_checked_like_the_form_and_errors_keep_their_line_numbers():
    read = table(f'{HEADER}\n'
                 'A;"Atelier\nsur deux lignes";06 12 34 56 78;;71100;Bâtiment\n'
                 'B;Bad;12;;71100;\n'
                 'C;Nowhere;06 12 34 56 79;;99999;\n'
                 ';;06 12 34 56 80;;71100;\n'
                 'D;Siret;06 12 34 56 81;12345678901234;71100;\n'
                 'E;Lost zero;612345682;;1000;btp\n')
    preview = reading.check_table(read, reading.guess_mapping(read.header))
    assert [(e.line, e.field) for e in preview.errors] == [(4, "phone"), (5, "postal_code"), (6, "name"),
                                                           (7, "siret")]
    assert [(c.line, c.phone, c.sector) for c in preview.contacts] == [(2, "+33612345678", "batiment"),
                                                                       (8, "+33612345682", "batiment")]
    assert preview.contacts[1].postal_code == "01000"


def test_duplicates_in_the_file_are_merged_into_the_first():
    read = table(f"{HEADER}\nA;X;06 12 34 56 78;;71100;\nB;Y;+33 6 12 34 56 78;;71100;\nC;Z;0612345678;;71100;\n")
    preview = reading.check_table(read, reading.guess_mapping(read.header))
    assert len(preview.contacts) == 1 and preview.merged_in_file == {2: [3, 4]} and preview.merged_count == 2


def test_an_empty_or_unreadable_file_says_so():
    with pytest.raises(reading.FileError):
        reading.read_table(b"  \n")
