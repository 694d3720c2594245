"""Schema version 2: the `acknowledged` mirrors on events and problem are dropped.

Whether an event is acknowledged is its spans' (storage/spans.py, computed at the call's clock);
schema v1 also kept events.acknowledged and problem.acknowledged in step for raw SQL, which nothing
read and which cost every acknowledge two writes to far-apart pages (bench/README.md). The trigger
that kept them in step when a user's spans were deleted goes with them.
"""

SCHEMA_V2 = """
DROP TRIGGER acknowledgement_deleted;
ALTER TABLE events DROP COLUMN acknowledged;
ALTER TABLE problem DROP COLUMN acknowledged;
"""
