import pytest
from django.core.exceptions import ValidationError

from gridkam.core.models import OrgUnit
from gridkam.core.services import org_unit_create, org_unit_save
from gridkam.users.models import User

pytestmark = pytest.mark.django_db


def test_path_is_built_from_codes(p):
    county = org_unit_create(code="HY", name="惠阳供电局", kind="county", parent=p.city_a)
    assert county.path == "/GD/HZ/HY/"
    assert county.depth == 3
    assert county.ancestor_paths() == ["/GD/", "/GD/HZ/"]


def test_moving_a_unit_moves_its_subtree(p):
    county = org_unit_create(code="HY", name="惠阳供电局", kind="county", parent=p.city_a)
    station = org_unit_create(code="HY1", name="淡水供电所", kind="station", parent=county)
    county.parent = p.city_b
    org_unit_save(unit=county)
    station.refresh_from_db()
    assert station.path == "/GD/ST/HY/HY1/"


def test_a_unit_cannot_move_under_its_own_subtree(p):
    county = org_unit_create(code="HY", name="惠阳供电局", kind="county", parent=p.city_a)
    p.city_a.parent = county
    with pytest.raises(ValidationError):
        org_unit_save(unit=p.city_a)


def test_codes_cannot_contain_slashes(p):
    with pytest.raises(ValidationError):
        org_unit_create(code="A/B", name="x", kind="city", parent=p.province)


def test_staff_see_their_subtree_and_ancestors(p):
    county = org_unit_create(code="HY", name="惠阳供电局", kind="county", parent=p.city_a)
    assert set(OrgUnit.objects.visible_to(p.supervisor)) == {p.province, p.city_a, county}
    assert set(OrgUnit.objects.visible_to(p.outsider)) == {p.province, p.city_b}
    assert set(OrgUnit.objects.visible_to(p.customer_user)) == set()
    assert set(OrgUnit.objects.visible_to(p.admin)) == set(OrgUnit.objects.all())


def test_staff_see_colleagues_of_their_subtree_but_no_portal_users(p):
    seen = set(User.objects.visible_to(p.supervisor))
    assert {p.manager, p.colleague, p.engineer, p.clerk, p.supervisor} <= seen
    assert p.outsider not in seen and p.customer_user not in seen
    assert set(User.objects.visible_to(p.customer_user)) == {p.customer_user}
