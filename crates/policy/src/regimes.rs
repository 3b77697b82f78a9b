//! Which benefit regime (bucket) a visit falls under and which funds may pay for it: the one place
//! the settlement engine and the treatment check (2001 人员待遇享受检查) read it from.

use yibao_domain::Code;

use crate::{Bucket, Place, Scheme, Tier};

impl Bucket {
    /// Whether a visit of `med_type` with main diagnosis `dise_codg`, at deductible level `level`
    /// and at `place`, falls under this regime.
    pub fn applies_to(&self, med_type: Code, dise_codg: &str, level: u8, place: Place) -> bool {
        self.med_types.contains(&med_type)
            && (self.dise_prefixes.is_empty()
                || self
                    .dise_prefixes
                    .iter()
                    .any(|prefix| dise_codg.starts_with(prefix.as_str())))
            && self.region.matches(place)
            && crate::open_match(&self.levels, &level)
    }
}

/// What the funds of a scheme need to know about the person.
pub struct Entitlement<'a> {
    /// 公务员标志.
    pub civil_servant: bool,
    /// Whether the person holds an identity (特困, 低保 …) on the day in question.
    pub holds_identity: &'a dyn Fn(Code) -> bool,
}

impl Scheme {
    /// The first regime a visit falls under, as the engine chooses it.
    pub fn bucket_for(
        &self,
        med_type: Code,
        dise_codg: &str,
        level: u8,
        place: Place,
    ) -> Option<&Bucket> {
        self.buckets
            .iter()
            .find(|bucket| bucket.applies_to(med_type, dise_codg, level, place))
    }

    /// The funds that may pay for care under `bucket`, in `setldetail` order: the regime's own
    /// fund, then each later layer that covers the regime and applies to the person, then the
    /// personal account.
    pub fn funds_for(&self, bucket: &Bucket, person: &Entitlement<'_>) -> Vec<Code> {
        let covers = |buckets: &[Code]| buckets.contains(&bucket.id);
        let tiers_apply = |tiers: &[Tier]| {
            tiers.iter().any(|tier| {
                tier.identities.is_empty()
                    || tier.identities.iter().any(|c| (person.holds_identity)(*c))
            })
        };
        let mut funds = vec![bucket.fund];
        if let Some(layer) = self.large_amount.as_ref().filter(|l| covers(&l.buckets)) {
            funds.push(layer.fund);
        }
        if let Some(layer) = self
            .catastrophic
            .as_ref()
            .filter(|l| covers(&l.buckets) && tiers_apply(&l.tiers))
        {
            funds.push(layer.fund);
        }
        if let Some(layer) = self
            .civil_servant
            .as_ref()
            .filter(|l| person.civil_servant && covers(&l.buckets))
        {
            funds.push(layer.fund);
        }
        if let Some(layer) = self
            .assistance
            .as_ref()
            .filter(|l| covers(&l.buckets) && tiers_apply(&l.tiers))
        {
            funds.push(layer.fund);
        }
        if let Some(layer) = self.backstop.as_ref().filter(|l| {
            covers(&l.buckets) && l.identities.iter().any(|c| (person.holds_identity)(*c))
        }) {
            funds.push(layer.fund);
        }
        if let Some(account) = &self.account {
            funds.push(account.fund);
        }
        funds.dedup();
        funds
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Policy, Region};

    fn jiujiang() -> Policy {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/jiujiang.toml");
        Policy::load(&path).expect("the reference policy loads")
    }

    fn code(text: &str) -> Code {
        Code::new(text).unwrap()
    }

    #[test]
    fn an_employee_admission_is_paid_by_the_basic_and_large_amount_funds_and_the_account() {
        let policy = jiujiang();
        let scheme = policy.scheme(code("310")).unwrap();
        let bucket = scheme
            .bucket_for(code("21"), "", 2, Region::In.into())
            .expect("an inpatient regime");
        let nobody = |_: Code| false;
        let funds = scheme.funds_for(
            bucket,
            &Entitlement {
                civil_servant: false,
                holds_identity: &nobody,
            },
        );
        assert_eq!(funds.first(), Some(&bucket.fund));
        let large = scheme.large_amount.as_ref().map(|l| l.fund);
        assert!(large.is_none_or(|fund| funds.contains(&fund)));
        let account = scheme.account.as_ref().map(|a| a.fund);
        assert_eq!(funds.last().copied(), account.or(funds.last().copied()));
        if let Some(civil) = &scheme.civil_servant {
            assert!(!funds.contains(&civil.fund), "not a civil servant");
            let with_civil = scheme.funds_for(
                bucket,
                &Entitlement {
                    civil_servant: true,
                    holds_identity: &nobody,
                },
            );
            assert!(with_civil.contains(&civil.fund) == civil.buckets.contains(&bucket.id));
        }
    }

    #[test]
    fn a_medical_type_no_regime_covers_has_no_bucket() {
        let policy = jiujiang();
        let scheme = policy.scheme(code("310")).unwrap();
        assert!(scheme
            .bucket_for(code("9999"), "", 2, Region::In.into())
            .is_none());
    }
}
