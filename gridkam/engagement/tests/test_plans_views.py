"""Plan and visit pages for every persona (outsider and portal user included), tailoring and generation from the
pages, the record-visit form, Excel exports, the customer 360 card, and query counts that do not grow."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from gridkam.core.testing import make_account, make_customer, persona
from gridkam.customers.choices import AssignmentRole
from gridkam.customers.services import assignment_set
from gridkam.engagement.choices import Activity, Frequency, OccurrenceStatus, PlanChangeKind
from gridkam.engagement.models import PlanChange, PlanOccurrence, PlanTemplateItem, ServicePlan, Task, Visit
from gridkam.engagement.plans import plans_generate
from gridkam.engagement.visits import visit_record

from . import test_plans_support as support
from .test_plans_support import set_tier

pytestmark = pytest.mark.django_db
live_plan = support.live_plan  # a fixture
templates = support.templates  # a fixture
READERS = ["manager", "colleague", "engineer", "clerk", "supervisor", "admin"]
TAILORS = ["manager", "engineer", "supervisor", "admin"]
PLAN_LIST = reverse("plans:plan_list")
VISIT_LIST = reverse("plans:visit_list")
VISIT_NEW = reverse("plans:visit_create")
PROGRESS = reverse("plans:progress")
TEMPLATES = reverse("plans:template_list")


def today():
    return timezone.localdate()


def detail(plan):
    return reverse("plans:plan_detail", args=[plan.pk])


def tailor(plan, action):
    return reverse("plans:plan_tailor", args=[plan.pk, action])


def a_visit(p, plan):
    return visit_record(customer=p.a1, visited_on=dt.date(plan.year, 1, 15), user=p.manager)


def test_anonymous_goes_to_login(client, live_plan):
    for url in (PLAN_LIST, detail(live_plan), VISIT_LIST, VISIT_NEW, PROGRESS, TEMPLATES):
        response = client.get(url)
        assert response.status_code == 302 and "login" in response["Location"]


def test_portal_users_get_403_everywhere(p, client_for, live_plan):
    visit = a_visit(p, live_plan)
    client = client_for(p.customer_user)
    for url in (
        PLAN_LIST,
        detail(live_plan),
        VISIT_LIST,
        VISIT_NEW,
        reverse("plans:visit_detail", args=[visit.pk]),
        PROGRESS,
        TEMPLATES,
    ):
        assert client.get(url).status_code == 403, url
    assert client.post(tailor(live_plan, "remove"), {}).status_code == 403
    assert client.post(reverse("plans:plan_generate"), {"year": today().year}).status_code == 403


@pytest.mark.parametrize("name", READERS)
def test_readers_see_the_plan_and_its_visits(p, client_for, live_plan, name):
    visit = a_visit(p, live_plan)
    client = client_for(persona(p, name))
    response = client.get(PLAN_LIST)
    assert response.status_code == 200 and live_plan in response.context["object_list"]
    response = client.get(detail(live_plan))
    assert response.status_code == 200
    assert response.context["can_tailor"] == (name in TAILORS)
    assert (b'data-testid="plan-tailor"' in response.content) == (name in TAILORS)
    assert client.get(VISIT_LIST).context["object_list"][0] == visit
    assert client.get(reverse("plans:visit_detail", args=[visit.pk])).status_code == 200
    assert client.get(PROGRESS).status_code == 200
    assert client.get(TEMPLATES).status_code == 200


def test_outsider_sees_nothing_of_others(p, client_for, live_plan):
    visit = a_visit(p, live_plan)
    client = client_for(p.outsider)
    assert client.get(detail(live_plan)).status_code == 404
    assert client.get(reverse("plans:visit_detail", args=[visit.pk])).status_code == 404
    assert client.post(tailor(live_plan, "remove"), {"remove-reason": "x"}).status_code == 404
    assert list(client.get(PLAN_LIST).context["object_list"]) == []
    assert list(client.get(VISIT_LIST).context["object_list"]) == []
    assert client.get(PROGRESS).context["rows"] == []
    occurrence = PlanOccurrence.objects.filter(customer=p.a1).first()
    response = client.get(VISIT_NEW + f"?occurrence={occurrence.pk}")
    assert response.status_code == 200 and not response.context["form"].initial.get("customer")
    assert client.post(reverse("plans:plan_generate"), {"year": today().year, "customer": p.a1.pk}).status_code == 404


def test_the_year_grid_colours_done_overdue_and_upcoming(p, client_for, live_plan):
    a_visit(p, live_plan)
    response = client_for(p.manager).get(detail(live_plan))
    states = {o.state for row in response.context["rows"] for cell in row["cells"] for o in cell}
    assert "done" in states
    if today() > dt.date(today().year, 2, 28):
        assert "overdue" in states
        assert b'data-state="overdue"' in response.content
    counts = response.context["counts"]
    assert counts["done"] == 1 and counts["due"] == PlanOccurrence.objects.filter(item__plan=live_plan).count()


def test_tailoring_from_the_page(p, client_for, live_plan):
    client = client_for(p.manager)
    item = live_plan.items.get(activity=Activity.TRAINING)
    response = client.post(
        tailor(live_plan, "frequency"),
        {"frequency-item": item.pk, "frequency-frequency": Frequency.SEMIANNUAL, "frequency-reason": "客户新进电工"},
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.frequency == Frequency.SEMIANNUAL
    response = client.post(
        tailor(live_plan, "add"),
        {
            "add-activity": Activity.OTHER,
            "add-frequency": Frequency.ANNUAL,
            "add-owner": p.colleague.pk,
            "add-reason": "配合客户检修",
        },
    )
    assert response.status_code == 302
    assert live_plan.items.filter(activity=Activity.OTHER, owner=p.colleague).exists()
    response = client.post(
        tailor(live_plan, "owner"), {"owner-item": item.pk, "owner-owner": p.colleague.pk, "owner-reason": "调岗"}
    )
    assert response.status_code == 302
    response = client.post(tailor(live_plan, "remove"), {"remove-item": item.pk, "remove-reason": "客户不需要"})
    assert response.status_code == 302
    kinds = set(PlanChange.objects.filter(plan=live_plan).values_list("kind", flat=True))
    assert kinds == {
        PlanChangeKind.GENERATED,
        PlanChangeKind.FREQUENCY,
        PlanChangeKind.ADDED,
        PlanChangeKind.OWNER,
        PlanChangeKind.REMOVED,
    }
    response = client.get(detail(live_plan))
    assert len(response.context["changes"]) == 5


def test_tailoring_without_a_reason_is_a_field_error(p, client_for, live_plan):
    item = live_plan.items.get(activity=Activity.VISIT)
    response = client_for(p.manager).post(
        tailor(live_plan, "frequency"), {"frequency-item": item.pk, "frequency-frequency": Frequency.QUARTERLY}
    )
    assert response.status_code == 400
    assert "reason" in response.context["forms"]["frequency"].errors
    item.refresh_from_db()
    assert item.frequency == Frequency.MONTHLY
    response = client_for(p.manager).post(
        tailor(live_plan, "frequency"),
        {"frequency-item": item.pk, "frequency-frequency": Frequency.MONTHLY, "frequency-reason": "同样"},
    )
    assert response.status_code == 400 and "frequency" in response.context["forms"]["frequency"].errors


@pytest.mark.parametrize("name", ["colleague", "clerk"])
def test_readers_who_may_not_tailor_get_403(p, client_for, live_plan, name):
    item = live_plan.items.get(activity=Activity.VISIT)
    response = client_for(persona(p, name)).post(
        tailor(live_plan, "remove"), {"remove-item": item.pk, "remove-reason": "x"}
    )
    assert response.status_code == 403
    item.refresh_from_db()
    assert item.active


def test_generate_plans_from_the_page(p, client_for, templates):
    year = today().year
    assert client_for(p.manager).post(reverse("plans:plan_generate"), {"year": year}).status_code == 403
    response = client_for(p.supervisor).post(reverse("plans:plan_generate"), {"year": year})
    assert response.status_code == 302
    assert set(ServicePlan.objects.values_list("customer", flat=True)) == {p.a1.pk, p.a1_sub.pk, p.a2.pk, p.a3.pk}
    response = client_for(p.outsider).post(reverse("plans:plan_generate"), {"year": year, "customer": p.b1.pk})
    assert response.status_code == 302 and ServicePlan.objects.filter(customer=p.b1).exists()
    response = client_for(p.supervisor).post(reverse("plans:plan_generate"), {"year": year + 5})
    assert response.status_code == 302
    assert not ServicePlan.objects.filter(year=year + 5).exists()


def test_record_a_visit_from_an_occurrence(p, client_for, live_plan):
    client = client_for(p.engineer)
    occurrence = (
        PlanOccurrence.objects.filter(customer=p.a1, activity=Activity.SAFETY_INSPECTION).order_by("seq").first()
    )
    response = client.get(VISIT_NEW + f"?occurrence={occurrence.pk}")
    assert response.status_code == 200
    assert response.context["form"].initial["occurrence"] == occurrence.pk
    assert response.context["form"].initial["activity"] == Activity.SAFETY_INSPECTION
    data = {
        "customer": p.a1.pk,
        "activity": Activity.SAFETY_INSPECTION,
        "visited_on": today().isoformat(),
        "occurrence": occurrence.pk,
        "participants": [p.engineer.pk],
        "purpose": "安全检查",
        "findings": "电缆沟积水",
        "fu-TOTAL_FORMS": "3",
        "fu-INITIAL_FORMS": "0",
        "fu-MIN_NUM_FORMS": "0",
        "fu-MAX_NUM_FORMS": "10",
        "fu-0-kind": "task",
        "fu-0-description": "跟踪整改",
        "fu-0-priority": "normal",
        "fu-1-kind": "request",
        "fu-1-description": "谐波复测",
        "fu-1-request_type": "power_quality",
        "fu-1-priority": "high",
        "fu-2-priority": "normal",
    }
    response = client.post(VISIT_NEW, data)
    assert response.status_code == 302
    visit = Visit.objects.get()
    occurrence.refresh_from_db()
    assert occurrence.status == OccurrenceStatus.DONE and occurrence.visit == visit
    assert Task.objects.get().link == reverse("plans:visit_detail", args=[visit.pk])
    assert visit.follow_ups.count() == 2
    assert b'data-testid="follow-up"' in client.get(reverse("plans:visit_detail", args=[visit.pk])).content


def test_record_visit_form_errors_write_nothing(p, client_for, live_plan):
    data = {
        "customer": p.a1.pk,
        "activity": Activity.VISIT,
        "visited_on": (today() + dt.timedelta(days=3)).isoformat(),
        "fu-TOTAL_FORMS": "1",
        "fu-INITIAL_FORMS": "0",
        "fu-MIN_NUM_FORMS": "0",
        "fu-MAX_NUM_FORMS": "10",
        "fu-0-kind": "request",
        "fu-0-description": "缺类型",
        "fu-0-priority": "normal",
    }
    response = client_for(p.manager).post(VISIT_NEW, data)
    assert response.status_code == 400
    assert "request_type" in response.context["formset"].forms[0].errors
    data["fu-0-request_type"] = "metering"
    response = client_for(p.manager).post(VISIT_NEW, data)
    assert response.status_code == 400 and "visited_on" in response.context["form"].errors
    assert not Visit.objects.exists() and not Task.objects.exists()
    data["visited_on"] = today().isoformat()
    assert client_for(p.colleague).post(VISIT_NEW, data).status_code == 403
    assert not Visit.objects.exists()


def test_templates_page_read_for_staff_edit_for_the_province(p, client_for, templates):
    item = PlanTemplateItem.objects.get(template__tier="special", activity=Activity.VISIT)
    url = reverse("plans:template_item", args=[item.pk])
    data = {f"item{item.pk}-frequency": "quarterly", f"item{item.pk}-owner_role": "manager", "action": "save"}
    assert client_for(p.manager).post(url, data).status_code == 403
    response = client_for(p.manager).get(TEMPLATES)
    assert not response.context["can_edit"]
    assert client_for(p.supervisor).post(url, data).status_code == 403  # a city's supervisor
    editor = support.province_supervisor(p)
    response = client_for(editor).post(url, data)
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.frequency == Frequency.QUARTERLY
    add = reverse("plans:template_item_add", args=[item.template_id])
    response = client_for(editor).post(
        add,
        {
            f"add{item.template_id}-activity": "visit",
            f"add{item.template_id}-frequency": "monthly",
            f"add{item.template_id}-owner_role": "manager",
        },
    )
    assert response.status_code == 400  # already there
    response = client_for(p.admin).post(reverse("plans:template_reset"))
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.frequency == Frequency.MONTHLY
    response = client_for(editor).get(TEMPLATES)
    assert response.context["can_edit"] and len(response.context["history"]) > 0
    assert not client_for(p.supervisor).get(TEMPLATES).context["can_edit"]


def xlsx_rows(response) -> list[tuple]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    return list(load_workbook(io.BytesIO(response.content), read_only=True).active.iter_rows(values_only=True))


def test_excel_exports_have_the_listed_rows(p, client_for, live_plan):
    plans_generate(year=live_plan.year, user=p.supervisor)
    a_visit(p, live_plan)
    client = client_for(p.supervisor)
    header, *rows = xlsx_rows(client.get(PLAN_LIST + "?export=xlsx&sort=customer"))
    listed = [pl.customer.name for pl in client.get(PLAN_LIST + "?sort=customer").context["object_list"]]
    assert [r[0] for r in rows] == listed and len(rows) == 4
    a1_row = next(r for r in rows if r[0] == p.a1.name)
    assert a1_row[5] == PlanOccurrence.objects.filter(item__plan=live_plan).count() and a1_row[6] == 1
    header, *rows = xlsx_rows(client.get(VISIT_LIST + "?export=xlsx"))
    assert len(rows) == 1 and rows[0][1] == p.a1.name
    header, *rows = xlsx_rows(client.get(PROGRESS + "?by=customer&export=xlsx"))
    assert {r[0] for r in rows} == {p.a1.name, p.a1_sub.name, p.a2.name, p.a3.name}
    header, *rows = xlsx_rows(client.get(PROGRESS + "?by=activity&export=xlsx"))
    assert len(rows) == len({a for a in PlanOccurrence.objects.values_list("activity", flat=True)})


def test_plan_list_filters(p, client_for, live_plan):
    plans_generate(year=live_plan.year, user=p.supervisor)
    client = client_for(p.supervisor)
    names = lambda q: {pl.customer_id for pl in client.get(PLAN_LIST + q).context["object_list"]}  # noqa: E731
    assert names("?tier=special") == {p.a1.pk}
    assert names(f"?owner={p.engineer.pk}") == {p.a1.pk}
    assert names(f"?year={live_plan.year + 1}") == set()
    assert names(f"?org_unit={p.city_a.pk}") == {p.a1.pk, p.a1_sub.pk, p.a2.pk, p.a3.pk}
    admin = client_for(p.admin)
    assert list(admin.get(PLAN_LIST + f"?org_unit={p.city_b.pk}").context["object_list"]) == []
    client = client_for(p.supervisor)
    if today() > dt.date(today().year, 1, 31):
        assert p.a1.pk in names("?overdue=true")


def test_progress_page_groups_and_rejects_bad_spans(p, client_for, live_plan):
    client = client_for(p.supervisor)
    for group in ("customer", "team", "owner", "activity"):
        response = client.get(PROGRESS + f"?by={group}")
        assert response.status_code == 200 and response.context["rows"]
        assert response.context["chart"]["names"]
    response = client.get(PROGRESS + "?start=2026-05-01&end=2026-01-01")
    assert response.status_code == 400 and "end" in response.context["form"].errors
    response = client.get(PROGRESS + "?year=abc")
    assert response.status_code == 400


def test_customer_360_has_the_plan_card(p, client_for, live_plan):
    a_visit(p, live_plan)
    response = client_for(p.manager).get(reverse("customers:customer_detail", args=[p.a1.pk]))
    summary = response.context["service_plan"]
    assert summary.plan_id == live_plan.pk and summary.done == 1
    assert b'data-testid="customer-plan"' in response.content
    response = client_for(p.customer_user).get(reverse("customers:customer_detail", args=[p.a1.pk]))
    assert response.context["service_plan"] is None and b'data-testid="customer-plan"' not in response.content


# --- query counts -----------------------------------------------------------------------------------------------


def add_planned_customers(p, n, start):
    made = []
    for i in range(start, start + n):
        customer = make_customer(name=f"惠州计划测试{i:03d}有限公司", org_unit=p.city_a)
        assignment_set(customer=customer, role=AssignmentRole.MANAGER, user=p.manager)
        assignment_set(customer=customer, role=AssignmentRole.FIELD_ENGINEER, user=p.engineer)
        make_account(customer=customer)
        made.append(set_tier(customer, "first"))
    plans_generate(year=today().year, user=p.supervisor, today=dt.date(today().year, 1, 1))
    for customer in made:
        visit_record(
            customer=customer,
            visited_on=dt.date(today().year, 1, 5),
            participants=[p.manager, p.engineer],
            user=p.supervisor,
        )


def queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize(
    "url",
    [PLAN_LIST, PLAN_LIST + "?overdue=true&sort=-overdue", VISIT_LIST, VISIT_LIST + "?activity=visit&sort=customer"],
)
def test_list_queries_do_not_grow_with_rows(p, client_for, templates, url):
    client = client_for(p.supervisor)
    add_planned_customers(p, 2, 0)
    small = queries(client, url)
    add_planned_customers(p, 18, 2)
    assert len(client.get(url).context["object_list"]) >= 20
    assert queries(client, url) == small


def test_plan_detail_queries_do_not_grow_with_items(p, client_for, live_plan):
    from gridkam.engagement.plans import plan_item_add

    client = client_for(p.manager)
    url = detail(live_plan)
    small = queries(client, url)
    for activity in (Activity.OTHER, Activity.OTHER, Activity.OTHER):
        plan_item_add(
            plan=live_plan,
            activity=activity,
            frequency=Frequency.MONTHLY,
            owner=p.colleague,
            reason="加项",
            user=p.manager,
        )
    visit_record(customer=p.a1, visited_on=dt.date(live_plan.year, 1, 20), user=p.manager)
    assert queries(client, url) == small


def test_visit_list_filters_and_htmx_partial(p, client_for, live_plan):
    year = live_plan.year
    first = visit_record(customer=p.a1, visited_on=dt.date(year, 1, 15), participants=[p.manager], user=p.manager)
    second = visit_record(
        customer=p.a1,
        activity=Activity.SAFETY_INSPECTION,
        visited_on=dt.date(year, 2, 15),
        participants=[p.engineer],
        user=p.engineer,
    )
    other = visit_record(customer=p.a2, visited_on=dt.date(year, 1, 20), user=p.manager)
    client = client_for(p.supervisor)

    def listed(query):
        return {v.pk for v in client.get(VISIT_LIST + query).context["object_list"]}

    assert listed("") == {first.pk, second.pk, other.pk}
    assert listed(f"?customer={p.a2.pk}") == {other.pk}
    assert listed("?activity=safety_inspection") == {second.pk}
    assert listed(f"?date_from={year}-01-16&date_to={year}-01-31") == {other.pk}
    assert listed(f"?participant={p.engineer.pk}") == {second.pk}
    rows = client.get(VISIT_LIST + "?sort=date").context["object_list"]
    assert [v.pk for v in rows] == [first.pk, other.pk, second.pk]
    response = client.get(VISIT_LIST, headers={"HX-Request": "true"})
    assert b"<html" not in response.content and b'data-testid="visit-table"' in response.content
    response = client.get(PLAN_LIST, headers={"HX-Request": "true"})
    assert b"<html" not in response.content and b'data-testid="plan-table"' in response.content


def test_one_customers_plan_from_its_360_card(p, client_for, templates):
    year = today().year
    page = client_for(p.manager).get(reverse("customers:customer_detail", args=[p.a1.pk]))
    assert b'data-testid="customer-plan-generate"' in page.content
    # The colleague sees A1 but is not on its account team: told so on the customer page, nothing generated.
    response = client_for(p.colleague).post(reverse("plans:plan_generate"), {"year": year, "customer": p.a1.pk})
    assert response.status_code == 302 and response.url == reverse("customers:customer_detail", args=[p.a1.pk])
    assert not ServicePlan.objects.exists()
    response = client_for(p.manager).post(reverse("plans:plan_generate"), {"year": year, "customer": p.a1.pk})
    plan = ServicePlan.objects.get(customer=p.a1, year=year)
    assert response.status_code == 302 and response.url == detail(plan)
    page = client_for(p.manager).get(reverse("customers:customer_detail", args=[p.a1.pk]))
    assert b'data-testid="customer-plan-generate"' not in page.content
    assert b'data-testid="customer-plan-link"' in page.content
