"""Real exports: encodings, delimiters, column names, broken rows; each case a file on disk."""

from __future__ import annotations

import codecs
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.leads.files import read_lead_file
from pipeline.leads.records import LEAD_COLUMNS, LeadsFileError, lead_id
from pipeline.llm.prompts import MAX_FIELD_CHARS, clean_field
from pipeline.persona.spec import Persona
from pipeline.ranking.enrichment import enrich_leads
from pipeline.ranking.evaluation import evaluate_with_rules

HEADER = (
    "account_name,lead_first_name,lead_last_name,lead_job_title,account_domain,"
    "account_employee_range,account_industry"
)
ROW_ACME = "Acme,Ana,Ruiz,VP Sales,acme.com,51-200,Software"
ROW_GLOBEX = "Globex,Bo,Li,Head of Sales Development,globex.com,201-500,Software"


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str | bytes, str], Path]:
    def write_file(content: str | bytes, name: str = "leads.csv") -> Path:
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", newline="")
        return path

    return write_file


def lines(*rows: str, end: str = "\n") -> str:
    return end.join(rows) + end


def test_utf8(write) -> None:
    read = read_lead_file(
        write(lines(HEADER, ROW_ACME, "Zürich AG,Jörg,Müller,Geschäftsführer,zh.ch,11-50,"))
    )
    assert read.encoding == "utf-8"
    assert read.leads["lead_last_name"].tolist() == ["Ruiz", "Müller"]


def test_utf8_with_bom(write) -> None:
    read = read_lead_file(write(codecs.BOM_UTF8 + lines(HEADER, ROW_ACME).encode("utf-8")))
    assert read.encoding == "utf-8-sig"
    assert "account_name" in read.columns and read.leads.loc[0, "account_name"] == "Acme"


def test_windows_1252_is_detected_and_named(write) -> None:
    text = lines(
        HEADER, "Société Générale,Renée,Noël,Directrice commerciale,sg.fr,1001-5000,Banque"
    )
    read = read_lead_file(write(text.encode("cp1252")))
    assert read.encoding == "cp1252"
    assert read.leads.loc[0, "lead_first_name"] == "Renée"
    assert "encoding cp1252" in read.describe()


def test_utf16_with_bom(write) -> None:
    read = read_lead_file(write(lines(HEADER, ROW_ACME).encode("utf-16")))
    assert read.encoding == "utf-16" and len(read.leads) == 1


def test_crlf_line_endings(write) -> None:
    read = read_lead_file(write(lines(HEADER, ROW_ACME, ROW_GLOBEX, end="\r\n")))
    assert read.leads["account_industry"].tolist() == ["Software", "Software"]
    assert read.leads["source_row"].tolist() == [2, 3]


@pytest.mark.parametrize(("delimiter", "name"), [(";", "semicolon"), ("\t", "tab"), ("|", "pipe")])
def test_other_delimiters(write, delimiter: str, name: str) -> None:
    text = lines(*(row.replace(",", delimiter) for row in (HEADER, ROW_ACME, ROW_GLOBEX)))
    read = read_lead_file(write(text))
    assert read.delimiter == delimiter and f"{name}-separated" in read.describe()
    assert read.leads["company_key"].tolist() == ["acme.com", "globex.com"]


def test_quoted_commas_and_newlines_inside_fields(write) -> None:
    text = lines(
        HEADER,
        '"Acme, Inc.",Ana,Ruiz,"VP Sales,\nEMEA",acme.com,51-200,Software',
        ROW_GLOBEX,
    )
    read = read_lead_file(write(text))
    assert read.leads.loc[0, "account_name"] == "Acme, Inc."
    assert read.leads.loc[0, "lead_job_title"] == "VP Sales,\nEMEA"
    # The second record starts on line 4: the first one spans two lines.
    assert read.leads["source_row"].tolist() == [2, 4]


@pytest.mark.parametrize("placeholder", ["", "undefined", "null", "N/A"])
def test_empty_and_placeholder_titles_are_kept_and_never_relevant(
    write, persona: Persona, placeholder: str
) -> None:
    read = read_lead_file(write(lines(HEADER, f"Acme,Ana,Ruiz,{placeholder},acme.com,51-200,")))
    enriched = enrich_leads(read.leads, persona)
    verdict = evaluate_with_rules(enriched, persona, "rules", datetime.now(UTC))
    assert verdict.loc[0, "decision_basis"] == "empty_title"
    assert not verdict.loc[0, "is_relevant"]


def test_surrounding_spaces_are_trimmed_and_do_not_split_a_lead(write) -> None:
    read = read_lead_file(
        write(lines(HEADER, "  Acme , Ana ,Ruiz,  VP Sales ,acme.com , 51-200,Software"))
    )
    row = read.leads.iloc[0]
    assert (row["account_name"], row["lead_first_name"], row["lead_job_title"]) == (
        "Acme",
        "Ana",
        "VP Sales",
    )
    plain = read_lead_file(write(lines(HEADER, ROW_ACME), "plain.csv"))
    assert row["lead_id"] == plain.leads.loc[0, "lead_id"]


def test_the_same_person_twice_is_one_lead_and_the_duplicate_is_reported(write) -> None:
    read = read_lead_file(
        write(lines(HEADER, ROW_ACME, ROW_GLOBEX, ROW_ACME.replace("Ruiz", "RUIZ ")))
    )
    assert len(read.leads) == 2
    (duplicate,) = read.rejected.itertuples(index=False)
    assert duplicate.source_row == 4 and duplicate.reason.startswith("duplicate of row 2")


def test_a_5000_character_title_is_kept_whole_and_capped_for_the_model(
    write, persona: Persona
) -> None:
    title = "Head of Sales. " + "Passionate about growth and people. " * 150
    read = read_lead_file(write(lines(HEADER, f"Acme,Ana,Ruiz,{title.strip()},acme.com,51-200,")))
    kept = read.leads.loc[0, "lead_job_title"]
    assert len(kept) > 5000
    assert len(clean_field(kept, "title")) == MAX_FIELD_CHARS["title"]
    enriched = enrich_leads(read.leads, persona)
    assert enriched.loc[0, "title_role"] == "head of sales"


def test_non_latin_scripts(write) -> None:
    read = read_lead_file(
        write(
            lines(
                HEADER,
                "Яндекс,Иван,Петров,Директор по продажам,yandex.ru,10001+,IT",
                "株式会社テスト,太郎,山田,営業部長,test.co.jp,51-200,",
                "شركة,أحمد,علي,مدير المبيعات,sharika.sa,11-50,",
            )
        )
    )
    assert read.leads["lead_first_name"].tolist() == ["Иван", "太郎", "أحمد"]
    assert read.leads["lead_id"].nunique() == 3


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "the file is empty"),
        ("\n\n  \n", "the file is empty"),
        (lines(HEADER), "header but no leads"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a text file"),
        ('{"leads": [{"name": "Ana"}]}', "looks like HTML or JSON"),
        ("<html><body>Export failed</body></html>", "looks like HTML or JSON"),
        ("just some words\nwithout any columns\n", "not a CSV"),
    ],
)
def test_files_that_cannot_be_leads_are_refused_by_name(write, content, message: str) -> None:
    with pytest.raises(LeadsFileError, match=message) as refused:
        read_lead_file(write(content, "export.csv"))
    assert "export.csv" in str(refused.value)


@pytest.mark.parametrize(
    "header",
    [
        "Company,First Name,Last Name,Job Title,Website,Employees,Industry",
        "Company Name,First Name,Last Name,Title,Domain,# Employees,Industry",
        "Account Name,first_name,LAST_NAME,Job title,Company Website,Company Size,Industry",
    ],
)
def test_common_export_headers_map_to_ours(write, header: str) -> None:
    read = read_lead_file(write(lines(header, ROW_ACME)))
    assert read.leads.loc[0, "company_key"] == "acme.com"
    assert read.leads.loc[0, "account_employee_range"] == "51-200"
    assert set(read.columns) == set(LEAD_COLUMNS)
    assert f"'{header.split(',')[0]}' -> account_name" in read.describe()


def test_a_full_name_column_is_split(write) -> None:
    read = read_lead_file(
        write(lines("Full Name,Title,Company", "Ana María Ruiz,VP Sales,Acme", "Cher,CEO,Solo"))
    )
    assert read.leads["lead_first_name"].tolist() == ["Ana", "Cher"]
    assert read.leads["lead_last_name"].tolist() == ["María Ruiz", ""]
    assert read.columns["lead_first_name"] == "Full Name (split)"


def test_an_unmappable_required_column_lists_what_was_found(write) -> None:
    with pytest.raises(LeadsFileError) as refused:
        read_lead_file(write(lines("Company,First Name,Last Name,Seniority", "Acme,Ana,Ruiz,VP")))
    message = str(refused.value)
    assert "missing required column 'lead_job_title'" in message
    assert "found: Company, First Name, Last Name, Seniority" in message
    assert "'job title'" in message


def test_bad_rows_are_set_aside_with_line_and_reason_while_good_rows_proceed(write) -> None:
    text = lines(
        HEADER,
        ROW_ACME,
        "Broken,row,with,too,many,fields,here,and,more",
        ",Bo,Li,CEO,,11-50,",
        ROW_GLOBEX,
    )
    read = read_lead_file(write(text))
    assert read.leads["company_key"].tolist() == ["acme.com", "globex.com"]
    reasons = dict(zip(read.rejected["source_row"], read.rejected["reason"], strict=True))
    assert reasons[3] == "9 fields where the header has 7"
    assert reasons[4].startswith("no company")
    assert read.rejected.set_index("source_row").loc[4, "column"] == "account_name"


def test_strict_fails_on_the_first_bad_rows_naming_them(write) -> None:
    path = write(lines(HEADER, ROW_ACME, ",Bo,Li,CEO,,11-50,"))
    with pytest.raises(LeadsFileError, match=r"--strict: 1 bad row\(s\): line 3: no company"):
        read_lead_file(path, strict=True)


def test_a_file_of_only_bad_rows_is_refused(write) -> None:
    with pytest.raises(LeadsFileError, match="no usable leads: 1 bad row"):
        read_lead_file(write(lines(HEADER, ",Bo,Li,CEO,,11-50,")))


@pytest.mark.parametrize(
    ("employees", "band"),
    [
        ("1,001-5,000", "enterprise"),
        ("5000+", "enterprise"),
        ("10k+", "enterprise"),
        ("51 - 200", "smb"),
        ("350", "mid_market"),
        ("11-50 employees", "startup"),
        ("lots", "unknown"),
        ("N/A", "unknown"),
    ],
)
def test_employee_ranges_in_other_spellings(
    write, persona: Persona, employees: str, band: str
) -> None:
    read = read_lead_file(write(lines(HEADER, f'Acme,Ana,Ruiz,VP Sales,acme.com,"{employees}",')))
    assert enrich_leads(read.leads, persona).loc[0, "size_band"] == band


def excel_bytes(rows: list[list[object]], sheet: str = "Leads", other: str | None = None) -> bytes:
    """A real .xlsx workbook written by openpyxl, as a CRM's export would be."""
    import io

    from openpyxl import Workbook

    workbook = Workbook()
    if other is not None:
        workbook.active.title = other
        workbook.active.append(["nothing", "here"])
        worksheet = workbook.create_sheet(sheet)
    else:
        worksheet = workbook.active
        worksheet.title = sheet
    for row in rows:
        worksheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


EXCEL_ROWS = [
    ["Company", "First Name", "Last Name", "Job Title", "Website", "Employees"],
    ["Acme", "Ana", "Ruiz", "VP Sales", "acme.com", "51-200"],
    [None, None, None, None, None, None],
    ["Globex", "Bo", "Li", "Head of Sales Development", "globex.com", 500],
    ["", "Cy", "Ng", "CEO", "", ""],
]


def test_an_excel_export_reads_like_its_csv(write) -> None:
    read = read_lead_file(write(excel_bytes(EXCEL_ROWS), "export.xlsx"))
    assert read.leads["company_key"].tolist() == ["acme.com", "globex.com"]
    # A number cell is read as the text it shows; rows keep their number in the sheet.
    assert read.leads["account_employee_range"].tolist() == ["51-200", "500"]
    assert read.leads["source_row"].tolist() == [2, 4]
    assert read.rejected[["source_row", "column"]].values.tolist() == [[5, "account_name"]]
    assert "Excel sheet 'Leads'" in read.describe()


def test_a_named_excel_sheet_is_read_and_a_missing_one_is_named(write) -> None:
    path = write(excel_bytes(EXCEL_ROWS, sheet="Leads", other="Summary"), "export.xlsx")
    with pytest.raises(LeadsFileError, match="sheet 'Summary' holds a header but no leads"):
        read_lead_file(path)  # the first sheet holds no leads
    assert len(read_lead_file(path, sheet="Leads").leads) == 2
    with pytest.raises(
        LeadsFileError, match=r"no sheet named 'Contacts' \(sheets: 'Summary', 'Leads'\)"
    ):
        read_lead_file(path, sheet="Contacts")


def test_gzipped_and_zipped_exports_are_read(write, tmp_path: Path) -> None:
    import gzip
    import zipfile

    text = lines(HEADER, ROW_ACME, ROW_GLOBEX).encode("utf-8")
    gzipped = read_lead_file(write(gzip.compress(text), "leads.csv.gz"))
    assert len(gzipped.leads) == 2 and gzipped.format.startswith("gzip: ")
    archive = tmp_path / "leads.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("export/leads.csv", text)
        zipped.writestr("__MACOSX/export/._leads.csv", b"\x00\x05")
    assert len(read_lead_file(archive).leads) == 2
    with zipfile.ZipFile(tmp_path / "two.zip", "w") as zipped:
        zipped.writestr("a.csv", text)
        zipped.writestr("b.xlsx", excel_bytes(EXCEL_ROWS))
    with pytest.raises(LeadsFileError, match="expected one leads file in the archive"):
        read_lead_file(tmp_path / "two.zip")
    with zipfile.ZipFile(tmp_path / "book.zip", "w") as zipped:
        zipped.writestr("book.xlsx", excel_bytes(EXCEL_ROWS))
    assert len(read_lead_file(tmp_path / "book.zip").leads) == 2


@pytest.mark.parametrize(
    "header",
    [
        "companyName,firstName,lastName,title,companyWebsite,employeeCount",
        "company_name,first_name,last_name,job_title,company_domain,company_headcount",
    ],
)
def test_scraper_headers_in_camel_and_snake_case(write, header: str) -> None:
    read = read_lead_file(write(lines(header, "Acme,Ana,Ruiz,VP Sales,acme.com,51-200")))
    assert read.leads.loc[0, "company_key"] == "acme.com"
    assert read.leads.loc[0, "account_employee_range"] == "51-200"


def test_a_social_network_url_never_becomes_the_company_key(write) -> None:
    read = read_lead_file(
        write(
            lines(
                "companyName,firstName,lastName,title,companyUrl",
                "Acme,Ana,Ruiz,VP Sales,https://www.linkedin.com/company/acme",
                "Globex,Bo,Li,CEO,https://linkedin.com/company/globex/",
            )
        )
    )
    assert read.leads["company_key"].tolist() == ["Acme", "Globex"]
    # The file's value is kept as written, beside the (absent) bare domain.
    assert read.leads.loc[0, "account_website"] == "https://www.linkedin.com/company/acme"
    assert read.leads.loc[0, "account_domain"] == ""


def test_of_two_url_columns_each_row_takes_the_company_site(write) -> None:
    read = read_lead_file(
        write(
            lines(
                "companyName,firstName,lastName,title,companyUrl,companyWebsite",
                "Acme,Ana,Ruiz,VP Sales,https://www.linkedin.com/company/acme,https://acme.com",
                "Globex,Bo,Li,CEO,https://globex.com,",
            )
        )
    )
    assert read.leads["company_key"].tolist() == ["acme.com", "globex.com"]


def test_two_columns_that_both_mean_the_title_are_refused_until_one_is_chosen(write) -> None:
    path = write(lines("Company,First Name,Last Name,Title,Job Title", "Acme,Ana,Ruiz,VP,VP Sales"))
    with pytest.raises(LeadsFileError) as refused:
        read_lead_file(path)
    message = str(refused.value)
    assert "'Job Title' and 'Title'" in message or "'Title' and 'Job Title'" in message
    assert '--columns "lead_job_title=' in message
    chosen = read_lead_file(path, columns={"lead_job_title": "Job Title"})
    assert chosen.leads.loc[0, "lead_job_title"] == "VP Sales"
    with pytest.raises(LeadsFileError, match="no such column"):
        read_lead_file(path, columns={"lead_job_title": "Position"})


def test_invisible_characters_do_not_split_a_company(write) -> None:
    read = read_lead_file(
        write(
            lines(
                "account_name,lead_first_name,lead_last_name,lead_job_title",
                "Acme\u200b Robotics,Ana,Ruiz,VP Sales",
                "Acme\u00a0Robotics,Bo,Li,CEO",
                "\ufeffAcme Robotics ,Cy,Ng,Head of Sales",
            )
        )
    )
    assert read.leads["company_key"].nunique() == 1
    assert read.leads["account_name"].tolist() == ["Acme Robotics"] * 3
    # A person's identity does not depend on them either.
    assert lead_id("Ana", "Ruiz", "VP\u200b Sales", "acme") == lead_id(
        "Ana", "Ruiz", "VP Sales", "acme"
    )


def test_one_corrupt_nul_byte_sets_its_row_aside_and_the_rest_is_ranked(write) -> None:
    content = lines(HEADER, ROW_ACME, "Glo\x00bex,Bo,Li,CEO,globex.com,201-500,", ROW_GLOBEX)
    read = read_lead_file(write(content.encode("utf-8")))
    assert read.leads["company_key"].tolist() == ["acme.com", "globex.com"]
    (row,) = read.rejected.itertuples(index=False)
    assert (row.source_row, row.reason) == (3, "a NUL byte: a corrupt row")


def test_the_inbox_takes_every_kind_of_leads_file(tmp_path: Path) -> None:
    from pipeline.orchestration.inbox import inbox_files

    for name in ("a.csv", "b.xlsx", "c.csv.gz", "d.zip", "notes.pdf", "e.TSV"):
        (tmp_path / name).write_bytes(b"x")
    assert sorted(file.path.name for file in inbox_files(tmp_path)) == [
        "a.csv",
        "b.xlsx",
        "c.csv.gz",
        "d.zip",
        "e.TSV",
    ]


def test_the_column_map_and_sheet_come_from_the_environment_too() -> None:
    from pipeline.orchestration.resources import client_config
    from pipeline.orchestration.settings import Settings, parse_column_map

    settings = Settings.from_env(
        {
            "PERSONA_RANKER_COLUMNS": "lead_job_title=Job Title, account_name = Company",
            "PERSONA_RANKER_SHEET": "Contacts",
        }
    )
    source = client_config(settings)
    assert source.columns == {"lead_job_title": "Job Title", "account_name": "Company"}
    assert source.sheet == "Contacts"
    with pytest.raises(ValueError, match="expected OURS=THEIR HEADER"):
        parse_column_map("lead_job_title")
