"""Column specs for Excel exports of the key-account lists (the page tables mirror them)."""

from django.utils.translation import gettext_lazy as _

from gridkam.core.exports import Column

CUSTOMER_COLUMNS = [
    Column(_("Name"), lambda c: c.name, 36),
    Column(_("Unified social credit code"), lambda c: c.credit_code, 22),
    Column(_("Industry"), lambda c: str(c.industry), 28),
    Column(_("Org unit"), lambda c: c.org_unit.name, 18),
    Column(_("Tier"), lambda c: str(c.get_tier_display()), 10),
    Column(_("Importance class"), lambda c: str(c.get_importance_class_display()), 16),
    Column(_("Accounts"), lambda c: c.account_count, 10),
    Column(_("Total capacity (kVA)"), lambda c: c.capacity_total_kva, 16),
    Column(_("Annual consumption (MWh)"), lambda c: c.annual_energy_mwh, 16),
    Column(_("Account manager"), lambda c: c.manager_name or c.manager_username or "", 14),
    Column(_("Credit rating"), lambda c: c.credit_rating, 10),
]

METERING_POINT_COLUMNS = [
    Column(_("Metering point"), lambda p: p.code, 18),
    Column(_("Meter number"), lambda p: p.meter_no, 18),
    Column(_("Account number"), lambda p: p.account.account_no, 16),
    Column(_("Customer"), lambda p: p.account.customer.name, 36),
    Column(_("CT ratio"), lambda p: p.ct_ratio, 10),
    Column(_("PT ratio"), lambda p: p.pt_ratio, 10),
    Column(_("Multiplier"), lambda p: p.multiplier, 10),
    Column(_("Purpose"), lambda p: str(p.get_purpose_display()), 10),
]
