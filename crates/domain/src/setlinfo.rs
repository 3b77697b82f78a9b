//! The amounts of one settlement (`setlinfo`), defined once for the engine, the ledger, the books and
//! the wire: the national columns in fen, their negation (a cancellation's mirror), sums and
//! differences, and the identities every settlement keeps (`settlement.md` §3).

use std::fmt;
use std::ops::{Add, AddAssign, Sub};

use serde::{Deserialize, Serialize};

use crate::Fen;

macro_rules! setl_amounts {
    ($($(#[$meta:meta])* $field:ident),* $(,)?) => {
        /// The amount columns of a `setlinfo`, in fen, in national order.
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub struct SetlAmounts {
            $($(#[$meta])* pub $field: Fen,)*
        }

        impl SetlAmounts {
            /// Column names, in declaration (national) order.
            pub const COLUMNS: &'static [&'static str] = &[$(stringify!($field)),*];

            /// `(column, amount)` in [`SetlAmounts::COLUMNS`] order.
            pub fn columns(&self) -> [(&'static str, Fen); SetlAmounts::COLUMNS.len()] {
                [$((stringify!($field), self.$field)),*]
            }

            /// Builds from values in [`SetlAmounts::COLUMNS`] order (missing values are zero).
            pub fn from_values(values: &[Fen]) -> SetlAmounts {
                let mut iter = values.iter().copied();
                SetlAmounts { $($field: iter.next().unwrap_or_default(),)* }
            }

            /// Every amount negated: the mirror of a cancellation.
            pub fn negated(&self) -> SetlAmounts {
                SetlAmounts { $($field: -self.$field,)* }
            }
        }

        impl Add for SetlAmounts {
            type Output = SetlAmounts;
            fn add(self, other: SetlAmounts) -> SetlAmounts {
                SetlAmounts { $($field: self.$field + other.$field,)* }
            }
        }

        impl Sub for SetlAmounts {
            type Output = SetlAmounts;
            fn sub(self, other: SetlAmounts) -> SetlAmounts {
                SetlAmounts { $($field: self.$field - other.$field,)* }
            }
        }
    };
}

setl_amounts! {
    /// 医疗费总额.
    medfee_sumamt,
    /// 全自费金额.
    fulamt_ownpay_amt,
    /// 超限价自费费用.
    overlmt_selfpay,
    /// 先行自付金额.
    preselfpay_amt,
    /// 符合政策范围金额.
    inscp_scp_amt,
    /// 实际支付起付线.
    act_pay_dedc,
    /// 基本医疗保险统筹基金支出.
    hifp_pay,
    /// 公务员医疗补助资金支出.
    cvlserv_pay,
    /// 企业补充医疗保险基金支出.
    hifes_pay,
    /// 居民大病保险资金支出.
    hifmi_pay,
    /// 职工大额医疗费用补助基金支出.
    hifob_pay,
    /// 医疗救助基金支出.
    maf_pay,
    /// 其他支出 (includes `hifdm_pay`).
    oth_pay,
    /// 基金支付总额.
    fund_pay_sumamt,
    /// 个人负担总金额.
    psn_part_amt,
    /// 个人账户支出.
    acct_pay,
    /// 个人现金支出.
    psn_cash_pay,
    /// 医院负担金额.
    hosp_part_amt,
    /// 个人账户共济支付金额.
    acct_mulaid_pay,
    /// 伤残人员医疗保障基金支出: a part of `oth_pay`, shown on its own.
    hifdm_pay,
}

impl AddAssign for SetlAmounts {
    fn add_assign(&mut self, other: SetlAmounts) {
        *self = *self + other;
    }
}

impl std::iter::Sum for SetlAmounts {
    fn sum<I: Iterator<Item = SetlAmounts>>(iter: I) -> SetlAmounts {
        iter.fold(SetlAmounts::default(), Add::add)
    }
}

/// A settlement identity that does not hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityViolation {
    /// I1: `medfee_sumamt` ≠ `fulamt_ownpay_amt + overlmt_selfpay + preselfpay_amt + inscp_scp_amt`.
    Split { medfee_sumamt: Fen, split: Fen },
    /// I2: `medfee_sumamt` ≠ `fund_pay_sumamt + psn_part_amt + hosp_part_amt`.
    Payers { medfee_sumamt: Fen, payers: Fen },
    /// I3: `psn_part_amt` ≠ `acct_pay + psn_cash_pay`.
    Person {
        psn_part_amt: Fen,
        acct_pay: Fen,
        psn_cash_pay: Fen,
    },
    /// I5: `fund_pay_sumamt` ≠ the sum of the fund columns.
    Funds { fund_pay_sumamt: Fen, columns: Fen },
}

impl fmt::Display for IdentityViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdentityViolation::Split {
                medfee_sumamt,
                split,
            } => write!(f, "I1: medfee_sumamt {medfee_sumamt} != split total {split}"),
            IdentityViolation::Payers {
                medfee_sumamt,
                payers,
            } => write!(
                f,
                "I2: medfee_sumamt {medfee_sumamt} != fund + person + hospital {payers}"
            ),
            IdentityViolation::Person {
                psn_part_amt,
                acct_pay,
                psn_cash_pay,
            } => write!(
                f,
                "I3: psn_part_amt {psn_part_amt} != acct_pay {acct_pay} + psn_cash_pay {psn_cash_pay}"
            ),
            IdentityViolation::Funds {
                fund_pay_sumamt,
                columns,
            } => write!(
                f,
                "I5: fund_pay_sumamt {fund_pay_sumamt} != sum of fund columns {columns}"
            ),
        }
    }
}

impl SetlAmounts {
    /// The sum of the fund summary columns (what `fund_pay_sumamt` must equal); `hifdm_pay` is
    /// inside `oth_pay` and not added again.
    pub fn fund_columns(&self) -> Fen {
        self.hifp_pay
            + self.cvlserv_pay
            + self.hifes_pay
            + self.hifmi_pay
            + self.hifob_pay
            + self.maf_pay
            + self.oth_pay
    }

    /// The identities I1, I2, I3 and I5 that do not hold (empty when all hold).
    pub fn identity_violations(&self) -> Vec<IdentityViolation> {
        let mut out = Vec::new();
        let split = self.fulamt_ownpay_amt
            + self.overlmt_selfpay
            + self.preselfpay_amt
            + self.inscp_scp_amt;
        if self.medfee_sumamt != split {
            out.push(IdentityViolation::Split {
                medfee_sumamt: self.medfee_sumamt,
                split,
            });
        }
        let payers = self.fund_pay_sumamt + self.psn_part_amt + self.hosp_part_amt;
        if self.medfee_sumamt != payers {
            out.push(IdentityViolation::Payers {
                medfee_sumamt: self.medfee_sumamt,
                payers,
            });
        }
        if self.psn_part_amt != self.acct_pay + self.psn_cash_pay {
            out.push(IdentityViolation::Person {
                psn_part_amt: self.psn_part_amt,
                acct_pay: self.acct_pay,
                psn_cash_pay: self.psn_cash_pay,
            });
        }
        let columns = self.fund_columns();
        if self.fund_pay_sumamt != columns {
            out.push(IdentityViolation::Funds {
                fund_pay_sumamt: self.fund_pay_sumamt,
                columns,
            });
        }
        out
    }
}

/// The amounts of one fee line as split (明细分割), defined once for the engine's split, the ledger's
/// settled lines and the wire's `result`/`setldetail` line columns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LineAmounts {
    /// 明细项目费用总额.
    pub det_item_fee_sumamt: Fen,
    /// 全自费金额.
    pub fulamt_ownpay_amt: Fen,
    /// 超限价金额.
    pub overlmt_amt: Fen,
    /// 先行自付金额.
    pub preselfpay_amt: Fen,
    /// 符合政策范围金额.
    pub inscp_scp_amt: Fen,
}

impl LineAmounts {
    /// Every amount negated: the line of a cancellation mirror.
    pub fn negated(&self) -> LineAmounts {
        LineAmounts {
            det_item_fee_sumamt: -self.det_item_fee_sumamt,
            fulamt_ownpay_amt: -self.fulamt_ownpay_amt,
            overlmt_amt: -self.overlmt_amt,
            preselfpay_amt: -self.preselfpay_amt,
            inscp_scp_amt: -self.inscp_scp_amt,
        }
    }

    /// 全自费 + 超限价 + 先行自付 + 符合政策范围: equals `det_item_fee_sumamt` in every split line.
    pub fn parts_sum(&self) -> Fen {
        self.fulamt_ownpay_amt + self.overlmt_amt + self.preselfpay_amt + self.inscp_scp_amt
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> SetlAmounts {
        SetlAmounts {
            medfee_sumamt: Fen(1000),
            fulamt_ownpay_amt: Fen(100),
            inscp_scp_amt: Fen(900),
            hifp_pay: Fen(600),
            fund_pay_sumamt: Fen(600),
            psn_part_amt: Fen(400),
            acct_pay: Fen(150),
            psn_cash_pay: Fen(250),
            ..SetlAmounts::default()
        }
    }

    #[test]
    fn negation_sum_and_identities() {
        let a = sample();
        assert!(a.identity_violations().is_empty());
        assert_eq!(a + a.negated(), SetlAmounts::default());
        assert_eq!(a.negated().negated(), a);
        assert_eq!([a, a].into_iter().sum::<SetlAmounts>() - a, a);
        let columns = a.columns();
        assert_eq!(SetlAmounts::from_values(&columns.map(|(_, v)| v)), a);
        assert_eq!(columns[0], ("medfee_sumamt", Fen(1000)));
        let broken = SetlAmounts {
            oth_pay: Fen(1),
            hifdm_pay: Fen(1),
            ..a
        };
        assert_eq!(
            broken.identity_violations(),
            vec![IdentityViolation::Funds {
                fund_pay_sumamt: Fen(600),
                columns: Fen(601)
            }]
        );
    }
}
