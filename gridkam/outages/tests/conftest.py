from types import SimpleNamespace

import pytest

from ..choices import SupplyRole
from .support import account_of, feeder, substation, supply


@pytest.fixture
def grid(p):
    """City A: feeders f1, f2, f3 of one substation; A1 on f1; A2 (first-class important user) on f1 with f2 as its
    backup; A3 on f2; A1-sub on f3. City B: B1 on its own feeder fb."""
    sub = substation(p.city_a, name="惠州站")
    f1, f2, f3 = feeder(sub, code="F1"), feeder(sub, code="F2"), feeder(sub, code="F3")
    fb = feeder(substation(p.city_b, name="汕头站"), code="FB")
    supply(account_of(p.a1), f1)
    supply(account_of(p.a2), f1)
    supply(account_of(p.a2), f2, SupplyRole.BACKUP)
    supply(account_of(p.a3), f2)
    supply(account_of(p.a1_sub), f3)
    supply(account_of(p.b1), fb)
    return SimpleNamespace(sub=sub, f1=f1, f2=f2, f3=f3, fb=fb)
