"""The customer search: every kind of match, within what the user may see."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def found(client, q):
    response = client.get(reverse("customers:customer_list"), {"q": q})
    assert response.status_code == 200
    return {c.name for c in response.context["object_list"]}


@pytest.mark.parametrize(
    "query",
    ["石化", "惠州石化有限公司", "HZSH", "hzsh", "SH"],
)
def test_name_and_pinyin_initials_find_the_customer(p, client_for, query):
    assert p.a2.name in found(client_for(p.supervisor), query)


def test_credit_code_account_and_meter_number_prefixes_find_the_customer(p, client_for):
    client = client_for(p.supervisor)
    account = p.a2.accounts.get()
    point = account.metering_points.get()
    assert found(client, p.a2.credit_code.lower()) == {p.a2.name}
    assert p.a2.name in found(client, p.a2.credit_code[:8])  # a prefix finds every code starting so
    assert found(client, account.account_no) == {p.a2.name}
    assert found(client, point.meter_no) == {p.a2.name}


def test_search_never_reaches_beyond_what_the_user_sees(p, client_for):
    account = p.b1.accounts.get()
    assert found(client_for(p.supervisor), account.account_no) == set()
    assert found(client_for(p.outsider), account.account_no) == {p.b1.name}
    assert found(client_for(p.customer_user), "惠州") == {p.a1.name, p.a1_sub.name}


def test_no_match_is_an_empty_page_not_an_error(p, client_for):
    assert found(client_for(p.admin), "不存在的企业名称") == set()
