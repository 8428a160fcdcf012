"""``manage.py import_billing``: the JSON document, exit statuses 0 / 1 / 2, dry run, the --user scope."""

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from gridkam.billing.models import Bill, BillingImport

from .test_import_fixtures import DATA, chem_row, sample_accounts, steel_row, to_csv

pytestmark = pytest.mark.django_db
KEYS = [
    "kind",
    "file_name",
    "file_sha256",
    "rows",
    "created",
    "unchanged",
    "usage_created",
    "rejected",
    "committed",
    "import",
    "ignored_columns",
]


@pytest.fixture
def acc(p):
    return sample_accounts(p)


def call(*args: str) -> tuple[str, int]:
    out = io.StringIO()
    try:
        with translation.override("en"):
            call_command("import_billing", *args, stdout=out, stderr=io.StringIO())
    except CommandError as exc:
        return out.getvalue(), exc.returncode
    return out.getvalue(), 0


def test_json_is_one_document_and_the_status_0(acc):
    out, status = call("--kind", "bills", str(DATA / "bills.csv"), "--json")
    document = json.loads(out)
    assert status == 0
    assert list(document) == KEYS
    assert (document["created"], document["usage_created"], document["committed"]) == (2, 2, True)
    assert document["ignored_columns"] == ["户名"]
    assert BillingImport.objects.get().created_by is None


def test_a_rejected_file_exits_1_and_writes_nothing(acc, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(to_csv([steel_row(), chem_row(total="0.01")]))
    out, status = call("--kind", "bills", str(path), "--json")
    assert status == 1
    assert json.loads(out)["rejected"][0]["line"] == 3
    assert not Bill.objects.exists()
    out, status = call("--kind", "bills", str(path))
    assert status == 1
    assert "line 3" in out and "应收电费" in out


def test_a_dry_run_writes_nothing(acc):
    out, status = call("--kind", "payments", str(DATA / "payments.csv"), "--dry-run")
    assert status == 0
    assert "4 created" in out
    assert not BillingImport.objects.exists()


@pytest.mark.parametrize(
    "args",
    [
        ("--kind", "readings", "x.csv"),
        ("--kind", "bills", "/nonexistent/bills.csv"),
        ("--kind", "bills", "--user", "nobody", "bills.csv"),
    ],
)
def test_usage_errors_exit_2(acc, args):
    assert call(*args)[1] == 2


def test_with_a_user_only_their_accounts_are_known(p, acc):
    out, status = call("--kind", "bills", str(DATA / "bills.csv"), "--json", "--user", "clerk_b")
    assert status == 1
    assert {r["line"] for r in json.loads(out)["rejected"]} == {2, 3}
