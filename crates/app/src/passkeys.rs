//! Passkeys (SPEC.md §4, the guide's fingerprint/face login): registered from the Security tab
//! (an agent) or the account page (an operator) after login, then used to log in. WebAuthn
//! state between the two requests of a ceremony is kept in the database, so any node can
//! finish what another started.
use hod_db::sessions::PrincipalKind;
use hod_db::{agents, operators, passkeys};
use hod_domain::Username;
use jiff::SignedDuration;
use webauthn_rs::prelude::{
    CreationChallengeResponse, Passkey, PasskeyAuthentication, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential, Uuid,
};
use webauthn_rs::{Webauthn, WebauthnBuilder};

use crate::auth::{Client, LoginOutcome, Principal};
use crate::tokens::random_token;
use crate::{App, AppError, Result};

/// How long a ceremony may take between its two requests.
pub const CEREMONY_LIFETIME: SignedDuration = SignedDuration::from_mins(5);

/// A passkey as the Security tab lists it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PasskeyInfo {
    pub id: i64,
    pub name: String,
    pub created_at: jiff::Timestamp,
    pub last_used_at: Option<jiff::Timestamp>,
}

/// The first half of a login with a passkey: what the browser passes to
/// `navigator.credentials.get`, and the ceremony to finish.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LoginChallenge {
    pub ceremony: String,
    #[serde(flatten)]
    pub options: serde_json::Value,
}

fn other(e: impl std::fmt::Display) -> AppError {
    AppError::Other(anyhow::anyhow!("passkeys: {e}"))
}

fn expired() -> AppError {
    AppError::Invalid("the passkey request expired; try again".into())
}

impl App {
    /// The relying party: this deployment's public URL.
    fn webauthn(&self) -> Result<Webauthn> {
        let origin = url::Url::parse(&self.settings.public_url).map_err(other)?;
        let rp_id = origin
            .host_str()
            .ok_or_else(|| other("public_url has no host"))?
            .to_owned();
        WebauthnBuilder::new(&rp_id, &origin)
            .map_err(other)?
            .rp_name("Help On Demand")
            .build()
            .map_err(other)
    }

    async fn stored_passkeys(&self, who: Principal) -> Result<Vec<(i64, Passkey)>> {
        passkeys::of(&self.db, who.kind(), who.id())
            .await?
            .into_iter()
            .map(|r| {
                Ok((
                    r.id,
                    serde_json::from_str::<Passkey>(&r.passkey).map_err(other)?,
                ))
            })
            .collect()
    }

    pub async fn passkeys_of(&self, who: Principal) -> Result<Vec<PasskeyInfo>> {
        passkeys::of(&self.db, who.kind(), who.id())
            .await?
            .into_iter()
            .map(|r| {
                Ok(PasskeyInfo {
                    id: r.id,
                    name: r.name,
                    created_at: hod_db::from_millis(r.created_at)?,
                    last_used_at: r.last_used_at.map(hod_db::from_millis).transpose()?,
                })
            })
            .collect()
    }

    /// The names a new passkey carries: the username, and the name shown beside it.
    async fn passkey_names(&self, who: Principal) -> Result<(String, String)> {
        let missing = || AppError::Invalid("no such account".into());
        Ok(match who {
            Principal::Agent(id) => {
                let agent = agents::find_by_id(&self.db, id)
                    .await?
                    .ok_or_else(missing)?;
                (
                    agent.username.clone().unwrap_or_default(),
                    format!("{} {}", agent.first_name, agent.last_name),
                )
            }
            Principal::Operator(id) => {
                let op = operators::find_by_id(&self.db, id)
                    .await?
                    .ok_or_else(missing)?;
                (op.username.clone(), op.username)
            }
        })
    }

    /// Starts adding a passkey to a logged-in agent's or operator's account.
    pub async fn passkey_registration_start(
        &self,
        who: Principal,
    ) -> Result<(String, CreationChallengeResponse)> {
        let (username, display_name) = self.passkey_names(who).await?;
        let existing = self.stored_passkeys(who).await?;
        let now = self.now();
        let (ceremony, options) = self
            .write(async |tx| -> Result<_, AppError> {
                let candidate = Uuid::new_v4().to_string();
                let handle =
                    passkeys::ensure_webauthn_id(tx, who.kind(), who.id(), &candidate).await?;
                let handle = Uuid::parse_str(&handle).map_err(other)?;
                let (options, state) = self
                    .webauthn()?
                    .start_passkey_registration(
                        handle,
                        &username,
                        &display_name,
                        Some(existing.iter().map(|(_, p)| p.cred_id().clone()).collect()),
                    )
                    .map_err(other)?;
                let ceremony = random_token()?;
                let state = serde_json::to_string(&state).map_err(other)?;
                passkeys::put_ceremony(
                    tx,
                    &passkeys::Ceremony {
                        id: &ceremony,
                        kind: who.kind(),
                        principal_id: Some(who.id()),
                        purpose: "register",
                        state: &state,
                        expires_at: now + CEREMONY_LIFETIME,
                    },
                )
                .await?;
                Ok((ceremony, options))
            })
            .await?;
        Ok((ceremony, options))
    }

    /// Finishes adding a passkey; `name` tells the owner's devices apart.
    pub async fn passkey_registration_finish(
        &self,
        who: Principal,
        ceremony: &str,
        credential: &RegisterPublicKeyCredential,
        name: &str,
    ) -> Result<i64> {
        let now = self.now();
        let id = self
            .write(async |tx| -> Result<_, AppError> {
                let Some((Some(owner), state)) =
                    passkeys::take_ceremony(tx, ceremony, who.kind(), "register", now).await?
                else {
                    return Err(expired());
                };
                if owner != who.id() {
                    return Err(expired());
                }
                let state: PasskeyRegistration = serde_json::from_str(&state).map_err(other)?;
                let passkey = self
                    .webauthn()?
                    .finish_passkey_registration(credential, &state)
                    .map_err(|e| AppError::Invalid(format!("the passkey was not accepted: {e}")))?;
                let name = match name.trim() {
                    "" => "Passkey".to_owned(),
                    n => n.chars().take(60).collect(),
                };
                let cred_id = hex::encode(passkey.cred_id().as_slice());
                let json = serde_json::to_string(&passkey).map_err(other)?;
                let id =
                    passkeys::add(tx, who.kind(), who.id(), &cred_id, &name, &json, now).await?;
                let detail = serde_json::json!({ "passkey": id, "name": name });
                self.audit_own(tx, who, "passkey_added", Client::default(), detail)
                    .await?;
                Ok(id)
            })
            .await?;
        Ok(id)
    }

    /// Removes one of `who`'s passkeys; a key that is not theirs (or no longer exists) is
    /// `NotFound`, the same answer either way.
    pub async fn remove_passkey(&self, who: Principal, passkey_id: i64) -> Result<()> {
        self.write(async |tx| -> Result<_> {
            if !passkeys::remove(tx, who.kind(), who.id(), passkey_id).await? {
                return Err(AppError::NotFound("passkey".into()));
            }
            let detail = serde_json::json!({ "passkey": passkey_id });
            self.audit_own(tx, who, "passkey_removed", Client::default(), detail)
                .await
        })
        .await
    }

    /// Starts a login with a passkey for an agent's or an operator's `username`. The answer
    /// looks the same whether or not the account exists or has passkeys (a decoy credential is
    /// offered then).
    pub async fn passkey_login_start(
        &self,
        kind: PrincipalKind,
        username: &str,
    ) -> Result<LoginChallenge> {
        let account = match kind {
            PrincipalKind::Agent => match Username::parse(username) {
                Ok(u) => agents::find_for_login(&self.db, &u.key())
                    .await?
                    .map(|a| a.id),
                Err(_) => None,
            },
            PrincipalKind::Operator => match Username::parse(username) {
                Ok(u) => operators::find_by_username(&self.db, &u)
                    .await?
                    .map(|o| o.id),
                Err(_) => None,
            },
        };
        let keys = match account {
            Some(id) => self.stored_passkeys(Principal::of(kind, id)).await?,
            None => Vec::new(),
        };
        let webauthn = self.webauthn()?;
        let now = self.now();
        let ceremony = random_token()?;
        let options = self
            .write(async |tx| -> Result<_> {
                let mut stored = passkeys::Ceremony {
                    id: &ceremony,
                    kind,
                    principal_id: None,
                    purpose: "login",
                    state: "decoy",
                    expires_at: now + CEREMONY_LIFETIME,
                };
                let (Some(id), false) = (account, keys.is_empty()) else {
                    passkeys::put_ceremony(tx, &stored).await?;
                    return decoy_request(username);
                };
                let list: Vec<Passkey> = keys.into_iter().map(|(_, p)| p).collect();
                let (options, state) = webauthn
                    .start_passkey_authentication(&list)
                    .map_err(other)?;
                let state = serde_json::to_string(&state).map_err(other)?;
                stored.principal_id = Some(id);
                stored.state = &state;
                passkeys::put_ceremony(tx, &stored).await?;
                serde_json::to_value(&options).map_err(other)
            })
            .await?;
        Ok(LoginChallenge { ceremony, options })
    }

    /// The second half of a passkey login, inside the transaction that opens the session:
    /// whose passkey answered the ceremony (its counter stored), or `None` — unknown or
    /// expired ceremony, another kind's, a decoy, or a signature that does not verify.
    pub(crate) async fn verify_passkey_login(
        &self,
        tx: &mut hod_db::Tx,
        kind: PrincipalKind,
        ceremony: &str,
        credential: &PublicKeyCredential,
        client: Client<'_>,
    ) -> Result<Option<i64>> {
        let now = self.now();
        let Some((Some(id), state)) =
            passkeys::take_ceremony(tx, ceremony, kind, "login", now).await?
        else {
            return Ok(None);
        };
        let who = Principal::of(kind, id);
        let state: PasskeyAuthentication = serde_json::from_str(&state).map_err(other)?;
        let Ok(result) = self
            .webauthn()?
            .finish_passkey_authentication(credential, &state)
        else {
            self.audit_own(
                tx,
                who,
                "passkey_login_failed",
                client,
                serde_json::json!({}),
            )
            .await?;
            return Ok(None);
        };
        for (key_id, mut key) in self.stored_passkeys(who).await? {
            if key.cred_id() == result.cred_id() {
                key.update_credential(&result);
                let json = serde_json::to_string(&key).map_err(other)?;
                passkeys::used(tx, key_id, &json, now).await?;
            }
        }
        Ok(Some(id))
    }

    /// Finishes an agent's login with a passkey: a new session, or `Refused` (the same answer
    /// as a wrong password; a locked account is refused too).
    pub async fn passkey_login_finish(
        &self,
        ceremony: &str,
        credential: &PublicKeyCredential,
        client: Client<'_>,
    ) -> Result<LoginOutcome> {
        let now = self.now();
        self.write(async |tx| -> Result<_> {
            let Some(agent_id) = self
                .verify_passkey_login(tx, PrincipalKind::Agent, ceremony, credential, client)
                .await?
            else {
                return Ok(LoginOutcome::Refused);
            };
            let account = agents::find_for_login_by_id(&self.db, agent_id).await?;
            if let Some(account) = account
                && let Some(why) = crate::auth::barred(&account, now)?
            {
                self.audit(tx, agent_id, why, client, serde_json::json!({}))
                    .await?;
                return Ok(LoginOutcome::Refused);
            }
            let token = self
                .open_session(
                    tx,
                    agent_id,
                    client,
                    hod_db::sessions::SessionClient::Web,
                    "passkey",
                )
                .await?;
            Ok(LoginOutcome::LoggedIn { token, agent_id })
        })
        .await
    }
}

/// Request options for an account without passkeys, shaped like real ones: a fresh challenge
/// and a credential id derived from the username (so that asking twice gives the same id).
fn decoy_request(username: &str) -> Result<serde_json::Value> {
    use sha2::{Digest, Sha256};
    let mut challenge = [0u8; 32];
    getrandom::fill(&mut challenge).map_err(other)?;
    let id =
        Sha256::digest(format!("hod-passkey-decoy:{}", username.trim().to_lowercase()).as_bytes());
    let b64 = |b: &[u8]| {
        use std::fmt::Write;
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = String::new();
        for chunk in b.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |acc, (i, x)| acc | (u32::from(*x) << (16 - 8 * i)));
            for i in 0..=chunk.len() {
                let _ = out.write_char(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            }
        }
        out
    };
    Ok(serde_json::json!({
        "publicKey": {
            "challenge": b64(&challenge),
            "timeout": 300000,
            "rpId": "",
            "allowCredentials": [{ "type": "public-key", "id": b64(&id) }],
            "userVerification": "required",
        }
    }))
}
