//! Passkeys (SPEC.md §4, the guide's fingerprint/face login): registered from the Security tab
//! after login, then used to log in. WebAuthn state between the two requests of a ceremony
//! is kept in the database, so any node can finish what another started.
use hod_db::{agents, passkeys};
use hod_domain::Username;
use jiff::SignedDuration;
use webauthn_rs::prelude::{
    CreationChallengeResponse, Passkey, PasskeyAuthentication, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential, Uuid,
};
use webauthn_rs::{Webauthn, WebauthnBuilder};

use crate::auth::{Client, LoginOutcome};
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

    async fn stored_passkeys(&self, agent_id: i64) -> Result<Vec<(i64, Passkey)>> {
        passkeys::for_agent(&self.db, agent_id)
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

    pub async fn passkeys_of(&self, agent_id: i64) -> Result<Vec<PasskeyInfo>> {
        passkeys::for_agent(&self.db, agent_id)
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

    /// Starts adding a passkey to a logged-in agent's account.
    pub async fn passkey_registration_start(
        &self,
        agent_id: i64,
    ) -> Result<(String, CreationChallengeResponse)> {
        let agent = agents::find_by_id(&self.db, agent_id)
            .await?
            .ok_or_else(|| AppError::Invalid("no such agent".into()))?;
        let existing = self.stored_passkeys(agent_id).await?;
        let now = self.now();
        let (ceremony, options) = self
            .write(async |tx| -> Result<_, AppError> {
                let handle =
                    passkeys::ensure_webauthn_id(tx, agent_id, &Uuid::new_v4().to_string()).await?;
                let handle = Uuid::parse_str(&handle).map_err(other)?;
                let username = agent.username.clone().unwrap_or_default();
                let (options, state) = self
                    .webauthn()?
                    .start_passkey_registration(
                        handle,
                        &username,
                        &format!("{} {}", agent.first_name, agent.last_name),
                        Some(existing.iter().map(|(_, p)| p.cred_id().clone()).collect()),
                    )
                    .map_err(other)?;
                let ceremony = random_token()?;
                let state = serde_json::to_string(&state).map_err(other)?;
                passkeys::put_ceremony(
                    tx,
                    &ceremony,
                    Some(agent_id),
                    "register",
                    &state,
                    now + CEREMONY_LIFETIME,
                )
                .await?;
                Ok((ceremony, options))
            })
            .await?;
        Ok((ceremony, options))
    }

    /// Finishes adding a passkey; `name` tells the agent's devices apart.
    pub async fn passkey_registration_finish(
        &self,
        agent_id: i64,
        ceremony: &str,
        credential: &RegisterPublicKeyCredential,
        name: &str,
    ) -> Result<i64> {
        let now = self.now();
        let id = self
            .write(async |tx| -> Result<_, AppError> {
                let Some((Some(owner), state)) =
                    passkeys::take_ceremony(tx, ceremony, "register", now).await?
                else {
                    return Err(AppError::Invalid(
                        "the passkey request expired; try again".into(),
                    ));
                };
                if owner != agent_id {
                    return Err(AppError::Invalid(
                        "the passkey request expired; try again".into(),
                    ));
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
                let id = passkeys::add(tx, agent_id, &cred_id, &name, &json, now).await?;
                self.audit(
                    tx,
                    agent_id,
                    "agent.passkey_added",
                    Client::default(),
                    serde_json::json!({ "passkey": id, "name": name }),
                )
                .await?;
                Ok(id)
            })
            .await?;
        Ok(id)
    }

    pub async fn remove_passkey(&self, agent_id: i64, passkey_id: i64) -> Result<bool> {
        let removed = self
            .write(async |tx| -> Result<_> {
                let removed = passkeys::remove(tx, agent_id, passkey_id).await?;
                if removed {
                    self.audit(
                        tx,
                        agent_id,
                        "agent.passkey_removed",
                        Client::default(),
                        serde_json::json!({ "passkey": passkey_id }),
                    )
                    .await?;
                }
                Ok(removed)
            })
            .await?;
        Ok(removed)
    }

    /// Starts a login with a passkey for `username`. The answer looks the same whether or not
    /// the account exists or has passkeys (a decoy credential is offered then).
    pub async fn passkey_login_start(&self, username: &str) -> Result<LoginChallenge> {
        let account = match Username::parse(username) {
            Ok(u) => agents::find_for_login(&self.db, &u.key()).await?,
            Err(_) => None,
        };
        let keys = match &account {
            Some(a) => self.stored_passkeys(a.id).await?,
            None => Vec::new(),
        };
        let webauthn = self.webauthn()?;
        let now = self.now();
        let ceremony = random_token()?;
        let options = self
            .write(async |tx| -> Result<_> {
                let options = if let (Some(account), false) = (&account, keys.is_empty()) {
                    let list: Vec<Passkey> = keys.into_iter().map(|(_, p)| p).collect();
                    let (options, state) = webauthn
                        .start_passkey_authentication(&list)
                        .map_err(other)?;
                    let state = serde_json::to_string(&state).map_err(other)?;
                    passkeys::put_ceremony(
                        tx,
                        &ceremony,
                        Some(account.id),
                        "login",
                        &state,
                        now + CEREMONY_LIFETIME,
                    )
                    .await?;
                    serde_json::to_value(&options).map_err(other)?
                } else {
                    passkeys::put_ceremony(
                        tx,
                        &ceremony,
                        None,
                        "login",
                        "decoy",
                        now + CEREMONY_LIFETIME,
                    )
                    .await?;
                    decoy_request(&webauthn, username)?
                };
                Ok(options)
            })
            .await?;
        Ok(LoginChallenge { ceremony, options })
    }

    /// Finishes a login with a passkey: a new session, or `Refused` (the same answer as a
    /// wrong password; a locked account is refused too).
    pub async fn passkey_login_finish(
        &self,
        ceremony: &str,
        credential: &PublicKeyCredential,
        client: Client<'_>,
    ) -> Result<LoginOutcome> {
        let now = self.now();
        self.write(async |tx| -> Result<_> {
            let Some((Some(agent_id), state)) =
                passkeys::take_ceremony(tx, ceremony, "login", now).await?
            else {
                return Ok(LoginOutcome::Refused);
            };
            let state: PasskeyAuthentication = serde_json::from_str(&state).map_err(other)?;
            let Ok(result) = self
                .webauthn()?
                .finish_passkey_authentication(credential, &state)
            else {
                self.audit(
                    tx,
                    agent_id,
                    "agent.passkey_login_failed",
                    client,
                    serde_json::json!({}),
                )
                .await?;
                return Ok(LoginOutcome::Refused);
            };
            let locked = agents::find_for_login_by_id(&self.db, agent_id)
                .await?
                .and_then(|l| l.locked_until)
                .map(hod_db::from_millis)
                .transpose()?
                .is_some_and(|until| until > now);
            if locked {
                return Ok(LoginOutcome::Refused);
            }
            for (id, mut key) in self.stored_passkeys(agent_id).await? {
                if key.cred_id() == result.cred_id() {
                    key.update_credential(&result);
                    passkeys::used(tx, id, &serde_json::to_string(&key).map_err(other)?, now)
                        .await?;
                }
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
fn decoy_request(webauthn: &Webauthn, username: &str) -> Result<serde_json::Value> {
    use sha2::{Digest, Sha256};
    let _ = webauthn;
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
