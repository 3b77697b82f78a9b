-- Issue 11 §4, the clearing's remaining gaps.
--
-- A rejected clearing (70) is applied again as a new clearing of the same month × insured region ×
-- treating region × scheme, under a new id (`<first id>-<n>`, n = 2, 3, …); `resubmits` names the
-- rejected clearing it replaces (empty for a month's first application). The rejected row is kept
-- as it was; at most one application replaces it.
ALTER TABLE clearing_rows ADD COLUMN resubmits TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX clearing_rows_resubmits ON clearing_rows (resubmits) WHERE resubmits <> '';

-- Releases of the reserve withheld (deduction 40) of a pair × scheme over a period (`yyyy` or
-- `yyyy-MM`), once per period; `amount` is the sum of the reserves of the clearings it paid out.
CREATE TABLE clearing_reserve_releases (
    release_id  TEXT   PRIMARY KEY,
    period      TEXT   NOT NULL,
    insu_admdvs TEXT   NOT NULL,
    trt_admdvs  TEXT   NOT NULL,
    insutype    TEXT   NOT NULL,
    amount      BIGINT NOT NULL,
    reason      TEXT   NOT NULL,
    operator    TEXT   NOT NULL,
    released_at TEXT   NOT NULL
);

-- Each clearing whose reserve a release paid out, once (the key): its whole reserve withheld.
CREATE TABLE clearing_reserve_released (
    clr_id     TEXT   PRIMARY KEY,
    release_id TEXT   NOT NULL,
    amount     BIGINT NOT NULL
);
CREATE INDEX clearing_reserve_released_release ON clearing_reserve_released (release_id);
