"""A NUL character anywhere in a request is a client error with a message, never a server error
(PostgreSQL refuses NUL in text, so a lookup with one would fail in the database)."""

import pytest
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from django.utils import translation

from gridkam.core.middleware import nul_message
from gridkam.core.parsers import nul_paths
from gridkam.core.testing import personas

pytestmark = pytest.mark.django_db


@pytest.fixture
def p():
    return personas()


@pytest.fixture
def admin_client(client, p):
    client.force_login(p.admin)
    return client


@pytest.mark.parametrize(
    "url, errors",
    [
        ("/api/v1/tariffs/a%00b/", {}),
        ("/api/v1/industries/C%00/", {}),
        ("/api/v1/accounts/?search=a%00b", {"search": [nul_message()]}),
        ("/api/v1/customers/?name=%00&tier=first", {"name": [nul_message()]}),
        ("/api/v1/customers/?a%00=1", {"a\x00": [nul_message()]}),
    ],
)
def test_a_nul_in_the_path_or_the_query_string_of_the_api_is_a_400_with_the_error_shape(admin_client, url, errors):
    response = admin_client.get(url)
    assert response.status_code == 400
    assert response.json() == {"detail": nul_message(), "errors": errors}


def test_a_nul_in_a_page_address_is_a_400(admin_client):
    assert admin_client.get("/customers/?q=a%00b").status_code == 400
    assert admin_client.get("/customers/").status_code == 200


def test_a_nul_in_a_json_body_is_refused_field_by_field(admin_client, p):
    response = admin_client.post(
        "/api/v1/accounts/",
        {"tariff_code": "GD\x00", "account_no": "0001", "name": "ok", "customer": p.a1.pk},
        content_type="application/json",
    )
    assert response.status_code == 400
    with translation.override("zh-hans"):
        assert response.json()["errors"] == {"tariff_code": [nul_message()]}


def test_nul_paths_name_every_place_nested_keys_included():
    data = {"a": "ok", "b": ["x", "y\x00"], "c": {"d\x00": 1, "e": {"f": "\x00"}}, "g": 3}
    assert nul_paths(data) == ["b.1", "c.d\x00", "c.e.f"]
    assert nul_paths("\x00") == ["non_field_errors"]
    assert nul_paths([1, None, True]) == []


@pytest.mark.parametrize("encode", ["multipart", "urlencoded"])
def test_a_nul_in_a_form_body_is_refused_field_by_field(admin_client, p, encode):
    body = {"tariff_code": "\x00", "account_no": "0001", "name": "ok", "customer": p.a1.pk}
    account = p.a1.accounts.get()
    if encode == "multipart":
        response = admin_client.patch(
            f"/api/v1/accounts/{account.pk}/",
            encode_multipart(BOUNDARY, body),
            content_type=MULTIPART_CONTENT,
        )
    else:
        from urllib.parse import urlencode

        response = admin_client.patch(
            f"/api/v1/accounts/{account.pk}/", urlencode(body), content_type="application/x-www-form-urlencoded"
        )
    assert response.status_code == 400
    assert response.json()["errors"] == {"tariff_code": [nul_message()]}
