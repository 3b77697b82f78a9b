//! Interned code table: every diagnosis or procedure code named by the rule data gets a dense
//! integer id at load; per code we keep the lists it belongs to and its CC/MCC/exclusion tables,
//! so grouping a case touches only the rows of the case's own codes.

use rustc_hash::FxHashMap;

use crate::error::LoadError;

/// Id of a code in the compiled table; every code the rules never name maps to one "unknown" id.
pub type CodeId = u32;
/// Dense id of a code list (an MDC's principal list, an ADRG's procedure list, SS_VALID, …).
pub type ListId = u32;

const NO_TABLE: u16 = u16::MAX;
const NO_REGION: u8 = u8::MAX;
/// Codes up to this many bytes live inline in the open-addressing table.
const INLINE_KEY_BYTES: usize = 15;
const INLINE_LISTS: usize = 4;
const OVERFLOW: u8 = u8::MAX;

/// Everything the grouper knows about one code, packed with the code's key into 32 bytes (half a
/// cache line), so encoding a code and reading its lists and tables costs one memory access.
#[derive(Debug, Clone, Copy)]
#[repr(C, align(32))]
pub(crate) struct CodeInfo {
    key: [u64; 2],
    mcc_table: u16,
    cc_table: u16,
    exclusion_table: u16,
    trauma_region: u8,
    /// Number of inline lists, or [`OVERFLOW`]: then `lists[0..2]` hold the offset and `lists[2]`
    /// the length of the code's run in the overflow array.
    list_count: u8,
    lists: [u16; INLINE_LISTS],
}

impl CodeInfo {
    const EMPTY: CodeInfo = CodeInfo {
        key: [0; 2],
        mcc_table: NO_TABLE,
        cc_table: NO_TABLE,
        exclusion_table: NO_TABLE,
        trauma_region: NO_REGION,
        list_count: 0,
        lists: [0; INLINE_LISTS],
    };

    /// The MCC exclusion table of this code as a secondary diagnosis, if it is an MCC.
    pub fn mcc_table(&self) -> Option<u16> {
        (self.mcc_table != NO_TABLE).then_some(self.mcc_table)
    }

    /// The CC exclusion table of this code as a secondary diagnosis, if it is a CC.
    pub fn cc_table(&self) -> Option<u16> {
        (self.cc_table != NO_TABLE).then_some(self.cc_table)
    }

    /// The exclusion table of this code as a principal diagnosis (CCE), if any.
    pub fn exclusion_table(&self) -> Option<u16> {
        (self.exclusion_table != NO_TABLE).then_some(self.exclusion_table)
    }

    /// The multiple-trauma body region of this code, if it is on the trauma MDC's list.
    pub fn trauma_region(&self) -> Option<u8> {
        (self.trauma_region != NO_REGION).then_some(self.trauma_region)
    }
}

/// The code bytes zero-padded to 15 bytes with the length in the 16th, as two words; `None` for
/// codes that cannot be inline (empty or longer than 15 bytes). Keeping the length makes keys with
/// trailing NUL bytes distinct without scanning for them.
#[inline]
fn pack_key(code: &str) -> Option<[u64; 2]> {
    let bytes = code.as_bytes();
    if bytes.is_empty() || bytes.len() > INLINE_KEY_BYTES {
        return None;
    }
    let mut buffer = [0u8; 16];
    buffer[..bytes.len()].copy_from_slice(bytes);
    buffer[15] = bytes.len() as u8;
    let packed = u128::from_le_bytes(buffer);
    Some([packed as u64, (packed >> 64) as u64])
}

fn hash_key(key: &[u64; 2]) -> u64 {
    let h = key[0].wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (h.rotate_left(23) ^ key[1]).wrapping_mul(0xC2B2_AE3D_27D4_EB4F)
}

/// The compiled code table: an open-addressing hash table (linear probing) of [`CodeInfo`] slots,
/// followed by one "unknown" slot and the slots of codes too long to be inline.
#[derive(Debug)]
pub(crate) struct CodeTable {
    slots: Vec<CodeInfo>,
    shift: u32,
    mask: usize,
    unknown: CodeId,
    long: FxHashMap<Box<str>, CodeId>,
    long_names: FxHashMap<CodeId, Box<str>>,
    overflow: Vec<u16>,
    list_count: usize,
    table_names: Vec<Box<str>>,
}

impl CodeTable {
    /// The id of `code` (the "unknown" id when the rules never name it).
    pub fn lookup(&self, code: &str) -> CodeId {
        match pack_key(code) {
            Some(key) => self.probe(key, self.home(&key)),
            None => self.long.get(code).copied().unwrap_or(self.unknown),
        }
    }

    /// Whether the rules name `code` at all.
    pub fn is_known(&self, code: &str) -> bool {
        self.lookup(code) != self.unknown
    }

    /// Looks up every code and appends the ids to `out`. The home slots are read first, in a loop
    /// without data-dependent branches, so the cache misses of a case's codes overlap instead of
    /// queueing one behind the other; `keys` is scratch space.
    #[inline]
    pub fn lookup_all<S: AsRef<str>>(
        &self,
        codes: &[S],
        keys: &mut Vec<Option<([u64; 2], usize)>>,
        out: &mut Vec<CodeId>,
    ) {
        keys.clear();
        let mut touched = 0u64;
        for code in codes {
            let packed = pack_key(code.as_ref()).map(|key| (key, self.home(&key)));
            if let Some((_, home)) = packed {
                touched ^= self.slots[home].key[0];
            }
            keys.push(packed);
        }
        std::hint::black_box(touched);
        out.extend(codes.iter().zip(keys.iter()).map(|(code, packed)| {
            match *packed {
                Some((key, home)) => self.probe(key, home),
                None => self
                    .long
                    .get(code.as_ref())
                    .copied()
                    .unwrap_or(self.unknown),
            }
        }));
    }

    #[inline]
    fn home(&self, key: &[u64; 2]) -> usize {
        (hash_key(key) >> self.shift) as usize
    }

    #[inline]
    fn probe(&self, key: [u64; 2], home: usize) -> CodeId {
        let mut index = home;
        loop {
            let slot = &self.slots[index];
            if slot.key == key {
                return index as CodeId;
            }
            if slot.key == [0; 2] {
                return self.unknown;
            }
            index = (index + 1) & self.mask;
        }
    }

    #[inline]
    pub fn info(&self, code: CodeId) -> &CodeInfo {
        &self.slots[code as usize]
    }

    /// The lists `code` is on.
    #[inline]
    pub fn memberships(&self, code: CodeId) -> &[u16] {
        let info = &self.slots[code as usize];
        if info.list_count == OVERFLOW {
            let offset = usize::from(info.lists[0]) | (usize::from(info.lists[1]) << 16);
            &self.overflow[offset..offset + usize::from(info.lists[2])]
        } else {
            &info.lists[..usize::from(info.list_count)]
        }
    }

    /// Whether `code` is on `list`.
    #[cfg(test)]
    pub fn in_list(&self, code: CodeId, list: ListId) -> bool {
        self.memberships(code)
            .iter()
            .any(|&l| ListId::from(l) == list)
    }

    /// Number of registered lists (the width of a list bitset).
    pub fn list_count(&self) -> usize {
        self.list_count
    }

    /// The code text of an id (`""` for the unknown id).
    pub fn name(&self, code: CodeId) -> String {
        if let Some(name) = self.long_names.get(&code) {
            return name.to_string();
        }
        let key = &self.slots[code as usize].key;
        let bytes: Vec<u8> = key
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .take_while(|&b| b != 0)
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// The exclusion-table id as written in the data files.
    pub fn table_name(&self, table: u16) -> &str {
        &self.table_names[usize::from(table)]
    }
}

/// Collects codes, lists and tables while the rules are compiled.
#[derive(Debug, Default)]
pub(crate) struct CodeTableBuilder {
    ids: FxHashMap<Box<str>, u32>,
    names: Vec<Box<str>>,
    infos: Vec<CodeInfo>,
    lists: Vec<Vec<u32>>,
    tables: FxHashMap<Box<str>, u16>,
    table_names: Vec<Box<str>>,
}

/// Which per-code table a `.dat` row sets.
#[derive(Debug, Clone, Copy)]
pub(crate) enum TableKind {
    Mcc,
    Cc,
    Exclusion,
}

impl CodeTableBuilder {
    pub fn new() -> Self {
        CodeTableBuilder::default()
    }

    /// The builder-side index of `code`, interning it on first sight.
    fn intern(&mut self, code: &str) -> u32 {
        if let Some(&id) = self.ids.get(code) {
            return id;
        }
        let id = self.names.len() as u32;
        self.ids.insert(code.into(), id);
        self.names.push(code.into());
        self.infos.push(CodeInfo::EMPTY);
        id
    }

    /// Registers a list of codes and returns its id.
    pub fn add_list<'a>(&mut self, codes: impl IntoIterator<Item = &'a str>) -> ListId {
        let ids: Vec<u32> = codes.into_iter().map(|c| self.intern(c)).collect();
        self.lists.push(ids);
        (self.lists.len() - 1) as ListId
    }

    /// Sets the MCC, CC or principal-exclusion table of `code`.
    pub fn set_table(&mut self, code: &str, kind: TableKind, table: &str) -> Result<(), LoadError> {
        let table_id = self.table_id(table)?;
        let id = self.intern(code) as usize;
        let info = &mut self.infos[id];
        match kind {
            TableKind::Mcc => info.mcc_table = table_id,
            TableKind::Cc => info.cc_table = table_id,
            TableKind::Exclusion => info.exclusion_table = table_id,
        }
        Ok(())
    }

    /// Sets the trauma region of `code`; a later call wins, as in the upstream map.
    pub fn set_trauma_region(&mut self, code: &str, region: u8) {
        let id = self.intern(code) as usize;
        self.infos[id].trauma_region = region;
    }

    fn table_id(&mut self, table: &str) -> Result<u16, LoadError> {
        if let Some(&id) = self.tables.get(table) {
            return Ok(id);
        }
        let id = u16::try_from(self.table_names.len())
            .ok()
            .filter(|&id| id != NO_TABLE)
            .ok_or(LoadError::TooMany {
                what: "exclusion tables",
                limit: usize::from(NO_TABLE),
            })?;
        self.tables.insert(table.into(), id);
        self.table_names.push(table.into());
        Ok(id)
    }

    /// Builds the compiled table.
    pub fn finish(self) -> Result<CodeTable, LoadError> {
        if self.lists.len() > usize::from(u16::MAX) {
            return Err(LoadError::TooMany {
                what: "code lists",
                limit: usize::from(u16::MAX),
            });
        }
        let mut memberships: Vec<Vec<u16>> = vec![Vec::new(); self.names.len()];
        for (list, codes) in self.lists.iter().enumerate() {
            for &code in codes {
                memberships[code as usize].push(list as u16);
            }
        }
        let inline_count = self.names.iter().filter(|n| pack_key(n).is_some()).count();
        let capacity = (inline_count * 3 / 2).max(16).next_power_of_two();
        let mut table = CodeTable {
            slots: vec![CodeInfo::EMPTY; capacity + 1],
            shift: 64 - capacity.trailing_zeros(),
            mask: capacity - 1,
            unknown: capacity as CodeId,
            long: FxHashMap::default(),
            long_names: FxHashMap::default(),
            overflow: Vec::new(),
            list_count: self.lists.len(),
            table_names: self.table_names,
        };
        for ((name, mut info), mut lists) in self.names.iter().zip(self.infos).zip(memberships) {
            lists.sort_unstable();
            lists.dedup();
            table.set_lists(&mut info, &lists)?;
            table.insert(name, info);
        }
        Ok(table)
    }
}

impl CodeTable {
    fn set_lists(&mut self, info: &mut CodeInfo, lists: &[u16]) -> Result<(), LoadError> {
        if lists.len() <= INLINE_LISTS {
            info.lists[..lists.len()].copy_from_slice(lists);
            info.list_count = lists.len() as u8;
            return Ok(());
        }
        let offset = self.overflow.len();
        if offset > 0xFFFF_FFFF || lists.len() > usize::from(u16::MAX) {
            return Err(LoadError::TooMany {
                what: "list memberships",
                limit: 0xFFFF_FFFF,
            });
        }
        self.overflow.extend_from_slice(lists);
        info.lists[0] = (offset & 0xFFFF) as u16;
        info.lists[1] = (offset >> 16) as u16;
        info.lists[2] = lists.len() as u16;
        info.list_count = OVERFLOW;
        Ok(())
    }

    fn insert(&mut self, name: &str, mut info: CodeInfo) {
        match pack_key(name) {
            Some(key) => {
                info.key = key;
                let mut index = (hash_key(&key) >> self.shift) as usize;
                while self.slots[index].key != [0; 2] {
                    index = (index + 1) & self.mask;
                }
                self.slots[index] = info;
            }
            None => {
                let id = self.slots.len() as CodeId;
                self.slots.push(info);
                self.long.insert(name.into(), id);
                self.long_names.insert(id, name.into());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memberships_and_tables() {
        let mut b = CodeTableBuilder::new();
        let l0 = b.add_list(["A", "B"]);
        let l1 = b.add_list(["B", "C", "B"]);
        b.set_table("B", TableKind::Mcc, "7").unwrap();
        b.set_table("C", TableKind::Exclusion, "7").unwrap();
        let t = b.finish().unwrap();
        let (a, bb, c) = (t.lookup("A"), t.lookup("B"), t.lookup("C"));
        assert!(t.in_list(a, l0) && !t.in_list(a, l1));
        assert!(t.in_list(bb, l0) && t.in_list(bb, l1));
        assert!(!t.in_list(c, l0) && t.in_list(c, l1));
        let unknown = t.lookup("Z");
        assert!(!t.in_list(unknown, l0));
        assert_eq!(t.lookup(""), unknown);
        assert_eq!(t.lookup("A\0"), unknown);
        assert_eq!(
            t.lookup("0123456789abcdef"),
            unknown,
            "16 bytes: not inline, not long-listed"
        );
        assert_eq!(t.info(bb).mcc_table(), t.info(c).exclusion_table());
        assert_eq!(t.table_name(t.info(bb).mcc_table().unwrap()), "7");
        assert_eq!(t.info(a).mcc_table(), None);
        assert_eq!(
            (t.name(bb), t.name(unknown)),
            ("B".to_string(), String::new())
        );
    }

    #[test]
    fn long_codes_and_many_lists() {
        let mut b = CodeTableBuilder::new();
        let long = "躯干、脊柱和骨盆创伤和更多的文字很长";
        let lists: Vec<ListId> = (0..20).map(|_| b.add_list(["S12.910", long])).collect();
        let t = b.finish().unwrap();
        for code in ["S12.910", long] {
            let id = t.lookup(code);
            assert_eq!(t.memberships(id).len(), 20);
            assert!(lists.iter().all(|&l| t.in_list(id, l)));
            assert_eq!(t.name(id), code);
        }
    }

    #[test]
    fn every_interned_code_is_found() {
        let mut b = CodeTableBuilder::new();
        let codes: Vec<String> = (0..5000)
            .map(|i| format!("K{:02}.{:03}x{:03}", i % 97, i, i * 7 % 1000))
            .collect();
        b.add_list(codes.iter().map(String::as_str));
        let t = b.finish().unwrap();
        let ids: std::collections::HashSet<CodeId> = codes.iter().map(|c| t.lookup(c)).collect();
        assert_eq!(ids.len(), codes.len());
        assert!(codes.iter().all(|c| t.name(t.lookup(c)) == *c));
        assert_eq!(t.lookup("K00.000x001"), t.lookup("nope"));
    }
}
