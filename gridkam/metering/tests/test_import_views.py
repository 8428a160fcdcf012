"""The readings-import pages: who may see and do what, upload → preview (dry run) → confirm, rejected files,
the batch page and its rollback, and the list's query count."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.messages import ERROR, SUCCESS
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from gridkam.core.testing import persona
from gridkam.metering.choices import BatchStatus
from gridkam.metering.models import ImportBatch, Reading
from gridkam.metering.views import SESSION_KEY

pytestmark = pytest.mark.django_db
STAFF_NOT_IMPORTING = ["manager", "colleague", "engineer", "clerk", "outsider"]


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    return tmp_path


def pending_files(data_dir) -> list[Path]:
    folder = Path(data_dir) / "pending" / "readings"
    return sorted(folder.iterdir()) if folder.is_dir() else []


def point_code(p) -> str:
    return p.a1.accounts.get().metering_points.get().code


def long_csv(
    code: str, *, day: str = "2025-07-01", kwh: str = "1.5", skip: int | None = None, extra: str = ""
) -> bytes:
    """One day of a point's readings; ``skip`` leaves that quarter-hour out (a gap)."""
    lines = ["metering_point,interval_end,kwh,kvarh_lag"]
    for i in range(1, 97):
        if i == skip:
            continue
        minutes = i * 15
        stamp = f"{day} {minutes // 60:02d}:{minutes % 60:02d}" if i < 96 else f"{day} 24:00"
        lines.append(f"{code},{stamp},{kwh},0.5")
    return ("\n".join(lines) + "\n" + extra).encode()


def upload(client, data: bytes, *, name: str = "readings.csv", **fields):
    return client.post(reverse("metering:import_new"), {"file": SimpleUploadedFile(name, data), **fields})


def confirm(client, **extra):
    return client.post(reverse("metering:import_confirm"), {"preview": client.session[SESSION_KEY]["nonce"]}, **extra)


def committed_batch(client, p) -> ImportBatch:
    upload(client, long_csv(point_code(p)))
    confirm(client, follow=True)  # reads the success message, so a test sees only the messages that follow
    return ImportBatch.objects.get(status=BatchStatus.COMMITTED)


# --- access -------------------------------------------------------------------------------------


def test_anonymous_users_are_sent_to_log_in(client):
    login = reverse("login")
    for url in (
        reverse("metering:import_list"),
        reverse("metering:import_new"),
        reverse("metering:import_detail", args=[1]),
    ):
        assert client.get(url).url.startswith(login)
    for url in (reverse("metering:import_confirm"), reverse("metering:import_rollback", args=[1])):
        assert client.post(url).url.startswith(login)


@pytest.mark.parametrize("name", [*STAFF_NOT_IMPORTING, "customer_user"])
def test_only_administrators_and_supervisors_upload_and_roll_back(p, client_for, name):
    batch = ImportBatch.objects.create(file_name="x.csv", file_format="long", status=BatchStatus.COMMITTED)
    client = client_for(persona(p, name))
    assert client.get(reverse("metering:import_new")).status_code == 403
    assert upload(client, long_csv(point_code(p))).status_code == 403
    assert client.post(reverse("metering:import_confirm")).status_code == 403
    assert client.post(reverse("metering:import_cancel")).status_code == 403
    assert client.post(reverse("metering:import_rollback", args=[batch.pk])).status_code == 403
    assert not Reading.objects.exists()
    assert ImportBatch.objects.get().status == BatchStatus.COMMITTED


@pytest.mark.parametrize("name", ["admin", "supervisor"])
def test_administrators_and_supervisors_get_the_pages_and_the_menu_item(p, client_for, name):
    batch = ImportBatch.objects.create(file_name="x.csv", file_format="long", created_by=p.admin)
    client = client_for(persona(p, name))
    response = client.get(reverse("metering:import_list"))
    assert response.status_code == 200
    assert b'data-testid="nav-interval-data"' in response.content
    assert b'data-testid="import-new"' in response.content
    assert client.get(reverse("metering:import_new")).status_code == 200
    assert client.get(reverse("metering:import_detail", args=[batch.pk])).status_code == 200


@pytest.mark.parametrize("name", STAFF_NOT_IMPORTING)
def test_other_staff_see_only_the_batches_they_imported(p, client_for, name):
    user = persona(p, name)
    own = ImportBatch.objects.create(file_name="own.csv", file_format="long", created_by=user)
    other = ImportBatch.objects.create(file_name="other.csv", file_format="long", created_by=p.supervisor)
    client = client_for(user)
    response = client.get(reverse("metering:import_list"))
    assert response.status_code == 200
    assert list(response.context["object_list"]) == [own]
    assert b'data-testid="nav-interval-data"' not in response.content
    assert b'data-testid="import-new"' not in response.content
    assert client.get(reverse("metering:import_detail", args=[own.pk])).status_code == 200
    assert client.get(reverse("metering:import_detail", args=[other.pk])).status_code == 404


def test_portal_users_have_no_import_pages(p, client_for):
    batch = ImportBatch.objects.create(file_name="x.csv", file_format="long", created_by=p.customer_user)
    client = client_for(p.customer_user)
    assert client.get(reverse("metering:import_list")).status_code == 403
    assert client.get(reverse("metering:import_detail", args=[batch.pk])).status_code == 403


# --- upload, preview, confirm -------------------------------------------------------------------


def test_a_supervisor_uploads_previews_and_confirms(p, client_for, data_dir):
    client = client_for(p.supervisor)
    response = upload(client, long_csv(point_code(p)))
    assert response.status_code == 200
    assert response.context["outcome"].rows == 96
    assert response.context["outcome"].inserted == 96
    assert b'data-testid="import-confirm"' in response.content
    # A dry run: nothing written, no batch, the file kept for the confirmation.
    assert not Reading.objects.exists()
    assert not ImportBatch.objects.exists()
    assert len(pending_files(data_dir)) == 1

    response = confirm(client)
    batch = ImportBatch.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("metering:import_detail", args=[batch.pk])
    assert batch.status == BatchStatus.COMMITTED
    assert batch.created_by == p.supervisor
    assert (batch.file_name, batch.file_format, batch.inserted) == ("readings.csv", "long", 96)
    assert Reading.objects.count() == 96
    assert pending_files(data_dir) == []
    assert SESSION_KEY not in client.session


def test_the_format_can_be_chosen_and_is_guessed_otherwise(p, client_for):
    client = client_for(p.admin)
    assert upload(client, long_csv(point_code(p)), file_format="long").context["pending"].file_format == "long"
    assert upload(client, long_csv(point_code(p))).context["pending"].file_format == "long"
    wide = "metering_point,date," + ",".join(f"p{i}" for i in range(1, 97)) + "\n"
    wide += f"{point_code(p)},2025-07-01," + ",".join(["1.5"] * 96) + "\n"
    response = upload(client, wide.encode())
    assert response.context["pending"].file_format == "wide96"
    assert response.context["outcome"].rows == 96


def test_a_rejected_file_lists_every_line_and_offers_no_confirmation(p, client_for, data_dir):
    client = client_for(p.supervisor)
    data = long_csv(point_code(p), extra="NOPE,2025-07-02 00:15,1,0\n" + f"{point_code(p)},2025-07-02 00:30,-3,0\n")
    response = upload(client, data)
    assert response.status_code == 200
    assert [r["line"] for r in response.context["outcome"].rejected] == [98, 99]
    content = response.content.decode()
    assert 'data-testid="rejected-table"' in content
    assert '<td class="text-end font-monospace" data-testid="rejected-line">98</td>' in content
    assert '<td class="text-end font-monospace" data-testid="rejected-line">99</td>' in content
    assert 'data-testid="import-rejected"' in content
    assert 'data-testid="import-confirm"' not in content
    assert not Reading.objects.exists()
    assert not ImportBatch.objects.exists()


def test_an_unreadable_file_is_rejected_as_a_whole(p, client_for):
    response = upload(client_for(p.supervisor), b"what,ever\n1,2\n")
    assert response.context["blocked"]
    assert b'data-testid="import-confirm"' not in response.content


def test_skipping_invalid_rows_imports_the_others(p, client_for):
    client = client_for(p.supervisor)
    data = long_csv(point_code(p), extra="NOPE,2025-07-02 00:15,1,0\n")
    response = upload(client, data, skip_invalid="on")
    assert b'data-testid="import-skipping"' in response.content
    assert b'data-testid="import-confirm"' in response.content
    confirm(client)
    batch = ImportBatch.objects.get()
    assert (batch.status, batch.skip_invalid, batch.inserted, batch.rejected_count) == ("committed", True, 96, 1)
    detail = client.get(reverse("metering:import_detail", args=[batch.pk]))
    assert b'data-testid="rejected-line">98<' in detail.content


def test_gaps_are_shown_in_the_preview_and_on_the_batch_page(p, client_for):
    client = client_for(p.supervisor)
    response = upload(client, long_csv(point_code(p), skip=40))
    assert response.context["outcome"].gaps[0]["intervals"] == 1
    assert b'data-testid="gaps-table"' in response.content
    confirm(client)
    batch = ImportBatch.objects.get()
    assert b'data-testid="gaps-table"' in client.get(reverse("metering:import_detail", args=[batch.pk])).content


def test_a_preview_replaced_by_a_newer_upload_cannot_be_confirmed(p, client_for):
    client = client_for(p.supervisor)
    upload(client, long_csv(point_code(p)))
    stale = client.session[SESSION_KEY]["nonce"]
    upload(client, long_csv(point_code(p), kwh="2"))
    response = client.post(reverse("metering:import_confirm"), {"preview": stale})
    assert response.status_code == 302
    assert response.url == reverse("metering:import_new")
    assert not ImportBatch.objects.exists()


def test_cancelling_deletes_the_uploaded_file(p, client_for, data_dir):
    client = client_for(p.supervisor)
    upload(client, long_csv(point_code(p)))
    assert len(pending_files(data_dir)) == 1
    client.post(reverse("metering:import_cancel"))
    assert pending_files(data_dir) == []
    assert SESSION_KEY not in client.session
    assert client.post(reverse("metering:import_confirm"), {"preview": "x"}).url == reverse("metering:import_new")


def test_other_files_are_refused_by_the_form(p, client_for, data_dir):
    response = upload(client_for(p.supervisor), b"MZ\x90\x00", name="readings.exe")
    assert response.status_code == 200
    assert response.context["form"].errors["file"]
    assert pending_files(data_dir) == []


# --- batch page and rollback --------------------------------------------------------------------


def test_the_batch_page_rolls_the_import_back(p, client_for):
    client = client_for(p.supervisor)
    batch = committed_batch(client, p)
    page = client.get(reverse("metering:import_detail", args=[batch.pk]))
    assert b'data-testid="rollback-open"' in page.content
    assert b'data-testid="rollback-confirm"' in page.content

    response = client.post(reverse("metering:import_rollback", args=[batch.pk]), follow=True)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.ROLLED_BACK
    assert batch.rolled_back_by == p.supervisor
    assert not Reading.objects.exists()
    assert [m.level for m in response.context["messages"]] == [SUCCESS]
    assert b'data-testid="rollback-open"' not in response.content


def test_a_refused_rollback_is_shown_as_an_error(p, client_for):
    client = client_for(p.admin)
    first = committed_batch(client, p)
    upload(client, long_csv(point_code(p), kwh="2"))
    confirm(client, follow=True)
    response = client.post(reverse("metering:import_rollback", args=[first.pk]), follow=True)
    assert [m.level for m in response.context["messages"]] == [ERROR]
    assert b"alert-danger" in response.content
    first.refresh_from_db()
    assert first.status == BatchStatus.COMMITTED
    assert Reading.objects.filter(kwh=2).count() == 96


def test_rolling_back_an_unknown_batch_is_not_found(p, client_for):
    assert client_for(p.supervisor).post(reverse("metering:import_rollback", args=[999999])).status_code == 404


# --- the list -----------------------------------------------------------------------------------


def make_batches(p, count: int) -> None:
    users = [p.supervisor, p.admin, None]
    ImportBatch.objects.bulk_create(
        ImportBatch(
            file_name=f"f{n}.csv",
            file_format="long",
            status=BatchStatus.COMMITTED if n % 2 else BatchStatus.REJECTED,
            created_by=users[n % 3],
            rows=n,
            rejected=[{"line": 2, "errors": ["x"]}],
        )
        for n in range(count)
    )


def test_the_list_filters_by_status_and_sorts(p, client_for):
    make_batches(p, 6)
    client = client_for(p.supervisor)
    response = client.get(reverse("metering:import_list"), {"status": "rejected", "sort": "rows"})
    assert [b.rows for b in response.context["object_list"]] == [0, 2, 4]
    newest = client.get(reverse("metering:import_list")).context["object_list"][0]
    assert newest == ImportBatch.objects.order_by("-created_at", "-pk").first()


def test_the_list_answers_htmx_with_the_table_only(p, client_for):
    make_batches(p, 2)
    response = client_for(p.supervisor).get(reverse("metering:import_list"), HTTP_HX_REQUEST="true")
    assert b'data-testid="batch-table"' in response.content
    assert b"gk-navbar" not in response.content


def test_the_list_exports_to_excel(p, client_for):
    make_batches(p, 3)
    response = client_for(p.supervisor).get(reverse("metering:import_list"), {"export": "xlsx"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")


def test_the_list_query_count_does_not_grow_with_rows(p, client_for):
    client = client_for(p.supervisor)
    make_batches(p, 2)
    with CaptureQueriesContext(connection) as small:
        assert client.get(reverse("metering:import_list")).status_code == 200
    make_batches(p, 18)
    with CaptureQueriesContext(connection) as large:
        response = client.get(reverse("metering:import_list"))
    assert len(response.context["object_list"]) == 20
    assert len(large) == len(small)
