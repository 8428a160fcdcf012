"""The background readings import, without a broker (Celery eager): queued from the preview page, the API and the
command; its progress on the batch page and in the API; who may follow it; a run that fails or runs twice; and
imports whose process died, marked interrupted. The real worker and the killed process have their own files."""

from __future__ import annotations

import datetime
import io
import json
import runpy
from pathlib import Path
from unittest import mock

import pytest
from celery import current_app
from django.contrib.messages import ERROR, INFO, SUCCESS
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone, translation

from gridkam.core.testing import persona
from gridkam.metering import views
from gridkam.metering.choices import BatchStatus, FailureReason, ImportPhase
from gridkam.metering.models import ImportBatch, PointDailyRollup, Reading
from gridkam.metering.progress import progress_get, progress_set
from gridkam.metering.services import (
    batches_interrupted_mark,
    import_batch_start,
    import_jobs_dir,
    readings_import_background_run,
    readings_import_enqueue,
)
from gridkam.metering.tasks import readings_import_task

from .test_import_views import SESSION_KEY, long_csv, pending_files, point_code, upload

pytestmark = pytest.mark.django_db
URL = "/api/v1/readings-imports/"


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    return tmp_path


@pytest.fixture(autouse=True)
def _empty_cache():
    # Progress entries are keyed by batch id, and ids come round again when each test's transaction rolls back.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def queue_only():
    """As with a broker: the command reports the batch queued instead of running it. The task itself is sent by
    an on-commit callback, which a test's transaction never fires unless the test runs it."""
    eager = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = False
    yield
    current_app.conf.task_always_eager = eager


def job_files() -> list[Path]:
    folder = import_jobs_dir()
    return sorted(folder.iterdir()) if folder.is_dir() else []


def confirm_in_background(client, **extra):
    return client.post(
        reverse("metering:import_confirm"),
        {"preview": client.session[SESSION_KEY]["nonce"], "background": "on"},
        **extra,
    )


def queued_batch(p, *, user=None) -> ImportBatch:
    return import_batch_start(
        file_name="big.csv", file_format="long", skip_invalid=False, user=user or p.supervisor, queued=True
    )


def age(batch: ImportBatch, minutes: int) -> None:
    ImportBatch.objects.filter(pk=batch.pk).update(created_at=timezone.now() - datetime.timedelta(minutes=minutes))


# --- the web: preview → queued batch → progress → committed --------------------------------------


def test_the_preview_offers_the_background_and_ticks_it_for_large_files(p, client_for, monkeypatch):
    client = client_for(p.supervisor)
    response = upload(client, long_csv(point_code(p)))
    assert b'data-testid="import-background"' in response.content
    assert not response.context["background_default"]
    monkeypatch.setattr(views, "BACKGROUND_DEFAULT_BYTES", 100)
    response = upload(client, long_csv(point_code(p)))
    assert response.context["background_default"]
    assert b'name="background" value="on" id="import-background" data-testid="import-background" checked' in (
        response.content
    )


def test_confirming_in_the_background_queues_the_batch_and_the_worker_commits_it(
    p, client_for, data_dir, django_capture_on_commit_callbacks
):
    client = client_for(p.supervisor)
    upload(client, long_csv(point_code(p), skip=40))
    with django_capture_on_commit_callbacks(execute=True) as sent:
        response = confirm_in_background(client)
        # Until the task runs (the test's transaction stands in for the request's commit): a queued batch whose
        # file waits in the jobs folder, and the session's upload is gone.
        batch = ImportBatch.objects.get()
        assert (batch.status, batch.file_name, batch.file_format, batch.created_by) == (
            BatchStatus.QUEUED,
            "readings.csv",
            "long",
            p.supervisor,
        )
        assert response.status_code == 302
        assert response.url == reverse("metering:import_detail", args=[batch.pk])
        assert len(job_files()) == 1
        assert pending_files(data_dir) == [import_jobs_dir()]
        assert SESSION_KEY not in client.session
        page = client.get(response.url)
        assert [m.level for m in page.context["messages"]] == [INFO]
        assert reverse("metering:import_progress", args=[batch.pk]).encode() in page.content
        assert b'data-testid="progress-queued"' in page.content
        assert not Reading.objects.exists()
    assert len(sent) == 1
    batch.refresh_from_db()
    assert (batch.status, batch.rows, batch.inserted, batch.rejected_count) == (BatchStatus.COMMITTED, 95, 95, 0)
    assert batch.gaps[0]["intervals"] == 1
    assert len(batch.file_sha256) == 64
    assert Reading.objects.filter(batch=batch).count() == 95
    assert PointDailyRollup.objects.get().intervals == 95
    assert job_files() == []
    assert progress_get(batch.pk) is None
    page = client.get(reverse("metering:import_detail", args=[batch.pk]))
    assert b'data-testid="batch-progress"' not in page.content
    assert b'data-testid="gaps-table"' in page.content


def test_a_rejected_background_import_writes_nothing(p, client_for, django_capture_on_commit_callbacks):
    client = client_for(p.supervisor)
    upload(client, long_csv(point_code(p)))
    # The data changes between the preview and the run: the import is judged when it runs.
    with django_capture_on_commit_callbacks(execute=True):
        confirm_in_background(client)
        Path(job_files()[0]).write_bytes(long_csv(point_code(p), extra="NOPE,2025-07-02 00:15,1,0\n"))
    batch = ImportBatch.objects.get()
    assert (batch.status, batch.rejected_count) == (BatchStatus.REJECTED, 1)
    assert not Reading.objects.exists()
    assert job_files() == []


# --- the progress fragment ---------------------------------------------------------------------


def test_the_progress_fragment_follows_the_import_and_reloads_the_page_when_it_ends(p, client_for):
    batch = queued_batch(p)
    client = client_for(p.supervisor)
    url = reverse("metering:import_progress", args=[batch.pk])

    fragment = client.get(url, HTTP_HX_REQUEST="true")
    assert fragment.status_code == 200
    assert b'data-testid="progress-queued"' in fragment.content
    assert f'hx-get="{url}" hx-trigger="every 2s"'.encode() in fragment.content
    assert b"gk-navbar" not in fragment.content

    ImportBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.RUNNING)
    assert b'data-testid="progress-running"' in client.get(url, HTTP_HX_REQUEST="true").content
    progress_set(batch.pk, done=2_500_000, total=10_000_000, phase=ImportPhase.READING)
    fragment = client.get(url, HTTP_HX_REQUEST="true")
    assert b'data-testid="progress-reading"' in fragment.content
    assert b'aria-valuenow="25"' in fragment.content
    progress_set(batch.pk, done=10_000_000, total=10_000_000, phase=ImportPhase.WRITING)
    assert b'data-testid="progress-writing"' in client.get(url, HTTP_HX_REQUEST="true").content
    assert "HX-Refresh" not in client.get(url, HTTP_HX_REQUEST="true")

    ImportBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.COMMITTED)
    done = client.get(url, HTTP_HX_REQUEST="true")
    assert done["HX-Refresh"] == "true"
    assert b"hx-get" not in done.content
    # Without HTMX (a bookmark, a script) the fragment says the import is finished, and nothing more.
    plain = client.get(url)
    assert "HX-Refresh" not in plain
    assert b'data-testid="progress-finished"' in plain.content


@pytest.mark.parametrize(
    ("name", "status"),
    [("admin", 200), ("supervisor", 200), ("manager", 404), ("outsider", 404), ("customer_user", 403)],
)
def test_the_progress_of_a_batch_is_seen_where_the_batch_is(p, client_for, api, name, status):
    batch = queued_batch(p)
    user = persona(p, name)
    assert client_for(user).get(reverse("metering:import_progress", args=[batch.pk])).status_code == status
    assert api(user).get(f"{URL}{batch.pk}/").status_code == status


def test_the_importer_follows_their_own_batch(p, client_for):
    batch = queued_batch(p, user=p.manager)
    assert client_for(p.manager).get(reverse("metering:import_progress", args=[batch.pk])).status_code == 200


def test_anonymous_users_are_sent_to_log_in_from_the_progress(p, client):
    batch = queued_batch(p)
    assert client.get(reverse("metering:import_progress", args=[batch.pk])).url.startswith(reverse("login"))


# --- the API -----------------------------------------------------------------------------------


def post_background(client, data: bytes, **fields):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(
        URL, {"file": SimpleUploadedFile("readings.csv", data), "background": "true", **fields}, format="multipart"
    )


def test_the_api_queues_a_background_import_and_reports_its_progress(p, api, django_capture_on_commit_callbacks):
    client = api(p.admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_background(client, long_csv(point_code(p)))
        assert response.status_code == 202
        body = response.json()
        batch = ImportBatch.objects.get()
        assert response["Location"].endswith(f"{URL}{batch.pk}/")
        assert (body["id"], body["status"], body["progress"], body["created_by"]) == (
            batch.pk,
            "queued",
            None,
            str(p.admin),
        )
        assert len(job_files()) == 1
        # While it runs, GET tells how far it has come.
        ImportBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.RUNNING)
        progress_set(batch.pk, done=100, total=400)
        assert client.get(f"{URL}{batch.pk}/").json()["progress"] == {"done": 100, "total": 400, "phase": "reading"}
        assert client.get(URL).json()["results"][0]["progress"]["done"] == 100
        ImportBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.QUEUED)
    detail = client.get(f"{URL}{batch.pk}/").json()
    assert (detail["status"], detail["inserted"], detail["progress"], detail["failure"]) == ("committed", 96, None, "")
    assert Reading.objects.count() == 96
    assert job_files() == []


@pytest.mark.parametrize("name", ["manager", "outsider", "customer_user"])
def test_only_administrators_and_supervisors_queue_imports(p, api, name):
    assert post_background(api(persona(p, name)), long_csv(point_code(p))).status_code == 403
    assert not ImportBatch.objects.exists()
    assert job_files() == []


def test_a_dry_run_is_not_queued(p, api):
    response = post_background(api(p.supervisor), long_csv(point_code(p)), dry_run="true")
    assert response.status_code == 400
    assert response.json()["errors"]["background"]
    assert not ImportBatch.objects.exists()
    assert job_files() == []


# --- the command -------------------------------------------------------------------------------


def run_command(*args: str) -> tuple[str, int]:
    out = io.StringIO()
    try:
        with translation.override("en"):
            call_command("import_readings", *args, stdout=out, stderr=io.StringIO())
    except CommandError as exc:
        return out.getvalue(), exc.returncode
    return out.getvalue(), 0


def test_the_command_queues_a_copy_of_the_file_with_a_broker(
    p, tmp_path, queue_only, django_capture_on_commit_callbacks
):
    source = tmp_path / "day.csv"
    source.write_bytes(long_csv(point_code(p)))
    with django_capture_on_commit_callbacks() as sent:
        out, status = run_command(str(source), "--background", "--json", "--user", "supervisor")
    batch = ImportBatch.objects.get()
    assert (status, json.loads(out)) == (0, {"batch": batch.pk, "status": "queued"})
    assert (batch.status, batch.created_by) == (BatchStatus.QUEUED, p.supervisor)
    # The user's file stays; the worker reads a copy in the jobs folder.
    assert source.is_file()
    assert job_files()[0].read_bytes() == source.read_bytes()
    out, status = run_command(str(source), "--background")
    assert (status, out.strip()) == (0, f"Import #{ImportBatch.objects.latest('pk').pk} is queued.")

    # What the worker then does with the first one (run here: there is no broker).
    current_app.conf.task_always_eager = True
    sent[0]()
    batch.refresh_from_db()
    assert (batch.status, batch.inserted) == (BatchStatus.COMMITTED, 96)


def test_a_background_dry_run_is_a_usage_error(p, tmp_path):
    source = tmp_path / "day.csv"
    source.write_bytes(long_csv(point_code(p)))
    assert run_command(str(source), "--background", "--dry-run")[1] == 2
    assert not ImportBatch.objects.exists()


def test_the_command_reports_its_import_under_a_batch_written_first(p, tmp_path, monkeypatch):
    """The batch row exists before the import, so that the import's progress is reported under its id."""
    source = tmp_path / "day.csv"
    source.write_bytes(long_csv(point_code(p)))
    seen = []
    real = progress_set

    def spy(batch_id, **kwargs):
        seen.append((ImportBatch.objects.get(pk=batch_id).status, kwargs["phase"]))
        real(batch_id, **kwargs)

    monkeypatch.setattr("gridkam.metering.progress.progress_set", spy)
    out, status = run_command(str(source), "--json")
    batch = ImportBatch.objects.get()
    assert (status, json.loads(out)["batch"]) == (0, batch.pk)
    assert seen == [(BatchStatus.RUNNING, ImportPhase.WRITING)]
    assert progress_get(batch.pk) is None


def test_a_command_import_that_raises_leaves_a_failed_batch(p, tmp_path):
    source = tmp_path / "day.csv"
    source.write_bytes(long_csv(point_code(p)))
    with (
        mock.patch("gridkam.metering.management.commands.import_readings.readings_import", side_effect=OSError("read")),
        pytest.raises(OSError),
    ):
        run_command(str(source))
    batch = ImportBatch.objects.get()
    assert (batch.status, batch.failure) == (BatchStatus.FAILED, FailureReason.ERROR)


# --- the task: twice, failing, unreachable ------------------------------------------------------


def enqueue(p, tmp_path, data: bytes) -> ImportBatch:
    source = tmp_path / "upload.csv"
    source.write_bytes(data)
    return readings_import_enqueue(
        source=source, file_name="upload.csv", file_format="long", skip_invalid=False, user=p.admin, move=True
    )


def test_a_task_delivered_twice_imports_once(p, tmp_path, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as sent:
        batch = enqueue(p, tmp_path, long_csv(point_code(p)))
    path = str(job_files()[0])
    assert readings_import_task.apply(args=(batch.pk, path, "long", False, p.admin.pk)).get()["inserted"] == 96
    assert readings_import_task.apply(args=(batch.pk, path, "long", False, p.admin.pk)).get() is None
    sent[0]()
    batch.refresh_from_db()
    assert (batch.status, batch.inserted) == (BatchStatus.COMMITTED, 96)
    assert Reading.objects.count() == 96


def test_a_run_that_fails_marks_its_batch_failed_with_the_reason(p, tmp_path):
    batch = queued_batch(p)
    with pytest.raises(FileNotFoundError):
        readings_import_background_run(
            batch_id=batch.pk, path=tmp_path / "gone.csv", file_format="long", skip_invalid=False, user_id=None
        )
    batch.refresh_from_db()
    assert (batch.status, batch.failure) == (BatchStatus.FAILED, FailureReason.FILE_MISSING)
    assert batch.finished_at is not None

    batch = queued_batch(p)
    path = tmp_path / "day.csv"
    path.write_bytes(long_csv(point_code(p)))
    with (
        mock.patch("gridkam.metering.services.readings_import", side_effect=RuntimeError("disk full")),
        pytest.raises(RuntimeError),
    ):
        readings_import_background_run(
            batch_id=batch.pk, path=path, file_format="long", skip_invalid=False, user_id=p.admin.pk
        )
    batch.refresh_from_db()
    assert (batch.status, batch.failure) == (BatchStatus.FAILED, FailureReason.ERROR)
    assert not path.exists()
    assert progress_get(batch.pk) is None
    assert not Reading.objects.exists()


def test_the_batch_page_says_why_an_import_failed(p, client_for, tmp_path):
    batch = queued_batch(p)
    with pytest.raises(FileNotFoundError):
        readings_import_background_run(
            batch_id=batch.pk, path=tmp_path / "gone.csv", file_format="long", skip_invalid=False, user_id=None
        )
    page = client_for(p.supervisor).get(reverse("metering:import_detail", args=[batch.pk]))
    assert b'data-testid="batch-failure"' in page.content


def test_an_unreachable_queue_fails_the_batch_at_once(p, tmp_path, django_capture_on_commit_callbacks):
    with (
        mock.patch.object(readings_import_task, "delay", side_effect=ConnectionRefusedError),
        django_capture_on_commit_callbacks(execute=True),
    ):
        batch = enqueue(p, tmp_path, long_csv(point_code(p)))
        batch.refresh_from_db()
        assert batch.status == BatchStatus.QUEUED
    batch.refresh_from_db()
    assert (batch.status, batch.failure) == (BatchStatus.FAILED, FailureReason.QUEUE_UNREACHABLE)
    assert job_files() == []


def test_the_page_says_so_when_an_eager_run_failed(p, client_for, django_capture_on_commit_callbacks):
    client = client_for(p.supervisor)
    upload(client, long_csv(point_code(p)))
    with (
        mock.patch("gridkam.metering.services.readings_import", side_effect=RuntimeError("disk full")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        confirm_in_background(client)
    batch = ImportBatch.objects.get()
    assert (batch.status, batch.failure) == (BatchStatus.FAILED, FailureReason.ERROR)
    page = client.get(reverse("metering:import_detail", args=[batch.pk]))
    assert b'data-testid="batch-failure"' in page.content


# --- interrupted imports -----------------------------------------------------------------------


def test_imports_without_a_sign_of_life_are_marked_interrupted(p):
    quiet_queued = queued_batch(p)
    quiet_running = queued_batch(p)
    reporting = queued_batch(p)
    fresh = queued_batch(p)
    finished = queued_batch(p)
    ImportBatch.objects.filter(pk__in=[quiet_running.pk, reporting.pk]).update(status=BatchStatus.RUNNING)
    ImportBatch.objects.filter(pk=finished.pk).update(status=BatchStatus.COMMITTED)
    for batch in (quiet_queued, quiet_running, reporting, finished):
        age(batch, 61)
    progress_set(reporting.pk, done=1, total=2)

    assert sorted(batches_interrupted_mark()) == sorted([quiet_queued.pk, quiet_running.pk])
    statuses = dict(ImportBatch.objects.values_list("pk", "status"))
    assert statuses == {
        quiet_queued.pk: BatchStatus.FAILED,
        quiet_running.pk: BatchStatus.FAILED,
        reporting.pk: BatchStatus.RUNNING,
        fresh.pk: BatchStatus.QUEUED,
        finished.pk: BatchStatus.COMMITTED,
    }
    assert ImportBatch.objects.get(pk=quiet_running.pk).failure == FailureReason.INTERRUPTED
    # Again: nothing more to mark.
    assert batches_interrupted_mark() == []
    # A progress report older than the limit is no sign of life.
    assert sorted(batches_interrupted_mark(older_than=datetime.timedelta(0))) == sorted([reporting.pk, fresh.pk])


def test_the_list_and_the_batch_page_mark_interrupted_imports(p, client_for):
    listed, opened = queued_batch(p), queued_batch(p)
    age(listed, 61)
    client_for(p.supervisor).get(reverse("metering:import_list"))
    assert ImportBatch.objects.get(pk=listed.pk).status == BatchStatus.FAILED
    age(opened, 61)
    page = client_for(p.supervisor).get(reverse("metering:import_detail", args=[opened.pk]))
    assert ImportBatch.objects.get(pk=opened.pk).failure == FailureReason.INTERRUPTED
    assert b'data-testid="batch-failure"' in page.content
    assert b'data-testid="batch-progress"' not in page.content


def test_the_api_marks_interrupted_imports_too(p, api):
    listed, retrieved = queued_batch(p), queued_batch(p)
    age(listed, 61)
    api(p.supervisor).get(URL)
    assert ImportBatch.objects.get(pk=listed.pk).status == BatchStatus.FAILED
    age(retrieved, 61)
    body = api(p.supervisor).get(f"{URL}{retrieved.pk}/").json()
    assert (body["status"], body["failure"], body["progress"]) == ("failed", "interrupted", None)


def test_the_limit_is_a_setting(p, settings):
    batch = queued_batch(p)
    age(batch, 10)
    assert batches_interrupted_mark() == []
    settings.GRIDKAM = {**settings.GRIDKAM, "READINGS_IMPORT_STALE_MINUTES": 5}
    assert batches_interrupted_mark() == [batch.pk]


def test_a_batch_marked_interrupted_is_not_run_when_its_message_comes_at_last(
    p, tmp_path, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as sent:
        batch = enqueue(p, tmp_path, long_csv(point_code(p)))
    age(batch, 61)
    batches_interrupted_mark()
    sent[0]()
    batch.refresh_from_db()
    assert (batch.status, batch.failure) == (BatchStatus.FAILED, FailureReason.INTERRUPTED)
    assert not Reading.objects.exists()
    assert job_files() == []


# --- without a broker, in a real transaction: the redirect lands on a finished batch ---------------


def test_without_a_broker_the_background_import_runs_in_the_request(p, client_for, transactional_db):
    client = client_for(p.supervisor)
    upload(client, long_csv(point_code(p)))
    response = confirm_in_background(client, follow=True)
    batch = ImportBatch.objects.get()
    assert (batch.status, batch.inserted) == (BatchStatus.COMMITTED, 96)
    assert response.redirect_chain[-1][0] == reverse("metering:import_detail", args=[batch.pk])
    assert [m.level for m in response.context["messages"]] == [SUCCESS]
    assert b'data-testid="batch-progress"' not in response.content
    assert job_files() == []


def test_without_a_broker_the_command_reports_a_background_import_like_any_other(p, tmp_path, transactional_db):
    source = tmp_path / "day.csv"
    source.write_bytes(long_csv(point_code(p)))
    out, status = run_command(str(source), "--background", "--json")
    document = json.loads(out)
    assert status == 0
    assert (document["committed"], document["inserted"]) == (True, 96)
    assert ImportBatch.objects.get(pk=document["batch"]).status == BatchStatus.COMMITTED

    source.write_bytes(long_csv(point_code(p), extra="NOPE,2025-07-02 00:15,1,0\n"))
    out, status = run_command(str(source), "--background", "--json")
    assert (status, [r["line"] for r in json.loads(out)["rejected"]]) == (1, [98])


def test_without_a_broker_a_failed_background_page_says_so(p, client_for, transactional_db):
    client = client_for(p.supervisor)
    upload(client, long_csv(point_code(p)))
    with mock.patch("gridkam.metering.services.readings_import", side_effect=RuntimeError("disk full")):
        response = confirm_in_background(client, follow=True)
    assert [m.level for m in response.context["messages"]] == [ERROR]
    assert ImportBatch.objects.get().failure == FailureReason.ERROR


# --- the cache setting -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "backend"),
    [
        ("", "django.core.cache.backends.locmem.LocMemCache"),
        ("redis://127.0.0.1:6379/1", "django.core.cache.backends.redis.RedisCache"),
    ],
)
def test_cache_url_picks_the_cache(monkeypatch, tmp_path, url, backend):
    monkeypatch.setenv("CACHE_URL", url)
    monkeypatch.setenv("GRIDKAM_DATA_DIR", str(tmp_path))
    config = runpy.run_path(str(Path(__file__).resolve().parents[3] / "config" / "settings.py"))
    assert config["CACHES"]["default"]["BACKEND"] == backend
    if url:
        assert config["CACHES"]["default"]["LOCATION"] == url


def test_an_unknown_cache_url_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("CACHE_URL", "memcached://127.0.0.1:11211")
    monkeypatch.setenv("GRIDKAM_DATA_DIR", str(tmp_path))
    with pytest.raises(ImproperlyConfigured):
        runpy.run_path(str(Path(__file__).resolve().parents[3] / "config" / "settings.py"))
