"""Importing accounts (customer, account and metering point per row) and reading the files.

Org units and contacts: test_import_units_contacts.py; the command: test_import_command.py; the web
flow: test_import_views.py.
"""

import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation
from openpyxl import Workbook

from gridkam.core.testing import industry, make_credit_code
from gridkam.customers.importing import COLUMNS, XLS_MAGIC, import_scope_path, master_data_import
from gridkam.customers.models import Contact, Customer, ElectricityAccount, MeteringPoint

from .import_helpers import account_row, errors_at, make_tariff, rejected_lines, run_import, to_csv

pytestmark = pytest.mark.django_db

SAMPLES = Path(settings.BASE_DIR) / "docs" / "samples"


@pytest.fixture
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def sample_industries(db):
    for code, name in (
        ("C26", "化学原料和化学制品制造业"),
        ("C30", "非金属矿物制品业"),
        ("C31", "黑色金属冶炼和压延加工业"),
        ("C39", "计算机、通信和其他电子设备制造业"),
    ):
        industry(code, name)


def import_sample(name: str, kind: str, **kwargs):
    return master_data_import(kind=kind, data=(SAMPLES / name).read_bytes(), filename=name, **kwargs)


def row_counts() -> tuple[int, ...]:
    return (
        Customer.objects.count(),
        ElectricityAccount.objects.count(),
        MeteringPoint.objects.count(),
        Customer.history.count(),
        ElectricityAccount.history.count(),
        MeteringPoint.history.count(),
    )


# --- the sample files and idempotence -------------------------------------------------------


def test_the_sample_files_import_cleanly(sample_industries):
    units = import_sample("org_units.csv", "org_units")
    assert (units.rejected, units.created, units.committed) == ([], 6, True)
    accounts = import_sample("accounts.csv", "accounts")
    assert (accounts.rejected, accounts.created) == ([], 8)
    contacts = import_sample("contacts.csv", "contacts")
    assert (contacts.rejected, contacts.created) == ([], 9)
    assert (Customer.objects.count(), ElectricityAccount.objects.count(), MeteringPoint.objects.count()) == (4, 5, 8)
    assert Contact.objects.count() == 9
    # The Excel sample holds the same data, with numbers stored as numbers.
    xlsx = import_sample("accounts.xlsx", "accounts")
    assert (xlsx.rejected, xlsx.unchanged) == ([], 8)


def test_imported_customers_get_search_initials_and_a_tier(sample_industries):
    import_sample("org_units.csv", "org_units")
    import_sample("accounts.csv", "accounts")
    petro = Customer.objects.get(name="惠州大亚湾恒润石化有限公司")
    assert petro.name_initials == "HZDYWHRSHYXGS"
    # 63,000 + 2,500 kVA meets the default special-tier capacity threshold of 50,000 kVA.
    assert (petro.tier, petro.tier_computed) == ("special", "special")
    assert Customer.objects.get(name="博罗县鑫磊建材有限公司").tier == "third"


def test_reimporting_the_same_files_changes_nothing(sample_industries):
    for name, kind in (("org_units.csv", "org_units"), ("accounts.csv", "accounts"), ("contacts.csv", "contacts")):
        first = import_sample(name, kind)
        counts = row_counts(), Contact.objects.count(), Contact.history.count()
        second = import_sample(name, kind)
        assert (second.created, second.updated, second.unchanged) == (0, 0, first.rows)
        assert (row_counts(), Contact.objects.count(), Contact.history.count()) == counts


# --- accounts -------------------------------------------------------------------------------


def test_accounts_create_the_customer_its_account_and_points(p):
    rows = [account_row(1), account_row(1, metering_point="MPI0000001-2", meter_no="MI-second")]
    result = run_import("accounts", rows, user=p.admin, filename="accounts.csv")
    assert (result.rows, result.created, result.committed) == (2, 2, True)
    customer = Customer.objects.get(credit_code=rows[0]["credit_code"])
    assert (customer.org_unit, customer.industry_id, customer.name_initials) == (p.city_a, "C31", "HZD1SYYXGS")
    account = customer.accounts.get()
    assert (account.capacity_kva, account.voltage_kv, account.metering_points.count()) == (Decimal("1250"), "10", 2)
    record = customer.history.get()
    assert (record.history_type, record.history_user) == ("+", p.admin)
    assert record.history_change_reason == "import_master accounts accounts.csv"
    assert MeteringPoint.history.filter(account_id=account.pk).count() == 2


def test_a_new_account_for_an_existing_customer(p):
    row = account_row(1, credit_code=p.a3.credit_code, customer_name=p.a3.name)
    result = run_import("accounts", [row])
    assert (result.rejected, result.created) == ([], 1)
    assert p.a3.accounts.count() == 2


def test_a_change_is_counted_once_and_kept_in_the_history(p):
    rows = [account_row(1), account_row(1, metering_point="MPI-b", meter_no="MI-b")]
    run_import("accounts", rows)
    result = run_import("accounts", [dict(row, capacity_kva="12000") for row in rows], user=p.supervisor)
    # The account repeats on both rows; its change belongs to the first row that names it.
    assert (result.created, result.updated, result.unchanged) == (0, 1, 1)
    changes = {c.field: (c.old, c.new) for c in result.preview[0].changes}
    assert changes["capacity_kva"] == ("1250.00", "12000")
    assert changes["tier"] == ("third", "first")
    account = ElectricityAccount.objects.get(account_no=rows[0]["account_no"])
    latest = account.history.order_by("-history_id").first()
    assert (latest.history_type, latest.capacity_kva, latest.history_user) == ("~", Decimal("12000"), p.supervisor)
    assert Customer.objects.get(credit_code=rows[0]["credit_code"]).tier == "first"


def test_a_customer_rename_refreshes_its_initials(p):
    run_import("accounts", [account_row(1)])
    result = run_import("accounts", [account_row(1, customer_name="惠州新名字有限公司")])
    assert result.updated == 1
    assert Customer.objects.get(credit_code=account_row(1)["credit_code"]).name_initials == "HZXMZYXGS"


def test_a_wrong_credit_code_checksum_is_rejected(p, english):
    good = make_credit_code(900001)
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    result = run_import("accounts", [account_row(1, credit_code=bad)])
    assert "Checksum mismatch" in errors_at(result, 2)["credit_code"][0]
    assert not result.committed


def test_duplicate_metering_points_or_meters_in_the_file_are_rejected(p, english):
    first = account_row(1)
    rows = [first, account_row(2, metering_point=first["metering_point"]), account_row(3, meter_no=first["meter_no"])]
    result = run_import("accounts", rows)
    assert rejected_lines(result) == [3, 4]
    assert errors_at(result, 3)["metering_point"] == [f"Metering point {first['metering_point']} is already on line 2."]
    assert errors_at(result, 4)["meter_no"] == [f"Meter number {first['meter_no']} is already on line 2."]


def test_a_meter_number_used_by_another_point_is_rejected(p):
    taken = MeteringPoint.objects.filter(account__customer=p.a1).first().meter_no
    result = run_import("accounts", [account_row(1, meter_no=taken)])
    assert list(errors_at(result, 2)) == ["meter_no"]


def test_an_account_number_of_another_customer_is_rejected(p):
    taken = p.b1.accounts.get().account_no
    result = run_import("accounts", [account_row(1, account_no=taken)])
    assert "account_no" in errors_at(result, 2)
    assert ElectricityAccount.objects.get(account_no=taken).customer == p.b1


def test_a_metering_point_of_another_customer_is_rejected(p):
    point = MeteringPoint.objects.filter(account__customer=p.b1).first()
    result = run_import("accounts", [account_row(1, metering_point=point.code)])
    assert "metering_point" in errors_at(result, 2)


def test_a_metering_point_may_move_to_another_account_of_its_customer(p):
    row = account_row(1)
    run_import("accounts", [row])
    result = run_import("accounts", [dict(row, account_no="0799999999", account_name="二厂")])
    assert (result.created, result.updated) == (0, 1)
    assert ("account_no", row["account_no"], "0799999999") in [
        (c.field, c.old, c.new) for c in result.preview[0].changes
    ]
    assert MeteringPoint.objects.get(code=row["metering_point"]).account.account_no == "0799999999"


def test_one_account_under_two_credit_codes_in_the_file_is_rejected(p, english):
    first = account_row(1)
    result = run_import("accounts", [first, account_row(2, account_no=first["account_no"])])
    assert rejected_lines(result) == [3]
    message = f"Account {first['account_no']} is given for customer {first['credit_code']} on line 2."
    assert message in errors_at(result, 3)["account_no"]


def test_the_rows_of_one_customer_and_account_must_agree(p, english):
    rows = [
        account_row(1),
        account_row(1, customer_name="另一个名字有限公司", metering_point="MPX", meter_no="MX"),
        account_row(1, capacity_kva="1250.0", metering_point="MPY", meter_no="MY"),
        account_row(1, capacity_kva="2000", metering_point="MPZ", meter_no="MZ"),
    ]
    result = run_import("accounts", rows)
    assert rejected_lines(result) == [3, 5]  # 1250.0 is the same number as 1250
    assert errors_at(result, 3)["customer_name"][0].startswith("Differs from line 2 for the same customer")
    assert errors_at(result, 5)["capacity_kva"][0].startswith("Differs from line 2 for the same account")


def test_unknown_org_units_and_industries_are_rejected(p, english):
    result = run_import("accounts", [account_row(1, org_unit="NOWHERE", industry_code="C99")])
    errors = errors_at(result, 2)
    assert errors["org_unit"] == ["Unknown org unit code NOWHERE."]
    assert errors["industry_code"] == ["Unknown industry code C99."]


def test_industry_division_digits_and_lower_case_codes_are_accepted(p):
    industry("C26", "化学原料和化学制品制造业")
    result = run_import("accounts", [account_row(1, industry_code="26"), account_row(2, industry_code="c31")])
    assert result.rejected == []
    assert sorted(Customer.objects.filter(name__startswith="惠州第").values_list("industry_id", flat=True)) == [
        "C26",
        "C31",
    ]


def test_an_unknown_tariff_code_is_rejected_on_its_line(p, english):
    make_tariff("GD-TOU-2P-10KV")
    rows = [account_row(1, tariff_code="GD-TOU-2P-10KV"), account_row(2, tariff_code="GD-NOWHERE")]
    result = run_import("accounts", rows)
    assert rejected_lines(result) == [3]
    assert errors_at(result, 3) == {"tariff_code": ["Unknown tariff code GD-NOWHERE."]}
    assert not ElectricityAccount.objects.filter(account_no=rows[0]["account_no"]).exists()


def test_a_tariff_code_matches_ignoring_case_and_is_stored_as_the_catalogue_spells_it(p):
    make_tariff("GD-TOU-2P-10KV")
    rows = [account_row(1, tariff_code="gd-tou-2p-10kv"), account_row(2)]
    result = run_import("accounts", rows)
    assert (result.rejected, result.created) == ([], 2)
    accounts = ElectricityAccount.objects.filter(account_no__in=[r["account_no"] for r in rows]).order_by("account_no")
    assert [a.tariff_code for a in accounts] == ["GD-TOU-2P-10KV", ""]
    assert accounts[0].tariff.name == "GD-TOU-2P-10KV 两部制"
    # The same file again, in either spelling, changes nothing.
    before = row_counts()
    for spelling in ("gd-tou-2p-10kv", "GD-TOU-2P-10KV"):
        again = run_import("accounts", [dict(rows[0], tariff_code=spelling), rows[1]])
        assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert row_counts() == before


def test_changing_or_clearing_a_tariff_code_is_an_update(p):
    make_tariff("GD-TOU-2P-10KV")
    make_tariff("GD-1P-10KV")
    row = account_row(1, tariff_code="GD-TOU-2P-10KV")
    run_import("accounts", [row])
    result = run_import("accounts", [dict(row, tariff_code="gd-1p-10kv")])
    assert result.updated == 1
    changes = [(c.field, c.old, c.new) for c in result.preview[0].changes]
    assert ("tariff_code", "GD-TOU-2P-10KV", "GD-1P-10KV") in changes
    account = ElectricityAccount.objects.get(account_no=row["account_no"])
    assert account.tariff_code == "GD-1P-10KV"
    assert account.history.order_by("-history_id").first().tariff_id == "GD-1P-10KV"
    assert run_import("accounts", [dict(row, tariff_code="")]).updated == 1
    assert ElectricityAccount.objects.get(account_no=row["account_no"]).tariff is None


@pytest.mark.parametrize("capacity", ["-5", "0", "2000001", "1e9", "abc", ""])
def test_negative_zero_absurd_or_missing_capacities_are_rejected(p, capacity):
    result = run_import("accounts", [account_row(1, capacity_kva=capacity)])
    assert list(errors_at(result, 2)) == ["capacity_kva"]


@pytest.mark.parametrize("multiplier", ["0", "-1", "x", "2000000"])
def test_multipliers_must_be_positive_and_plausible(p, multiplier):
    result = run_import("accounts", [account_row(1, multiplier=multiplier)])
    assert list(errors_at(result, 2)) == ["multiplier"]


def test_contract_demand_is_required_for_its_method_and_capped_by_capacity(p):
    rows = [
        account_row(1, basic_charge_method="contract_demand"),
        account_row(2, basic_charge_method="contract_demand", contract_demand_kw="5000"),
        account_row(3, basic_charge_method="contract_demand", contract_demand_kw="800"),
    ]
    result = run_import("accounts", rows)
    assert rejected_lines(result) == [2, 3]
    assert list(errors_at(result, 2)) == list(errors_at(result, 3)) == ["contract_demand_kw"]


def test_voltage_levels_in_their_usual_spellings(p):
    spellings = ["10", "10.0", "10kV", "0.4 kV", " 110 "]
    result = run_import("accounts", [account_row(n, voltage_kv=v) for n, v in enumerate(spellings, start=1)])
    assert result.rejected == []
    voltages = ElectricityAccount.objects.filter(account_no__startswith="07").order_by("account_no")
    assert [a.voltage_kv for a in voltages] == ["10", "10", "10", "0.4", "110"]


def test_an_unknown_voltage_level_is_rejected(p):
    result = run_import("accounts", [account_row(1, voltage_kv="12")])
    assert list(errors_at(result, 2)) == ["voltage_kv"]


def test_power_factor_supply_mode_and_charge_method_spellings(p):
    rows = [
        account_row(1, pf_standard="0.9", supply_mode="双电源"),
        account_row(2, pf_standard="none", supply_mode="多电源", basic_charge_method="按容量"),
        account_row(3, pf_standard="0.80", supply_mode="单电源", basic_charge_method="Actual_Demand"),
    ]
    assert run_import("accounts", rows).rejected == []
    accounts = ElectricityAccount.objects.filter(account_no__startswith="07").order_by("account_no")
    assert [(a.pf_standard, a.supply_mode, a.basic_charge_method) for a in accounts] == [
        ("0.90", "dual", "capacity"),
        ("none", "multiple", "capacity"),
        ("0.80", "single", "actual_demand"),
    ]


def test_one_bad_row_among_good_ones_writes_nothing(p):
    before = row_counts()
    rows = [account_row(n) for n in range(1, 6)] + [account_row(6, multiplier="0")]
    result = run_import("accounts", rows)
    assert (rejected_lines(result), result.committed) == ([7], False)
    assert (result.created, result.updated, result.unchanged, result.preview) == (0, 0, 0, [])
    assert row_counts() == before


def test_a_dry_run_reports_without_writing(p):
    before = row_counts()
    result = run_import("accounts", [account_row(1), account_row(2)], dry_run=True)
    assert (result.rejected, result.created, result.committed) == ([], 2, False)
    assert [row.action for row in result.preview] == ["create", "create"]
    assert row_counts() == before


def test_a_supervisor_imports_customers_only_within_their_unit(p, english):
    scope = import_scope_path(p.supervisor)
    result = run_import("accounts", [account_row(1), account_row(2, org_unit="ST")], scope_path=scope)
    assert rejected_lines(result) == [3]
    assert errors_at(result, 3)["org_unit"] == ["You may only import customers into your own org unit and below."]
    # Nor may they pull another unit's customer into theirs.
    moved = account_row(3, credit_code=p.b1.credit_code, customer_name=p.b1.name)
    result = run_import("accounts", [moved], scope_path=scope)
    assert errors_at(result, 2)["credit_code"] == ["This customer belongs to an org unit outside yours."]
    assert import_scope_path(p.admin) is None


# --- reading files ----------------------------------------------------------------------------


def test_header_columns_may_come_in_any_order_and_any_case(p):
    columns = list(reversed(COLUMNS["accounts"]))
    data = to_csv("accounts", [account_row(1)], columns=columns)
    header, rest = data.split(b"\r\n", 1)
    data = b" " + header.upper().replace(b",", b" , ") + b"\r\n" + rest
    assert master_data_import(kind="accounts", data=data).rejected == []


def test_a_wrong_header_is_one_error_naming_the_columns(p, english):
    columns = [*COLUMNS["accounts"][:-1], "ratio"]
    result = master_data_import(kind="accounts", data=to_csv("accounts", [account_row(1)], columns=columns))
    [rejected] = result.rejected
    assert (rejected["line"], list(rejected["errors"])) == (1, ["header"])
    message = rejected["errors"]["header"][0]
    assert "Missing: multiplier." in message
    assert "Not expected: ratio." in message


def test_a_gb18030_file_is_read(p):
    data = to_csv("accounts", [account_row(1)], encoding="gb18030")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert master_data_import(kind="accounts", data=data).created == 1
    assert Customer.objects.filter(name="惠州第1实业有限公司").exists()


def test_a_utf8_file_with_a_byte_order_mark_is_read(p):
    data = b"\xef\xbb\xbf" + to_csv("accounts", [account_row(1)])
    assert master_data_import(kind="accounts", data=data).created == 1


def test_a_file_in_another_encoding_is_rejected(p, english):
    data = to_csv("accounts", [account_row(1)]) + b"\x80\xff\r\n"
    result = master_data_import(kind="accounts", data=data)
    assert result.rejected[0]["line"] == 0
    assert result.rejected[0]["errors"]["file"][0].startswith("The file is neither UTF-8 nor GB18030")


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b"\r\n\r\n", b"  "])
def test_an_empty_file_is_rejected(p, english, data):
    result = master_data_import(kind="accounts", data=data)
    assert result.rejected == [{"line": 0, "errors": {"file": ["The file is empty."]}}]


def test_a_file_with_only_a_header_is_rejected(p, english):
    result = master_data_import(kind="accounts", data=to_csv("accounts", []) + b",,,\r\n")
    assert result.rejected == [{"line": 0, "errors": {"file": ["The file has a header but no data rows."]}}]


def test_an_excel_workbook_with_numbers_is_read(p):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(COLUMNS["accounts"])
    numbers = {"voltage_kv": 0.4, "capacity_kva": 1250.5, "multiplier": 200.0, "pf_standard": 0.85}
    sheet.append([numbers.get(c, account_row(1)[c] or None) for c in COLUMNS["accounts"]])
    sheet.append([])  # a blank row in the middle is skipped
    sheet.append([account_row(2)[c] or None for c in COLUMNS["accounts"]])
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = master_data_import(kind="accounts", data=buffer.getvalue())
    assert (result.rejected, result.created, [r.line for r in result.preview]) == ([], 2, [2, 4])
    account = ElectricityAccount.objects.get(account_no=account_row(1)["account_no"])
    assert (account.voltage_kv, account.capacity_kva, account.pf_standard) == ("0.4", Decimal("1250.50"), "0.85")


def test_a_damaged_workbook_or_an_old_xls_file_is_rejected(p, english):
    damaged = master_data_import(kind="accounts", data=b"PK\x03\x04" + b"not a workbook" * 10)
    assert damaged.rejected[0]["errors"]["file"] == ["The file could not be read as an Excel workbook (.xlsx)."]
    old = master_data_import(kind="accounts", data=XLS_MAGIC + b"\x00" * 100)
    assert ".xls" in old.rejected[0]["errors"]["file"][0]


def test_line_numbers_count_blank_lines_and_multi_line_cells(p):
    good = to_csv("accounts", [account_row(1, account_name="一厂\n二车间")]).decode()
    bad = to_csv("accounts", [account_row(2, multiplier="0")]).decode().split("\r\n", 1)[1]
    # header: line 1; the first row spans lines 2-3; line 4 is blank; the bad row is line 5.
    result = master_data_import(kind="accounts", data=(good + "\r\n" + bad).encode())
    assert rejected_lines(result) == [5]


def test_a_row_with_more_cells_than_the_header_is_rejected(p, english):
    data = to_csv("accounts", [account_row(1)]).rstrip(b"\r\n") + b",surplus\r\n"
    result = master_data_import(kind="accounts", data=data)
    assert errors_at(result, 2) == {"row": ["This row has more cells than the header has columns."]}
