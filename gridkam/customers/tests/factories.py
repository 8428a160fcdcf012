"""factory-boy factories for key-account master data. Most tests use the personas
(gridkam.core.testing); factories make the extra rows a test needs, e.g. 20 customers for a
query-count check."""

from decimal import Decimal

import factory
from factory.django import DjangoModelFactory

from gridkam.core.models import OrgUnit
from gridkam.core.testing import industry, make_credit_code
from gridkam.customers.models import Contact, Customer, ElectricityAccount, MeteringPoint


class OrgUnitFactory(DjangoModelFactory):
    class Meta:
        model = OrgUnit

    code = factory.Sequence(lambda n: f"U{n:04d}")
    name = factory.Sequence(lambda n: f"测试供电局{n}")
    kind = "city"
    path = factory.LazyAttribute(lambda o: f"{o.parent.path if o.parent else '/'}{o.code}/")
    parent = None


class CustomerFactory(DjangoModelFactory):
    class Meta:
        model = Customer

    credit_code = factory.Sequence(lambda n: make_credit_code(500000 + n))
    name = factory.Sequence(lambda n: f"测试实业有限公司{n}")
    name_initials = factory.Sequence(lambda n: f"CSSYYXGS{n}")
    industry = factory.LazyFunction(industry)
    org_unit = factory.SubFactory(OrgUnitFactory)


class AccountFactory(DjangoModelFactory):
    class Meta:
        model = ElectricityAccount

    account_no = factory.Sequence(lambda n: f"09{n:08d}")
    name = factory.LazyAttribute(lambda o: f"{o.customer.name}用电")
    customer = factory.SubFactory(CustomerFactory)
    voltage_kv = "10"
    capacity_kva = Decimal("1250")


class MeteringPointFactory(DjangoModelFactory):
    class Meta:
        model = MeteringPoint

    code = factory.Sequence(lambda n: f"MPF{n:07d}")
    meter_no = factory.Sequence(lambda n: f"MF{n:09d}")
    account = factory.SubFactory(AccountFactory)
    multiplier = Decimal("200")


class ContactFactory(DjangoModelFactory):
    class Meta:
        model = Contact

    customer = factory.SubFactory(CustomerFactory)
    name = factory.Sequence(lambda n: f"联系人{n}")
    role = "energy_manager"
    phone = "13900139000"
