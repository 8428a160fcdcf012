"""The ``risk_score`` and ``risk_backtest`` commands: JSON documents and exit statuses."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from gridkam.billing.models import RiskScore, RiskWarning

from .test_risk_scoring import history


def run(*args) -> dict:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return json.loads(out.getvalue())


def test_risk_score_json(p, account):
    history(account, late=45, unpaid=3)
    summary = run("risk_score", "--date", "2026-07-01", "--json")
    assert summary["scored_on"] == "2026-07-01" and summary["accounts"] == 5 and summary["warnings"] == 1
    assert sum(summary["levels"].values()) == 5 and set(summary["levels"]) == {"low", "medium", "high", "severe"}
    assert RiskScore.objects.count() == 5 and RiskWarning.objects.count() == 1
    only = run("risk_score", "--date", "2026-07-02", "--account", account.account_no, "--json")
    assert only["accounts"] == 1 and only["warnings"] == 0


def test_risk_score_text(p, account):
    out = io.StringIO()
    call_command("risk_score", "--date", "2026-07-01", stdout=out)
    assert "5" in out.getvalue()


@pytest.mark.parametrize(
    "args",
    [("--date", "2026-13-01"), ("--account", "NOPE")],
)
def test_risk_score_rejects_input(p, args):
    with pytest.raises(CommandError) as caught:
        call_command("risk_score", *args)
    assert caught.value.returncode == 1


def test_risk_backtest_json(p, account):
    history(account, months=24, end="2026-03", late=0)
    result = run("risk_backtest", "--date", "2026-11-01", "--json")
    assert set(result) >= {"months", "accounts", "positives", "auc", "levels"}
    assert [row["level"] for row in result["levels"]] == ["low", "medium", "high", "severe"]
    assert result["months"] > 0 and result["positives"] == 0 and result["auc"] is None
    assert set(result["levels"][0]) == {"level", "accounts", "defaulted", "rate"}
    with pytest.raises(CommandError) as caught:
        call_command("risk_backtest", "--days", "0")
    assert caught.value.returncode == 1
