-- Code tables the platform publishes besides the catalogue (1307 疾病与诊断, 1308 手术操作, 1309
-- 门诊慢特病种, 1310 按病种付费病种, 1311 日间手术治疗病种, 1313 肿瘤形态学, 1314 中医疾病, 1315 中医证候):
-- every import of a table of a pooling region, numbered 1, 2, … per region and table (`infno`), with
-- the day it takes effect (`begndate`, `yyyy-MM-dd`), when it was imported and its text (a header row
-- naming a code and a name column). Importing the same text again is no new version.
CREATE TABLE code_table_versions (
    admdvs    TEXT NOT NULL,
    infno     TEXT NOT NULL,
    ver       BIGINT NOT NULL,
    begndate  TEXT NOT NULL,
    loaded_at TEXT NOT NULL,
    source    TEXT NOT NULL,
    PRIMARY KEY (admdvs, infno, ver)
);
