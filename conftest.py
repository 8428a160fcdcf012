import pytest


@pytest.fixture
def p(db):
    """The standard personas (gridkam.core.testing)."""
    from gridkam.core.testing import personas

    return personas()


@pytest.fixture
def client_for(client):
    """Log the test client in as a persona: ``client_for(p.manager)``."""

    def login(user):
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        return client

    return login


@pytest.fixture
def api():
    """An API client for a persona (None: anonymous): ``api(p.manager).get(...)``."""
    from rest_framework.test import APIClient

    def client_for(user):
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return client_for


@pytest.fixture(scope="session")
def _media_root(tmp_path_factory):
    return tmp_path_factory.mktemp("media")


@pytest.fixture(autouse=True)
def _test_settings(settings, _media_root):
    # Tests read the Chinese UI by default, like users; a test switches to English when it needs to.
    settings.LANGUAGE_CODE = "zh-hans"
    # Uploaded files (photos, attachments) of the tests go to a temporary folder, not the real data/media.
    settings.MEDIA_ROOT = str(_media_root)
    # Argon2 is slow on purpose; tests hash many persona passwords.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # No collectstatic before tests: serve static files unhashed.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _working_day_cache():
    # The working-day calendar caches years in the process; a test's statutory days go away with its rolled-back
    # transaction, and must not be seen by the next test.
    from gridkam.core import workdays

    workdays.cache_clear()
    yield
    workdays.cache_clear()


def pytest_collection_modifyitems(items):
    """Run tests that flush the database (live server, transactional) after all the others.

    A transactional test ends by emptying every table, rows loaded by data migrations included
    (industries, tier rules); tests running after it would miss them. Django's own runner orders
    TransactionTestCase last for the same reason.
    """

    def flushes(item) -> bool:
        fixtures = getattr(item, "fixturenames", ())
        return "transactional_db" in fixtures or "live_server" in fixtures

    items.sort(key=flushes)
