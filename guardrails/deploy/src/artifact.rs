//! The rule's code as `deploy` publishes it: the running `guardrails` executable itself, zipped as
//! `bootstrap` for Lambda's `provided.al2023` runtime (started under that name it serves the
//! Lambda runtime API), and named by the SHA-256 of the zip.
//!
//! Why the executable itself: a user who installed only the CLI has no other copy of the rule, and
//! the binary that plans a deploy is then exactly the one that evaluates. Before anything is
//! uploaded the executable is checked: a 64-bit little-endian ELF for one of Lambda's
//! architectures (x86_64, arm64), needing no glibc symbol newer than Amazon Linux 2023's (2.34),
//! and within Lambda's 250 MB unzipped limit. Anything else (a macOS build, a binary linked
//! against a newer glibc) is refused, naming the file and what is wrong.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use object::elf;
use object::read::elf::{ElfFile64, FileHeader};
use sha2::{Digest, Sha256};

/// Newest glibc symbol version Amazon Linux 2023 (`provided.al2023`) provides.
pub const AL2023_GLIBC: (u32, u32) = (2, 34);
/// Lambda's limit on a deployment package's unzipped size (250 MB).
pub const LAMBDA_MAX_UNZIPPED: u64 = 250 * 1024 * 1024;
/// The file name Lambda's custom runtimes start.
pub const BOOTSTRAP: &str = "bootstrap";
/// Folder of the packages in the code bucket.
pub const KEY_PREFIX: &str = "cmk-guardrails/rule-";

/// Lambda's instruction set architectures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Architecture {
    /// `x86_64`.
    X86_64,
    /// `arm64` (Graviton).
    Arm64,
}

impl Architecture {
    /// The name in `AWS::Lambda::Function.Architectures`.
    pub fn lambda_name(self) -> &'static str {
        match self {
            Architecture::X86_64 => "x86_64",
            Architecture::Arm64 => "arm64",
        }
    }
}

impl fmt::Display for Architecture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.lambda_name())
    }
}

/// A Lambda package, ready to upload.
#[derive(Clone, PartialEq, Eq)]
pub struct Package {
    /// The zip.
    pub zip: Vec<u8>,
    /// Lowercase hex SHA-256 of the zip.
    pub sha256: String,
    /// What the executable runs on.
    pub architecture: Architecture,
    /// The executable it was built from.
    pub source: PathBuf,
}

impl fmt::Debug for Package {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Package")
            .field("bytes", &self.zip.len())
            .field("sha256", &self.sha256)
            .field("architecture", &self.architecture)
            .field("source", &self.source)
            .finish()
    }
}

impl Package {
    /// The S3 object key: the content hash, so an unchanged package is never uploaded twice and
    /// every earlier one stays addressable for a rollback.
    pub fn key(&self) -> String {
        format!("{KEY_PREFIX}{}.zip", self.sha256)
    }
}

/// Why an executable cannot become the Lambda package.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    /// The file cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Not something Lambda can run.
    #[error(
        "{path} cannot run on Lambda: {reason}. Run deploy with a Linux build of guardrails (x86_64 or arm64, glibc ≤ 2.34 or static), or set `[code]` to a package built by scripts/build-lambda"
    )]
    Unusable {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The zip cannot be written.
    #[error("cannot zip {path}: {reason}")]
    Zip {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// Checks an executable for Lambda's `provided.al2023` runtime; returns its architecture.
pub fn inspect(path: &Path, bytes: &[u8]) -> Result<Architecture, ArtifactError> {
    let unusable = |reason: String| ArtifactError::Unusable {
        path: path.to_owned(),
        reason,
    };
    if bytes.len() as u64 > LAMBDA_MAX_UNZIPPED {
        return Err(unusable(format!(
            "it is {} bytes, over Lambda's {LAMBDA_MAX_UNZIPPED}-byte unzipped limit",
            bytes.len()
        )));
    }
    if !bytes.starts_with(&elf::ELFMAG) {
        return Err(unusable("it is not an ELF (Linux) executable".into()));
    }
    let file = ElfFile64::<object::LittleEndian>::parse(bytes)
        .map_err(|e| unusable(format!("it is not a 64-bit little-endian ELF ({e})")))?;
    let endian = file.endian();
    let header = file.elf_header();
    let architecture = match header.e_machine(endian) {
        elf::EM_X86_64 => Architecture::X86_64,
        elf::EM_AARCH64 => Architecture::Arm64,
        other => {
            return Err(unusable(format!(
                "its machine type is {}, not x86_64 or aarch64",
                other.0
            )));
        }
    };
    if header.e_type(endian) != elf::ET_EXEC && header.e_type(endian) != elf::ET_DYN {
        return Err(unusable("it is not an executable".into()));
    }
    if let Some(newest) = newest_glibc(&file).map_err(unusable)?
        && newest > AL2023_GLIBC
    {
        return Err(unusable(format!(
            "it needs GLIBC_{}.{}, newer than Amazon Linux 2023's {}.{}",
            newest.0, newest.1, AL2023_GLIBC.0, AL2023_GLIBC.1
        )));
    }
    Ok(architecture)
}

/// The newest `GLIBC_x.y` version the executable needs (`.gnu.version_r`); `None` when it needs
/// none (static).
fn newest_glibc(file: &ElfFile64<'_, object::LittleEndian>) -> Result<Option<(u32, u32)>, String> {
    let endian = file.endian();
    let sections = file.elf_section_table();
    let bad = |e: object::read::Error| format!("its version requirements cannot be read ({e})");
    let Some((mut needs, link)) = sections.gnu_verneed(endian, file.data()).map_err(bad)? else {
        return Ok(None);
    };
    let strings = sections.strings(endian, file.data(), link).map_err(bad)?;
    let mut newest = None;
    while let Some((_, mut auxs)) = needs.next().map_err(bad)? {
        while let Some(aux) = auxs.next().map_err(bad)? {
            let name = aux.name(endian, strings).map_err(bad)?;
            if let Some(version) = glibc_version(name) {
                newest = newest.max(Some(version));
            }
        }
    }
    Ok(newest)
}

/// `GLIBC_2.34` → `(2, 34)`; other names (`GLIBC_PRIVATE`, `GCC_3.0`) → `None`.
fn glibc_version(name: &[u8]) -> Option<(u32, u32)> {
    let text = std::str::from_utf8(name).ok()?.strip_prefix("GLIBC_")?;
    let mut parts = text.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().map_or(Some(0), |m| m.parse().ok())?;
    Some((major, minor))
}

/// Packages the executable at `path` (checked with [`inspect`]) as `bootstrap` in a zip.
pub fn package(path: &Path) -> Result<Package, ArtifactError> {
    let bytes = std::fs::read(path).map_err(|source| ArtifactError::Read {
        path: path.to_owned(),
        source,
    })?;
    let architecture = inspect(path, &bytes)?;
    let zip = zip_executable(&bytes).map_err(|reason| ArtifactError::Zip {
        path: path.to_owned(),
        reason,
    })?;
    let sha256 = Sha256::digest(&zip)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(Package {
        zip,
        sha256,
        architecture,
        source: path.to_owned(),
    })
}

/// One entry, `bootstrap`, mode 0755, with a fixed timestamp so the same executable always gives
/// the same zip (and the same key).
fn zip_executable(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o755)
        .last_modified_time(zip::DateTime::default())
        .large_file(bytes.len() as u64 >= u64::from(u32::MAX));
    out.start_file(BOOTSTRAP, options)
        .map_err(|e| e.to_string())?;
    out.write_all(bytes).map_err(|e| e.to_string())?;
    Ok(out.finish().map_err(|e| e.to_string())?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn this_test_binary() -> PathBuf {
        std::env::current_exe().unwrap()
    }

    #[test]
    fn glibc_versions_are_read_from_their_names() {
        assert_eq!(glibc_version(b"GLIBC_2.34"), Some((2, 34)));
        assert_eq!(glibc_version(b"GLIBC_2.2.5"), Some((2, 2)));
        assert_eq!(glibc_version(b"GLIBC_2"), Some((2, 0)));
        assert_eq!(glibc_version(b"GLIBC_PRIVATE"), None);
        assert_eq!(glibc_version(b"GCC_3.0"), None);
    }

    #[test]
    fn an_executable_is_zipped_as_bootstrap_mode_0755_and_named_by_its_hash() {
        let path = this_test_binary();
        let package = package(&path).unwrap();
        assert_eq!(
            package.architecture,
            if cfg!(target_arch = "aarch64") {
                Architecture::Arm64
            } else {
                Architecture::X86_64
            }
        );
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(&package.zip)).unwrap();
        assert_eq!(archive.len(), 1);
        let mut entry = archive.by_name(BOOTSTRAP).unwrap();
        assert_eq!(entry.unix_mode().map(|m| m & 0o777), Some(0o755));
        let mut content = Vec::new();
        entry.read_to_end(&mut content).unwrap();
        assert_eq!(content, std::fs::read(&path).unwrap());
        assert_eq!(package.sha256.len(), 64);
        assert!(package.key().starts_with("cmk-guardrails/rule-"));
        assert_eq!(
            package.sha256,
            super::package(&path).unwrap().sha256,
            "the same executable gives the same key"
        );
    }

    #[test]
    fn what_lambda_cannot_run_is_refused_naming_the_file_and_the_reason() {
        let path = Path::new("/opt/guardrails");
        let err = inspect(path, b"\xcf\xfa\xed\xfe macho")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("/opt/guardrails") && err.contains("not an ELF"),
            "{err}"
        );

        // This test binary with its machine type changed to RISC-V (243).
        let mut bytes = std::fs::read(this_test_binary()).unwrap();
        bytes[18..20].copy_from_slice(&243u16.to_le_bytes());
        let err = inspect(path, &bytes).unwrap_err().to_string();
        assert!(err.contains("machine type is 243"), "{err}");

        // Every glibc version it needs made newer than Amazon Linux 2023's (`GLIBC_2.2.5` →
        // `GLIBC_2.99`, NUL-padded: the string table keeps its layout).
        let mut bytes = std::fs::read(this_test_binary()).unwrap();
        let mut at = 0;
        while let Some(found) = bytes[at..].windows(8).position(|w| w == b"GLIBC_2.") {
            let start = at + found + 8;
            let end = start + bytes[start..].iter().position(|&b| b == 0).unwrap();
            if end - start >= 2
                && bytes[start..end]
                    .iter()
                    .all(|b| b.is_ascii_digit() || *b == b'.')
            {
                bytes[start..start + 2].copy_from_slice(b"99");
                bytes[start + 2..end].fill(0);
            }
            at = end;
        }
        let err = inspect(path, &bytes).unwrap_err().to_string();
        assert!(
            err.contains("GLIBC_2.99") && err.contains("Amazon Linux 2023's 2.34"),
            "{err}"
        );
        assert!(!err.contains("panic"));
    }
}
