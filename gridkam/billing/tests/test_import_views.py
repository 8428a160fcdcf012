"""The billing-system import pages: who may use them, upload → preview → confirm, the waiting file, the list."""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from gridkam.billing.import_views import SESSION_KEY
from gridkam.billing.imports import billing_import
from gridkam.billing.models import Bill, BillingImport

from .test_import_fixtures import DATA, chem_row, sample_accounts, steel_row, to_csv

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"
    return settings.DATA_DIR


@pytest.fixture
def acc(p):
    return sample_accounts(p)


def upload(client, data: bytes, *, kind: str = "bills", name: str = "bills.csv"):
    return client.post(reverse("billing:import_list"), {"kind": kind, "file": SimpleUploadedFile(name, data)})


def waiting(data_dir) -> list[Path]:
    folder = Path(data_dir) / "pending" / "billing"
    return sorted(folder.iterdir()) if folder.is_dir() else []


def confirm(client):
    return client.post(reverse("billing:import_confirm"), {"preview": client.session[SESSION_KEY]["nonce"]})


def test_anonymous_users_are_sent_to_log_in(client):
    login = reverse("login")
    for url in (reverse("billing:import_list"), reverse("billing:import_preview"), reverse("billing:reconcile")):
        assert client.get(url).url.startswith(login)
    assert client.post(reverse("billing:import_confirm")).url.startswith(login)


@pytest.mark.parametrize("persona", ["manager", "colleague", "engineer", "outsider", "customer_user"])
def test_roles_that_do_not_bill_are_forbidden(p, acc, client_for, persona):
    client = client_for(getattr(p, persona))
    assert client.get(reverse("billing:import_list")).status_code == 403
    assert upload(client, to_csv([steel_row()])).status_code == 403
    assert client.get(reverse("billing:import_preview")).status_code == 403
    assert client.post(reverse("billing:import_confirm")).status_code == 403
    assert client.post(reverse("billing:import_cancel")).status_code == 403
    assert client.get(reverse("billing:import_sample", args=["bills.csv"])).status_code == 403
    assert not Bill.objects.exists()


@pytest.mark.parametrize("persona", ["clerk", "supervisor", "admin"])
def test_billing_roles_see_the_page_with_columns_and_samples(p, client_for, persona):
    page = client_for(getattr(p, persona)).get(reverse("billing:import_list"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "应收电费" in html and "流水号" in html
    assert reverse("billing:import_sample", args=["bills.xlsx"]) in html


def test_a_clerk_uploads_previews_and_confirms(p, acc, client_for, data_dir):
    client = client_for(p.clerk)
    response = upload(client, (DATA / "bills.csv").read_bytes())
    assert (response.status_code, response.url) == (302, reverse("billing:import_preview"))
    assert len(waiting(data_dir)) == 1

    preview = client.get(reverse("billing:import_preview"))
    assert preview.status_code == 200
    html = preview.content.decode()
    assert 'data-testid="preview-table"' in html
    assert "HZ202507000101" in html
    assert not Bill.objects.exists()  # a preview writes nothing

    response = confirm(client)
    assert (response.status_code, response.url) == (302, reverse("billing:import_list"))
    assert Bill.objects.count() == 2
    assert waiting(data_dir) == []
    record = BillingImport.objects.get()
    assert (record.file_name, record.created_by) == ("bills.csv", p.clerk)
    listing = client.get(reverse("billing:import_list")).content.decode()
    assert "bills.csv" in listing


def test_a_rejected_file_lists_every_line_and_offers_no_confirmation(p, acc, client_for):
    client = client_for(p.clerk)
    upload(client, to_csv([steel_row(), chem_row(total="1.00"), chem_row(account_no="0999999999", bill_no="Z")]))
    html = client.get(reverse("billing:import_preview")).content.decode()
    assert 'data-testid="rejected-table"' in html
    assert 'data-testid="import-confirm"' not in html
    assert "应收电费" in html and "户号" in html  # the file's own headers
    assert ">3<" in html and ">4<" in html


def test_confirming_an_old_preview_is_refused(p, acc, client_for):
    client = client_for(p.clerk)
    upload(client, to_csv([steel_row()]))
    response = client.post(reverse("billing:import_confirm"), {"preview": "stale"})
    assert response.url == reverse("billing:import_preview")
    assert not Bill.objects.exists()


def test_data_changed_since_the_preview_is_caught_on_confirming(p, acc, client_for):
    client = client_for(p.clerk)
    upload(client, to_csv([steel_row()]))
    Bill.objects.create(account=acc.steel, period=steel_row()["period"] + "-01", number="OTHER", source="imported")
    response = confirm(client)
    assert response.status_code == 200
    assert 'data-testid="import-changed"' in response.content.decode()
    assert Bill.objects.count() == 1


def test_cancelling_deletes_the_waiting_file(p, acc, client_for, data_dir):
    client = client_for(p.clerk)
    upload(client, to_csv([steel_row()]))
    assert client.post(reverse("billing:import_cancel")).url == reverse("billing:import_list")
    assert waiting(data_dir) == []
    assert SESSION_KEY not in client.session


def test_a_wrong_file_type_is_a_form_error(p, client_for):
    response = upload(client_for(p.clerk), b"%PDF", name="bills.pdf")
    assert response.status_code == 400
    assert 'data-testid="file-error"' in response.content.decode()


def test_sample_files_download(p, client_for):
    client = client_for(p.clerk)
    response = client.get(reverse("billing:import_sample", args=["payments.xlsx"]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == (DATA / "payments.xlsx").read_bytes()
    assert client.get(reverse("billing:import_sample", args=["..%2Fimports.py"])).status_code == 404


def test_the_list_shows_the_imports_of_the_own_unit_only(p, acc, client_for):
    billing_import(kind="bills", data=to_csv([steel_row()]), file_name="city-a.csv", user=p.clerk)
    billing_import(
        kind="bills",
        data=to_csv([steel_row(account_no="0930000201", bill_no="B")]),
        file_name="city-b.csv",
        user=acc.clerk_b,
    )
    html = client_for(acc.clerk_b).get(reverse("billing:import_list")).content.decode()
    assert "city-b.csv" in html and "city-a.csv" not in html
    html = client_for(p.admin).get(reverse("billing:import_list")).content.decode()
    assert "city-b.csv" in html and "city-a.csv" in html


def test_the_list_takes_the_same_queries_for_2_and_20_imports(p, acc, client_for, django_assert_num_queries):
    client = client_for(p.clerk)
    for n in range(2):
        billing_import(kind="bills", data=to_csv([steel_row()]), file_name=f"f{n}.csv", user=p.clerk)
    client.get(reverse("billing:import_list"))
    with CaptureQueriesContext(connection) as two:
        client.get(reverse("billing:import_list"))
    for n in range(18):
        billing_import(kind="bills", data=to_csv([steel_row()]), file_name=f"g{n}.csv", user=p.clerk)
    with django_assert_num_queries(len(two.captured_queries)):
        client.get(reverse("billing:import_list"))
