"""``bill_quote --input FILE.json [--json]``: price one month under a tariff, line by line.

The input is the JSON of ``POST /api/v1/billing/quote/`` (docs/tariffs.md); ``--input -`` reads
stdin. Exit status: 0 priced, 1 rejected input (each bad field named), 2 usage error.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from gridkam.tariffs.quoting import quote


class Command(BaseCommand):
    help = "Price one month's quantities under a tariff version and show every line of the bill."

    def add_arguments(self, parser):
        parser.add_argument("--input", required=True, help="quote input JSON file, or - for stdin")
        parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")

    def handle(self, *args, **options):
        name = options["input"]
        try:
            text = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
        except OSError as exc:
            raise CommandError(
                _("Cannot read %(file)s: %(error)s") % {"file": name, "error": exc.strerror or exc}, returncode=2
            ) from None
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            errors = {"input": [_("Not valid JSON: %(error)s") % {"error": exc}]}
            data = None
        else:
            errors = {} if isinstance(data, dict) else {"input": [_("The input must be one JSON object.")]}
        result = None
        if not errors:
            result, errors = quote(data)
        if errors:
            if options["json"]:
                self.stdout.write(json.dumps({"ok": False, "errors": errors}, ensure_ascii=False))
            else:
                for field, messages in errors.items():
                    for message in messages:
                        self.stderr.write(f"{field}: {message}")
            raise CommandError(_("The quote input was rejected."), returncode=1)
        if options["json"]:
            self.stdout.write(json.dumps(result, ensure_ascii=False, indent=2))
            return
        self.stdout.write(self._table(result))

    def _table(self, result: dict) -> str:
        rows = [
            _("Tariff version: %(version)s%(flag)s")
            % {
                "version": result["tariff_version"],
                "flag": _(" (illustrative prices)") if result["illustrative"] else "",
            },
            _("Month: %(month)s") % {"month": result["period"]},
            "",
        ]
        width = max((len(line["label"]) for line in result["lines"]), default=10)
        for line in result["lines"]:
            item = line["label"]
            figures = f"{line['quantity']:>16} × {line['unit_price']:>10} = {line['amount']:>14}"
            rows.append(f"{item:<{width}}  {figures}   {line['rule']}")
        rows.append("")
        pf = result["power_factor"] or "—"
        for label, key in (
            (_("Energy charge"), "energy_charge"),
            (_("Basic charge"), "basic_charge"),
            (_("Power-factor adjustment"), "pf_adjustment"),
            (_("Government funds"), "government_funds"),
            (_("Total"), "total"),
        ):
            rows.append(f"{label}: {result[key]}")
        rows.append(
            _("Power factor %(pf)s, adjustment %(percent)s %%") % {"pf": pf, "percent": result["pf_adjustment_percent"]}
        )
        return "\n".join(rows)
