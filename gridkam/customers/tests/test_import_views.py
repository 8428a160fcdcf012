"""The web import: who may use it, upload → preview → confirm, and the life of the uploaded file."""

import os
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from gridkam.core.testing import make_user
from gridkam.customers.import_views import SESSION_KEY
from gridkam.customers.models import Customer
from gridkam.users.choices import Role

from .import_helpers import account_row, run_import, to_csv

pytestmark = pytest.mark.django_db

SAMPLES = Path(settings.BASE_DIR) / "docs" / "samples"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def upload(client, data: bytes, *, kind: str = "accounts", name: str = "accounts.csv"):
    return client.post(reverse("customers:import"), {"kind": kind, "file": SimpleUploadedFile(name, data)})


def stored_files(media) -> list[Path]:
    folder = Path(media) / "imports"
    return sorted(folder.iterdir()) if folder.is_dir() else []


def confirm(client, **extra):
    return client.post(reverse("customers:import_confirm"), {"preview": client.session[SESSION_KEY]["nonce"]}, **extra)


# --- access -------------------------------------------------------------------------------------


def test_anonymous_users_are_sent_to_log_in(client):
    login = reverse("login")
    for url in (reverse("customers:import"), reverse("customers:import_preview")):
        assert client.get(url).url.startswith(login)
    for url in (reverse("customers:import_confirm"), reverse("customers:import_cancel")):
        assert client.post(url).url.startswith(login)
    assert client.get(reverse("customers:import_sample", args=["accounts.csv"])).url.startswith(login)


@pytest.mark.parametrize("persona", ["manager", "colleague", "engineer", "clerk", "outsider", "customer_user"])
def test_other_roles_are_forbidden(p, client_for, persona):
    client = client_for(getattr(p, persona))
    assert client.get(reverse("customers:import")).status_code == 403
    assert upload(client, to_csv("accounts", [account_row(1)])).status_code == 403
    assert client.get(reverse("customers:import_preview")).status_code == 403
    assert client.post(reverse("customers:import_confirm")).status_code == 403
    assert client.post(reverse("customers:import_cancel")).status_code == 403
    assert client.get(reverse("customers:import_sample", args=["accounts.csv"])).status_code == 403
    assert not Customer.objects.filter(credit_code=account_row(1)["credit_code"]).exists()


# --- the flow -----------------------------------------------------------------------------------


def test_a_supervisor_uploads_previews_and_confirms(p, client_for, media):
    client = client_for(p.supervisor)
    page = client.get(reverse("customers:import"))
    assert page.status_code == 200
    assert reverse("customers:import_sample", args=["accounts.xlsx"]) in page.content.decode()

    response = upload(client, to_csv("accounts", [account_row(1), account_row(2)]))
    assert (response.status_code, response.url) == (302, reverse("customers:import_preview"))
    [stored] = stored_files(media)
    assert stored.suffix == ".csv"

    preview = client.get(reverse("customers:import_preview"))
    content = preview.content.decode()
    assert preview.status_code == 200
    assert 'data-testid="preview-table"' in content and 'data-testid="import-confirm"' in content
    assert client.session[SESSION_KEY]["token"] not in content  # the file's name stays on the server
    assert not Customer.objects.filter(credit_code=account_row(1)["credit_code"]).exists()

    done = confirm(client, follow=True)
    assert done.redirect_chain == [(reverse("customers:import"), 302)]
    customer = Customer.objects.get(credit_code=account_row(1)["credit_code"])
    assert customer.history.get().history_user == p.supervisor
    assert stored_files(media) == []
    assert SESSION_KEY not in client.session
    assert any("accounts.csv" in str(m) for m in done.context["messages"])


def test_a_supervisor_cannot_import_into_another_citys_unit(p, client_for):
    supervisor_b = make_user("supervisor_b", role=Role.SUPERVISOR, org_unit=p.city_b)
    client = client_for(supervisor_b)
    upload(client, to_csv("accounts", [account_row(1)]))  # unit HZ, in city A
    content = client.get(reverse("customers:import_preview")).content.decode()
    assert 'data-testid="rejected-table"' in content
    assert 'data-testid="import-confirm"' not in content
    # Posting the confirmation anyway re-validates and writes nothing.
    assert confirm(client).status_code == 200
    assert not Customer.objects.filter(credit_code=account_row(1)["credit_code"]).exists()


def test_an_administrator_imports_anywhere(p, client_for):
    client = client_for(p.admin)
    upload(client, to_csv("accounts", [account_row(1, org_unit="ST")]))
    assert 'data-testid="import-confirm"' in client.get(reverse("customers:import_preview")).content.decode()
    assert confirm(client).status_code == 302
    assert Customer.objects.get(credit_code=account_row(1)["credit_code"]).org_unit == p.city_b


def test_the_preview_shows_at_most_200_rows(p, client_for):
    client = client_for(p.supervisor)
    upload(client, to_csv("accounts", [account_row(n) for n in range(1, 251)]))
    response = client.get(reverse("customers:import_preview"))
    assert response.context["result"].created == 250
    assert response.content.decode().count("· MPI") == 200


def test_changes_since_the_preview_are_caught_on_confirm(p, client_for, media):
    client = client_for(p.supervisor)
    row = account_row(1)
    upload(client, to_csv("accounts", [row]))
    assert 'data-testid="import-confirm"' in client.get(reverse("customers:import_preview")).content.decode()
    # Meanwhile someone else gives the same meter to another customer's point.
    assert run_import("accounts", [account_row(2, meter_no=row["meter_no"])]).committed
    response = confirm(client)
    assert response.status_code == 200
    assert 'data-testid="import-changed"' in response.content.decode()
    assert not Customer.objects.filter(credit_code=row["credit_code"]).exists()
    assert len(stored_files(media)) == 1  # kept: the user may fix the data and confirm again


def test_a_preview_replaced_by_a_newer_upload_cannot_be_confirmed(p, client_for, media):
    client = client_for(p.supervisor)
    upload(client, to_csv("accounts", [account_row(1)]))
    first_nonce = client.session[SESSION_KEY]["nonce"]
    upload(client, to_csv("accounts", [account_row(2)]))
    assert len(stored_files(media)) == 1  # the first upload was deleted
    response = client.post(reverse("customers:import_confirm"), {"preview": first_nonce})
    assert response.url == reverse("customers:import_preview")
    assert not Customer.objects.filter(credit_code__in=[account_row(n)["credit_code"] for n in (1, 2)]).exists()


def test_cancelling_deletes_the_uploaded_file(p, client_for, media):
    client = client_for(p.supervisor)
    upload(client, to_csv("accounts", [account_row(1)]))
    assert client.post(reverse("customers:import_cancel")).url == reverse("customers:import")
    assert stored_files(media) == []
    assert SESSION_KEY not in client.session
    assert client.get(reverse("customers:import_preview")).url == reverse("customers:import")


def test_a_vanished_or_forged_upload_sends_back_to_the_form(p, client_for, media):
    client = client_for(p.supervisor)
    upload(client, to_csv("accounts", [account_row(1)]))
    for path in stored_files(media):
        path.unlink()
    assert client.get(reverse("customers:import_preview")).url == reverse("customers:import")
    session = client.session
    forged = {"token": "../../config/settings", "suffix": ".py", "kind": "accounts", "name": "x", "nonce": "x"}
    session[SESSION_KEY] = forged
    session.save()
    assert client.get(reverse("customers:import_preview")).url == reverse("customers:import")
    assert client.post(reverse("customers:import_confirm"), {"preview": "x"}).url == reverse("customers:import")


def test_uploads_left_for_a_day_are_swept(p, client_for, media):
    folder = Path(media) / "imports"
    folder.mkdir(parents=True)
    stale = folder / f"{'0' * 32}.csv"
    stale.write_bytes(b"old")
    two_days_ago = time.time() - 2 * 86400
    os.utime(stale, (two_days_ago, two_days_ago))
    upload(client_for(p.supervisor), to_csv("accounts", [account_row(1)]))
    assert not stale.exists()
    assert len(stored_files(media)) == 1


# --- bad input ----------------------------------------------------------------------------------


def test_a_file_over_20_mb_is_refused_by_the_form(p, client_for, media):
    response = upload(client_for(p.supervisor), b"x" * (20 * 1024 * 1024 + 1))
    assert response.status_code == 200
    assert response.context["form"].errors["file"]
    assert stored_files(media) == []


@pytest.mark.parametrize("name, data", [("accounts.pdf", b"%PDF-1.4"), ("accounts.csv", b"")])
def test_other_files_are_refused_by_the_form(p, client_for, media, name, data):
    response = upload(client_for(p.supervisor), data, name=name)
    assert response.status_code == 200
    assert response.context["form"].errors["file"]


@pytest.mark.parametrize(
    "name, data",
    [
        ("accounts.csv", b"\x80\x81\xff\xfe"),
        ("accounts.csv", b"wrong,header\r\n1,2\r\n"),
        ("accounts.csv", b"\r\n\r\n"),
        ("accounts.xlsx", b"PK\x03\x04 not really a workbook"),
        ("accounts.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 an old .xls"),
    ],
)
def test_a_malformed_file_gets_a_preview_of_its_problems(p, client_for, name, data):
    client = client_for(p.supervisor)
    upload(client, data, name=name)
    response = client.get(reverse("customers:import_preview"))
    assert response.status_code == 200
    assert 'data-testid="rejected-table"' in response.content.decode()


# --- samples ------------------------------------------------------------------------------------


def test_the_sample_files_can_be_downloaded(p, client_for):
    client = client_for(p.supervisor)
    for name in ("org_units.csv", "accounts.csv", "accounts.xlsx", "contacts.csv"):
        response = client.get(reverse("customers:import_sample", args=[name]))
        assert response.status_code == 200
        assert response["Content-Disposition"].startswith("attachment")
        assert b"".join(response.streaming_content) == (SAMPLES / name).read_bytes()
    assert client.get(reverse("customers:import_sample", args=["secrets.csv"])).status_code == 404
    assert client.get("/customers/import/samples/..%2Fimport.md").status_code == 404
