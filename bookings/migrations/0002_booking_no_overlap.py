"""On PostgreSQL, forbid overlapping live bookings of one business in the database.

An exclusion constraint over tstzrange(start, end) per business, for held and
confirmed rows. Expired holds still count until released: the booking services
release the expired holds that overlap a slot before they write it. SQLite has
no exclusion constraints; there the services serialize writers instead.
"""

from django.db import migrations

CREATE = """
CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER TABLE bookings_booking ADD CONSTRAINT booking_no_overlap
    EXCLUDE USING gist (business_id WITH =, tstzrange("start", "end", '[)') WITH &&)
    WHERE (status IN ('held', 'confirmed'));
"""
DROP = "ALTER TABLE bookings_booking DROP CONSTRAINT IF EXISTS booking_no_overlap;"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("bookings", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]
