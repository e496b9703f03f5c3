//! Is an executable static? The images carry no C library and no dynamic loader, so an
//! executable that names an ELF interpreter (a `PT_INTERP` program header, e.g.
//! `/lib64/ld-linux-x86-64.so.2`) could not start in them. Static-PIE binaries have a
//! dynamic section but no interpreter, and are fine.

use std::path::Path;

use object::elf::{FileHeader32, FileHeader64, PT_INTERP};
use object::read::elf::{FileHeader, ProgramHeader};
use object::{Endianness, FileKind};

use super::ImageError;

/// Check that `data` (read from `path`) is an ELF executable without an interpreter.
pub fn ensure_static(path: &Path, data: &[u8], remedy: &'static str) -> Result<(), ImageError> {
    let not_elf = |reason: String| ImageError::NotElf {
        path: path.to_path_buf(),
        reason,
    };
    let interpreter = match FileKind::parse(data).map_err(|e| not_elf(e.to_string()))? {
        FileKind::Elf64 => interpreter::<FileHeader64<Endianness>>(data),
        FileKind::Elf32 => interpreter::<FileHeader32<Endianness>>(data),
        other => return Err(not_elf(format!("it is {other:?}"))),
    }
    .map_err(|e| not_elf(e.to_string()))?;
    match interpreter {
        None => Ok(()),
        Some(interpreter) => Err(ImageError::NotStatic {
            path: path.to_path_buf(),
            interpreter,
            remedy,
        }),
    }
}

fn interpreter<H: FileHeader<Endian = Endianness>>(data: &[u8]) -> object::Result<Option<String>> {
    let header = H::parse(data)?;
    let endian = header.endian()?;
    for ph in header.program_headers(endian, data)? {
        if ph.p_type(endian) == PT_INTERP {
            let raw = ph.data(endian, data).unwrap_or_default();
            let name = raw.split(|&b| b == 0).next().unwrap_or_default();
            return Ok(Some(String::from_utf8_lossy(name).into_owned()));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dynamic_executable_is_refused_with_its_interpreter() {
        // The test binary itself is dynamically linked against glibc.
        let me = std::env::current_exe().unwrap();
        let data = std::fs::read(&me).unwrap();
        let err = ensure_static(&me, &data, "do something").unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("is dynamically linked") && msg.contains("ld-linux"),
            "{msg}"
        );
        assert!(msg.ends_with("do something"), "{msg}");
    }

    #[test]
    fn a_non_elf_file_is_refused() {
        let err = ensure_static(Path::new("/x/script"), b"#!/bin/sh\necho hi\n", "r").unwrap_err();
        assert!(matches!(err, ImageError::NotElf { .. }), "{err}");
    }
}
