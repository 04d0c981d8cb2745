//! Personal data at rest: consumers' names, phone numbers, emails and free text, agents' phone
//! numbers and every stored message are kept sealed with AES-256-GCM under a *data key*.
//!
//! Data keys live in the database (`data_keys`), each wrapped by the *master key* that every
//! node is given (configuration, or a key file made on first start), so all nodes open the
//! same values and `hod keys rotate` can add a key while they run. A sealed value carries its
//! key's id: `hodk<id>:<base64 of nonce and ciphertext>`, bound to its table and column. Look-ups
//! that need equality (the same-person check, the STOP list, messages by recipient) use keyed
//! hashes (HMAC-SHA-256 under a key derived from the master key), never the value.
use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, RwLock};

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretBox};
use sha2::Sha256;

use crate::{DbError, Result};

/// What every sealed value starts with, before its key's id.
pub const SEALED_PREFIX: &str = "hodk";
const NONCE_LEN: usize = 12;

/// A column whose values are stored sealed. Its name is bound into each value, so a value
/// copied into another column does not open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub table: &'static str,
    pub name: &'static str,
}

/// Every sealed column, by table: what `hod keys rotate` re-encrypts. `key` is the table's
/// row key; `lookup` a column kept with the keyed hash of the value, where there is one.
#[derive(Debug, Clone, Copy)]
pub struct SealedTable {
    pub table: &'static str,
    pub key: &'static str,
    pub columns: &'static [&'static str],
    pub lookup: Option<(&'static str, &'static str)>,
}

pub const SEALED_TABLES: &[SealedTable] = &[
    SealedTable {
        table: "referrals",
        key: "id",
        columns: &["first_name", "last_name", "phone", "email", "best_time"],
        lookup: None,
    },
    SealedTable {
        table: "referral_events",
        key: "id",
        columns: &["note", "account_number"],
        lookup: None,
    },
    SealedTable {
        table: "referral_consents",
        key: "id",
        columns: &["consumer_name"],
        lookup: None,
    },
    SealedTable {
        table: "agents",
        key: "id",
        columns: &["phone"],
        lookup: None,
    },
    SealedTable {
        table: "phone_codes",
        key: "agent_id",
        columns: &["phone"],
        lookup: None,
    },
    SealedTable {
        table: "outbox",
        key: "id",
        columns: &["recipient", "subject", "body", "html", "fallback_to"],
        lookup: Some(("recipient", "recipient_key")),
    },
];

/// The key that wraps the data keys and from which the look-up key is derived: 32 random
/// bytes, written as base64. Never printed.
pub struct MasterKey(SecretBox<[u8; 32]>);

#[derive(Debug, thiserror::Error)]
pub enum MasterKeyError {
    #[error("is not base64 (a key is 32 random bytes written as base64, as `hod` writes it)")]
    NotBase64,
    #[error("is {0} bytes long once decoded; a key is 32")]
    Length(usize),
}

impl MasterKey {
    pub fn parse(text: &str) -> Result<Self, MasterKeyError> {
        let text = text.trim();
        let bytes = STANDARD
            .decode(text)
            .or_else(|_| STANDARD_NO_PAD.decode(text))
            .map_err(|_| MasterKeyError::NotBase64)?;
        let key: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| MasterKeyError::Length(bytes.len()))?;
        Ok(Self(SecretBox::new(Box::new(key))))
    }

    /// A new random key.
    pub fn generate() -> Self {
        Self(SecretBox::new(Box::new(random())))
    }

    /// The key as written in a key file or in configuration.
    pub fn encoded(&self) -> String {
        STANDARD.encode(self.0.expose_secret())
    }

    fn derive(&self, purpose: &[u8]) -> [u8; 32] {
        let mut out = [0; 32];
        hkdf::Hkdf::<Sha256>::new(None, self.0.expose_secret())
            .expand(purpose, &mut out)
            .expect("32 bytes is a valid HKDF length");
        out
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(redacted)")
    }
}

fn random<const N: usize>() -> [u8; N] {
    let mut b = [0; N];
    getrandom::fill(&mut b).expect("the operating system's random numbers");
    b
}

/// The keys a node holds: shared by the database handle and its transactions, replaced
/// whole when the keys are (re)loaded.
#[derive(Clone, Default)]
pub struct Vault(Arc<RwLock<Option<Arc<Keys>>>>);

struct Keys {
    master: Arc<MasterKey>,
    lookup: [u8; 32],
    data: BTreeMap<i64, Aes256Gcm>,
    current: i64,
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.keys() {
            Ok(k) => write!(f, "Vault(current key {}, {} keys)", k.current, k.data.len()),
            Err(_) => f.write_str("Vault(locked)"),
        }
    }
}

/// A data key as stored: wrapped by the master key.
#[derive(Debug, Clone)]
pub(crate) struct StoredKey {
    pub id: i64,
    pub wrapped: String,
    pub active_from: i64,
}

fn wrap_aad(id: i64) -> Vec<u8> {
    format!("data_keys:{id}").into_bytes()
}

fn wrapping(master: &MasterKey) -> Aes256Gcm {
    Aes256Gcm::new(&master.derive(b"hod data-key wrapping v1").into())
}

/// A new data key, wrapped for storage under `id`.
pub(crate) fn new_wrapped_key(master: &MasterKey, id: i64) -> String {
    let key: [u8; 32] = random();
    seal_bytes(&wrapping(master), &wrap_aad(id), &key)
}

fn seal_bytes(cipher: &Aes256Gcm, aad: &[u8], plain: &[u8]) -> String {
    let nonce: [u8; NONCE_LEN] = random();
    let sealed = cipher
        .encrypt(Nonce::from_slice(&nonce), Payload { msg: plain, aad })
        .expect("AES-GCM seals any message this size");
    let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    STANDARD_NO_PAD.encode(out)
}

fn open_bytes(cipher: &Aes256Gcm, aad: &[u8], text: &str) -> Option<Vec<u8>> {
    let raw = STANDARD_NO_PAD.decode(text).ok()?;
    if raw.len() < NONCE_LEN {
        return None;
    }
    let (nonce, sealed) = raw.split_at(NONCE_LEN);
    cipher
        .decrypt(Nonce::from_slice(nonce), Payload { msg: sealed, aad })
        .ok()
}

/// The key id of a sealed value, and the rest; `None` for a value stored before sealing
/// existed (kept readable until `hod keys rotate` or the first start seals it).
pub(crate) fn sealed_parts(stored: &str) -> Option<(i64, &str)> {
    let rest = stored.strip_prefix(SEALED_PREFIX)?;
    let (id, body) = rest.split_once(':')?;
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((id.parse().ok()?, body))
}

impl Vault {
    fn keys(&self) -> Result<Arc<Keys>> {
        self.0
            .read()
            .expect("the key lock is never held across a panic")
            .clone()
            .ok_or_else(|| DbError::Keys("the keys for personal data are not loaded".into()))
    }

    /// Replaces the keys with `stored`, each opened with `master`; the current key is the
    /// newest already active at `now`.
    pub(crate) fn load(
        &self,
        master: Arc<MasterKey>,
        stored: &[StoredKey],
        now: i64,
    ) -> Result<()> {
        let wrap = wrapping(&master);
        let mut data = BTreeMap::new();
        let mut current = None;
        for k in stored {
            let key = open_bytes(&wrap, &wrap_aad(k.id), &k.wrapped).ok_or_else(|| {
                DbError::Keys(format!(
                    "data key {} does not open with this master key: give every node the same \
                     data_key (or data key file) that made this database's keys",
                    k.id
                ))
            })?;
            let key: [u8; 32] = key
                .as_slice()
                .try_into()
                .map_err(|_| DbError::Keys(format!("data key {} is not 32 bytes", k.id)))?;
            data.insert(k.id, Aes256Gcm::new(&key.into()));
            if k.active_from <= now && current.is_none_or(|c| c < k.id) {
                current = Some(k.id);
            }
        }
        let current =
            current.ok_or_else(|| DbError::Keys("no data key is active yet".to_owned()))?;
        *self
            .0
            .write()
            .expect("the key lock is never held across a panic") = Some(Arc::new(Keys {
            lookup: master.derive(b"hod look-up v1"),
            master,
            data,
            current,
        }));
        Ok(())
    }

    /// The master key the keys were loaded with (to load them again).
    pub(crate) fn master(&self) -> Result<Arc<MasterKey>> {
        Ok(self.keys()?.master.clone())
    }

    /// The id of the key new values are sealed with.
    pub fn current_key(&self) -> Result<i64> {
        Ok(self.keys()?.current)
    }

    /// `plain` sealed for `column`. An empty value stays empty: it says nothing its length
    /// would not, and most notes are empty.
    pub fn seal(&self, column: Column, plain: &str) -> Result<String> {
        if plain.is_empty() {
            return Ok(String::new());
        }
        let keys = self.keys()?;
        let cipher = &keys.data[&keys.current];
        let aad = aad(column);
        Ok(format!(
            "{SEALED_PREFIX}{}:{}",
            keys.current,
            seal_bytes(cipher, &aad, plain.as_bytes())
        ))
    }

    pub fn seal_opt(&self, column: Column, plain: Option<&str>) -> Result<Option<String>> {
        plain.map(|p| self.seal(column, p)).transpose()
    }

    /// The value as it was given to [`Vault::seal`]. A value stored before sealing existed is
    /// returned as it is.
    pub fn open(&self, column: Column, stored: &str) -> Result<String> {
        let Some((id, body)) = sealed_parts(stored) else {
            return Ok(stored.to_owned());
        };
        let keys = self.keys()?;
        let cipher = keys.data.get(&id).ok_or_else(|| {
            DbError::Keys(format!(
                "{}.{} was sealed with data key {id}, which this node does not have",
                column.table, column.name
            ))
        })?;
        let plain = open_bytes(cipher, &aad(column), body).ok_or_else(|| {
            DbError::Corrupt(format!(
                "a value of {}.{} does not open with its key",
                column.table, column.name
            ))
        })?;
        String::from_utf8(plain).map_err(|_| {
            DbError::Corrupt(format!(
                "{}.{} opened to non-UTF-8",
                column.table, column.name
            ))
        })
    }

    /// Opens `stored` in place.
    pub fn open_in_place(&self, column: Column, stored: &mut String) -> Result<()> {
        *stored = self.open(column, stored)?;
        Ok(())
    }

    pub fn open_opt_in_place(&self, column: Column, stored: &mut Option<String>) -> Result<()> {
        if let Some(s) = stored {
            self.open_in_place(column, s)?;
        }
        Ok(())
    }

    /// The keyed hash `kind` looks `value` up by (hex). The same on every node and across
    /// data-key rotations; useless without the master key.
    pub fn lookup(&self, kind: &str, value: &str) -> Result<String> {
        let keys = self.keys()?;
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&keys.lookup)
            .expect("HMAC takes a key of any length");
        mac.update(kind.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        Ok(hex::encode(mac.finalize().into_bytes()))
    }
}

fn aad(column: Column) -> Vec<u8> {
    format!("{}.{}", column.table, column.name).into_bytes()
}

/// The sealed columns by name, for the modules that read and write them.
pub mod columns {
    use super::Column;

    const fn c(table: &'static str, name: &'static str) -> Column {
        Column { table, name }
    }

    pub const REFERRAL_FIRST_NAME: Column = c("referrals", "first_name");
    pub const REFERRAL_LAST_NAME: Column = c("referrals", "last_name");
    pub const REFERRAL_PHONE: Column = c("referrals", "phone");
    pub const REFERRAL_EMAIL: Column = c("referrals", "email");
    pub const REFERRAL_BEST_TIME: Column = c("referrals", "best_time");
    pub const EVENT_NOTE: Column = c("referral_events", "note");
    pub const EVENT_ACCOUNT_NUMBER: Column = c("referral_events", "account_number");
    pub const CONSENT_CONSUMER_NAME: Column = c("referral_consents", "consumer_name");
    pub const AGENT_PHONE: Column = c("agents", "phone");
    pub const PHONE_CODE_PHONE: Column = c("phone_codes", "phone");
    pub const OUTBOX_RECIPIENT: Column = c("outbox", "recipient");
    pub const OUTBOX_SUBJECT: Column = c("outbox", "subject");
    pub const OUTBOX_BODY: Column = c("outbox", "body");
    pub const OUTBOX_HTML: Column = c("outbox", "html");
    pub const OUTBOX_FALLBACK_TO: Column = c("outbox", "fallback_to");
}

/// The keyed-hash kinds.
pub mod lookups {
    /// A consumer: names, phone and ZIP (the same-person check).
    pub const PERSON: &str = "person";
    /// A phone number in E.164 (the STOP list).
    pub const PHONE: &str = "phone";
    /// A consumer's request as submitted (what an idempotency key is bound to).
    pub const REQUEST: &str = "request";
    /// A message's recipient as stored.
    pub const RECIPIENT: &str = "recipient";
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vault(master: &Arc<MasterKey>, keys: &[StoredKey]) -> Vault {
        let v = Vault::default();
        v.load(master.clone(), keys, 0).unwrap();
        v
    }

    fn key(master: &MasterKey, id: i64) -> StoredKey {
        StoredKey {
            id,
            wrapped: new_wrapped_key(master, id),
            active_from: 0,
        }
    }

    #[test]
    fn a_sealed_value_opens_only_in_its_column_and_never_shows_the_text() {
        let m = Arc::new(MasterKey::generate());
        let v = vault(&m, &[key(&m, 1)]);
        let sealed = v.seal(columns::REFERRAL_PHONE, "+15125550123").unwrap();
        assert!(sealed.starts_with("hodk1:"), "{sealed}");
        assert!(!sealed.contains("5550123"));
        assert_eq!(
            v.open(columns::REFERRAL_PHONE, &sealed).unwrap(),
            "+15125550123"
        );
        assert!(matches!(
            v.open(columns::AGENT_PHONE, &sealed),
            Err(DbError::Corrupt(_))
        ));
        // Two seals of one value differ: equal values are not visible as equal.
        assert_ne!(
            sealed,
            v.seal(columns::REFERRAL_PHONE, "+15125550123").unwrap()
        );
    }

    #[test]
    fn the_newest_active_key_seals_and_older_ones_still_open() {
        let m = Arc::new(MasterKey::generate());
        let first = key(&m, 1);
        let old = vault(&m, std::slice::from_ref(&first));
        let sealed = old.seal(columns::EVENT_NOTE, "called back").unwrap();
        let mut later = key(&m, 3);
        later.active_from = 100;
        let both = vec![first, key(&m, 2), later];
        let v = vault(&m, &both);
        assert_eq!(v.current_key().unwrap(), 2, "key 3 is not active yet at 0");
        assert!(
            v.seal(columns::EVENT_NOTE, "x")
                .unwrap()
                .starts_with("hodk2:")
        );
        assert_eq!(v.open(columns::EVENT_NOTE, &sealed).unwrap(), "called back");
        v.load(m, &both, 100).unwrap();
        assert_eq!(v.current_key().unwrap(), 3);
    }

    #[test]
    fn another_master_key_cannot_open_the_data_keys() {
        let m = MasterKey::generate();
        let err = Vault::default()
            .load(Arc::new(MasterKey::generate()), &[key(&m, 1)], 0)
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("does not open with this master key"),
            "{err}"
        );
    }

    #[test]
    fn look_ups_are_keyed_and_stable() {
        let m = Arc::new(MasterKey::generate());
        let a = vault(&m, &[key(&m, 1)]);
        let b = vault(&m, &[key(&m, 1), key(&m, 2)]);
        let other = Arc::new(MasterKey::generate());
        let c = vault(&other, &[key(&other, 1)]);
        let h = a.lookup(lookups::PHONE, "+15125550123").unwrap();
        assert_eq!(h, b.lookup(lookups::PHONE, "+15125550123").unwrap());
        assert_ne!(h, c.lookup(lookups::PHONE, "+15125550123").unwrap());
        assert_ne!(h, a.lookup(lookups::RECIPIENT, "+15125550123").unwrap());
    }

    #[test]
    fn values_from_before_sealing_read_as_they_are() {
        let m = Arc::new(MasterKey::generate());
        let v = vault(&m, &[key(&m, 1)]);
        assert_eq!(v.open(columns::REFERRAL_FIRST_NAME, "Ana").unwrap(), "Ana");
        assert_eq!(
            v.open(columns::EVENT_NOTE, "hodkx: typed").unwrap(),
            "hodkx: typed"
        );
    }

    #[test]
    fn master_keys_parse_from_what_they_print_and_say_what_is_wrong() {
        let m = MasterKey::generate();
        let again = MasterKey::parse(&format!("  {}\n", m.encoded())).unwrap();
        assert_eq!(again.encoded(), m.encoded());
        assert!(!format!("{m:?}").contains(&m.encoded()));
        assert!(matches!(
            MasterKey::parse("not base64!"),
            Err(MasterKeyError::NotBase64)
        ));
        assert!(matches!(
            MasterKey::parse(&STANDARD.encode([1u8; 16])),
            Err(MasterKeyError::Length(16))
        ));
    }
}
