//! Operating-system randomness for keys, salts, ids and API keys.

use crate::error::{AuthError, Result};

/// `N` random bytes from the OS generator.
pub(crate) fn bytes<const N: usize>() -> Result<[u8; N]> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).map_err(|e| AuthError::Internal(format!("randomness: {e}")))?;
    Ok(out)
}
