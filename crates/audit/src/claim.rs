//! What the audit reads: settled claims (a visit with its fee lines and fund amounts) and persons.

use std::sync::Arc;

use chrono::{NaiveDate, NaiveDateTime};
use rustc_hash::{FxHashMap, FxHashSet};
use yibao_domain::{Code, Fen};

/// Shared immutable text (an id or a code): 16 bytes, cloned by a reference count; equal texts
/// read through one [`Interner`] share one allocation.
pub type Text = Arc<str>;

/// An item as billed: its national code (`med_list_codg`), its charge category and what the
/// catalogue restricts it to. Every line billing the item under one catalogue shares one `Item`
/// ([`Interner::item`]), so a line carries 8 bytes of it, not a copy.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Item {
    pub code: Text,
    /// Charge category (`med_chrgitm_type`, e.g. `03` 检查费, `09` 西药费); empty when unknown.
    pub chrgitm_type: Code,
    /// The catalogue's own restrictions of the item.
    pub limits: LineLimits,
}

impl Item {
    /// An item not shared with other lines (the real-time path builds a few per call).
    pub fn shared(code: &str, chrgitm_type: Code, limits: LineLimits) -> Arc<Item> {
        Arc::new(Item {
            code: code.into(),
            chrgitm_type,
            limits,
        })
    }
}

/// One fee line of a settled claim (56 bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimLine {
    pub item: Arc<Item>,
    /// Quantity ×10,000.
    pub cnt_e4: i64,
    /// Unit price in micro-yuan.
    pub pric_micro_yuan: i64,
    pub amount: Fen,
    /// The part inside the insurance scope (amount − 全自费), the money a violation puts at issue.
    pub inscope: Fen,
    /// Ordering practitioner (`bilg_dr_codg`), when sent.
    pub doctor: Option<Text>,
}

impl ClaimLine {
    /// The national item code (`med_list_codg`).
    pub fn code(&self) -> &str {
        &self.item.code
    }

    /// The charge category; empty when unknown.
    pub fn chrgitm_type(&self) -> &str {
        self.item.chrgitm_type.as_str()
    }
}

/// What the catalogue restricts an item to (`lmt_gend`, `lmt_age_min`, `lmt_age_max`,
/// `lmt_hosp_lv`); empty when it does not.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct LineLimits {
    /// `1` male, `2` female; empty: either.
    pub gend: String,
    pub age_min_years: Option<u32>,
    pub age_max_years: Option<u32>,
    /// Minimum institution level 1–3.
    pub min_level: Option<u8>,
}

/// One settled visit. Short dictionary codes are inline [`Code`]s; ids, institution and
/// diagnosis codes are shared [`Text`]; the lines are one boxed slice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub mdtrt_id: Text,
    pub psn_no: Text,
    pub fixmedins_code: Text,
    pub med_type: Code,
    /// Institution level 1–3 as the policy maps `hosp_lv`.
    pub level: u8,
    pub insutype: Code,
    /// The person's sex and birth date as the visit sent them (the person file, when given, wins).
    pub gend: Code,
    pub brdy: Option<NaiveDate>,
    /// Diagnosis codes (`dise_codg`, `;`-separated on the wire), shared by equal lists.
    pub diagnoses: Arc<[Text]>,
    pub begin: NaiveDateTime,
    pub end: NaiveDateTime,
    pub lines: Box<[ClaimLine]>,
    /// 医疗费总额.
    pub total: Fen,
    /// 基金支付总额.
    pub fund_pay: Fen,
    /// 个人账户支付.
    pub acct_pay: Fen,
}

impl Claim {
    /// An inpatient stay (`med_type` 2x).
    pub fn is_inpatient(&self) -> bool {
        self.med_type.as_bytes().first() == Some(&b'2')
    }

    /// Length of stay in days (at least 1 for a stay; 0 for same-day care).
    pub fn los_days(&self) -> i64 {
        let days = (self.end.date() - self.begin.date()).num_days();
        if self.is_inpatient() {
            days.max(1)
        } else {
            days.max(0)
        }
    }

    /// The first diagnosis's category (its first 3 bytes; empty without one).
    pub fn dx_category(&self) -> &str {
        self.diagnoses
            .first()
            .and_then(|d| d.get(..3))
            .unwrap_or_default()
    }
}

/// Diagnosis codes of a `dise_codg` (`;`- or `,`-separated).
pub fn split_diagnoses(dise_codg: &str) -> impl Iterator<Item = &str> {
    dise_codg
        .split([';', ','])
        .map(str::trim)
        .filter(|d| !d.is_empty())
}

/// Shares equal texts, items and diagnosis lists among the claims read from one source, so that
/// memory grows with the distinct values, not with the lines. One interner serves one catalogue
/// (items are keyed by code and charge category).
#[derive(Debug, Default)]
pub struct Interner {
    texts: FxHashSet<Text>,
    items: FxHashMap<(Text, Code), Arc<Item>>,
    diagnoses: FxHashMap<Text, Arc<[Text]>>,
}

impl Interner {
    /// The shared copy of a text.
    pub fn text(&mut self, text: &str) -> Text {
        if let Some(shared) = self.texts.get(text) {
            return shared.clone();
        }
        let shared: Text = text.into();
        self.texts.insert(shared.clone());
        shared
    }

    /// The shared item of a code and category; `limits` is asked only for a new one.
    pub fn item(
        &mut self,
        code: &str,
        chrgitm_type: Code,
        limits: impl FnOnce(&str) -> LineLimits,
    ) -> Arc<Item> {
        let code = self.text(code);
        self.items
            .entry((code.clone(), chrgitm_type))
            .or_insert_with(|| {
                let limits = limits(&code);
                Arc::new(Item {
                    code,
                    chrgitm_type,
                    limits,
                })
            })
            .clone()
    }

    /// The shared diagnosis list of a `dise_codg`.
    pub fn diagnoses(&mut self, dise_codg: &str) -> Arc<[Text]> {
        if let Some(shared) = self.diagnoses.get(dise_codg) {
            return shared.clone();
        }
        let list: Arc<[Text]> = split_diagnoses(dise_codg).map(|d| self.text(d)).collect();
        let key = self.text(dise_codg);
        self.diagnoses.insert(key, list.clone());
        list
    }
}

/// A person as the person file gives them; `tel`, `addr`, `emp_name` and `death_date` are optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersonInfo {
    pub psn_no: String,
    /// `gend`: 1 male, 2 female.
    pub gend: String,
    pub brdy: Option<NaiveDate>,
    pub death_date: Option<NaiveDate>,
    pub tel: String,
    pub addr: String,
    pub emp_name: String,
}

/// Whole years of age on a date.
pub fn age_years(brdy: NaiveDate, on: NaiveDate) -> i64 {
    use chrono::Datelike;
    let mut years = i64::from(on.year() - brdy.year());
    if (on.month(), on.day()) < (brdy.month(), brdy.day()) {
        years -= 1;
    }
    years
}

/// Whether a code is one of a rule's or model's listed values.
pub(crate) fn listed(list: &[String], code: &str) -> bool {
    list.iter().any(|m| m == code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_line_is_small_and_shares_its_item() {
        assert_eq!(std::mem::size_of::<ClaimLine>(), 56);
        let mut interner = Interner::default();
        let mut asked = 0;
        let mut limits = |_: &str| {
            asked += 1;
            LineLimits {
                gend: "2".into(),
                ..LineLimits::default()
            }
        };
        let a = interner.item("XG04CAA047B001", Code::lit("09"), &mut limits);
        let b = interner.item("XG04CAA047B001", Code::lit("09"), &mut limits);
        let other = interner.item("XG04CAA047B001", Code::lit("10"), &mut limits);
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &other));
        assert_eq!(asked, 2);
        assert_eq!(a.limits.gend, "2");
        assert_eq!(&*a.code, "XG04CAA047B001");
    }

    proptest! {
        #[test]
        fn interned_texts_keep_their_value_and_are_shared(texts in proptest::collection::vec("[a-zA-Z0-9.;, ]{0,12}", 1..40)) {
            let mut interner = Interner::default();
            let first: Vec<Text> = texts.iter().map(|t| interner.text(t)).collect();
            for (text, shared) in texts.iter().zip(&first) {
                prop_assert_eq!(&**shared, text.as_str());
                prop_assert!(Arc::ptr_eq(shared, &interner.text(text)));
            }
        }

        #[test]
        fn diagnosis_lists_are_the_split_codes(dise_codg in "[A-Z0-9.;, ]{0,30}") {
            let mut interner = Interner::default();
            let list = interner.diagnoses(&dise_codg);
            let expected: Vec<&str> = split_diagnoses(&dise_codg).collect();
            let got: Vec<&str> = list.iter().map(|d| &**d).collect();
            prop_assert_eq!(got, expected);
            prop_assert!(Arc::ptr_eq(&list, &interner.diagnoses(&dise_codg)));
        }
    }
}
