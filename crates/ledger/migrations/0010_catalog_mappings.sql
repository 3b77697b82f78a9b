-- 目录对照 (3301/3302): an institution's own item codes (`medins_list_codg`, 定点医药机构目录编号)
-- mapped to national codes (`med_list_codg`). A revocation (3302) keeps the row with `vali_flag` 0;
-- an upload (3301) of the same code replaces its mapping. Dates are `yyyy-MM-dd`, `enddate` empty
-- while open.

CREATE TABLE catalog_mappings (
    fixmedins_code    TEXT NOT NULL,
    medins_list_codg  TEXT NOT NULL,
    med_list_codg     TEXT NOT NULL,
    list_type         TEXT NOT NULL,
    medins_list_name  TEXT NOT NULL,
    begndate          TEXT NOT NULL,
    enddate           TEXT NOT NULL,
    vali_flag         TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    content           TEXT NOT NULL,
    PRIMARY KEY (fixmedins_code, medins_list_codg)
);
