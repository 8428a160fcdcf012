"""Ids typed by people: ASCII digits only, at most 18 of them; anything else is "no id", never an error."""

import pytest

from gridkam.core.ids import id_from


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1", 1), (" 42 ", 42), (7, 7), ("9" * 18, int("9" * 18)), ("0", 0)],
)
def test_ids(raw, expected):
    assert id_from(raw) == expected


@pytest.mark.parametrize("raw", [None, "", "²", "١٢", "12a", "-1", "1.0", "9" * 19, "\x00", "1e3"])
def test_not_ids(raw):
    assert id_from(raw) is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/portal/requests/new/?customer=²",
        "/messages/portal/?before=²",
        "/portal/bills/?customer=²",
        "/portal/requests/?customer=²",
    ],
)
def test_a_superscript_digit_is_not_an_error_in_the_portal(p, client_for, url):
    assert client_for(p.customer_user).get(url).status_code in (200, 400)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/service/requests/new/?customer=²",
        "/service/requests/?assignee=²",
        "/plans/visits/new/?customer=²&occurrence=²",
        "/tariffs/quote/?account=²",
    ],
)
def test_a_superscript_digit_is_not_an_error_on_staff_pages(p, client_for, url):
    assert client_for(p.manager).get(url).status_code in (200, 400, 404)
