"""The customer list as the filter form drives it: HTMX partial, search, filters, selection column."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

# What the filter form sends when only the search box is filled: every other field, empty.
FORM_QUERY = "q={q}&org_unit=&tier=&importance_class=&industry=&voltage_kv=&manager="


@pytest.mark.parametrize("htmx", [True, False])
def test_search_with_the_empty_filter_fields_the_form_sends(htmx, p, client_for):
    headers = {"HX-Request": "true"} if htmx else {}
    response = client_for(p.manager).get(
        reverse("customers:customer_list") + "?" + FORM_QUERY.format(q="HZSH"), headers=headers
    )
    assert [c.name for c in response.context["object_list"]] == ["惠州石化有限公司"]
    assert (b"<html" in response.content) is not htmx


def test_an_empty_choice_next_to_a_real_one_still_filters(p, client_for):
    response = client_for(p.supervisor).get(reverse("customers:customer_list") + "?tier=&tier=first&q=")
    assert [c.name for c in response.context["object_list"]] == ["惠州石化有限公司"]


def test_htmx_partial_keeps_the_selection_column_for_supervisors(p, client_for):
    response = client_for(p.supervisor).get(
        reverse("customers:customer_list") + "?q=HZGT", headers={"HX-Request": "true"}
    )
    content = response.content.decode()
    assert content.count('name="customers"') == 2
    assert 'form="reassign-form"' in content
    assert "<html" not in content
