-- The facts of a visit that settlement reads, as columns instead of keys of the `info` document:
-- the certificate type of the visit (`mdtrt_cert_type`), the main diagnosis (`dise_codg`) and whether
-- the patient was referred (`refl_flag`, '1' or '0'). `info` keeps the details as uploaded. Rows from
-- before this migration hold '' here and are read from `info` (see `entries::visit_of`).

ALTER TABLE visits ADD COLUMN mdtrt_cert_type TEXT NOT NULL DEFAULT '';
ALTER TABLE visits ADD COLUMN dise_codg TEXT NOT NULL DEFAULT '';
ALTER TABLE visits ADD COLUMN refl_flag TEXT NOT NULL DEFAULT '';
