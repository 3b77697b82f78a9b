//! Pooling regions (统筹区) of a platform: an institution's `admdvs` (a district, say 360102) belongs
//! to the pooling region whose code it is or whose prefixes it starts with (`in_region_prefixes` of
//! that region's benefit policy); a code of no known region (another platform's) stands for itself.

use yibao_domain::Code;

/// The platform's pooling regions and their `admdvs` prefixes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PoolingRegions {
    regions: Vec<(Code, Vec<String>)>,
}

impl PoolingRegions {
    /// From `(region code, prefixes)` pairs.
    pub fn new(regions: Vec<(Code, Vec<String>)>) -> PoolingRegions {
        PoolingRegions { regions }
    }

    /// Whether `admdvs` is (in) one of the platform's pooling regions.
    pub fn knows(&self, admdvs: Code) -> bool {
        self.region_of(admdvs) != admdvs || self.regions.iter().any(|(code, _)| *code == admdvs)
    }

    /// Whether a settlement of a person insured in `insured` treated in `treating` must be
    /// confirmed by the treating institution before it is cleared (3261): both pooling regions are
    /// this platform's and differ (省内异地). With another platform's region it is settled once
    /// between the platforms and needs none.
    pub fn needs_confirmation(&self, insured: Code, treating: Code) -> bool {
        self.knows(insured)
            && self.knows(treating)
            && self.region_of(insured) != self.region_of(treating)
    }

    /// The pooling region `admdvs` belongs to: an exact region code first, then a prefix.
    pub fn region_of(&self, admdvs: Code) -> Code {
        let text = admdvs.as_str();
        self.regions
            .iter()
            .find(|(code, _)| *code == admdvs)
            .or_else(|| {
                self.regions
                    .iter()
                    .find(|(_, prefixes)| prefixes.iter().any(|p| text.starts_with(p.as_str())))
            })
            .map_or(admdvs, |(code, _)| *code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn districts_map_to_their_region() {
        let regions = PoolingRegions::new(vec![
            (Code::lit("360400"), vec!["3604".into()]),
            (Code::lit("360100"), vec!["3601".into()]),
        ]);
        assert_eq!(regions.region_of(Code::lit("360102")), Code::lit("360100"));
        assert_eq!(regions.region_of(Code::lit("360400")), Code::lit("360400"));
        assert_eq!(regions.region_of(Code::lit("330000")), Code::lit("330000"));
        assert!(regions.knows(Code::lit("360102")) && regions.knows(Code::lit("360400")));
        assert!(!regions.knows(Code::lit("440100")));
        assert!(regions.needs_confirmation(Code::lit("360400"), Code::lit("360102")));
        assert!(!regions.needs_confirmation(Code::lit("360402"), Code::lit("360400")));
        assert!(!regions.needs_confirmation(Code::lit("360400"), Code::lit("440100")));
        assert!(!regions.needs_confirmation(Code::lit("440100"), Code::lit("360100")));
    }
}
