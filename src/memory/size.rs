//! Memory sizes as users write them: `32GiB`, `32 GiB`, `32GB`, `512MiB`, `3e10`, `1073741824`.
//! Binary units (KiB, MiB, GiB, TiB) are powers of 1024, decimal ones (KB, MB, GB, TB) powers of
//! 1000, a bare number is bytes; units are case-insensitive. Zero, negative, non-finite and
//! overflowing sizes are refused, naming the flag.

use crate::{Error, Result};

/// Bytes of `text`; `flag` names the option in errors.
pub fn parse_size(text: &str, flag: &str) -> Result<usize> {
    let bad =
        |msg: &str| Error::Config { flag: flag.into(), msg: format!("{text:?}: {msg} (e.g. 32GiB, 512MB, 3e10)") };
    let t = text.trim();
    let split = t.find(|c: char| c.is_ascii_alphabetic() && c != 'e' && c != 'E').unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    // "1e3" has an 'e' that belongs to the number; a unit never starts with 'e'.
    let value: f64 = number.trim().parse().map_err(|_| bad("not a number"))?;
    let scale: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "tb" => 1e12,
        "kib" => 1024.0,
        "mib" => 1024f64.powi(2),
        "gib" => 1024f64.powi(3),
        "tib" => 1024f64.powi(4),
        _ => return Err(bad("unknown unit")),
    };
    let bytes = value * scale;
    if !bytes.is_finite() || bytes < 1.0 {
        return Err(bad("must be a positive size of at least one byte"));
    }
    if bytes >= usize::MAX as f64 {
        return Err(bad("too large"));
    }
    Ok(bytes as usize)
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_parse_in_binary_and_decimal_units() {
        assert_eq!(parse_size("32GiB", "--budget").unwrap(), 32 << 30);
        assert_eq!(parse_size("32 GiB", "--budget").unwrap(), 32 << 30);
        assert_eq!(parse_size("32gb", "--budget").unwrap(), 32_000_000_000);
        assert_eq!(parse_size("3e10", "--budget").unwrap(), 30_000_000_000);
        assert_eq!(parse_size("1.5KiB", "--budget").unwrap(), 1536);
        assert_eq!(parse_size("4096", "--budget").unwrap(), 4096);
        for bad in ["-1", "0", "", "GiB", "12 parsecs", "nan", "inf", "1e400"] {
            let e = parse_size(bad, "--budget").unwrap_err().to_string();
            assert!(e.contains("--budget"), "{bad}: {e}");
        }
    }
}
