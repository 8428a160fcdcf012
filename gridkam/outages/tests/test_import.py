"""The account–feeder import: all or nothing, every rejected row with its line and reason, re-import without
duplicates, Chinese role labels, only the accounts and feeders the importer sees."""

from __future__ import annotations

import pytest

from ..models import AccountSupply
from ..services import supplies_import
from .support import account_of


def csv(*lines: str) -> bytes:
    return ("\n".join(("account_no,feeder_code,role", *lines)) + "\n").encode()


def test_a_clean_file_creates_links_and_reimporting_does_not_repeat_them(p, grid):
    a1, a3 = account_of(p.a1).account_no, account_of(p.a3).account_no
    data = csv(f"{a1},F2,备供", f"{a3},F1,backup", f"{a3},F3,")
    first = supplies_import(data=data, user=p.supervisor)
    assert (first["created"], first["updated"], first["unchanged"], first["rejected"]) == (3, 0, 0, [])
    count = AccountSupply.objects.count()
    again = supplies_import(data=csv(f"{a1},F2,backup", f"{a3},F1,main", f"{a3},F3,main"), user=p.supervisor)
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 1, 2)
    assert AccountSupply.objects.count() == count
    assert AccountSupply.objects.get(account__account_no=a3, feeder=grid.f1).role == "main"


def test_every_rejected_row_is_reported_with_its_line_and_nothing_is_written(p, grid):
    a1, b1 = account_of(p.a1).account_no, account_of(p.b1).account_no
    before = AccountSupply.objects.count()
    result = supplies_import(
        data=csv(
            f"{a1},F2,backup",
            "99999999,F1,main",
            f"{a1},NOPE,main",
            f"{a1},F3,sometimes",
            f"{b1},F1,main",
            f"{a1},F2,main",
        ),
        user=p.supervisor,
    )
    assert (result["created"], result["updated"]) == (0, 0)
    rejected = {r["line"]: r["errors"] for r in result["rejected"]}
    assert sorted(rejected) == [3, 4, 5, 6, 7]
    assert "account_no" in rejected[3] and "feeder_code" in rejected[4] and "role" in rejected[5]
    assert "account_no" in rejected[6]  # B1's account is not among the supervisor's
    assert "2" in rejected[7]["row"][0]  # repeats line 2
    assert AccountSupply.objects.count() == before


def test_a_wrong_header_is_one_rejection_on_line_1(p, grid):
    result = supplies_import(data=b"account,feeder\n1,2\n", user=p.supervisor)
    assert result["rejected"][0]["line"] == 1 and result["created"] == 0


def test_only_planners_import(p, grid):
    with pytest.raises(PermissionError):
        supplies_import(data=csv(), user=p.manager)
