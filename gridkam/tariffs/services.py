"""Writes to the tariff catalogue and to accounts' monthly quantities."""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gridkam.customers.models import ElectricityAccount

from .choices import UsageSource, VersionStatus
from .models import PRICE_FIELDS, MonthlyUsage, Tariff, TariffVersion

SAMPLE_DIR = Path(__file__).resolve().parent / "data" / "tariffs"

TARIFF_KEYS = {"code", "name", "region", "customer_category", "voltage_band", "structure", "description", "active"}
VERSION_KEYS = {
    "effective_from",
    "status",
    "energy_prices",
    "capacity_yuan_per_kva_month",
    "demand_yuan_per_kw_month",
    "funds_yuan_per_kwh",
    "rules",
    "illustrative",
    "source",
    "notes",
    "calendar",
}
RULE_KEYS = {"pf_counts_leading", "pf_base_includes_funds", "actual_demand_floor"}
# Fields compared when a file names a version that is already published: any difference is refused.
VERSION_FIELDS = [
    *PRICE_FIELDS.values(),
    "capacity_yuan_per_kva_month",
    "demand_yuan_per_kw_month",
    "funds_yuan_per_kwh",
    *sorted(RULE_KEYS),
    "illustrative",
    "source",
    "notes",
    "calendar",
]


@dataclass
class LoadReport:
    """What a tariff load did or, with errors, would have refused: nothing is written then."""

    tariffs_created: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)  # versions, as CODE@YYYY-MM-DD
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    errors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    def add_errors(self, where: str, messages) -> None:
        self.errors.setdefault(where, []).extend(str(m) for m in messages)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "tariffs_created": self.tariffs_created,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": self.errors,
        }


class _Rollback(Exception):
    pass


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, float):
        # Floats cannot hold a price exactly; ask for strings rather than guess.
        raise ValidationError(_('Write prices as strings ("0.6500"), not as numbers with a binary fraction.'))
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ValidationError(_("“%(value)s” is not a number.") % {"value": value}) from None


def _date(value: Any) -> datetime.date:
    try:
        return datetime.date.fromisoformat(str(value))
    except ValueError:
        raise ValidationError(_("“%(value)s” is not a date (YYYY-MM-DD).") % {"value": value}) from None


def _version_values(data: dict) -> dict[str, Any]:
    """A version's model field values from its JSON; raises ValidationError {field: [messages]}."""
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}

    def take(name: str, parse, raw) -> None:
        try:
            values[name] = parse(raw)
        except ValidationError as exc:
            errors.setdefault(name, []).extend(exc.messages)

    take("effective_from", _date, data.get("effective_from"))
    prices = data.get("energy_prices") or {}
    if not isinstance(prices, dict):
        errors["energy_prices"] = [_("Give the energy prices as an object of period → price.")]
        prices = {}
    for key in sorted(set(prices) - set(PRICE_FIELDS)):
        errors.setdefault("energy_prices", []).append(_("Unknown time-of-use period “%(key)s”.") % {"key": key})
    for period, name in PRICE_FIELDS.items():
        take(name, _decimal, prices.get(period))
    for name in ("capacity_yuan_per_kva_month", "demand_yuan_per_kw_month"):
        take(name, _decimal, data.get(name))
    take("funds_yuan_per_kwh", lambda raw: _decimal(raw) or Decimal("0"), data.get("funds_yuan_per_kwh"))
    rules = data.get("rules") or {}
    for key in sorted(set(rules) - RULE_KEYS):
        errors.setdefault("rules", []).append(_("Unknown rule “%(key)s”.") % {"key": key})
    for key in RULE_KEYS:
        values[key] = bool(rules.get(key, False))
    values["illustrative"] = bool(data.get("illustrative", False))
    values["source"] = str(data.get("source", ""))
    values["notes"] = str(data.get("notes", ""))
    values["calendar"] = data.get("calendar")
    status = data.get("status", VersionStatus.PUBLISHED)
    if status not in VersionStatus.values:
        errors["status"] = [_("Use “draft” or “published”.")]
    values["status"] = status
    if errors:
        raise ValidationError(errors)
    return values


def _load_document(report: LoadReport, name: str, data: Any) -> None:
    if not isinstance(data, dict):
        report.add_errors(name, [_("A tariff file holds one JSON object.")])
        return
    unknown = sorted(set(data) - TARIFF_KEYS - {"versions"})
    if unknown:
        report.add_errors(name, [_("Unknown keys: %(keys)s.") % {"keys": ", ".join(unknown)}])
    code = str(data.get("code", "")).strip()
    tariff = Tariff.objects.filter(code=code).first() or Tariff(code=code)
    for key in TARIFF_KEYS - {"code"}:
        if key in data:
            setattr(tariff, key, data[key])
    try:
        tariff.full_clean(validate_unique=tariff.pk is None)
    except ValidationError as exc:
        for key, messages in exc.message_dict.items():
            report.add_errors(f"{name}: {key}", messages)
        return
    created_tariff = tariff.pk is None
    tariff.save()
    if created_tariff:
        report.tariffs_created.append(code)
    versions = data.get("versions") or []
    if not isinstance(versions, list) or not versions:
        report.add_errors(name, [_("A tariff needs at least one version.")])
        return
    seen: set[datetime.date] = set()
    for index, raw in enumerate(versions):
        where = f"{name}: versions[{index}]"
        if not isinstance(raw, dict):
            report.add_errors(where, [_("A version is a JSON object.")])
            continue
        unknown = sorted(set(raw) - VERSION_KEYS)
        if unknown:
            report.add_errors(where, [_("Unknown keys: %(keys)s.") % {"keys": ", ".join(unknown)}])
        try:
            values = _version_values(raw)
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                report.add_errors(f"{where}.{key}", messages)
            continue
        day = values.pop("effective_from")
        if day in seen:
            report.add_errors(where, [_("Two versions from %(date)s.") % {"date": day}])
            continue
        seen.add(day)
        label = f"{code}@{day:%Y-%m-%d}"
        version = TariffVersion.objects.filter(tariff=tariff, effective_from=day).first()
        if version is not None and version.is_published:
            changed = [f for f in VERSION_FIELDS if getattr(version, f) != values[f]]
            if changed:
                report.add_errors(
                    where,
                    [
                        _(
                            "Version %(label)s is published and cannot change (differs in: %(fields)s); "
                            "add a version with a later date instead."
                        )
                        % {"label": label, "fields": ", ".join(changed)}
                    ],
                )
            else:
                report.unchanged.append(label)
            continue
        is_new = version is None
        version = version or TariffVersion(tariff=tariff, effective_from=day)
        for key, value in values.items():
            setattr(version, key, value)
        try:
            version.full_clean()
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                report.add_errors(f"{where}.{key}", messages)
            continue
        if version.is_published and version.published_at is None:
            version.published_at = timezone.now()
        version.save()
        (report.created if is_new else report.updated).append(label)


def tariffs_load(*, documents: list[tuple[str, Any]], dry_run: bool = False) -> LoadReport:
    """Load tariffs from parsed JSON documents (name, data), all or nothing.

    Tariffs are matched by code and versions by (code, effective date). A published version that is
    already there must be identical (a re-load changes nothing); a different one is refused, because
    bills refer to it. Drafts are updated.
    """
    report = LoadReport()
    try:
        with transaction.atomic():
            for name, data in documents:
                _load_document(report, name, data)
            if dry_run or not report.ok:
                raise _Rollback
    except _Rollback:
        pass
    return report


def read_tariff_files(paths: list[Path]) -> tuple[list[tuple[str, Any]], dict[str, list[str]]]:
    """Parse JSON tariff files; unreadable or malformed ones are reported by file name."""
    documents, errors = [], {}
    for path in paths:
        try:
            documents.append((path.name, json.loads(path.read_text(encoding="utf-8"))))
        except OSError as exc:
            errors[path.name] = [_("Cannot read the file: %(error)s") % {"error": exc.strerror or exc}]
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            errors[path.name] = [_("Not valid UTF-8 JSON: %(error)s") % {"error": exc}]
    return documents, errors


def sample_tariff_files() -> list[Path]:
    return sorted(SAMPLE_DIR.glob("*.json"))


def sample_tariffs_load() -> LoadReport:
    documents, errors = read_tariff_files(sample_tariff_files())
    if errors:
        report = LoadReport()
        for name, messages in errors.items():
            report.add_errors(name, messages)
        return report
    return tariffs_load(documents=documents)


@transaction.atomic
def tariff_version_publish(*, version: TariffVersion) -> TariffVersion:
    """Freeze a draft version: from now on bills may use it and it never changes."""
    version = TariffVersion.objects.select_for_update().select_related("tariff").get(pk=version.pk)
    if version.is_published:
        raise ValidationError(_("This version is already published."))
    version.full_clean()
    version.status = VersionStatus.PUBLISHED
    version.published_at = timezone.now()
    version.save(update_fields=["status", "published_at"])
    return version


USAGE_FIELDS = [
    "sharp_kwh",
    "peak_kwh",
    "flat_kwh",
    "valley_kwh",
    "deep_valley_kwh",
    "lagging_kvarh",
    "leading_kvarh",
    "max_demand_kw",
]


@transaction.atomic
def monthly_usage_save(
    *,
    account: ElectricityAccount,
    month: datetime.date,
    values: dict[str, Any],
    source: str = UsageSource.ENTERED,
    user=None,
) -> MonthlyUsage:
    """Create or replace an account's quantities for one month."""
    usage = MonthlyUsage.objects.filter(account=account, month=month).first() or MonthlyUsage(
        account=account, month=month
    )
    for name in USAGE_FIELDS:
        if name in values:
            setattr(usage, name, values[name] if values[name] is not None or name == "max_demand_kw" else Decimal("0"))
    usage.source = source
    usage.updated_by = user
    usage.full_clean(validate_constraints=False)
    usage.save()
    return usage
