//! Shared service state: the store, the parsed policies and catalogues per pooling region (parsed once,
//! swapped atomically on reload), cached institutions and gateway keys, metrics.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use chrono::{NaiveDate, NaiveDateTime};
use yibao_catalog::Catalog;
use yibao_ledger::registry::{self, Document};
use yibao_ledger::{AccessKey, Institution, LedgerError, Store};
use yibao_policy::Policy;

use crate::config::Config;
use crate::evoucher::VoucherKey;
use crate::metrics::Metrics;
use crate::sanctions::Sanctions;

/// Why the stored policies or catalogues could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("stored policy for {admdvs}: {problem}")]
    Policy { admdvs: String, problem: String },
    #[error("stored catalogue for {admdvs}: {problem}")]
    Catalog { admdvs: String, problem: String },
    #[error("audit rule set: {0}")]
    Audit(#[from] crate::audit::RuleSetLoadError),
}

/// A parsed policy or catalogue with the version of the text it was parsed from.
pub struct Versioned<T> {
    pub parsed: Arc<T>,
    /// `sha256:` and the first 16 hex digits of the SHA-256 of the stored text: any change of the
    /// text (a reload of another file) changes it.
    pub version: String,
}

impl<T> Versioned<T> {
    fn of(parsed: T, source: &str) -> Versioned<T> {
        Versioned {
            parsed: Arc::new(parsed),
            version: source_digest(source),
        }
    }
}

/// The version a split basis records for a policy or catalogue text: `sha256:` and the first 16 hex
/// digits of its SHA-256.
pub fn source_digest(source: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(source.as_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// One imported catalogue version of a region, parsed, with the day it takes effect.
struct DatedCatalog {
    begins: NaiveDate,
    catalog: Versioned<Catalog>,
}

/// Every pooling region's policy and catalogue versions, parsed.
#[derive(Default)]
pub struct Regions {
    policies: Vec<(String, Versioned<Policy>)>,
    /// Per region, every imported catalogue version in import order (the last is the current one).
    catalogs: HashMap<String, Vec<DatedCatalog>>,
}

impl Regions {
    /// Parses every stored policy and catalogue.
    pub async fn load(store: &Store) -> Result<Regions, RegistryError> {
        let mut conn = store.pool().acquire().await.map_err(LedgerError::from)?;
        let mut regions = Regions::default();
        for (admdvs, source) in registry::documents(&mut conn, Document::Policy).await? {
            let policy = Policy::parse(&source).map_err(|e| RegistryError::Policy {
                admdvs: admdvs.clone(),
                problem: e.to_string(),
            })?;
            regions
                .policies
                .push((admdvs, Versioned::of(policy, &source)));
        }
        for (admdvs, _) in registry::documents(&mut conn, Document::Catalog).await? {
            let versions = registry::catalog_versions(&mut conn, &admdvs).await?;
            let dated = versions
                .iter()
                .map(|v| dated_catalog(&admdvs, v))
                .collect::<Result<Vec<_>, _>>()?;
            regions.catalogs.insert(admdvs, dated);
        }
        Ok(regions)
    }

    /// The policy of the pooling region an `admdvs` belongs to (exact code first, then the policies'
    /// region prefixes).
    pub fn policy_for(&self, admdvs: &str) -> Option<&Versioned<Policy>> {
        self.policies
            .iter()
            .find(|(code, _)| code == admdvs)
            .or_else(|| {
                self.policies
                    .iter()
                    .find(|(_, p)| p.parsed.is_in_region(admdvs))
            })
            .map(|(_, p)| p)
    }

    /// The pooling region code an `admdvs` belongs to.
    pub fn region_of(&self, admdvs: &str) -> Option<&str> {
        self.policy_for(admdvs)
            .map(|p| p.parsed.policy.admdvs.as_str())
    }

    /// Whether a fund code is one of this platform's policies' funds (a code of another platform's
    /// policy that is not is answered as 910100, as the national platform does).
    pub fn knows_fund(&self, code: &str) -> bool {
        self.policies
            .iter()
            .any(|(_, p)| p.parsed.funds.iter().any(|f| f.code.as_str() == code))
    }

    /// The current catalogue of a pooling region (its latest imported version).
    pub fn catalog(&self, region: &str) -> Option<&Versioned<Catalog>> {
        self.catalogs
            .get(region)
            .and_then(|versions| versions.last())
            .map(|v| &v.catalog)
    }

    /// The catalogue of a pooling region in force on `care_date`: the latest imported version whose
    /// `begndate` is on or before it (a later import supersedes an earlier one from its `begndate`);
    /// care before every version's `begndate` (a first catalogue takes effect the day it is loaded)
    /// uses the current one.
    pub fn catalog_on(&self, region: &str, care_date: NaiveDate) -> Option<&Versioned<Catalog>> {
        let versions = self.catalogs.get(region)?;
        let in_force = versions.iter().rev().find(|v| v.begins <= care_date);
        in_force.or_else(|| versions.last()).map(|v| &v.catalog)
    }

    /// The catalogue region of the place an institution of `admdvs` is in (就医地目录): its pooling
    /// region, also when that region has no policy loaded (a province platform serves hospitals of
    /// regions whose insured it does not host) — the most specific code with a catalogue containing
    /// `admdvs`.
    fn catalog_region_for(&self, admdvs: &str) -> Option<&str> {
        if let Some(region) = self
            .region_of(admdvs)
            .filter(|r| self.catalogs.contains_key(*r))
        {
            return Some(region);
        }
        self.catalogs
            .keys()
            .filter(|code| yibao_policy::area_contains(code, admdvs))
            .max_by_key(|code| code.trim_end_matches('0').len())
            .map(String::as_str)
    }

    /// The current catalogue of the place an institution of `admdvs` is in.
    pub fn catalog_for(&self, admdvs: &str) -> Option<&Versioned<Catalog>> {
        self.catalog(self.catalog_region_for(admdvs)?)
    }

    /// The catalogue of the place an institution of `admdvs` is in, in force on `care_date`
    /// ([`Regions::catalog_on`]).
    pub fn catalog_for_on(
        &self,
        admdvs: &str,
        care_date: NaiveDate,
    ) -> Option<&Versioned<Catalog>> {
        self.catalog_on(self.catalog_region_for(admdvs)?, care_date)
    }
}

/// Parses one stored catalogue version.
fn dated_catalog(
    admdvs: &str,
    version: &registry::CatalogVersion,
) -> Result<DatedCatalog, RegistryError> {
    let problem = |problem: String| RegistryError::Catalog {
        admdvs: admdvs.to_string(),
        problem: format!("version {}: {problem}", version.ver),
    };
    let begins = NaiveDate::parse_from_str(&version.begndate, "%Y-%m-%d")
        .map_err(|e| problem(format!("begndate `{}`: {e}", version.begndate)))?;
    let catalog = Catalog::from_reader(version.source.as_bytes(), b',')
        .map_err(|e| problem(e.to_string()))?;
    Ok(DatedCatalog {
        begins,
        catalog: Versioned::of(catalog, &version.source),
    })
}

/// State shared by the HTTP handlers and the ledger writer.
pub struct Shared {
    pub store: Store,
    pub config: Config,
    pub metrics: Metrics,
    /// Issues and resolves 医保电子凭证 tokens.
    pub vouchers: VoucherKey,
    /// The peers' client and the visits being settled with a peer.
    pub peers: crate::peer::PeerState,
    /// The real-time audit's rule set (3101/3102, fee upload).
    pub audit: yibao_audit::RuleSet,
    /// The practitioners' points scale and the credit rating's (`sanctions.toml`).
    pub sanctions_policy: yibao_audit::sanctions::SanctionsPolicy,
    sanctions: RwLock<Arc<Sanctions>>,
    /// The real-time audit's per-person history, following the ledger writer's durable batches.
    pub care: crate::care_state::CareState,
    regions: RwLock<Arc<Regions>>,
    institutions: RwLock<HashMap<String, Institution>>,
    keys: RwLock<HashMap<String, AccessKey>>,
    refmsg_serial: AtomicU64,
}

impl Shared {
    /// Loads the registry caches.
    pub async fn load(store: Store, config: Config) -> Result<Shared, RegistryError> {
        let regions = Regions::load(&store).await?;
        let vouchers = VoucherKey::new(&config.evoucher_secret, config.evoucher_ttl_secs);
        let peers = crate::peer::PeerState::new(&config);
        let audit = crate::audit::load_rule_set(config.audit_rules_dir.as_deref())?;
        let sanctions_policy =
            crate::audit::load_sanctions_policy(config.audit_rules_dir.as_deref())?;
        let care = crate::care_state::CareState::new(config.audit_state_persons);
        let shared = Shared {
            store,
            config,
            metrics: Metrics::default(),
            vouchers,
            peers,
            audit,
            sanctions_policy,
            sanctions: RwLock::new(Arc::default()),
            care,
            regions: RwLock::new(Arc::new(regions)),
            institutions: RwLock::new(HashMap::new()),
            keys: RwLock::new(HashMap::new()),
            refmsg_serial: AtomicU64::new(0),
        };
        shared.reload_institutions().await?;
        shared.reload_sanctions().await?;
        let mut conn = shared
            .store
            .pool()
            .acquire()
            .await
            .map_err(LedgerError::from)?;
        shared
            .metrics
            .set_ledger_entries(yibao_ledger::entries::entry_count(&mut conn).await?);
        Ok(shared)
    }

    /// The current policies and catalogues.
    pub fn regions(&self) -> Arc<Regions> {
        self.regions
            .read()
            .map(|r| Arc::clone(&r))
            .unwrap_or_default()
    }

    /// Re-reads policies and catalogues from the store and swaps them in.
    pub async fn reload_regions(&self) -> Result<(), RegistryError> {
        let regions = Arc::new(Regions::load(&self.store).await?);
        if let Ok(mut slot) = self.regions.write() {
            *slot = regions;
        }
        Ok(())
    }

    /// The sanctions in force (agreements, practitioners, card suspensions).
    pub fn sanctions(&self) -> Arc<Sanctions> {
        self.sanctions
            .read()
            .map(|s| Arc::clone(&s))
            .unwrap_or_default()
    }

    /// Re-reads the sanctions from the store and swaps them in.
    pub async fn reload_sanctions(&self) -> Result<(), LedgerError> {
        let mut conn = self.store.pool().acquire().await?;
        let all = yibao_ledger::sanctions::load_all(&mut conn).await?;
        if let Ok(mut slot) = self.sanctions.write() {
            *slot = Arc::new(Sanctions::of(all));
        }
        Ok(())
    }

    /// Reloads the sanctions when `sanctions_version` moved since they were read (one small
    /// query).
    pub async fn refresh_sanctions(&self) -> Result<(), LedgerError> {
        let mut conn = self.store.pool().acquire().await?;
        let version = yibao_ledger::sanctions::version(&mut conn).await?;
        drop(conn);
        if version != self.sanctions().version {
            self.reload_sanctions().await?;
        }
        Ok(())
    }

    /// Re-reads institutions and keys from the store.
    pub async fn reload_institutions(&self) -> Result<(), LedgerError> {
        let mut conn = self.store.pool().acquire().await?;
        let institutions = registry::institutions(&mut conn).await?;
        let keys = registry::access_keys(&mut conn).await?;
        if let Ok(mut slot) = self.institutions.write() {
            *slot = institutions
                .into_iter()
                .map(|i| (i.fixmedins_code.clone(), i))
                .collect();
        }
        if let Ok(mut slot) = self.keys.write() {
            *slot = keys
                .into_iter()
                .map(|k| (k.access_key.clone(), k))
                .collect();
        }
        Ok(())
    }

    /// An institution by code (cache, then the store; imports by another process become visible).
    pub async fn institution(&self, code: &str) -> Result<Option<Institution>, LedgerError> {
        if let Some(found) = self
            .institutions
            .read()
            .ok()
            .and_then(|m| m.get(code).cloned())
        {
            return Ok(Some(found));
        }
        let mut conn = self.store.pool().acquire().await?;
        let found = registry::institution(&mut conn, code).await?;
        if let (Some(institution), Ok(mut cache)) = (&found, self.institutions.write()) {
            cache.insert(code.to_string(), institution.clone());
        }
        Ok(found)
    }

    /// A gateway key (cache, then the store).
    pub async fn access_key(&self, access_key: &str) -> Result<Option<AccessKey>, LedgerError> {
        if let Some(found) = self
            .keys
            .read()
            .ok()
            .and_then(|m| m.get(access_key).cloned())
        {
            return Ok(Some(found));
        }
        self.reload_institutions().await?;
        Ok(self
            .keys
            .read()
            .ok()
            .and_then(|m| m.get(access_key).cloned()))
    }

    /// The platform's time now: the system clock moved by `clock_offset_secs`.
    pub fn now(&self) -> NaiveDateTime {
        chrono::Local::now().naive_local()
            + chrono::Duration::seconds(self.config.clock_offset_secs)
    }

    /// The next 10-digit serial of this process (receiver message ids, sign-in numbers).
    pub fn next_serial(&self) -> u64 {
        self.refmsg_serial.fetch_add(1, Ordering::Relaxed) % 10_000_000_000
    }

    /// A new receiver message id: region(6) + `yyyyMMddHHmmss` + serial(10).
    pub fn next_refmsgid(&self, at: NaiveDateTime) -> String {
        let serial = self.next_serial();
        let stamp = crate::envelope::envelope_time(at);
        format!(
            "{}{}{serial:010}",
            self.config.platform_admdvs,
            &stamp[..14]
        )
    }
}
