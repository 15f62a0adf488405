//! SOPS-encrypted JSON files, read and written natively, in the format `sops -e --input-type json
//! --output-type json` writes with age recipients: every leaf value `ENC[AES256_GCM,data:…,iv:…,
//! tag:…,type:…]` (AES-256-GCM, a 32-byte IV, the value's key path `a:b:` as associated data), the
//! data key age-encrypted once per recipient under `sops.age`, and `sops.mac` (AES-GCM of the
//! upper-case hex SHA-512 of every value, with `sops.lastmodified` as associated data).
//!
//! Writing keeps the file's data key and recipients (what `sops` itself does on edit): fresh IVs, a
//! new `lastmodified` and MAC, so `sops -d` keeps reading the file. Only age is supported; the
//! selectors `encrypted_regex`, `unencrypted_regex`, `encrypted_suffix` and `mac_only_encrypted`
//! are refused rather than half-honoured.

use aes_gcm::aead::consts::U32;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::aes::Aes256;
use aes_gcm::{AesGcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use rand::RngCore as _;
use serde_json::{Map, Value};
use sha2::{Digest, Sha512};
use zeroize::Zeroizing;

use super::age_keys::{self, AgeIdentities};
pub use super::error::SopsError;

/// sops's AES-GCM: AES-256 with a 32-byte nonce and a 16-byte tag.
type Cipher = AesGcm<Aes256, U32>;

/// Keys of `sops` that name key services other than age.
const OTHER_KEY_SERVICES: [&str; 6] = ["pgp", "kms", "gcp_kms", "azure_kv", "hc_vault", "hckms"];
/// Selectors whose meaning this reader does not implement.
const UNSUPPORTED_OPTIONS: [&str; 4] = [
    "encrypted_regex",
    "unencrypted_regex",
    "encrypted_suffix",
    "mac_only_encrypted",
];

/// An opened file's data key and `sops` metadata: enough to write it again for the same recipients.
pub struct Sealed {
    key: Zeroizing<[u8; 32]>,
    meta: Map<String, Value>,
}

impl std::fmt::Debug for Sealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealed([redacted])")
    }
}

/// Decrypts `text` with the identities sops itself would use (`SOPS_AGE_KEY`, `SOPS_AGE_KEY_FILE`,
/// its default key file); the plaintext tree (without `sops`) and what rewriting it needs.
pub fn open(text: &str) -> Result<(Value, Sealed), SopsError> {
    open_with(text, &age_keys::from_env()?)
}

/// [`open`] with the given identities.
pub fn open_with(text: &str, identities: &AgeIdentities) -> Result<(Value, Sealed), SopsError> {
    let mut tree: Map<String, Value> = match serde_json::from_str(text) {
        Ok(Value::Object(m)) => m,
        Ok(_) => return Err(SopsError::NotSops("not a JSON object".into())),
        Err(e) => return Err(SopsError::NotSops(format!("not JSON (line {})", e.line()))),
    };
    let Some(Value::Object(meta)) = tree.remove("sops") else {
        return Err(SopsError::NotSops("no `sops` metadata".into()));
    };
    for option in UNSUPPORTED_OPTIONS {
        if meta.get(option).is_some_and(|v| !v.is_null()) {
            return Err(SopsError::UnsupportedOption(option));
        }
    }
    let key = data_key(&meta, identities)?;
    let sealed = Sealed { key, meta };
    let suffix = sealed.unencrypted_suffix();
    let mut hash = Sha512::new();
    let mut plain = Value::Object(tree);
    walk(
        &mut plain,
        &mut Vec::new(),
        &suffix,
        &mut |v, path, encrypted| {
            if encrypted && let Value::String(s) = v {
                *v = decrypt_value(&sealed.key, s, &aad(path))?;
            }
            hash_value(&mut hash, v);
            Ok(())
        },
    )?;
    let expected = format!("{:X}", hash.finalize());
    let lastmodified = sealed.text("lastmodified")?;
    let mac = match decrypt_value(&sealed.key, &sealed.text("mac")?, &lastmodified) {
        Ok(Value::String(m)) => m,
        Ok(_) | Err(_) => return Err(SopsError::MacMismatch("`sops.mac` does not decrypt".into())),
    };
    if mac != expected {
        return Err(SopsError::MacMismatch(
            "the values do not match `sops.mac`".into(),
        ));
    }
    Ok((plain, sealed))
}

impl Sealed {
    /// A new data key, age-encrypted for each of `recipients` (`age1…`), as `sops -e --age` does.
    pub fn for_recipients(recipients: &[String]) -> Result<Self, SopsError> {
        let mut key = Zeroizing::new([0u8; 32]);
        rand::rng().fill_bytes(key.as_mut());
        let mut entries = Vec::new();
        for r in recipients {
            let enc = age_keys::encrypt_for(r, key.as_ref())?;
            entries.push(serde_json::json!({"recipient": r, "enc": enc}));
        }
        let mut meta = Map::new();
        meta.insert("age".into(), Value::Array(entries));
        meta.insert("unencrypted_suffix".into(), "_unencrypted".into());
        meta.insert("version".into(), "3.11.0".into());
        Ok(Self { key, meta })
    }

    /// The recipients the file is encrypted for.
    pub fn recipients(&self) -> Vec<String> {
        recipients(&self.meta)
    }

    /// `plain` encrypted under this file's data key: fresh IVs, `lastmodified` now, a new MAC.
    pub fn seal(&self, plain: &Value) -> Result<String, SopsError> {
        let Value::Object(_) = plain else {
            return Err(SopsError::Malformed(
                "the plaintext is not a JSON object".into(),
            ));
        };
        let suffix = self.unencrypted_suffix();
        let mut hash = Sha512::new();
        let mut tree = plain.clone();
        walk(
            &mut tree,
            &mut Vec::new(),
            &suffix,
            &mut |v, path, encrypted| {
                hash_value(&mut hash, v);
                if encrypted && let Some(enc) = encrypt_value(&self.key, v, &aad(path))? {
                    *v = Value::String(enc);
                }
                Ok(())
            },
        )?;
        let lastmodified = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let mac = format!("{:X}", hash.finalize());
        let mac = encrypt_value(&self.key, &Value::String(mac), &lastmodified)?
            .ok_or_else(|| SopsError::Malformed("mac".into()))?;
        let mut meta = self.meta.clone();
        meta.insert("lastmodified".into(), Value::String(lastmodified));
        meta.insert("mac".into(), Value::String(mac));
        let Value::Object(mut out) = tree else {
            return Err(SopsError::Malformed(
                "the plaintext is not a JSON object".into(),
            ));
        };
        out.insert("sops".into(), Value::Object(meta));
        serde_json::to_string_pretty(&Value::Object(out))
            .map_err(|e| SopsError::Malformed(e.to_string()))
    }

    fn text(&self, key: &str) -> Result<String, SopsError> {
        self.meta
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| SopsError::Malformed(format!("no `sops.{key}`")))
    }

    fn unencrypted_suffix(&self) -> String {
        self.meta
            .get("unencrypted_suffix")
            .and_then(Value::as_str)
            .unwrap_or("_unencrypted")
            .to_string()
    }
}

fn recipients(meta: &Map<String, Value>) -> Vec<String> {
    meta.get("age")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|e| e.get("recipient").and_then(Value::as_str))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// The data key, from the first `sops.age` entry one of `identities` opens.
fn data_key(
    meta: &Map<String, Value>,
    identities: &AgeIdentities,
) -> Result<Zeroizing<[u8; 32]>, SopsError> {
    let entries = meta
        .get("age")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if entries.is_empty() {
        let others: Vec<&str> = OTHER_KEY_SERVICES
            .into_iter()
            .filter(|k| {
                meta.get(*k)
                    .is_some_and(|v| v.as_array().is_some_and(|a| !a.is_empty()))
            })
            .collect();
        return Err(if others.is_empty() {
            SopsError::Malformed("no `sops.age` recipients".into())
        } else {
            SopsError::UnsupportedKeys(others.join(", "))
        });
    }
    for entry in &entries {
        let Some(enc) = entry.get("enc").and_then(Value::as_str) else {
            continue;
        };
        if let Some(key) = identities.decrypt(enc)? {
            let key: [u8; 32] = key
                .as_slice()
                .try_into()
                .map_err(|_| SopsError::Malformed("the data key is not 32 bytes".into()))?;
            return Ok(Zeroizing::new(key));
        }
    }
    Err(SopsError::WrongKey {
        tried: identities.sources(),
        expected: recipients(meta).join(", "),
    })
}

/// What [`walk`] calls for each leaf: the value, its key path, whether it is encrypted.
type Visit<'a> = dyn FnMut(&mut Value, &[String], bool) -> Result<(), SopsError> + 'a;

/// Visits every leaf under `v` in file order with its key path, and whether it is encrypted (keys
/// ending with the unencrypted suffix, and everything under them, are not). Arrays keep their key's
/// path, as sops does. Nulls are left alone.
fn walk(
    v: &mut Value,
    path: &mut Vec<String>,
    suffix: &str,
    visit: &mut Visit<'_>,
) -> Result<(), SopsError> {
    let encrypted = !path.iter().any(|k| k.ends_with(suffix));
    match v {
        Value::Object(m) => {
            for (k, child) in m.iter_mut() {
                path.push(k.clone());
                let r = walk(child, path, suffix, visit);
                path.pop();
                r?;
            }
            Ok(())
        }
        Value::Array(items) => items
            .iter_mut()
            .try_for_each(|item| walk(item, path, suffix, visit)),
        Value::Null => Ok(()),
        leaf => visit(leaf, path, encrypted),
    }
}

/// The associated data of a value: its key path joined and ended by `:`.
fn aad(path: &[String]) -> String {
    path.iter().map(|k| format!("{k}:")).collect()
}

/// A leaf as sops writes it before encrypting: strings as they are, numbers without padding, booleans
/// as `True`/`False`; and the `type` it records.
fn plain_bytes(v: &Value) -> Option<(Vec<u8>, &'static str)> {
    match v {
        Value::String(s) => Some((s.as_bytes().to_vec(), "str")),
        Value::Number(n) => Some((n.to_string().into_bytes(), "float")),
        Value::Bool(b) => Some((
            if *b { "True" } else { "False" }.as_bytes().to_vec(),
            "bool",
        )),
        _ => None,
    }
}

fn hash_value(hash: &mut Sha512, v: &Value) {
    if let Some((bytes, _)) = plain_bytes(v) {
        hash.update(&bytes);
    }
}

fn encrypt_value(key: &[u8; 32], v: &Value, aad: &str) -> Result<Option<String>, SopsError> {
    let Some((plain, kind)) = plain_bytes(v) else {
        return Ok(None);
    };
    let mut iv = [0u8; 32];
    rand::rng().fill_bytes(&mut iv);
    let sealed = Cipher::new(key.into())
        .encrypt(
            &Nonce::<U32>::from(iv),
            Payload {
                msg: &plain,
                aad: aad.as_bytes(),
            },
        )
        .map_err(|_| SopsError::Malformed("AES-GCM encryption failed".into()))?;
    let (data, tag) = sealed.split_at(sealed.len() - 16);
    Ok(Some(format!(
        "ENC[AES256_GCM,data:{},iv:{},tag:{},type:{kind}]",
        B64.encode(data),
        B64.encode(iv),
        B64.encode(tag)
    )))
}

fn decrypt_value(key: &[u8; 32], text: &str, aad: &str) -> Result<Value, SopsError> {
    let Some(body) = text
        .strip_prefix("ENC[AES256_GCM,")
        .and_then(|t| t.strip_suffix(']'))
    else {
        // Not encrypted (sops leaves some values in clear): kept as it is.
        return Ok(Value::String(text.to_string()));
    };
    let field = |name: &str| {
        body.split(',')
            .find_map(|part| part.strip_prefix(name).and_then(|p| p.strip_prefix(':')))
            .ok_or_else(|| SopsError::Malformed(format!("a value without `{name}` at `{aad}`")))
    };
    let bytes = |name: &str| {
        B64.decode(field(name)?)
            .map_err(|_| SopsError::Malformed(format!("bad base64 in `{name}` at `{aad}`")))
    };
    let (data, iv, tag, kind) = (bytes("data")?, bytes("iv")?, bytes("tag")?, field("type")?);
    let iv: [u8; 32] = iv
        .try_into()
        .map_err(|_| SopsError::Malformed(format!("bad IV length at `{aad}`")))?;
    if tag.len() != 16 {
        return Err(SopsError::Malformed(format!("bad tag length at `{aad}`")));
    }
    let mut sealed = data;
    sealed.extend_from_slice(&tag);
    let plain = Cipher::new(key.into())
        .decrypt(
            &Nonce::<U32>::from(iv),
            Payload {
                msg: &sealed,
                aad: aad.as_bytes(),
            },
        )
        .map_err(|_| {
            SopsError::MacMismatch(format!("the value at `{aad}` does not authenticate"))
        })?;
    let plain = String::from_utf8(plain)
        .map_err(|_| SopsError::Malformed(format!("a value that is not UTF-8 at `{aad}`")))?;
    Ok(match kind {
        "str" | "bytes" => Value::String(plain),
        "int" | "float" => serde_json::from_str::<serde_json::Number>(&plain)
            .map(Value::Number)
            .map_err(|_| SopsError::Malformed(format!("a number that is not one at `{aad}`")))?,
        "bool" => Value::Bool(plain.eq_ignore_ascii_case("true")),
        other => {
            return Err(SopsError::Malformed(format!(
                "unknown value type `{other}` at `{aad}`"
            )));
        }
    })
}
