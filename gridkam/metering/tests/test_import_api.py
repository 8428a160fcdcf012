"""/api/v1/readings-imports/: who may list, read, import and roll back; the outcome document and its status codes
(201 committed, 200 dry run, 400 rejected); rollback and its refusal; the list's query count."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gridkam.core.testing import persona
from gridkam.metering.choices import BatchStatus
from gridkam.metering.models import ImportBatch, Reading

from .test_import_views import long_csv, make_batches, point_code

pytestmark = pytest.mark.django_db
URL = "/api/v1/readings-imports/"
OUTCOME_KEYS = {"rows", "inserted", "updated", "unchanged", "rejected", "committed", "batch", "gaps"}
NOT_IMPORTING = ["manager", "colleague", "engineer", "clerk", "outsider", "customer_user"]


def post_file(client, data: bytes, *, name: str = "readings.csv", **fields):
    return client.post(URL, {"file": SimpleUploadedFile(name, data), **fields}, format="multipart")


def rollback_url(pk: int) -> str:
    return f"{URL}{pk}/rollback/"


# --- access -------------------------------------------------------------------------------------


def test_anonymous_gets_nothing(p, api):
    batch = ImportBatch.objects.create(file_name="x.csv", file_format="long", status=BatchStatus.COMMITTED)
    client = api(None)
    assert client.get(URL).status_code in (401, 403)
    assert client.get(f"{URL}{batch.pk}/").status_code in (401, 403)
    assert post_file(client, long_csv(point_code(p))).status_code in (401, 403)
    assert client.post(rollback_url(batch.pk)).status_code in (401, 403)
    assert not Reading.objects.exists()


@pytest.mark.parametrize("name", NOT_IMPORTING)
def test_only_administrators_and_supervisors_import_and_roll_back(p, api, name):
    batch = ImportBatch.objects.create(file_name="x.csv", file_format="long", status=BatchStatus.COMMITTED)
    client = api(persona(p, name))
    assert post_file(client, long_csv(point_code(p))).status_code == 403
    assert client.post(rollback_url(batch.pk)).status_code == 403
    assert not Reading.objects.exists()
    assert ImportBatch.objects.get().status == BatchStatus.COMMITTED


@pytest.mark.parametrize(
    ("name", "sees"),
    [
        ("admin", {"own", "other"}),
        ("supervisor", {"own", "other"}),
        ("manager", {"own"}),
        ("engineer", {"own"}),
        ("clerk", {"own"}),
        ("outsider", {"own"}),
    ],
)
def test_staff_list_the_batches_they_may_see(p, api, name, sees):
    user = persona(p, name)
    ImportBatch.objects.create(file_name="own", file_format="long", created_by=user)
    other = ImportBatch.objects.create(
        file_name="other", file_format="long", created_by=p.colleague if name != "colleague" else p.admin
    )
    client = api(user)
    response = client.get(URL)
    assert response.status_code == 200
    assert {row["file_name"] for row in response.json()["results"]} == sees
    assert client.get(f"{URL}{other.pk}/").status_code == (200 if "other" in sees else 404)


def test_portal_users_are_refused(p, api):
    batch = ImportBatch.objects.create(file_name="x.csv", file_format="long", created_by=p.customer_user)
    client = api(p.customer_user)
    assert client.get(URL).status_code == 403
    assert client.get(f"{URL}{batch.pk}/").status_code == 403


def test_an_unknown_or_malformed_id_is_not_found(p, api):
    client = api(p.admin)
    assert client.get(f"{URL}999999/").status_code == 404
    assert client.get(f"{URL}abc/").status_code == 404
    assert client.get(f"{URL}{2**63}/").status_code == 404  # beyond any id: not a database error
    assert client.post(rollback_url(999999)).status_code == 404
    assert client.post(rollback_url(2**63)).status_code == 404


# --- import ------------------------------------------------------------------------------------


def test_a_dry_run_answers_200_and_writes_nothing(p, api):
    response = post_file(api(p.supervisor), long_csv(point_code(p)), dry_run="true")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == OUTCOME_KEYS
    assert (body["rows"], body["inserted"], body["committed"], body["batch"]) == (96, 96, False, None)
    assert not Reading.objects.exists()
    assert not ImportBatch.objects.exists()


def test_an_import_answers_201_with_its_batch(p, api):
    client = api(p.admin)
    response = post_file(client, long_csv(point_code(p)))
    assert response.status_code == 201
    body = response.json()
    batch = ImportBatch.objects.get()
    assert (body["committed"], body["batch"], body["inserted"]) == (True, batch.pk, 96)
    assert (batch.status, batch.created_by) == (BatchStatus.COMMITTED, p.admin)
    assert Reading.objects.count() == 96
    detail = client.get(f"{URL}{batch.pk}/").json()
    assert (detail["status"], detail["inserted"], detail["created_by"]) == ("committed", 96, str(p.admin))
    # The same file again: nothing new.
    again = post_file(client, long_csv(point_code(p))).json()
    assert (again["inserted"], again["unchanged"]) == (0, 96)


def test_a_rejected_file_answers_400_with_its_lines(p, api):
    data = long_csv(point_code(p), extra="NOPE,2025-07-02 00:15,1,0\n")
    response = post_file(api(p.supervisor), data)
    assert response.status_code == 400
    body = response.json()
    # The API's error shape, with the outcome document alongside.
    assert body["detail"] and body["errors"]["file"]
    assert set(body) >= OUTCOME_KEYS
    assert body["committed"] is False
    assert [r["line"] for r in body["rejected"]] == [98]
    assert body["rejected"][0]["errors"]
    assert not Reading.objects.exists()
    assert ImportBatch.objects.get().status == BatchStatus.REJECTED


def test_a_rejected_dry_run_answers_400_too(p, api):
    data = long_csv(point_code(p), extra="NOPE,2025-07-02 00:15,1,0\n")
    assert post_file(api(p.supervisor), data, dry_run="true").status_code == 400


def test_skipping_invalid_rows_commits_the_others(p, api):
    data = long_csv(point_code(p), extra="NOPE,2025-07-02 00:15,1,0\n")
    response = post_file(api(p.supervisor), data, skip_invalid="true")
    assert response.status_code == 201
    assert response.json()["inserted"] == 96
    assert [r["line"] for r in response.json()["rejected"]] == [98]


def test_the_format_may_be_given(p, api):
    wide = "metering_point,date," + ",".join(f"p{i}" for i in range(1, 97)) + "\n"
    wide += f"{point_code(p)},2025-07-01," + ",".join(["1.5"] * 96) + "\n"
    client = api(p.supervisor)
    assert post_file(client, wide.encode(), file_format="wide96", dry_run="true").status_code == 200
    assert post_file(client, wide.encode(), dry_run="true").json()["rows"] == 96
    assert post_file(client, wide.encode(), file_format="long", dry_run="true").status_code == 400


def test_bad_requests_name_the_field(p, api):
    client = api(p.supervisor)
    assert "file" in client.post(URL, {}, format="multipart").json()["errors"]
    assert "file" in post_file(client, b"MZ", name="readings.exe").json()["errors"]
    assert "file_format" in post_file(client, long_csv(point_code(p)), file_format="csv").json()["errors"]
    assert not ImportBatch.objects.exists()


# --- rollback -----------------------------------------------------------------------------------


def test_rollback_answers_200_then_400_with_the_reason(p, api):
    client = api(p.supervisor)
    batch = post_file(client, long_csv(point_code(p))).json()["batch"]
    response = client.post(rollback_url(batch))
    assert response.status_code == 200
    assert response.json()["status"] == "rolled_back"
    assert not Reading.objects.exists()
    again = client.post(rollback_url(batch))
    assert again.status_code == 400
    assert again.json()["errors"]["non_field_errors"]


def test_a_batch_changed_later_is_not_rolled_back(p, api):
    client = api(p.admin)
    first = post_file(client, long_csv(point_code(p))).json()["batch"]
    post_file(client, long_csv(point_code(p), kwh="2"))
    response = client.post(rollback_url(first))
    assert response.status_code == 400
    assert ImportBatch.objects.get(pk=first).status == BatchStatus.COMMITTED


# --- the list -----------------------------------------------------------------------------------


def test_the_list_filters_by_status(p, api):
    make_batches(p, 6)
    response = api(p.supervisor).get(URL, {"status": "rejected", "ordering": "rows"})
    assert [row["rows"] for row in response.json()["results"]] == [0, 2, 4]


def test_the_list_query_count_does_not_grow_with_rows(p, api):
    client = api(p.supervisor)
    make_batches(p, 2)
    with CaptureQueriesContext(connection) as small:
        assert client.get(URL).status_code == 200
    make_batches(p, 18)
    with CaptureQueriesContext(connection) as large:
        response = client.get(URL)
    assert response.json()["count"] == 20
    assert len(large) == len(small)


def test_a_supervisor_imports_only_into_their_own_unit(p, api):
    # City B's metering point reads as unknown to city A's supervisor; the administrator may load it.
    b1_point = p.b1.accounts.get().metering_points.get().code
    response = post_file(api(p.supervisor), long_csv(b1_point))
    assert response.status_code == 400
    assert len(response.json()["rejected"]) == 96
    assert not Reading.objects.exists()
    assert post_file(api(p.admin), long_csv(b1_point)).status_code == 201
    assert Reading.objects.exists()
