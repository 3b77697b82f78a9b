-- Insured periods and waiting periods (待遇等待期) of the person insurance rows, so that the service
-- can decide coverage on the visit date: `insu_endtime` is the last day of the insured period
-- (inclusive; empty while the period is open) and `benefit_begndate` the first day benefits are
-- payable, after any waiting period (empty: from `psn_insu_date`). Dates are `yyyy-MM-dd` text.

ALTER TABLE person_insu ADD COLUMN insu_endtime TEXT NOT NULL DEFAULT '';
ALTER TABLE person_insu ADD COLUMN benefit_begndate TEXT NOT NULL DEFAULT '';
