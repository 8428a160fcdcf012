"""Test personas shared by every app's tests (STYLE.md): each view and API test checks access with
them, the outsider included.

``personas()`` builds one small utility: a province with two city units; in city A a team of two
managers with a portfolio each, a field engineer, a billing clerk and a supervisor; in city B a
manager with his own customer; a portal user of customer A1 (a group headquarters) whose scope includes
the subsidiary A1-sub; and an administrator.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from gridkam.core.choices import OrgUnitKind
from gridkam.core.models import OrgUnit
from gridkam.core.services import org_unit_create
from gridkam.customers.choices import AssignmentRole, ContactRole
from gridkam.customers.models import Contact, Customer, ElectricityAccount, Industry, MeteringPoint
from gridkam.customers.services import account_save, assignment_set, customer_save, metering_point_save
from gridkam.customers.validators import CREDIT_CODE_CHARSET, credit_code_check_char
from gridkam.users.choices import Role
from gridkam.users.models import PortalScope, Team, User

PASSWORD = "Persona-pass-2026"


def make_credit_code(seed: int, division: str = "441300") -> str:
    """A valid unified social credit code, distinct for each seed."""
    body_chars = CREDIT_CODE_CHARSET[:31]
    org = ""
    n = seed
    for _ in range(9):
        org = body_chars[n % 10] + org
        n //= 10
    body = "91" + division + org
    return body + credit_code_check_char(body)


def industry(code: str = "C31", name: str = "黑色金属冶炼和压延加工业") -> Industry:
    section = code[0]
    parent, _ = Industry.objects.get_or_create(code=section, defaults={"name": section, "section": section})
    obj, _ = Industry.objects.get_or_create(code=code, defaults={"name": name, "section": section, "parent": parent})
    return obj


_seq = {"n": 0}


def next_seq() -> int:
    _seq["n"] += 1
    return _seq["n"]


def make_customer(*, name: str, org_unit: OrgUnit, parent: Customer | None = None, **fields) -> Customer:
    n = next_seq()
    customer = Customer(
        credit_code=fields.pop("credit_code", make_credit_code(100000 + n)),
        name=name,
        industry=fields.pop("industry", None) or industry(),
        org_unit=org_unit,
        parent=parent,
        **fields,
    )
    return customer_save(customer=customer)


def make_account(*, customer: Customer, capacity_kva: str = "2000", points: int = 1, **fields) -> ElectricityAccount:
    n = next_seq()
    account = account_save(
        account=ElectricityAccount(
            account_no=fields.pop("account_no", f"08{n:08d}"),
            name=fields.pop("name", f"{customer.name}用电"),
            customer=customer,
            voltage_kv=fields.pop("voltage_kv", "10"),
            capacity_kva=Decimal(capacity_kva),
            **fields,
        )
    )
    for i in range(points):
        metering_point_save(
            point=MeteringPoint(
                code=f"MP{n:06d}{i}",
                account=account,
                meter_no=f"M{n:08d}{i}",
                ct_ratio=Decimal("40"),
                pt_ratio=Decimal("100"),
                multiplier=Decimal("4000"),
            )
        )
    return account


def make_tariff(code: str = "GD-TEST-2P", *, structure: str = "two_part", **fields):
    """A catalogue entry without versions; enough for an account to name it."""
    from gridkam.tariffs.models import Tariff

    defaults = {
        "name": fields.pop("name", code),
        "region": "广东省",
        "customer_category": "industrial_commercial",
        "voltage_band": "1-10kV",
        "structure": structure,
        **fields,
    }
    return Tariff.objects.get_or_create(code=code, defaults=defaults)[0]


def make_contact(*, customer: Customer, name: str, role: str = ContactRole.ENERGY_MANAGER, **fields) -> Contact:
    fields.setdefault("phone", "13800138000")
    return Contact.objects.create(customer=customer, name=name, role=role, **fields)


def make_user(username: str, *, role: str, org_unit: OrgUnit | None = None, **fields) -> User:
    user = User(username=username, role=role, org_unit=org_unit, **fields)
    user.set_password(PASSWORD)
    user.save()
    return user


def persona(p: Personas, name: str) -> User | None:
    """A persona by name, for parametrised access matrices; "anonymous" is None."""
    return None if name == "anonymous" else getattr(p, name)


@dataclass
class Personas:
    province: OrgUnit
    city_a: OrgUnit
    city_b: OrgUnit
    team_a: Team
    manager: User  # holds customer A1 (with subsidiary A1-sub) and A2
    colleague: User  # same team, holds customer A3
    engineer: User
    clerk: User
    supervisor: User
    outsider: User  # manager in city B, holds customer B1
    customer_user: User  # portal user of A1, with A1-sub in scope
    admin: User
    a1: Customer
    a1_sub: Customer
    a2: Customer
    a3: Customer
    b1: Customer

    def staff(self) -> dict[str, User]:
        return {
            "manager": self.manager,
            "colleague": self.colleague,
            "engineer": self.engineer,
            "clerk": self.clerk,
            "supervisor": self.supervisor,
            "outsider": self.outsider,
            "admin": self.admin,
        }


def personas() -> Personas:
    province = org_unit_create(code="GD", name="广东电网", kind=OrgUnitKind.PROVINCE)
    city_a = org_unit_create(code="HZ", name="惠州供电局", kind=OrgUnitKind.CITY, parent=province)
    city_b = org_unit_create(code="ST", name="汕头供电局", kind=OrgUnitKind.CITY, parent=province)
    team_a = Team.objects.create(name="大客户一班", org_unit=city_a)
    manager = make_user("manager", role=Role.ACCOUNT_MANAGER, org_unit=city_a, team=team_a, display_name="李经理")
    colleague = make_user("colleague", role=Role.ACCOUNT_MANAGER, org_unit=city_a, team=team_a, display_name="王经理")
    team_a.lead = manager
    team_a.save()
    engineer = make_user("engineer", role=Role.FIELD_ENGINEER, org_unit=city_a, display_name="赵工")
    clerk = make_user("clerk", role=Role.BILLING_CLERK, org_unit=city_a, display_name="钱会计")
    supervisor = make_user("supervisor", role=Role.SUPERVISOR, org_unit=city_a, display_name="孙主任")
    outsider = make_user("outsider", role=Role.ACCOUNT_MANAGER, org_unit=city_b, display_name="周经理")
    admin = make_user("admin", role=Role.ADMINISTRATOR, org_unit=province, is_staff=True, is_superuser=True)

    a1 = make_customer(name="惠州钢铁集团有限公司", org_unit=city_a)
    a1_sub = make_customer(name="惠州钢铁轧钢有限公司", org_unit=city_a, parent=a1)
    a2 = make_customer(name="惠州石化有限公司", org_unit=city_a, importance_class="first")
    a3 = make_customer(name="惠州电子科技有限公司", org_unit=city_a)
    b1 = make_customer(name="汕头纺织有限公司", org_unit=city_b)
    start = dt.date(2025, 1, 1)
    for customer, holder in ((a1, manager), (a1_sub, manager), (a2, manager), (a3, colleague), (b1, outsider)):
        assignment_set(customer=customer, role=AssignmentRole.MANAGER, user=holder, start_date=start)
        make_account(customer=customer)
        make_contact(customer=customer, name=f"{customer.name[:2]}联系人")
    assignment_set(customer=a1, role=AssignmentRole.FIELD_ENGINEER, user=engineer, start_date=start)
    customer_user = make_user("customer", role=Role.CUSTOMER_USER, customer=a1, display_name="钢铁能源经理")
    # A1 is a group headquarters: its manager put the subsidiary in its portal user's scope.
    PortalScope.objects.create(user=customer_user, customer=a1_sub, granted_by=manager)
    return Personas(
        province=province,
        city_a=city_a,
        city_b=city_b,
        team_a=team_a,
        manager=manager,
        colleague=colleague,
        engineer=engineer,
        clerk=clerk,
        supervisor=supervisor,
        outsider=outsider,
        customer_user=customer_user,
        admin=admin,
        a1=a1,
        a1_sub=a1_sub,
        a2=a2,
        a3=a3,
        b1=b1,
    )
