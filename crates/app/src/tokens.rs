//! Secrets made from the operating system's randomness (tokens, codes, keys), and the one way
//! tokens are stored: their SHA-256, never the token itself.
use sha2::{Digest, Sha256};

use crate::{AppError, Result};

/// `N` random bytes from the operating system.
pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes)
        .map_err(|e| AppError::Other(anyhow::anyhow!("no randomness from the OS: {e}")))?;
    Ok(bytes)
}

/// A fresh 256-bit token, as 64 hex characters (invitation and reset links, sessions).
pub(crate) fn random_token() -> Result<String> {
    Ok(hex::encode(random_bytes::<32>()?))
}

/// A six-digit code for a text message.
pub(crate) fn six_digit_code() -> Result<String> {
    Ok(format!(
        "{:06}",
        u32::from_le_bytes(random_bytes::<4>()?) % 1_000_000
    ))
}

/// What the database keeps of a token: its SHA-256, as hex.
pub(crate) fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}
