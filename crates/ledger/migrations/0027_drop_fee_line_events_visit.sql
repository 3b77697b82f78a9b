-- No query looks fee-line events up by visit: a visit's lines are read from `fee_lines` (keyed by
-- `mdtrt_id`) joined to their upload event by `event_seq`, the table's key, and `yibao verify` reads the
-- whole table. The index `fee_line_events_visit` (0006) was only written, one entry per upload and
-- cancellation.

DROP INDEX fee_line_events_visit;
