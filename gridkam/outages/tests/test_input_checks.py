"""Input people type never answers 500 and never probes other units: feeder ids in the preview, dates outside the
years an outage can have (filters, forms, API), and the filters' id choices limited to what the user sees."""

from __future__ import annotations

import pytest

from ..models import Outage
from .support import account_of, outage

pytestmark = pytest.mark.django_db

YEAR_ERROR = "2000"  # "Enter a date between the years 2000 and 2100." (in any language the number stays)


def test_affected_preview_ignores_ids_that_are_not_ascii_digits(p, grid, client_for):
    client = client_for(p.manager)
    assert client.get("/outages/affected/?feeders=%C2%B2").status_code == 200  # "²".isdigit() but int() refuses it
    response = client.get(f"/outages/affected/?feeders=%C2%B2&feeders=x&feeders={grid.f1.pk}")
    assert response.status_code == 200 and p.a1.name in response.content.decode()


@pytest.mark.parametrize(("name", "value"), [("start_to", "9999-12-31"), ("start_from", "0001-01-01")])
def test_out_of_range_filter_dates_are_field_errors_on_the_page_and_in_the_api(p, grid, client_for, api, name, value):
    outage([grid.f1], user=p.supervisor)
    page = client_for(p.supervisor).get(f"/outages/?{name}={value}")
    assert page.status_code == 200 and YEAR_ERROR in page.content.decode()
    response = api(p.supervisor).get(f"/api/v1/outages/?{name}={value}")
    assert response.status_code == 400 and name in response.json()["errors"]
    assert api(p.supervisor).get(f"/api/v1/outages/?{name}=2030-01-01").status_code == 200


def test_the_outage_form_refuses_year_1_with_a_field_error(p, grid, client_for):
    response = client_for(p.supervisor).post(
        "/outages/new/",
        {
            "kind": "planned",
            "feeders": [grid.f1.pk],
            "planned_start": "0001-01-01T00:00",
            "planned_end": "0001-01-01T08:00",
            "reason": "检修",
        },
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "planned_start" in errors and "planned_end" in errors and not Outage.objects.exists()


def test_actual_times_refuse_year_1_with_a_field_error(p, grid, client_for):
    out = outage([grid.f1], user=p.supervisor)
    response = client_for(p.supervisor).post(f"/outages/{out.pk}/actual/", {"actual_start": "0001-01-01T00:00"})
    assert response.status_code == 200 and "actual_start" in response.context["actual_form"].errors
    out.refresh_from_db()
    assert out.actual_start is None


def test_the_api_refuses_out_of_range_times_with_field_errors(p, grid, api):
    client = api(p.supervisor)
    created = client.post(
        "/api/v1/outages/",
        {
            "kind": "planned",
            "feeders": [grid.f1.pk],
            "planned_start": "0001-01-01T00:00:00+09:00",
            "planned_end": "9999-12-31T23:00:00-09:00",
            "reason": "检修",
        },
        format="json",
    )
    assert created.status_code == 400 and {"planned_start", "planned_end"} <= set(created.json()["errors"])
    out = outage([grid.f1], user=p.supervisor)
    finished = client.post(f"/api/v1/outages/{out.pk}/finish/", {"actual_start": "0001-01-01T00:00"}, format="json")
    assert finished.status_code == 400 and "actual_start" in finished.json()["errors"]


def _query_for(grid, p, what: str) -> tuple[str, str, str]:
    """(endpoint, parameter, id of city B's object) for the filters with id choices."""
    other = outage([grid.fb], user=p.admin)
    return {
        "outage-feeder": ("/api/v1/outages/", "feeder", grid.fb.pk),
        "notice-outage": ("/api/v1/outage-notices/", "outage", other.pk),
        "notice-customer": ("/api/v1/outage-notices/", "customer", p.b1.pk),
        "feeder-substation": ("/api/v1/feeders/", "substation", grid.fb.substation_id),
        "supply-feeder": ("/api/v1/account-supplies/", "feeder", grid.fb.pk),
        "supply-account": ("/api/v1/account-supplies/", "account", account_of(p.b1).pk),
        "supply-customer": ("/api/v1/account-supplies/", "customer", p.b1.pk),
    }[what]


@pytest.mark.parametrize(
    "what",
    [
        "outage-feeder",
        "notice-outage",
        "notice-customer",
        "feeder-substation",
        "supply-feeder",
        "supply-account",
        "supply-customer",
    ],
)
def test_filter_ids_of_another_unit_answer_like_ids_that_do_not_exist(p, grid, api, what):
    url, name, pk = _query_for(grid, p, what)
    client = api(p.supervisor)
    theirs = client.get(f"{url}?{name}={pk}")
    missing = client.get(f"{url}?{name}=987654")
    assert theirs.status_code == missing.status_code == 400
    assert theirs.json()["errors"][name] == [m.replace("987654", str(pk)) for m in missing.json()["errors"][name]]
    assert api(p.admin).get(f"{url}?{name}={pk}").status_code == 200


def test_the_pages_filters_offer_only_what_the_user_sees(p, grid, client_for):
    client = client_for(p.supervisor)
    outages = client.get(f"/outages/?feeder={grid.fb.pk}")
    assert "feeder" in outages.context["filter"].errors
    feeders = client.get(f"/outages/feeders/?substation={grid.fb.substation_id}")
    form = feeders.context["filter"].form
    assert "substation" in feeders.context["filter"].errors
    assert set(form.fields["substation"].queryset) == {grid.sub}
    assert f'data-feeder="{grid.fb.pk}"' not in feeders.content.decode()
