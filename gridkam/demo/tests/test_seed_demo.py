"""seed_demo, demo_logins and the demo exporter."""

import csv
import io
import json
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db.models import F

from gridkam.customers.choices import AssignmentRole, ImportanceClass
from gridkam.customers.models import AccountAssignment, Contact, Customer, ElectricityAccount, MeteringPoint
from gridkam.customers.services import customer_supply_gaps, customers_recompute_tiers
from gridkam.customers.validators import validate_credit_code
from gridkam.demo.exporting import ACCOUNT_COLUMNS, account_rows_from_db, account_rows_from_demo, write_accounts_csv
from gridkam.demo.generator import CAPACITY_RANGE_KVA, generate
from gridkam.demo.services import DEMO_PASSWORD
from gridkam.users.choices import Role
from gridkam.users.models import User


def seed(*args: str) -> dict:
    out = io.StringIO()
    # Interval data has a test of its own (test_demo_readings.py); a year of it per call would be slow here.
    readings = () if "--readings-accounts" in args else ("--readings-accounts", "0")
    # Likewise the bill history (test_demo_billing.py).
    billing = () if "--billing-months" in args else ("--billing-months", "0")
    # And the service plans and requests (test_demo_service.py).
    service = () if "--service-requests" in args else ("--no-plans", "--service-requests", "0")
    # And the grid and safety parts, which change accounts the generator made (test_seed_demo_grid.py).
    call_command(
        "seed_demo", *args, *readings, *billing, *service, "--no-grid", "--json", stdout=out, stderr=io.StringIO()
    )
    return json.loads(out.getvalue())


def fingerprint(data) -> list[tuple]:
    return [
        (c.name, c.credit_code, tuple((a.account_no, tuple(p.meter_no for p in a.points)) for a in c.accounts))
        for c in data.customers
    ]


# --- the generator, without a database ---------------------------------------------------------


def test_same_seed_gives_the_same_utility():
    first, again = generate(accounts=120, seed=7), generate(accounts=120, seed=7)
    assert fingerprint(first) == fingerprint(again)
    assert [(s.username, s.display_name) for s in first.staff] == [(s.username, s.display_name) for s in again.staff]


def test_another_seed_gives_other_names_and_codes():
    one, other = generate(accounts=120, seed=7), generate(accounts=120, seed=8)
    # Brands are two characters from a short list, so a few names may meet by chance.
    assert len({c.name for c in one.customers} & {c.name for c in other.customers}) < 6
    assert {c.credit_code for c in one.customers}.isdisjoint(c.credit_code for c in other.customers)
    assert fingerprint(one) != fingerprint(other)


def test_identifiers_stay_unique_at_scale():
    data = generate(accounts=3000, seed=3)
    accounts = [a for c in data.customers for a in c.accounts]
    points = [p for a in accounts for p in a.points]
    assert len({c.name for c in data.customers}) == 3000
    assert len({c.credit_code for c in data.customers}) == 3000
    assert len({a.account_no for a in accounts}) == len(accounts)
    assert len({p.meter_no for p in points}) == len(points)
    assert len({p.code for p in points}) == len(points)


def test_electrical_figures_are_plausible():
    data = generate(accounts=1000, seed=4)
    for customer in data.customers:
        for account in customer.accounts:
            low, high = CAPACITY_RANGE_KVA[account.voltage_kv]
            assert low <= account.capacity_kva <= high
            if account.contract_demand_kw is not None:
                assert 0.4 * account.capacity_kva - 10 <= account.contract_demand_kw <= account.capacity_kva
            for point in account.points:
                assert point.multiplier == point.ct_ratio * point.pt_ratio
            # Energy follows capacity: never more than running flat out all year.
            assert account.annual_energy_mwh <= Decimal(account.capacity_kva) * Decimal("8.76")
    voltages = {a.voltage_kv for c in data.customers for a in c.accounts}
    assert {"10", "35", "110", "220"} <= voltages


# --- seed_demo into the database ---------------------------------------------------------------


@pytest.mark.django_db
def test_seed_creates_the_requested_number_of_key_accounts():
    summary = seed("--accounts", "50", "--seed", "11")
    assert summary["created"]["customers"] == Customer.objects.count() == 50
    assert 50 <= ElectricityAccount.objects.count() <= 150
    assert MeteringPoint.objects.count() >= ElectricityAccount.objects.count()
    assert 100 <= Contact.objects.count() <= 200
    assert Customer.objects.filter(parent__isnull=False).exists(), "a group with subsidiaries"


@pytest.mark.django_db
def test_database_holds_exactly_what_the_generator_makes_for_the_seed():
    seed("--accounts", "50", "--seed", "11")
    expected = generate(accounts=50, seed=11)
    assert set(Customer.objects.values_list("name", "credit_code")) == {
        (c.name, c.credit_code) for c in expected.customers
    }
    assert set(MeteringPoint.objects.values_list("meter_no", flat=True)) == {
        p.meter_no for c in expected.customers for a in c.accounts for p in a.points
    }


@pytest.mark.django_db
def test_every_row_passes_model_validation():
    seed("--accounts", "50", "--seed", "12")
    for model in (Customer, ElectricityAccount, MeteringPoint, Contact, AccountAssignment, User):
        for obj in model.objects.all():
            obj.full_clean()
    for code in Customer.objects.values_list("credit_code", flat=True):
        validate_credit_code(code)


@pytest.mark.django_db
def test_every_customer_has_a_manager_and_engineer_from_its_city():
    seed("--accounts", "50", "--seed", "13")
    current = AccountAssignment.objects.current().select_related("user__org_unit", "customer__org_unit")
    by_customer: dict[int, dict[str, AccountAssignment]] = {}
    for assignment in current:
        by_customer.setdefault(assignment.customer_id, {})[assignment.role] = assignment
    assert len(by_customer) == 50
    for roles in by_customer.values():
        manager = roles[AssignmentRole.MANAGER]
        assert AssignmentRole.FIELD_ENGINEER in roles
        assert manager.user.role == Role.ACCOUNT_MANAGER
        city = manager.customer.org_unit.path.split("/")[2]
        assert manager.user.org_unit.path.split("/")[2] == city


@pytest.mark.django_db
def test_tiers_are_the_tier_rules_result():
    seed("--accounts", "50", "--seed", "14")
    assert customers_recompute_tiers() == 0
    assert not Customer.objects.exclude(tier=F("tier_computed")).exists()
    assert Customer.objects.values("tier").distinct().count() >= 3


@pytest.mark.django_db
def test_some_important_users_have_supply_gaps_on_purpose():
    seed("--accounts", "50", "--seed", "15")
    important = Customer.objects.exclude(importance_class=ImportanceClass.NONE).prefetch_related("accounts")
    gaps = {c.name: customer_supply_gaps(c) for c in important}
    assert any(gaps.values())
    assert not all(gaps.values()), "most important users are properly supplied"


@pytest.mark.django_db
def test_if_empty_does_nothing_the_second_time():
    seed("--accounts", "20", "--if-empty")
    customers = set(Customer.objects.values_list("pk", flat=True))
    summary = seed("--accounts", "20", "--if-empty")
    assert summary["skipped"] is True
    assert set(Customer.objects.values_list("pk", flat=True)) == customers


@pytest.mark.django_db
def test_a_second_seed_adds_without_clashing_and_reuses_staff():
    seed("--accounts", "20", "--seed", "1")
    staff = set(User.objects.exclude(role=Role.CUSTOMER_USER).values_list("pk", flat=True))
    summary = seed("--accounts", "20", "--seed", "1")
    assert Customer.objects.count() == 40
    assert Customer.objects.values("name").distinct().count() == 40
    # Same seed, same staff: nobody is created twice.
    assert summary["created"]["staff"] == 0
    assert set(User.objects.exclude(role=Role.CUSTOMER_USER).values_list("pk", flat=True)) == staff


@pytest.mark.django_db
def test_demo_users_share_the_demo_password_and_a_portal_user_sees_a_group():
    seed("--accounts", "50", "--seed", "16")
    assert all(u.check_password(DEMO_PASSWORD) for u in User.objects.all())
    portal = User.objects.get(username="customer1")
    assert portal.customer.subsidiaries.exists()


def test_bad_account_count_is_a_usage_error():
    with pytest.raises(CommandError) as error:
        call_command("seed_demo", "--accounts", "0")
    assert error.value.returncode == 2


# --- demo_logins ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_demo_logins_prints_one_login_per_role_and_the_password():
    seed("--accounts", "20")
    out = io.StringIO()
    call_command("demo_logins", stdout=out)
    text = out.getvalue()
    for label in ("Administrator", "Supervisor", "Account manager", "Field engineer", "Billing clerk", "Customer user"):
        assert label in text
    for username in ("admin", "gd_supervisor", "hz_manager1", "hz_engineer1", "hz_clerk", "customer1"):
        assert f" {username} " in text
    assert DEMO_PASSWORD in text
    assert "http://127.0.0.1:8000" in text


@pytest.mark.django_db
def test_demo_logins_reads_the_database_and_flags_a_changed_password():
    seed("--accounts", "20")
    admin = User.objects.get(username="admin")
    admin.set_password("Something-else-entirely")
    admin.save()
    out = io.StringIO()
    call_command("demo_logins", "--json", stdout=out)
    logins = {login["role"]: login for login in json.loads(out.getvalue())["logins"]}
    assert len(logins) == 6
    assert logins["administrator"]["demo_password"] is False
    assert logins["supervisor"]["username"] == "gd_supervisor" and logins["supervisor"]["demo_password"]


@pytest.mark.django_db
def test_demo_logins_on_an_empty_database_says_how_to_seed():
    out = io.StringIO()
    call_command("demo_logins", stdout=out)
    assert "seed_demo" in out.getvalue()


# --- the exporter --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_accounts_file_from_the_database_has_one_row_per_metering_point(tmp_path):
    seed("--accounts", "30", "--seed", "17")
    path = tmp_path / "accounts.csv"
    assert write_accounts_csv(path, account_rows_from_db()) == MeteringPoint.objects.count()
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == ACCOUNT_COLUMNS
    point = MeteringPoint.objects.select_related("account__customer").get(code=rows[0]["metering_point"])
    assert rows[0]["credit_code"] == point.account.customer.credit_code
    assert Decimal(rows[0]["multiplier"]) == point.multiplier


@pytest.mark.django_db
def test_accounts_file_from_the_generator_matches_the_one_from_the_database(tmp_path):
    seed("--accounts", "30", "--seed", "18")
    from_db, from_demo = tmp_path / "db.csv", tmp_path / "demo.csv"
    write_accounts_csv(from_db, account_rows_from_db())
    write_accounts_csv(from_demo, account_rows_from_demo(generate(accounts=30, seed=18)))
    assert from_db.read_text(encoding="utf-8") == from_demo.read_text(encoding="utf-8")


def test_accounts_file_can_be_cut_to_a_row_count(tmp_path):
    data = generate(accounts=40, seed=19)
    assert write_accounts_csv(tmp_path / "a.csv", account_rows_from_demo(data), limit=25) == 25
    assert len((tmp_path / "a.csv").read_text(encoding="utf-8").splitlines()) == 26
