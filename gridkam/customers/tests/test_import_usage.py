"""Importing accounts' monthly billing quantities (kind ``monthly_usage``): the service, the command and
the web flow."""

import datetime as dt
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from openpyxl import Workbook

from gridkam.core.testing import industry, make_account, make_user
from gridkam.customers import importing
from gridkam.customers.import_views import SESSION_KEY
from gridkam.customers.importing import COLUMNS, import_scope_path, master_data_import
from gridkam.tariffs.choices import UsageSource
from gridkam.tariffs.models import MonthlyUsage
from gridkam.users.choices import Role

from .import_helpers import errors_at, rejected_lines, run_import, to_csv, usage_row

pytestmark = pytest.mark.django_db

SAMPLES = Path(settings.BASE_DIR) / "docs" / "samples"
KIND = "monthly_usage"


@pytest.fixture
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def account_a(p):
    return p.a1.accounts.get()


@pytest.fixture
def account_b(p):
    return p.b1.accounts.get()


def usage_state() -> tuple[int, int, list[tuple]]:
    """Rows, history records and every stored quantity: what a rejected or dry run must leave alone."""
    values = list(MonthlyUsage.objects.order_by("pk").values_list("account_id", "month", "source", "peak_kwh"))
    return MonthlyUsage.objects.count(), MonthlyUsage.history.count(), values


def months(n: int, start: int = 2020) -> list[str]:
    return [f"{start + i // 12}-{i % 12 + 1:02d}" for i in range(n)]


# --- the sample file ----------------------------------------------------------------------------


def test_the_sample_file_imports_a_year_for_the_sample_account_and_again_changes_nothing(db):
    for code in ("C26", "C30", "C31", "C39"):
        industry(code, code)
    for name, kind in (("org_units.csv", "org_units"), ("accounts.csv", "accounts")):
        assert master_data_import(kind=kind, data=(SAMPLES / name).read_bytes()).committed
    data = (SAMPLES / "monthly_usage.csv").read_bytes()
    first = master_data_import(kind=KIND, data=data, filename="monthly_usage.csv")
    assert (first.rejected, first.created, first.committed) == ([], 12, True)
    year = MonthlyUsage.objects.filter(account__account_no="0300100002").order_by("month")
    assert [u.month for u in year] == [dt.date(2025, m, 1) for m in range(1, 13)]
    # A 10 kV plant of a few MVA: 500–900 MWh a month, 1.2–1.7 MW demand, lagging kvarh 45–60 % of kWh.
    for usage in year:
        assert Decimal("500000") <= usage.total_kwh <= Decimal("900000")
        assert Decimal("1200") <= usage.max_demand_kw <= Decimal("1700")
        assert Decimal("0.45") <= usage.lagging_kvarh / usage.total_kwh <= Decimal("0.60")
    state = usage_state()
    again = master_data_import(kind=KIND, data=data, filename="monthly_usage.csv")
    assert (again.created, again.updated, again.unchanged, again.committed) == (0, 0, 12, True)
    assert usage_state() == state


# --- writing ------------------------------------------------------------------------------------


def test_a_month_is_created_as_imported_by_the_importing_user(p, account_a):
    result = run_import(KIND, [usage_row(account_a.account_no)], user=p.admin, filename="usage.csv")
    assert (result.rows, result.created, result.committed) == (1, 1, True)
    assert result.preview[0].label == f"{account_a.account_no} {account_a.name} · 2025-01"
    usage = MonthlyUsage.objects.get(account=account_a, month=dt.date(2025, 1, 1))
    assert (usage.source, usage.updated_by) == (UsageSource.IMPORTED, p.admin)
    assert (usage.peak_kwh, usage.lagging_kvarh, usage.max_demand_kw) == (
        Decimal("184650"),
        Decimal("366540"),
        Decimal("1410.9"),
    )
    record = usage.history.get()
    assert (record.history_type, record.history_user) == ("+", p.admin)
    assert record.history_change_reason == "import_master monthly_usage usage.csv"


def test_blank_energy_is_zero_and_blank_demand_is_none(p, account_a):
    blanks = {name: "" for name in COLUMNS[KIND][2:]}
    result = run_import(KIND, [usage_row(account_a.account_no, **blanks), usage_row(account_a.account_no, "2025-02")])
    assert result.rejected == []
    empty = MonthlyUsage.objects.get(account=account_a, month=dt.date(2025, 1, 1))
    assert (empty.total_kwh, empty.lagging_kvarh, empty.leading_kvarh, empty.max_demand_kw) == (0, 0, 0, None)


def test_months_in_their_usual_spellings_and_thousands_separators(p, account_a):
    spellings = ["2025-1", "2025-02", "2025-03-01", "2025-04-01T00:00:00"]
    rows = [usage_row(account_a.account_no, month, peak_kwh="184,650.5") for month in spellings]
    assert run_import(KIND, rows).rejected == []
    stored = MonthlyUsage.objects.filter(account=account_a).order_by("month")
    assert [u.month for u in stored] == [dt.date(2025, m, 1) for m in range(1, 5)]
    assert {u.peak_kwh for u in stored} == {Decimal("184650.5")}


def test_an_excel_workbook_with_date_cells_and_numbers_is_read(p, account_a):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(COLUMNS[KIND])
    numbers = {"peak_kwh": 184650, "flat_kwh": 254940.5, "max_demand_kw": 1410.9, "sharp_kwh": None}
    for month in (dt.datetime(2025, 3, 1), dt.date(2025, 4, 1)):
        row = usage_row(account_a.account_no)
        sheet.append([numbers.get(c, row[c]) if c != "month" else month for c in COLUMNS[KIND]])
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = master_data_import(kind=KIND, data=buffer.getvalue())
    assert (result.rejected, result.created) == ([], 2)
    usage = MonthlyUsage.objects.get(account=account_a, month=dt.date(2025, 3, 1))
    assert (usage.sharp_kwh, usage.flat_kwh, usage.max_demand_kw) == (0, Decimal("254940.5"), Decimal("1410.9"))


def test_an_existing_month_is_replaced_and_its_changes_listed(p, account_a):
    run_import(KIND, [usage_row(account_a.account_no)])
    entered = MonthlyUsage.objects.create(account=account_a, month=dt.date(2025, 2, 1), peak_kwh=Decimal("1000"))
    rows = [
        usage_row(account_a.account_no, peak_kwh="190000", max_demand_kw=""),
        usage_row(account_a.account_no, "2025-02"),
    ]
    result = run_import(KIND, rows, user=p.supervisor, scope_path=import_scope_path(p.supervisor))
    assert (result.created, result.updated, result.unchanged) == (0, 2, 0)
    changes = {c.field: (c.old, c.new) for c in result.preview[0].changes}
    assert changes == {"peak_kwh": ("184650.00", "190000"), "max_demand_kw": ("1410.900", "")}
    january = MonthlyUsage.objects.get(account=account_a, month=dt.date(2025, 1, 1))
    assert (january.peak_kwh, january.max_demand_kw, january.updated_by) == (Decimal("190000"), None, p.supervisor)
    entered.refresh_from_db()
    assert (entered.source, entered.peak_kwh) == (UsageSource.IMPORTED, Decimal("184650"))
    latest = entered.history.order_by("-history_id").first()
    assert (latest.history_type, latest.history_user, latest.source) == ("~", p.supervisor, UsageSource.IMPORTED)
    assert MonthlyUsage.objects.filter(account=account_a).count() == 2


def test_a_month_that_already_has_the_same_quantities_keeps_its_source(p, account_a):
    row = usage_row(account_a.account_no)
    values = {name: Decimal(row[name]) for name in COLUMNS[KIND][2:-1]}  # all but the maximum demand
    usage = MonthlyUsage.objects.create(
        account=account_a, month=dt.date(2025, 1, 1), max_demand_kw=Decimal("1410.9"), **values
    )
    state = usage_state()
    result = run_import(KIND, [usage_row(account_a.account_no, "2025-01-01")])
    assert (result.unchanged, result.committed) == (1, True)
    assert usage_state() == state
    usage.refresh_from_db()
    assert usage.source == UsageSource.ENTERED


# --- rejections ---------------------------------------------------------------------------------


def test_every_rejected_line_is_listed_with_its_reasons_and_nothing_is_written(p, account_a, english):
    no = account_a.account_no
    rows = [
        usage_row(no, "2025-01"),  # line 2: fine
        usage_row("0999999999", "2025-01"),  # 3
        usage_row("", "2025-01"),  # 4
        usage_row(no, "2025-02", peak_kwh="-5", max_demand_kw="-1"),  # 5
        usage_row(no, "2025-03", flat_kwh="abc", valley_kwh="1.005"),  # 6
        usage_row(no, "2025-13"),  # 7
        usage_row(no, "Jan 2025"),  # 8
        usage_row(no, "2025-04-15"),  # 9
        usage_row(no, ""),  # 10
        usage_row(no, "2025-01-01"),  # 11: line 2's month again
    ]
    state = usage_state()
    result = run_import(KIND, rows)
    assert (result.committed, result.created, result.preview) == (False, 0, [])
    assert rejected_lines(result) == list(range(3, 12))
    assert errors_at(result, 3) == {"account_no": ["No account with number 0999999999."]}
    assert errors_at(result, 4) == {"account_no": ["This field cannot be blank."]}
    assert errors_at(result, 5) == {
        "peak_kwh": ["Ensure this value is greater than or equal to 0."],
        "max_demand_kw": ["Ensure this value is greater than or equal to 0."],
    }
    assert errors_at(result, 6) == {
        "flat_kwh": ["“abc” value must be a decimal number."],
        "valley_kwh": ["Ensure that there are no more than 2 decimal places."],
    }
    assert errors_at(result, 7) == {"month": ["“2025-13” is not a month; write it as YYYY-MM, e.g. 2025-01."]}
    assert errors_at(result, 8) == {"month": ["“Jan 2025” is not a month; write it as YYYY-MM, e.g. 2025-01."]}
    assert errors_at(result, 9) == {"month": ["Give the month as its first day."]}
    assert errors_at(result, 10) == {"month": ["This field cannot be blank."]}
    assert errors_at(result, 11) == {"month": ["This account and month are already on line 2."]}
    assert usage_state() == state


def test_a_supervisor_is_told_another_units_account_does_not_exist(p, account_a, account_b, english):
    scope = import_scope_path(p.supervisor)
    result = run_import(KIND, [usage_row(account_a.account_no), usage_row(account_b.account_no)], scope_path=scope)
    assert rejected_lines(result) == [3]
    message = f"No account with number {account_b.account_no} in your org unit and below."
    assert errors_at(result, 3) == {"account_no": [message]}
    unknown = run_import(KIND, [usage_row("0999999999")], scope_path=scope)
    assert errors_at(unknown, 2) == {"account_no": ["No account with number 0999999999 in your org unit and below."]}
    assert not MonthlyUsage.objects.exists()


def test_a_wrong_header_is_one_error(p, account_a, english):
    data = to_csv(KIND, [usage_row(account_a.account_no)], columns=[*COLUMNS[KIND][:-1], "demand"])
    [rejected] = master_data_import(kind=KIND, data=data).rejected
    assert rejected["line"] == 1
    assert "Missing: max_demand_kw." in rejected["errors"]["header"][0]


# --- all or nothing, dry runs, progress, queries ------------------------------------------------


def test_a_dry_run_reports_without_writing(p, account_a):
    run_import(KIND, [usage_row(account_a.account_no)])
    state = usage_state()
    rows = [usage_row(account_a.account_no, peak_kwh="1"), usage_row(account_a.account_no, "2025-02")]
    result = run_import(KIND, rows, dry_run=True)
    assert (result.updated, result.created, result.committed) == (1, 1, False)
    assert [row.action for row in result.preview] == ["update", "create"]
    assert usage_state() == state


def test_a_crash_while_writing_writes_nothing(p, account_a, monkeypatch):
    run_import(KIND, [usage_row(account_a.account_no)])
    state = usage_state()

    def crash(*args, **kwargs):
        raise RuntimeError("the database went away")

    # The new month is inserted first; the update of the existing one then fails.
    monkeypatch.setattr(importing._MonthlyUsageImporter, "update", crash)
    rows = [usage_row(account_a.account_no, peak_kwh="1"), usage_row(account_a.account_no, "2025-02")]
    with pytest.raises(RuntimeError):
        run_import(KIND, rows)
    assert usage_state() == state


def test_progress_is_reported(p, account_a):
    calls = []
    rows = [usage_row(account_a.account_no, month) for month in months(3)]
    run_import(KIND, rows, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(3, 3)]


def count_queries(rows: list[dict[str, str]]) -> int:
    with CaptureQueriesContext(connection) as queries:
        result = run_import(KIND, rows)
    assert result.rejected == []
    return len(queries.captured_queries)


def test_importing_2_or_20_rows_takes_the_same_number_of_queries(p, account_a):
    others = [make_account(customer=p.a2) for _ in range(10)]
    # New months of one account...
    assert count_queries([usage_row(account_a.account_no, m) for m in months(2)]) == count_queries(
        [usage_row(account_a.account_no, m) for m in months(20, start=2000)]
    )
    # ...changes to existing months...
    assert count_queries([usage_row(account_a.account_no, m, peak_kwh="7") for m in months(2)]) == count_queries(
        [usage_row(account_a.account_no, m, peak_kwh="7") for m in months(20, start=2000)]
    )
    # ...and months of many accounts.
    assert count_queries([usage_row(a.account_no, "2024-06") for a in others[:2]]) == count_queries(
        [usage_row(a.account_no, m) for a in others for m in ("2024-07", "2024-08")]
    )


# --- the command --------------------------------------------------------------------------------


def call(*args: str) -> tuple[str, int]:
    out = io.StringIO()
    try:
        with translation.override("en"):
            call_command("import_master", *args, stdout=out, stderr=io.StringIO())
    except CommandError as exc:
        return out.getvalue(), exc.returncode
    return out.getvalue(), 0


def test_the_command_imports_monthly_usage(p, account_a, tmp_path):
    path = tmp_path / "usage.csv"
    path.write_bytes(to_csv(KIND, [usage_row(account_a.account_no, m) for m in months(2)]))
    out, status = call(str(path), "--kind", KIND, "--dry-run", "--json")
    assert (status, json.loads(out)["created"], json.loads(out)["committed"]) == (0, 2, False)
    assert not MonthlyUsage.objects.exists()
    out, status = call(str(path), "--kind", KIND, "--user", p.admin.username)
    assert (status, out.strip()) == (0, "usage.csv: 2 rows, 2 created, 0 updated, 0 unchanged.")
    assert set(MonthlyUsage.objects.values_list("updated_by", flat=True)) == {p.admin.pk}
    out, status = call(str(path), "--kind", KIND, "--json")
    assert (status, json.loads(out)["unchanged"]) == (0, 2)
    assert MonthlyUsage.objects.count() == 2


def test_the_command_rejects_a_bad_file_with_status_1(p, account_a, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(to_csv(KIND, [usage_row(account_a.account_no), usage_row(account_a.account_no, "2025-99")]))
    out, status = call(str(path), "--kind", KIND, "--json")
    document = json.loads(out)
    assert (status, document["committed"]) == (1, False)
    assert [(r["line"], list(r["errors"])) for r in document["rejected"]] == [(3, ["month"])]
    assert not MonthlyUsage.objects.exists()


# --- the web flow -------------------------------------------------------------------------------


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def upload(client, data: bytes):
    file = SimpleUploadedFile("usage.csv", data)
    return client.post(reverse("customers:import"), {"kind": KIND, "file": file})


def test_a_supervisor_imports_monthly_usage_on_the_web(p, client_for, account_a, media):
    client = client_for(p.supervisor)
    page = client.get(reverse("customers:import")).content.decode()
    assert f'<option value="{KIND}">' in page
    assert reverse("customers:import_sample", args=["monthly_usage.csv"]) in page
    sample = client.get(reverse("customers:import_sample", args=["monthly_usage.csv"]))
    assert b"".join(sample.streaming_content) == (SAMPLES / "monthly_usage.csv").read_bytes()

    assert upload(client, to_csv(KIND, [usage_row(account_a.account_no, m) for m in months(2)])).status_code == 302
    preview = client.get(reverse("customers:import_preview"))
    assert preview.context["result"].created == 2
    assert 'data-testid="import-confirm"' in preview.content.decode()
    assert f"{account_a.account_no} {account_a.name} · 2020-02" in preview.content.decode()
    assert not MonthlyUsage.objects.exists()

    response = client.post(reverse("customers:import_confirm"), {"preview": client.session[SESSION_KEY]["nonce"]})
    assert response.url == reverse("customers:import")
    assert set(MonthlyUsage.objects.values_list("updated_by", "source")) == {(p.supervisor.pk, UsageSource.IMPORTED)}


def test_another_citys_supervisor_gets_the_rejected_lines_and_writes_nothing(p, client_for, account_a, media):
    client = client_for(make_user("supervisor_b", role=Role.SUPERVISOR, org_unit=p.city_b))
    upload(client, to_csv(KIND, [usage_row(account_a.account_no)]))
    content = client.get(reverse("customers:import_preview")).content.decode()
    assert 'data-testid="rejected-table"' in content and 'data-testid="import-confirm"' not in content
    client.post(reverse("customers:import_confirm"), {"preview": client.session[SESSION_KEY]["nonce"]})
    assert not MonthlyUsage.objects.exists()


@pytest.mark.parametrize("persona", ["manager", "engineer", "clerk", "outsider", "customer_user"])
def test_other_roles_may_not_import_monthly_usage(p, client_for, account_a, media, persona):
    # Billing clerks too: the import pages are granted by role for every kind (docs/import.md).
    client = client_for(getattr(p, persona))
    assert upload(client, to_csv(KIND, [usage_row(account_a.account_no)])).status_code == 403
    assert not MonthlyUsage.objects.exists()
