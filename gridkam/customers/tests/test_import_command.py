"""``manage.py import_master``: the JSON contract, exit statuses, human output; and the import's query count.

Exit statuses are read without a subprocess: through ``call_command`` a non-zero status is the
``returncode`` of the ``CommandError`` raised, and through ``execute_from_command_line`` (the
code path of ``manage.py``) it is the ``SystemExit`` code.
"""

import io
import json

import pytest
from django.core.management import call_command, execute_from_command_line
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from gridkam.customers.models import Customer, ElectricityAccount

from .import_helpers import account_row, contact_row, run_import, to_csv

EXPECTED_KEYS = ["kind", "rows", "created", "updated", "unchanged", "rejected", "committed"]


def call(*args: str) -> tuple[str, int, str]:
    """stdout, exit status and error message of one run."""
    out = io.StringIO()
    try:
        with translation.override("en"):
            call_command("import_master", *args, stdout=out, stderr=io.StringIO())
    except CommandError as exc:
        return out.getvalue(), exc.returncode, str(exc)
    return out.getvalue(), 0, ""


@pytest.fixture
def accounts_file(tmp_path):
    path = tmp_path / "accounts.csv"
    path.write_bytes(to_csv("accounts", [account_row(1), account_row(2)]))
    return path


@pytest.fixture
def bad_accounts_file(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(to_csv("accounts", [account_row(1), account_row(2, multiplier="0")]))
    return path


@pytest.mark.django_db
def test_json_output_is_one_document_with_the_contract_keys(p, accounts_file):
    out, status, _message = call(str(accounts_file), "--kind", "accounts", "--json")
    document = json.loads(out)
    assert status == 0
    assert list(document) == EXPECTED_KEYS
    assert document == {
        "kind": "accounts",
        "rows": 2,
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "rejected": [],
        "committed": True,
    }


@pytest.mark.django_db
def test_rejected_input_exits_1_lists_the_lines_and_writes_nothing(p, bad_accounts_file):
    before = Customer.objects.count()
    out, status, message = call(str(bad_accounts_file), "--kind", "accounts", "--json")
    document = json.loads(out)
    assert (status, document["committed"], document["created"]) == (1, False, 0)
    assert [(r["line"], list(r["errors"])) for r in document["rejected"]] == [(3, ["multiplier"])]
    assert message == "1 line rejected; nothing was written."
    assert Customer.objects.count() == before


@pytest.mark.django_db
def test_a_dry_run_exits_0_and_writes_nothing(p, accounts_file):
    before = ElectricityAccount.objects.count()
    out, status, _message = call(str(accounts_file), "--kind", "accounts", "--dry-run", "--json")
    assert (status, json.loads(out)["created"], json.loads(out)["committed"]) == (0, 2, False)
    assert ElectricityAccount.objects.count() == before
    out, status, _message = call(str(accounts_file), "--kind", "accounts", "--dry-run")
    assert "Dry run: nothing was written." in out


@pytest.mark.django_db
def test_human_output_has_a_summary_or_every_rejected_line(p, accounts_file, bad_accounts_file):
    out, status, _message = call(str(accounts_file), "--kind", "accounts")
    assert (status, out.strip()) == (0, "accounts.csv: 2 rows, 2 created, 0 updated, 0 unchanged.")
    out, status, _message = call(str(bad_accounts_file), "--kind", "accounts")
    assert status == 1
    assert "bad.csv: rejected, nothing was written." in out
    assert "line 3, multiplier: " in out


@pytest.mark.django_db
def test_the_user_option_records_the_author_in_the_history(p, accounts_file):
    assert call(str(accounts_file), "--kind", "accounts", "--user", p.admin.username)[1] == 0
    customer = Customer.objects.get(credit_code=account_row(1)["credit_code"])
    assert customer.history.get().history_user == p.admin


@pytest.mark.django_db
def test_usage_errors_exit_2(accounts_file, tmp_path):
    assert call(str(accounts_file), "--kind", "meters")[1:] == (
        2,
        "Unknown kind meters; use one of org_units, accounts, contacts, monthly_usage.",
    )
    assert call(str(tmp_path / "missing.csv"), "--kind", "accounts")[1] == 2
    assert call(str(accounts_file), "--kind", "accounts", "--user", "nobody")[1:] == (2, "No user nobody.")


def test_manage_py_exits_with_the_contract_statuses(accounts_file, tmp_path, capsys):
    """The statuses a shell sees. None of these cases reaches the database."""
    header_only = tmp_path / "wrong.csv"
    header_only.write_bytes(b"code,name\r\nGD,Guangdong\r\n")
    cases = [
        (["import_master"], 2),  # argparse: FILE and --kind missing
        (["import_master", str(accounts_file), "--kind", "meters"], 2),
        (["import_master", str(tmp_path / "missing.csv"), "--kind", "accounts"], 2),
        (["import_master", str(header_only), "--kind", "org_units", "--json"], 1),
    ]
    for argv, status in cases:
        with pytest.raises(SystemExit) as exit_info:
            execute_from_command_line(["manage.py", *argv])
        assert exit_info.value.code == status, argv
    document = json.loads(capsys.readouterr().out)
    assert document["rejected"][0]["line"] == 1
    assert list(document["rejected"][0]["errors"]) == ["header"]


# --- no per-row queries -----------------------------------------------------------------------


def count_queries(kind: str, rows: list[dict[str, str]]) -> int:
    with CaptureQueriesContext(connection) as queries:
        result = run_import(kind, rows)
    assert result.rejected == []
    return len(queries.captured_queries)


@pytest.mark.django_db
def test_importing_2_or_20_rows_takes_the_same_number_of_queries(p):
    # New customers, accounts and points...
    assert count_queries("accounts", [account_row(n) for n in range(1, 3)]) == count_queries(
        "accounts", [account_row(n) for n in range(101, 121)]
    )
    # ...changes to existing ones...
    assert count_queries("accounts", [account_row(n, capacity_kva="3200") for n in range(1, 3)]) == count_queries(
        "accounts", [account_row(n, capacity_kva="3200") for n in range(101, 121)]
    )
    # ...and contacts and units.
    two = [contact_row(account_row(n)["credit_code"], f"联系人{n}") for n in range(1, 3)]
    twenty = [contact_row(account_row(n)["credit_code"], f"联系人{n}") for n in range(101, 121)]
    assert count_queries("contacts", two) == count_queries("contacts", twenty)
    two = [{"code": f"HZ-{n}", "name": f"供电所{n}", "parent_code": "HZ"} for n in range(2)]
    twenty = [{"code": f"ST-{n}", "name": f"供电所{n}", "parent_code": "ST"} for n in range(20)]
    assert count_queries("org_units", two) == count_queries("org_units", twenty)
