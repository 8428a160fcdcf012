"""SLA policy pages and API: access for every persona, field errors, history, reset to defaults."""

from __future__ import annotations

import pytest
from django.urls import reverse

from gridkam.core.testing import persona
from gridkam.customers.choices import Tier
from gridkam.servicedesk.choices import Priority, RequestType
from gridkam.servicedesk.models import SlaPolicy
from gridkam.servicedesk.sla import sla_policies_load

READERS = ["manager", "colleague", "engineer", "clerk", "supervisor", "outsider", "admin"]
APPROVERS = ["supervisor", "admin"]
EVERYONE = [*READERS, "customer_user", "anonymous"]
API = "/api/v1/sla-policies/"


@pytest.fixture
def policies(p):
    sla_policies_load()
    return p


def repair_policy():
    return SlaPolicy.objects.get(tier=Tier.THIRD, request_type=RequestType.REPAIR, priority=Priority.NORMAL)


@pytest.mark.parametrize("name", EVERYONE)
def test_matrix_access(policies, client, client_for, name, django_assert_max_num_queries):
    user = persona(policies, name)
    web = client_for(user) if user else client
    with django_assert_max_num_queries(12):
        response = web.get(reverse("servicedesk:sla_policies"))
    if name == "anonymous":
        assert response.status_code == 302
    elif name == "customer_user":
        assert response.status_code == 403
    else:
        assert response.status_code == 200
        body = response.content.decode()
        assert body.count('data-testid="sla-cell"') == SlaPolicy.objects.count()
        assert ('data-testid="sla-reset"' in body) == (name in APPROVERS)


@pytest.mark.parametrize("name", EVERYONE)
def test_edit_access(policies, client, client_for, name):
    user = persona(policies, name)
    web = client_for(user) if user else client
    policy = repair_policy()
    url = reverse("servicedesk:sla_policy_edit", args=[policy.pk])
    response = web.get(url)
    expected_get = {"anonymous": 302, "customer_user": 403}.get(name, 200)
    assert response.status_code == expected_get
    data = {"clock": "24x7", "response_minutes": 8, "onsite_minutes": 40, "resolution_minutes": 200}
    response = web.post(url, data)
    policy.refresh_from_db()
    if name in APPROVERS:
        assert response.status_code == 302
        assert (policy.response_minutes, policy.onsite_minutes, policy.resolution_minutes) == (8, 40, 200)
        assert policy.updated_by == user
    else:
        assert response.status_code == {"anonymous": 302}.get(name, 403)
        assert policy.response_minutes == 10


def test_edit_field_errors_and_history(policies, client_for):
    web = client_for(policies.supervisor)
    policy = repair_policy()
    url = reverse("servicedesk:sla_policy_edit", args=[policy.pk])
    response = web.post(url, {"clock": "24x7", "response_minutes": 300, "onsite_minutes": "", "resolution_minutes": 0})
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert set(errors) == {"onsite_minutes", "resolution_minutes"}
    response = web.post(
        url, {"clock": "24x7", "response_minutes": 300, "onsite_minutes": 45, "resolution_minutes": 225}
    )
    assert response.status_code == 400 and set(response.context["form"].errors) == {"response_minutes"}
    complaint = SlaPolicy.objects.get(tier=Tier.THIRD, request_type=RequestType.COMPLAINT, priority=Priority.NORMAL)
    response = web.post(
        reverse("servicedesk:sla_policy_edit", args=[complaint.pk]),
        {"clock": "working", "response_minutes": 400, "onsite_minutes": 30, "resolution_minutes": 2000},
    )
    assert response.status_code == 400 and set(response.context["form"].errors) == {"onsite_minutes"}
    response = web.post(
        url, {"clock": "working", "response_minutes": 20, "onsite_minutes": 60, "resolution_minutes": 300}
    )
    assert response.status_code == 302
    page = web.get(url)
    history = page.context["history"]
    assert len(history) == 2
    assert {str(c["field"]) for c in history[0]["changes"]} == {
        str(SlaPolicy._meta.get_field(name).verbose_name)
        for name in ("clock", "response_minutes", "onsite_minutes", "resolution_minutes")
    }


@pytest.mark.parametrize("name", EVERYONE)
def test_reset_to_defaults(policies, client, client_for, name):
    user = persona(policies, name)
    web = client_for(user) if user else client
    SlaPolicy.objects.filter(pk=repair_policy().pk).update(response_minutes=99)
    SlaPolicy.objects.filter(tier=Tier.SPECIAL, request_type=RequestType.OTHER).delete()
    response = web.post(reverse("servicedesk:sla_policies_reset"))
    if name in APPROVERS:
        assert response.status_code == 302
        assert repair_policy().response_minutes == 10
        assert SlaPolicy.objects.filter(tier=Tier.SPECIAL, request_type=RequestType.OTHER).count() == 4
    else:
        assert response.status_code == {"anonymous": 302}.get(name, 403)
        assert repair_policy().response_minutes == 99


@pytest.mark.parametrize("name", EVERYONE)
def test_api_list(policies, api, name, django_assert_max_num_queries):
    client = api(persona(policies, name))
    with django_assert_max_num_queries(6):
        response = client.get(API, {"tier": "third", "request_type": "repair"})
    if name == "anonymous":
        assert response.status_code in (401, 403)
    elif name == "customer_user":
        assert response.status_code == 403
    else:
        assert response.status_code == 200
        rows = response.json()
        rows = rows.get("results", rows) if isinstance(rows, dict) else rows
        assert len(rows) == 4
        normal = next(row for row in rows if row["priority"] == "normal")
        assert (normal["response_minutes"], normal["onsite_minutes"], normal["resolution_minutes"]) == (10, 45, 225)


@pytest.mark.parametrize("name", EVERYONE)
def test_api_patch(policies, api, name):
    user = persona(policies, name)
    client = api(user)
    policy = repair_policy()
    response = client.patch(f"{API}{policy.pk}/", {"response_minutes": 7}, format="json")
    policy.refresh_from_db()
    if name in APPROVERS:
        assert response.status_code == 200
        assert policy.response_minutes == 7 and policy.updated_by == user
    else:
        assert response.status_code in (401, 403)
        assert policy.response_minutes == 10


def test_api_field_errors(policies, api):
    client = api(policies.admin)
    policy = repair_policy()
    response = client.patch(f"{API}{policy.pk}/", {"resolution_minutes": -5}, format="json")
    assert response.status_code == 400 and "resolution_minutes" in response.json()["errors"]
    response = client.patch(f"{API}{policy.pk}/", {"onsite_minutes": None, "resolution_minutes": 0}, format="json")
    assert response.status_code == 400
    assert {"onsite_minutes", "resolution_minutes"} <= set(response.json()["errors"])
    response = client.patch(f"{API}{policy.pk}/", {"response_minutes": 500}, format="json")
    assert response.status_code == 400 and "response_minutes" in response.json()["errors"]
    response = client.patch(f"{API}{policy.pk}/", {"clock": "moon"}, format="json")
    assert response.status_code == 400 and "clock" in response.json()["errors"]
    response = client.put(f"{API}{policy.pk}/", {}, format="json")
    assert response.status_code == 405
