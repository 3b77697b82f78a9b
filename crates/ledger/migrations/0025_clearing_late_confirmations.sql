-- Issue 11 §4: a 3261 confirmation of settlements of a month already cleared (a "late" batch) does
-- not change the month's stored clearing; its rows enter the clearing cycle `cycle_month` (`yyyy-MM`:
-- the month the confirmation was made, or the first month not yet cleared when that one is), with
-- the entries of their chains made before it. Empty for a batch made before its month was cleared.
ALTER TABLE clearing_confirm_batches ADD COLUMN cycle_month TEXT NOT NULL DEFAULT '';
