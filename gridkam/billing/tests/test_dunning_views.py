"""Dunning pages and API: who sees and who acts (personas), field errors instead of server errors, the
notice print page, and the account card."""

from __future__ import annotations

import datetime

import pytest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from gridkam.billing import dunning
from gridkam.billing.choices import DunningStatus, DunningStepKind
from gridkam.billing.dunning_views import dunning_card
from gridkam.billing.models import DunningCase, DunningStep
from gridkam.core.testing import persona

from .conftest import make_bill

K = DunningStepKind
DAY = datetime.timedelta(days=1)
TODAY = timezone.localdate()


@pytest.fixture
def in_arrears(account):
    make_bill(account, "2025-01", "8800.00", due=TODAY - 45 * DAY)
    return account


def page(account) -> str:
    return reverse("billing:account_dunning", args=[account.pk])


def api_page(account) -> str:
    return f"/api/v1/accounts/{account.pk}/dunning/"


def api_steps(account) -> str:
    return f"/api/v1/accounts/{account.pk}/dunning-steps/"


# --- the account's dunning page ---------------------------------------------------------------------

SEES = {
    "manager": 200,
    "colleague": 200,  # same team
    "engineer": 200,  # field engineer of A1
    "clerk": 200,
    "supervisor": 200,
    "admin": 200,
    "customer_user": 200,  # the portal user's own account, read only
    "outsider": 404,
}


@pytest.mark.parametrize(("who", "expected"), SEES.items())
def test_who_sees_the_dunning_page(p, in_arrears, client_for, who, expected):
    response = client_for(persona(p, who)).get(page(in_arrears))
    assert response.status_code == expected
    if expected == 200:
        assert in_arrears.account_no in response.content.decode()
        assert (b'data-testid="dunning-form"' in response.content) == (who in ("clerk", "supervisor", "admin"))


def test_anonymous_is_sent_to_log_in(p, in_arrears, client):
    response = client.get(page(in_arrears))
    assert response.status_code == 302 and "login" in response["Location"]


ACTS = {
    "clerk": 302,
    "supervisor": 302,
    "admin": 302,
    "manager": 403,
    "engineer": 403,
    "customer_user": 403,
    "outsider": 404,
}


@pytest.mark.parametrize(("who", "expected"), ACTS.items())
def test_who_takes_a_step_on_the_page(p, in_arrears, client_for, who, expected):
    response = client_for(persona(p, who)).post(page(in_arrears), {"kind": K.REMINDER, "done_on": TODAY.isoformat()})
    assert response.status_code == expected
    assert DunningStep.objects.exists() == (expected == 302)


def test_a_refused_step_comes_back_on_the_form(p, account, client_for):
    # No arrears: the reminder is refused, the page shows why on the field, nothing is written.
    response = client_for(p.clerk).post(page(account), {"kind": K.REMINDER, "done_on": TODAY.isoformat()})
    assert response.status_code == 200
    assert response.context["form"].errors["kind"]
    assert b'data-testid="form-errors"' in response.content
    assert not DunningCase.objects.exists()


def test_malformed_input_is_a_field_error(p, in_arrears, client_for):
    response = client_for(p.clerk).post(page(in_arrears), {"kind": "nonsense", "done_on": "31.02.2026"})
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"kind", "done_on"}


def test_the_kind_is_preselected_from_the_workbench_link(p, in_arrears, client_for):
    dunning.step_take(account=in_arrears, kind=K.REMINDER, user=p.clerk, done_on=TODAY - 10 * DAY)
    response = client_for(p.clerk).get(page(in_arrears) + "?kind=written_notice")
    assert response.context["form"].initial["kind"] == "written_notice"


def test_htmx_reminder_from_the_workbench_answers_with_the_action_cell(p, in_arrears, client_for):
    response = client_for(p.clerk).post(
        page(in_arrears), {"kind": K.REMINDER, "done_on": TODAY.isoformat()}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert f'id="action-{in_arrears.pk}"' in body and "<html" not in body
    assert DunningStep.objects.get().kind == K.REMINDER


def test_the_page_lists_cases_and_steps_with_their_notices(p, in_arrears, client_for, django_assert_max_num_queries):
    step = dunning.step_take(account=in_arrears, kind=K.REMINDER, user=p.clerk, done_on=TODAY - 10 * DAY)
    client = client_for(p.manager)
    with django_assert_max_num_queries(20):
        response = client.get(page(in_arrears))
    body = response.content.decode()
    assert reverse("billing:dunning_notice", args=[step.pk]) in body
    assert response.context["state"].next.kind == K.WRITTEN_NOTICE


# --- the notice print page --------------------------------------------------------------------------

NOTICE = {"clerk": 200, "manager": 200, "customer_user": 200, "outsider": 404}


@pytest.mark.parametrize(("who", "expected"), NOTICE.items())
def test_who_prints_a_notice(p, in_arrears, client_for, who, expected):
    step = dunning.step_take(account=in_arrears, kind=K.REMINDER, user=p.clerk, done_on=TODAY)
    response = client_for(persona(p, who)).get(reverse("billing:dunning_notice", args=[step.pk]))
    assert response.status_code == expected
    if expected == 200:
        body = response.content.decode()
        assert "电费缴费提醒" in body and p.a1.name in body and "8800.00" in body


def test_a_step_without_a_notice_has_no_print_page(p, in_arrears, client_for):
    step = dunning.step_take(account=in_arrears, kind=K.REMINDER, user=p.clerk, done_on=TODAY)
    DunningStep.objects.filter(pk=step.pk).update(notice_text="")
    assert client_for(p.clerk).get(reverse("billing:dunning_notice", args=[step.pk])).status_code == 404


def test_the_notice_served_is_kept_even_if_the_bills_change(p, in_arrears, client_for):
    step = dunning.step_take(account=in_arrears, kind=K.REMINDER, user=p.clerk, done_on=TODAY)
    make_bill(in_arrears, "2025-02", "1.00", due=TODAY - 20 * DAY)
    body = client_for(p.clerk).get(reverse("billing:dunning_notice", args=[step.pk])).content.decode()
    assert "2025年2月" not in body


# --- the account card -------------------------------------------------------------------------------


def test_the_account_card_shows_state_next_step_and_link(p, in_arrears, rf):
    dunning.step_take(account=in_arrears, kind=K.REMINDER, user=p.clerk, done_on=TODAY - 1 * DAY)
    card = dunning_card(in_arrears, user=p.manager)
    html = render_to_string("billing/_account_dunning.html", {"dunning": card})
    assert card["state"].next.kind == K.WRITTEN_NOTICE and not card["can_act"]
    assert page(in_arrears) in html and 'data-testid="dunning-next"' in html
    assert str(K.REMINDER.label) in html or "提醒" in html


# --- API ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("who", "expected"), [*SEES.items(), ("anonymous", 403)])
def test_who_reads_the_next_step_in_the_api(p, in_arrears, api, who, expected):
    response = api(persona(p, who)).get(api_page(in_arrears))
    assert response.status_code == expected
    if expected == 200:
        body = response.json()
        assert body["next_step"]["kind"] == K.REMINDER and body["next_step"]["allowed"] is True
        assert body["arrears"] == "8800.00" and body["case"] is None


@pytest.mark.parametrize(("who", "expected"), [*((w, 201 if c == 302 else c) for w, c in ACTS.items())])
def test_who_takes_a_step_in_the_api(p, in_arrears, api, who, expected):
    response = api(persona(p, who)).post(api_steps(in_arrears), {"kind": K.REMINDER}, format="json")
    assert response.status_code == expected, response.content
    if expected == 201:
        assert response.json()["kind"] == K.REMINDER and response.json()["notice_url"]
        assert DunningStep.objects.get().done_on == TODAY


def test_a_refused_step_is_a_400_with_field_errors(p, in_arrears, api):
    client = api(p.clerk)
    client.post(api_steps(in_arrears), {"kind": K.REMINDER, "done_on": (TODAY - 10 * DAY).isoformat()}, format="json")
    client.post(api_steps(in_arrears), {"kind": K.WRITTEN_NOTICE}, format="json")
    response = client.post(
        api_steps(in_arrears),
        {"kind": K.SUSPENSION_NOTICE, "suspension_planned_on": (TODAY + 1 * DAY).isoformat()},
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert body["detail"] and {"approved_by", "done_on", "suspension_planned_on"} <= set(body["errors"])


def test_the_api_approver_must_be_one_who_may_approve(p, in_arrears, api):
    response = api(p.clerk).post(
        api_steps(in_arrears), {"kind": K.REMINDER, "approved_by": p.outsider.pk}, format="json"
    )
    assert response.status_code == 400 and "approved_by" in response.json()["errors"]


def test_the_api_answers_404_for_nonsense_ids(p, api):
    assert api(p.clerk).get("/api/v1/accounts/abc/dunning/").status_code == 404
    assert api(p.clerk).post("/api/v1/accounts/99999999999999999999/dunning-steps/", {}).status_code == 404


def test_dunning_cases_list_and_retrieve(p, in_arrears, api, django_assert_num_queries):
    other = p.b1.accounts.get()
    make_bill(other, "2025-01", "100.00", due=TODAY - 45 * DAY)
    dunning.step_take(account=in_arrears, kind=K.REMINDER, user=p.clerk, done_on=TODAY)
    dunning.step_take(account=other, kind=K.REMINDER, user=p.admin, done_on=TODAY)
    body = api(p.manager).get(f"/api/v1/dunning-cases/?account={in_arrears.pk}").json()
    assert [c["account_no"] for c in body["results"]] == [in_arrears.account_no]
    assert body["results"][0]["steps"][0]["kind"] == K.REMINDER
    assert body["results"][0]["status"] == DunningStatus.OPEN
    # The outsider sees only his own customer's case.
    outsider = api(p.outsider).get("/api/v1/dunning-cases/").json()
    assert [c["account_no"] for c in outsider["results"]] == [other.account_no]
    case = DunningCase.objects.get(account=in_arrears)
    assert api(p.outsider).get(f"/api/v1/dunning-cases/{case.pk}/").status_code == 404
    assert api(p.customer_user).get(f"/api/v1/dunning-cases/{case.pk}/").status_code == 200


def test_dunning_cases_list_query_count_is_constant(p, api, django_assert_num_queries):
    from gridkam.core.testing import make_account

    client = api(p.clerk)

    def grow(n):
        for _ in range(n):
            acc = make_account(customer=p.a3)
            make_bill(acc, "2025-01", "100.00", due=TODAY - 45 * DAY)
            dunning.step_take(account=acc, kind=K.REMINDER, user=p.clerk, done_on=TODAY - 10 * DAY)
            dunning.step_take(account=acc, kind=K.WRITTEN_NOTICE, user=p.clerk, done_on=TODAY)

    grow(2)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as small:
        assert client.get("/api/v1/dunning-cases/").status_code == 200
    grow(18)
    with django_assert_num_queries(len(small)):
        assert len(client.get("/api/v1/dunning-cases/").json()["results"]) == 20


def test_htmx_refusal_shows_the_reason_in_the_cell(p, account, client_for):
    response = client_for(p.clerk).post(
        page(account), {"kind": K.REMINDER, "done_on": TODAY.isoformat()}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert 'class="small text-danger"' in response.content.decode()
    assert not DunningStep.objects.exists()


def test_the_pages_render_in_english_too(p, in_arrears, client_for, settings):
    settings.LANGUAGE_CODE = "en"
    step = dunning.step_take(account=in_arrears, kind=K.REMINDER, user=p.clerk, done_on=TODAY)
    client = client_for(p.clerk)
    for url in (page(in_arrears), reverse("billing:dunning_notice", args=[step.pk]), reverse("billing:workbench")):
        response = client.get(url)
        assert response.status_code == 200
    # The served notice stays in Chinese whatever the page's language.
    assert "电费缴费提醒" in client.get(reverse("billing:dunning_notice", args=[step.pk])).content.decode()
