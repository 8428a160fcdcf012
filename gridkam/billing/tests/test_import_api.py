"""``/api/v1/billing-imports/``: multipart POST (201, 200 dry run, 400 rejected), list and retrieve, access."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from gridkam.billing.imports import billing_import
from gridkam.billing.models import Bill, BillingImport, Payment

from .test_import_fixtures import DATA, chem_row, sample_accounts, steel_row, to_csv

pytestmark = pytest.mark.django_db
URL = "/api/v1/billing-imports/"


@pytest.fixture
def acc(p):
    return sample_accounts(p)


def post(client, data: bytes, *, kind: str = "bills", name: str = "bills.csv", **extra):
    return client.post(URL, {"kind": kind, "file": SimpleUploadedFile(name, data), **extra}, format="multipart")


def test_a_clerk_imports_bills_and_gets_the_counts(p, acc, api):
    response = post(api(p.clerk), (DATA / "bills.csv").read_bytes())
    assert response.status_code == 201
    body = response.json()
    assert (body["kind"], body["rows"], body["created"], body["unchanged"], body["committed"]) == (
        "bills",
        2,
        2,
        0,
        True,
    )
    assert body["import"] == BillingImport.objects.get().pk
    assert Bill.objects.count() == 2


def test_a_dry_run_answers_200_and_writes_nothing(p, acc, api):
    response = post(api(p.clerk), to_csv([steel_row()]), dry_run="true")
    assert response.status_code == 200
    assert (response.json()["created"], response.json()["committed"]) == (1, False)
    assert not Bill.objects.exists()


def test_a_rejected_file_answers_400_with_every_rejected_row(p, acc, api):
    response = post(api(p.clerk), to_csv([steel_row(), chem_row(total="9"), chem_row(bill_no="Y", period="x")]))
    assert response.status_code == 400
    body = response.json()
    assert body["detail"] and list(body["errors"]) == ["file"]
    assert [(r["line"], list(r["errors"])) for r in body["rejected"]] == [(3, ["total"]), (4, ["period"])]
    assert not Bill.objects.exists()


def test_payments_import_through_the_api(p, acc, api):
    assert post(api(p.clerk), to_csv([steel_row(), chem_row()])).status_code == 201
    response = post(api(p.clerk), (DATA / "payments.xlsx").read_bytes(), kind="payments", name="payments.xlsx")
    assert response.status_code == 201
    assert Payment.objects.count() == 4


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"kind": "bills"}, "file"),
        ({"kind": "readings", "file": SimpleUploadedFile("a.csv", b"x")}, "kind"),
        ({"kind": "bills", "file": SimpleUploadedFile("a.pdf", b"x")}, "file"),
    ],
)
def test_a_bad_request_names_the_field(p, api, fields, field):
    response = api(p.clerk).post(URL, fields, format="multipart")
    assert response.status_code == 400
    assert field in response.json()["errors"]


@pytest.mark.parametrize("persona", ["manager", "engineer", "outsider", "customer_user"])
def test_roles_that_do_not_bill_are_refused(p, acc, api, persona):
    client = api(getattr(p, persona))
    assert post(client, to_csv([steel_row()])).status_code == 403
    assert client.get(URL).status_code == 403
    assert not Bill.objects.exists()


def test_anonymous_is_refused(api):
    assert api(None).get(URL).status_code in (401, 403)


def test_the_list_and_the_detail_follow_the_units(p, acc, api):
    mine = billing_import(kind="bills", data=to_csv([steel_row()]), file_name="a.csv", user=p.clerk).import_id
    billing_import(
        kind="bills",
        data=to_csv([steel_row(account_no="0930000201", bill_no="B")]),
        file_name="b.csv",
        user=acc.clerk_b,
    )
    body = api(p.clerk).get(URL).json()
    assert [row["file_name"] for row in body["results"]] == ["a.csv"]
    detail = api(p.clerk).get(f"{URL}{mine}/").json()
    assert (detail["kind"], detail["created"], detail["created_by"]) == ("bills", 1, str(p.clerk))
    assert api(acc.clerk_b).get(f"{URL}{mine}/").status_code == 404
    assert api(p.admin).get(URL).json()["count"] == 2
