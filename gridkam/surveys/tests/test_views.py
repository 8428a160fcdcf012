"""Survey pages for every persona: the staff list, the send form, the results; the portal list and answer page.
Staff pages: anonymous → login, portal users → 403, staff see only their customers' surveys. Portal pages:
anonymous → login, staff → 403, another customer's user → 404 for a survey id. Query counts do not grow with rows."""

from __future__ import annotations

import io

import pytest
from django.utils import timezone, translation
from openpyxl import load_workbook

from gridkam.core.testing import persona
from gridkam.surveys.choices import SurveyKind
from gridkam.surveys.models import Survey

from .support import DAY, other_customer_user, primary_contact, survey

STAFF_PAGES = ["/surveys/", "/surveys/results/", "/surveys/send/"]


@pytest.fixture
def surveys(p):
    """An answered annual survey of A1 (the manager's), an open one of A3 (the colleague's), one of B1 (outsider's)."""
    now = timezone.now()
    return {
        "a1": survey(
            p.a1,
            recipient=p.customer_user,
            answered=now,
            nps=9,
            comment="供电稳定",
            manager=p.manager,
            reliability_score=5,
            responsiveness_score=4,
            billing_clarity_score=4,
            account_manager_score=5,
        ),
        "a3": survey(p.a3, manager=p.colleague),
        "b1": survey(
            p.b1,
            manager=p.outsider,
            answered=now,
            nps=3,
            comment="汕头的意见",
            reliability_score=2,
            responsiveness_score=2,
            billing_clarity_score=2,
            account_manager_score=2,
        ),
    }


@pytest.mark.parametrize("url", STAFF_PAGES)
@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("anonymous", 302),
        ("customer_user", 403),
        ("other_customer", 403),
        ("manager", 200),
        ("outsider", 200),
        ("supervisor", 200),
        ("admin", 200),
    ],
)
def test_staff_pages_access(p, surveys, client, client_for, url, who, status):
    user = other_customer_user(p) if who == "other_customer" else persona(p, who)
    response = (client_for(user) if user else client).get(url)
    assert response.status_code == status
    if status == 302:
        assert response["Location"].startswith("/accounts/login/") or "login" in response["Location"]


@pytest.mark.parametrize(("who", "status"), [("clerk", 403), ("engineer", 403), ("colleague", 200)])
def test_only_senders_get_the_send_page(p, client_for, who, status):
    assert client_for(getattr(p, who)).get("/surveys/send/").status_code == status


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("manager", {"a1", "a3"}),
        ("colleague", {"a1", "a3"}),
        ("outsider", {"b1"}),
        ("supervisor", {"a1", "a3"}),
        ("admin", {"a1", "a3", "b1"}),
    ],
)
def test_the_list_shows_only_the_customers_the_user_sees(p, surveys, client_for, who, expected):
    response = client_for(getattr(p, who)).get("/surveys/")
    shown = {s.pk for s in response.context["object_list"]}
    assert shown == {surveys[k].pk for k in expected}


def test_the_list_filters_by_status_and_exports(p, surveys, client_for):
    client = client_for(p.manager)
    response = client.get("/surveys/?status=answered")
    assert [s.pk for s in response.context["object_list"]] == [surveys["a1"].pk]
    response = client.get("/surveys/?status=sent&kind=annual")
    assert [s.pk for s in response.context["object_list"]] == [surveys["a3"].pk]
    assert client.get("/surveys/?status=nonsense&year=abc&team=99999999999999999999").status_code == 200
    response = client.get("/surveys/?export=xlsx")
    assert response.status_code == 200
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert len(rows) == 3  # header and two surveys
    assert "供电稳定" in rows[1] + rows[2]


def test_the_list_htmx_partial(p, surveys, client_for):
    response = client_for(p.manager).get("/surveys/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and b"<html" not in response.content


@pytest.mark.parametrize("url", ["/surveys/", "/surveys/results/"])
def test_list_queries_do_not_grow_with_rows(p, client_for, django_assert_max_num_queries, url):
    client = client_for(p.manager)
    survey(p.a1, recipient=p.customer_user, answered=timezone.now(), nps=8, comment="一")
    with django_assert_max_num_queries(40) as few:
        client.get(url)
    for i in range(15):
        survey(p.a2, answered=timezone.now() - i * DAY, nps=i % 11, comment=f"意见{i}", year=2000 + i)
        survey(p.a3, year=2000 + i)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(url)
    assert response.status_code == 200


# --- Send by hand ---------------------------------------------------------------------------------------------


def test_a_manager_sends_the_annual_survey_by_hand(p, client_for):
    primary_contact(p.a2, email="a2@example.com")
    year = timezone.localdate().year
    client = client_for(p.manager)
    response = client.post("/surveys/send/", {"year": year, "scope": "mine", "tier": []})
    assert response.status_code == 302
    assert set(Survey.objects.values_list("customer", flat=True)) == {p.a1.pk, p.a2.pk}
    # Again: nothing twice.
    client.post("/surveys/send/", {"year": year, "scope": "all"})
    assert Survey.objects.count() == 2


def test_send_by_tier_and_team(p, client_for):
    year = timezone.localdate().year
    type(p.a1).objects.filter(pk=p.a1.pk).update(tier="special")
    client = client_for(p.supervisor)
    client.post("/surveys/send/", {"year": year, "scope": "all", "tier": ["first"], "team": p.team_a.pk})
    assert not Survey.objects.exists()
    client.post("/surveys/send/", {"year": year, "scope": "all", "tier": ["special"], "team": p.team_a.pk})
    assert list(Survey.objects.values_list("customer", flat=True)) == [p.a1.pk]


@pytest.mark.parametrize(
    "data",
    [
        {"year": 1999, "scope": "all"},
        {"year": "x", "scope": "all"},
        {"scope": "all"},
        {"year": 2026, "scope": "nobody"},
        {"year": 2026, "scope": "all", "tier": ["gold"]},
    ],
)
def test_send_form_errors_are_field_errors(p, client_for, data):
    response = client_for(p.manager).post("/surveys/send/", data)
    assert response.status_code == 200 and response.context["form"].errors
    assert not Survey.objects.exists()


def test_another_units_team_is_not_a_choice(p, client_for):
    from gridkam.users.models import Team

    other = Team.objects.create(name="汕头一班", org_unit=p.city_b)
    response = client_for(p.manager).post(
        "/surveys/send/", {"year": timezone.localdate().year, "scope": "all", "team": other.pk}
    )
    assert "team" in response.context["form"].errors


# --- Results ----------------------------------------------------------------------------------------------------


def test_results_page_counts_only_visible_customers(p, surveys, client_for):
    response = client_for(p.manager).get("/surveys/results/")
    total = response.context["total"]
    assert (total.sent, total.answered, total.nps) == (2, 1, 100.0)
    assert [s.pk for s in response.context["object_list"]] == [surveys["a1"].pk]
    assert "汕头的意见" not in response.content.decode()
    assert response.context["chart"]["distribution"]["nps"][9] == 1


@pytest.mark.parametrize("by", ["tier", "manager", "team", "period", "bogus"])
@pytest.mark.parametrize("period", ["month", "quarter", "year", "decade"])
def test_results_groupings_render(p, surveys, client_for, by, period):
    response = client_for(p.admin).get(f"/surveys/results/?by={by}&period={period}")
    assert response.status_code == 200
    assert sum(r.sent for r in response.context["results"].groups) == 3


def test_results_export_has_three_sheets(p, surveys, client_for):
    response = client_for(p.admin).get("/surveys/results/?export=xlsx&by=manager")
    book = load_workbook(io.BytesIO(response.content))
    assert len(book.sheetnames) == 3
    groups = list(book.worksheets[0].iter_rows(values_only=True))
    assert groups[1][0] in ("All", "全部") and groups[1][1] == 3


# --- Portal -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"), [("anonymous", 302), ("manager", 403), ("admin", 403), ("customer_user", 200)]
)
def test_portal_list_access(p, surveys, client, client_for, who, status):
    user = persona(p, who)
    assert (client_for(user) if user else client).get("/surveys/portal/").status_code == status


def test_portal_list_shows_open_and_answered(p, surveys, client_for):
    open_one = survey(p.a1, kind=SurveyKind.ANNUAL, recipient=p.customer_user, year=2025)
    expired = survey(p.a1, recipient=p.customer_user, year=2024, sent=timezone.now() - 60 * DAY)
    response = client_for(p.customer_user).get("/surveys/portal/")
    assert [s.pk for s in response.context["open"]] == [open_one.pk]
    assert {s.pk for s in response.context["closed"]} == {surveys["a1"].pk, expired.pk}
    assert response.context["portal_nav"] == "surveys"


def test_portal_list_queries_do_not_grow(p, client_for, django_assert_max_num_queries):
    client = client_for(p.customer_user)
    survey(p.a1, recipient=p.customer_user, year=2000)
    with django_assert_max_num_queries(30) as few:
        client.get("/surveys/portal/")
    for i in range(12):
        survey(p.a1, recipient=p.customer_user, year=2001 + i, answered=timezone.now() if i % 2 else None)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/surveys/portal/")


@pytest.mark.parametrize(
    ("who", "status"),
    [("anonymous", 302), ("manager", 403), ("outsider", 403), ("other_customer", 404), ("customer_user", 200)],
)
def test_answer_page_access(p, client, client_for, who, status):
    s = survey(p.a1, recipient=p.customer_user)
    user = other_customer_user(p) if who == "other_customer" else persona(p, who)
    client = client_for(user) if user else client
    assert client.get(f"/surveys/portal/{s.pk}/").status_code == status
    assert client.post(f"/surveys/portal/{s.pk}/", {"nps": 1}).status_code == status
    assert Survey.objects.get().answered_at is None


def test_ids_of_others_and_beyond_any_id_are_404(p, client_for):
    b1 = survey(p.b1, email="b1@example.com")
    client = client_for(p.customer_user)
    for pk in (b1.pk, 99999999, 2**63, 2**70):
        assert client.get(f"/surveys/portal/{pk}/").status_code == 404


def test_a_customer_user_answers_the_annual_survey_in_the_portal(p, client_for):
    s = survey(p.a1, recipient=p.customer_user)
    client = client_for(p.customer_user)
    page = client.get(f"/surveys/portal/{s.pk}/")
    assert set(page.context["form"].fields) == {
        "nps",
        "reliability_score",
        "responsiveness_score",
        "billing_clarity_score",
        "account_manager_score",
        "comment",
    }
    data = {
        "nps": "10",
        "reliability_score": "5",
        "responsiveness_score": "4",
        "billing_clarity_score": "3",
        "account_manager_score": "5",
        "comment": "客户经理很专业",
    }
    response = client.post(f"/surveys/portal/{s.pk}/", data)
    assert response.status_code == 302 and response["Location"] == "/surveys/portal/"
    s.refresh_from_db()
    assert (s.nps, s.billing_clarity_score, s.comment, s.answered_by) == (10, 3, "客户经理很专业", p.customer_user)
    # A second answer: a clear message, nothing changed.
    again = client.post(f"/surveys/portal/{s.pk}/", {**data, "nps": "0"})
    assert again.status_code == 409
    s.refresh_from_db()
    assert s.nps == 10
    assert client.get(f"/surveys/portal/{s.pk}/").context["state"] == "answered"


def test_missing_scores_are_field_errors(p, client_for, settings):
    settings.LANGUAGE_CODE = "en"
    s = survey(p.a1, recipient=p.customer_user)
    with translation.override("en"):
        response = client_for(p.customer_user).post(f"/surveys/portal/{s.pk}/", {"nps": "11", "comment": "x"})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert set(errors) == {
        "nps",
        "reliability_score",
        "responsiveness_score",
        "billing_clarity_score",
        "account_manager_score",
    }
    assert "Choose a score." in errors["reliability_score"]
    assert Survey.objects.get().answered_at is None


def test_an_expired_survey_shows_a_clear_page(p, client_for):
    s = survey(p.a1, recipient=p.customer_user, sent=timezone.now() - 40 * DAY)
    client = client_for(p.customer_user)
    page = client.get(f"/surveys/portal/{s.pk}/")
    assert page.context["state"] == "expired" and page.context["form"] is None
    assert b'data-testid="survey-expired"' in page.content
    assert (
        client.post(
            f"/surveys/portal/{s.pk}/",
            {
                "nps": "5",
                "reliability_score": "5",
                "responsiveness_score": "5",
                "billing_clarity_score": "5",
                "account_manager_score": "5",
            },
        ).status_code
        == 409
    )


def test_a_request_rated_on_its_page_is_no_longer_asked(p, client_for):
    from .support import resolved_request

    request = resolved_request(p.a1, created_by=p.customer_user)
    s = survey(p.a1, kind=SurveyKind.POST_REQUEST, recipient=p.customer_user, request=request)
    type(request).objects.filter(pk=request.pk).update(status="closed", satisfaction=5)
    response = client_for(p.customer_user).get("/surveys/portal/")
    assert response.context["open"] == []
    # Rated without a survey holding the rating (no ``surveys_mark_rated``): closed, not counted as an answer.
    assert [x.status for x in response.context["closed"]] == ["closed"]
    assert s.pk == response.context["closed"][0].pk
