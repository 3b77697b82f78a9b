-- The real-time audit's read of a person's live lines (`lookups::person_audit_lines`, and the
-- state's warm-up `persons_audit_lines`): every column it reads in one index by visit, so the
-- read finds a visit's lines together in the index and never visits the wide `fee_lines` rows
-- (the line and reply JSON) themselves.
CREATE INDEX fee_lines_audit ON fee_lines (
    mdtrt_id, upload_seq, med_list_codg, cnt_e4, pric_micro_yuan, det_item_fee_sumamt,
    fulamt_ownpay_amt, med_chrgitm_type
);
