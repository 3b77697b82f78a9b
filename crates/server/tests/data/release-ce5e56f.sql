-- The data of a service of the last released state (commit ce5e56f, schema migrations 0001–0003 as kept
-- in schema-ce5e56f/), as that release wrote it: its own HTTP tests' outpatient, inpatient and
-- pharmacy flows run on one SQLite database (settlements, cancellations, an interim settlement, 2601
-- reversals, refunds and cancelled fee lines), then a live settlement of P0003 and a visit of P0004
-- left with uploaded fee lines. Dumped table by table as INSERTs that SQLite and PostgreSQL both read,
-- plus book postings as the region's collection writes them. Frozen: never regenerate it.

INSERT INTO institutions (fixmedins_code, fixmedins_name, fixmedins_type, hosp_lv, admdvs) VALUES
('H36040200001', '九江市第一人民医院', '1', '3', '360402'),
('H36040200002', '九江市第二人民医院', '1', '5', '360402'),
('H36042300021', '永修县某乡镇卫生院', '1', '9', '360423'),
('P36040200031', '九江市某大药房', '2', '11', '360402');

INSERT INTO persons (psn_no, psn_cert_type, certno, psn_name, gend, brdy) VALUES
('P0001', '01', '360402196005010011', '测试甲', '1', '1960-05-01'),
('P0002', '01', '360402197502140022', '测试乙', '1', '1975-02-14'),
('P0003', '01', '360402195501010033', '测试丙', '2', '1955-01-01'),
('P0004', '01', '360402198808080044', '测试丁', '2', '1988-08-08'),
('P0005', '01', '360402199909090055', '测试戊', '1', '1999-09-09');

INSERT INTO person_insu (psn_no, insutype, psn_type, psn_insu_stas, psn_insu_date, insuplc_admdvs, cvlserv_flag, opening_balc, insu_endtime, benefit_begndate) VALUES
('P0001', '390', '16', '1', '2010-01-01', '360400', '0', 0, '', ''),
('P0002', '310', '11', '1', '2005-01-01', '360400', '0', 300000, '', ''),
('P0002', '320', '11', '1', '2005-01-01', '360400', '1', 0, '', ''),
('P0003', '390', '16', '1', '2010-01-01', '360400', '0', 0, '', ''),
('P0004', '390', '16', '1', '2010-01-01', '360400', '0', 0, '', ''),
('P0005', '390', '16', '4', '2010-01-01', '360400', '0', 0, '', '');

INSERT INTO person_idet (psn_no, psn_idet_type, begntime, endtime) VALUES
('P0003', 'DB', '', '');

INSERT INTO policies (admdvs, source, loaded_at) VALUES
('360400', '# 九江市 (pooling region 360400) basic medical insurance benefits — the project''s reference policy.
#
# Provenance (see ../shared/domain/policies.md §a and the settlement-core issue):
#   [primary]      residents'' inpatient deductibles/ratios in and out of the city, workers'' ratios,
#                  互联网复诊 flat amounts, residents'' outpatient pooling 65 % at township/village level.
#   [secondary]    大病 deductible 17,000 / 60 %, tilt 8,500 / 65 % (Jiangxi 2025 compilation).
#   [illustrative] every value marked (i) below: caps, worker deductibles, assistance and backstop
#                  parameters, 两病 60 % and caps. Replace them when the local texts are at hand.
# Amounts are yuan (exact to the fen); ratios are fractions (0.60 = 60 %).

[policy]
admdvs = "360400"
name = "九江市基本医疗保险待遇政策"
version = "2025.1"
effective_from = "2025-01-01"
provenance = "九江 source documents [primary]; Jiangxi 2025 compilation [secondary]; (i) = illustrative"
in_region_prefixes = ["3604"]
line_amount_tolerance = "0.01"

[rounding]
mode = "half_up"   # half away from zero, once per amount: each line''s 先行自付, each fund''s payment
unit_fen = 1

[[levels]]
level = 1
name = "一级及以下"
hosp_lv = ["8", "9", "10", "11", "14"]

[[levels]]
level = 2
name = "二级"
hosp_lv = ["5", "6", "7", "13"]

[[levels]]
level = 3
name = "三级"
hosp_lv = ["1", "2", "3", "4", "12"]

[[funds]]
code = "310100"
name = "职工基本医疗保险统筹基金"
column = "hifp_pay"

[[funds]]
code = "320100"
name = "公务员医疗补助资金"
column = "cvlserv_pay"

[[funds]]
code = "330100"
name = "职工大额医疗费用补助基金"
column = "hifob_pay"

[[funds]]
code = "390100"
name = "城乡居民基本医疗保险基金"
column = "hifp_pay"

[[funds]]
code = "390200"
name = "城乡居民大病医疗保险基金"
column = "hifmi_pay"

[[funds]]
code = "610100"
name = "医疗救助基金"
column = "maf_pay"

[[funds]]
code = "640100"
name = "政府兜底基金"
column = "oth_pay"

# ───────────────────────────── 城乡居民 (390) ─────────────────────────────
[[schemes]]
insutype = "390"
name = "城乡居民基本医疗保险"

[[schemes.flat_items]]
med_list_codg = "1110200002"
name = "互联网复诊"
fund = "390100"
amounts = [{ level = 3, amount = "13.00" }, { level = 2, amount = "9.00" }]

[[schemes.buckets]]
id = "inpatient"
name = "住院"
med_types = ["21"]
fund = "390100"
annual_cap = "100000"          # (i)
deductible_kind = "per_admission"
rates = [
  { region = "in", levels = [1], deductible = "100", ratio = "0.90" },
  { region = "in", levels = [2], deductible = "400", ratio = "0.80" },
  { region = "in", levels = [3], deductible = "600", ratio = "0.60" },
  { region = "out_referred", deductible = "600", ratio = "0.50" },
  { region = "out_unreferred", deductible = "800", ratio = "0.40" },
]

[[schemes.buckets]]
id = "otp_pool"
name = "门诊统筹"
med_types = ["11"]
region = "in"
levels = [1]
fund = "390100"
annual_cap = "400"             # (i)
deductible_kind = "none"
rates = [{ ratio = "0.65" }]

[[schemes.buckets]]
id = "htn"
name = "两病门诊(高血压)"
med_types = ["14"]
dise_prefixes = ["I10"]
region = "in"
levels = [1, 2]
fund = "390100"
annual_cap = "400"             # (i)
deductible_kind = "none"
rates = [{ levels = [1], ratio = "0.60" }, { levels = [2], ratio = "0.50" }]   # 60 % (i)

[[schemes.buckets]]
id = "dm"
name = "两病门诊(糖尿病)"
med_types = ["14"]
dise_prefixes = ["E11"]
region = "in"
levels = [1, 2]
fund = "390100"
annual_cap = "500"             # (i)
deductible_kind = "none"
rates = [{ levels = [1], ratio = "0.60" }, { levels = [2], ratio = "0.50" }]   # 60 % (i)

[schemes.catastrophic]
fund = "390200"
buckets = ["inpatient"]
tiers = [
  { name = "特困/低保/返贫致贫", identities = ["TK", "DB", "FP"], deductible = "8500", ratio = "0.65" },  # no cap (i)
  { name = "普通参保人", deductible = "17000", ratio = "0.60", annual_cap = "300000" },                 # cap (i)
]

[schemes.assistance]
fund = "610100"
buckets = ["inpatient"]
tiers = [
  { name = "特困", identities = ["TK"], ratio = "1.00", annual_cap = "100000" },   # (i)
  { name = "低保", identities = ["DB"], ratio = "0.70", annual_cap = "30000" },    # (i)
  { name = "返贫致贫", identities = ["FP"], ratio = "0.60", annual_cap = "20000" }, # (i)
]

[schemes.backstop]
fund = "640100"
buckets = ["inpatient"]
identities = ["TK", "DB", "FP"]
caps = [                                                   # (i)
  { region = "in", levels = [1, 2], oop_cap = "3000" },
  { region = "in", levels = [3], oop_cap = "5000" },
  { region = "out", oop_cap = "10000" },
]

# ───────────────────────────── 城镇职工 (310) ─────────────────────────────
[[schemes]]
insutype = "310"
name = "职工基本医疗保险"

[schemes.account]
fund = "310200"
name = "职工基本医疗保险个人账户基金"
covers = "all_personal"

[[schemes.flat_items]]
med_list_codg = "1110200002"
name = "互联网复诊"
fund = "310100"
amounts = [{ level = 3, amount = "13.00" }, { level = 2, amount = "9.00" }]

[[schemes.buckets]]
id = "inpatient"
name = "住院"
med_types = ["21"]
fund = "310100"
annual_cap = "100000"          # (i)
deductible_kind = "per_admission"
rates = [
  { region = "in", levels = [1], deductible = "200", ratio = "0.95" },   # deductibles (i)
  { region = "in", levels = [2], deductible = "500", ratio = "0.90" },
  { region = "in", levels = [3], deductible = "800", ratio = "0.85" },
  { region = "out_referred", deductible = "800", ratio = "0.75" },
  { region = "out_unreferred", deductible = "800", ratio = "0.60" },
]

[schemes.large_amount]
fund = "330100"
buckets = ["inpatient"]
ratio = "0.90"                 # (i)
annual_cap = "400000"          # (i)

[schemes.civil_servant]
fund = "320100"
buckets = ["inpatient"]
ratios = [
  { psn_types = ["11"], ratio = "0.96" },   # 在职 (i)
  { psn_types = ["12"], ratio = "0.98" },   # 退休 (i)
]
', '2026-12-07 01:19:37');

INSERT INTO catalogs (admdvs, source, loaded_at) VALUES
('360400', 'med_list_codg,med_list_name,list_type,med_chrgitm_type,chrgitm_lv,selfpay_prop,pric_uplmt_amt,lmt_used_flag,lmt_gend,lmt_age_min,lmt_age_max,lmt_hosp_lv
XJ01CAA040A001010101791,阿莫西林胶囊,101,09,01,0,,0,,,,
XJ01DDA063B002010100445,注射用头孢曲松钠,101,09,02,0.10,,0,,,,
XJ01DHM015B002010100778,注射用美罗培南,101,09,02,0.10,,0,,,,2
XJ01MAL011A001010101567,左氧氟沙星片,101,09,01,0,,0,,,,
XA02BCA050E001010101122,奥美拉唑肠溶胶囊,101,09,02,0.05,,0,,,,
XC10AAA070A001010100112,阿托伐他汀钙片,101,09,02,0.05,,0,,,,
XC08CAA010A001010100987,苯磺酸氨氯地平片,101,09,01,0,,0,,,,
XC09CAA060A001010100576,缬沙坦胶囊,101,09,02,0.05,,0,,,,
XA10BAE020A001010101234,盐酸二甲双胍片,101,09,01,0,,0,,,,
XA10AEG010B002010100221,甘精胰岛素注射液,101,09,02,0.10,,0,,,,
XB05AAR010B002010102345,人血白蛋白注射液,101,09,02,0.20,,1,,,,
XG03DAH032B002010100667,黄体酮注射液,101,09,02,0.05,,0,2,,,
XM01AEB011L001010101450,布洛芬混悬滴剂,101,09,02,0.05,,0,,,6,
XB05BBL001B002010100021,氯化钠注射液,101,09,01,0,,0,,,,
XB05BAF006B002010100349,复方氨基酸注射液(18AA),101,09,02,0.15,,0,,,,
XL01FFA050B002010100871,阿替利珠单抗注射液,101,09,02,0.10,,0,,,,
XL03AXX127B002010100553,注射用胸腺法新,101,09,03,1,,0,,,,
XN05CFZ010A001010100903,酒石酸唑吡坦片,101,09,03,1,,0,,,,
XR06AXL058A001010100331,氯雷他定片,101,09,02,0.10,,0,,,,
ZA04BAL0093010103741,连花清瘟胶囊,101,11,01,0,,0,,,,
ZA12BAG0147010104408,复方丹参滴丸,101,11,02,0.10,,0,,,,
ZA06BAX0312010101526,血塞通注射液,101,11,02,0.15,,0,,,,
ZB02AAS0045010202733,安宫牛黄丸,101,11,03,1,,0,,,,
T000100184,黄芪,102,10,01,0,,0,,,,
T000700317,当归,102,10,01,0,,0,,,,
T000300265,川贝母,102,10,02,0.10,,0,,,,
T001100442,西洋参,102,10,03,1,,0,,,,
110100001,挂号费,201,13,03,1,,0,,,,
110200001,普通门诊诊查费,201,02,01,0,10.00,0,,,,
001102000010000,普通门诊诊察费,201,02,01,0,,0,,,,
001102000020000,急诊诊察费,201,02,01,0,,0,,,,
1110200002,互联网复诊,201,02,01,0,,0,,,,
001201000010000,普通病房床位费,201,01,01,0,40.00,0,,,,
001201000020000,单人间病房床位费,201,01,03,1,,0,,,,
001204000010000,一级护理,201,07,01,0,,0,,,,
001301000010000,重症监护,201,07,01,0,,0,,,,
002101000010000,X线计算机体层(CT)平扫,201,03,02,0.10,,0,,,,
002101000020000,磁共振平扫,201,03,02,0.20,,0,,,,
002201000010000,常规心电图检查,201,03,01,0,,0,,,,
002702000010000,血细胞分析(血常规),201,04,01,0,,0,,,,
002703000010000,糖化血红蛋白测定,201,04,01,0,,0,,,,
003101000010000,静脉输液,201,05,01,0,,0,,,,
003306000010000,经皮冠状动脉支架置入术,201,06,01,0,,0,,,,
003311010010000,腹腔镜下胆囊切除术,201,06,01,0,,0,,,,
003311020010000,阑尾切除术,201,06,01,0,,0,,,,
004101000010000,普通针刺,201,05,02,0.05,,0,,,,
003105000010000,宫颈细胞学检查,201,04,01,0,,0,2,,,
001401000010000,院内会诊,201,14,01,0,,0,,,,
C1304010000000001234,冠状动脉药物洗脱支架,301,08,01,0,4000.00,0,,,,
C0101020000000002231,一次性使用输液器,301,08,01,0,5.00,0,,,,
C1401030000000003317,人工髋关节假体,301,08,02,0.20,20000.00,0,,,,
C0201010000000004410,可吸收缝合线,301,08,02,0.10,,0,,,,
C9901010000000009999,进口可吸收止血纱布,301,08,03,1,,0,,,,
', '2026-12-07 01:19:37');

INSERT INTO id_counters (name, value) VALUES
('mdtrt_id', 9),
('fee_upload', 11),
('setl_id', 13),
('ledger_seq', 13);

INSERT INTO messages (fixmedins_code, msgid, infno, effect_ref, reply, created_at) VALUES
('H36040200001', 'H3604020000120260301100000000002', '2201', 'MDTRT0000000000000001', '{"infcode":0,"inf_refmsgid":"360400202612070119370000000003","refmsg_time":"20261207011937775","respond_time":"20261207011937777","err_msg":null,"warn_msg":"","cainfo":"","signtype":"","output":{"data":{"exp_content":"","ipt_otp_no":"OTP1","mdtrt_id":"MDTRT0000000000000001","psn_no":"P0002"}}}', '2026-12-07 01:19:37'),
('H36040200001', 'H3604020000120260301100000000003', '2203', 'MDTRT0000000000000001', '{"infcode":0,"inf_refmsgid":"360400202612070119370000000004","refmsg_time":"20261207011937778","respond_time":"20261207011937779","err_msg":null,"warn_msg":"","cainfo":"","signtype":"","output":{}}', '2026-12-07 01:19:37'),
('H36040200001', 'H3604020000120260301100000000004', '2204', 'MDTRT0000000000000001', '{"infcode":0,"inf_refmsgid":"360400202612070119370000000005","refmsg_time":"20261207011937780","respond_time":"20261207011937782","err_msg":null,"warn_msg":"","cainfo":"","signtype":"","output":{"result":[{"feedetl_sn":"1","det_item_fee_sumamt":100.00,"pric_uplmt_amt":999999,"selfpay_prop":0.0000,"fulamt_ownpay_amt":0.00,"overlmt_amt":0.00,"preselfpay_amt":0.00,"inscp_scp_amt":100.00,"chrgitm_lv":"01","med_chrgitm_type":"09","lmt_used_flag":"0","memo":""},{"feedetl_sn":"2","det_item_fee_sumamt":100.00,"pric_uplmt_amt":999999,"selfpay_prop":0.1000,"fulamt_ownpay_amt":0.00,"overlmt_amt":0.00,"preselfpay_amt":10.00,"inscp_scp_amt":90.00,"chrgitm_lv":"02","med_chrgitm_type":"09","lmt_used_flag":"0","memo":""},{"feedetl_sn":"3","det_item_fee_sumamt":30.00,"pric_uplmt_amt":999999,"selfpay_prop":1.0000,"fulamt_ownpay_amt":30.00,"overlmt_amt":0.00,"preselfpay_amt":0.00,"inscp_scp_amt":0.00,"chrgitm_lv":"03","med_chrgitm_type":"09","lmt_used_flag":"0","memo":"丙类项目，全自费"}]}}', '2026-12-07 01:19:37'),
('H36040200001', 'H3604020000120260301100000000005', '2204', 'MDTRT0000000000000001', '{"infcode":0,"inf_refmsgid":"360400202612070119370000000006","refmsg_time":"20261207011937783","respond_time":"20261207011937784","err_msg":null,"warn_msg":"","cainfo":"","signtype":"","output":{"result":[{"feedetl_sn":"4","det_item_fee_sumamt":10.00,"pric_uplmt_amt":999999,"selfpay_prop":0.0000,"fulamt_ownpay_amt":0.00,"overlmt_amt":0.00,"preselfpay_amt":0.00,"inscp_scp_amt":10.00,"chrgitm_lv":"01","med_chrgitm_type":"09","lmt_used_flag":"0","memo":""}]}}', '2026-12-07 01:19:37'),
('H36040200001', 'H3604020000120260301100000000006', '2205', 'MDTRT0000000000000001', '{"infcode":0,"inf_refmsgid":"360400202612070119370000000007","refmsg_time":"20261207011937786","respond_time":"20261207011937786","err_msg":null,"warn_msg":"","cainfo":"","signtype":"","output":{}}', '2026-12-07 01:19:37'),
('H36040200001', 'H3604020000120260301100000000008', '2207', 'SETL0000000000000001', '{"infcode":0,"inf_refmsgid":"360400202612070119370000000009","refmsg_time":"20261207011937790","respond_time":"20261207011937794","err_msg":null,"warn_msg":"","cainfo":"","signtype":"","output":{"setlinfo":{"mdtrt_id":"MDTRT0000000000000001","setl_id":"SETL0000000000000001","psn_no":"P0002","psn_name":"测试乙","psn_cert_type":"01","certno":"360402197502140022","gend":"1","naty":"","brdy":"1975-02-14","age":51.0,"insutype":"310","psn_type":"11","cvlserv_flag":"0","setl_time":"2026-12-07 01:19:37","mdtrt_cert_type":"02","med_type":"11","medfee_sumamt":230.00,"fulamt_ownpay_amt":30.00,"overlmt_selfpay":0.00,"preselfpay_amt":10.00,"inscp_scp_amt":190.00,"act_pay_dedc":0.00,"hifp_pay":0.00,"pool_prop_selfpay":0.0000,"cvlserv_pay":0.00,"hifes_pay":0.00,"hifmi_pay":0.00,"hifob_pay":0.00,"maf_pay":0.00,"oth_pay":0.00,"fund_pay_sumamt":0.00,"psn_part_amt":230.00,"acct_pay":230.00,"acct_mulaid_pay":0.00,"psn_cash_pay":0.00,"hosp_part_amt":0.00,"balc":2770.00,"hifdm_pay":0.00,"medins_setl_id":"H3604020000120260301100000000008","clr_optins":"360400","clr_way":"1","clr_type":"11"},"setldetail":[{"fund_pay_type":"310200","fund_pay_type_name":"职工基本医疗保险个人账户基金","inscp_scp_amt":230.00,"crt_payb_lmt_amt":3000.00,"fund_payamt":230.00,"setl_proc_info":"个人账户: 可支付 230.00, 余额 3000.00, 支付 230.00"}]}}', '2026-12-07 01:19:37'),
('H36040200001', 'H3604020000120260301100000000016', '2208', 'SETL0000000000000002', '{"infcode":0,"inf_refmsgid":"360400202612070119370000000018","refmsg_time":"20261207011937808","respond_time":"20261207011937811","err_msg":null,"warn_msg":"","cainfo":"","signtype":"","output":{"setlinfo":{"mdtrt_id":"MDTRT0000000000000001","setl_id":"SETL0000000000000002","psn_no":"P0002","psn_name":"测试乙","psn_cert_type":"01","certno":"360402197502140022","gend":"1","naty":"","brdy":"1975-02-14","age":51.0,"insutype":"310","psn_type":"11","cvlserv_flag":"0","setl_time":"2026-12-07 01:19:37","mdtrt_cert_type":"02","med_type":"11","medfee_sumamt":-230.00,"fulamt_ownpay_amt":-30.00,"overlmt_selfpay":0.00,"preselfpay_amt":-10.00,"inscp_scp_amt":-190.00,"act_pay_dedc":0.00,"hifp_pay":0.00,"pool_prop_selfpay":0.0000,"cvlserv_pay":0.00,"hifes_pay":0.00,"hifmi_pay":0.00,"hifob_pay":0.00,"maf_pay":0.00,"oth_pay":0.00,"fund_pay_sumamt":0.00,"psn_part_amt":-230.00,"acct_pay":-230.00,"acct_mulaid_pay":0.00,"psn_cash_pay":0.00,"hosp_part_amt":0.00,"balc":3000.00,"hifdm_pay":0.00,"medins_setl_id":"H3604020000120260301100000000016","clr_optins":"360400","clr_way":"1","clr_type":"11"},"setldetail":[{"fund_pay_type":"310200","fund_pay_type_name":"职工基本医疗保险个人账户基金","inscp_scp_amt":-230.00,"crt_payb_lmt_amt":3000.00,"fund_payamt":-230.00,"setl_proc_info":"个人账户: 可支付 230.00, 余额 3000.00, 支付 230.00"}]}}', '2026-12-07 01:19:37'),
('H36040200001', 'H3604020000120260301100000000019', '2207', 'SETL0000000000000003', '{"infcode":0,"inf_refmsgid":"360400202612070119370000000021","refmsg_time":"20261207011937816","respond_time":"20261207011937820","err_msg":null,"warn_msg":"","cainfo":"","signtype":"","output":{"setlinfo":{"mdtrt_id":"MDTRT0000000000000001","setl_id":"SETL0000000000000003","psn_no":"P0002","psn_name":"测试乙","psn_cert_type":"01","certno":"360402197502140022","gend":"1","naty":"","brdy":"1975-02-14","age":51.0,"insutype":"310","psn_type":"11","cvlserv_flag":"0","setl_time":"2026-12-07 01:19:37","mdtrt_cert_type":"02","med_type":"11","medfee_sumamt":230.00,"fulamt_ownpay_amt":30.00,"overlmt_selfpay":0.00,"preselfpay_amt":10.00,"inscp_scp_amt":190.00,"act_pay_dedc":0.00,"hifp_pay":0.00,"pool_prop_selfpay":0.0000,"cvlserv_pay":0.00,"hifes_pay":0.00,"hifmi_pay":0.00,"hifob_pay":0.00,"maf_pay":0.00,"oth_pay":0.00,"fund_pay_sumamt":0.00,"psn_part_amt":230.00,"acct_pay":230.00,"acct_mulaid_pay":0.00,"psn_cash_pay":0.00,"hosp_part_amt":0.00,"balc":2770.00,"hifdm_pay":0.00,"medins_setl_id":"H3604020000120260301100000000019","clr_optins":"360400","clr_way":"1","clr_type":"11"},"setldetail":[{"fund_pay_type":"310200","fund_pay_type_name":"职工基本医疗保险个人账户基金","inscp_scp_amt":230.00,"crt_payb_lmt_amt":3000.00,"fund_payamt":230.00,"setl_proc_info":"个人账户: 可支付 230.00, 余额 3000.00, 支付 230.00"}]}}', '2026-12-07 01:19:37'),
('H36040200001', 'H3604020000120260301100000000021', '2401', 'MDTRT0000000000000002', '{"infcode":0,"inf_refmsgid":"360400202612070119370000000023","refmsg_time":"20261207011937825","respond_time":"20261207011937826","err_msg":null,"warn_msg":"","cainfo":"","signtype":"","output":{"result":{"ipt_otp_no":"IPT1","mdtrt_id":"MDTRT0000000000000002","psn_no":"P0001"}}}', '2026-12-07 01:19:37'),
('H36040200001', 'H3604020000120260301100000000022', '2403', 'MDTRT0000000000000002', '{"infcode":0,"inf_refmsgid":"360400202612070119370000000024","refmsg_time":"20261207011937828","respond_time":"20261207011937828","err_msg":null,"warn_msg":"","cainfo":"","signtype":"","output":{}}', '2026-12-07 01:19:37'),
('H36040200001', 'H3604020000120260301100000000023', '2301', 'MDTRT0000000000000002', '{"infcode":0,"inf_refmsgid":"360400202612070119370000000025","refmsg_time":"20261207011937829","respond_time":"20261207011937834","err_msg":null,"warn_msg":"","cainfo":"","signtype":"","output":{"result":[{"feedetl_sn":"1","det_item_fee_sumamt":400.00,"pric_uplmt_amt":40.000000,"selfpay_prop":0.0000,"fulamt_ownpay_amt":0.00,"overlmt_amt":0.00,"preselfpay_amt":0.00,"inscp_scp_amt":400.00,"chrgitm_lv":"01","med_chrgitm_type":"01","lmt_used_flag":"0","memo":""},{"feedetl_sn":"2","det_item_fee_sumamt":5000.00,"pric_uplmt_amt":999999,"selfpay_prop":0.1000,"fulamt_ownpay_amt":0.00,"overlmt_amt":0.00,"preselfpay_amt":500.00,"inscp_scp_amt":4500.00,"chrgitm_lv":"02","med_chrgitm_type":"09","lmt_used_flag":"0","memo":""}]}}', '2026-12-07 01:19:37'),
('H36040200001', 'H3604020000120260301100000000024', '2301', 'MDTRT0000000000000002', '{"infcode":0,"inf_refmsgid":"360400202612070119370000000026","refmsg_time":"20261207011937835","respond_time":"20261207011937837","err_msg":null,"warn_msg":"","cainfo":"","signtype":"","output":{"result":[{"feedetl_sn":"3","det_item_fee_sumamt":-1000.00,"pric_uplmt_amt":999999,"selfpay_prop":0.1000,"fulamt_ownpay_amt":0.00,"overlmt_amt":0.00,"preselfpay_amt":-100.00,"inscp_scp_amt":-900.00,"chrgitm_lv":"02","med_chrgitm_type":"09","lmt_used_flag":"0","memo":""}]}}', '2026-12-07 01:19:37'),
('H36040200001', 'H3604020000120260301100000000027', '2304', 'SETL0000000000000004', '{"infcode":0,"inf_refmsgid":"360400202612070119370000000029","refmsg_time":"20261207011937842","respond_time":"20261207011937845","err_msg":null,"warn_msg":"","cainfo":"","signtype":"","output":{"setlinfo":{"mdtrt_id":"MDTRT0000000000000002","setl_id":"SETL0000000000000004","psn_no":"P0001","psn_name":"测试甲","psn_cert_type":"01","certno":"360402196005010011","gend":"1","naty":"","brdy":"1960-05-01","age":66.0,"insutype":"390","psn_type":"16","cvlserv_flag":"0","setl_time":"2026-12-07 01:19:37","mdtrt_cert_type":"02","med_type":"21","medfee_sumamt":4400.00,"fulamt_ownpay_amt":0.00,"overlmt_selfpay":0.00,"preselfpay_amt":400.00,"inscp_scp_amt":4000.00,"act_pay_dedc":600.00,"hifp_pay":2040.00,"pool_prop_selfpay":0.0000,"cvlserv_pay":0.00,"hifes_pay":0.00,"hifmi_pay":0.00,"hifob_pay":0.00,"maf_pay":0.00,"oth_pay":0.00,"fund_pay_sumamt":2040.00,"psn_part_amt":2360.00,"acct_pay":0.00,"acct_mulaid_pay":0.00,"psn_cash_pay":2360.00,"hosp_part_amt":0.00,"balc":0.00,"hifdm_pay":0.00,"medins_setl_id":"H3604020000120260301100000000027","clr_optins":"360400","clr_way":"1","clr_type":"21"},"setldetail":[{"fund_pay_type":"390100","fund_pay_type_name":"城乡居民基本医疗保险基金","inscp_scp_amt":3400.00,"crt_payb_lmt_amt":100000.00,"fund_payamt":2040.00,"setl_proc_info":"城乡居民基本医疗保险基金 390100: (3400.00 起付后) × 60% = 2040.00, 剩余限额 100000.00, 支付 2040.00"},{"fund_pay_type":"390200","fund_pay_type_name":"城乡居民大病医疗保险基金","inscp_scp_amt":1960.00,"crt_payb_lmt_amt":300000.00,"fund_payamt":0.00,"setl_proc_info":"城乡居民大病医疗保险基金 390200 [普通参保人]: 年度累计 0.00 + 本次 1960.00, 起付线 17000.00, 本次应付 0.00, 剩余限额 300000.00, 支付 0.00"}]}}', '2026-12-07 01:19:37'),
('H36040200001', 'H3604020000120260301100000000029', '2301', 'MDTRT0000000000000002', '{"infcode":0,"inf_refmsgid":"360400202612070119370000000031","refmsg_time":"20261207011937848","respond_time":"20261207011937849","err_msg":null,"warn_msg":"","cainfo":"","signtype":"","output":{"result":[{"feedetl_sn":"5","det_item_fee_sumamt":200.00,"pric_uplmt_amt":40.000000,"selfpay_prop":0.0000,"fulamt_ownpay_amt":0.00,"overlmt_amt":0.00,"preselfpay_amt":0.00,"inscp_scp_amt":200.00,"chrgitm_lv":"01","med_chrgitm_type":"01","lmt_used_flag":"0","memo":""},{"feedetl_sn":"6","det_item_fee_sumamt":40.00,"pric_uplmt_amt":40.000000,"selfpay_prop":0.0000,"fulamt_ownpay_amt":0.00,"overlmt_amt":0.00,"preselfpay_amt":0.00,"inscp_scp_amt":40.00,"chrgitm_lv":"01","med_chrgitm_type":"01","lmt_used_flag":"0","memo":""}]}}', '2026-12-07 01:19:37'),
('H36040200001', 'H3604020000120260301100000000030', '2302', 'MDTRT0000000000000002', '{"infcode":0,"inf_refmsgid":"360400202612070119370000000032","refmsg_time":"20261207011937850","respond_time":"20261207011937851","err_msg":null,"warn_msg":"","cainfo":"","signtype":"","output":{}}', '2026-12-07 01:19:37'),
('H36040200001', 'H3604020000120260301100000000031', '2402', 'MDTRT0000000000000002', '{"infcode":0,"inf_refmsgid":"360400202612070119370000000033","refmsg_time":"20261207011937852","respond_time":"20261207011937853","err_msg":null,"warn_msg":"","cainfo":"","signtype":"","output":{}}', '2026-12-07 01:19:37'),
('H36040200001', 'H3604020000120260301100000000032', '2405', 'MDTRT0000000000000002', '{"infcode":0,"inf_refmsgid":"360400202612070119370000000034","refmsg_time":"20261207011937854","respond_time":"20261207011937858","err_msg":null,"warn_msg":"","cainfo":"","signtype":"","output":{}}', '2026-12-07 01:19:37'),
('H36040200001', 'H3604020000120260301100000000033', '2402', 'MDTRT0000000000000002', '{"infcode":0,"inf_refmsgid":"360400202612070119370000000035","refmsg_time":"20261207011937859","respond_time":"20261207011937859","err_msg":null,"warn_msg":"","cainfo":"","signtype":"","output":{}}', '2026-12-07 01:19:37'),
('H36040200001', 'H3604020000120260301100000000035', '2304', 'SETL0000000000000005', '{"infcode":0,"inf_refmsgid":"360400202612070119370000000037","refmsg_time":"20261207011937862","respond_time":"20261207011937864","err_msg":null,"warn_msg":"","cainfo":"","signtype":"","output":{"setlinfo":{"mdtrt_id":"MDTRT0000000000000002","setl_id":"SETL0000000000000005","psn_no":"P0001","psn_name":"测试甲","psn_cert_type":"01","certno":"360402196005010011","gend":"1","naty":"","brdy":"1960-05-01","age":66.0,"insutype":"390","psn_type":"16","cvlserv_flag":"0","setl_time":"2026-12-07 01:19:37","mdtrt_cert_type":"02","med_type":"21","medfee_sumamt":200.00,"fulamt_ownpay_amt":0.00,"overlmt_selfpay":0.00,"preselfpay_amt":0.00,"inscp_scp_amt":200.00,"act_pay_dedc":0.00,"hifp_pay":120.00,"pool_prop_selfpay":0.0000,"cvlserv_pay":0.00,"hifes_pay":0.00,"hifmi_pay":0.00,"hifob_pay":0.00,"maf_pay":0.00,"oth_pay":0.00,"fund_pay_sumamt":120.00,"psn_part_amt":80.00,"acct_pay":0.00,"acct_mulaid_pay":0.00,"psn_cash_pay":80.00,"hosp_part_amt":0.00,"balc":0.00,"hifdm_pay":0.00,"medins_setl_id":"H3604020000120260301100000000035","clr_optins":"360400","clr_way":"1","clr_type":"21"},"setldetail":[{"fund_pay_type":"390100","fund_pay_type_name":"城乡居民基本医疗保险基金","inscp_scp_amt":200.00,"crt_payb_lmt_amt":97960.00,"fund_payamt":120.00,"setl_proc_info":"城乡居民基本医疗保险基金 390100: (200.00 起付后) × 60% = 120.00, 剩余限额 97960.00, 支付 120.00"},{"fund_pay_type":"390200","fund_pay_type_name":"城乡居民大病医疗保险基金","inscp_scp_amt":80.00,"crt_payb_lmt_amt":300000.00,"fund_payamt":0.00,"setl_proc_info":"城乡居民大病医疗保险基金 390200 [普通参保人]: 年度累计 1960.00 + 本次 80.00, 起付线 17000.00, 本次应付 0.00, 剩余限额 300000.00, 支付 0.00"}]}}', '2026-12-07 01:19:37'),
('H36040200001', 'H3604020000120260301100000000038', '2305', 'SETL0000000000000006', '{"infcode":0,"inf_refmsgid":"360400202612070119370000000040","refmsg_time":"20261207011937869","respond_time":"20261207011937872","err_msg":null,"warn_msg":"","cainfo":"","signtype":"","output":{"setlinfo":{"mdtrt_id":"MDTRT0000000000000002","setl_id":"SETL0000000000000006","psn_no":"P0001","psn_name":"测试甲","psn_cert_type":"01","certno":"360402196005010011","gend":"1","naty":"","brdy":"1960-05-01","age":66.0,"insutype":"390","psn_type":"16","cvlserv_flag":"0","setl_time":"2026-12-07 01:19:37","mdtrt_cert_type":"02","med_type":"21","medfee_sumamt":-200.00,"fulamt_ownpay_amt":0.00,"overlmt_selfpay":0.00,"preselfpay_amt":0.00,"inscp_scp_amt":-200.00,"act_pay_dedc":0.00,"hifp_pay":-120.00,"pool_prop_selfpay":0.0000,"cvlserv_pay":0.00,"hifes_pay":0.00,"hifmi_pay":0.00,"hifob_pay":0.00,"maf_pay":0.00,"oth_pay":0.00,"fund_pay_sumamt":-120.00,"psn_part_amt":-80.00,"acct_pay":0.00,"acct_mulaid_pay":0.00,"psn_cash_pay":-80.00,"hosp_part_amt":0.00,"balc":0.00,"hifdm_pay":0.00,"medins_setl_id":"H3604020000120260301100000000038","clr_optins":"360400","clr_way":"1","clr_type":"21"},"setldetail":[{"fund_pay_type":"390100","fund_pay_type_name":"城乡居民基本医疗保险基金","inscp_scp_amt":-200.00,"crt_payb_lmt_amt":97960.00,"fund_payamt":-120.00,"setl_proc_info":"城乡居民基本医疗保险基金 390100: (200.00 起付后) × 60% = 120.00, 剩余限额 97960.00, 支付 120.00"},{"fund_pay_type":"390200","fund_pay_type_name":"城乡居民大病医疗保险基金","inscp_scp_amt":-80.00,"crt_payb_lmt_amt":300000.00,"fund_payamt":0.00,"setl_proc_info":"城乡居民大病医疗保险基金 390200 [普通参保人]: 年度累计 1960.00 + 本次 80.00, 起付线 17000.00, 本次应付 0.00, 剩余限额 300000.00, 支付 0.00"}]}}', '2026-12-07 01:19:37'),
('H36040200001', 'H3604020000120260301100000000040', '2401', 'MDTRT0000000000000003', '{"infcode":0,"inf_refmsgid":"360400202612070119370000000042","refmsg_time":"20261207011937881","respond_time":"20261207011937882","err_msg":null,"warn_msg":"","cainfo":"","signtype":"","output":{"result":{"ipt_otp_no":"IPT1","mdtrt_id":"MDTRT0000000000000003","psn_no":"P0001"}}}', '2026-12-07 01:19:37'),
('H36040200001', 'H3604020000120260301100000000041', '2301', 'MDTRT0000000000000003', '{"infcode":0,"inf_refmsgid":"360400202612070119370000000043","refmsg_time":"20261207011937885","respond_time":"20261207011937890","err_msg":null,"warn_msg":"","cainfo":"","signtype":"","output":{"result":[{"feedetl_sn":"1","det_item_fee_sumamt":40.00,"pric_uplmt_amt":40.000000,"selfpay_prop":0.0000,"fulamt_ownpay_amt":0.00,"overlmt_amt":0.00,"preselfpay_amt":0.00,"inscp_scp_amt":40.00,"chrgitm_lv":"01","med_chrgitm_type":"01","lmt_used_flag":"0","memo":""}]}}', '2026-12-07 01:19:37'),
('H36040200001', 'H3604020000120260301100000000042', '2404', 'MDTRT0000000000000003', '{"infcode":0,"inf_refmsgid":"360400202612070119370000000044","refmsg_time":"20261207011937891","respond_time":"20261207011937894","err_msg":null,"warn_msg":"","cainfo":"","signtype":"","output":{}}', '2026-12-07 01:19:37'),
('H36040200001', 'H3604020000120260301100000000044', '2401', 'MDTRT0000000000000004', '{"infcode":0,"inf_refmsgid":"360400202612070119370000000046","refmsg_time":"20261207011937899","respond_time":"20261207011937901","err_msg":null,"warn_msg":"","cainfo":"","signtype":"","output":{"result":{"ipt_otp_no":"IPT1","mdtrt_id":"MDTRT0000000000000004","psn_no":"P0001"}}}', '2026-12-07 01:19:37'),
('H36040200001', 'H3604020000120260301100000000045', '2301', 'MDTRT0000000000000004', '{"infcode":0,"inf_refmsgid":"360400202612070119370000000047","refmsg_time":"20261207011937905","respond_time":"20261207011937907","err_msg":null,"warn_msg":"","cainfo":"","signtype":"","output":{"result":[{"feedetl_sn":"1","det_item_fee_sumamt":120.00,"pric_uplmt_amt":40.000000,"selfpay_prop":0.0000,"fulamt_ownpay_amt":0.00,"overlmt_amt":0.00,"preselfpay_amt":0.00,"inscp_scp_amt":120.00,"chrgitm_lv":"01","med_chrgitm_type":"01","lmt_used_flag":"0","memo":""}]}}', '2026-12-07 01:19:37'),
('H36040200001', 'H3604020000120260301100000000046', '2304', 'SETL0000000000000007', '{"infcode":0,"inf_refmsgid":"360400202612070119370000000048","refmsg_time":"20261207011937910","respond_time":"20261207011937914","err_msg":null,"warn_msg":"","cainfo":"","signtype":"","output":{"setlinfo":{"mdtrt_id":"MDTRT0000000000000004","setl_id":"SETL0000000000000007","psn_no":"P0001","psn_name":"测试甲","psn_cert_type":"01","certno":"360402196005010011","gend":"1","naty":"","brdy":"1960-05-01","age":66.0,"insutype":"390","psn_type":"16","cvlserv_flag":"0","setl_time":"2026-12-07 01:19:37","mdtrt_cert_type":"02","med_type":"21","medfee_sumamt":120.00,"fulamt_ownpay_amt":0.00,"overlmt_selfpay":0.00,"preselfpay_amt":0.00,"inscp_scp_amt":120.00,"act_pay_dedc":120.00,"hifp_pay":0.00,"pool_prop_selfpay":0.0000,"cvlserv_pay":0.00,"hifes_pay":0.00,"hifmi_pay":0.00,"hifob_pay":0.00,"maf_pay":0.00,"oth_pay":0.00,"fund_pay_sumamt":0.00,"psn_part_amt":120.00,"acct_pay":0.00,"acct_mulaid_pay":0.00,"psn_cash_pay":120.00,"hosp_part_amt":0.00,"balc":0.00,"hifdm_pay":0.00,"medins_setl_id":"H3604020000120260301100000000046","clr_optins":"360400","clr_way":"1","clr_type":"21"},"setldetail":[{"fund_pay_type":"390100","fund_pay_type_name":"城乡居民基本医疗保险基金","inscp_scp_amt":0.00,"crt_payb_lmt_amt":97960.00,"fund_payamt":0.00,"setl_proc_info":"城乡居民基本医疗保险基金 390100: (0.00 起付后) × 60% = 0.00, 剩余限额 97960.00, 支付 0.00"},{"fund_pay_type":"390200","fund_pay_type_name":"城乡居民大病医疗保险基金","inscp_scp_amt":120.00,"crt_payb_lmt_amt":300000.00,"fund_payamt":0.00,"setl_proc_info":"城乡居民大病医疗保险基金 390200 [普通参保人]: 年度累计 1960.00 + 本次 120.00, 起付线 17000.00, 本次应付 0.00, 剩余限额 300000.00, 支付 0.00"}]}}', '2026-12-07 01:19:37'),
('H36040200001', 'H3604020000120260301100000000047', '2601', 'SETL0000000000000008', '{"infcode":0,"inf_refmsgid":"360400202612070119370000000049","refmsg_time":"20261207011937922","respond_time":"20261207011937931","err_msg":null,"warn_msg":"","cainfo":"","signtype":"","output":{}}', '2026-12-07 01:19:37'),
('P36040200031', 'P3604020003120260301100000000049', '2102', 'SETL0000000000000009', '{"infcode":0,"inf_refmsgid":"360400202612070119370000000051","refmsg_time":"20261207011937939","respond_time":"20261207011937946","err_msg":null,"warn_msg":"","cainfo":"","signtype":"","output":{"setlinfo":{"mdtrt_id":"MDTRT0000000000000005","setl_id":"SETL0000000000000009","psn_no":"P0002","psn_name":"测试乙","psn_cert_type":"01","certno":"360402197502140022","gend":"1","naty":"","brdy":"1975-02-14","age":51.0,"insutype":"310","psn_type":"11","cvlserv_flag":"0","setl_time":"2026-12-07 01:19:37","mdtrt_cert_type":"","med_type":"41","medfee_sumamt":45.50,"fulamt_ownpay_amt":0.00,"overlmt_selfpay":0.00,"preselfpay_amt":0.00,"inscp_scp_amt":45.50,"act_pay_dedc":0.00,"hifp_pay":0.00,"pool_prop_selfpay":0.0000,"cvlserv_pay":0.00,"hifes_pay":0.00,"hifmi_pay":0.00,"hifob_pay":0.00,"maf_pay":0.00,"oth_pay":0.00,"fund_pay_sumamt":0.00,"psn_part_amt":45.50,"acct_pay":45.50,"acct_mulaid_pay":0.00,"psn_cash_pay":0.00,"hosp_part_amt":0.00,"balc":2724.50,"hifdm_pay":0.00,"medins_setl_id":"P3604020003120260301100000000049","clr_optins":"360400","clr_way":"1","clr_type":"41"},"setldetail":[{"fund_pay_type":"310200","fund_pay_type_name":"职工基本医疗保险个人账户基金","inscp_scp_amt":45.50,"crt_payb_lmt_amt":2770.00,"fund_payamt":45.50,"setl_proc_info":"个人账户: 可支付 45.50, 余额 2770.00, 支付 45.50"}]}}', '2026-12-07 01:19:37'),
('P36040200031', 'P3604020003120260301100000000050', '2103', 'SETL0000000000000010', '{"infcode":0,"inf_refmsgid":"360400202612070119370000000052","refmsg_time":"20261207011937950","respond_time":"20261207011937953","err_msg":null,"warn_msg":"","cainfo":"","signtype":"","output":{"setlinfo":{"mdtrt_id":"MDTRT0000000000000005","setl_id":"SETL0000000000000010","psn_no":"P0002","psn_name":"测试乙","psn_cert_type":"01","certno":"360402197502140022","gend":"1","naty":"","brdy":"1975-02-14","age":51.0,"insutype":"310","psn_type":"11","cvlserv_flag":"0","setl_time":"2026-12-07 01:19:37","mdtrt_cert_type":"","med_type":"41","medfee_sumamt":-45.50,"fulamt_ownpay_amt":0.00,"overlmt_selfpay":0.00,"preselfpay_amt":0.00,"inscp_scp_amt":-45.50,"act_pay_dedc":0.00,"hifp_pay":0.00,"pool_prop_selfpay":0.0000,"cvlserv_pay":0.00,"hifes_pay":0.00,"hifmi_pay":0.00,"hifob_pay":0.00,"maf_pay":0.00,"oth_pay":0.00,"fund_pay_sumamt":0.00,"psn_part_amt":-45.50,"acct_pay":-45.50,"acct_mulaid_pay":0.00,"psn_cash_pay":0.00,"hosp_part_amt":0.00,"balc":2770.00,"hifdm_pay":0.00,"medins_setl_id":"P3604020003120260301100000000050","clr_optins":"360400","clr_way":"1","clr_type":"41"},"setldetail":[{"fund_pay_type":"310200","fund_pay_type_name":"职工基本医疗保险个人账户基金","inscp_scp_amt":-45.50,"crt_payb_lmt_amt":2770.00,"fund_payamt":-45.50,"setl_proc_info":"个人账户: 可支付 45.50, 余额 2770.00, 支付 45.50"}]}}', '2026-12-07 01:19:37'),
('H36040200001', 'H3604020000120260301100000000052', '2201', 'MDTRT0000000000000006', '{"infcode":0,"inf_refmsgid":"360400202612070119370000000054","refmsg_time":"20261207011937960","respond_time":"20261207011937961","err_msg":null,"warn_msg":"","cainfo":"","signtype":"","output":{"data":{"exp_content":"","ipt_otp_no":"OTP1","mdtrt_id":"MDTRT0000000000000006","psn_no":"P0004"}}}', '2026-12-07 01:19:37'),
('H36040200001', 'H3604020000120260301100000000053', '2204', 'MDTRT0000000000000006', '{"infcode":0,"inf_refmsgid":"360400202612070119370000000055","refmsg_time":"20261207011937966","respond_time":"20261207011937968","err_msg":null,"warn_msg":"","cainfo":"","signtype":"","output":{"result":[{"feedetl_sn":"1","det_item_fee_sumamt":30.00,"pric_uplmt_amt":999999,"selfpay_prop":0.0000,"fulamt_ownpay_amt":0.00,"overlmt_amt":0.00,"preselfpay_amt":0.00,"inscp_scp_amt":30.00,"chrgitm_lv":"01","med_chrgitm_type":"09","lmt_used_flag":"0","memo":""}]}}', '2026-12-07 01:19:37'),
('H36040200001', 'H3604020000120260301100000000054', '2207', 'SETL0000000000000011', '{"infcode":0,"inf_refmsgid":"360400202612070119370000000056","refmsg_time":"20261207011937974","respond_time":"20261207011937977","err_msg":null,"warn_msg":"","cainfo":"","signtype":"","output":{"setlinfo":{"mdtrt_id":"MDTRT0000000000000006","setl_id":"SETL0000000000000011","psn_no":"P0004","psn_name":"测试丁","psn_cert_type":"01","certno":"360402198808080044","gend":"2","naty":"","brdy":"1988-08-08","age":38.0,"insutype":"390","psn_type":"16","cvlserv_flag":"0","setl_time":"2026-12-07 01:19:37","mdtrt_cert_type":"02","med_type":"11","medfee_sumamt":30.00,"fulamt_ownpay_amt":0.00,"overlmt_selfpay":0.00,"preselfpay_amt":0.00,"inscp_scp_amt":30.00,"act_pay_dedc":0.00,"hifp_pay":0.00,"pool_prop_selfpay":0.0000,"cvlserv_pay":0.00,"hifes_pay":0.00,"hifmi_pay":0.00,"hifob_pay":0.00,"maf_pay":0.00,"oth_pay":0.00,"fund_pay_sumamt":0.00,"psn_part_amt":30.00,"acct_pay":0.00,"acct_mulaid_pay":0.00,"psn_cash_pay":30.00,"hosp_part_amt":0.00,"balc":0.00,"hifdm_pay":0.00,"medins_setl_id":"H3604020000120260301100000000054","clr_optins":"360400","clr_way":"1","clr_type":"11"},"setldetail":[]}}', '2026-12-07 01:19:37'),
('H36040200001', 'H3604020000120260301100000000057', '2601', 'SETL0000000000000012', '{"infcode":0,"inf_refmsgid":"360400202612070119370000000059","refmsg_time":"20261207011937983","respond_time":"20261207011937988","err_msg":null,"warn_msg":"","cainfo":"","signtype":"","output":{}}', '2026-12-07 01:19:37'),
('H36040200001', 'H3604020000120260301100000000059', '2401', 'MDTRT0000000000000007', '{"infcode":0,"inf_refmsgid":"360400202612070119370000000061","refmsg_time":"20261207011937994","respond_time":"20261207011937996","err_msg":null,"warn_msg":"","cainfo":"","signtype":"","output":{"result":{"ipt_otp_no":"","mdtrt_id":"MDTRT0000000000000007","psn_no":"P0004"}}}', '2026-12-07 01:19:37'),
('H36040200001', 'H3604020000120260301100000000060', '2601', 'MDTRT0000000000000007', '{"infcode":0,"inf_refmsgid":"360400202612070119380000000062","refmsg_time":"20261207011938002","respond_time":"20261207011938003","err_msg":null,"warn_msg":"","cainfo":"","signtype":"","output":{}}', '2026-12-07 01:19:38'),
('H36042300021', 'H3604230002120260301100000000062', '2201', 'MDTRT0000000000000008', '{"infcode":0,"inf_refmsgid":"360400202612070119380000000064","refmsg_time":"20261207011938011","respond_time":"20261207011938012","err_msg":null,"warn_msg":"","cainfo":"","signtype":"","output":{"data":{"exp_content":"","ipt_otp_no":"OTP1","mdtrt_id":"MDTRT0000000000000008","psn_no":"P0003"}}}', '2026-12-07 01:19:38'),
('H36042300021', 'H3604230002120260301100000000063', '2204', 'MDTRT0000000000000008', '{"infcode":0,"inf_refmsgid":"360400202612070119380000000065","refmsg_time":"20261207011938018","respond_time":"20261207011938020","err_msg":null,"warn_msg":"","cainfo":"","signtype":"","output":{"result":[{"feedetl_sn":"1","det_item_fee_sumamt":40.00,"pric_uplmt_amt":999999,"selfpay_prop":0.0000,"fulamt_ownpay_amt":0.00,"overlmt_amt":0.00,"preselfpay_amt":0.00,"inscp_scp_amt":40.00,"chrgitm_lv":"01","med_chrgitm_type":"09","lmt_used_flag":"0","memo":""},{"feedetl_sn":"2","det_item_fee_sumamt":40.00,"pric_uplmt_amt":40.000000,"selfpay_prop":0.0000,"fulamt_ownpay_amt":0.00,"overlmt_amt":0.00,"preselfpay_amt":0.00,"inscp_scp_amt":40.00,"chrgitm_lv":"01","med_chrgitm_type":"01","lmt_used_flag":"0","memo":""}]}}', '2026-12-07 01:19:38'),
('H36042300021', 'H3604230002120260301100000000064', '2207', 'SETL0000000000000013', '{"infcode":0,"inf_refmsgid":"360400202612070119380000000066","refmsg_time":"20261207011938026","respond_time":"20261207011938029","err_msg":null,"warn_msg":"","cainfo":"","signtype":"","output":{"setlinfo":{"mdtrt_id":"MDTRT0000000000000008","setl_id":"SETL0000000000000013","psn_no":"P0003","psn_name":"测试丙","psn_cert_type":"01","certno":"360402195501010033","gend":"2","naty":"","brdy":"1955-01-01","age":71.0,"insutype":"390","psn_type":"16","cvlserv_flag":"0","setl_time":"2026-12-07 01:19:38","mdtrt_cert_type":"02","med_type":"11","medfee_sumamt":80.00,"fulamt_ownpay_amt":0.00,"overlmt_selfpay":0.00,"preselfpay_amt":0.00,"inscp_scp_amt":80.00,"act_pay_dedc":0.00,"hifp_pay":52.00,"pool_prop_selfpay":0.0000,"cvlserv_pay":0.00,"hifes_pay":0.00,"hifmi_pay":0.00,"hifob_pay":0.00,"maf_pay":0.00,"oth_pay":0.00,"fund_pay_sumamt":52.00,"psn_part_amt":28.00,"acct_pay":0.00,"acct_mulaid_pay":0.00,"psn_cash_pay":28.00,"hosp_part_amt":0.00,"balc":0.00,"hifdm_pay":0.00,"medins_setl_id":"H3604230002120260301100000000064","clr_optins":"360400","clr_way":"1","clr_type":"11"},"setldetail":[{"fund_pay_type":"390100","fund_pay_type_name":"城乡居民基本医疗保险基金","inscp_scp_amt":80.00,"crt_payb_lmt_amt":400.00,"fund_payamt":52.00,"setl_proc_info":"城乡居民基本医疗保险基金 390100: (80.00 起付后) × 65% = 52.00, 剩余限额 400.00, 支付 52.00"}]}}', '2026-12-07 01:19:38'),
('H36042300021', 'H3604230002120260301100000000065', '2201', 'MDTRT0000000000000009', '{"infcode":0,"inf_refmsgid":"360400202612070119380000000067","refmsg_time":"20261207011938040","respond_time":"20261207011938041","err_msg":null,"warn_msg":"","cainfo":"","signtype":"","output":{"data":{"exp_content":"","ipt_otp_no":"OTP1","mdtrt_id":"MDTRT0000000000000009","psn_no":"P0004"}}}', '2026-12-07 01:19:38'),
('H36042300021', 'H3604230002120260301100000000066', '2204', 'MDTRT0000000000000009', '{"infcode":0,"inf_refmsgid":"360400202612070119380000000068","refmsg_time":"20261207011938046","respond_time":"20261207011938048","err_msg":null,"warn_msg":"","cainfo":"","signtype":"","output":{"result":[{"feedetl_sn":"1","det_item_fee_sumamt":20.00,"pric_uplmt_amt":999999,"selfpay_prop":0.0000,"fulamt_ownpay_amt":0.00,"overlmt_amt":0.00,"preselfpay_amt":0.00,"inscp_scp_amt":20.00,"chrgitm_lv":"01","med_chrgitm_type":"09","lmt_used_flag":"0","memo":""},{"feedetl_sn":"2","det_item_fee_sumamt":50.00,"pric_uplmt_amt":999999,"selfpay_prop":0.1000,"fulamt_ownpay_amt":0.00,"overlmt_amt":0.00,"preselfpay_amt":5.00,"inscp_scp_amt":45.00,"chrgitm_lv":"02","med_chrgitm_type":"09","lmt_used_flag":"0","memo":""}]}}', '2026-12-07 01:19:38');

INSERT INTO visits (mdtrt_id, fixmedins_code, psn_no, insutype, kind, med_type, begntime, endtime, status, ipt_otp_no, info) VALUES
('MDTRT0000000000000001', 'H36040200001', 'P0002', '310', 'otp', '11', '2026-03-01 09:00:00', '', 'settled', 'OTP1', '{"dise_codg":"J06.900","diseinfo":[{"diag_code":"J06.900","diag_type":"1"}],"mdtrt_cert_type":"02","mdtrtinfo":{"begntime":"2026-03-01 09:00:00","dise_codg":"J06.900","mdtrt_id":"MDTRT0000000000000001","med_type":"11","psn_no":"P0002"}}'),
('MDTRT0000000000000002', 'H36040200001', 'P0001', '390', 'ipt', '21', '2026-02-01 08:00:00', '2026-02-10 10:00:00', 'discharged', 'IPT1', '{"dise_codg":"K80.100","diseinfo":[{"diag_code":"K80.100","diag_name":"胆囊结石","diag_type":"1"}],"dscginfo":{"endtime":"2026-02-10 10:00:00","mdtrt_id":"MDTRT0000000000000002","psn_no":"P0001"},"mdtrt_cert_type":"02","mdtrtinfo":{"dise_codg":"K80.101","mdtrt_id":"MDTRT0000000000000002","psn_no":"P0001"},"refl_flag":""}'),
('MDTRT0000000000000003', 'H36040200001', 'P0001', '390', 'ipt', '21', '2026-02-01 08:00:00', '', 'cancelled', 'IPT1', '{"dise_codg":"K80.100","diseinfo":[{"diag_code":"K80.100","diag_name":"胆囊结石","diag_type":"1"}],"mdtrt_cert_type":"02","mdtrtinfo":{"atddr_no":"D1","begntime":"2026-02-01 08:00:00","dise_codg":"K80.100","insutype":"390","ipt_no":"IPT1","mdtrt_cert_type":"02","med_type":"21","psn_no":"P0001"},"refl_flag":""}'),
('MDTRT0000000000000004', 'H36040200001', 'P0001', '390', 'ipt', '21', '2026-02-01 08:00:00', '2026-02-20 10:00:00', 'discharged', 'IPT1', '{"dise_codg":"K80.100","diseinfo":[{"diag_code":"K80.100","diag_name":"胆囊结石","diag_type":"1"}],"mdtrt_cert_type":"02","mdtrtinfo":{"atddr_no":"D1","begntime":"2026-02-01 08:00:00","dise_codg":"K80.100","insutype":"390","ipt_no":"IPT1","mdtrt_cert_type":"02","med_type":"21","psn_no":"P0001"},"refl_flag":""}'),
('MDTRT0000000000000005', 'P36040200031', 'P0002', '310', 'pharmacy', '41', '2026-12-07 01:19:37', '', 'cancelled', '', '{"mdtrt_cert_type":""}'),
('MDTRT0000000000000006', 'H36040200001', 'P0004', '390', 'otp', '11', '2026-03-01 09:00:00', '', 'open', 'OTP1', '{"mdtrt_cert_type":"02"}'),
('MDTRT0000000000000007', 'H36040200001', 'P0004', '390', 'ipt', '21', '2026-02-01 08:00:00', '', 'cancelled', '', '{"mdtrt_cert_type":"","mdtrtinfo":{"begntime":"2026-02-01 08:00:00","insutype":"390","med_type":"21","psn_no":"P0004"},"refl_flag":""}'),
('MDTRT0000000000000008', 'H36042300021', 'P0003', '390', 'otp', '11', '2026-03-01 09:00:00', '', 'settled', 'OTP1', '{"mdtrt_cert_type":"02"}'),
('MDTRT0000000000000009', 'H36042300021', 'P0004', '390', 'otp', '11', '2026-03-01 09:00:00', '', 'open', 'OTP1', '{"mdtrt_cert_type":"02"}');

INSERT INTO fee_lines (mdtrt_id, feedetl_sn, upload_seq, chrg_bchno, init_feedetl_sn, det_item_fee_sumamt, line, result, setl_id) VALUES
('MDTRT0000000000000001', '1', 100000, 'B1', '', 10000, '{"chrg_bchno":"B1","cnt":"10","det_item_fee_sumamt":"100.00","fee_ocur_time":"2026-03-01 10:00:00","feedetl_sn":"1","hosp_appr_flag":"1","mdtrt_id":"MDTRT0000000000000001","med_list_codg":"XJ01CAA040A001010101791","medins_list_codg":"XJ01CAA040A001010101791","pric":"10.00","psn_no":""}', '{"feedetl_sn":"1","det_item_fee_sumamt":100.00,"pric_uplmt_amt":999999,"selfpay_prop":0.0000,"fulamt_ownpay_amt":0.00,"overlmt_amt":0.00,"preselfpay_amt":0.00,"inscp_scp_amt":100.00,"chrgitm_lv":"01","med_chrgitm_type":"09","lmt_used_flag":"0","memo":""}', 'SETL0000000000000003'),
('MDTRT0000000000000001', '2', 100001, 'B1', '', 10000, '{"chrg_bchno":"B1","cnt":2,"det_item_fee_sumamt":100.0,"fee_ocur_time":"2026-03-01 10:00:00","feedetl_sn":"2","hosp_appr_flag":"1","mdtrt_id":"MDTRT0000000000000001","med_list_codg":"XJ01DDA063B002010100445","medins_list_codg":"XJ01DDA063B002010100445","pric":50,"psn_no":""}', '{"feedetl_sn":"2","det_item_fee_sumamt":100.00,"pric_uplmt_amt":999999,"selfpay_prop":0.1000,"fulamt_ownpay_amt":0.00,"overlmt_amt":0.00,"preselfpay_amt":10.00,"inscp_scp_amt":90.00,"chrgitm_lv":"02","med_chrgitm_type":"09","lmt_used_flag":"0","memo":""}', 'SETL0000000000000003'),
('MDTRT0000000000000001', '3', 100002, 'B1', '', 3000, '{"chrg_bchno":"B1","cnt":"1","det_item_fee_sumamt":"30.00","fee_ocur_time":"2026-03-01 10:00:00","feedetl_sn":"3","hosp_appr_flag":"1","mdtrt_id":"MDTRT0000000000000001","med_list_codg":"XL03AXX127B002010100553","medins_list_codg":"XL03AXX127B002010100553","pric":"30.00","psn_no":""}', '{"feedetl_sn":"3","det_item_fee_sumamt":30.00,"pric_uplmt_amt":999999,"selfpay_prop":1.0000,"fulamt_ownpay_amt":30.00,"overlmt_amt":0.00,"preselfpay_amt":0.00,"inscp_scp_amt":0.00,"chrgitm_lv":"03","med_chrgitm_type":"09","lmt_used_flag":"0","memo":"丙类项目，全自费"}', 'SETL0000000000000003'),
('MDTRT0000000000000002', '1', 300000, 'B1', '', 40000, '{"chrg_bchno":"B1","cnt":"10","det_item_fee_sumamt":"400.00","fee_ocur_time":"2026-03-01 10:00:00","feedetl_sn":"1","hosp_appr_flag":"1","mdtrt_id":"MDTRT0000000000000002","med_list_codg":"001201000010000","medins_list_codg":"001201000010000","pric":"40.00","psn_no":""}', '{"feedetl_sn":"1","det_item_fee_sumamt":400.00,"pric_uplmt_amt":40.000000,"selfpay_prop":0.0000,"fulamt_ownpay_amt":0.00,"overlmt_amt":0.00,"preselfpay_amt":0.00,"inscp_scp_amt":400.00,"chrgitm_lv":"01","med_chrgitm_type":"01","lmt_used_flag":"0","memo":""}', 'SETL0000000000000004'),
('MDTRT0000000000000002', '2', 300001, 'B1', '', 500000, '{"chrg_bchno":"B1","cnt":"50","det_item_fee_sumamt":"5000.00","fee_ocur_time":"2026-03-01 10:00:00","feedetl_sn":"2","hosp_appr_flag":"1","mdtrt_id":"MDTRT0000000000000002","med_list_codg":"XJ01DDA063B002010100445","medins_list_codg":"XJ01DDA063B002010100445","pric":"100.00","psn_no":""}', '{"feedetl_sn":"2","det_item_fee_sumamt":5000.00,"pric_uplmt_amt":999999,"selfpay_prop":0.1000,"fulamt_ownpay_amt":0.00,"overlmt_amt":0.00,"preselfpay_amt":500.00,"inscp_scp_amt":4500.00,"chrgitm_lv":"02","med_chrgitm_type":"09","lmt_used_flag":"0","memo":""}', 'SETL0000000000000004'),
('MDTRT0000000000000002', '3', 400000, 'B1', '2', -100000, '{"chrg_bchno":"B1","cnt":"-10","det_item_fee_sumamt":"-1000.00","fee_ocur_time":"2026-03-01 10:00:00","feedetl_sn":"3","hosp_appr_flag":"1","init_feedetl_sn":"2","mdtrt_id":"MDTRT0000000000000002","med_list_codg":"XJ01DDA063B002010100445","medins_list_codg":"XJ01DDA063B002010100445","pric":"100.00","psn_no":""}', '{"feedetl_sn":"3","det_item_fee_sumamt":-1000.00,"pric_uplmt_amt":999999,"selfpay_prop":0.1000,"fulamt_ownpay_amt":0.00,"overlmt_amt":0.00,"preselfpay_amt":-100.00,"inscp_scp_amt":-900.00,"chrgitm_lv":"02","med_chrgitm_type":"09","lmt_used_flag":"0","memo":""}', 'SETL0000000000000004'),
('MDTRT0000000000000002', '5', 500000, 'B1', '', 20000, '{"chrg_bchno":"B1","cnt":"5","det_item_fee_sumamt":"200.00","fee_ocur_time":"2026-03-01 10:00:00","feedetl_sn":"5","hosp_appr_flag":"1","mdtrt_id":"MDTRT0000000000000002","med_list_codg":"001201000010000","medins_list_codg":"001201000010000","pric":"40.00","psn_no":""}', '{"feedetl_sn":"5","det_item_fee_sumamt":200.00,"pric_uplmt_amt":40.000000,"selfpay_prop":0.0000,"fulamt_ownpay_amt":0.00,"overlmt_amt":0.00,"preselfpay_amt":0.00,"inscp_scp_amt":200.00,"chrgitm_lv":"01","med_chrgitm_type":"01","lmt_used_flag":"0","memo":""}', ''),
('MDTRT0000000000000004', '1', 700000, 'B1', '', 12000, '{"chrg_bchno":"B1","cnt":"3","det_item_fee_sumamt":"120.00","fee_ocur_time":"2026-03-01 10:00:00","feedetl_sn":"1","hosp_appr_flag":"1","mdtrt_id":"MDTRT0000000000000004","med_list_codg":"001201000010000","medins_list_codg":"001201000010000","pric":"40.00","psn_no":""}', '{"feedetl_sn":"1","det_item_fee_sumamt":120.00,"pric_uplmt_amt":40.000000,"selfpay_prop":0.0000,"fulamt_ownpay_amt":0.00,"overlmt_amt":0.00,"preselfpay_amt":0.00,"inscp_scp_amt":120.00,"chrgitm_lv":"01","med_chrgitm_type":"01","lmt_used_flag":"0","memo":""}', ''),
('MDTRT0000000000000005', '1', 800000, 'B1', '', 2000, '{"chrg_bchno":"B1","cnt":"2","det_item_fee_sumamt":"20.00","fee_ocur_time":"2026-03-01 10:00:00","feedetl_sn":"1","hosp_appr_flag":"1","mdtrt_id":"","med_list_codg":"XJ01CAA040A001010101791","medins_list_codg":"XJ01CAA040A001010101791","pric":"10.00","psn_no":""}', '{"feedetl_sn":"1","det_item_fee_sumamt":20.00,"pric_uplmt_amt":999999,"selfpay_prop":0.0000,"fulamt_ownpay_amt":0.00,"overlmt_amt":0.00,"preselfpay_amt":0.00,"inscp_scp_amt":20.00,"chrgitm_lv":"01","med_chrgitm_type":"09","lmt_used_flag":"0","memo":""}', ''),
('MDTRT0000000000000005', '2', 800001, 'B1', '', 2550, '{"chrg_bchno":"B1","cnt":"1","det_item_fee_sumamt":"25.50","fee_ocur_time":"2026-03-01 10:00:00","feedetl_sn":"2","hosp_appr_flag":"1","mdtrt_id":"","med_list_codg":"ZA04BAL0093010103741","medins_list_codg":"ZA04BAL0093010103741","pric":"25.50","psn_no":""}', '{"feedetl_sn":"2","det_item_fee_sumamt":25.50,"pric_uplmt_amt":999999,"selfpay_prop":0.0000,"fulamt_ownpay_amt":0.00,"overlmt_amt":0.00,"preselfpay_amt":0.00,"inscp_scp_amt":25.50,"chrgitm_lv":"01","med_chrgitm_type":"11","lmt_used_flag":"0","memo":""}', ''),
('MDTRT0000000000000006', '1', 900000, 'B1', '', 3000, '{"chrg_bchno":"B1","cnt":"3","det_item_fee_sumamt":"30.00","fee_ocur_time":"2026-03-01 10:00:00","feedetl_sn":"1","hosp_appr_flag":"1","mdtrt_id":"MDTRT0000000000000006","med_list_codg":"XJ01CAA040A001010101791","medins_list_codg":"XJ01CAA040A001010101791","pric":"10.00","psn_no":""}', '{"feedetl_sn":"1","det_item_fee_sumamt":30.00,"pric_uplmt_amt":999999,"selfpay_prop":0.0000,"fulamt_ownpay_amt":0.00,"overlmt_amt":0.00,"preselfpay_amt":0.00,"inscp_scp_amt":30.00,"chrgitm_lv":"01","med_chrgitm_type":"09","lmt_used_flag":"0","memo":""}', ''),
('MDTRT0000000000000008', '1', 1000000, 'B1', '', 4000, '{"chrg_bchno":"B1","cnt":"4","det_item_fee_sumamt":"40.00","fee_ocur_time":"2026-03-01 10:00:00","feedetl_sn":"1","hosp_appr_flag":"1","mdtrt_id":"MDTRT0000000000000008","med_list_codg":"XJ01CAA040A001010101791","medins_list_codg":"XJ01CAA040A001010101791","pric":"10.00","psn_no":""}', '{"feedetl_sn":"1","det_item_fee_sumamt":40.00,"pric_uplmt_amt":999999,"selfpay_prop":0.0000,"fulamt_ownpay_amt":0.00,"overlmt_amt":0.00,"preselfpay_amt":0.00,"inscp_scp_amt":40.00,"chrgitm_lv":"01","med_chrgitm_type":"09","lmt_used_flag":"0","memo":""}', 'SETL0000000000000013'),
('MDTRT0000000000000008', '2', 1000001, 'B1', '', 4000, '{"chrg_bchno":"B1","cnt":"1","det_item_fee_sumamt":"40.00","fee_ocur_time":"2026-03-01 10:00:00","feedetl_sn":"2","hosp_appr_flag":"1","mdtrt_id":"MDTRT0000000000000008","med_list_codg":"001201000010000","medins_list_codg":"001201000010000","pric":"40.00","psn_no":""}', '{"feedetl_sn":"2","det_item_fee_sumamt":40.00,"pric_uplmt_amt":40.000000,"selfpay_prop":0.0000,"fulamt_ownpay_amt":0.00,"overlmt_amt":0.00,"preselfpay_amt":0.00,"inscp_scp_amt":40.00,"chrgitm_lv":"01","med_chrgitm_type":"01","lmt_used_flag":"0","memo":""}', 'SETL0000000000000013'),
('MDTRT0000000000000009', '1', 1100000, 'B1', '', 2000, '{"chrg_bchno":"B1","cnt":"2","det_item_fee_sumamt":"20.00","fee_ocur_time":"2026-03-01 10:00:00","feedetl_sn":"1","hosp_appr_flag":"1","mdtrt_id":"MDTRT0000000000000009","med_list_codg":"XJ01CAA040A001010101791","medins_list_codg":"XJ01CAA040A001010101791","pric":"10.00","psn_no":""}', '{"feedetl_sn":"1","det_item_fee_sumamt":20.00,"pric_uplmt_amt":999999,"selfpay_prop":0.0000,"fulamt_ownpay_amt":0.00,"overlmt_amt":0.00,"preselfpay_amt":0.00,"inscp_scp_amt":20.00,"chrgitm_lv":"01","med_chrgitm_type":"09","lmt_used_flag":"0","memo":""}', ''),
('MDTRT0000000000000009', '2', 1100001, 'B1', '', 5000, '{"chrg_bchno":"B1","cnt":"1","det_item_fee_sumamt":"50.00","fee_ocur_time":"2026-03-01 10:00:00","feedetl_sn":"2","hosp_appr_flag":"1","mdtrt_id":"MDTRT0000000000000009","med_list_codg":"XJ01DDA063B002010100445","medins_list_codg":"XJ01DDA063B002010100445","pric":"50.00","psn_no":""}', '{"feedetl_sn":"2","det_item_fee_sumamt":50.00,"pric_uplmt_amt":999999,"selfpay_prop":0.1000,"fulamt_ownpay_amt":0.00,"overlmt_amt":0.00,"preselfpay_amt":5.00,"inscp_scp_amt":45.00,"chrgitm_lv":"02","med_chrgitm_type":"09","lmt_used_flag":"0","memo":""}', '');

INSERT INTO settlements (setl_id, seq, kind, orig_setl_id, infno, msgid, fixmedins_code, mdtrt_id, psn_no, insutype, year, med_type, mid_setl_flag, setl_time, clr_type, clr_way, clr_optins, medfee_sumamt, fulamt_ownpay_amt, overlmt_selfpay, preselfpay_amt, inscp_scp_amt, act_pay_dedc, hifp_pay, cvlserv_pay, hifes_pay, hifmi_pay, hifob_pay, maf_pay, oth_pay, hifdm_pay, fund_pay_sumamt, psn_part_amt, acct_pay, acct_mulaid_pay, psn_cash_pay, hosp_part_amt, balc) VALUES
('SETL0000000000000001', 1, 'settle', NULL, '2207', 'H3604020000120260301100000000008', 'H36040200001', 'MDTRT0000000000000001', 'P0002', '310', 2026, '11', '0', '2026-12-07 01:19:37', '11', '1', '360400', 23000, 3000, 0, 1000, 19000, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 23000, 23000, 0, 0, 0, 277000),
('SETL0000000000000002', 2, 'cancel', 'SETL0000000000000001', '2208', 'H3604020000120260301100000000016', 'H36040200001', 'MDTRT0000000000000001', 'P0002', '310', 2026, '11', '0', '2026-12-07 01:19:37', '11', '1', '360400', -23000, -3000, 0, -1000, -19000, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -23000, -23000, 0, 0, 0, 300000),
('SETL0000000000000003', 3, 'settle', NULL, '2207', 'H3604020000120260301100000000019', 'H36040200001', 'MDTRT0000000000000001', 'P0002', '310', 2026, '11', '0', '2026-12-07 01:19:37', '11', '1', '360400', 23000, 3000, 0, 1000, 19000, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 23000, 23000, 0, 0, 0, 277000),
('SETL0000000000000004', 4, 'settle', NULL, '2304', 'H3604020000120260301100000000027', 'H36040200001', 'MDTRT0000000000000002', 'P0001', '390', 2026, '21', '1', '2026-12-07 01:19:37', '21', '1', '360400', 440000, 0, 0, 40000, 400000, 60000, 204000, 0, 0, 0, 0, 0, 0, 0, 204000, 236000, 0, 0, 236000, 0, 0),
('SETL0000000000000005', 5, 'settle', NULL, '2304', 'H3604020000120260301100000000035', 'H36040200001', 'MDTRT0000000000000002', 'P0001', '390', 2026, '21', '0', '2026-12-07 01:19:37', '21', '1', '360400', 20000, 0, 0, 0, 20000, 0, 12000, 0, 0, 0, 0, 0, 0, 0, 12000, 8000, 0, 0, 8000, 0, 0),
('SETL0000000000000006', 6, 'cancel', 'SETL0000000000000005', '2305', 'H3604020000120260301100000000038', 'H36040200001', 'MDTRT0000000000000002', 'P0001', '390', 2026, '21', '0', '2026-12-07 01:19:37', '21', '1', '360400', -20000, 0, 0, 0, -20000, 0, -12000, 0, 0, 0, 0, 0, 0, 0, -12000, -8000, 0, 0, -8000, 0, 0),
('SETL0000000000000007', 7, 'settle', NULL, '2304', 'H3604020000120260301100000000046', 'H36040200001', 'MDTRT0000000000000004', 'P0001', '390', 2026, '21', '0', '2026-12-07 01:19:37', '21', '1', '360400', 12000, 0, 0, 0, 12000, 12000, 0, 0, 0, 0, 0, 0, 0, 0, 0, 12000, 0, 0, 12000, 0, 0),
('SETL0000000000000008', 8, 'cancel', 'SETL0000000000000007', '2601', 'H3604020000120260301100000000047', 'H36040200001', 'MDTRT0000000000000004', 'P0001', '390', 2026, '21', '0', '2026-12-07 01:19:37', '21', '1', '360400', -12000, 0, 0, 0, -12000, -12000, 0, 0, 0, 0, 0, 0, 0, 0, 0, -12000, 0, 0, -12000, 0, 0),
('SETL0000000000000009', 9, 'settle', NULL, '2102', 'P3604020003120260301100000000049', 'P36040200031', 'MDTRT0000000000000005', 'P0002', '310', 2026, '41', '0', '2026-12-07 01:19:37', '41', '1', '360400', 4550, 0, 0, 0, 4550, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4550, 4550, 0, 0, 0, 272450),
('SETL0000000000000010', 10, 'cancel', 'SETL0000000000000009', '2103', 'P3604020003120260301100000000050', 'P36040200031', 'MDTRT0000000000000005', 'P0002', '310', 2026, '41', '0', '2026-12-07 01:19:37', '41', '1', '360400', -4550, 0, 0, 0, -4550, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -4550, -4550, 0, 0, 0, 277000),
('SETL0000000000000011', 11, 'settle', NULL, '2207', 'H3604020000120260301100000000054', 'H36040200001', 'MDTRT0000000000000006', 'P0004', '390', 2026, '11', '0', '2026-12-07 01:19:37', '11', '1', '360400', 3000, 0, 0, 0, 3000, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3000, 0, 0, 3000, 0, 0),
('SETL0000000000000012', 12, 'cancel', 'SETL0000000000000011', '2601', 'H3604020000120260301100000000057', 'H36040200001', 'MDTRT0000000000000006', 'P0004', '390', 2026, '11', '0', '2026-12-07 01:19:37', '11', '1', '360400', -3000, 0, 0, 0, -3000, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -3000, 0, 0, -3000, 0, 0),
('SETL0000000000000013', 13, 'settle', NULL, '2207', 'H3604230002120260301100000000064', 'H36042300021', 'MDTRT0000000000000008', 'P0003', '390', 2026, '11', '0', '2026-12-07 01:19:38', '11', '1', '360400', 8000, 0, 0, 0, 8000, 0, 5200, 0, 0, 0, 0, 0, 0, 0, 5200, 2800, 0, 0, 2800, 0, 0);

INSERT INTO settlement_funds (setl_id, row_no, fund_pay_type, fund_pay_type_name, payer_class, inscp_scp_amt, crt_payb_lmt_amt, fund_payamt, setl_proc_info) VALUES
('SETL0000000000000001', 0, '310200', '职工基本医疗保险个人账户基金', 'account', 23000, 300000, 23000, '个人账户: 可支付 230.00, 余额 3000.00, 支付 230.00'),
('SETL0000000000000002', 0, '310200', '职工基本医疗保险个人账户基金', 'account', -23000, 300000, -23000, '个人账户: 可支付 230.00, 余额 3000.00, 支付 230.00'),
('SETL0000000000000003', 0, '310200', '职工基本医疗保险个人账户基金', 'account', 23000, 300000, 23000, '个人账户: 可支付 230.00, 余额 3000.00, 支付 230.00'),
('SETL0000000000000004', 0, '390100', '城乡居民基本医疗保险基金', 'fund', 340000, 10000000, 204000, '城乡居民基本医疗保险基金 390100: (3400.00 起付后) × 60% = 2040.00, 剩余限额 100000.00, 支付 2040.00'),
('SETL0000000000000004', 1, '390200', '城乡居民大病医疗保险基金', 'fund', 196000, 30000000, 0, '城乡居民大病医疗保险基金 390200 [普通参保人]: 年度累计 0.00 + 本次 1960.00, 起付线 17000.00, 本次应付 0.00, 剩余限额 300000.00, 支付 0.00'),
('SETL0000000000000005', 0, '390100', '城乡居民基本医疗保险基金', 'fund', 20000, 9796000, 12000, '城乡居民基本医疗保险基金 390100: (200.00 起付后) × 60% = 120.00, 剩余限额 97960.00, 支付 120.00'),
('SETL0000000000000005', 1, '390200', '城乡居民大病医疗保险基金', 'fund', 8000, 30000000, 0, '城乡居民大病医疗保险基金 390200 [普通参保人]: 年度累计 1960.00 + 本次 80.00, 起付线 17000.00, 本次应付 0.00, 剩余限额 300000.00, 支付 0.00'),
('SETL0000000000000006', 0, '390100', '城乡居民基本医疗保险基金', 'fund', -20000, 9796000, -12000, '城乡居民基本医疗保险基金 390100: (200.00 起付后) × 60% = 120.00, 剩余限额 97960.00, 支付 120.00'),
('SETL0000000000000006', 1, '390200', '城乡居民大病医疗保险基金', 'fund', -8000, 30000000, 0, '城乡居民大病医疗保险基金 390200 [普通参保人]: 年度累计 1960.00 + 本次 80.00, 起付线 17000.00, 本次应付 0.00, 剩余限额 300000.00, 支付 0.00'),
('SETL0000000000000007', 0, '390100', '城乡居民基本医疗保险基金', 'fund', 0, 9796000, 0, '城乡居民基本医疗保险基金 390100: (0.00 起付后) × 60% = 0.00, 剩余限额 97960.00, 支付 0.00'),
('SETL0000000000000007', 1, '390200', '城乡居民大病医疗保险基金', 'fund', 12000, 30000000, 0, '城乡居民大病医疗保险基金 390200 [普通参保人]: 年度累计 1960.00 + 本次 120.00, 起付线 17000.00, 本次应付 0.00, 剩余限额 300000.00, 支付 0.00'),
('SETL0000000000000008', 0, '390100', '城乡居民基本医疗保险基金', 'fund', 0, 9796000, 0, '城乡居民基本医疗保险基金 390100: (0.00 起付后) × 60% = 0.00, 剩余限额 97960.00, 支付 0.00'),
('SETL0000000000000008', 1, '390200', '城乡居民大病医疗保险基金', 'fund', -12000, 30000000, 0, '城乡居民大病医疗保险基金 390200 [普通参保人]: 年度累计 1960.00 + 本次 120.00, 起付线 17000.00, 本次应付 0.00, 剩余限额 300000.00, 支付 0.00'),
('SETL0000000000000009', 0, '310200', '职工基本医疗保险个人账户基金', 'account', 4550, 277000, 4550, '个人账户: 可支付 45.50, 余额 2770.00, 支付 45.50'),
('SETL0000000000000010', 0, '310200', '职工基本医疗保险个人账户基金', 'account', -4550, 277000, -4550, '个人账户: 可支付 45.50, 余额 2770.00, 支付 45.50'),
('SETL0000000000000013', 0, '390100', '城乡居民基本医疗保险基金', 'fund', 8000, 40000, 5200, '城乡居民基本医疗保险基金 390100: (80.00 起付后) × 65% = 52.00, 剩余限额 400.00, 支付 52.00');

INSERT INTO settlement_lines (setl_id, feedetl_sn, det_item_fee_sumamt, fulamt_ownpay_amt, overlmt_amt, preselfpay_amt, inscp_scp_amt) VALUES
('SETL0000000000000001', '1', 10000, 0, 0, 0, 10000),
('SETL0000000000000001', '2', 10000, 0, 0, 1000, 9000),
('SETL0000000000000001', '3', 3000, 3000, 0, 0, 0),
('SETL0000000000000002', '1', -10000, 0, 0, 0, -10000),
('SETL0000000000000002', '2', -10000, 0, 0, -1000, -9000),
('SETL0000000000000002', '3', -3000, -3000, 0, 0, 0),
('SETL0000000000000003', '1', 10000, 0, 0, 0, 10000),
('SETL0000000000000003', '2', 10000, 0, 0, 1000, 9000),
('SETL0000000000000003', '3', 3000, 3000, 0, 0, 0),
('SETL0000000000000004', '1', 40000, 0, 0, 0, 40000),
('SETL0000000000000004', '2', 500000, 0, 0, 50000, 450000),
('SETL0000000000000004', '3', -100000, 0, 0, -10000, -90000),
('SETL0000000000000005', '5', 20000, 0, 0, 0, 20000),
('SETL0000000000000006', '5', -20000, 0, 0, 0, -20000),
('SETL0000000000000007', '1', 12000, 0, 0, 0, 12000),
('SETL0000000000000008', '1', -12000, 0, 0, 0, -12000),
('SETL0000000000000009', '1', 2000, 0, 0, 0, 2000),
('SETL0000000000000009', '2', 2550, 0, 0, 0, 2550),
('SETL0000000000000010', '1', -2000, 0, 0, 0, -2000),
('SETL0000000000000010', '2', -2550, 0, 0, 0, -2550),
('SETL0000000000000011', '1', 3000, 0, 0, 0, 3000),
('SETL0000000000000012', '1', -3000, 0, 0, 0, -3000),
('SETL0000000000000013', '1', 4000, 0, 0, 0, 4000),
('SETL0000000000000013', '2', 4000, 0, 0, 0, 4000);

INSERT INTO postings (setl_id, psn_no, insutype, year, acc_key, amount) VALUES
('SETL0000000000000001', 'P0002', '310', 2026, 'D310200', 23000),
('SETL0000000000000001', 'P0002', '310', 2026, 'S0000', 23000),
('SETL0000000000000002', 'P0002', '310', 2026, 'D310200', -23000),
('SETL0000000000000002', 'P0002', '310', 2026, 'S0000', -23000),
('SETL0000000000000003', 'P0002', '310', 2026, 'D310200', 23000),
('SETL0000000000000003', 'P0002', '310', 2026, 'S0000', 23000),
('SETL0000000000000004', 'P0001', '390', 2026, 'CAP:inpatient', 204000),
('SETL0000000000000004', 'P0001', '390', 2026, 'CATBASE', 196000),
('SETL0000000000000004', 'P0001', '390', 2026, 'D390100', 204000),
('SETL0000000000000004', 'P0001', '390', 2026, 'Q0000', 60000),
('SETL0000000000000004', 'P0001', '390', 2026, 'Q:inpatient', 60000),
('SETL0000000000000004', 'P0001', '390', 2026, 'S0000', 440000),
('SETL0000000000000005', 'P0001', '390', 2026, 'C0000', 1),
('SETL0000000000000005', 'P0001', '390', 2026, 'CAP:inpatient', 12000),
('SETL0000000000000005', 'P0001', '390', 2026, 'CATBASE', 8000),
('SETL0000000000000005', 'P0001', '390', 2026, 'D390100', 12000),
('SETL0000000000000005', 'P0001', '390', 2026, 'S0000', 20000),
('SETL0000000000000006', 'P0001', '390', 2026, 'C0000', -1),
('SETL0000000000000006', 'P0001', '390', 2026, 'CAP:inpatient', -12000),
('SETL0000000000000006', 'P0001', '390', 2026, 'CATBASE', -8000),
('SETL0000000000000006', 'P0001', '390', 2026, 'D390100', -12000),
('SETL0000000000000006', 'P0001', '390', 2026, 'S0000', -20000),
('SETL0000000000000007', 'P0001', '390', 2026, 'C0000', 1),
('SETL0000000000000007', 'P0001', '390', 2026, 'CATBASE', 12000),
('SETL0000000000000007', 'P0001', '390', 2026, 'Q0000', 12000),
('SETL0000000000000007', 'P0001', '390', 2026, 'Q:inpatient', 12000),
('SETL0000000000000007', 'P0001', '390', 2026, 'S0000', 12000),
('SETL0000000000000008', 'P0001', '390', 2026, 'C0000', -1),
('SETL0000000000000008', 'P0001', '390', 2026, 'CATBASE', -12000),
('SETL0000000000000008', 'P0001', '390', 2026, 'Q0000', -12000),
('SETL0000000000000008', 'P0001', '390', 2026, 'Q:inpatient', -12000),
('SETL0000000000000008', 'P0001', '390', 2026, 'S0000', -12000),
('SETL0000000000000009', 'P0002', '310', 2026, 'D310200', 4550),
('SETL0000000000000009', 'P0002', '310', 2026, 'S0000', 4550),
('SETL0000000000000010', 'P0002', '310', 2026, 'D310200', -4550),
('SETL0000000000000010', 'P0002', '310', 2026, 'S0000', -4550),
('SETL0000000000000011', 'P0004', '390', 2026, 'S0000', 3000),
('SETL0000000000000012', 'P0004', '390', 2026, 'S0000', -3000),
('SETL0000000000000013', 'P0003', '390', 2026, 'CAP:otp_pool', 5200),
('SETL0000000000000013', 'P0003', '390', 2026, 'D390100', 5200),
('SETL0000000000000013', 'P0003', '390', 2026, 'S0000', 8000);

INSERT INTO acc_totals (psn_no, insutype, year, acc_key, amount) VALUES
('P0002', '310', 2026, 'D310200', 23000),
('P0002', '310', 2026, 'S0000', 23000),
('P0001', '390', 2026, 'CAP:inpatient', 204000),
('P0001', '390', 2026, 'CATBASE', 196000),
('P0001', '390', 2026, 'D390100', 204000),
('P0001', '390', 2026, 'Q0000', 60000),
('P0001', '390', 2026, 'Q:inpatient', 60000),
('P0001', '390', 2026, 'S0000', 440000),
('P0001', '390', 2026, 'C0000', 0),
('P0004', '390', 2026, 'S0000', 0),
('P0003', '390', 2026, 'CAP:otp_pool', 5200),
('P0003', '390', 2026, 'D390100', 5200),
('P0003', '390', 2026, 'S0000', 8000);

INSERT INTO account_totals (psn_no, insutype, paid) VALUES
('P0002', '310', 23000);

INSERT INTO book_postings (batch, line_no, fund_pay_type, posting_date, flow, amount) VALUES
('collection-2026', 1, '310100', '2026-01-31', 'employer_contribution', 1200000),
('collection-2026', 2, '390100', '2026-01-31', 'individual_contribution', 2000000),
('collection-2026', 3, '390100', '2026-01-31', 'fiscal_subsidy', 4000000);
