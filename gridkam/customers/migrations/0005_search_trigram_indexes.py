"""Trigram indexes for the customer search on PostgreSQL (docs/BENCHMARKS.md).

`name ILIKE '%…%'` and `name_initials LIKE '%…%'` cannot use a b-tree; pg_trgm's GIN indexes let
PostgreSQL find matches of three or more characters without scanning every customer. Other
databases (SQLite) skip this migration; so does a PostgreSQL where the extension may not be created
(then the search still works, by scanning).
"""

import logging

from django.db import DatabaseError, migrations, transaction

logger = logging.getLogger(__name__)

INDEXES = {
    # Django's icontains compares UPPER(column) with UPPER(pattern) on PostgreSQL.
    "customer_name_trgm": "UPPER(name) gin_trgm_ops",
    "customer_initials_trgm": "name_initials gin_trgm_ops",
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DatabaseError as error:
        logger.warning("pg_trgm is not available (%s); customer search will scan instead of using an index", error)
        return
    for name, expression in INDEXES.items():
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON customers_customer USING gin ({expression})")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("customers", "0004_load_industries")]
    operations = [migrations.RunPython(create, drop)]
