"""The organisation and people endpoints (/api/v1/org-units/, users/, teams/, me/), token sign-in,
and the schema and offline docs pages."""

from __future__ import annotations

import pytest
import yaml
from django.contrib.staticfiles import finders
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from gridkam.core.models import OrgUnit
from gridkam.core.testing import PASSWORD, make_user, persona
from gridkam.users.models import Team

pytestmark = pytest.mark.django_db

API = "/api/v1"


def rows(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return response.json()["results"]


# Org units


@pytest.mark.parametrize(
    "who, expected",
    [
        ("manager", {"GD", "HZ"}),
        ("supervisor", {"GD", "HZ"}),
        ("outsider", {"GD", "ST"}),
        ("admin", {"GD", "HZ", "ST"}),
    ],
)
def test_org_units_show_the_own_subtree_and_the_chain_above(p, api, who, expected):
    assert {u["code"] for u in rows(api(persona(p, who)).get(f"{API}/org-units/"))} == expected


@pytest.mark.parametrize("who, status", [("anonymous", 403), ("customer_user", 403)])
def test_org_units_are_for_staff(p, api, who, status):
    assert api(persona(p, who)).get(f"{API}/org-units/").status_code == status


def test_org_unit_outside_the_view_is_404(p, api):
    assert api(p.manager).get(f"{API}/org-units/{p.city_b.pk}/").status_code == 404
    assert api(p.outsider).get(f"{API}/org-units/{p.city_b.pk}/").json()["path"] == "/GD/ST/"


@pytest.mark.parametrize("who, status", [("supervisor", 403), ("manager", 403), ("admin", 201)])
def test_only_administrators_create_org_units(p, api, who, status):
    body = {"code": "HY", "name": "惠阳供电局", "kind": "county", "parent": p.city_a.pk}
    response = api(persona(p, who)).post(f"{API}/org-units/", body, format="json")
    assert response.status_code == status, response.content
    if status == 201:
        assert response.json()["path"] == "/GD/HZ/HY/" and response.json()["depth"] == 3


def test_moving_an_org_unit_through_the_api_moves_its_subtree(p, api):
    client = api(p.admin)
    county = client.post(
        f"{API}/org-units/", {"code": "HY", "name": "惠阳", "kind": "county", "parent": p.city_a.pk}, format="json"
    ).json()
    client.post(f"{API}/org-units/", {"code": "HY1", "name": "淡水", "kind": "station", "parent": county["id"]})
    response = client.patch(f"{API}/org-units/{county['id']}/", {"parent": p.city_b.pk}, format="json")
    assert response.status_code == 200
    assert OrgUnit.objects.get(code="HY1").path == "/GD/ST/HY/HY1/"


def test_org_unit_errors_come_in_the_error_shape(p, api):
    client = api(p.admin)
    response = client.post(f"{API}/org-units/", {"code": "A/B", "name": "x", "parent": p.city_a.pk}, format="json")
    assert response.status_code == 400 and "code" in response.json()["errors"]
    response = client.patch(f"{API}/org-units/{p.province.pk}/", {"parent": p.city_a.pk}, format="json")
    assert response.status_code == 400 and "parent" in response.json()["errors"]
    response = client.post(f"{API}/org-units/", {"code": "HZ", "name": "重复", "kind": "city"}, format="json")
    assert response.status_code == 400 and "code" in response.json()["errors"]


# Users, teams, me


@pytest.mark.parametrize(
    "who, expected",
    [
        ("manager", {"manager", "colleague", "engineer", "clerk", "supervisor"}),
        ("outsider", {"outsider"}),
        ("admin", {"manager", "colleague", "engineer", "clerk", "supervisor", "outsider", "admin"}),
    ],
)
def test_staff_directory_follows_the_unit_and_leaves_out_portal_users(p, api, who, expected):
    assert {u["username"] for u in rows(api(persona(p, who)).get(f"{API}/users/"))} == expected


def test_staff_directory_filters(p, api):
    client = api(p.supervisor)
    assert {u["username"] for u in rows(client.get(f"{API}/users/?role=account_manager"))} == {"manager", "colleague"}
    assert {u["username"] for u in rows(client.get(f"{API}/users/?team={p.team_a.pk}"))} == {"manager", "colleague"}
    assert [u["username"] for u in rows(client.get(f"{API}/users/?q=赵"))] == ["engineer"]
    assert client.get(f"{API}/users/?role=customer_user").status_code == 400


def test_staff_outside_the_view_are_404_and_the_directory_is_read_only(p, api):
    assert api(p.manager).get(f"{API}/users/{p.outsider.pk}/").status_code == 404
    assert api(p.manager).get(f"{API}/users/{p.colleague.pk}/").json()["team_name"] == "大客户一班"
    assert api(p.admin).post(f"{API}/users/", {"username": "x"}, format="json").status_code == 405


@pytest.mark.parametrize("who, status", [("anonymous", 403), ("customer_user", 403), ("manager", 200)])
def test_users_and_teams_are_for_staff(p, api, who, status):
    assert api(persona(p, who)).get(f"{API}/users/").status_code == status
    assert api(persona(p, who)).get(f"{API}/teams/").status_code == status


def test_teams_of_the_unit(p, api):
    team = rows(api(p.supervisor).get(f"{API}/teams/"))[0]
    assert (team["name"], team["lead_name"], team["org_unit_name"]) == ("大客户一班", "李经理", "惠州供电局")
    assert rows(api(p.outsider).get(f"{API}/teams/")) == []
    assert api(p.outsider).get(f"{API}/teams/{p.team_a.pk}/").status_code == 404


@pytest.mark.parametrize(
    "who, role, unit, can_create",
    [
        ("manager", "account_manager", "HZ", False),
        ("supervisor", "supervisor", "HZ", True),
        ("clerk", "billing_clerk", "HZ", False),
        ("admin", "administrator", "GD", True),
        ("customer_user", "customer_user", None, False),
    ],
)
def test_me_tells_role_unit_and_abilities(p, api, who, role, unit, can_create):
    body = api(persona(p, who)).get(f"{API}/me/").json()
    assert body["username"] == getattr(p, who).username and body["role"] == role
    assert (body["org_unit"] or {}).get("code") == unit
    assert body["can_create_customers"] is can_create
    if who == "customer_user":
        assert body["customer"] == {"id": p.a1.pk, "name": p.a1.name}
        assert body["can_edit_master_data"] is False
    if who == "manager":
        assert body["team"] == {"id": p.team_a.pk, "name": "大客户一班"}


def test_me_needs_a_login(p, api):
    response = api(None).get(f"{API}/me/")
    assert response.status_code == 403 and set(response.json()) == {"detail", "errors"}


# Tokens


def test_token_sign_in_and_use(p):
    client = APIClient()
    response = client.post(f"{API}/auth/token/", {"username": "manager", "password": PASSWORD}, format="json")
    assert response.status_code == 200
    token = response.json()["token"]
    assert Token.objects.get(user=p.manager).key == token
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get(f"{API}/me/").json()["username"] == "manager"
    assert client.get(f"{API}/customers/{p.b1.pk}/").status_code == 404
    again = APIClient().post(f"{API}/auth/token/", {"username": "manager", "password": PASSWORD}, format="json")
    assert again.json()["token"] == token


def test_token_sign_in_with_a_wrong_password_is_a_400_in_the_error_shape(p):
    response = APIClient().post(f"{API}/auth/token/", {"username": "manager", "password": "wrong"}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"detail", "errors"} and response.json()["errors"]["non_field_errors"]


def test_token_sign_in_refuses_an_overlong_user_name_on_the_field(p):
    # Longer than any user name can be, and than the lockout log's column: a field error, not a crash.
    response = APIClient().post(f"{API}/auth/token/", {"username": "x" * 300, "password": "p"}, format="json")
    assert response.status_code == 400 and "username" in response.json()["errors"]


def test_token_sign_in_is_locked_after_repeated_failures(p, settings):
    settings.AXES_FAILURE_LIMIT = 2
    client = APIClient(REMOTE_ADDR="10.0.0.9")
    for _ in range(2):
        client.post(f"{API}/auth/token/", {"username": "clerk", "password": "wrong"}, format="json")
    # Locked out: even the right password gets no token.
    response = client.post(f"{API}/auth/token/", {"username": "clerk", "password": PASSWORD}, format="json")
    assert response.status_code == 400 and "token" not in response.json()
    other_address = APIClient(REMOTE_ADDR="10.0.0.10")
    response = other_address.post(f"{API}/auth/token/", {"username": "clerk", "password": PASSWORD}, format="json")
    assert response.status_code == 200


def test_an_unknown_token_is_refused(p):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef0123456789abcdef01234567")
    assert client.get(f"{API}/me/").status_code in (401, 403)


def test_inactive_users_get_no_token(p):
    user = make_user("leaver", role="account_manager", org_unit=p.city_a, is_active=False)
    response = APIClient().post(f"{API}/auth/token/", {"username": user.username, "password": PASSWORD}, format="json")
    assert response.status_code == 400


# Schema and docs


def test_schema_describes_every_endpoint(client):
    response = client.get(f"{API}/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    paths = set(schema["paths"])
    for path in (
        "/api/v1/customers/",
        "/api/v1/customers/{id}/",
        "/api/v1/customers/{id}/history/",
        "/api/v1/customers/{id}/tier-override/",
        "/api/v1/customers/reassign/",
        "/api/v1/accounts/",
        "/api/v1/metering-points/",
        "/api/v1/contacts/",
        "/api/v1/assignments/",
        "/api/v1/tier-rules/",
        "/api/v1/industries/",
        "/api/v1/org-units/",
        "/api/v1/users/",
        "/api/v1/teams/",
        "/api/v1/me/",
        "/api/v1/auth/token/",
    ):
        assert path in paths, path
    assert {"tokenAuth", "cookieAuth"} <= set(schema["components"]["securitySchemes"])


def test_docs_page_works_offline_from_vendored_assets(client):
    response = client.get(f"{API}/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    assert "cdn" not in html.lower() and "https://" not in html
    # The assets ship in the sidecar package and are collected with the other static files.
    for name in ("swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "swagger-ui.css"):
        assert finders.find(f"drf_spectacular_sidecar/swagger-ui-dist/{name}"), name


# Query counts


def test_org_unit_user_and_team_lists_use_a_constant_number_of_queries(p, api):
    for i in range(20):
        unit = OrgUnit.objects.create(code=f"S{i:02d}", name=f"供电所{i}", kind="station", parent=p.city_a)
        unit.path = unit.build_path()
        unit.save()
        team = Team.objects.create(name=f"班组{i}", org_unit=unit, lead=p.manager)
        make_user(f"staff{i}", role="account_manager", org_unit=unit, team=team)
    client = api(p.admin)
    for url in ("/org-units/", "/users/", "/teams/", "/industries/"):
        counts = []
        for size in (2, 20):
            with CaptureQueriesContext(connection) as queries:
                response = client.get(f"{API}{url}?page_size={size}")
            assert len(response.json()["results"]) == size
            counts.append(len(queries))
        assert counts[0] == counts[1], url
